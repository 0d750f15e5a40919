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
