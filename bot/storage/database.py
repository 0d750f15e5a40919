"""One long-lived aiosqlite connection, its pragmas, migrations and transactions.

Every statement goes through `Database`: a single asyncio lock makes sure that
two coroutines never interleave their transactions on the shared connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for each numbered migration, in order."""
    found = []
    for entry in resources.files("bot.storage").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise DatabaseError(f"migrations must be numbered 0001, 0002, … without gaps: {versions}")
    return found


def latest_version() -> int:
    return len(migration_files())


class Transaction:
    """The statements of one transaction; only usable inside `Database.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run `sql` for every row; returns how many rows it changed in all."""
        cursor = await self._conn.executemany(sql, rows)
        return max(cursor.rowcount, 0)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return int(cursor.lastrowid or 0)


class Database:
    """Owns the connection. Open with `await Database.open(path)`, close with `close()`."""

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            for pragma in (
                "PRAGMA journal_mode = WAL",
                "PRAGMA foreign_keys = ON",
                "PRAGMA busy_timeout = 5000",
                "PRAGMA synchronous = NORMAL",
                # Erased text must be gone from the bytes on disk, not just unlinked.
                "PRAGMA secure_delete = ON",
            ):
                await conn.execute(pragma)
            db = cls(path, conn)
            if migrate:
                await db.migrate()
            return db
        except BaseException:
            await conn.close()
            raise

    async def close(self) -> None:
        async with self._lock:
            try:
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await self._conn.close()

    async def user_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0])

    async def migrate(self) -> int:
        """Apply each pending migration in its own transaction; return the new version."""
        files = migration_files()
        async with self._lock:
            current = await self.user_version()
            if current > len(files):
                raise DatabaseError(
                    f"{self.path} was written by a newer consultation-bot (schema version "
                    f"{current}, this version knows {len(files)}): upgrade the bot, or point "
                    "DATABASE_PATH at another file"
                )
            for version, name, sql in files[current:]:
                log.info("applying migration %s", name)
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _split_sql(sql):
                        await self._conn.execute(statement)
                    await self._conn.execute(f"PRAGMA user_version = {int(version)}")
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await self._conn.execute("ROLLBACK")
                    raise
            return max(current, len(files))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction: all or nothing, never interleaved with another."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Transaction]:
        """A consistent read (a deferred transaction) that no writer interleaves with."""
        async with self._lock:
            await self._conn.execute("BEGIN")
            try:
                yield Transaction(self._conn)
            finally:
                await self._conn.execute("COMMIT")

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file and truncate it."""
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def vacuum(self) -> None:
        async with self._lock:
            await self._conn.execute("VACUUM")
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations have no triggers or string ';')."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
