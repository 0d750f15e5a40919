"""The emulator's own tests: a plain discord.py test bot connected to a fresh emulator."""

from __future__ import annotations

import pytest

from .bots import EmuBot


@pytest.fixture
async def env(emulator, start_client):
    """The seeded emulator with a #general channel and a connected EmuBot
    (``env.bot``; ``env.dchan`` is #general as discord.py sees it)."""
    emu = emulator.emu
    emulator.chan = emu.create_text_channel(emulator.guild.id, "general")
    emulator.bot = await start_client(EmuBot(), emu)
    emulator.dchan = emulator.bot.get_channel(emulator.chan.id)
    return emulator
