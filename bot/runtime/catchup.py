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

from bot.core.discussion import DiscussionService
from bot.runtime.adapters import in_private_thread, incoming, is_participant_message, parent_id_of
from bot.storage import Repository

log = logging.getLogger(__name__)

RECONCILE_WINDOW = 500  # recent messages per channel re-read for edits, deletions, reactions
PAGE = 500  # messages stored per transaction while catching up (5 history pages)


class CatchUp:
    """One pass reads every followed channel; a channel that fails (a 429 after discord.py's
    own retries, a 5xx, a database error) does not stop the others and is tried again with
    backoff, from its cursor, until it is done. Only `Forbidden` and deleted channels are
    given up (they cannot succeed)."""

    backoff = 0.5  # seconds before the first retry of the channels that failed; doubles
    max_backoff = 30.0
    max_rounds = 10  # then the pass ends; the failed channels keep their gap for the next pass

    def __init__(self, bot: discord.Client, repo: Repository, discussion: DiscussionService) -> None:
        self.bot = bot
        self.repo = repo
        self.discussion = discussion
        self._lock = asyncio.Lock()
        self.runs = 0

    async def run(self) -> dict[str, int]:
        """One full pass; concurrent calls wait and then run again (a reconnect mid-pass)."""
        async with self._lock:
            return await self._run()

    async def _run(self) -> dict[str, int]:
        epoch = self.discussion.epoch
        stats = {"channels": 0, "recorded": 0, "deleted": 0, "retries": 0}
        # Cursors first: live messages never move them over a hole (see DiscussionService),
        # and each channel is resumed from its stored cursor after a failure.
        pending = [c.channel_id for c in await self.repo.discussion.cursors()]
        try:
            await self._discover_threads()
        except Exception:
            log.exception("thread discovery failed; followed channels are caught up anyway")
        pending += [c.channel_id for c in await self.repo.discussion.cursors()
                    if c.channel_id not in pending]
        delay = self.backoff
        while True:
            failed = []
            for channel_id in pending:
                try:
                    done = await self._catch_up_one(channel_id, epoch)
                except discord.Forbidden:
                    log.warning("cannot read history of channel %s: missing permission", channel_id)
                    continue
                except Exception as exc:  # HTTPException after retries, 5xx, database errors
                    log.warning("catch-up of channel %s failed (%r); retrying from its cursor",
                                channel_id, exc)
                    failed.append(channel_id)
                    continue
                if done is None:
                    continue
                stats["channels"] += 1
                stats["recorded"] += done[0]
                stats["deleted"] += done[1]
            if not failed:
                break
            if stats["retries"] >= self.max_rounds:
                log.error("catch-up gave up on channels %s after %d retries; their gap is kept "
                          "and read again at the next reconnect", failed, stats["retries"])
                stats["given_up"] = len(failed)
                break
            pending = failed
            stats["retries"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        self.runs += 1
        log.info("catch-up done: %s", stats)
        return stats

    async def _catch_up_one(self, channel_id: int, epoch: int) -> tuple[int, int] | None:
        cursor = await self.repo.discussion.cursor(channel_id)
        if cursor is None:
            return None
        channel = await self._channel(channel_id)
        if channel is None:
            return None
        return await self._catch_up_channel(channel, cursor.last_message_id, epoch)

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
                if in_private_thread(thread):  # seen through Manage Threads, never recorded
                    continue
                if await self.repo.agenda.item_at(thread.id) is None:
                    await self.repo.discussion.follow(thread.id, item.id, channel.id)

    async def _catch_up_channel(self, channel, last_seen: int, epoch: int) -> tuple[int, int]:
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
        # Read in order up to the live stream: the hole is closed (bot messages and notices
        # after the last comment count too), and live messages may move the cursor again.
        await self.repo.discussion.close_gap(channel.id, newest)
        self.discussion.mark_in_sync(channel.id, epoch)
        window = [m async for m in channel.history(limit=RECONCILE_WINDOW)]
        stored = {c.message_id: c for c in await self.repo.discussion.comments_in_channel(channel.id)}
        recorded += await self._reconcile_edits(window, stored, parent_id)
        return recorded, await self._reconcile_deletions(window, stored, channel.id)

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

    async def _reconcile_deletions(
        self, window: list[discord.Message], stored: dict, channel_id: int
    ) -> int:
        """Tombstone stored comments of the window that Discord no longer has.

        Only ids inside the window read are judged: a comment newer than the window (it
        arrived live meanwhile) or older than it (not re-read) is not known to be deleted.
        The deletion goes through `DiscussionService.delete` (text erased, WAL checkpointed).
        """
        if not window:
            return 0  # nothing read: nothing can be judged (the channel may be empty, or not)
        present = {m.id for m in window}
        oldest = min(present) if len(window) >= RECONCILE_WINDOW else 0
        newest = max(present)
        missing = [
            c.message_id
            for c in stored.values()
            if c.deleted_at is None and oldest <= c.message_id <= newest
            and c.message_id not in present
        ]
        return await self.discussion.delete(missing, channel_id)
