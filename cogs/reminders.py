"""Reminders before an item closes: a notice in its channel, by default 24 h and 1 h before.

Lead times come from the agenda file (``reminders = ["24h", "1h"]``). Each reminder is claimed
in the database before it is posted, and a claimed one is looked for in the channel before it
is posted again, so a restart (even a ``kill -9``) never sends one twice.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands, tasks

from bot.core.reminders import (
    DEFAULT_REMINDER_LEADS,
    REMINDER_MARK,
    due_reminder,
    reminder_footer,
    reminder_text,
)
from bot.runtime.adapters import place_or_none
from bot.runtime.client import ConsultationBot
from bot.runtime.render import BRAND_COLOUR
from bot.storage.models import Item

log = logging.getLogger(__name__)

REMINDER_CHECK_SECONDS = 30


class RemindersCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.send_due_reminders.start()

    async def cog_unload(self) -> None:
        self.send_due_reminders.cancel()

    @tasks.loop(seconds=REMINDER_CHECK_SECONDS)
    async def send_due_reminders(self) -> None:
        try:
            await self._send_due()
        except Exception:  # the loop must survive a bad minute; claimed reminders are retried
            log.exception("sending reminders failed")

    @send_due_reminders.before_loop
    async def _ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _send_due(self) -> None:
        repo = self.bot.repo
        now = self.bot.clock()
        leads_by_item = await repo.outcomes.reminder_leads()
        for item in self.bot.owned_items(await repo.agenda.all_items()):
            if item.closes_at is None or item.locked or item.discord_id is None:
                continue
            if now >= item.closes_at:
                continue  # the closing-date loop locks it; a late reminder would mislead
            leads = leads_by_item.get(item.id, list(DEFAULT_REMINDER_LEADS))
            claimed = await repo.outcomes.reminders_of(item.id, item.closes_at)
            for lead, (state, _) in claimed.items():
                if state == "pending":  # claimed by a process that stopped before posting
                    await self._post(item, lead, look_first=True)
            lead, skipped = due_reminder(item.closes_at, leads, now, set(claimed))
            if lead is not None and await repo.outcomes.claim_reminder(
                    item.id, item.closes_at, lead, skipped):
                await self._post(item, lead, look_first=False)

    async def _post(self, item: Item, lead: int, *, look_first: bool) -> None:
        place = await place_or_none(self.bot, item)
        if place is None:
            return
        footer = reminder_footer(item.id, lead)
        if look_first:
            found = await self._already_posted(place, footer)
            if found is not None:
                await self.bot.repo.outcomes.reminder_sent(item.id, item.closes_at, lead, found)
                return
        e = discord.Embed(description=reminder_text(item.title, item.closes_at), colour=BRAND_COLOUR)
        e.set_footer(text=footer)
        try:
            sent = await place.send(embed=e, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("could not post the closing reminder for %s: %s", item.key, exc)
            return
        await self.bot.repo.outcomes.reminder_sent(item.id, item.closes_at, lead, sent.id)

    async def _already_posted(self, place, footer: str) -> int | None:
        marker = footer[footer.index(REMINDER_MARK):]
        try:
            async for message in place.history(limit=50):
                if message.author.id != self.bot.user.id:
                    continue
                for embed in message.embeds:
                    if embed.footer and embed.footer.text and embed.footer.text.endswith(marker):
                        return message.id
        except discord.HTTPException:
            pass
        return None


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(RemindersCog(bot))
