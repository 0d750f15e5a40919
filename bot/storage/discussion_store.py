"""Comments (with revisions and tombstones), quotes, citations, reactions, cursors."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel

from bot.storage.common import DISCUSSION_CHANGED, Store, from_micros, micros, parse_ts, ts
from bot.storage.database import Transaction
from bot.storage.feature_store import FeatureStore
from bot.storage.models import (
    ChannelCursor,
    Citation,
    CitedSource,
    Comment,
    CommentRevision,
    IncomingMessage,
    ItemCounts,
    Quote,
    QuoteState,
    utcnow,
)


class QuoteIn(BaseModel):
    """A quote to store, already matched against the article by the core."""

    revision_id: int
    passage: str
    exact: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    start: int | None = None
    end: int | None = None
    state: QuoteState
    score: float = 0.0


class CitationIn(BaseModel):
    normalized_url: str
    url: str
    title: str | None = None
    note: str | None = None


class RecordOutcome(BaseModel):
    comment_id: int | None  # None: the message was deleted before it could be stored
    created: bool
    changed: bool


# comments.kind, stored as its position here (a message costs no byte for it).
COMMENT_KINDS = ("message", "quote", "citation")


def _comment(row) -> Comment:
    return Comment(
        id=row["id"],
        message_id=row["message_id"],
        item_id=row["item_id"],
        channel_id=row["channel_id"],
        thread_id=row["thread_id"],
        author_id=row["author_id"],
        reply_to_message_id=row["reply_to_message_id"],
        kind=COMMENT_KINDS[row["kind"]],
        content=row["content"],
        created_at=from_micros(row["created_at"]),
        edited_at=from_micros(row["edited_at"]),
        deleted_at=from_micros(row["deleted_at"]),
        erased_at=from_micros(row["erased_at"]),
        hidden=bool(row["hidden"]),
        hidden_reason=row["hidden_reason"],
        forwarded=bool(row["forwarded"]),
    )


#: above this many rows, models are built in a worker thread: 100,000 of them take about a
#: second, which the event loop must not spend while others wait for an answer
OFF_LOOP_ROWS = 2_000


async def _from_rows(build, rows):
    """`build(rows)`, in a worker thread when there are many rows."""
    if len(rows) <= OFF_LOOP_ROWS:
        return build(rows)
    return await asyncio.to_thread(build, rows)


def _comment_list(rows) -> list[Comment]:
    return [_comment(r) for r in rows]


def _tally(rows) -> dict[int, tuple[int, int]]:
    """(agree, disagree) per comment from (comment, person, vote) rows in reaction order:
    only each person's latest reaction counts."""
    latest = {(r[0], r[1]): r[2] for r in rows}
    out: dict[int, list[int]] = {}
    for (comment_id, _user), vote in latest.items():
        counts = out.setdefault(comment_id, [0, 0])
        if vote:
            counts[0 if vote == 1 else 1] += 1
    return {c: (a, d) for c, (a, d) in out.items() if a or d}


def _quote(row) -> Quote:
    return Quote(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite Row


def _citation(row) -> Citation:
    data = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite Row
    data["created_at"] = parse_ts(data["created_at"])
    return Citation(**data)


_QUOTE_SELECT = """SELECT q.id, q.comment_id, c.message_id, q.item_id, q.revision_id, q.ordinal,
       q.passage, q.exact, q.prefix, q.suffix, q.start, q."end", q.state, q.score, c.author_id
FROM quotes q JOIN comments c ON c.id = q.comment_id"""

_CITATION_SELECT = """SELECT ci.id, ci.item_id, ci.normalized_url, ci.url, ci.title, ci.note,
       ci.comment_id, ci.message_id, c.channel_id, ci.citer_id, ci.created_at
FROM citations ci LEFT JOIN comments c ON c.id = ci.comment_id"""

# A reaction, recorded after the comment's others: `seq` orders a comment's reactions as they
# were recorded (a participant's latest reaction is their vote).
# (parameters cast: see _INSERT_LIVE)
_ADD_REACTION = """INSERT INTO reactions (comment_id, user_id, emoji, seq)
    SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), COALESCE(MAX(seq), 0) + 1
    FROM reactions WHERE comment_id = ?
    ON CONFLICT (comment_id, user_id, emoji) DO NOTHING"""

# A new live message, unless stored already or deleted before it could be stored. It is
# marked changed at the item's next version; _BUMP_LIVE then moves the version past every
# comment so marked (the parameters are cast: PostgreSQL types a SELECT list's parameters
# from the casts, not from the columns they go into).
_INSERT_LIVE = """INSERT INTO comments (message_id, item_id, channel_id, thread_id, author_id,
      reply_to_message_id, kind, content, created_at, edited_at, forwarded, change_seq)
    SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT),
      CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS TEXT),
      CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS INTEGER), i.discussion_version + 1
    FROM items i JOIN channel_cursors k ON k.item_id = i.id
    WHERE i.id = ? AND k.channel_id = ?
      AND NOT EXISTS (SELECT 1 FROM deleted_messages d WHERE d.message_id = ?)
    ON CONFLICT (message_id) DO NOTHING"""
# The comments just stored are the item's only ones at its next version (every other has a
# change_seq at most the current version): the version grows by their number.
_BUMP_LIVE = """UPDATE items SET
      discussion_version = discussion_version + (SELECT COUNT(*) FROM comments c
        WHERE c.item_id = items.id AND c.change_seq = items.discussion_version + 1),
      last_activity_at = MAX(COALESCE(last_activity_at, ''), ?)
    WHERE id = ? AND EXISTS (SELECT 1 FROM comments c
        WHERE c.item_id = items.id AND c.change_seq = items.discussion_version + 1)"""

_ADD_REACTION_TO_MESSAGE = """INSERT INTO reactions (comment_id, user_id, emoji, seq)
    SELECT c.id, CAST(? AS BIGINT), CAST(? AS TEXT),
      COALESCE((SELECT MAX(r.seq) FROM reactions r WHERE r.comment_id = c.id), 0) + 1
    FROM comments c WHERE c.message_id = ?
    ON CONFLICT (comment_id, user_id, emoji) DO NOTHING"""

# Comments that count: not deleted, not erased, not hidden.
VISIBLE = "c.deleted_at IS NULL AND c.erased_at IS NULL AND c.hidden = 0"


class DiscussionStore(Store):
    def __init__(self, db) -> None:
        super().__init__(db)
        #: (query, item id) -> (what it depends on, its row): /about's whole-topic counts,
        #: a scan of a big topic's comments each, kept until what they count changes (the
        #: item's discussion version moves with every comment added, changed or hidden)
        self._tallied: dict[tuple[str, int], tuple[object, tuple]] = {}

    async def _tally(self, tx: Transaction, name: str, item_id: int, key: object, sql: str,
                     params: tuple) -> tuple:
        """``sql``'s one row, read again only when ``key`` (read first, in ``tx``) moved."""
        kept = self._tallied.get((name, item_id))
        if kept is not None and kept[0] == key:
            return kept[1]
        row = tuple(await tx.fetchone(sql, params))
        self._tallied[(name, item_id)] = (key, row)
        return row

    # --- following channels ----------------------------------------------------------------

    async def follow(self, channel_id: int, item_id: int, parent_id: int | None) -> None:
        """Start following a channel or thread (e.g. a thread a participant opened)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO channel_cursors (channel_id, item_id, parent_id) VALUES (?, ?, ?)
                   ON CONFLICT (channel_id) DO NOTHING""",
                (channel_id, item_id, parent_id),
            )

    async def forget_channel(self, channel_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM channel_cursors WHERE channel_id = ?", (channel_id,))

    async def cursors(self) -> list[ChannelCursor]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall("SELECT channel_id, item_id, parent_id, last_message_id FROM channel_cursors "
                "ORDER BY channel_id")
        return [ChannelCursor(**dict(zip(r.keys(), r, strict=True))) for r in rows]

    async def cursor(self, channel_id: int) -> ChannelCursor | None:
        async with self.db.reading() as tx:
            r = await tx.fetchone(
                "SELECT channel_id, item_id, parent_id, last_message_id FROM channel_cursors "
                "WHERE channel_id = ?", (channel_id,)
            )
        return ChannelCursor(**dict(zip(r.keys(), r, strict=True))) if r else None

    async def advance_cursor(self, channel_id: int, message_id: int, *, contiguous: bool = True) -> None:
        """Note that the bot has seen `message_id` here (also for bot messages it does not store).

        Not `contiguous` (received live while history may have a hole before it): the cursor
        stays where it is and the message is noted as the gap's first live id instead.
        """
        async with self.db.transaction() as tx:
            await self._seen(tx, channel_id, message_id, contiguous)

    async def close_gap(self, channel_id: int, newest: int) -> None:
        """History has been read in order up to `newest`: the hole, if any, is closed."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE channel_cursors SET last_message_id = MAX(last_message_id, ?), "
                "first_live_id = NULL WHERE channel_id = ?",
                (newest, channel_id),
            )

    async def gaps(self) -> dict[int, tuple[int, int]]:
        """channel id -> (last message read in order, first message received live after it)."""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT channel_id, last_message_id, first_live_id FROM channel_cursors "
                "WHERE first_live_id IS NOT NULL"
            )
        return {r[0]: (r[1], r[2]) for r in rows}

    @classmethod
    async def _seen(cls, tx: Transaction, channel_id: int, message_id: int, contiguous: bool) -> None:
        if contiguous:
            await cls._advance(tx, channel_id, message_id)
            return
        await tx.execute(
            "UPDATE channel_cursors SET first_live_id = MIN(COALESCE(first_live_id, ?), ?) "
            "WHERE channel_id = ? AND last_message_id < ?",
            (message_id, message_id, channel_id, message_id),
        )

    @staticmethod
    async def _advance(tx: Transaction, channel_id: int, message_id: int) -> None:
        await tx.execute(
            "UPDATE channel_cursors SET last_message_id = MAX(last_message_id, ?) WHERE channel_id = ?",
            (message_id, channel_id),
        )

    # --- comments --------------------------------------------------------------------------

    async def record(
        self,
        item_id: int,
        message: IncomingMessage,
        *,
        quotes: Sequence[QuoteIn] = (),
        citations: Sequence[CitationIn] = (),
        kind: str = "message",
        contiguous: bool = True,
    ) -> RecordOutcome:
        """Store a message as a comment, idempotently.

        The same message again changes nothing; a newer text (an edit) keeps the old
        one as a revision and replaces the comment's quotes and citations. A message
        that was deleted or erased is never brought back.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, content, created_at, edited_at, deleted_at, erased_at FROM comments "
                "WHERE message_id = ?",
                (message.message_id,),
            )
            await self._seen(tx, message.channel_id, message.message_id, contiguous)
            if row is None and await tx.fetchone(
                "SELECT 1 FROM deleted_messages WHERE message_id = ?", (message.message_id,)
            ):
                return RecordOutcome(comment_id=None, created=False, changed=False)
            if row is None:
                comment_id = await tx.insert(
                    """INSERT INTO comments (message_id, item_id, channel_id, thread_id, author_id,
                         reply_to_message_id, kind, content, created_at, edited_at, forwarded)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (message.message_id, item_id, message.channel_id, message.thread_id,
                     message.author_id, message.reply_to_message_id, COMMENT_KINDS.index(kind),
                     message.content,
                     micros(message.created_at), micros(message.edited_at), int(message.forwarded)),
                )
                await tx.executemany(
                    "INSERT INTO attachments (comment_id, filename, url, content_type) VALUES (?, ?, ?, ?)",
                    [(comment_id, a.filename, a.url, a.content_type) for a in message.attachments],
                )
                await self._replace_annotations(tx, comment_id, item_id, message, quotes, citations)
                await self._touch_item(tx, item_id, message.edited_at or message.created_at,
                                       comment_id)
                return RecordOutcome(comment_id=comment_id, created=True, changed=True)
            comment_id = row["id"]
            if row["deleted_at"] or row["erased_at"] or row["content"] == message.content:
                return RecordOutcome(comment_id=comment_id, created=False, changed=False)
            stored_at = row["edited_at"] or row["created_at"]
            incoming_at = micros(message.edited_at or message.created_at)
            if incoming_at < stored_at:
                # An older version arriving late (events are handled concurrently): keep it
                # as a revision, never let it overwrite the newer text.
                have = await tx.fetchone(
                    "SELECT 1 FROM comment_revisions WHERE comment_id = ? AND edited_at = ?",
                    (comment_id, incoming_at),
                )
                if have is None:
                    await tx.execute(
                        "INSERT INTO comment_revisions (comment_id, content, edited_at) VALUES (?, ?, ?)",
                        (comment_id, message.content, incoming_at),
                    )
                return RecordOutcome(comment_id=comment_id, created=False, changed=False)
            edited_at = message.edited_at or utcnow()
            await tx.execute(
                "INSERT INTO comment_revisions (comment_id, content, edited_at) VALUES (?, ?, ?)",
                (comment_id, row["content"], row["edited_at"] or micros(message.created_at)),
            )
            await tx.execute(
                "UPDATE comments SET content = ?, edited_at = ? WHERE id = ?",
                (message.content, micros(edited_at), comment_id),
            )
            await FeatureStore.forget_in(tx, [comment_id])  # derived from the old text
            await self._replace_annotations(tx, comment_id, item_id, message, quotes, citations)
            await self._touch_item(tx, item_id, edited_at, comment_id)
            return RecordOutcome(comment_id=comment_id, created=False, changed=True)

    async def record_new(
        self,
        item_id: int,
        batch: Sequence[tuple[IncomingMessage, Sequence[QuoteIn], Sequence[CitationIn]]],
        *,
        kind: str = "message",
        contiguous: bool = True,
    ) -> int:
        """Store many messages of one item in one transaction; ones already stored are skipped.

        The fast path for catch-up and bulk ingestion (edits go through `record`).
        Not `contiguous` (received live while history may have a hole before them): the
        cursors stay, and the gap's first live id is noted (see `advance_cursor`).
        Returns how many were new.
        """
        if not batch:
            return 0
        code = COMMENT_KINDS.index(kind)
        async with self.db.transaction() as tx:
            known = await self._known(tx, [m.message_id for m, _, _ in batch])
            fresh, seen = [], set(known)
            for entry in batch:
                if entry[0].message_id not in seen:
                    seen.add(entry[0].message_id)
                    fresh.append(entry)
            # The new rows' change_seq is the item's version after this batch, written with
            # them (an UPDATE afterwards would write every row twice: a third of PostgreSQL's
            # ingestion time).
            version = await tx.fetchone(
                "SELECT discussion_version FROM items WHERE id = ?", (item_id,))
            seq = (version[0] if version else 0) + len(fresh)
            added = await tx.executemany(
                """INSERT INTO comments (message_id, item_id, channel_id, thread_id, author_id,
                     reply_to_message_id, kind, content, created_at, edited_at, forwarded,
                     change_seq)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [(m.message_id, item_id, m.channel_id, m.thread_id, m.author_id,
                  m.reply_to_message_id, code, m.content, micros(m.created_at), micros(m.edited_at),
                  int(m.forwarded), seq)
                 for m, _, _ in fresh],
            )
            # Messages with quotes, links or files: their annotations need the new comment id.
            annotated = [e for e in fresh if e[0].attachments or e[1] or e[2]]
            for m, quotes, citations in annotated:
                row = await tx.fetchone("SELECT id FROM comments WHERE message_id = ?",
                                        (m.message_id,))
                await tx.executemany(
                    "INSERT INTO attachments (comment_id, filename, url, content_type) "
                    "VALUES (?, ?, ?, ?)",
                    [(row[0], a.filename, a.url, a.content_type) for a in m.attachments],
                )
                await self._replace_annotations(tx, row[0], item_id, m, quotes, citations)
            newest: dict[int, int] = {}
            for m, _, _ in batch:
                newest[m.channel_id] = max(newest.get(m.channel_id, 0), m.message_id)
            for channel_id, message_id in newest.items():
                await self._seen(tx, channel_id, message_id, contiguous)
            if added:
                last = max(m.edited_at or m.created_at for m, _, _ in fresh)
                await tx.execute(
                    """UPDATE items SET discussion_version = discussion_version + ?,
                         last_activity_at = MAX(COALESCE(last_activity_at, ''), ?) WHERE id = ?""",
                    (added, ts(last), item_id),
                )
                await tx.notify(DISCUSSION_CHANGED, str(item_id))
        return added

    async def record_live(
        self, item_id: int, messages: Sequence[IncomingMessage], *, contiguous: bool = True,
    ) -> list[int]:
        """Store new messages of one channel received live that have no quotes, links or
        files (see `record_new` for those): one transaction in one trip to the database.

        The same guarantees as `record_new`: a message stored already, or deleted before it
        could be stored, is skipped; the item's discussion version grows by the number
        stored and their `change_seq` is above the version before; the cursor moves (or
        the gap's first live id is noted). A message is only stored if its channel is
        followed for this item (the caller may know the item from an earlier message).
        Returns, per message, 1 if it was stored, 0 if not."""
        if not messages:
            return []
        steps: list[tuple[str, Sequence]] = [
            (_INSERT_LIVE, (m.message_id, item_id, m.channel_id, m.thread_id, m.author_id,
                            m.reply_to_message_id, COMMENT_KINDS.index("message"), m.content,
                            micros(m.created_at), micros(m.edited_at), int(m.forwarded),
                            item_id, m.channel_id, m.message_id))
            for m in messages]
        last = max(m.edited_at or m.created_at for m in messages)
        steps.append((_BUMP_LIVE, (ts(last), item_id)))
        channel_id, newest = messages[0].channel_id, max(m.message_id for m in messages)
        if contiguous:
            steps.append(("UPDATE channel_cursors SET last_message_id = MAX(last_message_id, ?) "
                          "WHERE channel_id = ?", (newest, channel_id)))
        else:
            steps.append(("UPDATE channel_cursors SET first_live_id = "
                          "MIN(COALESCE(first_live_id, ?), ?) "
                          "WHERE channel_id = ? AND last_message_id < ?",
                          (newest, newest, channel_id, newest)))
        counts = await self.db.write_batch(steps)
        if any(counts[:len(messages)]):
            await self.db.notify(DISCUSSION_CHANGED, str(item_id))
        return counts[:len(messages)]

    @staticmethod
    async def _known(tx: Transaction, message_ids: list[int]) -> set[int]:
        """Which of these messages are stored already, or were deleted before being stored."""
        known: set[int] = set()
        for start in range(0, len(message_ids), 400):
            chunk = message_ids[start:start + 400]
            marks = ",".join("?" * len(chunk))
            rows = await tx.fetchall(
                f"SELECT message_id FROM comments WHERE message_id IN ({marks}) "  # noqa: S608
                f"UNION SELECT message_id FROM deleted_messages WHERE message_id IN ({marks})",
                chunk + chunk,
            )
            known.update(r[0] for r in rows)
        return known

    @staticmethod
    async def _replace_annotations(
        tx: Transaction,
        comment_id: int,
        item_id: int,
        message: IncomingMessage,
        quotes: Sequence[QuoteIn],
        citations: Sequence[CitationIn],
    ) -> None:
        await tx.execute("DELETE FROM quotes WHERE comment_id = ?", (comment_id,))
        await tx.executemany(
            """INSERT INTO quotes (comment_id, item_id, revision_id, ordinal, passage, exact, prefix,
                 suffix, start, "end", state, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(comment_id, item_id, q.revision_id, n, q.passage, q.exact, q.prefix, q.suffix,
              q.start, q.end, q.state, q.score) for n, q in enumerate(quotes)],
        )
        await tx.execute("DELETE FROM citations WHERE comment_id = ?", (comment_id,))
        await tx.executemany(
            """INSERT INTO citations (item_id, normalized_url, url, title, note, comment_id,
                 message_id, citer_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT DO NOTHING""",
            [(item_id, c.normalized_url, c.url, c.title, c.note, comment_id, message.message_id,
              message.author_id, ts(message.created_at)) for c in citations],
        )

    @staticmethod
    async def _touch_item(
        tx: Transaction, item_id: int, when: datetime | None, comment_id: int | None = None
    ) -> None:
        """Bump the item's discussion version; mark `comment_id` as changed at that version."""
        await tx.execute(
            """UPDATE items SET discussion_version = discussion_version + 1,
                 last_activity_at = MAX(COALESCE(last_activity_at, ''), COALESCE(?, ''))
               WHERE id = ?""",
            (ts(when), item_id),
        )
        await tx.notify(DISCUSSION_CHANGED, str(item_id))
        if comment_id is not None:
            await tx.execute(
                "UPDATE comments SET change_seq = (SELECT discussion_version FROM items WHERE id = ?) "
                "WHERE id = ?",
                (item_id, comment_id),
            )

    async def delete_messages(
        self, message_ids: Iterable[int], when: datetime | None = None, *,
        channel_id: int | None = None,
    ) -> int:
        """Tombstone deleted messages and erase their text, quotes and citations.

        A deletion in a followed `channel_id` of a message not stored yet is remembered,
        so that a create event or a history page handled later never stores its text.
        """
        ids = list(message_ids)
        if not ids:
            return 0
        deleted = 0
        async with self.db.transaction() as tx:
            followed = channel_id is not None and await tx.fetchone(
                "SELECT 1 FROM channel_cursors WHERE channel_id = ?", (channel_id,)
            )
            for message_id in ids:
                row = await tx.fetchone(
                    "SELECT id, item_id, deleted_at FROM comments WHERE message_id = ?",
                    (message_id,),
                )
                if row is None and followed:
                    await tx.execute(
                        "INSERT INTO deleted_messages (message_id, channel_id, deleted_at) "
                        "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        (message_id, channel_id, micros(when or utcnow())),
                    )
                if row is None or row["deleted_at"] is not None:
                    continue
                await self._erase_comment_text(tx, row["id"])
                await tx.execute("DELETE FROM quotes WHERE comment_id = ?", (row["id"],))
                await tx.execute("DELETE FROM citations WHERE comment_id = ?", (row["id"],))
                await tx.execute(
                    "UPDATE comments SET deleted_at = ? WHERE id = ?",
                    (micros(when or utcnow()), row["id"]),
                )
                await self._touch_item(tx, row["item_id"], None, row["id"])
                deleted += 1
        return deleted

    @staticmethod
    async def _erase_comment_text(tx: Transaction, comment_id: int) -> None:
        await tx.execute("UPDATE comments SET content = NULL WHERE id = ?", (comment_id,))
        await FeatureStore.forget_in(tx, [comment_id])
        await tx.execute(
            "UPDATE comment_revisions SET content = NULL WHERE comment_id = ?", (comment_id,)
        )
        await tx.execute(
            "UPDATE attachments SET filename = NULL, url = NULL WHERE comment_id = ?", (comment_id,)
        )

    async def set_hidden(self, message_id: int, hidden: bool, reason: str | None) -> Comment | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM comments WHERE message_id = ?", (message_id,))
            if row is None:
                return None
            await tx.execute(
                "UPDATE comments SET hidden = ?, hidden_reason = ? WHERE id = ?",
                (int(hidden), reason if hidden else None, row["id"]),
            )
            if bool(row["hidden"]) != hidden:
                await self._touch_item(tx, row["item_id"], None, row["id"])
            row = await tx.fetchone("SELECT * FROM comments WHERE id = ?", (row["id"],))
        return _comment(row)

    async def comment(self, message_id: int) -> Comment | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT * FROM comments WHERE message_id = ?", (message_id,))
        return _comment(row) if row else None

    async def comments(self, item_id: int, *, include_all: bool = False) -> list[Comment]:
        """An item's comments in time order; by default only the visible ones."""
        where = "c.item_id = ?" + ("" if include_all else f" AND {VISIBLE}")
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                f"SELECT c.* FROM comments c WHERE {where} ORDER BY c.created_at, c.message_id",  # noqa: S608
                (item_id,),
            )
        return await _from_rows(_comment_list, rows)

    async def comments_in_channel(self, channel_id: int) -> list[Comment]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM comments WHERE channel_id = ? ORDER BY message_id", (channel_id,)
            )
        return [_comment(r) for r in rows]

    async def comments_between(self, channel_id: int, after_id: int, through_id: int) -> list[Comment]:
        """Stored, not deleted comments of a channel with `after_id <= message id <= through_id`."""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM comments WHERE channel_id = ? AND message_id BETWEEN ? AND ? "
                "AND deleted_at IS NULL ORDER BY message_id",
                (channel_id, after_id, through_id),
            )
        return [_comment(r) for r in rows]

    # --- what catch-up could not verify ----------------------------------------------------

    async def set_unverified(self, marks: dict[int, int]) -> int:
        """channel -> message id below which stored comments were not re-checked after the
        last downtime. Channels with no such comment are marked verified (NULL).
        Returns how many visible comments are not verified."""
        total = 0
        async with self.db.transaction() as tx:
            for channel_id, before in marks.items():
                row = await tx.fetchone(
                    f"SELECT COUNT(*) FROM comments c WHERE c.channel_id = ? "  # noqa: S608
                    f"AND c.message_id < ? AND {VISIBLE}",
                    (channel_id, before),
                )
                total += row[0]
                await tx.execute(
                    "UPDATE channel_cursors SET unverified_before = ? WHERE channel_id = ?",
                    (before if row[0] else None, channel_id),
                )
        return total

    async def unverified(self, item_id: int) -> tuple[int, int | None]:
        """(how many visible comments of the item were not re-checked after the last
        downtime, the newest message id below which that holds in one of its channels)."""
        async with self.db.reading() as tx:
            cursors = tuple(map(tuple, await tx.fetchall(
                "SELECT channel_id, unverified_before FROM channel_cursors "
                "WHERE unverified_before IS NOT NULL ORDER BY channel_id")))
            row = await self._tally(
                tx, "unverified", item_id, (await self._version(tx, item_id), cursors),
                f"""SELECT COUNT(*), MAX(k.unverified_before) FROM comments c
                    JOIN channel_cursors k ON k.channel_id = c.channel_id
                    WHERE c.item_id = ? AND k.unverified_before IS NOT NULL
                      AND c.message_id < k.unverified_before AND {VISIBLE}""",  # noqa: S608
                (item_id,),
            )
        return row[0], row[1]

    async def revisions(self, comment_id: int) -> list[CommentRevision]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT comment_id, content, edited_at FROM comment_revisions "
                "WHERE comment_id = ? ORDER BY edited_at, id",
                (comment_id,),
            )
        return [
            CommentRevision(comment_id=r[0], content=r[1], edited_at=from_micros(r[2]))
            for r in rows
        ]

    # --- reactions -------------------------------------------------------------------------

    async def set_reaction(self, message_id: int, user_id: int, emoji: str, present: bool) -> bool:
        """Add or remove one reaction; False when the message is not a comment."""
        # One trip (reactions arrive as fast as messages): each step runs only if the one it
        # names found or changed a row.
        change = ((_ADD_REACTION_TO_MESSAGE, (user_id, emoji, message_id)) if present else
                  ("DELETE FROM reactions WHERE comment_id = (SELECT id FROM comments "
                   "WHERE message_id = ?) AND user_id = ? AND emoji = ?",
                   (message_id, user_id, emoji)))
        counts = await self.db.write_batch([
            ("SELECT id FROM comments WHERE message_id = ?", (message_id,)),
            (*change, 0),
            ("UPDATE items SET discussion_version = discussion_version + 1 "
             "WHERE id = (SELECT item_id FROM comments WHERE message_id = ?)", (message_id,), 1),
            ("UPDATE comments SET change_seq = (SELECT discussion_version FROM items "
             "WHERE items.id = comments.item_id) WHERE message_id = ?", (message_id,), 1),
        ])
        if counts[2]:  # the discussion changed: other processes' caches hear of it
            row = await self.db.read_one("SELECT item_id FROM comments WHERE message_id = ?",
                                         (message_id,))
            if row is not None:
                await self.db.notify(DISCUSSION_CHANGED, str(row[0]))
        return bool(counts[0])

    async def clear_reactions(self, message_id: int, emoji: str | None = None) -> int:
        """A moderator removed every reaction of a message, or every one with `emoji`."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, item_id FROM comments WHERE message_id = ?", (message_id,)
            )
            if row is None:
                return 0
            if emoji is None:
                cur = await tx.execute("DELETE FROM reactions WHERE comment_id = ?", (row["id"],))
            else:
                cur = await tx.execute(
                    "DELETE FROM reactions WHERE comment_id = ? AND emoji = ?", (row["id"], emoji)
                )
            if cur.rowcount:
                await self._touch_item(tx, row["item_id"], None, row["id"])
            return cur.rowcount

    async def replace_reactions(self, message_id: int, reactions: Iterable[tuple[int, str]]) -> None:
        """Make the stored reactions of a message equal to what Discord shows (catch-up)."""
        wanted = set(reactions)
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, item_id FROM comments WHERE message_id = ?", (message_id,)
            )
            if row is None:
                return
            have = {
                (r[0], r[1])
                for r in await tx.fetchall(
                    "SELECT user_id, emoji FROM reactions WHERE comment_id = ?", (row["id"],)
                )
            }
            if have == wanted:
                return
            # Only the difference: reactions still there keep their order (a participant's
            # latest reaction is their vote), the new ones are the latest.
            await tx.executemany(
                "DELETE FROM reactions WHERE comment_id = ? AND user_id = ? AND emoji = ?",
                [(row["id"], u, e) for u, e in sorted(have - wanted)],
            )
            await tx.executemany(
                _ADD_REACTION, [(row["id"], u, e, row["id"]) for u, e in sorted(wanted - have)])
            await self._touch_item(tx, row["item_id"], None, row["id"])

    async def add_reactions(self, reactions: Sequence[tuple[int, int, str]]) -> int:
        """Store many reactions, (message id, user id, emoji), in one transaction: the bulk
        path (imports, bench/scale.py). Reactions already stored and messages that are not
        comments are skipped. Each item's discussion version moves once, and the comments
        reacted to are marked changed at it. Returns how many reactions were new."""
        wanted = list(dict.fromkeys(reactions))
        if not wanted:
            return 0
        async with self.db.transaction() as tx:
            where: dict[int, tuple[int, int]] = {}  # message id -> (comment id, item id)
            ids = list({m for m, _, _ in wanted})
            for start in range(0, len(ids), 400):
                chunk = ids[start:start + 400]
                rows = await tx.fetchall(
                    f"SELECT message_id, id, item_id FROM comments "  # noqa: S608 - marks only
                    f"WHERE message_id IN ({','.join('?' * len(chunk))})", chunk)
                where.update({r[0]: (r[1], r[2]) for r in rows})
            items = sorted({where[m][1] for m, _, _ in wanted if m in where})
            version: dict[int, int] = {}
            for item_id in items:
                row = await tx.fetchone(
                    "SELECT discussion_version + 1 FROM items WHERE id = ?", (item_id,))
                version[item_id] = row[0]
            added = await tx.executemany(
                "INSERT INTO reactions (comment_id, user_id, emoji, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(where[m][0], u, e, version[where[m][1]]) for m, u, e in wanted if m in where])
            if not added:
                return 0
            for item_id in items:
                await tx.execute(
                    "UPDATE items SET discussion_version = ? WHERE id = ?",
                    (version[item_id], item_id))
            touched = sorted({(where[m][1], where[m][0]) for m, _, _ in wanted if m in where})
            await tx.executemany(
                "UPDATE comments SET change_seq = ? WHERE id = ?",
                [(version[item_id], comment_id) for item_id, comment_id in touched])
        return added

    async def summary_rows(
        self, item_id: int, agree: Iterable[str], disagree: Iterable[str],
        passes: Iterable[str] = (), *, since: int = 0, after: int = -1, limit: int = -1,
    ) -> tuple[int, list[tuple], list[tuple[int, int, int]]]:
        """Comments changed after discussion version `since` (all of them with 0), as plain
        tuples for summaries of 100k comments, the version they are current at, and the
        per-person votes on them.

        Rows: (comment id, author, text, created_at in microseconds since the epoch (see
        `bot.storage.common.from_micros`), channel, message, visible); invisible
        rows are comments deleted, erased or hidden since, for the caller to drop.
        Votes: (comment id, voter, +1 agree / -1 disagree / 0 pass), one per reaction in the
        order the reactions were recorded (so a voter's last one is their latest vote), the
        author's reactions on their own comment left out. Read in one snapshot.

        ``after``/``limit``: a page of at most ``limit`` rows with comment ids above
        ``after``, in id order (a million rows at once would be a lot of memory)."""
        agree, disagree, passes = list(agree), list(disagree), list(passes)
        marks = ",".join("?" * (len(agree) + len(disagree) + len(passes))) or "NULL"
        a_marks = ",".join("?" * len(agree)) or "NULL"
        d_marks = ",".join("?" * len(disagree)) or "NULL"
        async with self.db.reading() as tx:
            version = await tx.fetchone(
                "SELECT discussion_version FROM items WHERE id = ?", (item_id,)
            )
            # a page is walked by comment id (``+c.item_id``: not through the item's index,
            # which would sort every comment of the item again for each page)
            item_is = "+c.item_id = ?" if limit >= 0 else "c.item_id = ?"
            page = " ORDER BY c.id LIMIT ?" if limit >= 0 else ""
            rows = await tx.fetchtuples(
                f"""SELECT c.id, c.author_id, c.content, c.created_at, c.channel_id, c.message_id,
                      {VISIBLE} FROM comments c
                    WHERE {item_is} AND c.change_seq > ? AND c.id > ?{page}""",  # noqa: S608
                (item_id, since, after, *([limit] if limit >= 0 else [])),
            )
            upto = rows[-1][0] if limit >= 0 and rows else 2**62
            # the page's comments, then each one's reactions (CROSS JOIN keeps that order in
            # SQLite): reactions first would look up the comment of every reaction in the id
            # range, most of them another topic's in a small topic (3.0 -> 2.1 s at 1M)
            votes = await tx.fetchtuples(
                f"""SELECT x.comment_id, x.user_id,
                      CASE WHEN x.emoji IN ({a_marks}) THEN 1
                           WHEN x.emoji IN ({d_marks}) THEN -1 ELSE 0 END
                    FROM comments y CROSS JOIN reactions x
                    WHERE x.comment_id = y.id
                      AND {item_is.replace("c.", "y.")} AND y.change_seq > ?
                      AND x.user_id != y.author_id AND y.id > ? AND y.id <= ?
                      AND x.emoji IN ({marks}) AND {VISIBLE.replace("c.", "y.")}
                    ORDER BY y.id, x.seq""",  # noqa: S608 - placeholders only
                (*agree, *disagree, item_id, since, after, upto, *agree, *disagree, *passes),
            ) if rows or limit < 0 else []
        # the rows as read (sequences): converting a million of them here would stall the loop
        return (version[0] if version else 0), rows, votes

    async def reaction_counts(
        self, item_id: int, agree: Iterable[str], disagree: Iterable[str],
        passes: Iterable[str] = (),
    ) -> dict[int, tuple[int, int]]:
        """comment_id -> (agree, disagree): people whose latest vote reaction (of these
        emoji) is on that side, the author excluded (the same rule as summaries)."""
        agree, disagree, passes = list(agree), list(disagree), list(passes)
        if not agree and not disagree:
            return {}
        marks = ",".join("?" * (len(agree) + len(disagree) + len(passes)))
        a_marks = ",".join("?" * len(agree)) or "NULL"
        d_marks = ",".join("?" * len(disagree)) or "NULL"
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                f"""SELECT r.comment_id, r.user_id,
                      CASE WHEN r.emoji IN ({a_marks}) THEN 1
                           WHEN r.emoji IN ({d_marks}) THEN -1 ELSE 0 END
                    FROM reactions r JOIN comments c ON c.id = r.comment_id
                    WHERE c.item_id = ? AND r.user_id != c.author_id AND r.emoji IN ({marks})
                    ORDER BY r.comment_id, r.seq""",  # noqa: S608 - placeholders only
                (*agree, *disagree, item_id, *agree, *disagree, *passes),
            )
        return await _from_rows(_tally, rows)

    # --- quotes ----------------------------------------------------------------------------

    async def quotes(self, item_id: int, *, visible_only: bool = True) -> list[Quote]:
        where = "q.item_id = ?" + (f" AND {VISIBLE}" if visible_only else "")
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                f"{_QUOTE_SELECT} WHERE {where} ORDER BY q.id", (item_id,)  # noqa: S608
            )
        return [_quote(r) for r in rows]

    async def update_quote_anchors(self, moved: Sequence[tuple[int, QuoteIn]]) -> None:
        """Re-anchor quotes to a new article revision, all in one transaction."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                """UPDATE quotes SET revision_id = ?, exact = ?, prefix = ?, suffix = ?, start = ?,
                     "end" = ?, state = ?, score = ? WHERE id = ?""",
                [(q.revision_id, q.exact, q.prefix, q.suffix, q.start, q.end, q.state, q.score,
                  quote_id) for quote_id, q in moved],
            )

    # --- citations -------------------------------------------------------------------------

    async def add_citation(
        self, item_id: int, citation: CitationIn, *, message_id: int, citer_id: int,
        comment_id: int | None, when: datetime | None = None,
    ) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                """INSERT INTO citations (item_id, normalized_url, url, title, note,
                     comment_id, message_id, citer_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                (item_id, citation.normalized_url, citation.url, citation.title, citation.note,
                 comment_id, message_id, citer_id, ts(when or utcnow())),
            )
            if cur.rowcount:
                await self._touch_item(tx, item_id, when)
            return bool(cur.rowcount)

    async def set_link_title(self, message_id: int, normalized_url: str, title: str) -> None:
        """Discord's link preview arrived: it names the source."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE citations SET title = ? WHERE message_id = ? AND normalized_url = ?",
                (title, message_id, normalized_url),
            )

    async def citations(self, item_id: int | None = None, *, visible_only: bool = True) -> list[Citation]:
        clauses, params = [], []
        if item_id is not None:
            clauses.append("ci.item_id = ?")
            params.append(item_id)
        if visible_only:
            clauses.append(
                "(ci.comment_id IS NULL OR (c.deleted_at IS NULL AND c.erased_at IS NULL AND c.hidden = 0))"
            )
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(f"{_CITATION_SELECT}{where} ORDER BY ci.id", params)  # noqa: S608
        return [_citation(r) for r in rows]

    async def sources(self, item_id: int | None) -> list[CitedSource]:
        """Sources ranked by how many distinct people cited them (then first cited)."""
        grouped: dict[str, list[Citation]] = {}
        for citation in await self.citations(item_id):
            grouped.setdefault(citation.normalized_url, []).append(citation)
        sources = []
        for url, cites in grouped.items():
            citers = sorted({c.citer_id for c in cites})
            title = next((c.title for c in cites if c.title), None)
            sources.append(
                CitedSource(normalized_url=url, url=cites[0].url, title=title, citers=citers,
                            citations=cites)
            )
        sources.sort(key=lambda s: (-s.citer_count, s.citations[0].id))
        return sources

    # --- counts ----------------------------------------------------------------------------

    @staticmethod
    async def _version(tx: Transaction, item_id: int) -> int | None:
        row = await tx.fetchone("SELECT discussion_version FROM items WHERE id = ?", (item_id,))
        return row[0] if row else None

    def remember_counts(self, item_id: int, version: int, comments: int, participants: int,
                        first_us: int | None, last_us: int | None) -> None:
        """What `counts` would read of the item's visible comments at discussion version
        ``version``, from a caller that holds every one of them as of that version or later
        (the summary inputs after a warm-up): kept, instead of a scan of a big topic. A
        newer state has a newer version, which this does not answer for."""
        self._tallied[("counts", item_id)] = (version, (comments, participants, first_us, last_us))

    async def counts(self, item_id: int) -> ItemCounts:
        async with self.db.reading() as tx:
            row = await self._tally(
                tx, "counts", item_id, await self._version(tx, item_id),
                f"""SELECT COUNT(*), COUNT(DISTINCT c.author_id), MIN(c.created_at), MAX(c.created_at)
                    FROM comments c WHERE c.item_id = ? AND {VISIBLE}""",  # noqa: S608
                (item_id,),
            )
            quotes = await tx.fetchone(
                "SELECT COUNT(*) FROM quotes q JOIN comments c ON c.id = q.comment_id "  # noqa: S608
                f"WHERE q.item_id = ? AND {VISIBLE}",
                (item_id,),
            )
            cites = await tx.fetchone(
                "SELECT COUNT(DISTINCT normalized_url) FROM citations WHERE item_id = ?", (item_id,)
            )
        return ItemCounts(
            comments=row[0], participants=row[1], first_activity=from_micros(row[2]),
            last_activity=from_micros(row[3]), quotes=quotes[0], citations=cites[0],
        )

    async def comment_counts(self, consultation_id: int) -> dict[int, int]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                f"""SELECT c.item_id, COUNT(*) FROM comments c JOIN items i ON i.id = c.item_id
                    WHERE i.consultation_id = ? AND {VISIBLE} GROUP BY c.item_id""",  # noqa: S608
                (consultation_id,),
            )
        return {r[0]: r[1] for r in rows}

    async def reaction_tally(self, message_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """message_id -> {emoji: count} as stored (to compare with what Discord shows)."""
        ids = list(message_ids)
        if not ids:
            return {}
        tally: dict[int, dict[str, int]] = {}
        async with self.db.reading() as tx:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = await tx.fetchall(
                    f"""SELECT c.message_id, r.emoji, COUNT(*) FROM reactions r
                        JOIN comments c ON c.id = r.comment_id
                        WHERE c.message_id IN ({",".join("?" * len(chunk))})
                        GROUP BY c.message_id, r.emoji""",  # noqa: S608 - placeholders only
                    chunk,
                )
                for message_id, emoji, count in rows:
                    tally.setdefault(message_id, {})[emoji] = count
        return tally

    async def consultation_quotes(self, consultation_id: int) -> list[Quote]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                f"""{_QUOTE_SELECT} JOIN items i ON i.id = q.item_id
                    WHERE i.consultation_id = ? AND {VISIBLE} ORDER BY q.id""",  # noqa: S608
                (consultation_id,),
            )
        return [_quote(r) for r in rows]

    # --- catch-up ----------------------------------------------------------------------------

    async def stored_texts(self, channel_id: int, after_id: int, through_id: int, *,
                           newest: int | None = None) -> dict[int, StoredText]:
        """Stored, not deleted comments of a channel with `after_id <= message id <=
        through_id` as plain rows (message id -> text, erased), for catch-up to compare
        with what Discord returns; with `newest`, only that many, the newest ones (what a
        bounded re-check can read). No model per comment: a channel may hold a million."""
        sql = ("SELECT message_id, content, erased_at FROM comments WHERE channel_id = ? "
               "AND message_id BETWEEN ? AND ? AND deleted_at IS NULL ORDER BY message_id DESC")
        params: tuple = (channel_id, after_id, through_id)
        if newest is not None:
            sql += " LIMIT ?"
            params += (newest,)
        async with self.db.reading() as tx:
            rows = await tx.fetchall(sql, params)
        return {r[0]: StoredText(r[0], r[1], r[2]) for r in rows}

    # --- the related-topics map --------------------------------------------------------------

    async def map_rows(self, since: Mapping[int, int], *,
                       held: Collection[int] = ()) -> dict[int, MapRows]:
        """What the map takes from each item's discussion, changed after discussion version
        ``since[item]`` (0: everything), as plain tuples read in one snapshot:

        - the item's discussion version they are current at;
        - comments changed since: (comment id, text, visible), invisible ones being comments
          deleted, erased or hidden since (for the caller to drop);
        - all its visible citations (normalised URL, citer) and quotes (state, passage).

        Items read from 0 are read together (a start's first map), the others one by one
        (after a new comment: a handful of rows). ``held``: items read from 0 whose
        comments the caller holds already (the summaries' inputs): their rows are left
        empty, the rest is read (a million texts are not read, nor kept, twice)."""
        out: dict[int, MapRows] = {}
        cold = [i for i, s in since.items() if not s]
        warm = [(i, s) for i, s in since.items() if s]
        visible_ci = "(ci.comment_id IS NULL OR (" + VISIBLE + "))"
        async with self.db.reading() as tx:
            for start in range(0, len(cold), 500):  # SQLite's bound-parameter limit
                chunk = cold[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                for item_id, version in await tx.fetchall(
                    f"SELECT id, discussion_version FROM items WHERE id IN ({marks})", chunk,  # noqa: S608
                ):
                    out[item_id] = MapRows(version, [], [], [])
                texts = [i for i in chunk if i not in held]
                rows = await tx.fetchall(
                    f"""SELECT c.item_id, c.id, c.content FROM comments c
                        WHERE c.item_id IN ({", ".join("?" * len(texts))}) AND {VISIBLE}
                        ORDER BY c.item_id, c.id""",  # noqa: S608
                    texts,
                ) if texts else []
                await asyncio.to_thread(_group_map_rows, rows, out)  # a million: off the loop
                await self._map_links(tx, chunk, out, visible_ci)
            for item_id, seq in warm:
                row = await tx.fetchone(
                    "SELECT discussion_version FROM items WHERE id = ?", (item_id,))
                if row is None:
                    continue
                out[item_id] = MapRows(row[0], [
                    (cid, text or "", bool(visible)) for cid, text, visible in await tx.fetchall(
                        f"""SELECT c.id, c.content, {VISIBLE} FROM comments c
                            WHERE c.item_id = ? AND c.change_seq > ? ORDER BY c.id""",  # noqa: S608
                        (item_id, seq),
                    )], [], [])
                await self._map_links(tx, [item_id], out, visible_ci)
        return out

    @staticmethod
    async def _map_links(tx: Transaction, item_ids: list[int], out: dict[int, MapRows],
                         visible_ci: str) -> None:
        marks = ", ".join("?" * len(item_ids))
        for item_id, url, citer in await tx.fetchall(
            f"""SELECT ci.item_id, ci.normalized_url, ci.citer_id FROM citations ci
                LEFT JOIN comments c ON c.id = ci.comment_id
                WHERE ci.item_id IN ({marks}) AND {visible_ci} ORDER BY ci.id""",  # noqa: S608
            item_ids,
        ):
            if item_id in out:
                out[item_id].citations.append((url, citer))
        for item_id, state, passage in await tx.fetchall(
            f"""SELECT q.item_id, q.state, q.passage FROM quotes q
                JOIN comments c ON c.id = q.comment_id
                WHERE q.item_id IN ({marks}) AND {VISIBLE} ORDER BY q.id""",  # noqa: S608
            item_ids,
        ):
            if item_id in out:
                out[item_id].quotes.append((state, passage))


def _group_map_rows(rows: Iterable, out: dict[int, MapRows]) -> None:
    for item_id, cid, text in rows:
        if item_id in out:
            out[item_id].rows.append((cid, text or "", True))


class MapRows(NamedTuple):
    """One item's rows for the map (see :meth:`DiscussionStore.map_rows`)."""

    version: int
    rows: list[tuple[int, str, bool]]
    citations: list[tuple[str, int]]
    quotes: list[tuple[str, str | None]]


class StoredText(NamedTuple):
    """A stored comment as catch-up compares it (see :meth:`DiscussionStore.stored_texts`)."""

    message_id: int
    content: str | None
    erased_at: object  # None unless its text was erased
