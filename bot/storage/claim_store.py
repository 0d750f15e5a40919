"""Claims on work that must run once across the processes sharing the database.

The decisive step is one statement whose row count says who won: an insert of the claim's
row (the primary key admits one), or taking over a lapsed claim with an UPDATE guarded by
its expiry. Portable SQL (SQLite and PostgreSQL); times are passed in as unix seconds.
"""

from __future__ import annotations

from bot.storage.common import Store


class ClaimStore(Store):
    async def claim(self, key: str, owner: str, *, now: int, lease: int) -> bool:
        """True if ``owner`` now holds ``key`` for ``lease`` seconds: nobody held it, its
        holder's lease lapsed (a process that died), or ``owner`` held it already. False if
        another process holds it, or the work was done."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO once_claims (key, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING", (key, owner, now + lease))
            if cur.rowcount == 1:
                return True
            cur = await tx.execute(
                "UPDATE once_claims SET owner = ?, expires_at = ? WHERE key = ? "
                "AND done_at IS NULL AND (expires_at <= ? OR owner = ?)",
                (owner, now + lease, key, now, owner))
            return cur.rowcount == 1

    async def done(self, key: str, owner: str, *, now: int) -> None:
        """The work of ``key`` is finished: nobody claims it again."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE once_claims SET done_at = ? WHERE key = ? AND owner = ?",
                             (now, key, owner))

    async def release(self, key: str, owner: str) -> None:
        """Give an unfinished claim up (the work failed, or is finished but may recur):
        any process may claim it at once."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM once_claims WHERE key = ? AND owner = ? "
                             "AND done_at IS NULL", (key, owner))

    async def holder(self, key: str) -> tuple[str, int, int | None] | None:
        """(owner, expires at, done at) of ``key``'s claim, if any."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT owner, expires_at, done_at FROM once_claims WHERE key = ?", (key,))
        return (row[0], row[1], row[2]) if row else None
