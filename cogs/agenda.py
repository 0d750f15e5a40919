"""/agenda publish · add · edit · list, and /about: the consultation's agenda in Discord."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.core import publishing
from bot.core.agenda import AgendaInvalid, load_agenda
from bot.core.discussion import DiscussionService
from bot.core.errors import BadInput, UserError
from bot.core.input_checks import display_text_problem
from bot.core.naming import slugify
from bot.core.text import truncate
from bot.core.topics import resolve_topic, status_line, topic_choices
from bot.runtime.catchup import settled_note
from bot.runtime.checks import is_organiser, readable, require_organiser, require_read
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import report_error
from bot.runtime.publish_runs import PublishRuns
from bot.runtime.publisher import Publisher
from bot.runtime.render import (
    BRAND_COLOUR,
    LOCKED_COLOUR,
    channel_link,
    embed_pages,
    text_file,
    ts_tag,
)
from bot.storage.models import Item

log = logging.getLogger(__name__)

MAX_AGENDA_BYTES = 1_000_000
MODAL_BODY_MAX = 4000  # Discord's limit for one text input
MAX_LIST_MESSAGES = 10  # /agenda list: up to 100 embeds, about 600 items


async def topic_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot: ConsultationBot = interaction.client  # type: ignore[assignment]
    if interaction.guild_id is None:
        return []
    items = readable(interaction, await bot.repo.agenda.guild_items(interaction.guild_id))
    return [app_commands.Choice(name=n, value=v) for n, v in topic_choices(items, current)]


async def topic_for(interaction: discord.Interaction, topic: str | None) -> Item:
    """`[topic]` as named, or the item of the channel/thread the command is used in.

    Refused unless the member can read the item's channel or thread (see bot.runtime.checks)."""
    bot: ConsultationBot = interaction.client  # type: ignore[assignment]
    channel = interaction.channel
    parent_id = getattr(channel, "parent_id", None)
    item = await resolve_topic(
        bot.repo, interaction.guild_id or 0, topic, [interaction.channel_id, parent_id]
    )
    require_read(interaction, item)
    return item


class ArticleForm(discord.ui.Modal):
    """The seed page's "title / short summation / main body" form."""

    def __init__(self, cog: AgendaCog, item: Item | None) -> None:
        super().__init__(title="Edit agenda item" if item else "New agenda item", timeout=900)
        self.cog, self.item = cog, item
        self.article_title = discord.ui.TextInput(
            label="Title", max_length=100, default=item.title if item else None,
            placeholder="Enter the title of your article",
        )
        self.summation = discord.ui.TextInput(
            label="Summation (max 500 characters)", style=discord.TextStyle.paragraph,
            max_length=500, default=item.summation if item else None,
            placeholder="Enter a short summation of your article",
        )
        self.body = discord.ui.TextInput(
            label="Body (Markdown)", style=discord.TextStyle.paragraph, max_length=MODAL_BODY_MAX,
            required=False, default=item.body if item else None,
            placeholder="Enter the main body of your article",
        )
        for field in (self.article_title, self.summation, self.body):
            self.add_item(field)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.save_form(interaction, self.item, str(self.article_title.value).strip(),
                                 str(self.summation.value).strip(), str(self.body.value).strip())

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error, "agenda form")


class AgendaCog(commands.Cog):
    agenda = app_commands.Group(name="agenda", description="The consultation's agenda",
                                guild_only=True)

    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.publisher = Publisher(bot, bot.repo)
        self.discussion = DiscussionService(bot.repo)
        self.runs = PublishRuns(bot, bot.repo, self.publisher, self.discussion)

    async def cog_unload(self) -> None:
        self._resumer.cancel()
        self.runs.cancel_all()

    async def cog_load(self) -> None:
        # Once per process (not on every reconnect): resume the publish runs a restart or a
        # crash interrupted, as soon as the bot is ready.
        self._resumer = asyncio.get_running_loop().create_task(self._resume_runs())

    async def _resume_runs(self) -> None:
        await self.bot.wait_until_ready()
        try:
            await self.runs.resume_all()
        except Exception:
            log.exception("resuming interrupted publish runs failed")

    # --- /agenda publish -------------------------------------------------------------------

    @agenda.command(name="publish", description="Create or update the agenda's channels and posts")
    @app_commands.describe(file="An agenda file (.toml); without it, the server's AGENDA_FILE")
    async def publish(self, interaction: discord.Interaction, file: discord.Attachment | None = None) -> None:
        """Store the agenda, then publish it in the background (see bot.runtime.publish_runs):
        the answer comes at once, progress shows in a message in this channel."""
        require_organiser(interaction, self.bot.settings, "publish the agenda")
        await interaction.response.defer(ephemeral=True, thinking=True)
        source, base_dir = await self._agenda_source(file)
        try:
            spec = load_agenda(source, base_dir=base_dir)
        except AgendaInvalid as exc:
            await self._report_problems(interaction, exc)
            return
        await self._require_same_layout(interaction.guild, spec)
        await self._require_room(interaction.guild, spec)
        queued = self.runs.busy
        stored = await publishing.store_agenda(self.bot.repo, interaction.guild_id, spec,
                                               interaction.user.id)
        run, message = await self.runs.create(
            interaction.channel, stored.consultation.id, interaction.guild_id,
            [i.id for i in stored.items], stored.changed_text, spec.title, interaction.user.id)
        where = (f"progress: {message.jump_url}" if message is not None else
                 "I cannot post in this channel, so progress is not shown here; /agenda list "
                 "shows what is published")
        kept = (f"\n{len(stored.not_in_file)} item(s) no longer in the file are left as they are."
                if stored.not_in_file else "")
        after = " It starts when the publish that is running now ends." if queued else ""
        await interaction.followup.send(
            f"Publishing “{truncate(spec.title, 100)}” in the background… {len(stored.items)} "
            f"items; {where}.{after}{kept}", ephemeral=True)

        async def answer(_run, text: str) -> None:
            # Only while the interaction's token lives (15 min); the channel message says it anyway.
            if not interaction.is_expired():
                await interaction.edit_original_response(content=text + kept)

        self.runs.spawn(run.id, answer)

    def _require_room_for_one(self, guild: discord.Guild, consultation) -> None:  # type: ignore[no-untyped-def]
        categories = self.publisher.consultation_categories(guild, consultation, consultation.title)
        free = sum(max(0, publishing.CATEGORY_CHANNELS_MAX - len(c.channels)) for c in categories)
        needed = publishing.channels_needed(1, free, bool(categories))
        if len(guild.channels) + needed > publishing.GUILD_CHANNELS_MAX:
            raise BadInput(
                f"This server has {len(guild.channels)} channels and categories, the most Discord "
                f"allows is {publishing.GUILD_CHANNELS_MAX}: there is no room for a new item's "
                "channel. Delete unused channels first. Nothing was added.")

    async def _require_same_layout(self, guild: discord.Guild, spec) -> None:  # type: ignore[no-untyped-def]
        """Refuse, before anything is stored, a layout change of a published consultation:
        its comments, locks and links live in the channels (or posts) it has."""
        repo = self.bot.repo
        consultation = next((c for c in await repo.agenda.consultations(guild.id)
                             if c.key == slugify(spec.title)), None)
        if consultation is None:
            return
        layout = await repo.forum.layout(consultation.id)
        published = any(i.channel_id for i in await repo.agenda.items(consultation.id))
        if published and layout != spec.layout:
            names = {"channels": "a text channel per item", "forum": "one forum with a post per item"}
            raise BadInput(
                f"“{truncate(spec.title, 100)}” is published with layout = \"{layout}\" "
                f"({names[layout]}); the file says layout = \"{spec.layout}\". A published "
                f"consultation keeps its layout: write layout = \"{layout}\" (or remove the "
                "line for channels), or publish it under a new title. Nothing was stored or "
                "published.")

    async def _require_room(self, guild: discord.Guild, spec) -> None:  # type: ignore[no-untyped-def]
        """Refuse, before anything is stored, an agenda whose channels do not fit in the
        server (Discord allows 500 channels and categories; 50 channels per category)."""
        repo = self.bot.repo
        consultation = next((c for c in await repo.agenda.consultations(guild.id)
                             if c.key == slugify(spec.title)), None)
        stored = {i.key: i for i in await repo.agenda.items(consultation.id)} if consultation else {}
        new = sum(1 for _path, item, parent in spec.walk() if parent is None
                  and not (item.key in stored and guild.get_channel(stored[item.key].channel_id or 0)))
        if spec.layout == "forum":  # one forum channel for every item (bot.runtime.forum)
            forum_id = await repo.forum.forum_id(consultation.id) if consultation else None
            new = 0 if forum_id and guild.get_channel(forum_id) else 1
        categories = self.publisher.consultation_categories(guild, consultation, spec.title)
        free = sum(max(0, publishing.CATEGORY_CHANNELS_MAX - len(c.channels)) for c in categories)
        needed = publishing.channels_needed(new, free, bool(categories))
        have = len(guild.channels)
        if have + needed > publishing.GUILD_CHANNELS_MAX:
            raise BadInput(
                f"This agenda needs {needed} new channels and categories, but the server has "
                f"{have} of the {publishing.GUILD_CHANNELS_MAX} Discord allows. Take "
                f"{have + needed - publishing.GUILD_CHANNELS_MAX} items out of the agenda, or "
                "delete unused channels, and publish again. Nothing was stored or published.")

    async def _agenda_source(self, file: discord.Attachment | None) -> tuple[bytes, Path | None]:
        if file is not None:
            if not file.filename.lower().endswith(".toml"):
                raise BadInput(f"“{file.filename}” is not an agenda file: attach a .toml file.")
            if file.size > MAX_AGENDA_BYTES:
                raise BadInput(f"The agenda file is {file.size:,} bytes; the limit is 1 MB.")
            return await file.read(), None
        path = self.bot.settings.agenda_file
        if path is None:
            raise BadInput("Attach an agenda file (.toml) to /agenda publish, or ask the bot's "
                           "host to set AGENDA_FILE.")
        try:
            return path.read_bytes(), path.parent
        except OSError as exc:
            raise BadInput(f"The agenda file AGENDA_FILE={path} cannot be read ({exc.strerror}).") from None

    @staticmethod
    async def _report_problems(interaction: discord.Interaction, exc: AgendaInvalid) -> None:
        text = exc.format() + "\n\nNothing was published. Fix these and run /agenda publish again."
        if len(text) <= 1900:
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.followup.send(
                f"The agenda has {len(exc.problems)} problems (listed in the attached file). "
                "Nothing was published.", file=text_file("agenda-problems.txt", text), ephemeral=True,
            )

    # --- /agenda add and edit --------------------------------------------------------------

    @agenda.command(name="add", description="Add an agenda item with a form")
    async def add(self, interaction: discord.Interaction) -> None:
        require_organiser(interaction, self.bot.settings, "add agenda items")
        consultations = await self.bot.repo.agenda.consultations(interaction.guild_id)
        if not consultations:
            raise BadInput("There is no agenda here yet: run /agenda publish first.")
        self._require_room_for_one(interaction.guild, consultations[-1])
        await interaction.response.send_modal(ArticleForm(self, None))

    @agenda.command(name="edit", description="Edit an agenda item's article with a form")
    @app_commands.describe(topic="The agenda item to edit")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def edit(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        require_organiser(interaction, self.bot.settings, "edit agenda items")
        item = await topic_for(interaction, topic)
        if len(item.body) > MODAL_BODY_MAX:
            raise BadInput(
                f"“{item.title}” has a {len(item.body):,}-character body, more than a form holds "
                f"({MODAL_BODY_MAX:,}). Edit it in the agenda file and run /agenda publish."
            )
        await interaction.response.send_modal(ArticleForm(self, item))

    async def save_form(self, interaction: discord.Interaction, item: Item | None, title: str,
                        summation: str, body: str) -> None:
        require_organiser(interaction, self.bot.settings, "edit agenda items")
        if problem := display_text_problem(title, "title"):
            raise BadInput(f"{problem} Nothing was saved.")
        # the summation may have line breaks; its other characters follow the same rules
        if problem := display_text_problem(" ".join(summation.split()), "summation"):
            raise BadInput(f"{problem} Nothing was saved.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        repo = self.bot.repo
        if item is None:
            consultation = (await repo.agenda.consultations(interaction.guild_id))[-1]
            self._require_room_for_one(interaction.guild, consultation)
            item = await publishing.add_item(repo, consultation, title=title, summation=summation,
                                              body=body, author_id=interaction.user.id)
            try:
                await self.publisher.publish(interaction.guild, consultation, [item])
            except BaseException:
                # Nothing half-written: an item whose channel could not be made is not kept.
                stored = await repo.agenda.item(item.id)
                if stored is None or not stored.channel_id:
                    await repo.agenda.delete_item(item.id)
                raise
            item = await repo.agenda.item(item.id)
            await interaction.followup.send(
                f"Added “{item.title}”: {channel_link(item.guild_id, item.discord_id)}", ephemeral=True
            )
            return
        updated, changed = await repo.agenda.add_revision(
            item.id, title=title, summation=summation, body=body, author_id=interaction.user.id
        )
        if not changed:
            await interaction.followup.send("Nothing changed.", ephemeral=True)
            return
        await self.publisher.refresh_post(interaction.guild, updated)
        states = await self.discussion.reanchor(updated)
        moved = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no quotes to move"
        await interaction.followup.send(
            f"Saved revision {updated.revision_number} of “{updated.title}” and updated its post "
            f"(quotes: {moved}).", ephemeral=True,
        )

    # --- reading ---------------------------------------------------------------------------

    @agenda.command(name="list", description="The agenda with links, status and activity")
    async def list_items(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        repo = self.bot.repo
        consultations = await repo.agenda.consultations(interaction.guild_id)
        if not consultations:
            raise UserError("There is no agenda in this server yet.")
        sections = []
        outcomes = await repo.outcomes.latest_by_item()
        organiser = is_organiser(interaction, self.bot.settings)
        for consultation in consultations:
            counts = await repo.discussion.comment_counts(consultation.id)
            lines = []
            for item in readable(interaction, await repo.agenda.items(consultation.id)):
                where = item.discord_id
                link = f"[{item.title}]({channel_link(item.guild_id, where)})" if where else item.title
                indent = "" if item.parent_id is None else "  ↳ "
                state = "🔒 locked" if item.locked else "open"
                n = counts.get(item.id, 0)
                line = f"{indent}{link} — {state} · {n} comment{'s' if n != 1 else ''}"
                if item.id in outcomes:
                    line += f" · {outcomes[item.id].headline()}"
                elif organiser:  # organisers see what still awaits an answer
                    line += " · no outcome yet"
                lines.append(line)
            sections.append((consultation.title, lines or ["No items you can see."]))
        # one message holds 10 embeds and 6,000 embed characters: longer agendas take several
        pages = embed_pages(sections)
        shown = pages[:MAX_LIST_MESSAGES]
        for number, page in enumerate(shown, start=1):
            note = f"Page {number} of {len(shown)}" if len(shown) > 1 else None
            if number == len(shown) and len(pages) > len(shown):
                note = (f"Page {number} of {len(shown)}; the agenda goes on: see /export for "
                        "the whole list.")
            await interaction.followup.send(content=note, embeds=page, ephemeral=True)

    @app_commands.command(name="about", description="Status, dates, counts and related topics")
    @app_commands.describe(topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def about(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        repo = self.bot.repo
        note = await settled_note(self.bot)  # a catch-up after a reconnect may still be running
        counts = await repo.discussion.counts(item.id)
        unverified, before = await repo.discussion.unverified(item.id)
        e = discord.Embed(title=truncate(item.title, 256), description=item.summation,
                          colour=LOCKED_COLOUR if item.locked else BRAND_COLOUR)
        outcome = await repo.outcomes.latest(item.id)
        e.add_field(name="Status", value=status_line(item), inline=False)
        if outcome is not None:
            e.add_field(name=truncate(outcome.headline(), 256), inline=False,
                        value=truncate(outcome.text, 1024))
        e.add_field(name="Created", value=ts_tag(item.created_at))
        e.add_field(name="Last activity", value=ts_tag(counts.last_activity))
        e.add_field(name="Revision", value=str(item.revision_number))
        e.add_field(name="Comments", value=str(counts.comments))
        e.add_field(name="Participants", value=str(counts.participants))
        e.add_field(name="Quotes · Citations", value=f"{counts.quotes} · {counts.citations}")
        if item.parent_id:
            parent = await repo.agenda.item(item.parent_id)
            e.add_field(name="Part of", value=_link(parent), inline=False)
        related = _whole_lines(await self.related_lines(item, interaction), 1024)
        if related:
            e.add_field(name="Related topics", value=related, inline=False)
        if item.discord_id:
            where = ("Forum post" if await repo.forum.layout(item.consultation_id) == "forum"
                     else "Thread" if item.thread_id else "Channel")
            e.add_field(name=where, value=channel_link(item.guild_id, item.discord_id), inline=False)
        if unverified:
            e.add_field(name="Not re-checked", inline=False, value=(
                f"{unverified} comment{'s' if unverified != 1 else ''} posted before "
                f"{ts_tag(discord.utils.snowflake_time(before))} "
                f"{'were' if unverified != 1 else 'was'} not re-checked for edits, deletions or "
                "reactions made while the bot was last offline."))
        await interaction.followup.send(content=note, embed=e, ephemeral=True)

    async def related_lines(self, item: Item, interaction: discord.Interaction) -> list[str]:
        """Related topics (only those the member can read) come from the map's evidence, which the insight cog owns."""
        insight = self.bot.get_cog("InsightCog")
        if insight is None:
            return []
        return await insight.related_lines(item, interaction)  # type: ignore[attr-defined]


def _link(item: Item | None) -> str:
    if item is None:
        return "—"
    return f"[{item.title}]({channel_link(item.guild_id, item.discord_id)})" if item.discord_id else item.title


def _whole_lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit (a cut line would break its Markdown link)."""
    out = ""
    for line in lines:
        candidate = f"{out}\n{line}" if out else line
        if len(candidate) > limit:
            break
        out = candidate
    return out


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(AgendaCog(bot))
