"""End-to-end fixtures: the real ConsultationBot, connected to the emulator, on a temp database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.client import ConsultationBot
from bot.settings import Settings
from tests import pg

ROOT = Path(__file__).resolve().parents[2]
LONDON = ROOT / "data" / "agendas" / "london-2011.toml"


def make_settings(tmp_path: Path, env, **overrides) -> Settings:
    values = dict(
        database_path=tmp_path / "consultation.db",
        guild_id=env.guild.id,
        agenda_file=LONDON,
    )
    values.update(overrides)
    if pg.E2E_POSTGRES and pg.URL and "database_url" not in overrides:
        # E2E_BACKEND=postgres: the same bot on a fresh PostgreSQL database
        # (one per test folder: a restarted bot finds the same database)
        values["database_url"] = pg.database_for_sync(str(values["database_path"]))
    return Settings(_env_file=None, **values)


@pytest.fixture
async def consultation_bot(emulator, start_client, tmp_path):
    """A connected ConsultationBot (all cogs) with a fresh database."""
    bot = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(bot, emulator.emu)
    return bot


@pytest.fixture
async def published(emulator, consultation_bot):
    """The London agenda, published by the organiser alice."""
    emu = emulator.emu
    general = emu.create_text_channel(emulator.guild.id, "general")
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish")
    await finished(emu, result, "Published")
    return consultation_bot


def answer_text(result) -> str:
    """Everything the bot answered to an interaction: original response and follow-ups."""
    parts = []
    for message in ([result.message] if result.message else []) + list(result.followups):
        parts.append(message.content or "")
        for embed in message.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(p for p in parts if p)


def answer_files(result) -> dict[str, bytes]:
    """Files the bot attached to its answer (original response and follow-ups)."""
    messages = ([result.message] if result.message else []) + list(result.followups)
    return {name: data for message in messages for name, data in message.files}


async def finished(emu, result, marker: str = "", timeout: float = 30):
    """Wait for the bot's complete answer: with `marker`, until the answer contains it
    (for answers edited in place, like publishing progress); otherwise until a direct
    answer, the edit of a deferred one, or a follow-up has arrived."""
    if marker:
        await emu.wait_for(lambda: marker in answer_text(result), timeout=timeout)
    else:
        await result.wait_done(timeout=timeout)
    return result


async def eventually(check, timeout: float = 10.0, interval: float = 0.02):
    """Await `check()` (an async callable) until it returns something truthy.

    The bot stores what it receives asynchronously; this waits for a stated condition
    and fails with TimeoutError when it does not come, so it never passes by sleeping.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


async def item_by_key(bot, guild_id: int, key: str):
    return next(i for i in await bot.repo.agenda.guild_items(guild_id) if i.key == key)
