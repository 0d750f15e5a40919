"""The Discord half of publishing: category, one channel per item, threads, article posts.

Nothing is created twice, even when the bot is killed mid-way (``kill -9``):

- every Discord id is stored as soon as it exists (an article's posts one by one);
- just before creating something, the publisher records an *intent* (``publish_intents``):
  the channel's name, or the post's signature (a hash of its rendered text) and where it
  goes. Created-but-not-stored things are then found on the next run, before creating
  anything: a channel by its name in the consultation's categories, a post by its
  signature among the bot's own messages since the intent, a sub-item's thread by its
  starter post's id (a thread opened on a message has that message's id);
- a post is edited only when its rendered text changed; a channel or thread an admin
  deleted is recreated; a starter post whose thread cannot be opened is deleted again.

A sub-item's thread is opened with a 7-day auto-archive (the longest Discord has). Discord
still archives it after a quiet week, and an archived thread refuses edits (50083): the
publisher unarchives it for the edit and archives it again afterwards.

Channels: at most 50 per category (Discord refuses a 51st, 50035): new item channels go
into "<consultation> (2)", "(3)"… when the first category is full. At most 500 per server
(30013): the cogs refuse before storing anything (``AgendaCog._require_room``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import discord

from bot.core.article import ArticlePart, EmbedData, fingerprint, render_article
from bot.core.errors import UserError
from bot.core.naming import channel_name, thread_name
from bot.core.publishing import (
    CATEGORY_CHANNELS_MAX,
    GUILD_CHANNELS_MAX,
    overflow_category_name,
)
from bot.core.topics import status_line
from bot.runtime.render import part_embeds
from bot.storage import Repository
from bot.storage.models import Consultation, Item, Outcome, PublishIntent

log = logging.getLogger(__name__)

Progress = Callable[[int, int, Item, str], Awaitable[None]]

#: how far back (before an intent was recorded) to look for what it may have created:
#: covers clock skew between the bot and Discord
INTENT_SLACK = dt.timedelta(minutes=5)
NO_PINGS = discord.AllowedMentions.none()

#: minutes a sub-item's thread stays in the channel list without messages (Discord's maximum)
SUB_ITEM_AUTO_ARCHIVE = 10080
THREAD_ARCHIVED = 50083  # Discord's error code for a change inside an archived thread


class PublishReport:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.updated: list[str] = []
        self.unchanged: list[str] = []

    def line(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged")


def article_parts(item: Item, outcome: Outcome | None = None) -> list[ArticlePart]:
    return render_article(
        item.title, item.summation, item.body, edited_at=item.edited_at,
        status_line=status_line(item, outcome),
    )


def part_signature(part: ArticlePart) -> str:
    """What a post of this part looks like (equal iff the post shows the same text)."""
    return fingerprint([part])


def message_signature(message: discord.Message) -> str:
    part = ArticlePart(
        content=message.content or None,
        embeds=[EmbedData(title=e.title or None, description=e.description or None,
                          footer=(e.footer.text if e.footer else None) or None)
                for e in message.embeds],
    )
    return part_signature(part)


def guild_channel_count(guild: discord.Guild) -> int:
    """Channels and categories, as Discord counts them towards its 500 (threads do not count)."""
    return len(guild.channels)


class Publisher:
    def __init__(self, bot: discord.Client, repo: Repository) -> None:
        self.bot = bot
        self.repo = repo

    async def publish(
        self, guild: discord.Guild, consultation: Consultation, items: list[Item],
        progress: Progress | None = None,
    ) -> PublishReport:
        """Publish ``items`` in order; ``progress(n, total, item, outcome)`` after each one."""
        report = PublishReport()
        for n, item in enumerate(items, start=1):
            outcome = await self.publish_item(guild, consultation, item, report)
            if progress is not None:
                await progress(n, len(items), item, outcome)
        return report

    async def publish_item(self, guild: discord.Guild, consultation: Consultation, item: Item,
                           report: PublishReport) -> str:
        """Publish one item; returns "created", "updated" or "unchanged"."""
        item = await self.repo.agenda.item(item.id) or item
        before = (len(report.created), len(report.updated))
        if await self.repo.forum.layout(consultation.id) == "forum":  # bot.runtime.forum
            from bot.runtime.forum import ForumLayout

            await ForumLayout(self).publish_item(guild, consultation, item, report)
        elif item.parent_id is None:
            await self._publish_channel_item(guild, consultation, item, report)
        else:
            parent = await self.repo.agenda.item(item.parent_id)
            await self._publish_thread_item(guild, parent, item, report)
        if len(report.created) > before[0]:
            return "created"
        return "updated" if len(report.updated) > before[1] else "unchanged"

    async def refresh_post(self, guild: discord.Guild, item: Item) -> None:
        """Re-render an item's article after an edit, a lock or an unlock."""
        consultation = await self.repo.agenda.consultation(item.consultation_id)
        await self.publish_item(guild, consultation, item, PublishReport())

    async def _ordinal(self, item: Item) -> int:
        """1 for the agenda's first top-level item, 2 for the next… (for channel names)."""
        top = [i.id for i in await self.repo.agenda.items(item.consultation_id) if i.parent_id is None]
        return top.index(item.id) + 1

    async def _known_post_ids(self, consultation_id: int) -> set[int]:
        ids: set[int] = set()
        for i in await self.repo.agenda.items(consultation_id):
            ids.update(i.post_message_ids)
            if i.starter_message_id:
                ids.add(i.starter_message_id)
        return ids

    # --- category and channels -------------------------------------------------------------

    async def _category(self, guild: discord.Guild, consultation: Consultation) -> discord.CategoryChannel:
        consultation = await self.repo.agenda.consultation(consultation.id) or consultation
        existing = guild.get_channel(consultation.category_id) if consultation.category_id else None
        if isinstance(existing, discord.CategoryChannel):
            return existing
        name = consultation.title[:100]
        category = discord.utils.get(guild.categories, name=name)
        if category is None:
            self._require_guild_room(guild, 1)
            category = await guild.create_category(name, reason="consultation agenda")
        await self.repo.agenda.set_category(consultation.id, category.id)
        return category

    def consultation_categories(self, guild: discord.Guild, consultation: Consultation | None,
                                title: str) -> list[discord.CategoryChannel]:
        """The categories the consultation's channels go into, as they exist now."""
        first = None
        if consultation is not None and consultation.category_id:
            first = guild.get_channel(consultation.category_id)
        if not isinstance(first, discord.CategoryChannel):
            first = discord.utils.get(guild.categories, name=title[:100])
        return [] if first is None else self._categories(guild, first, title)

    def _categories(self, guild: discord.Guild, first: discord.CategoryChannel,
                    title: str) -> list[discord.CategoryChannel]:
        """The consultation's categories: the first, then its "(2)", "(3)"… overflows."""
        out = [first]
        for n in range(2, GUILD_CHANNELS_MAX // CATEGORY_CHANNELS_MAX + 2):
            found = discord.utils.get(guild.categories, name=overflow_category_name(title, n))
            if found is None:
                break
            out.append(found)
        return out

    async def _category_with_room(self, guild: discord.Guild,
                                  consultation: Consultation) -> discord.CategoryChannel:
        first = await self._category(guild, consultation)
        categories = self._categories(guild, first, consultation.title)
        for category in categories:
            if len(category.channels) < CATEGORY_CHANNELS_MAX:
                return category
        self._require_guild_room(guild, 2)
        name = overflow_category_name(consultation.title, len(categories) + 1)
        log.info("category %s is full (%d channels): opening %s", first.name,
                 CATEGORY_CHANNELS_MAX, name)
        return await guild.create_category(name, reason="consultation agenda (overflow)")

    @staticmethod
    def _require_guild_room(guild: discord.Guild, needed: int) -> None:
        have = guild_channel_count(guild)
        if have + needed > GUILD_CHANNELS_MAX:
            raise UserError(
                f"This server has {have} channels and Discord allows {GUILD_CHANNELS_MAX}: "
                "there is no room for another agenda channel. Delete unused channels, or "
                "take items out of the agenda, and publish again.")

    async def _channel(
        self, guild: discord.Guild, consultation: Consultation, item: Item
    ) -> tuple[discord.TextChannel, bool]:
        """The item's channel, created (and recorded at once) when missing."""
        channel = guild.get_channel(item.channel_id) if item.channel_id else None
        if isinstance(channel, discord.TextChannel):
            return channel, False
        name = channel_name(await self._ordinal(item), item.title)
        intent = await self.repo.publishing.intent(item.id, "channel")
        if intent is not None:
            adopted = await self._find_channel(guild, consultation, intent.detail.get("name", name))
            if adopted is not None:
                log.info("publish: adopting channel #%s created before a crash", adopted.name)
                await self.repo.agenda.save_place(item.id, channel_id=adopted.id)
                await self.repo.publishing.clear_intent(item.id, "channel")
                return adopted, True
        category = await self._category_with_room(guild, consultation)
        self._require_guild_room(guild, 1)
        await self.repo.publishing.set_intent(item.id, "channel", 0, {"name": name})
        channel = await guild.create_text_channel(
            name, category=category, topic=item.summation[:1024], reason="consultation agenda item"
        )
        await self.repo.agenda.save_place(item.id, channel_id=channel.id)
        await self.repo.publishing.clear_intent(item.id, "channel")
        return channel, True

    async def _find_channel(self, guild: discord.Guild, consultation: Consultation,
                            name: str) -> discord.TextChannel | None:
        """A channel of that name in the consultation's categories that no item owns."""
        first = await self._category(guild, consultation)
        owned = {i.channel_id for i in await self.repo.agenda.items(consultation.id)}
        for category in self._categories(guild, first, consultation.title):
            for channel in category.text_channels:
                if channel.name == name and channel.id not in owned:
                    return channel
        return None

    async def _publish_channel_item(
        self, guild: discord.Guild, consultation: Consultation, item: Item, report: PublishReport,
    ) -> None:
        channel, created = await self._channel(guild, consultation, item)
        parts = article_parts(item, await self.repo.outcomes.latest(item.id))
        fp = fingerprint(parts)
        old_ids = [] if created else item.post_message_ids
        if not created and fp == item.post_fingerprint and await self._posts_exist(channel, old_ids):
            report.unchanged.append(item.title)
            return

        complete_before = bool(old_ids) and item.post_fingerprint is not None

        async def save(ids: list[int], done: bool) -> None:
            # Pinned before the article is stored as complete: a crash in between pins again.
            if done and ids and (not complete_before or old_ids[0] != ids[0]):
                await self._pin(channel, ids[0])
            await self.repo.agenda.save_place(
                item.id, channel_id=channel.id, post_message_ids=ids,
                post_fingerprint=fp if done else None)

        await self._write_posts(channel, old_ids, parts, item, save)
        (report.created if created or not complete_before else report.updated).append(item.title)

    async def _publish_thread_item(
        self, guild: discord.Guild, parent: Item, item: Item, report: PublishReport
    ) -> None:
        channel = guild.get_channel(parent.channel_id) if parent and parent.channel_id else None
        if not isinstance(channel, discord.TextChannel):
            log.warning("sub-item %s has no parent channel; publish its parent first", item.key)
            return
        parts = article_parts(item, await self.repo.outcomes.latest(item.id))
        fp = fingerprint(parts)
        thread = await self._existing_thread(guild, item.thread_id)
        if thread is not None and item.channel_id == channel.id:
            if thread.auto_archive_duration != SUB_ITEM_AUTO_ARCHIVE and not thread.archived:
                # opened before sub-item threads got a week (an archived one is left asleep)
                thread = await thread.edit(auto_archive_duration=SUB_ITEM_AUTO_ARCHIVE)
            if fp == item.post_fingerprint and await self._posts_exist(channel, item.post_message_ids[:1]):
                report.unchanged.append(item.title)
                return
            complete_before = item.post_fingerprint is not None
            starter = await self._write_posts(channel, item.post_message_ids[:1], parts[:1], item,
                                              None, kind="starter")

            async def save_rest(ids: list[int], done: bool) -> None:
                await self.repo.agenda.save_place(
                    item.id, channel_id=channel.id, thread_id=thread.id,
                    starter_message_id=starter[0], post_message_ids=starter + ids,
                    post_fingerprint=fp if done else None)

            await self._write_in_thread(thread, item.post_message_ids[1:], parts[1:], item,
                                        save_rest)
            (report.updated if complete_before else report.created).append(item.title)
            return
        # No thread (first publish, or an admin deleted it): the starter post, then the thread.
        starter, maybe_open = await self._starter(channel, item, parts[0])
        thread = await self._thread_on(channel, item, starter, maybe_open)

        async def save(ids: list[int], done: bool) -> None:
            await self.repo.agenda.save_place(
                item.id, channel_id=channel.id, thread_id=thread.id, starter_message_id=starter.id,
                post_message_ids=[starter.id, *ids], post_fingerprint=fp if done else None)

        await save([], False)
        await self.repo.publishing.clear_intent(item.id, "thread")
        await self._write_posts(thread, [], parts[1:], item, save)
        report.created.append(item.title)

    async def _starter(self, channel: discord.TextChannel, item: Item,
                       part: ArticlePart) -> tuple[discord.Message, bool]:
        """The sub-item's starter post in its parent channel: a stored one without a thread
        (its thread was deleted, or the bot stopped before opening it), or a new one."""
        intent = await self.repo.publishing.intent(item.id, "thread")
        candidates = []
        if intent is not None and intent.place_id == channel.id:
            candidates.append(int(intent.detail["starter"]))
        if item.post_message_ids and item.channel_id == channel.id:
            candidates.append(item.post_message_ids[0])
        for message_id in candidates:
            try:
                starter = await channel.fetch_message(message_id)
            except discord.NotFound:
                continue
            if message_signature(starter) != part_signature(part):
                await starter.edit(content=part.content, embeds=part_embeds(part))
            return starter, True
        return await self._send_once(channel, item, part, "starter")

    async def _thread_on(self, channel: discord.TextChannel, item: Item,
                         starter: discord.Message, maybe_open: bool) -> discord.Thread:
        await self.repo.publishing.set_intent(item.id, "thread", channel.id, {"starter": starter.id})
        await self.repo.publishing.clear_intent(item.id, "starter")
        # A thread opened on a message has the message's id: one opened before a crash is found.
        existing = (await self._existing_thread(channel.guild, starter.id) if maybe_open
                    else channel.guild.get_thread(starter.id))
        if existing is not None:
            return existing
        try:
            return await starter.create_thread(
                name=thread_name(item.title), auto_archive_duration=SUB_ITEM_AUTO_ARCHIVE,
                reason="agenda sub-item")
        except discord.HTTPException as exc:
            if exc.code == 160004:  # "A thread has already been created for this message"
                found = await self.bot.fetch_channel(starter.id)
                if isinstance(found, discord.Thread):
                    return found
            # No starter post without its thread.
            await self._delete_quietly(channel, starter.id)
            await self.repo.publishing.clear_intent(item.id, "thread")
            raise

    async def _existing_thread(self, guild: discord.Guild, thread_id: int | None) -> discord.Thread | None:
        if not thread_id:
            return None
        thread = guild.get_thread(thread_id)
        if thread is not None:
            return thread
        try:
            fetched = await self.bot.fetch_channel(thread_id)
        except (discord.NotFound, discord.Forbidden):
            return None
        return fetched if isinstance(fetched, discord.Thread) else None

    # --- posts -----------------------------------------------------------------------------

    async def _write_in_thread(
        self, thread: discord.Thread, old_ids: list[int], parts: list[ArticlePart], item: Item,
        save: Callable[[list[int], bool], Awaitable[None]],
    ) -> list[int]:
        """`_write_posts` inside a thread that Discord may have archived meanwhile: unarchive
        it for the edit (a cached thread may say "active" and still be refused), then
        archive it again as it was."""
        if not parts and not old_ids:
            await save([], True)
            return []
        was_archived = thread.archived
        if was_archived:
            thread = await thread.edit(archived=False)
        try:
            ids = await self._write_posts(thread, old_ids, parts, item, save)
        except discord.HTTPException as exc:
            if exc.code != THREAD_ARCHIVED or was_archived:
                raise
            was_archived = True
            thread = await thread.edit(archived=False)
            ids = await self._write_posts(thread, old_ids, parts, item, save)
        if was_archived:
            await thread.edit(archived=True)
        return ids

    async def _posts_exist(self, channel: discord.abc.Messageable, ids: list[int]) -> bool:
        if not ids:
            return False
        try:
            await channel.fetch_message(ids[0])
        except discord.NotFound:
            return False
        return True

    async def _write_posts(
        self, channel: discord.abc.Messageable, old_ids: list[int], parts: list[ArticlePart],
        item: Item, save: Callable[[list[int], bool], Awaitable[None]] | None,
        kind: str = "post",
    ) -> list[int]:
        """Edit the existing posts in place and send what is missing; delete the surplus.

        ``save(ids, done)`` stores the ids after each new post, so a crash loses none.
        If one of the old posts is gone, the article is posted again in full so that its
        parts stay in order.
        """
        existing: list[discord.Message] = []
        for message_id in old_ids[: len(parts)]:
            try:
                existing.append(await channel.fetch_message(message_id))
            except discord.NotFound:
                for stale in old_ids:
                    await self._delete_quietly(channel, stale)
                existing, old_ids = [], []
                break
        ids: list[int] = []
        for index, part in enumerate(parts):
            if index < len(existing):
                if message_signature(existing[index]) != part_signature(part):
                    await existing[index].edit(content=part.content, embeds=part_embeds(part))
                ids.append(existing[index].id)
            else:
                sent, _adopted = await self._send_once(channel, item, part, kind)
                ids.append(sent.id)
                if save is not None:
                    await save(ids, False)
        for surplus in old_ids[len(parts):]:
            await self._delete_quietly(channel, surplus)
        if save is not None:
            await save(ids, True)
        await self.repo.publishing.clear_intent(item.id, kind)
        return ids

    async def _send_once(self, place: discord.abc.Messageable, item: Item, part: ArticlePart,
                         kind: str) -> tuple[discord.Message, bool]:
        """Send one post, unless a crash came between sending it and storing its id.

        The intent (where, what, since when) is stored first; if one is found for this
        place, the bot's own posts since then are searched for the same text. Returns the
        post and whether it was found (rather than sent)."""
        signature = part_signature(part)
        intent = await self.repo.publishing.intent(item.id, kind)
        if intent is not None and intent.place_id == getattr(place, "id", None) \
                and intent.detail.get("signature") == signature:
            found = await self._find_own_post(place, intent, item)
            if found is not None:
                log.info("publish: adopting a post of %s sent before a crash", item.key)
                return found, True
        await self.repo.publishing.set_intent(item.id, kind, place.id,  # type: ignore[attr-defined]
                                              {"signature": signature})
        sent = await place.send(content=part.content, embeds=part_embeds(part),
                                allowed_mentions=NO_PINGS)
        return sent, False

    async def _find_own_post(self, place: discord.abc.Messageable, intent: PublishIntent,
                             item: Item) -> discord.Message | None:
        known = await self._known_post_ids(item.consultation_id)
        since = discord.utils.time_snowflake(intent.created_at - INTENT_SLACK)
        me = self.bot.user.id if self.bot.user else None
        async for message in place.history(after=discord.Object(since), limit=200,
                                           oldest_first=True):
            if (message.author.id == me and message.id not in known
                    and message_signature(message) == intent.detail.get("signature")):
                return message
        return None

    @staticmethod
    async def _pin(channel: discord.TextChannel, message_id: int) -> None:
        try:
            await channel.get_partial_message(message_id).pin(reason="agenda article")
        except discord.Forbidden:
            # Since Feb 2026 pinning needs Pin Messages; Manage Messages no longer covers it.
            log.warning("cannot pin in #%s: the bot lacks the Pin Messages permission "
                        "(re-invite it with the README's permission integer)", channel.name)

    @staticmethod
    async def _delete_quietly(channel: discord.abc.Messageable, message_id: int) -> None:
        try:
            await channel.get_partial_message(message_id).delete()
        except discord.HTTPException:
            pass
