"""Login, caching and start-up speed of a real discord.py bot against the emulator."""

import time

import discord
import pytest

from bot.emulator import Emulator, discord_py_targets
from bot.emulator.seed import seed_consultation

from .bots import EmuBot


async def test_login_and_cache(emulator, start_client):
    emu = emulator.emu
    chan = emu.create_text_channel(emulator.guild.id, "General Chat")
    bot = await start_client(EmuBot(), emu)
    g = bot.get_guild(emulator.guild.id)
    assert g is not None and g.name == "Consultation"
    assert g.get_channel(chan.id).name == "general-chat"
    assert g.me is not None and g.me.guild_permissions.manage_channels
    assert not g.me.guild_permissions.administrator
    assert g.get_member(emulator.alice.id).name == "alice"
    assert {r.name for r in g.get_member(emulator.mo.id).roles} == {"@everyone", "Moderators"}
    assert discord_py_targets()[0] == emu.api_base
    assert [op for op, _ in emu.gateway.log] == ["IDENTIFY"]
    assert emu.connected
    r = await emu.slash(emulator.alice.id, chan.id, "ping", {"text": "hi", "times": 2})
    assert r.content == "pong hi 2 False"


async def test_route_base_is_restored_after_each_test():
    assert discord_py_targets()[0] == "https://discord.com/api/v10"


async def test_startup_is_fast(start_client):
    t0 = time.perf_counter()
    emu = Emulator()
    seed_consultation(emu)
    await emu.start()
    try:
        await start_client(EmuBot(), emu)
        elapsed = time.perf_counter() - t0
        print(f"emulator + connected bot in {elapsed * 1000:.0f} ms")
        assert elapsed < 1.0
    finally:
        await emu.stop()


async def test_disallowed_privileged_intent_is_refused(start_client):
    emu = Emulator(message_content_intent_allowed=False)
    seed_consultation(emu)
    await emu.start()
    try:
        with pytest.raises(RuntimeError) as e:
            await start_client(EmuBot(), emu)
        assert isinstance(e.value.__cause__, discord.PrivilegedIntentsRequired)
    finally:
        await emu.stop()


async def test_standalone_server_for_another_process():
    import asyncio
    import sys

    import aiohttp

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.emulator", "--port", "0",
        stdout=asyncio.subprocess.PIPE)
    try:
        lines = {}
        for _ in range(4):
            key, value = (await proc.stdout.readline()).decode().strip().split("=", 1)
            lines[key] = value
        async with aiohttp.ClientSession() as s, s.get(
                lines["DISCORD_API_BASE"] + "/users/@me",
                headers={"Authorization": f"Bot {lines['DISCORD_TOKEN']}"}) as resp:
            assert resp.status == 200 and (await resp.json())["bot"] is True
        assert lines["DISCORD_GATEWAY_URL"].startswith("ws://127.0.0.1:")
        assert lines["GUILD_ID"].isdigit()
    finally:
        proc.terminate()
        await proc.wait()
