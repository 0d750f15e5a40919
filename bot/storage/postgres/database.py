"""The PostgreSQL backend: the same interface as `bot.storage.database.Database`, on asyncpg.

The stores' SQL runs unchanged: `?` placeholders become `$1, $2, …`, rows are asyncpg
records (``row["col"]``, ``row[0]``, ``row.keys()``, ``tuple(row)`` as with aiosqlite),
``insert()`` returns the new id (``RETURNING id``), and ``execute()`` returns an object with
the ``rowcount`` that the stores read. The schema keeps SQLite's 0/1 flags and ISO-8601 text
times (`bot.storage.common.ts()`), and migration 0001 defines SQLite's two-argument scalar
MAX/MIN, so a statement means the same on both backends.

Writes of one process are serialised under one asyncio lock, as on SQLite, so a store's
read-then-write inside `transaction()` sees no other writer of this process in between;
several processes write concurrently (READ COMMITTED) and rely on the unique constraints
and on `exclusive()` for what must happen once. Reads take a pool connection each, in a
REPEATABLE READ READ ONLY transaction (one consistent snapshot, never waiting for writers).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.storage.database import DatabaseError, WriteFailed
from bot.storage.database import migration_files as numbered_migrations

log = logging.getLogger(__name__)


#: pg_advisory_lock key under which migrations run (two processes starting together
#: migrate once); any fixed 64-bit number that no `exclusive()` name hashes to in practice
_MIGRATION_LOCK = 0x636F6E73756C7401  # "consult" + 1

_FIX = ("check that PostgreSQL is running and DATABASE_URL names a database this user may "
        "write (postgresql://user:password@host:port/database)")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of each PostgreSQL migration, in order."""
    return numbered_migrations("bot.storage.postgres")


def latest_version() -> int:
    return len(migration_files())


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "DATABASE_URL"
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


# --- placeholders ----------------------------------------------------------------------------

_translated: dict[str, str] = {}


def translate(sql: str) -> str:
    """`?` → `$1, $2, …` (a `?` inside a quoted string or identifier is refused: the stores
    have none, and guessing would be wrong)."""
    done = _translated.get(sql)
    if done is not None:
        return done
    out: list[str] = []
    n = 0
    i, end = 0, len(sql)
    while i < end:
        ch = sql[i]
        if ch in ("'", '"'):
            close = sql.find(ch, i + 1)
            if close < 0:
                raise ValueError(f"unterminated quote in SQL: {sql!r}")
            literal = sql[i:close + 1]
            if "?" in literal:
                raise ValueError(f"'?' inside a quoted string or identifier: {sql!r}")
            out.append(literal)
            i = close + 1
        elif sql.startswith("--", i):  # a comment, to the end of its line (dropped)
            newline = sql.find("\n", i)
            i = end if newline < 0 else newline
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            i += 1
        else:
            out.append(ch)
            i += 1
    done = "".join(out)
    if len(_translated) < 4096:
        _translated[sql] = done
    return done


def _params(params: Sequence[Any] | dict[str, Any]) -> Sequence[Any]:
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported by the PostgreSQL backend; use ?")
    return params


_STATUS_COUNT = re.compile(r"(\d+)$")


class Result:
    """What `Transaction.execute()` returns: the rows it changed (as aiosqlite's cursor)."""

    __slots__ = ("lastrowid", "rowcount")

    def __init__(self, status: str) -> None:
        match = _STATUS_COUNT.search(status or "")
        self.rowcount = int(match.group(1)) if match and " " in status else -1
        self.lastrowid = None


# --- faults ----------------------------------------------------------------------------------

# SQLSTATE classes and codes that mean "not now" (the same write may succeed later):
# 08 connection exception, 53 insufficient resources (disk full, out of memory, too many
# connections), 57P01-03 admin/crash shutdown, cannot connect now, 40001/40P01 serialization
# failure/deadlock, 55P03 lock not available, 25006 read-only transaction (a standby), 58030 I/O.
_TRANSIENT_CLASSES = ("08", "53")
_TRANSIENT_CODES = {"57P01", "57P02", "57P03", "40001", "40P01", "55P03", "25006", "58030",
                    "57014"}


def transient(exc: BaseException) -> bool:
    if isinstance(exc, (asyncpg.exceptions.ConnectionDoesNotExistError,
                        asyncpg.exceptions.InterfaceError, ConnectionError, OSError,
                        asyncio.TimeoutError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        code = getattr(exc, "sqlstate", None) or ""
        return code[:2] in _TRANSIENT_CLASSES or code in _TRANSIENT_CODES
    return False


# --- statements ------------------------------------------------------------------------------

class PgTransaction:
    """The statements of one transaction (or of one consistent read)."""

    def __init__(self, conn: asyncpg.Connection, db: PgDatabase) -> None:
        self._conn = conn
        self._db = db
        self._notices: list[tuple[str, str]] = []

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Result:
        return Result(await self._conn.execute(translate(sql), *_params(params)))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run `sql` for every row; returns how many rows it changed in all.

        (asyncpg's executemany does not report counts; a plain INSERT … VALUES changes one row
        per parameter row, and an INSERT … ON CONFLICT DO NOTHING or an UPDATE may change
        fewer: those are counted statement by statement on a prepared statement.)"""
        rows = [tuple(r) for r in rows]
        if not rows:
            return 0
        query = translate(sql)
        plain = _PLAIN_INSERT.match(sql)
        if plain and len(rows) >= _COPY_FROM:
            # a plain INSERT of many rows is a COPY (the fastest bulk path; the same
            # constraints and foreign keys are checked, and a violation aborts it the same way)
            table = plain["table"].strip('"')
            columns = [c.strip().strip('"') for c in plain["columns"].split(",")]
            await self._conn.copy_records_to_table(table, records=rows, columns=columns)
            return len(rows)
        if plain and len(rows) > 1:
            # one statement for the whole batch: INSERT … SELECT * FROM unnest($1::type[], …),
            # each parameter's type as PostgreSQL infers it for the row-at-a-time statement
            types = await self._param_types(query)
            arrays = [list(column) for column in zip(*rows, strict=True)]
            status = await self._conn.execute(_unnest_insert(plain, types), *arrays)
            return max(Result(status).rowcount, 0)
        if plain:
            await self._conn.execute(query, *rows[0])
            return 1
        stmt = await self._conn.prepare(query)
        changed = 0
        for row in rows:
            await stmt.fetch(*row)
            status = stmt.get_statusmsg()
            changed += max(Result(status).rowcount, 0)
        return changed

    async def _param_types(self, query: str) -> list[str]:
        cached = _param_types_cache.get(query)
        if cached is None:
            stmt = await self._conn.prepare(query)
            cached = [f"{t.schema}.{t.name}" if t.schema != "pg_catalog" else t.name
                      for t in stmt.get_parameters()]
            _param_types_cache[query] = cached
        return cached

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await self._conn.fetchrow(translate(sql), *_params(params))

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return await self._conn.fetch(translate(sql), *_params(params))

    async def fetchtuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """`fetchall` for reads of many rows read by position (asyncpg's records are)."""
        return await self.fetchall(sql, params)

    async def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run an INSERT and return the new row's id (0 when nothing was inserted)."""
        value = await self._conn.fetchval(translate(sql).rstrip().rstrip(";") + " RETURNING id",
                                          *_params(params))
        return int(value or 0)

    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell every process subscribed to `channel` (see `PgDatabase.subscribe`), once this
        transaction commits (PostgreSQL NOTIFY is transactional)."""
        await self._conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def copy_records(self, table: str, columns: Sequence[str],
                           records: Iterable[Sequence[Any]]) -> int:
        """Bulk-load rows with COPY (PostgreSQL only; for migrate-db and benchmarks)."""
        records = list(records)
        if records:
            await self._conn.copy_records_to_table(table, records=records, columns=list(columns))
        return len(records)

    @property
    def connection(self) -> asyncpg.Connection:
        return self._conn


#: a plain INSERT INTO t (columns) VALUES (?, ?, …) — only placeholders, no ON CONFLICT
_PLAIN_INSERT = re.compile(
    r"^\s*INSERT\s+INTO\s+(?P<table>[\w\"]+)\s*\((?P<columns>[^)]*)\)\s*"
    r"VALUES\s*\((?P<values>\s*\?(?:\s*,\s*\?)*\s*)\)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)

_param_types_cache: dict[str, list[str]] = {}

#: from this many rows a plain INSERT is sent as COPY (measured in bench/ingest.py: COPY
#: beats one unnest() INSERT from a few dozen rows on)
_COPY_FROM = 32


def _unnest_insert(plain: re.Match[str], types: Sequence[str]) -> str:
    arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=1))
    return (f"INSERT INTO {plain['table']} ({plain['columns']}) "  # noqa: S608 - a store's own SQL
            f"SELECT * FROM unnest({arrays})")


async def _init_connection(conn: asyncpg.Connection) -> None:
    # SUM() of a BIGINT is NUMERIC in PostgreSQL (an INTEGER in SQLite): read NUMERIC as
    # int when it is whole, else float, so the stores see the same Python types.
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", format="text",
        encoder=str, decoder=_numeric,
    )


def _numeric(text: str) -> int | float:
    if "." in text or "e" in text.lower() or text in ("NaN", "Infinity", "-Infinity"):
        return float(text)
    return int(text)


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


class PgDatabase:
    """A pool of asyncpg connections to one PostgreSQL database.

    Open with ``await PgDatabase.open(url)``, close with ``close()``."""

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.url = url
        self.path = redact(url)  # what messages name (never the password)
        self._pool = pool
        self._lock = asyncio.Lock()
        self._closed = False
        self._listener: asyncpg.Connection | None = None
        self._subscribers: dict[str, list[Callable[[str], Awaitable[None] | None]]] = {}

    backend = "postgres"

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, min_size: int = 1,
                   max_size: int = 8) -> PgDatabase:
        """Connect (and migrate) and prove the database can be written: one that cannot be
        reached or written raises `DatabaseError` with one line saying what to fix."""
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                             init=_init_connection, command_timeout=None)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.exceptions.InterfaceError, ValueError) as exc:
            raise DatabaseError(f"cannot connect to DATABASE_URL {redact(url)} "
                                f"({_reason(exc)}): {_FIX}") from None
        db = cls(url, pool)
        try:
            if migrate:
                await db.migrate()
            await db._probe_write()
            return db
        except DatabaseError:
            await pool.close()
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.exceptions.InterfaceError) as exc:
            await pool.close()
            raise DatabaseError(f"cannot write the database {redact(url)} ({_reason(exc)}): "
                                f"{_FIX}") from None
        except BaseException:
            pool.terminate()
            raise

    async def _probe_write(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('opened_at', "
                "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Close every connection; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            try:
                await self._listener.close()
            except Exception:
                log.debug("closing the listener failed", exc_info=True)
        async with self._lock:
            try:
                await asyncio.wait_for(self._pool.close(), 10)
            except (TimeoutError, OSError, asyncpg.exceptions.InterfaceError):
                self._pool.terminate()

    # --- schema ----------------------------------------------------------------------------

    async def user_version(self) -> int:
        """The schema version (the newest migration applied), 0 for an empty database."""
        async with self._pool.acquire() as conn:
            return await _schema_version(conn)

    async def migrate(self) -> int:
        """Apply each pending migration in its own transaction, under an advisory lock (two
        processes starting together migrate once); return the new version."""
        files = migration_files()
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
                current = await _schema_version(conn)
                if current > len(files):
                    raise DatabaseError(
                        f"{self.path} was written by a newer consultation-bot (schema version "
                        f"{current}, this version knows {len(files)}): upgrade the bot, or point "
                        "DATABASE_URL at another database")
                for version, name, sql in files[current:]:
                    log.info("applying PostgreSQL migration %s", name)
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            version, name)
                return max(current, len(files))
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)

    # --- transactions ------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTransaction]:
        """A write transaction: all or nothing, never interleaved with another of this process.

        A write that cannot be done now (connection lost, disk full, server shutting down,
        read-only standby, serialization failure) raises `WriteFailed`; nothing was kept."""
        async with self._lock:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    yield PgTransaction(conn, self)
            except BaseException as exc:
                if transient(exc):
                    raise WriteFailed(_reason(exc)) from exc
                raise

    async def write_batch(self, steps: Sequence[tuple]) -> list[int]:
        """Run `steps` in order as one write transaction (the SQLite backend's one-trip path;
        the same contract). A step is `(statement, parameters)`, or `(statement, parameters,
        after)`: run only if step number `after` counted at least one row. Returns each step's
        count: the rows it changed, or for a statement that returns rows, the rows it found
        (0 when skipped). All or nothing; `WriteFailed` as for `transaction()`."""
        async with self.transaction() as tx:
            conn = tx.connection
            counts: list[int] = []
            for sql, params, *after in steps:
                if after and not counts[after[0]]:
                    counts.append(0)
                    continue
                stmt = await conn.prepare(translate(sql))
                rows = await stmt.fetch(*_params(params))
                if stmt.get_attributes():
                    counts.append(len(rows))
                else:
                    counts.append(max(Result(stmt.get_statusmsg()).rowcount, 0))
            return counts

    async def read_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of one statement (a statement reads one snapshot by itself)."""
        async with self._pool.acquire() as conn:
            return await conn.fetchrow(translate(sql), *_params(params))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PgTransaction]:
        """A consistent read (REPEATABLE READ, READ ONLY): one snapshot of committed data."""
        async with self._pool.acquire() as conn, conn.transaction(
                isolation="repeatable_read", readonly=True):
            yield PgTransaction(conn, self)

    async def checkpoint(self) -> None:
        """Write dirty pages to the data files now (CHECKPOINT needs a superuser or, from
        PostgreSQL 15, pg_checkpoint; without it this does nothing)."""
        async with self._pool.acquire() as conn:
            try:
                await conn.execute("CHECKPOINT")
            except asyncpg.exceptions.InsufficientPrivilegeError:
                log.debug("CHECKPOINT not permitted for this user")

    async def vacuum(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("VACUUM")

    async def scrub(self, tables: Sequence[str]) -> None:
        """Make erased text unreadable in these tables' files: VACUUM FULL rewrites each into
        a new file holding only live rows (a plain VACUUM leaves a removed row's bytes in the
        page's free space, readable until the space is reused), then CHECKPOINT.

        It takes each table's ACCESS EXCLUSIVE lock while it runs (writes wait, seconds for a
        large `comments`). Row versions that an open snapshot may still see are kept."""
        async with self._pool.acquire() as conn:
            for table in tables:
                if not re.fullmatch(r"[a-z_]+", table):
                    raise ValueError(f"not a table name: {table!r}")
                await conn.execute(f"VACUUM FULL {table}")
        await self.checkpoint()

    # --- once across processes -----------------------------------------------------------------

    @asynccontextmanager
    async def exclusive(self, name: str, *, wait: bool = False) -> AsyncIterator[bool]:
        """``async with db.exclusive("close:42") as got:`` — `got` is True in exactly one
        holder at a time across every process sharing this database.

        A PostgreSQL session advisory lock (``pg_try_advisory_lock``, or ``pg_advisory_lock``
        with ``wait=True``) on a connection of its own, held until the block ends and released
        then; a process that dies releases it with its connection (a lease that cannot leak).
        `got` False: someone else holds it now, so do not do the work (or do it later). If the
        connection is lost meanwhile, the lock is lost too: make the guarded work idempotent
        (claim it in the database as well) when doing it twice would matter."""
        key = _lock_key(name)
        conn = await asyncpg.connect(self.url)
        got = False
        try:
            if wait:
                await conn.execute("SELECT pg_advisory_lock($1)", key)
                got = True
            else:
                got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
            yield got
        finally:
            try:
                if got and not conn.is_closed():
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
            finally:
                await conn.close()

    # --- change notices -------------------------------------------------------------------------

    async def notify(self, channel: str, payload: str = "") -> None:
        """NOTIFY `channel` now (outside a transaction); see `PgTransaction.notify`."""
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def subscribe(self, channel: str,
                        callback: Callable[[str], Awaitable[None] | None]) -> None:
        """Call ``callback(payload)`` for each NOTIFY on `channel`, from any process (this one
        included), on one LISTEN connection of this database."""
        if self._listener is None:
            self._listener = await asyncpg.connect(self.url)
        first = channel not in self._subscribers
        self._subscribers.setdefault(channel, []).append(callback)
        if first:
            await self._listener.add_listener(channel, self._deliver)

    def _deliver(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        for callback in list(self._subscribers.get(channel, ())):
            try:
                result = callback(payload)
                if asyncio.iscoroutine(result):
                    asyncio.ensure_future(result)
            except Exception:
                log.exception("a change subscriber failed")


async def _schema_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text
