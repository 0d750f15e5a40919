"""A consultation's layout (text channels or one forum) and its forum channel."""

from __future__ import annotations

from bot.storage.common import Store


class ForumStore(Store):
    async def set_layout(self, consultation_id: int, layout: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO consultation_layouts (consultation_id, layout) VALUES (?, ?)
                   ON CONFLICT (consultation_id) DO UPDATE SET layout = excluded.layout""",
                (consultation_id, layout))

    async def layout(self, consultation_id: int) -> str:
        """"channels" (also for a consultation stored before layouts existed) or "forum"."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT layout FROM consultation_layouts WHERE consultation_id = ?",
                (consultation_id,))
        return row["layout"] if row else "channels"

    async def forum_id(self, consultation_id: int) -> int | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT forum_id FROM consultation_layouts WHERE consultation_id = ?",
                (consultation_id,))
        return row["forum_id"] if row else None

    async def set_forum(self, consultation_id: int, forum_id: int | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO consultation_layouts (consultation_id, layout, forum_id)
                   VALUES (?, 'forum', ?) ON CONFLICT (consultation_id) DO UPDATE SET
                     forum_id = excluded.forum_id""",
                (consultation_id, forum_id))

    async def is_forum(self, channel_id: int) -> bool:
        """Whether the channel is a consultation's forum."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT 1 FROM consultation_layouts WHERE forum_id = ?", (channel_id,))
        return row is not None
