"""The runtime: command sync only when changed, a broken cog does not stop the others,
the token never shows, settings errors are one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from bot.logging_setup import RedactSecrets
from bot.runtime import client as client_module
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import describe_error
from tests.e2e.conftest import ROOT, make_settings


async def test_commands_sync_only_when_they_changed(emulator, start_client, tmp_path):
    emu = emulator.emu
    first = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu)
    await first.close()
    puts = [r for r in emu.requests if r.method == "PUT" and "commands" in r.path]
    assert len(puts) == 1
    second = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(second, emu)
    assert [r for r in emu.requests if r.method == "PUT" and "commands" in r.path] == puts


async def test_a_broken_cog_is_logged_and_the_others_load(emulator, start_client, tmp_path,
                                                         monkeypatch, caplog):
    real = client_module.cog_modules()
    monkeypatch.setattr(client_module, "cog_modules", lambda: ["cogs.does_not_exist", *real])
    bot = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(bot, emulator.emu)
    assert list(bot.failed_cogs) == ["cogs.does_not_exist"]
    assert set(bot.extensions) == set(real)
    assert "cogs.does_not_exist failed to load" in caplog.text


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={"PATH": os.environ["PATH"], **env})


async def test_bad_token_is_refused_without_showing_it(emulator, tmp_path):
    secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.this-is-not-the-right-token-at-all-xyz"
    env = {"DISCORD_TOKEN": secret, "DISCORD_API_BASE": emulator.emu.api_base,
           "DISCORD_GATEWAY_URL": emulator.emu.gateway_url,
           "DATABASE_PATH": str(tmp_path / "t.db"), "LOG_LEVEL": "DEBUG"}
    done = await asyncio.to_thread(run_cli, "run", env=env)
    assert done.returncode == 2
    assert "refused the token" in done.stderr
    assert secret not in done.stderr + done.stdout


@pytest.mark.parametrize("env, says", [
    ({}, "DISCORD_TOKEN is not set"),
    ({"DISCORD_TOKEN": "x", "GUILD_ID": "abc"}, "GUILD_ID is invalid"),
    ({"DISCORD_TOKEN": "x", "DISCORD_API_BASE": "ftp://nope"}, "DISCORD_API_BASE is invalid"),
    ({"DISCORD_TOKEN": "x", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL is invalid"),
    ({"DISCORD_TOKEN": "x", "SHARD_COUNT": "0"}, "SHARD_COUNT is invalid"),
    ({"DISCORD_TOKEN": "x", "SHARD_IDS": "0,1"}, "SHARD_IDS is invalid: needs SHARD_COUNT"),
    ({"DISCORD_TOKEN": "x", "SHARD_COUNT": "2", "SHARD_IDS": "1-2"},
     "SHARD_IDS is invalid: shard 2 does not exist with SHARD_COUNT=2"),
    ({"DISCORD_TOKEN": "x", "SHARD_COUNT": "4", "SHARD_IDS": "0;1"},
     "SHARD_IDS is invalid: '0;1' is not a shard number or range"),
])
def test_settings_errors_are_one_line_and_exit_2(env, says, tmp_path):
    done = run_cli("run", env={"DATABASE_PATH": str(tmp_path / "s.db"), **env})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr


def test_redaction_filter_hides_token_shapes(caplog):
    import logging

    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123"
    log = logging.getLogger("test.redact")
    log.addFilter(RedactSecrets(["my-secret"]))
    log.warning("token %s and my-secret", token)
    assert token not in caplog.text and "my-secret" not in caplog.text
    assert caplog.text.count("[redacted]") == 2


def test_every_error_kind_has_a_friendly_message():
    from discord import app_commands

    from bot.core.errors import BadInput

    assert describe_error(BadInput("fix this")) == "fix this"
    cooldown = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 10), 4.2)
    assert "5 s" in describe_error(cooldown)  # rounded up: never "0 s"
    assert "Manage Threads" in describe_error(app_commands.MissingPermissions(["manage_threads"]))
    assert describe_error(RuntimeError("bug")) is None


async def test_a_database_from_a_newer_version_is_refused_in_one_line(emulator, tmp_path):
    import sqlite3

    from bot.storage.database import latest_version

    db = tmp_path / "newer.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    env = {"DISCORD_TOKEN": emulator.emu.bot_token, "DISCORD_API_BASE": emulator.emu.api_base,
           "DISCORD_GATEWAY_URL": emulator.emu.gateway_url, "DATABASE_PATH": str(db)}
    done = await asyncio.to_thread(run_cli, "run", env=env)
    assert done.returncode == 2
    assert "written by a newer consultation-bot" in done.stderr and "Traceback" not in done.stderr


def test_redaction_hides_interaction_tokens_and_content_in_discord_py_debug_lines():
    import logging

    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OnNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"
    lines = [
        ("POST http://x/api/v10/interactions/123/%s/callback with %s has returned %s",
         (token, '{"type": 5, "data": {"content": "it\\"s my \\"secret\\" view"}}', 204)),
        ("PATCH http://x/api/v10/webhooks/99/%s/messages/@original has received %s",
         (token, {"id": "1", "content": "pat's secret view", "embeds": [
             {"description": 'a "secret" quote', "fields": [{"name": "n", "value": "secret"}]}]})),
        ("WebSocket Event: %s", ({"t": "INTERACTION_CREATE", "d": {"token": token, "data": {
            "options": [{"name": "comment", "value": "my secret"}]}}},)),
    ]
    for content_shown in (False, True):
        redact = RedactSecrets([], log_content=content_shown)
        for msg, args in lines:
            record = logging.LogRecord("discord.http", logging.DEBUG, __file__, 1, msg, args, None)
            redact.filter(record)
            text = record.getMessage()
            assert token not in text and token[:30] not in text
            assert ("secret" in text) == content_shown, text
