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

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.emulator import Emulator, Guild, Member, P, Role, discord_py_targets, restore_discord_py
from bot.emulator.harness import ClientRunner


@dataclass
class EmulatorEnv:
    """The ``emulator`` fixture: ``emu`` plus the seeded guild, roles and members."""

    emu: Emulator
    guild: Guild
    everyone: Role
    bot_role: Role
    organisers: Role
    moderators: Role
    alice: Member  # organiser
    mo: Member  # moderator
    pat: Member  # participant
    sam: Member  # participant


def seed_consultation(emu: Emulator) -> EmulatorEnv:
    """Create the standard test guild on ``emu`` (usable outside pytest too)."""
    guild = emu.create_guild("Consultation")
    organisers = emu.create_role(guild.id, "Organisers", P.MANAGE_GUILD)
    moderators = emu.create_role(guild.id, "Moderators", P.MANAGE_THREADS)
    return EmulatorEnv(
        emu=emu, guild=guild, everyone=guild.everyone_role,
        bot_role=guild.roles[guild.bot_role_id], organisers=organisers, moderators=moderators,
        alice=emu.add_member(guild.id, "alice", roles=[organisers.id]),
        mo=emu.add_member(guild.id, "mo", roles=[moderators.id]),
        pat=emu.add_member(guild.id, "pat"),
        sam=emu.add_member(guild.id, "sam"),
    )


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
