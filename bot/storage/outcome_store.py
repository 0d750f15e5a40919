"""Outcomes per item (revisioned), the once-only notices to the people they answer, and the
closing reminders. Intent is written before anything is sent, so a restart never repeats one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.storage.common import Store, parse_ts, ts
from bot.storage.models import Outcome, OutcomeRef, utcnow


def _outcome(row) -> Outcome:
    return Outcome(
        id=row["id"], item_id=row["item_id"], revision=row["revision"], status=row["status"],
        text=row["text"], responds_to=[OutcomeRef(**r) for r in json.loads(row["responds_to"])],
        author_id=row["author_id"], created_at=parse_ts(row["created_at"]),
        message_id=row["message_id"],
    )


_LATEST = """SELECT o.* FROM outcomes o
             WHERE o.revision = (SELECT MAX(revision) FROM outcomes WHERE item_id = o.item_id)"""


class OutcomeStore(Store):
    # --- outcomes ------------------------------------------------------------------------

    async def record(self, item_id: int, *, status: str, text: str,
                     responds_to: Sequence[OutcomeRef], author_id: int) -> tuple[Outcome, int]:
        """A new revision of the item's outcome, and in the same transaction a pending notice
        for every author of the comments it answers who opted in and was never told about this
        item. Returns the outcome and how many notices were queued."""
        refs = json.dumps([r.model_dump() for r in responds_to], ensure_ascii=False)
        comment_ids = sorted({c for r in responds_to for c in r.comment_ids})
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT COALESCE(MAX(revision), 0) + 1 AS n FROM outcomes WHERE item_id = ?",
                (item_id,))
            outcome_id = await tx.insert(
                """INSERT INTO outcomes (item_id, revision, status, text, responds_to, author_id,
                       created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (item_id, row["n"], status, text, refs, author_id, ts(utcnow())))
            queued = 0
            for start in range(0, len(comment_ids), 500):
                chunk = comment_ids[start:start + 500]
                cur = await tx.execute(
                    f"""INSERT INTO outcome_notices (item_id, user_id, outcome_id)
                       SELECT DISTINCT CAST(? AS BIGINT), c.author_id, CAST(? AS BIGINT)
                       FROM comments c
                       JOIN participants p ON p.user_id = c.author_id AND p.notify_outcomes = 1
                       WHERE c.id IN ({",".join("?" * len(chunk))}) AND c.erased_at IS NULL
                         AND c.deleted_at IS NULL AND c.hidden = 0
                       ON CONFLICT DO NOTHING""",  # noqa: S608 - placeholders only
                    (item_id, outcome_id, *chunk))
                queued += max(cur.rowcount, 0)
            saved = await tx.fetchone("SELECT * FROM outcomes WHERE id = ?", (outcome_id,))
        return _outcome(saved), queued

    async def set_message(self, outcome_id: int, message_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE outcomes SET message_id = ? WHERE id = ?",
                             (message_id, outcome_id))

    async def latest(self, item_id: int) -> Outcome | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone(_LATEST + " AND o.item_id = ?", (item_id,))
        return _outcome(row) if row else None

    async def latest_by_item(self, item_ids: Sequence[int] | None = None) -> dict[int, Outcome]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(_LATEST)
        wanted = None if item_ids is None else set(item_ids)
        return {r["item_id"]: _outcome(r) for r in rows if wanted is None or r["item_id"] in wanted}

    async def revisions(self, item_id: int) -> list[Outcome]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM outcomes WHERE item_id = ? ORDER BY revision", (item_id,))
        return [_outcome(r) for r in rows]

    # --- notices -------------------------------------------------------------------------

    async def pending_notices(self, limit: int = 200, *,
                              shards: tuple[int, Sequence[int]] | None = None
                              ) -> list[tuple[int, int, int]]:
        """(item id, user id, outcome id) of notices not yet delivered, oldest first;
        with ``shards=(count, ids)`` only those of guilds on these shards (Discord's
        ``(guild_id >> 22) % count``, written as a division for portability)."""
        where, params = "", []
        if shards is not None:
            count, ids = shards
            marks = ", ".join("?" for _ in ids)
            where = (" AND item_id IN (SELECT i.id FROM items i JOIN consultations c ON "  # noqa: S608
                     f"c.id = i.consultation_id WHERE (c.guild_id / 4194304) % ? IN ({marks}))")
            params = [count, *ids]
        async with self.db.reading() as tx:
            rows = await tx.fetchall(  # (only "?" marks are put into the text)
                "SELECT item_id, user_id, outcome_id FROM outcome_notices WHERE state = "  # noqa: S608
                f"'pending'{where} ORDER BY outcome_id, user_id LIMIT ?", (*params, limit))
        return [(r["item_id"], r["user_id"], r["outcome_id"]) for r in rows]

    async def mark_notices(self, item_id: int, user_ids: Sequence[int], state: str) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                """UPDATE outcome_notices SET state = ?, sent_at = ?
                   WHERE item_id = ? AND user_id = ? AND state = 'pending'""",
                [(state, ts(utcnow()), item_id, u) for u in user_ids])

    async def notices_of(self, item_id: int) -> dict[int, str]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT user_id, state FROM outcome_notices WHERE item_id = ?", (item_id,))
        return {r["user_id"]: r["state"] for r in rows}

    # --- reminders -----------------------------------------------------------------------

    async def reminders_of(self, item_id: int, closes_at: datetime) -> dict[int, tuple[str, int | None]]:
        """lead seconds → (state, message id) of the reminders claimed for this closing date."""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT lead_s, state, message_id FROM reminders WHERE item_id = ? AND closes_at = ?",
                (item_id, ts(closes_at)))
        return {r["lead_s"]: (r["state"], r["message_id"]) for r in rows}

    async def claim_reminder(self, item_id: int, closes_at: datetime, lead_s: int,
                             skipped: Sequence[int] = ()) -> bool:
        """Record the intent to send a reminder (and skip the pointless earlier ones); False when
        it was claimed before, by this process or one that died after claiming it."""
        async with self.db.transaction() as tx:
            for lead in skipped:
                await tx.execute(
                    """INSERT INTO reminders (item_id, closes_at, lead_s, state)
                       VALUES (?, ?, ?, 'skipped') ON CONFLICT DO NOTHING""", (item_id, ts(closes_at), lead))
            cur = await tx.execute(
                """INSERT INTO reminders (item_id, closes_at, lead_s) VALUES (?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                (item_id, ts(closes_at), lead_s))
            return cur.rowcount == 1

    async def reminder_sent(self, item_id: int, closes_at: datetime, lead_s: int,
                            message_id: int | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """UPDATE reminders SET state = 'sent', message_id = ?
                   WHERE item_id = ? AND closes_at = ? AND lead_s = ?""",
                (message_id, item_id, ts(closes_at), lead_s))

    async def set_reminder_leads(self, item_id: int, leads: Sequence[int] | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE items SET reminder_leads = ? WHERE id = ?",
                             (None if leads is None else json.dumps(sorted(set(leads))), item_id))

    async def reminder_leads(self) -> dict[int, list[int]]:
        """Item id → its lead times, for items whose agenda file set them."""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT id, reminder_leads FROM items WHERE reminder_leads IS NOT NULL")
        return {r["id"]: json.loads(r["reminder_leads"]) for r in rows}
