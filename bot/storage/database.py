"""Two long-lived aiosqlite connections, their pragmas, migrations and transactions.

Every statement goes through `Database`. Writes use the writer connection, under one
asyncio lock so that two coroutines never interleave their transactions. Reads use a
second connection with its own lock: in WAL mode a reader sees the last committed state
and never waits for a writer, so a command's read is not stuck behind ingestion.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


class WriteFailed(Exception):
    """A write could not be done now (disk full, I/O error, read-only, locked); the same
    write may succeed later. Nothing of the transaction was kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# SQLite errors that say "not now" rather than "this statement is wrong".
_TRANSIENT = ("disk i/o error", "database or disk is full", "readonly database",
              "database is locked", "unable to open database file", "disk full")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(
        t in str(exc).lower() for t in _TRANSIENT)


#: opening a file that another process opens at the same moment may meet "locked" at once
OPEN_ATTEMPTS = 6
#: free space a migration left in the file above which it says to run `python -m bot compact`
#: (when that is also a quarter of the file or more)
COMPACT_HINT_BYTES = 10_000_000

_FIX = ("check that DATABASE_PATH names a writable file in a writable folder, on a disk "
        "with free space, or point it at another file")


def migration_files(package: str = "bot.storage") -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for each numbered migration in `package`'s `migrations`
    folder (SQLite's by default; the PostgreSQL backend has its own), in order."""
    found = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
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
        self.notices: list[tuple[str, str]] = []

    async def notify(self, channel: str, payload: str = "") -> None:
        """Notify `channel`'s subscribers once this transaction commits (as NOTIFY does)."""
        self.notices.append((channel, payload))

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run `sql` for every row; returns how many rows it changed in all."""
        cursor = await self._conn.executemany(sql, rows)
        return max(cursor.rowcount, 0)

    # (one trip to the connection's thread each: execute, fetch and close as one call)
    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchtuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        """`fetchall` as plain tuples (read by position), for reads of many rows: a Row
        object a row is a quarter more of the read's time, and memory, at a million rows."""
        def run(conn: sqlite3.Connection) -> list[tuple]:
            cursor = conn.cursor()
            cursor.row_factory = None
            try:
                return cursor.execute(sql, params).fetchall()
            finally:
                cursor.close()

        return await self._conn._execute(run, self._conn._conn)  # noqa: SLF001 (see write_batch)

    async def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return int(cursor.lastrowid or 0)


class Database:
    """Owns the connection. Open with `await Database.open(path)`, close with `close()`."""

    def __init__(self, path: Path, conn: aiosqlite.Connection,
                 reader: aiosqlite.Connection | None = None) -> None:
        self.path = path
        self._conn = conn
        self._lock = asyncio.Lock()
        # An in-memory database cannot be shared by two connections: it reads on the writer.
        self._reader = reader or conn
        self._read_lock = asyncio.Lock() if reader is not None else self._lock
        self._closed = False
        self._exclusive: dict[str, asyncio.Lock] = {}
        self._subscribers: dict[str, list[Callable[[str], Awaitable[None] | None]]] = {}

    backend = "sqlite"

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True) -> Database:
        """Open (and migrate) the database and prove it can be written: a database that
        cannot be written raises `DatabaseError` with one line saying what to fix."""
        path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder of the database {path} "
                                    f"({exc.strerror or exc}): {_FIX}") from None
        for attempt in range(OPEN_ATTEMPTS):
            conns: list[aiosqlite.Connection] = []
            try:
                conn = await _connect(path, conns)
                db = cls(path, conn)
                if migrate:
                    await db.migrate()
                await db._probe_write()
                if not memory:
                    db._reader = await _connect(path, conns, reader=True)
                    db._read_lock = asyncio.Lock()
                return db
            except sqlite3.OperationalError as exc:
                await _close_all(conns)
                # Two processes opening one new file at once (shard processes) were seen
                # to get "locked" despite busy_timeout (SQLite skips its busy handler where
                # waiting could deadlock; which step it was here is not known). Opening is
                # idempotent (each migration re-checks the version under the write lock).
                if "locked" not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                    raise DatabaseError(f"cannot write the database {path} ({exc}): "
                                        f"{_FIX}") from None
                await asyncio.sleep(0.05 * 2 ** attempt)
            except sqlite3.Error as exc:
                await _close_all(conns)
                raise DatabaseError(f"cannot write the database {path} ({exc}): "
                                    f"{_FIX}") from None
            except BaseException:
                await _close_all(conns)
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _probe_write(self) -> None:
        """A real write, so that a read-only file or a full disk shows at start, not later."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('opened_at', datetime('now')) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        await _end_transaction(self._conn, "ROLLBACK")

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Checkpoint the WAL into the database file and close; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not self._conn:
            async with self._read_lock:
                await self._reader.close()
        async with self._lock:
            try:
                # A writer cancelled mid-transaction (a cog unloaded at shutdown) may have
                # left it open: what it did not commit is dropped, as a crash would.
                await self._rollback()
                await self._checkpoint()
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
            if current == len(files):
                return current
            # A migration may rebuild a table (SQLite cannot change a column's type in
            # place): dropping the old table must not cascade to the rows that reference it.
            # So foreign keys are off while migrating (a no-op inside a transaction, hence
            # here) and checked before each migration commits instead.
            await self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                for version, name, sql in files[current:]:
                    await self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        # Another process on the same file (a shard process) may have
                        # applied it since: the write lock is ours now, so this answer holds.
                        if await self.user_version() >= version:
                            await self._conn.execute("COMMIT")
                            continue
                        log.info("applying migration %s", name)
                        for statement in _split_sql(sql):
                            await self._conn.execute(statement)
                        async with self._conn.execute("PRAGMA foreign_key_check") as cursor:
                            broken = await cursor.fetchall()
                        if broken:
                            raise DatabaseError(
                                f"migration {name} would leave {len(broken)} row(s) referring "
                                f"to rows that do not exist (first: {tuple(broken[0])}); "
                                "nothing was changed")
                        await self._conn.execute(f"PRAGMA user_version = {int(version)}")
                        await self._conn.execute("COMMIT")
                    except BaseException:
                        await self._rollback()
                        raise
            finally:
                await self._conn.execute("PRAGMA foreign_keys = ON")
        size, free = await self.space()
        if free >= COMPACT_HINT_BYTES and free * 4 >= size:
            log.warning("%s: %.0f MB of its %.0f MB are free space after the migration; stop "
                        "the bot and run `python -m bot compact` to give it back to the disk",
                        self.path, free / 1e6, size / 1e6)
        return len(files)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction: all or nothing, never interleaved with another.

        A write that cannot be done now (disk full, I/O error, read-only, locked) raises
        `WriteFailed` after rolling back, so the caller can keep the event and retry."""
        async with self._lock:
            try:
                # (inside the try: a task cancelled while BEGIN runs must not leave the
                # connection in a transaction that the next user, or close(), trips over)
                await self._conn.execute("BEGIN IMMEDIATE")
                tx = Transaction(self._conn)
                yield tx
                await self._conn.execute("COMMIT")
            except BaseException as exc:
                await self._rollback()
                if _transient(exc):
                    raise WriteFailed(str(exc)) from exc
                raise
        for channel, payload in tx.notices:
            await self.notify(channel, payload)

    async def write_batch(self, steps: Sequence[tuple]) -> list[int]:
        """Run `steps` in order as one write transaction, in one trip to the writer's thread.

        A step is `(statement, parameters)`, or `(statement, parameters, after)`: run only if
        step number `after` (an earlier one) counted at least one row. Returns each step's
        count: the rows it changed, or for a SELECT the rows it found (0 when skipped). All
        or nothing, never interleaved with another transaction, `WriteFailed` as for
        `transaction()`.

        For the hot paths whose statements need no answer in between (live messages and
        reactions): a trip to the thread costs more than the statements themselves."""
        def run(conn: sqlite3.Connection) -> list[int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts: list[int] = []
                for sql, params, *after in steps:
                    if after and not counts[after[0]]:
                        counts.append(0)
                        continue
                    cursor = conn.execute(sql, params)
                    counts.append(len(cursor.fetchall()) if cursor.description
                                  else cursor.rowcount)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return counts

        async with self._lock:
            try:
                # aiosqlite runs a function on its thread with the connection; its public
                # methods run exactly one statement per trip
                return await self._conn._execute(run, self._conn._conn)  # noqa: SLF001
            except BaseException as exc:
                await self._rollback()  # (a cancelled trip may still be running)
                if _transient(exc):
                    raise WriteFailed(str(exc)) from exc
                raise

    async def read_one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """The first row of one statement, on the reader, in one trip: a single statement
        reads one consistent snapshot by itself (no transaction needed around it)."""
        async with self._read_lock:
            rows = await self._reader.execute_fetchall(sql, params)
        return rows[0] if rows else None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Transaction]:
        """A consistent read (a deferred transaction on the reader connection): it sees the
        last committed state and does not wait for writers."""
        async with self._read_lock:
            try:
                await self._reader.execute("BEGIN")
                yield Transaction(self._reader)
            except BaseException:
                # A read left open would pin its snapshot: later reads would not see new
                # writes, and the WAL could never be checkpointed past it.
                await _end_transaction(self._reader, "COMMIT")
                raise
            else:  # every statement of the read has run: the snapshot is open
                await self._reader.execute("COMMIT")

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file and truncate it."""
        async with self._lock:
            await self._checkpoint()

    async def _checkpoint(self) -> None:
        # The pragma answers with a row: read it and close the cursor, or the statement
        # stays "in progress" on the writer and a later raw COMMIT (write_batch) fails
        # with "cannot commit transaction - SQL statements in progress".
        async with self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
            await cursor.fetchall()

    async def vacuum(self) -> None:
        async with self._lock:
            await self._conn.execute("VACUUM")
            await self._checkpoint()

    async def space(self) -> tuple[int, int]:
        """(bytes of the file, bytes of it that are free pages). SQLite keeps the pages a
        deletion or a table rebuild (migration 0012) freed for its own reuse; only VACUUM
        (`python -m bot compact`) gives them back to the disk."""
        async with self._lock:
            values = []
            for pragma in ("page_size", "page_count", "freelist_count"):
                async with self._conn.execute(f"PRAGMA {pragma}") as cursor:
                    values.append(int((await cursor.fetchone())[0]))
        page, pages, free = values
        return page * pages, page * free

    async def scrub(self, tables: Sequence[str]) -> None:
        """Make erased text unreadable on disk: with secure_delete on, SQLite has already
        zeroed it in the database file; the checkpoint takes it out of the WAL. (`tables`
        matter to the PostgreSQL backend, which rewrites them.)"""
        await self.checkpoint()

    # --- once across processes (the PostgreSQL backend's interface, for one process) -------

    @asynccontextmanager
    async def exclusive(self, name: str, *, wait: bool = False) -> AsyncIterator[bool]:
        """``async with db.exclusive("close:42") as got:`` — `got` is True in exactly one
        holder at a time. One SQLite file has one process, so this is an asyncio lock per
        name; on PostgreSQL the same call is an advisory lock across every process. `got`
        False: someone else holds it now (with ``wait=True``: wait for it instead)."""
        lock = self._exclusive.setdefault(name, asyncio.Lock())
        if not wait and lock.locked():
            yield False
            return
        async with lock:
            yield True

    async def notify(self, channel: str, payload: str = "") -> None:
        """Call this process's subscribers of `channel` (PostgreSQL: NOTIFY every process)."""
        for callback in list(self._subscribers.get(channel, ())):
            try:
                result = callback(payload)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("a change subscriber failed")

    async def subscribe(self, channel: str,
                        callback: Callable[[str], Awaitable[None] | None]) -> None:
        """Call ``callback(payload)`` on each `notify(channel, …)`."""
        self._subscribers.setdefault(channel, []).append(callback)


async def _connect(path: Path, opened: list[aiosqlite.Connection], *,
                   reader: bool = False) -> aiosqlite.Connection:
    conn = aiosqlite.connect(path, isolation_level=None)
    try:
        await conn
    except BaseException:
        # aiosqlite stops its worker thread without waiting; wait here, or the thread
        # reports to an event loop that may be closed by then (a noisy traceback at exit).
        worker = getattr(conn, "_thread", None)
        if worker is not None:
            await asyncio.to_thread(worker.join, 5)
        raise
    opened.append(conn)
    conn.row_factory = aiosqlite.Row
    pragmas = [
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 5000",
        "PRAGMA synchronous = NORMAL",
        # Erased text must be gone from the bytes on disk, not just unlinked.
        "PRAGMA secure_delete = ON",
    ]
    if not reader:
        # after busy_timeout: switching to WAL needs a lock that another process opening
        # the same new file (a shard process migrating it) may hold for a moment
        pragmas.insert(2, "PRAGMA journal_mode = WAL")
    for pragma in pragmas:
        async with conn.execute(pragma) as cursor:  # read to the end: see _checkpoint
            await cursor.fetchall()
    return conn


async def _end_transaction(conn: aiosqlite.Connection, sql: str) -> None:
    """COMMIT or ROLLBACK if a transaction is open, once every statement queued before has
    run: a BEGIN or COMMIT whose task was cancelled still runs in aiosqlite's thread, so
    `in_transaction` is only known after it. (After SQLITE_FULL or an I/O error SQLite may
    already have rolled back by itself.)"""
    async def end() -> None:
        await conn.execute("SELECT 1")
        if conn.in_transaction:
            await conn.execute(sql)

    # Finished even if the task is cancelled meanwhile (the caller still holds the lock).
    ending = asyncio.ensure_future(end())
    try:
        await asyncio.shield(ending)
    except asyncio.CancelledError:
        await ending
        raise


async def _close_all(conns: list[aiosqlite.Connection]) -> None:
    for conn in conns:
        try:
            await conn.close()
        except Exception:  # already broken: nothing more to release
            log.debug("closing a connection failed", exc_info=True)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations have no triggers or string ';')."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
