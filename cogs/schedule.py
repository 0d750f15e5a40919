"""The consultation's dates as a Discord scheduled event, so members see it in the server's
event list: created when an agenda with ``opens_at``/``closes_at`` is published, updated when
the dates change, cancelled when the agenda no longer gives them."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.core.schedule import event_text, moved_start, start_of_new_event
from bot.runtime.client import ConsultationBot

log = logging.getLogger(__name__)



class ScheduleCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_consultation_published(self, guild_id: int, consultation_id: int) -> None:
        try:
            await self.sync(guild_id, consultation_id)
        except discord.Forbidden:
            log.warning("cannot show the consultation's dates as a scheduled event: the bot "
                        "lacks Create Events (re-invite it with the README's permissions)")
        except discord.HTTPException as exc:
            log.warning("could not update the consultation's scheduled event: %s", exc)

    async def sync(self, guild_id: int, consultation_id: int) -> discord.ScheduledEvent | None:
        repo = self.bot.repo
        guild = self.bot.get_guild(guild_id)
        consultation = await repo.agenda.consultation(consultation_id)
        if guild is None or consultation is None:
            return None
        opens_at, closes_at, event_id = await repo.schedule.dates(consultation_id)
        event = await self._event(guild, event_id)
        now = self.bot.clock()
        if closes_at is None or closes_at <= now:
            if event is not None and closes_at is None:  # the dates were dropped
                await self._cancel(event)
                await repo.schedule.set_event(consultation_id, None)
            return None
        fields: dict = {**event_text(consultation.title, consultation.description),
                        "end_time": closes_at}
        if event is not None and event.status in (discord.EventStatus.scheduled,
                                                  discord.EventStatus.active):
            start = moved_start(opens_at, now, event.start_time,
                                started=event.status is discord.EventStatus.active)
            if start is not None:
                fields["start_time"] = start
            if self._differs(event, fields):
                event = await event.edit(**fields)
            return event
        event = await guild.create_scheduled_event(
            start_time=start_of_new_event(opens_at, now), entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only, **fields)
        await repo.schedule.set_event(consultation_id, event.id)
        return event

    @staticmethod
    def _differs(event: discord.ScheduledEvent, fields: dict) -> bool:
        current = dict(name=event.name, description=event.description, location=event.location,
                       end_time=event.end_time, start_time=event.start_time)
        return any(current[k] != v for k, v in fields.items())

    @staticmethod
    async def _event(guild: discord.Guild, event_id: int | None) -> discord.ScheduledEvent | None:
        if event_id is None:
            return None
        try:
            return await guild.fetch_scheduled_event(event_id)
        except discord.NotFound:
            return None

    @staticmethod
    async def _cancel(event: discord.ScheduledEvent) -> None:
        if event.status is discord.EventStatus.scheduled:
            await event.cancel()
        elif event.status is discord.EventStatus.active:
            await event.delete()  # Discord cannot cancel a started event: remove it


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(ScheduleCog(bot))
