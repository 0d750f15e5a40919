"""Migration 0012 (integer times, WITHOUT ROWID reactions, kinds as integers) converts a
database written by the previous schema: every value survives, in order, and the foreign
keys still hold and still cascade."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.storage import Repository
from bot.storage.database import migration_files
from bot.storage.models import IncomingMessage

ROOT = Path(__file__).resolve().parents[2]
AGREE, DISAGREE, PASS = ["👍"], ["👎"], ["🤷"]
ISO = {  # as the previous schema stored them (bot.storage.common.ts), and one of each other form
    "created": "2026-11-01T12:00:00.123456+00:00",
    "created2": "2026-11-01T12:05:00.000000+00:00",
    "edited": "2026-11-01T13:00:00.654321+00:00",
    "deleted": "2026-11-02T08:30:15.000001+00:00",
    "erased": "2026-11-03T00:00:00+00:00",
    "rev": "2026-11-01T12:00:00.123456+00:00",
    "rev2": "2026-11-01T12:30:00.5+00:00",
    "tomb": "2026-11-04T09:00:00.250000+00:00",
}


def at(key: str) -> datetime:
    return datetime.fromisoformat(ISO[key]).astimezone(UTC)


def previous_schema_database(path) -> None:
    files = migration_files()
    before = next(v for v, name, _ in files if name.startswith("0012_")) - 1
    raw = sqlite3.connect(path)
    for version, _name, sql in files[:before]:
        raw.executescript(sql)
        raw.execute(f"PRAGMA user_version = {version}")
    raw.executescript(f"""
        INSERT INTO consultations VALUES (1, 10, 'c', 'C', '', NULL, '{ISO["created"]}', '{ISO["created"]}');
        INSERT INTO items (id, consultation_id, key, position, created_at, discussion_version)
            VALUES (1, 1, 'a', 0, '{ISO["created"]}', 9);
        INSERT INTO item_revisions VALUES (1, 1, 1, 'A', 'S.', 'The body.', NULL, '{ISO["created"]}');
        INSERT INTO places (item_id, channel_id, published_at) VALUES (1, 500, '{ISO["created"]}');
        INSERT INTO channel_cursors (channel_id, item_id, last_message_id) VALUES (500, 1, 30);
        INSERT INTO comments (id, message_id, item_id, channel_id, thread_id, author_id,
            reply_to_message_id, kind, content, created_at, edited_at, deleted_at, erased_at,
            hidden, hidden_reason, change_seq, forwarded) VALUES
          (11, 1001, 1, 500, NULL, 7, NULL, 'message', 'edited text', '{ISO["created"]}',
              '{ISO["edited"]}', NULL, NULL, 0, NULL, 3, 0),
          (12, 1002, 1, 501, 501, 8, 1001, 'quote', '> The body.' || char(10) || 'yes',
              '{ISO["created2"]}', NULL, NULL, NULL, 1, 'off topic', 4, 1),
          (13, 1003, 1, 500, NULL, 9, NULL, 'citation', NULL, '{ISO["created2"]}', NULL,
              '{ISO["deleted"]}', NULL, 0, NULL, 5, 0),
          (14, 1004, 1, 500, NULL, 7, NULL, 'message', NULL, '{ISO["created2"]}', NULL, NULL,
              '{ISO["erased"]}', 0, NULL, 6, 0);
        INSERT INTO comment_revisions (id, comment_id, content, edited_at) VALUES
          (1, 11, 'first text', '{ISO["rev"]}'), (2, 11, 'second text', '{ISO["rev2"]}');
        INSERT INTO attachments (comment_id, filename, url, content_type)
            VALUES (11, 'a.png', 'https://x/a.png', 'image/png');
        INSERT INTO quotes (comment_id, item_id, revision_id, ordinal, passage, state)
            VALUES (12, 1, 1, 0, 'The body.', 'anchored');
        INSERT INTO citations (item_id, normalized_url, url, comment_id, message_id, citer_id,
            created_at) VALUES (1, 'https://e.org/', 'https://e.org/', 11, 1001, 7, '{ISO["created"]}');
        INSERT INTO deleted_messages VALUES (2001, 500, '{ISO["tomb"]}');
        -- reactions: before migration 0007 (seq 0, in rowid order), then with versions
        INSERT INTO reactions (comment_id, user_id, emoji, seq) VALUES
          (11, 20, '👎', 0), (11, 21, '👍', 0), (11, 20, '👍', 0),
          (11, 22, '👍', 7), (11, 22, '👎', 7), (11, 21, '🤷', 8), (12, 20, '👍', 9);
    """)  # noqa: S608 - the constants of this test
    raw.commit()
    raw.close()


async def test_previous_schema_converts_with_every_value(tmp_path):
    path = tmp_path / "old.db"
    previous_schema_database(path)
    repo = await Repository.open(path)  # migrates
    d = repo.discussion
    try:
        edited, quoted, deleted, erased = [await d.comment(m) for m in (1001, 1002, 1003, 1004)]
        assert (edited.id, edited.item_id, edited.channel_id, edited.author_id, edited.kind,
                edited.content, edited.created_at, edited.edited_at, edited.hidden,
                edited.forwarded) == (11, 1, 500, 7, "message", "edited text", at("created"),
                                      at("edited"), False, False)
        assert (quoted.thread_id, quoted.reply_to_message_id, quoted.kind, quoted.content,
                quoted.created_at, quoted.hidden, quoted.hidden_reason, quoted.forwarded) == (
            501, 1001, "quote", "> The body.\nyes", at("created2"), True, "off topic", True)
        assert (deleted.kind, deleted.content, deleted.deleted_at) == (
            "citation", None, at("deleted"))
        assert (erased.content, erased.erased_at) == (None, at("erased"))
        assert [(r.content, r.edited_at) for r in await d.revisions(11)] == [
            ("first text", at("rev")), ("second text", at("rev2"))]
        # the seconds and microseconds as integers, exactly
        async with repo.db.reading() as tx:
            row = await tx.fetchone("SELECT created_at, edited_at FROM comments WHERE id = 11")
            tomb = await tx.fetchone("SELECT deleted_at FROM deleted_messages WHERE message_id = 2001")
            change = await tx.fetchall("SELECT id, change_seq FROM comments ORDER BY id")
        assert tuple(row) == (1793534400123456, 1793538000654321)
        assert tomb[0] == 1793782800250000
        assert [tuple(r) for r in change] == [(11, 3), (12, 4), (13, 5), (14, 6)]
        # a message deleted before it was stored is still never stored
        refused = await d.record_new(1, [(_message(2001), [], [])])
        assert refused == 0 and await d.comment(2001) is None

        # reactions keep their recorded order: the latest of each voter is their vote
        _, _, votes = await d.summary_rows(1, AGREE, DISAGREE, PASS)
        assert [tuple(v) for v in votes if v[0] == 11] == [
            (11, 20, -1), (11, 21, 1), (11, 20, 1), (11, 22, 1), (11, 22, -1), (11, 21, 0)]
        # latest votes: 20 agrees, 22 disagrees, 21 passes
        assert (await d.reaction_counts(1, AGREE, DISAGREE, PASS))[11] == (1, 1)
        assert (await d.reaction_tally([1001, 1002])) == {
            1001: {"👍": 3, "👎": 2, "🤷": 1}, 1002: {"👍": 1}}
        # a new reaction comes after the migrated ones
        await d.set_reaction(1001, 22, "🤷", True)
        _, _, votes = await d.summary_rows(1, AGREE, DISAGREE, PASS)
        assert tuple([v for v in votes if v[0] == 11][-1]) == (11, 22, 0)

        # children still point at their comments
        assert [(q.comment_id, q.message_id) for q in await d.quotes(1, visible_only=False)] == [
            (12, 1002)]
        assert [(c.comment_id, c.channel_id) for c in await d.citations(1)] == [(11, 500)]
        export = await repo.privacy.export(7)
        assert export["comments"][0]["attachments"] == [
            {"filename": "a.png", "url": "https://x/a.png", "content_type": "image/png"}]
        assert export["comments"][0]["created_at"] == ISO["created"]
        assert [r["edited_at"] for r in export["comments"][0]["revisions"]] == [
            ISO["rev"], "2026-11-01T12:30:00.500000+00:00"]
    finally:
        await repo.close()

    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    types = {r[1]: r[2] for r in raw.execute("PRAGMA table_info(comments)")}
    assert (types["created_at"], types["edited_at"], types["kind"]) == (
        "INTEGER", "INTEGER", "INTEGER")
    assert "WITHOUT ROWID" in raw.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'reactions'").fetchone()[0].upper()
    # and the foreign keys still cascade from the rebuilt tables
    raw.execute("DELETE FROM items WHERE id = 1")
    for table in ("comments", "comment_revisions", "reactions", "attachments", "quotes",
                  "citations"):
        assert raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table  # noqa: S608
    raw.close()


def _message(message_id: int) -> IncomingMessage:
    return IncomingMessage(message_id=message_id, channel_id=500, author_id=7, content="back?",
                           created_at=datetime(2026, 11, 5, tzinfo=UTC))


def _many_previous_comments(path, n: int) -> None:
    """A previous-schema file holding `n` more comments with ISO times (as it stored them)."""
    raw = sqlite3.connect(path)
    raw.executemany(
        "INSERT INTO comments (message_id, item_id, channel_id, author_id, kind, content, "
        "created_at, hidden, change_seq, forwarded) VALUES (?, 1, 500, ?, 'message', ?, ?, 0, ?, 0)",
        [(5000 + i, 7 + i % 50, f"Comment {i} on the budget of the police cyber units.",
          ISO["created"], 10 + i) for i in range(n)])
    raw.commit()
    raw.close()


async def test_migration_says_when_to_compact_and_compact_gives_the_space_back(
        tmp_path, monkeypatch, caplog):
    import bot.storage.database as database

    path = tmp_path / "old.db"
    previous_schema_database(path)
    _many_previous_comments(path, 20_000)
    monkeypatch.setattr(database, "COMPACT_HINT_BYTES", 1)  # the file is small: say it anyway
    with caplog.at_level("WARNING", logger=database.log.name):
        repo = await Repository.open(path)  # migration 0012 rebuilds the comments table
    try:
        size, free = await repo.db.space()
        stored = (await repo.discussion.counts(1)).comments
    finally:
        await repo.close()
    assert free * 4 >= size > 0  # the old table's pages are free, inside the file
    assert any("python -m bot compact" in r.getMessage() for r in caplog.records)

    env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(path), "DISCORD_TOKEN": ""}
    done = subprocess.run([sys.executable, "-m", "bot", "compact"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "given back to the disk" in done.stdout
    repo = await Repository.open(path)
    try:
        after, free_after = await repo.db.space()
        assert (await repo.discussion.counts(1)).comments == stored
        assert (await repo.discussion.comment(5000 + 19_999)).content.startswith("Comment 19999 ")
    finally:
        await repo.close()
    assert free_after == 0 and after <= size - free + 64 * 1024


def test_compact_names_a_missing_file(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "none.db"), "DISCORD_TOKEN": ""}
    done = subprocess.run([sys.executable, "-m", "bot", "compact"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "none.db does not exist" in done.stderr
    assert not (tmp_path / "none.db").exists()
