"""Storage against a real SQLite file: migrations, round trips, idempotence, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import CitationIn, Database, DatabaseError, QuoteIn, Repository
from bot.storage.database import latest_version, migration_files
from bot.storage.models import IncomingMessage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


async def make_item(repo: Repository, key="crime", body="The article body.", parent_id=None):
    consultation = await repo.agenda.upsert_consultation(10, "london", "The London Agenda", "d")
    item, _ = await repo.agenda.upsert_item(
        consultation.id, key, parent_id=parent_id, position=1, title=f"Item {key}",
        summation="Short.", body=body,
    )
    await repo.agenda.save_place(item.id, channel_id=1000 + item.id)
    return await repo.agenda.item(item.id)


def message(mid: int, content: str, *, channel_id: int, author=7, minutes=0, **kw):
    return IncomingMessage(
        message_id=mid, channel_id=channel_id, author_id=author, content=content,
        created_at=T0 + timedelta(minutes=minutes), **kw,
    )


async def test_migrates_empty_database_to_latest(tmp_path):
    db = await Database.open(tmp_path / "a.db")
    assert await db.user_version() == latest_version() >= 1
    await db.close()
    with sqlite3.connect(tmp_path / "a.db") as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"consultations", "items", "item_revisions", "places", "comments", "comment_revisions",
            "quotes", "citations", "locks", "moderation_actions", "participants"} <= tables


async def test_each_older_version_migrates_forward(tmp_path):
    files = migration_files()
    for upto in range(len(files)):
        path = tmp_path / f"v{upto}.db"
        with sqlite3.connect(path) as raw:
            for version, _name, sql in files[:upto]:
                raw.executescript(sql)
                raw.execute(f"PRAGMA user_version = {version}")
        db = await Database.open(path)
        assert await db.user_version() == len(files)
        await db.close()


async def test_newer_database_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {latest_version() + 5}")
    with pytest.raises(DatabaseError, match="newer consultation-bot"):
        await Database.open(path)


async def test_item_revisions_are_kept(repo):
    item = await make_item(repo)
    again, changed = await repo.agenda.upsert_item(
        item.consultation_id, "crime", parent_id=None, position=1, title=item.title,
        summation="Short.", body="The article body.",
    )
    assert not changed and again.revision_number == 1
    edited, changed = await repo.agenda.add_revision(
        item.id, title=item.title, summation="Short.", body="A new body.", author_id=5
    )
    assert changed and edited.revision_number == 2 and edited.body == "A new body."
    assert [r.body for r in await repo.agenda.revisions(item.id)] == [
        "The article body.", "A new body."
    ]


async def test_recording_is_idempotent_and_edits_keep_revisions(repo):
    item = await make_item(repo)
    msg = message(1, "first text https://example.org", channel_id=item.channel_id)
    cite = CitationIn(normalized_url="https://example.org/", url="https://example.org")
    first = await repo.discussion.record(item.id, msg, citations=[cite])
    again = await repo.discussion.record(item.id, msg, citations=[cite])
    assert first.created and not again.created and not again.changed
    assert len(await repo.discussion.comments(item.id)) == 1
    assert len(await repo.discussion.citations(item.id)) == 1

    edited = msg.model_copy(update={"content": "second text", "edited_at": T0 + timedelta(hours=1)})
    outcome = await repo.discussion.record(item.id, edited, citations=[])
    assert outcome.changed and not outcome.created
    (comment,) = await repo.discussion.comments(item.id)
    assert comment.content == "second text"
    assert [r.content for r in await repo.discussion.revisions(comment.id)] == [
        "first text https://example.org"
    ]
    assert await repo.discussion.citations(item.id) == []
    cursor = await repo.discussion.cursor(item.channel_id)
    assert cursor.last_message_id == 1


async def test_deletion_tombstones_and_erases_text(repo):
    item = await make_item(repo)
    await repo.discussion.record(item.id, message(1, "secret words", channel_id=item.channel_id))
    await repo.discussion.record(
        item.id, message(1, "secret words edited", channel_id=item.channel_id, minutes=1)
    )
    assert await repo.discussion.delete_messages([1, 999]) == 1
    comment = await repo.discussion.comment(1)
    assert comment.deleted_at is not None and comment.content is None
    assert all(r.content is None for r in await repo.discussion.revisions(comment.id))
    # a replayed create of the deleted message does not bring it back
    await repo.discussion.record(item.id, message(1, "secret words", channel_id=item.channel_id))
    assert (await repo.discussion.comment(1)).content is None
    assert (await repo.discussion.counts(item.id)).comments == 0


async def test_topic_counts_follow_every_change_that_moves_them(repo):
    """/about's counts are kept between requests (a scan of a big topic each), and are
    current after each change of the topic's comments: new, hidden, deleted, erased."""
    item = await make_item(repo)
    other = await make_item(repo, key="other")

    async def shown():
        c = await repo.discussion.counts(item.id)
        return c.comments, c.participants, (await repo.discussion.unverified(item.id))[0]

    for mid, author in ((1, 7), (2, 8), (3, 8), (4, 9)):
        await repo.discussion.record(item.id, message(mid, f"words {mid}", author=author,
                                                      channel_id=item.channel_id, minutes=mid))
    assert await shown() == (4, 3, 0)
    assert await shown() == (4, 3, 0)  # (kept)
    await repo.discussion.record(other.id, message(9, "elsewhere", channel_id=other.channel_id))
    assert await shown() == (4, 3, 0)
    await repo.discussion.set_hidden(1, True, "spam")
    assert await shown() == (3, 2, 0)
    await repo.discussion.delete_messages([2])
    assert await shown() == (2, 2, 0)
    await repo.discussion.set_unverified({item.channel_id: 4})
    assert await shown() == (2, 2, 1)  # message 3, older than 4, was not re-checked
    await repo.privacy.erase(8)
    assert await shown() == (1, 1, 0)
    assert (await repo.discussion.counts(other.id)).comments == 1


async def test_quotes_and_sources_round_trip(repo):
    item = await make_item(repo, body="Cyber crime is a threat. Act together.")
    quote = QuoteIn(revision_id=item.revision_id, passage="Act together", exact="Act together.",
                    prefix="crime is a threat. ", suffix="", start=25, end=38, state="anchored",
                    score=1.0)
    for mid, author in ((1, 7), (2, 8), (3, 8)):
        await repo.discussion.record(
            item.id, message(mid, "> Act together\nyes", channel_id=item.channel_id, author=author),
            quotes=[quote],
            citations=[CitationIn(normalized_url="https://a.org/", url="https://a.org/")],
        )
    await repo.discussion.record(
        item.id, message(4, "b", channel_id=item.channel_id, author=9),
        citations=[CitationIn(normalized_url="https://b.org/", url="https://b.org/", title="B")],
    )
    quotes = await repo.discussion.quotes(item.id)
    assert [(q.exact, q.state, q.start, q.end) for q in quotes] == [("Act together.", "anchored", 25, 38)] * 3
    sources = await repo.discussion.sources(item.id)
    assert [(s.normalized_url, s.citer_count) for s in sources] == [
        ("https://a.org/", 2), ("https://b.org/", 1)
    ]
    assert sources[1].title == "B"


async def test_reactions_count_distinct_people_excluding_author(repo):
    item = await make_item(repo)
    await repo.discussion.record(item.id, message(1, "x", channel_id=item.channel_id, author=7))
    for user, emoji in ((7, "👍"), (8, "👍"), (8, "✅"), (9, "👎")):
        assert await repo.discussion.set_reaction(1, user, emoji, True)
    counts = await repo.discussion.reaction_counts(item.id, ["👍", "✅"], ["👎"])
    comment = await repo.discussion.comment(1)
    assert counts == {comment.id: (1, 1)}
    # a person's latest vote counts: 9 now agrees (their 👎 stays beside it), 8 passes
    await repo.discussion.set_reaction(1, 9, "✅", True)
    await repo.discussion.set_reaction(1, 8, "🤷", True)
    counts = await repo.discussion.reaction_counts(item.id, ["👍", "✅"], ["👎"], ["🤷"])
    assert counts == {comment.id: (1, 0)}


async def test_bulk_reactions_count_like_single_ones_and_mark_comments_changed(repo):
    item = await make_item(repo)
    await repo.discussion.record_new(item.id, [
        (message(1, "x", channel_id=item.channel_id, author=7), [], []),
        (message(2, "y", channel_id=item.channel_id, author=8), [], [])])
    version, rows, _ = await repo.discussion.summary_rows(item.id, ["👍"], ["👎"])
    added = await repo.discussion.add_reactions(
        [(1, 8, "👍"), (1, 9, "👎"), (1, 7, "👍"), (1, 8, "👍"), (999, 8, "👍")])
    assert added == 3  # the repeat and the reaction to a message never stored are skipped
    assert await repo.discussion.add_reactions([(1, 8, "👍")]) == 0  # idempotent
    comment = await repo.discussion.comment(1)
    assert await repo.discussion.reaction_counts(item.id, ["👍"], ["👎"]) == {comment.id: (1, 1)}
    assert await repo.discussion.reaction_tally([1, 2]) == {1: {"👍": 2, "👎": 1}}
    # a summary computed before re-reads the comment reacted to, and only that one
    _, changed, votes = await repo.discussion.summary_rows(item.id, ["👍"], ["👎"], since=version)
    assert [r[0] for r in changed] == [comment.id]
    assert sorted(tuple(v) for v in votes) == [(comment.id, 8, 1), (comment.id, 9, -1)]


async def test_hidden_comments_leave_counts_and_bump_version(repo):
    item = await make_item(repo)
    await repo.discussion.record(item.id, message(1, "x", channel_id=item.channel_id))
    before = (await repo.agenda.item(item.id)).discussion_version
    hidden = await repo.discussion.set_hidden(1, True, "off topic")
    assert hidden.hidden and hidden.hidden_reason == "off topic"
    assert (await repo.agenda.item(item.id)).discussion_version == before + 1
    assert await repo.discussion.comments(item.id) == []
    assert len(await repo.discussion.comments(item.id, include_all=True)) == 1


async def test_concurrent_writers_do_not_interleave(repo):
    item = await make_item(repo)

    async def writer(base: int) -> None:
        for n in range(25):
            await repo.discussion.record(
                item.id, message(base + n, f"c{base + n}", channel_id=item.channel_id)
            )

    await asyncio.gather(*(writer(b) for b in (1000, 2000, 3000, 4000)))
    assert (await repo.discussion.counts(item.id)).comments == 100
    assert (await repo.agenda.item(item.id)).discussion_version == 100


async def test_failed_transaction_writes_nothing(repo):
    item = await make_item(repo)
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await tx.execute("UPDATE items SET discussion_version = 99 WHERE id = ?", (item.id,))
            raise RuntimeError("boom")
    assert (await repo.agenda.item(item.id)).discussion_version == 0


async def test_locks_and_modlog(repo):
    item = await make_item(repo)
    assert await repo.moderation.add_lock(
        target_id=item.channel_id, item_id=item.id, scope="item", reason="closed", locked_by=5,
        saved_overwrites="{}", guild_id=10,
    )
    assert not await repo.moderation.add_lock(
        target_id=item.channel_id, item_id=item.id, scope="item", reason="again", locked_by=5,
        saved_overwrites="{}", guild_id=10,
    )
    assert (await repo.agenda.item(item.id)).locked
    removed = await repo.moderation.remove_lock(item.channel_id, moderator_id=5, guild_id=10)
    assert removed.reason == "closed"
    assert not (await repo.agenda.item(item.id)).locked
    actions, total = await repo.moderation.actions(guild_id=10)
    assert total == 2 and [a.action for a in actions] == ["unlock", "lock"]


async def test_erasure_removes_text_from_the_file(sqlite_repo, tmp_path):
    repo = sqlite_repo
    item = await make_item(repo)
    secret = "my-very-identifiable-sentence-xyzzy"
    await repo.privacy.save_profile(7, display_name="Alice Example", affiliation="individual",
                                    consent_named=True)
    await repo.discussion.record(item.id, message(1, secret, channel_id=item.channel_id))
    await repo.discussion.record(
        item.id, message(1, secret + " v2", channel_id=item.channel_id, minutes=2)
    )
    await repo.discussion.add_citation(
        item.id, CitationIn(normalized_url="https://a.org/", url="https://a.org/",
                            note="note-" + secret),
        message_id=50, citer_id=7, comment_id=None,
    )
    exported = await repo.privacy.export(7)
    assert exported["profile"]["display_name"] == "Alice Example"
    assert exported["comments"][0]["content"] == secret + " v2"
    await repo.privacy.erase(7)
    await repo.db.checkpoint()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("test.db*"))
    assert secret.encode() not in blob
    assert b"Alice Example" not in blob
    assert (await repo.discussion.comment(1)).erased_at is not None


async def test_record_new_batch_is_idempotent_and_keeps_annotations(repo):
    item = await make_item(repo, body="Cyber crime is a threat. Act together.")
    quote = QuoteIn(revision_id=item.revision_id, passage="Act together", exact="Act together.",
                    start=25, end=38, state="anchored", score=1.0)
    cite = CitationIn(normalized_url="https://a.org/", url="https://a.org/")
    batch = [(message(n, f"comment {n}", channel_id=item.channel_id, minutes=n),
              [quote] if n == 3 else [], [cite] if n == 4 else []) for n in range(1, 6)]
    assert await repo.discussion.record_new(item.id, batch) == 5
    assert await repo.discussion.record_new(item.id, batch) == 0
    assert [c.content for c in await repo.discussion.comments(item.id)] == [
        f"comment {n}" for n in range(1, 6)
    ]
    assert [q.message_id for q in await repo.discussion.quotes(item.id)] == [3]
    assert [c.message_id for c in await repo.discussion.citations(item.id)] == [4]
    assert (await repo.discussion.cursor(item.channel_id)).last_message_id == 5
    assert (await repo.agenda.item(item.id)).discussion_version == 5


async def test_an_older_version_arriving_late_never_overwrites_the_newer(repo):
    item = await make_item(repo)
    original = message(1, "first words", channel_id=item.channel_id)
    edited = original.model_copy(update={"content": "second words",
                                         "edited_at": T0 + timedelta(minutes=5)})
    await repo.discussion.record(item.id, edited)      # the edit event won the race
    await repo.discussion.record(item.id, original)    # the create event comes after
    await repo.discussion.record(item.id, original)
    comment = await repo.discussion.comment(1)
    assert comment.content == "second words"
    assert [r.content for r in await repo.discussion.revisions(comment.id)] == ["first words"]


async def test_a_deletion_seen_before_the_message_keeps_its_text_out(repo):
    item = await make_item(repo)
    assert await repo.discussion.delete_messages([7], channel_id=item.channel_id) == 0
    outcome = await repo.discussion.record(item.id, message(7, "gone already", channel_id=item.channel_id))
    assert outcome.comment_id is None and not outcome.created
    batch = [(message(7, "gone already", channel_id=item.channel_id), [], [])]
    assert await repo.discussion.record_new(item.id, batch) == 0
    assert await repo.discussion.comment(7) is None
    # deletions in channels the bot does not follow are not remembered
    await repo.discussion.delete_messages([8], channel_id=424242)
    async with repo.db.reading() as tx:
        rows = await tx.fetchall("SELECT message_id FROM deleted_messages")
    assert [r[0] for r in rows] == [7]


@pytest.mark.parametrize("kind", ["write", "read"])
async def test_a_task_cancelled_at_begin_leaves_no_transaction_open(database_target, kind):
    repo = await Repository.open(database_target)
    db = repo.db

    async def use():
        opened = db.transaction() if kind == "write" else db.reading()
        async with opened as tx:
            await tx.fetchone("SELECT COUNT(*) FROM meta")

    task = asyncio.create_task(use())
    await asyncio.sleep(0)  # it waits for BEGIN in the connection's worker thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction() as tx:  # the next transaction can begin
        await tx.execute("INSERT INTO meta (key, value) VALUES ('after', 'cancel')")
    async with db.reading() as tx:
        assert (await tx.fetchone("SELECT value FROM meta WHERE key = 'after'"))[0] == "cancel"
    await repo.close()  # its checkpoint needs no transaction open


async def test_catch_up_reads_only_the_newest_stored_comments_of_its_window(repo):
    """What catch-up compares with Discord: plain rows of the window's newest comments,
    deleted ones left out, erased ones marked (their text is gone)."""
    item = await make_item(repo)
    channel = item.channel_id
    await repo.discussion.record_new(item.id, [
        (message(m, f"comment {m}", channel_id=channel, author=m % 3, minutes=m), [], [])
        for m in range(1, 41)])
    await repo.discussion.delete_messages([40, 12])
    await repo.privacy.erase(2)  # wrote 2, 5, 8, …
    newest = await repo.discussion.stored_texts(channel, 10, 39, newest=5)
    assert sorted(newest) == [35, 36, 37, 38, 39]
    assert newest[36].content == "comment 36" and newest[36].erased_at is None
    assert newest[38].content is None and newest[38].erased_at is not None
    window = await repo.discussion.stored_texts(channel, 10, 2**63 - 1)
    assert sorted(window) == [m for m in range(10, 40) if m != 12]


async def test_a_one_trip_write_after_a_checkpoint_commits(repo):
    """The checkpoint pragma answers with a row: left unread, its statement stayed in
    progress and every later one-trip write failed to commit (seen in bursts)."""
    await repo.db.checkpoint()
    counts = await repo.db.write_batch(
        [("INSERT INTO meta (key, value) VALUES ('probe', 'after checkpoint')", ())])
    assert counts == [1]
    async with repo.db.reading() as tx:
        row = await tx.fetchone("SELECT value FROM meta WHERE key = 'probe'")
    assert row[0] == "after checkpoint"
