"""The Discord half of publishing: category, one channel per item, threads, article posts.

Idempotent: every Discord id is recorded as soon as it exists, a post is edited
only when its rendered text changed, a channel or thread an admin deleted is
recreated, and nothing is ever created twice.

A sub-item's thread is opened with a 7-day auto-archive (the longest Discord has). Discord
still archives it after a quiet week, and an archived thread refuses edits (50083): the
publisher unarchives it for the edit and archives it again afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.core.article import ArticlePart, fingerprint, render_article
from bot.core.naming import channel_name, thread_name
from bot.core.topics import status_line
from bot.runtime.render import part_embeds
from bot.storage import Repository
from bot.storage.models import Consultation, Item, Outcome

log = logging.getLogger(__name__)

Progress = Callable[[int, int, Item], Awaitable[None]]

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


class Publisher:
    def __init__(self, bot: discord.Client, repo: Repository) -> None:
        self.bot = bot
        self.repo = repo

    async def publish(
        self, guild: discord.Guild, consultation: Consultation, items: list[Item],
        progress: Progress | None = None,
    ) -> PublishReport:
        report = PublishReport()
        category = await self._category(guild, consultation)
        for n, item in enumerate(items, start=1):
            item = await self.repo.agenda.item(item.id) or item
            if item.parent_id is None:
                await self._publish_channel_item(
                    guild, category, item, await self._ordinal(item), report)
            else:
                parent = await self.repo.agenda.item(item.parent_id)
                await self._publish_thread_item(guild, parent, item, report)
            if progress is not None:
                await progress(n, len(items), item)
        return report

    async def refresh_post(self, guild: discord.Guild, item: Item) -> None:
        """Re-render an item's article after an edit, a lock or an unlock."""
        report = PublishReport()
        item = await self.repo.agenda.item(item.id) or item
        if item.parent_id is None:
            category = await self._category(guild, await self.repo.agenda.consultation(item.consultation_id))
            await self._publish_channel_item(guild, category, item, await self._ordinal(item), report)
        else:
            parent = await self.repo.agenda.item(item.parent_id)
            await self._publish_thread_item(guild, parent, item, report)

    async def _ordinal(self, item: Item) -> int:
        """1 for the agenda's first top-level item, 2 for the next… (for channel names)."""
        top = [i.id for i in await self.repo.agenda.items(item.consultation_id) if i.parent_id is None]
        return top.index(item.id) + 1

    # --- category and channels -------------------------------------------------------------

    async def _category(self, guild: discord.Guild, consultation: Consultation) -> discord.CategoryChannel:
        existing = guild.get_channel(consultation.category_id) if consultation.category_id else None
        if isinstance(existing, discord.CategoryChannel):
            return existing
        name = consultation.title[:100]
        category = discord.utils.get(guild.categories, name=name)
        if category is None:
            category = await guild.create_category(name, reason="consultation agenda")
        await self.repo.agenda.set_category(consultation.id, category.id)
        return category

    async def _channel(
        self, guild: discord.Guild, category: discord.CategoryChannel, item: Item, number: int
    ) -> tuple[discord.TextChannel, bool]:
        """The item's channel, created (and recorded at once) when missing."""
        channel = guild.get_channel(item.channel_id) if item.channel_id else None
        if isinstance(channel, discord.TextChannel):
            return channel, False
        name = channel_name(number, item.title)
        channel = await guild.create_text_channel(
            name, category=category, topic=item.summation[:1024], reason="consultation agenda item"
        )
        await self.repo.agenda.save_place(item.id, channel_id=channel.id)
        return channel, True

    async def _publish_channel_item(
        self, guild: discord.Guild, category: discord.CategoryChannel, item: Item, number: int,
        report: PublishReport,
    ) -> None:
        channel, created = await self._channel(guild, category, item, number)
        parts = article_parts(item, await self.repo.outcomes.latest(item.id))
        fp = fingerprint(parts)
        old_ids = [] if created else item.post_message_ids
        if not created and fp == item.post_fingerprint and await self._posts_exist(channel, old_ids):
            report.unchanged.append(item.title)
            return
        ids = await self._write_posts(channel, old_ids, parts)
        await self.repo.agenda.save_place(
            item.id, channel_id=channel.id, post_message_ids=ids, post_fingerprint=fp
        )
        if ids and (created or not old_ids or old_ids[0] != ids[0]):
            await self._pin(channel, ids[0])
        (report.created if created or not old_ids else report.updated).append(item.title)

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
            if fp == item.post_fingerprint and await self._posts_exist(channel, item.post_message_ids[:1]):
                report.unchanged.append(item.title)
                return
            starter = await self._write_posts(channel, item.post_message_ids[:1], parts[:1])
            rest = await self._write_in_thread(thread, item.post_message_ids[1:], parts[1:])
            await self.repo.agenda.save_place(
                item.id, channel_id=channel.id, thread_id=thread.id,
                starter_message_id=starter[0], post_message_ids=starter + rest, post_fingerprint=fp,
            )
            report.updated.append(item.title)
            return
        # No thread (first publish, or an admin deleted it): post the starter, open the thread.
        if item.post_message_ids and item.channel_id == channel.id:
            await self._delete_quietly(channel, item.post_message_ids[0])
        starter = await channel.send(embeds=part_embeds(parts[0]))
        try:
            thread = await starter.create_thread(
                name=thread_name(item.title), auto_archive_duration=SUB_ITEM_AUTO_ARCHIVE,
                reason="agenda sub-item")
        except discord.HTTPException:  # no starter post without its thread
            await self._delete_quietly(channel, starter.id)
            raise
        await self.repo.agenda.save_place(
            item.id, channel_id=channel.id, thread_id=thread.id, starter_message_id=starter.id,
            post_message_ids=[starter.id],
        )
        rest = await self._write_posts(thread, [], parts[1:])
        await self.repo.agenda.save_place(
            item.id, channel_id=channel.id, thread_id=thread.id, starter_message_id=starter.id,
            post_message_ids=[starter.id, *rest], post_fingerprint=fp,
        )
        report.created.append(item.title)

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
        self, thread: discord.Thread, old_ids: list[int], parts: list[ArticlePart]
    ) -> list[int]:
        """`_write_posts` inside a thread that Discord may have archived meanwhile: unarchive
        it for the edit (a cached thread may say "active" and still be refused), then
        archive it again as it was."""
        if not parts and not old_ids:
            return []
        was_archived = thread.archived
        if was_archived:
            thread = await thread.edit(archived=False)
        try:
            ids = await self._write_posts(thread, old_ids, parts)
        except discord.HTTPException as exc:
            if exc.code != THREAD_ARCHIVED or was_archived:
                raise
            was_archived = True
            thread = await thread.edit(archived=False)
            ids = await self._write_posts(thread, old_ids, parts)
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
        self, channel: discord.abc.Messageable, old_ids: list[int], parts: list[ArticlePart]
    ) -> list[int]:
        """Edit the existing posts in place and send what is missing; delete the surplus.

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
                await existing[index].edit(content=part.content, embeds=part_embeds(part))
                ids.append(existing[index].id)
            else:
                sent = await channel.send(content=part.content, embeds=part_embeds(part))
                ids.append(sent.id)
        for surplus in old_ids[len(parts):]:
            await self._delete_quietly(channel, surplus)
        return ids

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
