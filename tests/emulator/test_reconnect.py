"""Gateway faults: RESUME with replay, INVALID_SESSION, emulator restarts, a bot process."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from .bots import EmuBot


def ops(emu):
    return [op for op, _ in emu.gateway.log]


async def _resume_with_replay(env, break_connection):
    emu, bot = env.emu, env.bot
    emu.hold_gateway()
    await break_connection()
    await emu.wait_disconnected()
    missed = [await emu.send_message(env.pat.id, env.chan.id, f"missed {i}") for i in range(3)]
    emu.release_gateway()
    await emu.wait_for(lambda: bot.seen["resumed"])
    await emu.wait_for(lambda: len(bot.seen["message"]) >= 3)
    assert [m.id for m in bot.seen["message"]] == [m.id for m in missed]
    assert ops(emu) == ["IDENTIFY", "RESUME"]
    seq = emu.gateway.log[1][1]["seq"]
    assert isinstance(seq, int) and seq > 0
    # and the resumed session keeps working
    await emu.send_message(env.pat.id, env.chan.id, "live")
    await emu.wait_for(lambda: len(bot.seen["message"]) >= 4)


async def test_resume_after_close_4000(env):
    await _resume_with_replay(env, lambda: env.emu.close_gateway(4000))


async def test_resume_after_tcp_abort(env):
    await _resume_with_replay(env, env.emu.abort_gateway)


async def test_invalid_session_reidentifies(env):
    emu, bot = env.emu, env.bot
    await emu.invalidate_session(resumable=False)
    await emu.wait_for(lambda: ops(emu).count("IDENTIFY") == 2 and emu.connected)
    await emu.send_message(env.pat.id, env.chan.id, "after")
    await emu.wait_for(lambda: bot.seen["message"])
    assert bot.seen["message"][0].content == "after"
    assert bot.get_guild(env.guild.id) is not None


async def test_resumable_invalid_session_resumes(env):
    emu = env.emu
    await emu.invalidate_session(resumable=True)
    await emu.wait_for(lambda: "RESUME" in ops(emu) and emu.connected)
    assert ops(emu) == ["IDENTIFY", "RESUME"]


async def test_stop_start_keeps_state_and_new_session_does_not_replay(emulator, start_client):
    emu = emulator.emu
    chan = emu.create_text_channel(emulator.guild.id, "general")
    bot = await start_client(EmuBot(), emu)
    first = await bot.get_channel(chan.id).send("before the outage")
    await bot.close()
    await emu.stop()
    assert not emu.running
    # participants keep acting "through Discord" while the bot is down
    missed = await emu.send_message(emulator.alice.id, chan.id, "while you were away")
    await emu.start()
    bot2 = await start_client(EmuBot(), emu)
    assert bot2.seen["message"] == []  # a new session gets READY/GUILD_CREATE only
    history = [m async for m in bot2.get_channel(chan.id).history(after=first)]
    assert [m.id for m in history] == [missed.id]


BOT_SCRIPT = textwrap.dedent("""
    import asyncio, os, sys
    import discord
    from bot.emulator import point_discord_py_at

    point_discord_py_at(os.environ["API"], os.environ["GW"])
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)

    @client.event
    async def on_ready():
        await client.get_channel(int(os.environ["CHAN"])).send("hello from a process")

    client.run(os.environ["TOKEN"], log_handler=None)
""")


async def test_bot_in_another_process_killed(env):
    emu = env.emu
    await env.bot.close()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BOT_SCRIPT,
        env={**os.environ, "API": emu.api_base, "GW": emu.gateway_url,
             "TOKEN": emu.bot_token, "CHAN": str(env.chan.id)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await emu.wait_for(lambda: any(m.content == "hello from a process"
                                       for m in emu.messages_in(env.chan.id)), timeout=20)
        assert emu.connected
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await emu.wait_disconnected()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_emulator_restart_while_bot_runs_resumes_with_replay(env, monkeypatch):
    """The emulator goes away and comes back on the same port: discord.py retries, RESUMEs,
    and gets what happened meanwhile. (Its reconnect backoff, 0–2 s, is shortened here.)"""
    import discord.backoff

    monkeypatch.setattr(discord.backoff.ExponentialBackoff, "delay", lambda self: 0.01)
    emu, bot = env.emu, env.bot
    port = emu.port
    await emu.stop()
    missed = await emu.send_message(env.pat.id, env.chan.id, "during the outage")
    await emu.start()
    assert emu.port == port
    await emu.wait_for(lambda: bot.seen["resumed"], timeout=10)
    await emu.wait_for(lambda: bot.seen["message"])
    assert bot.seen["message"][0].id == missed.id
    assert ops(emu)[0] == "IDENTIFY" and "RESUME" in ops(emu)
