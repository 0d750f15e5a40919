"""/outcome: what became of an item ("you said, we did"), and telling the people it answers.

An organiser records an outcome in a form; the bot posts and pins it in the item's channel and
shows it in the article's footer, `/about`, `/agenda list` and the report. Authors of the
statements it responds to are told once, by DM, if they opted in with `/profile notify:True`;
when their DMs are closed, one message in the item's channel mentions only them.
"""

from __future__ import annotations

import asyncio
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.core import outcomes as oc
from bot.core.text import truncate
from bot.runtime.adapters import place_or_none
from bot.runtime.checks import require_organiser
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import report_error
from bot.runtime.publisher import Publisher
from bot.runtime.render import BRAND_COLOUR, message_link, ts_tag
from bot.storage.models import Item, Outcome, OutcomeRef
from cogs.agenda import topic_autocomplete, topic_for

log = logging.getLogger(__name__)

NOTICES_PER_RUN = 50  # DMs per minute at most: Discord treats mass DMs from bots as spam
NOTICE_CHECK_SECONDS = 60
_NOTICE_RE = re.compile(re.escape(oc.NOTICE_MARK) + r":(\d+)")


class OutcomeForm(discord.ui.Modal):
    """The outcome's text; the status and what it responds to come from the command."""

    def __init__(self, cog: OutcomesCog, item: Item, status: str, refs: list[OutcomeRef],
                 current: Outcome | None) -> None:
        super().__init__(title=truncate(f"Outcome: {item.title}", 45), timeout=900)
        self.cog, self.item, self.status, self.refs = cog, item, status, refs
        self.text = discord.ui.TextInput(
            label="What will happen, and why", style=discord.TextStyle.paragraph,
            max_length=oc.OUTCOME_TEXT_MAX, default=current.text if current else None,
            placeholder="e.g. The ministry will fund a 24/7 contact point from April, because…",
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.cog.record(interaction, self.item, self.status, self.refs, str(self.text.value))

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error, "outcome form")


class OutcomesCog(commands.Cog):
    outcome = app_commands.Group(name="outcome", description="What became of an agenda item",
                                 guild_only=True)

    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.publisher = Publisher(bot, bot.repo)
        self._delivering = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def cog_load(self) -> None:
        self.deliver_notices.start()

    async def cog_unload(self) -> None:
        self.deliver_notices.cancel()
        for task in self._tasks:
            task.cancel()

    # --- what an outcome may respond to ----------------------------------------------------

    async def _sources(self, item: Item):
        """The item's summary (if one can be had quickly) and its most quoted passages."""
        summary = None
        insight = self.bot.get_cog("InsightCog")
        if insight is not None:
            try:  # autocomplete and modals must answer within 3 s
                summary = (await asyncio.wait_for(insight.insight.summary(item), 2.0)).summary
            except TimeoutError:
                summary = None
        passages = oc.quoted_passages(await self.bot.repo.discussion.quotes(item.id))
        return summary, passages

    async def _responds_autocomplete(self, interaction: discord.Interaction,
                                     current: str) -> list[app_commands.Choice[str]]:
        topic = getattr(interaction.namespace, "topic", None)
        try:
            item = await topic_for(interaction, topic)
        except Exception:  # an autocomplete never shows errors; the command will
            return []
        summary, passages = await self._sources(item)
        return [app_commands.Choice(name=n, value=v)
                for n, v in oc.response_choices(summary, passages, current)]

    # --- /outcome set ----------------------------------------------------------------------

    @outcome.command(name="set", description="Record what will happen about an item, and why")
    @app_commands.describe(
        status="Where the item stands", topic="An agenda item (default: this channel's)",
        responds_to="A statement, theme or quoted passage it answers",
        also_responds_to="Another one", and_responds_to="And another",
    )
    @app_commands.choices(status=[app_commands.Choice(name=label, value=key)
                                  for key, label in oc.STATUSES.items()])
    @app_commands.autocomplete(topic=topic_autocomplete, responds_to=_responds_autocomplete,
                               also_responds_to=_responds_autocomplete,
                               and_responds_to=_responds_autocomplete)
    async def set_outcome(self, interaction: discord.Interaction, status: app_commands.Choice[str],
                          topic: str | None = None, responds_to: str | None = None,
                          also_responds_to: str | None = None,
                          and_responds_to: str | None = None) -> None:
        require_organiser(interaction, self.bot.settings, "record outcomes")
        item = await topic_for(interaction, topic)
        oc.check_status(status.value)
        chosen = [v for v in (responds_to, also_responds_to, and_responds_to) if v]
        refs: list[OutcomeRef] = []
        if chosen:
            summary, passages = await self._sources(item)
            for value in dict.fromkeys(chosen):
                refs.append(oc.resolve_response(value, summary, passages))
        current = await self.bot.repo.outcomes.latest(item.id)
        await interaction.response.send_modal(OutcomeForm(self, item, status.value, refs, current))

    async def record(self, interaction: discord.Interaction, item: Item, status: str,
                     refs: list[OutcomeRef], text: str) -> None:
        text = oc.check_outcome_text(text)
        repo = self.bot.repo
        outcome, queued = await repo.outcomes.record(
            item.id, status=status, text=text, responds_to=refs, author_id=interaction.user.id)
        posted = await self._post(item, outcome)
        guild = interaction.guild
        if guild is not None:
            await self.publisher.refresh_post(guild, item)  # the article's footer shows it
        where = f" and posted it {message_link(item.guild_id, posted.channel.id, posted.id)}" if posted else ""
        told = (f" {queued} participant(s) who asked to hear about it will be told once." if queued
                else "")
        await interaction.followup.send(
            f"Recorded the outcome of “{truncate(item.title, 100)}” ({outcome.status_label}, "
            f"revision {outcome.revision}){where}.{told}", ephemeral=True)
        if queued:
            task = asyncio.get_running_loop().create_task(self._deliver_now())
            self._tasks.add(task)  # keep a reference until it is done (asyncio holds weak ones)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, item: Item, outcome: Outcome) -> discord.Message | None:
        """Post the outcome in the item's place and pin it (unpinning the revision it replaces)."""
        place = await place_or_none(self.bot, item)
        if place is None:
            return None
        e = discord.Embed(title=truncate(f"{outcome.headline()} — {item.title}", 256),
                          description=oc.outcome_message(item.title, outcome), colour=BRAND_COLOUR)
        e.set_footer(text=f"Recorded by the organisers · revision {outcome.revision}")
        try:
            sent = await place.send(embed=e, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("could not post the outcome of %s: %s", item.key, exc)
            return None
        await self.bot.repo.outcomes.set_message(outcome.id, sent.id)
        previous = [o for o in await self.bot.repo.outcomes.revisions(item.id)
                    if o.id != outcome.id and o.message_id]
        try:
            for old in previous[-1:]:
                await place.get_partial_message(old.message_id).unpin(reason="outcome revised")
            await sent.pin(reason="the item's outcome")
        except discord.Forbidden:
            log.warning("cannot pin the outcome in %s: the bot lacks Pin Messages", item.key)
        except discord.HTTPException as exc:
            log.warning("could not pin the outcome of %s: %s", item.key, exc)
        return sent

    # --- /outcome show ---------------------------------------------------------------------

    @outcome.command(name="show", description="The outcome of an item and its earlier revisions")
    @app_commands.describe(topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def show(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        revisions = await self.bot.repo.outcomes.revisions(item.id)
        if not revisions:
            await interaction.followup.send(
                f"No outcome has been recorded for “{truncate(item.title, 100)}” yet.", ephemeral=True)
            return
        latest = revisions[-1]
        e = discord.Embed(title=truncate(f"{latest.headline()} — {item.title}", 256),
                          description=truncate(oc.outcome_message(item.title, latest), 4096),
                          colour=BRAND_COLOUR)
        if len(revisions) > 1:
            e.add_field(name="Earlier revisions", inline=False, value=truncate("\n".join(
                f"{o.revision}. {o.status_label}, {ts_tag(o.created_at, 'd')}: {truncate(o.text, 80)}"
                for o in reversed(revisions[:-1])), 1024))
        await interaction.followup.send(embed=e, ephemeral=True)

    # --- telling the people who were heard -------------------------------------------------

    @tasks.loop(seconds=NOTICE_CHECK_SECONDS)
    async def deliver_notices(self) -> None:
        await self._deliver_now()

    @deliver_notices.before_loop
    async def _ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _deliver_now(self) -> None:
        if self._delivering.locked():
            return
        async with self._delivering:
            try:
                await self._deliver()
            except Exception:
                log.exception("delivering outcome notices failed; pending ones are retried")

    async def _deliver(self) -> None:
        repo = self.bot.repo
        # a shard process tells the people of its own guilds (the others tell theirs)
        pending = await repo.outcomes.pending_notices(NOTICES_PER_RUN,
                                                      shards=self.bot.settings.shards)
        by_item: dict[int, list[tuple[int, int]]] = {}
        for item_id, user_id, outcome_id in pending:
            by_item.setdefault(item_id, []).append((user_id, outcome_id))
        for item_id, people in by_item.items():
            item = await repo.agenda.item(item_id)
            if item is None or not self.bot.owns_guild(item.guild_id):
                continue  # another shard process's guild: it tells them
            outcome = await repo.outcomes.latest(item_id)
            if outcome is None:
                continue
            link = (message_link(item.guild_id, item.discord_id, outcome.message_id)
                    if outcome.message_id and item.discord_id else "")
            text = oc.notice_text(item.title, outcome, link, item_id)
            closed: list[int] = []
            for user_id, _ in people:
                participant = await repo.privacy.participant(user_id)
                if participant is None or not participant.notify_outcomes:
                    await repo.outcomes.mark_notices(item_id, [user_id], "withdrawn")
                    continue
                state = await self._dm(user_id, item_id, text)
                if state == "dm":
                    await repo.outcomes.mark_notices(item_id, [user_id], "dm")
                else:
                    closed.append(user_id)
            if closed:
                await self._tell_in_channel(item, closed, link)

    async def _dm(self, user_id: int, item_id: int, text: str) -> str:
        """"dm" once the notice is in the person's DMs (sent now, or found there after a
        restart), else "closed"."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            channel = user.dm_channel or await user.create_dm()
            async for message in channel.history(limit=25):
                found = _NOTICE_RE.search(message.content or "")
                if message.author.id == self.bot.user.id and found and int(found.group(1)) == item_id:
                    return "dm"  # sent before a restart, not yet marked
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
            return "dm"
        except discord.HTTPException:  # 50007: DMs closed, or no shared server
            return "closed"

    async def _tell_in_channel(self, item: Item, user_ids: list[int], link: str) -> None:
        """One message per batch in the item's channel, mentioning only those people."""
        repo = self.bot.repo
        place = await place_or_none(self.bot, item)
        if place is None:
            return
        already: set[int] = set()
        try:
            async for message in place.history(limit=100):
                found = _NOTICE_RE.search(message.content or "")
                if message.author.id == self.bot.user.id and found and int(found.group(1)) == item.id:
                    already.update(message.raw_mentions)
        except discord.HTTPException:
            pass
        done = [u for u in user_ids if u in already]
        if done:
            await repo.outcomes.mark_notices(item.id, done, "channel")
        for batch in oc.mention_batches(u for u in user_ids if u not in already):
            mentions = " ".join(f"<@{u}>" for u in batch)
            content = (f"{mentions} — the organisers recorded an outcome that responds to what you "
                       f"said here: {link or 'see the pinned messages'}\n-# {oc.NOTICE_MARK}:{item.id}")
            try:
                await place.send(content, allowed_mentions=discord.AllowedMentions(
                    users=[discord.Object(u) for u in batch], roles=False, everyone=False,
                    replied_user=False))
            except discord.HTTPException as exc:
                log.warning("could not tell %d participant(s) about the outcome of %s: %s",
                            len(batch), item.key, exc)
                return
            await repo.outcomes.mark_notices(item.id, batch, "channel")


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(OutcomesCog(bot))

