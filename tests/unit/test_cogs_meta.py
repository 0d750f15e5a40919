"""Every cog imports and has `setup`; all cogs load together; no two commands collide."""

from __future__ import annotations

import importlib
from collections import Counter

import discord
import pytest

from bot.runtime.client import ConsultationBot, cog_modules
from bot.settings import Settings
from bot.storage import Repository

EXPECTED_COMMANDS = {
    "agenda", "about", "quote", "cite", "citations", "summary", "map", "export", "lock", "unlock",
    "modlog", "mydata", "profile",
}


@pytest.mark.parametrize("name", cog_modules())
def test_cog_module_has_setup(name):
    module = importlib.import_module(name)
    assert callable(getattr(module, "setup", None)), f"{name} has no setup()"


async def test_all_cogs_load_and_no_command_names_collide(tmp_path):
    bot = ConsultationBot(Settings(database_path=tmp_path / "meta.db"))
    bot.repo = await Repository.open(tmp_path / "meta.db")
    try:
        for name in cog_modules():
            await bot.load_extension(name)  # a collision raises CommandAlreadyRegistered here
        commands = bot.tree.get_commands()
        keys = Counter((c.name, getattr(c, "type", discord.AppCommandType.chat_input)) for c in commands)
        assert [k for k, n in keys.items() if n > 1] == []
        slash = {c.name for c in commands if isinstance(c, discord.app_commands.Command | discord.app_commands.Group)}
        assert EXPECTED_COMMANDS <= slash, f"missing: {EXPECTED_COMMANDS - slash}"
        menus = {c.name for c in bot.tree.get_commands(type=discord.AppCommandType.message)}
        assert {"Hide from consultation", "Unhide"} <= menus
        for cmd in bot.tree.walk_commands():
            assert 1 <= len(cmd.description) <= 100, cmd.qualified_name
    finally:
        for name in list(bot.extensions):
            await bot.unload_extension(name)
        await bot.repo.close()
