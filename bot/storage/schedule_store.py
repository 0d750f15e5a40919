"""A consultation's dates and the Discord scheduled event that shows them."""

from __future__ import annotations

from datetime import datetime

from bot.storage.common import Store, parse_ts, ts


class ScheduleStore(Store):
    async def set_dates(self, consultation_id: int, opens_at: datetime | None,
                        closes_at: datetime | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO consultation_events (consultation_id, opens_at, closes_at)
                   VALUES (?, ?, ?) ON CONFLICT (consultation_id) DO UPDATE SET
                     opens_at = excluded.opens_at, closes_at = excluded.closes_at""",
                (consultation_id, ts(opens_at), ts(closes_at)))

    async def dates(self, consultation_id: int) -> tuple[datetime | None, datetime | None, int | None]:
        """(opens at, closes at, scheduled event id)."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT opens_at, closes_at, event_id FROM consultation_events "
                "WHERE consultation_id = ?", (consultation_id,))
        if row is None:
            return None, None, None
        return parse_ts(row["opens_at"]), parse_ts(row["closes_at"]), row["event_id"]

    async def set_event(self, consultation_id: int, event_id: int | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE consultation_events SET event_id = ? WHERE consultation_id = ?",
                (event_id, consultation_id))
