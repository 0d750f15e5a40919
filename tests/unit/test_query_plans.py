"""Every hot query of the discussion store finds its rows through an index, and every index of
the tables that grow with the discussion is used by one of them (an index nobody uses is only
bytes on disk and work on every insert: issue 17's 300 bytes per comment).

The statements are the ones the store really runs (SQLite's trace callback, parameters
expanded), each asked `EXPLAIN QUERY PLAN` on the same file.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from bot.storage import CitationIn, QuoteIn, Repository
from bot.storage.models import AttachmentIn, IncomingMessage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOT = ("comments", "reactions", "comment_revisions", "deleted_messages", "attachments",
       "quotes", "citations")
AGREE, DISAGREE, PASS = ["👍"], ["👎"], ["🤷"]


def msg(mid: int, content: str, channel: int, minutes: int = 0, **kw) -> IncomingMessage:
    return IncomingMessage(message_id=mid, channel_id=channel, author_id=7 + mid % 3,
                           content=content, created_at=T0 + timedelta(minutes=minutes), **kw)


async def run_hot_paths(repo: Repository) -> None:
    """The store calls of live ingestion, catch-up, summaries, /about and moderation."""
    consultation = await repo.agenda.upsert_consultation(10, "c", "C", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "a", parent_id=None, position=1,
                                            title="A", summation="S.", body="The body.")
    await repo.agenda.save_place(item.id, channel_id=500)
    d = repo.discussion
    await d.follow(501, item.id, 500)
    quote = QuoteIn(revision_id=item.revision_id, passage="The body.", state="anchored")
    link = CitationIn(normalized_url="https://example.org/", url="https://example.org/")
    await d.record(item.id, msg(1, "first", 500), quotes=[quote], citations=[link])
    await d.record(item.id, msg(1, "first, edited", 500, edited_at=T0 + timedelta(hours=1)))
    await d.record(item.id, msg(1, "an older text", 500, edited_at=T0 + timedelta(minutes=30)))
    await d.record_new(item.id, [(msg(m, f"text {m}", 500, m), [], []) for m in range(2, 6)]
                       + [(msg(6, "with a file", 501, 6, thread_id=501,
                               attachments=[AttachmentIn(filename="a.png", url="https://x/a.png")]),
                           [quote], [link])])
    await d.record_new(item.id, [(msg(7, "not contiguous", 500, 7), [], [])], contiguous=False)
    await d.set_link_title(1, "https://example.org/", "Example")
    await d.advance_cursor(500, 8)
    await d.close_gap(500, 8)
    await d.set_reaction(2, 20, "👍", True)
    await d.set_reaction(2, 21, "👎", True)
    await d.set_reaction(2, 21, "👎", False)
    await d.replace_reactions(3, [(20, "👍"), (22, "🤷")])
    await d.clear_reactions(3, "🤷")
    await d.clear_reactions(3)
    await d.delete_messages([4, 99], channel_id=500)
    await d.set_hidden(5, True, "spam")
    await d.record(item.id, msg(99, "deleted before it was stored", 500, 9))
    await d.comment(2)
    await d.comments(item.id)
    await d.comments_between(500, 1, 10)
    await d.comments_in_channel(501)
    await d.revisions(1)
    await d.summary_rows(item.id, AGREE, DISAGREE, PASS)
    await d.summary_rows(item.id, AGREE, DISAGREE, PASS, since=3)
    await d.reaction_counts(item.id, AGREE, DISAGREE, PASS)
    await d.reaction_tally([1, 2, 3])
    await d.counts(item.id)
    await d.comment_counts(consultation.id)
    await d.item_texts([item.id])
    await d.consultation_texts(consultation.id)
    await d.quotes(item.id)
    await d.consultation_quotes(consultation.id)
    await d.citations(item.id)
    await d.set_unverified({500: 5, 501: 1})
    await d.unverified(item.id)


def hot_tables_in(sql: str) -> set[str]:
    return {t for t in HOT if re.search(rf"\b{t}\b", sql)}


async def test_hot_queries_use_indexes_and_every_index_is_used(tmp_path):
    path = tmp_path / "plans.db"
    repo = await Repository.open(path)
    seen: list[str] = []
    for conn in {repo.db._conn, repo.db._reader}:  # noqa: SLF001 - tracing the real connections
        await conn.set_trace_callback(seen.append)
    await run_hot_paths(repo)
    await repo.close()

    raw = sqlite3.connect(path)
    statements = [s for s in dict.fromkeys(seen)
                  if hot_tables_in(s) and re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", s, re.I)]
    assert len(statements) > 30, statements  # the scenario really ran the store's queries
    used: set[str] = set()
    full_scans = []
    for sql in statements:
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}")]
        for step in plan:
            used.update(re.findall(r"USING (?:COVERING )?INDEX (\w+)", step))
            scanned = re.match(r"SCAN (\w+)(?: AS \w+)?", step)
            if scanned:
                # `SCAN c` names the alias: find the table it stands for
                alias = scanned.group(1)
                table = next((t for t in HOT if re.search(rf"\b{t}\s+(?:AS\s+)?{alias}\b", sql)
                              or t == alias), None)
                if table:
                    full_scans.append((sql, step))
        if any("PRIMARY KEY" in s and "reactions" in sql for s in plan):
            used.add("reactions (primary key)")
    assert not full_scans, "hot queries reading a whole table:\n" + "\n".join(
        f"{step}  <-  {sql}" for sql, step in full_scans)

    indexes = {name for name, table in raw.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'") if table in HOT}
    unused = indexes - used
    assert not unused, f"indexes no hot query uses: {sorted(unused)}"
    # reactions is WITHOUT ROWID: its primary key is the table, and the queries go through it
    assert "reactions (primary key)" in used
    assert "WITHOUT ROWID" in raw.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'reactions'").fetchone()[0].upper()
    raw.close()
