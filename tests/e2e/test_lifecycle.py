"""The bot as a process: it refuses to start on a database it cannot write, it shuts down
cleanly on SIGTERM and SIGINT, and its log never shows a token (nor, by default, what
participants wrote)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys

import pytest

from bot.storage import Database
from tests.e2e.bot_process import BotProcess, bot_env, count_rows
from tests.e2e.conftest import ROOT, finished
from tests.e2e.test_runtime import run_cli

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123"
NOWHERE = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
           "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/gateway"}


def assert_one_line_exit_2(done: subprocess.CompletedProcess, says: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert says in lines[0] and "DATABASE_PATH" in lines[0]
    assert "Traceback" not in done.stderr


def test_a_database_path_inside_a_file_is_refused_at_start(tmp_path):
    (tmp_path / "plain-file").write_text("not a folder")
    done = run_cli("run", env={**NOWHERE, "DATABASE_PATH": str(tmp_path / "plain-file" / "c.db")})
    assert_one_line_exit_2(done, "cannot create the folder")


def test_a_database_path_that_is_a_folder_is_refused_at_start(tmp_path):
    (tmp_path / "db").mkdir()
    done = run_cli("run", env={**NOWHERE, "DATABASE_PATH": str(tmp_path / "db")})
    assert_one_line_exit_2(done, "cannot write the database")


def test_a_file_that_is_not_a_database_is_refused_at_start(tmp_path):
    (tmp_path / "c.db").write_text("hello, this is not SQLite\n" * 100)
    done = run_cli("run", env={**NOWHERE, "DATABASE_PATH": str(tmp_path / "c.db")})
    assert_one_line_exit_2(done, "cannot write the database")


def _can_mount_read_only(folder) -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder} && "
         f"mount -o remount,bind,ro {folder} {folder} && ! touch {folder}/x"],
        capture_output=True, timeout=30)
    return probe.returncode == 0


async def test_a_read_only_database_is_refused_at_start(tmp_path):
    """The database is valid and up to date, but its file system is mounted read-only (root
    ignores file modes, so a read-only bind mount in a private mount namespace)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = await Database.open(folder / "c.db")
    await db.close()
    if not _can_mount_read_only(folder):
        pytest.skip("cannot make a read-only mount here (needs unshare and mount privileges)")
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} {folder} "
              f"&& exec {sys.executable} -m bot run")
    env = {"PATH": "/usr/bin:/bin", **NOWHERE, "DATABASE_PATH": str(folder / "c.db")}
    done = await asyncio.to_thread(subprocess.run, ["unshare", "-m", "sh", "-c", script],
                                   cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert_one_line_exit_2(done, "cannot write the database")


# --- clean shutdown ----------------------------------------------------------------------------

async def publish_and_post(emulator, bot_process_db, n: int, text: str = "comment {i}"):
    """Publish the London agenda through the bot process, then post `n` comments in an item
    channel; returns once the bot has stored them all (read from outside)."""
    emu = emulator.emu
    general = emu.create_text_channel(emulator.guild.id, "general")
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish"),
                   "Published")
    channel_id = count_rows(bot_process_db, "SELECT channel_id FROM places WHERE channel_id "
                            "IS NOT NULL ORDER BY channel_id LIMIT 1")
    for i in range(n):
        await emu.send_message(emulator.pat.id, channel_id, text.format(i=i))

    def stored() -> bool:
        return count_rows(bot_process_db, "SELECT COUNT(*) FROM comments") >= n
    await emu.wait_for(stored, timeout=30, poll=0.05)
    return channel_id


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_shuts_the_bot_down_cleanly(emulator, tmp_path, sig):
    database = tmp_path / "c.db"
    bot = BotProcess(emulator, bot_env(emulator, database), tmp_path / "bot.log")
    await bot.start()
    try:
        await publish_and_post(emulator, database, 40)
        status = await bot.stop(sig)
    finally:
        bot.kill()
    assert status == 0, bot.log()
    assert f"{sig.name} received: shutting down" in bot.log()
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the WAL was not checkpointed"
    assert count_rows(database, "SELECT COUNT(*) FROM comments") == 40
    await emulator.emu.wait_disconnected()


# --- what the log shows ------------------------------------------------------------------------

PHRASE = "my neighbour's cat votes for the ring road"


@pytest.mark.parametrize("log_content", [False, True], ids=["default", "LOG_CONTENT=1"])
async def test_the_debug_log_never_shows_tokens_and_shows_content_only_when_asked(
        emulator, tmp_path, log_content):
    emu = emulator.emu
    database = tmp_path / "c.db"
    env = bot_env(emulator, database, LOG_LEVEL="DEBUG", LOG_CONTENT="1" if log_content else "0")
    bot = BotProcess(emulator, env, tmp_path / "bot.log")
    await bot.start()
    try:
        channel_id = await publish_and_post(emulator, database, 3, text=PHRASE + " ({i})")
        # A deferred command answered through the interaction webhook, and a direct answer.
        general = emu.channel_named(emulator.guild.id, "general")
        await finished(emu, await emu.slash(emulator.pat.id, general.id, "mydata export"))
        await finished(emu, await emu.slash(emulator.pat.id, channel_id, "mydata delete"))
        status = await bot.stop()
    finally:
        bot.kill()
    assert status == 0
    log = bot.log()
    tokens = list(emu.interactions.by_token)
    assert len(tokens) >= 3
    # The log really is at DEBUG and shows the callback and webhook routes...
    assert "/interactions/" in log and "/webhooks/" in log and "[redacted]" in log
    # ...but never a token.
    assert emu.bot_token not in log
    for token in tokens:
        assert token not in log and token[:40] not in log
    if log_content:
        assert PHRASE in log or PHRASE.replace("'", "\\'") in log
    else:
        assert "neighbour" not in log and "ring road" not in log

