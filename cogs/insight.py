"""/summary, /map and /export: what the consultation said, how topics relate, the report."""

from __future__ import annotations

import asyncio
import logging
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.charts import chart_alt_text
from bot.core.charts import warm_up as warm_up_charts
from bot.core.errors import UserError
from bot.core.insight import InsightService
from bot.core.packaging import package
from bot.core.report import ReportBuilder
from bot.core.text import truncate
from bot.core.topic_map import render_png, render_text
from bot.core.topics import only_topics
from bot.runtime.catchup import settled_note
from bot.runtime.checks import can_read, require_organiser
from bot.runtime.client import ConsultationBot
from bot.runtime.render import (
    BRAND_COLOUR,
    bytes_file,
    channel_link,
    member_names,
    text_file,
    ts_tag,
)
from bot.storage.models import Item
from cogs.agenda import topic_autocomplete, topic_for

log = logging.getLogger(__name__)

#: seconds /about waits for a topic map that is built from the start (after a restart or an
#: erasure); an up-to-date or incrementally updated one takes milliseconds
RELATED_WAIT = 2.0
DEFAULT_FILE_LIMIT = 10 * 1024 * 1024  # discord.py's default when Discord sends no limit

FORMATS = [
    app_commands.Choice(name="everything (reports + CSV + JSON)", value="all"),
    app_commands.Choice(name="report (Markdown)", value="md"),
    app_commands.Choice(name="report as a web page with the map and charts (HTML)", value="html"),
    app_commands.Choice(name="data as CSV", value="csv"),
    app_commands.Choice(name="data as JSON", value="json"),
]


class InsightCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.insight = InsightService(bot.repo, bot.settings.agree_emojis, bot.settings.disagree_emojis,
                                      bot.settings.pass_emojis)
        self.reports = ReportBuilder(bot.repo, self.insight)

    async def cog_load(self) -> None:
        # The drawing code's first import holds the GIL for a while: started now, as the
        # bot connects, rather than during the warm-up after catch-up (not awaited: the
        # bot must not be slower to come online)
        self._charts_ready = asyncio.get_running_loop().run_in_executor(None, warm_up_charts)

    async def cog_unload(self) -> None:
        await self.insight.close()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A new comment's features are computed and stored shortly after it is recorded
        (in a batch, off the loop), so that a restart does not tokenise it again."""
        if message.guild is not None and not message.author.bot:
            self.insight.nudge_features()

    @commands.Cog.listener()
    async def on_catchup_done(self) -> None:
        """After a (re)connect's catch-up: prepare every topic's summary features, and the
        related-topics maps /about and /map serve from; then, in the background, run the
        summary engine once on the biggest topics (InsightService.prime)."""
        start = time.perf_counter()
        every = await self.bot.repo.agenda.all_items()
        items = self.bot.owned_items(every)
        await self.insight.warm(items, every_item=len(items) == len(every))
        await self.insight.warm_maps(sorted({i.consultation_id for i in items}))
        # benches wait for this line (bench/scale.py): the bot is warm from here on
        log.info("warm-up done in %.2f s (%d topics)", time.perf_counter() - start, len(items))
        self.insight.prime_later(items)  # its own log line when done

    @commands.Cog.listener()
    async def on_participant_erased(self, user_id: int) -> None:
        await self.insight.drop_derived_data(user_id)

    # --- /summary --------------------------------------------------------------------------

    @app_commands.command(name="summary", description="A summary of a topic's discussion, with links")
    @app_commands.describe(topic="An agenda item (default: this channel's)",
                           share="Post it in the channel for everyone (default: only you see it)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def summary(self, interaction: discord.Interaction, topic: str | None = None,
                      share: bool = False) -> None:
        self.bot.cooldowns.check("summary", interaction.user.id)
        # Defer before any read (a read can wait). Privately: a refusal must stay private;
        # a shared summary is posted for everyone once it is ready (see `answer_publicly`).
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        note = await settled_note(self.bot)  # a catch-up after a reconnect may still be running
        result = await self.insight.summary(item)
        data = result.embed
        e = discord.Embed(title=data.title, description=data.description, colour=BRAND_COLOUR,
                          url=channel_link(item.guild_id, item.discord_id) if item.discord_id else None)
        for field in data.fields:
            e.add_field(name=field.name, value=field.value, inline=field.inline)
        if data.footer:
            e.set_footer(text=data.footer)
        freshness = (f"unchanged since {ts_tag(result.computed_at, 'R')}" if result.from_cache
                     else "computed now")
        published = await self.insight.publication(item)
        if published is not None:
            freshness += (f"; organisers published revision {published.number}"
                          + (", and the discussion has changed since" if published.stale else ""))
        files = [text_file(f"summary-{item.key}.md", result.markdown)]
        # the overview is drawn for the embed's image box; the full chart (by opinion group,
        # with activity) is attached beside the report, opened at full size with a click
        overview = await self.insight.summary_chart(item, result, overview=True)
        if overview is not None:
            name = f"summary-{item.key}-overview.png"
            files.append(bytes_file(name, overview, description=chart_alt_text(
                item.title, result.summary, overview=True)))
            e.set_image(url=f"attachment://{name}")
        chart = await self.insight.summary_chart(item, result)
        if chart is not None:
            files.append(bytes_file(f"summary-{item.key}.png", chart,
                                    description=chart_alt_text(item.title, result.summary)))
        attached = "the chart and the full report are" if chart else "the full report is"
        answer = dict(
            content=f"Summary of “{truncate(item.title, 150)}” ({freshness}); {attached} attached."
            + (f"\n{note}" if note else ""),
            embed=e, files=files,
        )
        if not result.from_cache:  # a cached summary costs nothing
            self.bot.cooldowns.charge("summary", interaction.user.id)
        if share:
            await answer_publicly(interaction, "Shared the summary with the channel.", **answer)
        else:
            await interaction.followup.send(**answer, ephemeral=True)

    # --- /map ------------------------------------------------------------------------------

    @app_commands.command(name="map", description="A picture of how the consultation's topics relate")
    @app_commands.describe(topic="Show one topic's neighbourhood (default: the whole consultation)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def map(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        self.bot.cooldowns.check("map", interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)  # refusals stay private
        focus: Item | None = await topic_for(interaction, topic) if topic else None
        consultations = await self.bot.repo.agenda.consultations(interaction.guild_id)
        if not consultations:
            raise UserError("There is no agenda in this server yet.")
        consultation_id = focus.consultation_id if focus else consultations[-1].id
        built, items = await self.insight.topic_map(consultation_id)
        readable = {i for i, item in items.items() if can_read(interaction, item)}
        title = f"Related topics of “{focus.title}”" if focus else "Graph of this discussion"
        png, text = await asyncio.to_thread(_draw_map, built, readable,
                                            focus.id if focus else None, title)
        e = discord.Embed(title=truncate(title, 256), description=truncate(text, 4000), colour=BRAND_COLOUR)
        e.set_image(url="attachment://map.png")
        files = [bytes_file("map.png", png)]
        if len(text) > 4000:
            files.append(text_file("map.md", text))
        self.bot.cooldowns.charge("map", interaction.user.id)  # the drawing is the costly part
        await answer_publicly(interaction, "Posted the map for the channel.", embed=e, files=files)

    async def related_lines(self, item: Item, interaction: discord.Interaction) -> list[str]:
        """Lines for /about's "Related topics", from the same evidence as the map (only
        topics the member can read)."""
        related = await self.insight.related(item, wait=RELATED_WAIT)
        if related is None:  # built from the start after a restart: /about does not wait
            return ["⏳ Still being worked out after the bot's restart: ask again in a minute."]
        lines = []
        for other, _weight, reasons in related:
            if not can_read(interaction, other):
                continue
            where = other.discord_id
            name = f"[{other.title}]({channel_link(other.guild_id, where)})" if where else other.title
            lines.append(f"{name} — {', '.join(reasons[:2])}")
        return lines

    # --- /export ---------------------------------------------------------------------------

    @app_commands.command(name="export", description="The consultation report and data files")
    @app_commands.describe(format="What to export", include_hidden="Also comments moderators hid")
    @app_commands.choices(format=FORMATS)
    @app_commands.guild_only()
    async def export(self, interaction: discord.Interaction,
                     format: app_commands.Choice[str] | None = None,
                     include_hidden: bool = False) -> None:
        require_organiser(interaction, self.bot.settings, "export the consultation")
        await interaction.response.defer(ephemeral=True, thinking=True)
        consultations = await self.bot.repo.agenda.consultations(interaction.guild_id)
        if not consultations:
            raise UserError("There is no agenda in this server yet: nothing to export.")
        note = await settled_note(self.bot)  # a catch-up after a reconnect may still be running
        fmt = format.value if format else "all"
        self.bot.cooldowns.check("export", interaction.user.id, fmt)  # each format its own
        # Discord: each file within the server's upload limit, 25 MiB and 10 files a message
        per_file = getattr(interaction, "filesize_limit", None) or DEFAULT_FILE_LIMIT
        for consultation in consultations:
            actions, _ = await self.bot.repo.moderation.actions(guild_id=interaction.guild_id,
                                                                limit=100_000)
            names = await member_names(interaction.guild, [a.moderator_id for a in actions])
            files = await self.reports.build(consultation, fmt, include_hidden=include_hidden,
                                             names=names)
            named = {f"{consultation.key}-{name}": data for name, data in files.items()}
            packed = await asyncio.to_thread(package, named, per_file)
            head = "\n".join([f"“{truncate(consultation.title, 150)}”: {', '.join(files)}",
                              *([note] if note else []), *packed.notes])
            count = sum(len(m) for m in packed.messages)
            for number, group in enumerate(packed.messages, start=1):
                lines = [head] if number == 1 else []
                if number == len(packed.messages):
                    lines.append(f"Sent {count} file(s) in {len(packed.messages)} message(s).")
                await interaction.followup.send(
                    truncate("\n".join(lines), 2000) if lines else None,
                    files=[bytes_file(name, data) for name, data in group], ephemeral=True,
                )
        self.bot.cooldowns.charge("export", interaction.user.id, fmt)


async def answer_publicly(interaction: discord.Interaction, note: str, **message) -> None:
    """After a private deferral: close the private "thinking…" with `note`, then post the
    answer for everyone (a follow-up after the original response is its own message: the
    first follow-up after a deferral would *become* the private loading message,
    discord-api-docs#2860). If posting fails, the note says so and the error follows
    privately (the error handler)."""
    await interaction.edit_original_response(content=note)
    try:
        await interaction.followup.send(**message, ephemeral=False)
    except discord.HTTPException:
        await interaction.edit_original_response(content="Nothing was posted for the channel.")
        raise


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(InsightCog(bot))


def _draw_map(built, readable: set[int], focus: int | None, title: str) -> tuple[bytes, str]:
    """The member's view of the map as PNG and text (CPU-bound at thousands of topics: run
    it in a worker thread)."""
    mine = only_topics(built, readable)
    return render_png(mine, focus, title=title), render_text(mine, focus)
