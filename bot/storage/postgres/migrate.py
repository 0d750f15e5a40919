"""Copy a consultation from a SQLite file into PostgreSQL (`python -m bot migrate-db`).

Every table is copied in one PostgreSQL transaction (all or nothing), parents before children
(foreign keys), ids kept. Rows already there (same primary key or unique key) are left alone,
so running it again copies nothing twice; identity sequences are moved past the copied ids.
Afterwards each table's row count in PostgreSQL is compared with SQLite's, and a digest of
its rows too (a target that held another consultation with the same ids is refused, not
merged into).

Bulk path: COPY (``copy_records_to_table``) into a temporary table, then one
``INSERT … SELECT … ON CONFLICT DO NOTHING`` into the real one; ``method="executemany"`` is
kept for the measurement in bench/migrate_db.py (COPY was 1.4-2.3 times as fast there,
verification included).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import asyncpg

from bot.storage.database import Database, DatabaseError
from bot.storage.postgres.database import PgDatabase, redact

_CHUNK = 20_000

#: SQLite's implicit rowid is a real column only in PostgreSQL's `reactions` (insertion
#: order of reactions with the same seq)
_ROWID_COLUMNS = {"reactions": "rowid"}


class CopyMismatch(DatabaseError):
    """Row counts differ after the copy."""


async def copy_sqlite_to_postgres(
    path: Path | str, url: str, *, method: str = "copy",
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, tuple[int, int]]:
    """Copy every table; return {table: (rows in SQLite, rows newly copied)}. Raises
    `CopyMismatch` when a table's counts differ afterwards (nothing is committed then)."""
    if method not in ("copy", "executemany"):
        raise ValueError("method is copy or executemany")
    path = Path(path)
    if not path.exists():
        raise DatabaseError(f"no SQLite database at {path}: check --from sqlite:PATH")
    lite = await Database.open(path)  # brings an older file to the latest schema first
    await lite.close()
    target = await PgDatabase.open(url)
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = await _tables_in_dependency_order(target)
        lite_tables = {r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        missing = lite_tables - set(tables)
        if missing:
            raise DatabaseError(f"PostgreSQL has no table for {sorted(missing)}: upgrade the bot")
        report: dict[str, tuple[int, int]] = {}
        copied_columns: dict[str, tuple[list[str], list[Callable[[object], object]]]] = {}
        async with target.transaction() as tx:
            conn = tx.connection
            for table in tables:
                if table not in lite_tables:
                    continue
                columns = [r[1] for r in raw.execute(f'PRAGMA table_info("{table}")')]
                copied_columns[table] = (columns, [_caster(t) for t in
                                                   [(await _column_types(conn, table))[c]
                                                    for c in columns]])
                types = await _column_types(conn, table)
                has_rowid = _has_rowid(raw, table)
                extra = _ROWID_COLUMNS.get(table) if has_rowid else None
                select_cols = ", ".join(f'"{c}"' for c in columns)
                if extra and extra in types:
                    select_cols = f"rowid, {select_cols}"
                    columns = [extra, *columns]
                casts = [_caster(types[c]) for c in columns]
                before = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - catalog names
                order = " ORDER BY rowid" if has_rowid else ""  # (parents before children)
                cursor = raw.execute(f'SELECT {select_cols} FROM "{table}"{order}')  # noqa: S608
                while True:
                    chunk = cursor.fetchmany(_CHUNK)
                    if not chunk:
                        break
                    records = [tuple(None if v is None else cast(v) for cast, v in zip(casts, row, strict=True))
                               for row in chunk]
                    await _load(conn, table, columns, records, method)
                after = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - catalog names
                source = raw.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
                report[table] = (source, after - before)
                if progress:
                    progress(table, after - before)
                await _advance_identity(conn, table)
            mismatched = []
            for table, (source, _copied) in report.items():
                have = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - catalog names
                if have != source:
                    mismatched.append(f"{table}: {source} in SQLite, {have} in PostgreSQL")
                elif table != "meta" and (await _pg_digest(conn, table, copied_columns[table])
                                          != _sqlite_digest(raw, table, copied_columns[table])):
                    mismatched.append(f"{table}: {source} rows on both, with other contents")
            if mismatched:
                raise CopyMismatch(
                    f"the copy in {redact(url)} differs from the SQLite file "
                    f"({'; '.join(mismatched)}): the target already held another "
                    "consultation's rows; copy into an empty database")
        return report
    finally:
        raw.close()
        await target.close()


def _has_rowid(raw: sqlite3.Connection, table: str) -> bool:
    """False for a WITHOUT ROWID table."""
    try:
        raw.execute(f'SELECT rowid FROM "{table}" LIMIT 0')  # noqa: S608 - catalog names
    except sqlite3.OperationalError:
        return False
    return True


def _row_hash(row: tuple) -> int:
    return int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=8).digest(), "big")


def _sqlite_digest(raw: sqlite3.Connection, table: str, spec) -> int:
    """An order-independent digest of a table's rows (as PostgreSQL will return them)."""
    columns, casts = spec
    cols = ", ".join(f'"{c}"' for c in columns)
    total = 0
    for row in raw.execute(f'SELECT {cols} FROM "{table}"'):  # noqa: S608
        total += _row_hash(tuple(None if v is None else c(v) for c, v in zip(casts, row, strict=True)))
    return total % (1 << 64)


async def _pg_digest(conn: asyncpg.Connection, table: str, spec) -> int:
    columns, _casts = spec
    cols = ", ".join(f'"{c}"' for c in columns)
    total = 0
    async for row in conn.cursor(f'SELECT {cols} FROM "{table}"', prefetch=5000):  # noqa: S608
        total += _row_hash(tuple(row))
    return total % (1 << 64)


async def _load(conn: asyncpg.Connection, table: str, columns: list[str],
                records: list[tuple], method: str) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    if method == "executemany":
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        await conn.executemany(
            f'INSERT INTO "{table}" ({cols}) OVERRIDING SYSTEM VALUE VALUES ({marks}) '  # noqa: S608
            "ON CONFLICT DO NOTHING", records)
        return
    staging = f"_copy_{table}"
    await conn.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
                       f'(LIKE "{table}" INCLUDING DEFAULTS) ON COMMIT DROP')
    await conn.execute(f'TRUNCATE "{staging}"')
    await conn.copy_records_to_table(staging, records=records, columns=columns)
    await conn.execute(
        f'INSERT INTO "{table}" ({cols}) OVERRIDING SYSTEM VALUE '  # noqa: S608
        f'SELECT {cols} FROM "{staging}" ON CONFLICT DO NOTHING')


async def _tables_in_dependency_order(db: PgDatabase) -> list[str]:
    async with db.reading() as tx:
        names = [r[0] for r in await tx.fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename != 'schema_migrations' ORDER BY tablename")]
        edges = await tx.fetchall(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = 'public'")
    bad = [n for n in names if not re.fullmatch(r"[a-z_][a-z0-9_]*", n)]
    if bad:
        raise DatabaseError(f"unexpected table names in the target: {bad}")
    parents: dict[str, set[str]] = {n: set() for n in names}
    for child, parent in edges:
        if child != parent and child in parents:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, p in parents.items() if not (p - set(ordered)))
        if not ready:
            raise DatabaseError(f"foreign keys form a cycle: {sorted(parents)}")
        ordered.extend(ready)
        for t in ready:
            del parents[t]
    return ordered


async def _column_types(conn: asyncpg.Connection, table: str) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = $1", table)
    return {r[0]: r[1] for r in rows}


def _caster(pg_type: str) -> Callable[[object], object]:
    """SQLite keeps what it was given; asyncpg wants the column's Python type."""
    if pg_type in ("bigint", "integer", "smallint"):
        return int
    if pg_type in ("double precision", "real", "numeric"):
        return float
    if pg_type == "bytea":
        return bytes
    return lambda v: v if isinstance(v, str) else str(v)


async def _advance_identity(conn: asyncpg.Connection, table: str) -> None:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = $1 AND is_identity = 'YES'", table)
    for (column,) in rows:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "  # noqa: S608
            f'GREATEST((SELECT MAX("{column}") FROM "{table}"), 1))')
