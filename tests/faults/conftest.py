"""Fault suite: the real bot against the emulator, with failures injected through the
emulator's fault API. Fixtures come from the end-to-end suite."""

from __future__ import annotations

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import consultation_bot, eventually, item_by_key, make_settings, published  # noqa: F401  (fixtures)


async def _identify_at_once(shard_id, *, initial=False) -> None:
    return None


async def restart(emulator, start_client, tmp_path) -> ConsultationBot:
    """A second bot process on the same database (the first was closed)."""
    bot = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    bot.before_identify_hook = _identify_at_once  # discord.py waits 5 s before a re-IDENTIFY
    await start_client(bot, emulator.emu, timeout=30)  # a loaded machine is slow to READY
    bot.get_cog("DiscussionCog").catchup.backoff = 0.05  # retries come quickly in tests
    return bot


async def caught_up(bot, runs: int = 1, timeout: float = 60.0) -> None:
    cog = bot.get_cog("DiscussionCog")

    async def done():
        return cog.catchup.runs >= runs
    await eventually(done, timeout=timeout)


async def stored_texts(bot, item_id: int) -> dict[int, str | None]:
    return {c.message_id: c.content for c in await bot.repo.discussion.comments(item_id, include_all=True)}


__all__ = ["caught_up", "eventually", "item_by_key", "restart", "stored_texts"]
