"""A fresh PostgreSQL database per test, on the server TEST_DATABASE_URL names.

The first call migrates a template database (once per test run); every test then gets its
own copy (CREATE DATABASE … TEMPLATE …, milliseconds) and drops it afterwards, so tests stay
independent and the server is left as it was."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

URL = os.environ.get("TEST_DATABASE_URL", "").strip() or None
SKIP_REASON = ("PostgreSQL tests need a server: set TEST_DATABASE_URL=postgresql://… "
               "(a user that may CREATE DATABASE) or run eval \"$(.ci/pg-start)\"")

_PREFIX = f"cbt_{os.getpid()}"
_TEMPLATE = f"{_PREFIX}_template"
_EMPTY_TEMPLATE = "template0"
_counter = itertools.count(1)
_template_ready = False


def url_for(name: str) -> str:
    """TEST_DATABASE_URL with its database replaced by `name`."""
    assert URL is not None
    return url_for_server(URL, name)


def url_for_server(url: str, name: str) -> str:
    """`url` with its database replaced by `name`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin() -> asyncpg.Connection:
    assert URL is not None
    return await asyncpg.connect(URL)


async def _ensure_template() -> None:
    global _template_ready
    if _template_ready:
        return
    from bot.storage.postgres import PgDatabase

    conn = await _admin()
    try:
        await _drop_leftovers(conn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{_TEMPLATE}" TEMPLATE template0')
    finally:
        await conn.close()
    db = await PgDatabase.open(url_for(_TEMPLATE))
    await db.close()
    _template_ready = True


async def _drop_leftovers(conn: asyncpg.Connection) -> None:
    """Databases of earlier test runs on this machine that were killed before cleaning up."""
    if (urlsplit(URL or "").hostname or "localhost") not in ("localhost", "127.0.0.1", "::1"):
        return
    for (name,) in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'cbt\\_%'"):
        pid = name.split("_")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fresh_database(*, migrated: bool = True) -> str:
    """The URL of a new database: migrated to the latest version, or empty."""
    if migrated:
        await _ensure_template()
    name = f"{_PREFIX}_{next(_counter)}"
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE if migrated else _EMPTY_TEMPLATE}"')
    finally:
        await conn.close()
    return url_for(name)


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _in_thread(make) -> object:
    """Run a coroutine to the end on its own event loop in a thread (callable from sync code,
    even while pytest's loop runs)."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(asyncio.run(make())))
    thread.start()
    thread.join(60)
    return out[0] if out else None


def drop_template() -> None:
    """At the end of the run: the template and every database this run left."""
    if not _template_ready:
        return

    async def drop() -> None:
        conn = await _admin()
        try:
            rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1",
                                    f"{_PREFIX}\\_%")
            for (name,) in rows:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    _in_thread(drop)


#: E2E_BACKEND=postgres runs the end-to-end bots on PostgreSQL (tests/e2e make_settings)
E2E_POSTGRES = os.environ.get("E2E_BACKEND", "").strip().lower() == "postgres"


_by_key: dict[str, str] = {}


def database_for_sync(key: str) -> str:
    """A fresh database for `key` (the same one each time for the same key), from sync code;
    dropped at the end of the run."""
    if key not in _by_key:
        _by_key[key] = _in_thread(fresh_database)  # type: ignore[assignment]
    return _by_key[key]


def database_env(db) -> dict[str, str]:
    """The environment variable that points a `python -m bot` child at `db`."""
    if getattr(db, "backend", "sqlite") == "postgres":
        return {"DATABASE_URL": db.url}
    return {"DATABASE_PATH": str(db.path)}


async def database_bytes(db) -> bytes:
    """Every byte the database keeps on disk for its tables: a SQLite file and its WAL, or on
    PostgreSQL each table's, TOAST table's and index's file after a CHECKPOINT (dead row
    versions included: what someone reading the data folder would find)."""
    if getattr(db, "backend", "sqlite") != "postgres":
        path = Path(db.path)
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    conn = await asyncpg.connect(db.url)
    try:
        await conn.execute("CHECKPOINT")
        paths = await conn.fetch(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 't', 'i') AND n.nspname IN ('public', 'pg_toast') "
            "AND pg_relation_filepath(c.oid) IS NOT NULL")
        blob = bytearray()
        for (path,) in paths:
            size = await conn.fetchval("SELECT (pg_stat_file($1, true)).size", path)
            if size:
                blob += await conn.fetchval("SELECT pg_read_binary_file($1)", path)
        return bytes(blob)
    finally:
        await conn.close()
