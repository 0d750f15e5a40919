"""Locks and the moderation log."""

from __future__ import annotations

from datetime import datetime

from bot.storage.common import Store, parse_ts, ts
from bot.storage.database import Transaction
from bot.storage.models import Lock, ModerationAction, utcnow


def _lock(row) -> Lock:
    return Lock(
        target_id=row["target_id"], item_id=row["item_id"], scope=row["scope"],
        reason=row["reason"], locked_by=row["locked_by"], locked_at=parse_ts(row["locked_at"]),
        saved_overwrites=row["saved_overwrites"],
    )


def _action(row) -> ModerationAction:
    data = dict(zip(row.keys(), row, strict=True))
    data["created_at"] = parse_ts(data["created_at"])
    return ModerationAction(**data)


async def log_action(
    tx: Transaction, *, action: str, target_type: str, target_id: int | None,
    moderator_id: int | None, guild_id: int | None, item_id: int | None, reason: str | None,
    when: str | None = None,
) -> int:
    """Append to the moderation log inside the caller's transaction."""
    return await tx.insert(
        """INSERT INTO moderation_actions (guild_id, item_id, moderator_id, action,
             target_type, target_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, item_id, moderator_id, action, target_type, target_id, reason,
         when or ts(utcnow())),
    )


class ModerationStore(Store):
    async def lock(self, target_id: int) -> Lock | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT * FROM locks WHERE target_id = ?", (target_id,))
        return _lock(row) if row else None

    async def locks(self) -> list[Lock]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall("SELECT * FROM locks ORDER BY locked_at")
        return [_lock(r) for r in rows]

    async def add_lock(
        self, *, target_id: int, item_id: int, scope: str, reason: str | None,
        locked_by: int | None, saved_overwrites: str | None, guild_id: int | None,
        when: datetime | None = None,
    ) -> bool:
        """Record a lock and its log entry together; False if it was already locked."""
        when_ts = ts(when or utcnow())
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                """INSERT INTO locks (target_id, item_id, scope, reason, locked_by,
                     locked_at, saved_overwrites) VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                (target_id, item_id, scope, reason, locked_by, when_ts, saved_overwrites),
            )
            if not cur.rowcount:
                return False
            await log_action(tx, action="lock", target_type=scope, target_id=target_id,
                             moderator_id=locked_by, guild_id=guild_id, item_id=item_id,
                             reason=reason, when=when_ts)
        return True

    async def remove_lock(
        self, target_id: int, *, moderator_id: int | None, guild_id: int | None,
        reason: str | None = None,
    ) -> Lock | None:
        """Drop a lock and log the unlock; returns the lock that was removed."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM locks WHERE target_id = ?", (target_id,))
            if row is None:
                return None
            await tx.execute("DELETE FROM locks WHERE target_id = ?", (target_id,))
            await log_action(tx, action="unlock", target_type=row["scope"], target_id=target_id,
                             moderator_id=moderator_id, guild_id=guild_id, item_id=row["item_id"],
                             reason=reason)
        return _lock(row)

    async def log(
        self, *, action: str, target_type: str, target_id: int | None, moderator_id: int | None,
        guild_id: int | None, item_id: int | None = None, reason: str | None = None,
    ) -> int:
        async with self.db.transaction() as tx:
            return await log_action(tx, action=action, target_type=target_type,
                                    target_id=target_id, moderator_id=moderator_id,
                                    guild_id=guild_id, item_id=item_id, reason=reason)

    async def actions(
        self, *, guild_id: int | None = None, item_id: int | None = None,
        limit: int = 10, offset: int = 0,
    ) -> tuple[list[ModerationAction], int]:
        """A page of the log, newest first, and the total number of entries."""
        clauses, params = [], []
        if guild_id is not None:
            clauses.append("guild_id = ?")
            params.append(guild_id)
        if item_id is not None:
            clauses.append("item_id = ?")
            params.append(item_id)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM moderation_actions{where} ORDER BY created_at DESC, id DESC "  # noqa: S608
                "LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            total = await tx.fetchone(
                f"SELECT COUNT(*) FROM moderation_actions{where}", params  # noqa: S608
            )
        return [_action(r) for r in rows], total[0]
