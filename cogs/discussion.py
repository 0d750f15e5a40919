"""Comments: every participant message in an item's channel or threads, and /quote."""

from __future__ import annotations

import asyncio
import logging
import weakref

import discord
from discord import app_commands
from discord.ext import commands

from bot.core import quotes
from bot.core.discussion import DiscussionService, article_text
from bot.core.text import split_sentences
from bot.runtime.adapters import (
    in_private_thread,
    incoming,
    is_participant_message,
    item_place,
    link_previews,
    parent_id_of,
)
from bot.runtime.catchup import CatchUp
from bot.runtime.checks import require_post
from bot.runtime.client import ConsultationBot
from bot.runtime.render import BRAND_COLOUR, message_link
from cogs.agenda import topic_autocomplete, topic_for

log = logging.getLogger(__name__)


class MessageOrder:
    """One lock per message id, taken before a handler's first await.

    discord.py runs every event handler as its own task, so a reaction, an edit or a
    deletion could be stored before the message itself. Tasks start in the order the
    events arrived, so taking the message's lock first keeps that order.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, message_id: int) -> asyncio.Lock:
        lock = self._locks.get(message_id)
        if lock is None:
            lock = self._locks[message_id] = asyncio.Lock()
        return lock


class DiscussionCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.in_order = MessageOrder()
        self.discussion = DiscussionService(bot.repo)
        self.catchup = CatchUp(bot, bot.repo, self.discussion)
        self._catchup_task: asyncio.Task | None = None
        self._catchup_again = False
        #: shards whose first READY (covered by on_ready) has been seen
        self._shards_ready: set[int] = set()
        # A write the database refused waits in bot.writes; its channel is read again by
        # catch-up (so what the queue could not keep is recovered from Discord's history).
        self.writes = bot.writes
        self.writes.on_failure = self.discussion.desync
        self.writes.on_recovered = lambda _channels: self._schedule_catchup()
        self._retry_task: asyncio.Task | None = None

    async def cog_unload(self) -> None:
        for task in (self._catchup_task, self._retry_task):
            if task is not None:
                task.cancel()

    async def closing(self) -> None:
        """The bot is shutting down: store what was received, stop catching up."""
        await self.discussion.flush()
        for task in (self._catchup_task, self._retry_task):
            if task is not None:
                task.cancel()

    # --- catch-up on every new session (READY; a RESUME replays the missed events) ---------

    def _schedule_catchup(self) -> None:
        self._catchup_again = True
        if self._catchup_task is not None and not self._catchup_task.done():
            return  # the running task goes round again: a new session came mid-pass
        self._catchup_task = asyncio.create_task(self._run_catchup())

    async def _run_catchup(self) -> None:
        while self._catchup_again:
            self._catchup_again = False
            try:
                await self.catchup.run()
            except Exception:
                log.exception("catch-up failed; it runs again")
                self._catchup_again = True
                await asyncio.sleep(self.catchup.max_backoff)
        self.catchup.finish()
        self.bot.dispatch("catchup_done")
        if self.catchup.left and (self._retry_task is None or self._retry_task.done()):
            self._retry_task = asyncio.create_task(self._retry_left())

    async def _retry_left(self) -> None:
        """Channels a pass gave up on keep their gap; read them again later, with backoff,
        instead of waiting for the next new session (a RESUME does not run catch-up)."""
        delay = self.catchup.gap_retry
        while self.catchup.left:
            await asyncio.sleep(delay)
            try:
                await self.catchup.run(only=set(self.catchup.left))
            except Exception:
                log.exception("catch-up of the channels left behind failed; tried again later")
            delay = min(delay * 2, self.catchup.max_gap_retry)

    @commands.Cog.listener()
    async def on_connect(self) -> None:
        # READY of a new session (discord.py dispatches it before any later event): events
        # were missed; until catch-up has read a channel, live messages do not move its cursor.
        self.discussion.desync()
        self.catchup.begin()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self._shards_ready.update(self.bot.shards if hasattr(self.bot, "shards") else ())
        self._schedule_catchup()

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        # A sharded bot: discord.py dispatches READY once, when every shard is first ready.
        # A shard that starts a new session later (INVALID_SESSION, a resume refused) is
        # only "shard ready": its guilds' missed events are caught up now.
        if shard_id in self._shards_ready:
            self._schedule_catchup()
        elif self.bot.is_ready():
            self._shards_ready.add(shard_id)

    # --- live events -----------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None:
            return
        channel_id = message.channel.id
        if is_participant_message(message):
            said, parent_id = incoming(message), parent_id_of(message.channel)
            async with self.in_order(message.id):  # an edit waits until this is stored
                await self.writes.run(channel_id, lambda: self.discussion.record_live(
                    said, parent_id=parent_id))
        elif message.author.id == self.bot.user.id:
            await self.writes.run(channel_id, lambda: self.discussion.seen_live(
                channel_id, message.id))

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        message = payload.message
        channel_id = payload.channel_id
        async with self.in_order(message.id):
            if is_participant_message(message) and "content" in payload.data:
                said, parent_id = incoming(message), parent_id_of(message.channel)
                await self.writes.run(channel_id, lambda: self.discussion.record(
                    said, parent_id=parent_id, live=True))
            previews = link_previews(message)
            if previews:
                await self.writes.run(channel_id, lambda: self.discussion.record_link_previews(
                    message.id, previews))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        async with self.in_order(payload.message_id):
            await self.writes.run(payload.channel_id, lambda: self.discussion.delete(
                [payload.message_id], payload.channel_id))

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.writes.run(payload.channel_id, lambda: self.discussion.delete(
            payload.message_ids, payload.channel_id))

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id and payload.user_id != self.bot.user.id:
            async with self.in_order(payload.message_id):
                await self.writes.run(payload.channel_id, lambda: self.bot.repo.discussion.set_reaction(
                    payload.message_id, payload.user_id, str(payload.emoji), True))

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id:
            async with self.in_order(payload.message_id):
                await self.writes.run(payload.channel_id, lambda: self.bot.repo.discussion.set_reaction(
                    payload.message_id, payload.user_id, str(payload.emoji), False))

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        if payload.guild_id:  # a moderator's "remove all reactions"
            async with self.in_order(payload.message_id):
                await self.writes.run(payload.channel_id, lambda: self.bot.repo.discussion
                                      .clear_reactions(payload.message_id))

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        if payload.guild_id:  # a moderator's "remove emoji"
            async with self.in_order(payload.message_id):
                await self.writes.run(payload.channel_id, lambda: self.bot.repo.discussion
                                      .clear_reactions(payload.message_id, str(payload.emoji)))

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        # Created while connected: its whole history comes through the live stream.
        self.discussion.mark_in_sync(channel.id, self.discussion.epoch)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        if in_private_thread(thread):  # not part of the consultation's record
            return
        self.discussion.mark_in_sync(thread.id, self.discussion.epoch)  # as for channels
        if await self.bot.repo.agenda.item_at(thread.id) is None and thread.parent_id:
            await self.writes.run(thread.id, lambda: self.discussion.item_for(
                thread.id, thread.parent_id))

    # --- /quote ----------------------------------------------------------------------------

    @app_commands.command(name="quote", description="Quote a passage of the article, with your comment")
    @app_commands.describe(
        passage="Start typing words of the article and pick a sentence",
        comment="What you want to say about it",
        topic="An agenda item (default: this channel's)",
    )
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def quote(
        self, interaction: discord.Interaction, passage: str,
        comment: app_commands.Range[str, 1, 1500], topic: str | None = None,
    ) -> None:
        self.bot.cooldowns.check("quote", interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        self.discussion.check_open(item)
        exact = self.discussion.passage_for(item, passage)
        place = await item_place(self.bot, item)
        require_post(interaction, item, place)
        quoted = "\n".join(f"> {line}" for line in exact.splitlines())
        post = discord.Embed(description=f"{quoted}\n\n{comment}", colour=BRAND_COLOUR)
        post.set_author(name=f"{interaction.user.display_name} quoted the article",
                        icon_url=interaction.user.display_avatar.url)
        sent = await place.send(embed=post)
        self.bot.cooldowns.charge("quote", interaction.user.id)  # refusals above cost nothing
        # (if the database cannot take it now, it is kept and stored when it can)
        await self.writes.run(place.id, lambda: self.discussion.record_post(
            message_id=sent.id, place_id=place.id, in_thread=isinstance(place, discord.Thread),
            parent_id=parent_id_of(place), author_id=interaction.user.id,
            content=f"{quoted}\n{comment}", created_at=sent.created_at, kind="quote",
        ))
        await interaction.followup.send(
            f"Posted your quote: {message_link(item.guild_id, place.id, sent.id)}", ephemeral=True
        )

    @quote.autocomplete("passage")
    async def passage_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            item = await topic_for(interaction, getattr(interaction.namespace, "topic", None))
        except Exception:
            return []
        sentences = split_sentences(article_text(item))
        return [app_commands.Choice(name=n, value=v)
                for n, v in quotes.sentence_choices(sentences, current)]


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(DiscussionCog(bot))
