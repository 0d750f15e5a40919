"""One database shared by several bot processes, on SQLite or PostgreSQL.

``shared_backend`` is parametrised: ``sqlite`` (a file in WAL mode, always) and ``postgres``
(TEST_DATABASE_URL, a scratch database on a real server, when the PostgreSQL backend
``bot.storage.postgres`` exists; skipped with the reason otherwise).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import pytest

from bot.storage import Repository


@dataclass
class Backend:
    name: str
    #: what DATABASE_PATH or DATABASE_URL is set to, for bot processes
    env: dict[str, str]
    #: what Repository.open is given
    target: str


def postgres_missing() -> str | None:
    """Why the PostgreSQL param cannot run here, or None."""
    if not os.environ.get("TEST_DATABASE_URL"):
        return "TEST_DATABASE_URL is not set (a PostgreSQL server for tests; see the README)"
    if importlib.util.find_spec("bot.storage.postgres.database") is None:
        return "the PostgreSQL backend (bot/storage/postgres/) is not in this build"
    return None


@pytest.fixture(params=["sqlite", "postgres"])
async def shared_backend(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "shared.db"
        yield Backend("sqlite", {"DATABASE_PATH": str(path)}, str(path))
        return
    reason = postgres_missing()
    if reason:
        pytest.skip(reason)
    url = await _scratch_postgres(os.environ["TEST_DATABASE_URL"])
    try:
        yield Backend("postgres", {"DATABASE_URL": url}, url)
    finally:
        await _drop_postgres(os.environ["TEST_DATABASE_URL"], url)


async def open_shared(backend: Backend) -> Repository:
    return await Repository.open(backend.target)


async def _scratch_postgres(base_url: str) -> str:
    """A fresh database on the test server (dropped afterwards)."""
    import secrets

    import asyncpg

    name = f"shards_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(base_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    head, _, _ = base_url.rpartition("/")
    return f"{head}/{name}"


async def _drop_postgres(base_url: str, url: str) -> None:
    import asyncpg

    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(base_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def query(backend: Backend, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the shared database from outside, as another process would."""
    if backend.name == "sqlite":
        import sqlite3

        conn = sqlite3.connect(f"file:{backend.target}?mode=ro", uri=True)
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()
    import asyncpg

    parts = sql.split("?")
    numbered = parts[0] + "".join(f"${n}{p}" for n, p in enumerate(parts[1:], start=1))
    conn = await asyncpg.connect(backend.target)
    try:
        return [tuple(r) for r in await conn.fetch(numbered, *params)]
    finally:
        await conn.close()
