"""Shared fixtures: a running Discord emulator with a consultation guild, and a helper that
runs a real discord.py client against it.

Example::

    async def test_something(emulator, start_client):
        bot = commands.Bot(command_prefix="!", intents=discord.Intents.all(),
                           guild_ready_timeout=0.05)
        await start_client(bot, emulator.emu)
        msg = await emulator.emu.send_message(emulator.alice.id, channel.id, "hi")
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from bot.emulator import Emulator, discord_py_targets, restore_discord_py
from bot.emulator.harness import ClientRunner
from bot.emulator.seed import ConsultationWorld, seed_consultation

# Property tests judge correctness, not speed: no per-example deadline (a loaded CI machine
# would make them flaky), and in CI the same examples every run.
hypothesis_settings.register_profile(
    "project", deadline=None, derandomize=bool(os.environ.get("CI")), print_blob=True
)
hypothesis_settings.load_profile("project")

#: the ``emulator`` fixture's type: emu, guild, everyone, bot_role, organisers, moderators,
#: alice (organiser), mo (moderator), pat, sam
EmulatorEnv = ConsultationWorld


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorEnv]:
    """A started emulator with guild "Consultation" (roles Organisers/Moderators; members
    alice, mo, pat, sam). discord.py's class-level URLs are restored afterwards."""
    saved = discord_py_targets()
    emu = Emulator()
    env = seed_consultation(emu)
    await emu.start()
    try:
        yield env
    finally:
        await emu.stop()
        restore_discord_py(saved)
    if emu.internal_errors:
        pytest.fail(f"the emulator failed internally: {emu.internal_errors!r}")


@pytest.fixture
async def start_client() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await start_client(bot, emu)``: point discord.py at ``emu``, start ``bot`` and wait
    for ``on_ready``; the bot is closed cleanly at teardown. Build bots with
    ``guild_ready_timeout=0.05`` so readiness is immediate."""
    runners: list[ClientRunner] = []

    async def _start(bot: Any, emu: Emulator, timeout: float = 5.0) -> Any:
        runner = ClientRunner(bot, emu)
        runners.append(runner)
        return await runner.start(timeout)

    try:
        yield _start
    finally:
        for r in reversed(runners):
            await r.close()


# --- both storage backends ----------------------------------------------------------------------

from pathlib import Path  # noqa: E402

from tests import pg  # noqa: E402

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", autouse=True)
def _postgres_template() -> Any:
    if os.environ.get("CI") and pg.URL is None:
        # CI must run the PostgreSQL tests: .ci/run starts a server and sets this
        pytest.exit("CI: TEST_DATABASE_URL is not set (.ci/run starts PostgreSQL with "
                    ".ci/pg-start)", returncode=1)
    yield
    pg.drop_template()


@pytest.fixture(params=BACKENDS)
async def database_target(request, tmp_path) -> AsyncIterator[Path | str]:
    """Where a test's database is: a SQLite file in tmp_path (``test.db``), or a fresh, migrated
    PostgreSQL database on TEST_DATABASE_URL's server (skipped without one). Every store test
    runs on both through the ``repo`` fixture."""
    if request.param == "sqlite":
        yield tmp_path / "test.db"
        return
    if pg.URL is None:
        pytest.skip(pg.SKIP_REASON)
    url = await pg.fresh_database()
    try:
        yield url
    finally:
        await pg.drop_database(url)


@pytest.fixture
async def repo(database_target) -> AsyncIterator[Any]:
    """A `Repository` on each backend (see ``database_target``)."""
    from bot.storage import Repository

    repository = await Repository.open(database_target)
    try:
        yield repository
    finally:
        await repository.close()


@pytest.fixture
async def sqlite_repo(tmp_path) -> AsyncIterator[Any]:
    """A `Repository` on a SQLite file (``tmp_path / "test.db"``), for tests of the file
    itself (its bytes, its pages, its WAL)."""
    from bot.storage import Repository

    repository = await Repository.open(tmp_path / "test.db")
    try:
        yield repository
    finally:
        await repository.close()

