"""Catch-up: after a start or a reconnect, record what was said while the bot was away.

Discord is the source of truth. For every followed channel and thread (archived
threads included) the bot reads history after the newest message it has seen,
in order; then it re-reads a recent window to pick up edits, deletions and
reactions that happened while it was down.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.adapters import incoming, is_participant_message, parent_id_of
from bot.core.discussion import DiscussionService
from bot.storage import Repository

log = logging.getLogger(__name__)

RECONCILE_WINDOW = 500  # recent messages per channel re-read for edits, deletions, reactions
PAGE = 500  # messages stored per transaction while catching up (5 history pages)


class CatchUp:
    def __init__(self, bot: discord.Client, repo: Repository, discussion: DiscussionService) -> None:
        self.bot = bot
        self.repo = repo
        self.discussion = discussion
        self._lock = asyncio.Lock()
        self.runs = 0

    async def run(self) -> dict[str, int]:
        """One full pass; concurrent calls wait and then run again (a reconnect mid-pass)."""
        async with self._lock:
            stats = {"channels": 0, "recorded": 0, "deleted": 0}
            await self._discover_threads()
            for cursor in await self.repo.discussion.cursors():
                channel = await self._channel(cursor.channel_id)
                if channel is None:
                    continue
                stats["channels"] += 1
                try:
                    recorded, deleted = await self._catch_up_channel(channel, cursor.last_message_id)
                except discord.Forbidden:
                    log.warning("cannot read history of channel %s: missing permission", channel.id)
                    continue
                stats["recorded"] += recorded
                stats["deleted"] += deleted
            self.runs += 1
            log.info("catch-up done: %s", stats)
            return stats

    async def _channel(self, channel_id: int):
        channel = self.bot.get_channel(channel_id)
        if channel is not None:
            return channel
        try:
            return await self.bot.fetch_channel(channel_id)
        except discord.NotFound:  # deleted: stop following it (a re-publish follows the new one)
            await self.repo.discussion.forget_channel(channel_id)
            return None
        except discord.Forbidden:
            log.warning("channel %s is not visible to the bot", channel_id)
            return None

    async def _discover_threads(self) -> None:
        """Follow participants' threads in item channels, archived ones included."""
        for item in await self.repo.agenda.all_items():
            if item.parent_id is not None or not item.channel_id:
                continue
            channel = self.bot.get_channel(item.channel_id)
            if not isinstance(channel, discord.TextChannel):
                continue
            threads = list(channel.threads)
            try:
                threads += [t async for t in channel.archived_threads(limit=None)]
            except discord.HTTPException as exc:
                log.warning("cannot list archived threads of #%s: %s", channel.name, exc)
            for thread in threads:
                if await self.repo.agenda.item_at(thread.id) is None:
                    await self.repo.discussion.follow(thread.id, item.id, channel.id)

    async def _catch_up_channel(self, channel, last_seen: int) -> tuple[int, int]:
        recorded = 0
        parent_id = parent_id_of(channel)
        page: list = []
        newest = last_seen
        async for message in channel.history(
            limit=None, after=discord.Object(last_seen), oldest_first=True
        ):
            if is_participant_message(message):
                page.append(incoming(message))
            if len(page) >= PAGE:
                recorded += await self.discussion.record_new(page, parent_id=parent_id)
                page = []
            newest = message.id
        recorded += await self.discussion.record_new(page, parent_id=parent_id)
        if newest > last_seen:  # bot messages and notices after the last comment
            await self.repo.discussion.advance_cursor(channel.id, newest)
        window = [m async for m in channel.history(limit=RECONCILE_WINDOW)]
        stored = {c.message_id: c for c in await self.repo.discussion.comments_in_channel(channel.id)}
        recorded += await self._reconcile_edits(window, stored, parent_id)
        return recorded, await self._reconcile_deletions(window, stored)

    async def _reconcile_edits(
        self, window: list[discord.Message], stored: dict, parent_id: int | None
    ) -> int:
        """Record edits and reactions made to recent messages while the bot was away."""
        changed = 0
        humans = [m for m in window if is_participant_message(m)]
        tally = await self.repo.discussion.reaction_tally([m.id for m in humans])
        for message in humans:
            known = stored.get(message.id)
            if known is None or (known.content != message.content and known.erased_at is None):
                outcome = await self.discussion.record(incoming(message), parent_id=parent_id)
                changed += bool(outcome and outcome.changed)
            shown = {str(r.emoji): r.count for r in message.reactions}
            if shown != tally.get(message.id, {}):
                pairs = [
                    (user.id, str(reaction.emoji))
                    for reaction in message.reactions
                    async for user in reaction.users(limit=None)
                ]
                await self.repo.discussion.replace_reactions(message.id, pairs)
        return changed

    async def _reconcile_deletions(self, window: list[discord.Message], stored: dict) -> int:
        """Tombstone stored comments of the window that Discord no longer has."""
        present = {m.id for m in window}
        oldest = min(present) if len(window) >= RECONCILE_WINDOW else 0
        missing = [
            c.message_id
            for c in stored.values()
            if c.deleted_at is None and c.message_id >= oldest and c.message_id not in present
        ]
        return await self.repo.discussion.delete_messages(missing)
