"""The forum layout (``layout = "forum"`` in the agenda file): one forum channel per
consultation, in its category, and one post per item and sub-item.

- The forum is named from the consultation's title and carries the status tags (open,
  locked, closed, answered; moderated, so only moderators and the bot set them). Members
  reply in posts but open none of their own (Create Posts is denied to @everyone): every
  post is an agenda item. Its id
  is stored (``consultation_layouts.forum_id``) as soon as it exists; one created before
  a crash is found again by its name in the consultation's category.
- An item's post is a thread of the forum: its place is ``channel_id`` = the forum and
  ``thread_id`` = the post, so ``item.discord_id`` is the post, comments in it are the
  item's and a lock is the post's thread lock (``bot.runtime.locking``). The starter
  message is the article's first part (its id is the post's id); the rest of a long body
  follows as messages in the post. Related articles are links (``<#post>``) in the starter
  message; when a related item's post appears later, the posts that name it are edited.
- The post's applied tags follow the item's status: "locked" (a moderator's lock) or
  "closed" (locked at or after its closing date) or "open", and "answered" once an
  outcome is recorded. They are set on every publish and refresh (lock, unlock, closing,
  outcome, edit).
- A post created before a crash, but not stored, is found by its name among the bot's
  own posts since the intent was recorded.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import discord

from bot.core.article import ArticlePart, fingerprint
from bot.core.errors import UserError
from bot.core.naming import slugify, thread_name
from bot.runtime.publisher import (
    INTENT_SLACK,
    NO_PINGS,
    Publisher,
    PublishReport,
    article_parts,
)
from bot.runtime.render import part_embeds
from bot.storage.models import Consultation, Item, Outcome

log = logging.getLogger(__name__)

#: the forum's status tags, in the order Discord shows them (name, emoji)
FORUM_TAGS: tuple[tuple[str, str], ...] = (
    ("open", "💬"), ("locked", "🔒"), ("closed", "🏁"), ("answered", "✅"))
FORUM_TAG_NAMES = tuple(name for name, _emoji in FORUM_TAGS)
MAX_FORUM_TAGS = 20  # Discord's limit per forum
CONTENT_MAX = 2000
#: minutes a post stays in the forum's list without messages (Discord's maximum)
POST_AUTO_ARCHIVE = 10080


def forum_name(title: str) -> str:
    """The forum channel's name: the consultation's title as a channel name."""
    return slugify(title)[:100]


def forum_overwrites(guild: discord.Guild) -> dict:
    """Every post is an agenda item: members reply in posts (Send Messages in Threads) but
    open none (a forum's Send Messages is "Create Posts"); the bot opens them."""
    return {
        guild.default_role: discord.PermissionOverwrite(send_messages=False),
        guild.me: discord.PermissionOverwrite(send_messages=True, send_messages_in_threads=True),
    }


def status_tags(item: Item, outcome: Outcome | None, now: datetime) -> list[str]:
    """The names of the tags an item's post carries."""
    if not item.locked:
        status = "open"
    elif item.closes_at is not None and item.closes_at <= now:
        status = "closed"
    else:
        status = "locked"
    return [status, "answered"] if outcome is not None else [status]


def related_line(post_ids: list[int]) -> str | None:
    """"Related: <#post> · <#post>", as many as fit in one message's content."""
    if not post_ids:
        return None
    line = "Related:"
    for n, post_id in enumerate(post_ids):
        link = f"{'' if n == 0 else ' ·'} <#{post_id}>"
        if len(line) + len(link) > CONTENT_MAX:
            break
        line += link
    return line


class ForumLayout:
    """Publishes a consultation's items as posts of its forum (used by the Publisher)."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.bot = publisher.bot
        self.repo = publisher.repo

    def _now(self) -> datetime:
        clock = getattr(self.bot, "clock", None)
        return clock() if callable(clock) else datetime.now(UTC)

    # --- the forum -------------------------------------------------------------------------

    async def forum(self, guild: discord.Guild, consultation: Consultation) -> discord.ForumChannel:
        """The consultation's forum with its status tags, created (and stored) when missing."""
        forum_id = await self.repo.forum.forum_id(consultation.id)
        forum = guild.get_channel(forum_id) if forum_id else None
        if not isinstance(forum, discord.ForumChannel):
            category = await self.publisher._category(guild, consultation)
            name = forum_name(consultation.title)
            forum = discord.utils.find(
                lambda c: isinstance(c, discord.ForumChannel) and c.name == name, category.channels)
            if forum is None:
                self.publisher._require_guild_room(guild, 1)
                forum = await guild.create_forum(
                    name, category=category, topic=(consultation.description or "")[:4096] or None,
                    overwrites=forum_overwrites(guild),
                    available_tags=[discord.ForumTag(name=n, emoji=e, moderated=True)
                                    for n, e in FORUM_TAGS],
                    default_auto_archive_duration=POST_AUTO_ARCHIVE,
                    reason="consultation agenda (forum layout)")
            else:
                log.info("publish: adopting forum #%s", forum.name)
            await self.repo.forum.set_forum(consultation.id, forum.id)
        return await self._with_tags(forum)

    async def _with_tags(self, forum: discord.ForumChannel) -> discord.ForumChannel:
        have = {t.name for t in forum.available_tags}
        missing = [discord.ForumTag(name=n, emoji=e, moderated=True)
                   for n, e in FORUM_TAGS if n not in have]
        if not missing:
            return forum
        if len(forum.available_tags) + len(missing) > MAX_FORUM_TAGS:
            raise UserError(
                f"The forum #{forum.name} has {len(forum.available_tags)} tags and Discord allows "
                f"{MAX_FORUM_TAGS}: there is no room for the status tags "
                f"({', '.join(t.name for t in missing)}). Delete unused tags in the forum's "
                "settings and publish again.")
        return await forum.edit(available_tags=[*forum.available_tags, *missing],
                                reason="consultation status tags")

    # --- posts -----------------------------------------------------------------------------

    async def publish_item(self, guild: discord.Guild, consultation: Consultation, item: Item,
                           report: PublishReport, *, follow_related: bool = True) -> None:
        forum = await self.forum(guild, consultation)
        outcome = await self.repo.outcomes.latest(item.id)
        parts = article_parts(item, outcome)
        links = related_line(await self._related_posts(item, forum.id))
        if links:
            parts[0] = parts[0].model_copy(update={"content": links})
        fp = fingerprint(parts)
        tags = self._tags(forum, status_tags(item, outcome, self._now()))
        thread = (await self.publisher._existing_thread(guild, item.thread_id)
                  if item.channel_id == forum.id else None)
        if thread is not None:
            await self._update_post(thread, item, parts, fp, tags, report)
            return
        thread = await self._new_post(forum, item, parts[0], tags)

        async def save(ids: list[int], done: bool) -> None:
            await self.repo.agenda.save_place(
                item.id, channel_id=forum.id, thread_id=thread.id, starter_message_id=thread.id,
                post_message_ids=[thread.id, *ids], post_fingerprint=fp if done else None)

        await save([], False)
        await self.repo.publishing.clear_intent(item.id, "forum-post")
        await self.publisher._write_posts(thread, [], parts[1:], item, save)
        report.created.append(item.title)
        if follow_related:  # the posts that name this one get its link
            for other in await self._related_items(item):
                fresh = await self.repo.agenda.item(other.id)
                if fresh is not None and fresh.thread_id and fresh.channel_id == forum.id:
                    await self.publish_item(guild, consultation, fresh, PublishReport(),
                                            follow_related=False)

    async def _update_post(self, thread: discord.Thread, item: Item, parts: list[ArticlePart],
                           fp: str, tags: list[discord.ForumTag], report: PublishReport) -> None:
        changes: dict = {}
        if sorted(t.id for t in tags) != sorted(thread._applied_tags):
            changes["applied_tags"] = tags
        if thread.name != thread_name(item.title):  # the title the forum's list shows
            changes["name"] = thread_name(item.title)
        tags_changed = bool(changes)
        text_same = fp == item.post_fingerprint and await self.publisher._posts_exist(
            thread, item.post_message_ids[:1])
        if text_same and not tags_changed:
            report.unchanged.append(item.title)
            return
        was_archived = thread.archived
        if tags_changed:
            # An archived post takes no change unless the same PATCH unarchives it (50083).
            if was_archived:
                changes["archived"] = False
            thread = await thread.edit(**changes)
        if not text_same:
            complete_before = item.post_fingerprint is not None

            async def save(ids: list[int], done: bool) -> None:
                await self.repo.agenda.save_place(
                    item.id, channel_id=thread.parent_id, thread_id=thread.id,
                    starter_message_id=thread.id, post_message_ids=ids,
                    post_fingerprint=fp if done else None)

            await self.publisher._write_in_thread(thread, item.post_message_ids, parts, item, save)
            (report.updated if complete_before else report.created).append(item.title)
        else:
            report.updated.append(item.title)
        if was_archived and tags_changed:
            await thread.edit(archived=True)

    async def _new_post(self, forum: discord.ForumChannel, item: Item, part: ArticlePart,
                        tags: list[discord.ForumTag]) -> discord.Thread:
        """The item's post with its starter message, unless one was made before a crash."""
        name = thread_name(item.title)
        intent = await self.repo.publishing.intent(item.id, "forum-post")
        if intent is not None and intent.place_id == forum.id:
            since = discord.utils.time_snowflake(intent.created_at - INTENT_SLACK)
            owned = {i.thread_id for i in await self.repo.agenda.items(item.consultation_id)}
            me = self.bot.user.id if self.bot.user else None
            for thread in forum.threads:
                if (thread.owner_id == me and thread.name == name and thread.id > since
                        and thread.id not in owned):
                    log.info("publish: adopting the post of %s made before a crash", item.key)
                    return thread
        await self.repo.publishing.set_intent(item.id, "forum-post", forum.id, {"name": name})
        created = await forum.create_thread(
            name=name, content=part.content, embeds=part_embeds(part), applied_tags=tags,
            auto_archive_duration=POST_AUTO_ARCHIVE, allowed_mentions=NO_PINGS,
            reason="agenda item (forum post)")
        return created.thread

    # --- status tags -----------------------------------------------------------------------

    @staticmethod
    def _tags(forum: discord.ForumChannel, names: list[str]) -> list[discord.ForumTag]:
        by_name = {t.name: t for t in forum.available_tags}
        return [by_name[n] for n in names if n in by_name]

    async def _related_items(self, item: Item) -> list[Item]:
        pairs = await self.repo.agenda.relations(item.consultation_id)
        ids = [b for a, b in pairs if a == item.id] + [a for a, b in pairs if b == item.id]
        items = {i.id: i for i in await self.repo.agenda.items(item.consultation_id)}
        seen: list[Item] = []
        for i in ids:
            if i in items and items[i] not in seen and i != item.id:
                seen.append(items[i])
        return seen

    async def _related_posts(self, item: Item, forum_id: int) -> list[int]:
        """The posts of the items this one lists as related (those published already)."""
        pairs = await self.repo.agenda.relations(item.consultation_id)
        items = {i.id: i for i in await self.repo.agenda.items(item.consultation_id)}
        out = []
        for a, b in pairs:
            other = items.get(b) if a == item.id else None
            if other is not None and other.thread_id and other.channel_id == forum_id:
                out.append(other.thread_id)
        return out
