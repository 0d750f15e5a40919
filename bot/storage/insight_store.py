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
