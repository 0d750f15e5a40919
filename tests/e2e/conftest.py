"""End-to-end fixtures: the real ConsultationBot, connected to the emulator, on a temp database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.client import ConsultationBot
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LONDON = ROOT / "data" / "agendas" / "london-2011.toml"


def make_settings(tmp_path: Path, env, **overrides) -> Settings:
    values = dict(
        database_path=tmp_path / "consultation.db",
        guild_id=env.guild.id,
        agenda_file=LONDON,
    )
    values.update(overrides)
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
    await finished(emu, result)
    assert result.message.content.startswith("Published"), result.message.content
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


async def finished(emu, result, marker: str = "", timeout: float = 30):
    """Wait until the bot's answer contains `marker` (or, without one, any follow-up or a
    final edit that is not a progress line)."""
    def done() -> bool:
        text = answer_text(result)
        if marker:
            return marker in text
        return bool(result.followups) or (bool(text) and "…" not in text.split("\n")[0])
    await emu.wait_for(done, timeout=timeout)
    return result
