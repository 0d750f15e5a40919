"""/summary-edit and /summary-publish: organisers curate a topic's summary, then publish it.

Discord cannot offer `/summary` and `/summary edit` together (a command with subcommands
cannot be run by itself), so these are separate commands that sit beside `/summary` in the
command list.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.curation import Curation, apply_curation, form_defaults, parse_form, unapplied
from bot.core.errors import UserError
from bot.core.insight import InsightService
from bot.core.text import truncate
from bot.runtime.checks import cached_place, require_organiser
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import report_error
from bot.runtime.render import BRAND_COLOUR, channel_link, message_link
from bot.storage.models import Item
from cogs.agenda import topic_autocomplete, topic_for

log = logging.getLogger(__name__)

FIELD_MAX = 4000  # Discord's limit for a text input's value
FORM_WAIT = 0.8  # seconds /summary-edit waits for a summary being computed (Discord allows 3)


class SummaryForm(discord.ui.Modal):
    """Headline prose, theme renames and merges, prefilled with the summary as it stands."""

    def __init__(self, cog: CurationCog, item: Item, defaults: dict[str, str],
                 previous: Curation) -> None:
        super().__init__(title=truncate(f"Curate: {item.title}", 45), timeout=900)
        self.cog, self.item, self.previous = cog, item, previous
        self.headline = discord.ui.TextInput(
            label="Headline: 3–6 sentences, one per line", style=discord.TextStyle.paragraph,
            max_length=FIELD_MAX, required=False, default=truncate(defaults["headline"], FIELD_MAX),
            placeholder="Leave as it is to keep the sentences the bot writes from the votes",
        )
        self.renames = discord.ui.TextInput(
            label="Rename themes: Current label => New label", style=discord.TextStyle.paragraph,
            max_length=FIELD_MAX, required=False, default=truncate(defaults["renames"], FIELD_MAX),
            placeholder="Edit the right-hand side of a line to rename that theme",
        )
        self.merges = discord.ui.TextInput(
            label="Merge themes: A + B => New label", style=discord.TextStyle.paragraph,
            max_length=FIELD_MAX, required=False, default=defaults["merges"] or None,
            placeholder="24/7 Network + Contact points => The 24/7 Network",
        )
        for field in (self.headline, self.renames, self.merges):
            self.add_item(field)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.save_form(interaction, self.item, self.previous, str(self.headline.value),
                                 str(self.renames.value), str(self.merges.value))

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error, "summary form")


class CurationCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot

    @property
    def insight(self) -> InsightService:
        cog = self.bot.get_cog("InsightCog")
        if cog is None:  # pragma: no cover - both cogs ship together
            raise UserError("Summaries are not available right now.")
        return cog.insight  # type: ignore[attr-defined]

    # --- /summary-edit ---------------------------------------------------------------------

    @app_commands.command(name="summary-edit",
                          description="Organisers: rename or merge themes, edit the headline")
    @app_commands.describe(topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def summary_edit(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        require_organiser(interaction, self.bot.settings, "curate a summary")
        item = await topic_for(interaction, topic)
        # A modal must be the first answer, within 3 s, and a cold summary of a big
        # discussion takes longer: the form is filled from the last summary computed,
        # waiting for a fresh one (computed in the background) at most FORM_WAIT seconds;
        # with none at all, from the curation alone. The submitted form is checked against
        # the live summary, after deferring.
        last, current = await self.insight.last_summary(item)
        previous = await self.insight.curation(item)
        if not current:
            refresh = self.insight.refresh_later(item)  # ready by the time the form is back
            done, _ = await asyncio.wait({refresh}, timeout=FORM_WAIT)
            if refresh in done and refresh.result() is not None:
                last = refresh.result()
        await interaction.response.send_modal(
            SummaryForm(self, item, form_defaults(last, previous), previous))

    async def save_form(self, interaction: discord.Interaction, item: Item, previous: Curation,
                        headline: str, renames: str, merges: str) -> None:
        require_organiser(interaction, self.bot.settings, "curate a summary")
        await interaction.response.defer(ephemeral=True, thinking=True)
        live = await self.insight.summary(item, curated=False)
        curation = parse_form(live.summary, headline_text=headline, renames_text=renames,
                              merges_text=merges, previous=previous)
        await self.insight.save_curation(item, curation, interaction.user.id)
        curated = apply_curation(live.summary, curation)
        said = []
        if curation.merges:
            said.append(f"{len(curation.merges)} merge{'s' if len(curation.merges) != 1 else ''}")
        if curation.renames:
            said.append(f"{len(curation.renames)} "
                        f"rename{'s' if len(curation.renames) != 1 else ''}")
        said.append("your headline" if curation.headline else "the generated headline")
        labels = ", ".join(f"“{t.label}”" for t in curated.themes[:6]) or "none"
        await interaction.followup.send(
            f"Saved for “{truncate(item.title, 100)}”: {', '.join(said)}. Themes now: "
            f"{truncate(labels, 1200)}. Run /summary to check it, then /summary-publish to post "
            "it in the item's channel.", ephemeral=True)

    # --- /summary-publish ------------------------------------------------------------------

    @app_commands.command(name="summary-publish",
                          description="Organisers: post the curated summary in the item's channel and pin it")
    @app_commands.describe(topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def summary_publish(self, interaction: discord.Interaction,
                              topic: str | None = None) -> None:
        require_organiser(interaction, self.bot.settings, "publish a summary")
        self.bot.cooldowns.check("summary-publish", interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        place = cached_place(self.bot, item)
        if place is None or not item.discord_id:
            raise UserError(f"“{item.title}” has no channel yet: run /agenda publish first. "
                            "Nothing was posted.")
        if place.id != item.discord_id:  # a thread that is not cached
            place = await self.bot.fetch_channel(item.discord_id)
        item = await self.bot.repo.agenda.item(item.id) or item
        version = item.discussion_version
        result = await self.insight.summary(item)
        curation = await self.insight.curation(item)
        missing = unapplied((await self.insight.summary(item, curated=False)).summary, curation)
        data = result.embed
        e = discord.Embed(title=data.title, description=data.description, colour=BRAND_COLOUR,
                          url=channel_link(item.guild_id, item.discord_id))
        for field in data.fields:
            e.add_field(name=field.name, value=field.value, inline=field.inline)
        previous = await self.insight.publication(item)
        number = (previous.number if previous else 0) + 1
        e.set_footer(text=truncate(f"Published by the organisers · revision {number} · "
                                   f"{data.footer}".rstrip(" ·"), 2048))
        try:
            message = await place.send(embed=e)
        except discord.Forbidden:
            raise UserError(f"I cannot post in <#{place.id}>: I need View Channel, Send Messages "
                            "and Embed Links there. Nothing was published.") from None
        pinned = True
        try:
            await message.pin(reason=f"summary revision {number}")
        except discord.Forbidden:
            pinned = False
        except discord.HTTPException as exc:  # e.g. the channel's 50 pins are full
            log.warning("cannot pin the summary in %s: %s", place.id, exc)
            pinned = False
        number = await self.insight.publish(item, result.summary, channel_id=place.id,
                                            message_id=message.id,
                                            organiser_id=interaction.user.id, version=version)
        self.bot.cooldowns.charge("summary-publish", interaction.user.id)  # refusals are free
        link = message_link(item.guild_id, place.id, message.id)
        notes = [] if pinned else [
            "I could not pin it: I need the Pin Messages permission there (or the 50 pins are full)."]
        if missing:
            notes.append("Not applied, as these themes are no longer in the summary: "
                         + ", ".join(f"“{truncate(x, 60)}”" for x in missing[:5])
                         + ". Run /summary-edit to review.")
        await interaction.followup.send(
            f"Published revision {number} of the summary of “{truncate(item.title, 100)}”: "
            f"{link}" + ("".join(f"\n{n}" for n in notes)), ephemeral=True)


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(CurationCog(bot))
