"""Cached summaries (keyed by the discussion version they were computed at) and meta values."""

from __future__ import annotations

from bot.storage.common import Store, parse_ts, ts
from bot.storage.models import utcnow


class InsightStore(Store):
    async def cached_summary(self, item_id: int, discussion_version: int) -> str | None:
        """The cached summary if it was computed at this discussion version, else None."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT result FROM summary_cache WHERE item_id = ? AND discussion_version = ?",
                (item_id, discussion_version),
            )
        return row[0] if row else None

    async def last_summary(self, item_id: int) -> tuple[str, int] | None:
        """The item's most recently computed summary (JSON) and the discussion version it was
        computed at, whatever the discussion's version is now; None if none was computed."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT result, discussion_version FROM summary_cache WHERE item_id = ?",
                (item_id,),
            )
        return (row[0], int(row[1])) if row else None

    async def summary_computed_at(self, item_id: int):
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT computed_at, discussion_version FROM summary_cache WHERE item_id = ?",
                (item_id,),
            )
        return (parse_ts(row[0]), row[1]) if row else None

    async def store_summary(self, item_id: int, discussion_version: int, result: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO summary_cache (item_id, discussion_version, computed_at, result)
                   VALUES (?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET
                     discussion_version = excluded.discussion_version,
                     computed_at = excluded.computed_at, result = excluded.result""",
                (item_id, discussion_version, ts(utcnow()), result),
            )

    # --- curation and publications (/summary-edit, /summary-publish) ---------------------

    async def curation(self, item_id: int) -> str | None:
        """The organiser's curation of the item's summary (JSON), if any."""
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT edits FROM summary_curation WHERE item_id = ?",
                                    (item_id,))
        return row[0] if row else None

    async def save_curation(self, item_id: int, edits: str, edited_by: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO summary_curation (item_id, edits, edited_by, edited_at)
                   VALUES (?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET
                     edits = excluded.edits, edited_by = excluded.edited_by,
                     edited_at = excluded.edited_at""",
                (item_id, edits, edited_by, ts(utcnow())),
            )

    async def add_revision(self, item_id: int, discussion_version: int, summary: str, *,
                           channel_id: int | None, message_id: int | None,
                           published_by: int) -> int:
        """Store a publication; returns its number (1, 2, … per item)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM summary_revisions WHERE item_id = ?",
                (item_id,))
            await tx.execute(
                """INSERT INTO summary_revisions (item_id, number, discussion_version, summary,
                     channel_id, message_id, published_by, published_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (item_id, row[0], discussion_version, summary, channel_id, message_id,
                 published_by, ts(utcnow())),
            )
        return row[0]

    async def latest_revision(self, item_id: int) -> dict | None:
        """The item's latest publication: number, discussion_version, summary (JSON; empty
        once a participant quoted in it had their words erased), channel_id, message_id,
        published_by, published_at."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                """SELECT number, discussion_version, summary, channel_id, message_id,
                          published_by, published_at FROM summary_revisions
                   WHERE item_id = ? ORDER BY number DESC LIMIT 1""", (item_id,))
        if row is None:
            return None
        keys = ("number", "discussion_version", "summary", "channel_id", "message_id",
                "published_by", "published_at")
        out = dict(zip(keys, tuple(row), strict=True))
        out["published_at"] = parse_ts(out["published_at"])
        return out

    async def on_erasure(self, callback) -> bool:
        """Call ``callback(payload)`` when any process erases someone, if the database can
        tell (PostgreSQL LISTEN/NOTIFY); False when it cannot (then check erasure_seq)."""
        subscribe = getattr(self.db, "subscribe", None)
        if subscribe is None:
            return False
        from bot.storage.privacy_store import ERASURE_CHANNEL

        await subscribe(ERASURE_CHANNEL, callback)
        return True

    async def erasure_seq(self) -> int:
        """How many erasures the database has seen (one primary-key read): a process whose
        in-memory data was derived at another count must drop it."""
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT value FROM meta WHERE key = 'erasure_seq'")
        return int(row[0]) if row else 0

    async def get_meta(self, key: str) -> str | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
