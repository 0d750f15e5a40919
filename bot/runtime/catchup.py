"""Catch-up: after a new gateway session (READY), record what was said while the bot was away.

Discord is the source of truth, and message ids are time-ordered snowflakes. A RESUME needs
no catch-up: Discord replays the missed events itself. After a READY, for every followed
channel and thread:

- **new messages**: history is read *after* the channel's cursor, in order, 100 a request;
  a channel whose newest message (from the gateway's channel data) is not newer than its
  cursor costs no request;
- **changes made while the bot was away** (edits, deletions, reactions) to comments it had
  stored: Discord cannot list them, so stored comments posted from `recheck_before` before
  the downtime up to the cursor are re-read, newest first, at most `recheck_pages` pages a
  channel. Comments older than that are *not verified*: the channel's `unverified_before`
  records it, the pass logs it, and `/about` says how many comments it concerns;
- reaction users are fetched only for a message whose counts (normal + super reactions)
  differ from what is stored.

Deletions while down are applied once seen (through `DiscussionService.delete`); commands
that read the record wait for the pass (see `settled`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import discord

from bot.core.discussion import DiscussionService
from bot.runtime.adapters import in_private_thread, incoming, is_participant_message, parent_id_of
from bot.storage import Repository

log = logging.getLogger(__name__)

HISTORY_PAGE = 100  # messages per history request (Discord's maximum)
BATCH = 500  # messages stored per transaction while catching up


@dataclass
class Pass:
    """What one catch-up pass knows before it reads anything."""

    epoch: int
    cursors: dict[int, int]  # channel -> last message read in order, before the pass
    recheck_from: int  # stored comments with an id from here up to the cursor are re-read
    threads: dict[int, discord.Thread] = field(default_factory=dict)  # found by discovery
    unverified: dict[int, int] = field(default_factory=dict)  # channel -> not re-checked below


class CatchUp:
    """One pass reads every followed channel; a channel that fails (a 429 after discord.py's
    own retries, a 5xx, a database error) does not stop the others and is tried again with
    backoff, from its cursor, until it is done. A deleted channel is forgotten; a `Forbidden`
    one, and one still failing after `max_rounds`, keeps its gap and is left in `left`: the
    cog tries those again after `gap_retry`."""

    backoff = 0.5  # seconds before the first retry of the channels that failed; doubles
    max_backoff = 30.0
    max_rounds = 10  # then the pass ends; the failed channels keep their gap for the next pass
    #: stored comments posted up to this long before the downtime are re-checked for changes
    recheck_before = timedelta(hours=24)
    #: history pages read per channel for that re-check, at most (100 messages a page)
    recheck_pages = 10
    #: how long commands that read the record wait for a running pass
    settle_timeout = 10.0
    #: channels a pass gave up on are tried again after this long (doubling, up to an hour),
    #: without waiting for a new session: a RESUME does not run catch-up
    gap_retry = 300.0
    max_gap_retry = 3600.0
    #: channels read at the same time
    concurrency = 4

    def __init__(self, bot: discord.Client, repo: Repository, discussion: DiscussionService) -> None:
        self.bot = bot
        self.repo = repo
        self.discussion = discussion
        self._lock = asyncio.Lock()
        self.runs = 0
        self.left: set[int] = set()  # channels the last pass gave up on (to try again)
        self._settled = asyncio.Event()  # not before the first pass of a session is done

    # --- "is the record up to date?" -------------------------------------------------------

    def begin(self) -> None:
        """A new session: what is stored may be behind Discord until a pass is done."""
        self._settled.clear()

    def finish(self) -> None:
        self._settled.set()

    @property
    def settled(self) -> bool:
        return self._settled.is_set()

    async def wait_settled(self, timeout: float | None = None) -> bool:
        """Wait (bounded) for the running catch-up; False if it is still running."""
        if self._settled.is_set():
            return True
        try:
            await asyncio.wait_for(self._settled.wait(), self.settle_timeout if timeout is None
                                   else timeout)
        except TimeoutError:
            return False
        return True

    # --- the pass ----------------------------------------------------------------------------

    async def run(self, only: set[int] | None = None) -> dict[str, int]:
        """One full pass (or one over the channels in `only`); concurrent calls wait."""
        async with self._lock:
            return await self._run(only)

    async def _run(self, only: set[int] | None) -> dict[str, int]:
        stats = {"channels": 0, "recorded": 0, "deleted": 0, "retries": 0, "unverified": 0}
        # Cursors first: live messages never move them over a hole (see DiscussionService),
        # and each channel is resumed from its stored cursor after a failure.
        cursors = {c.channel_id: c.last_message_id for c in await self._cursors()
                   if only is None or c.channel_id in only}
        this = Pass(self.discussion.epoch, cursors, self._recheck_from(cursors))
        if only is None:
            try:
                await self._discover_threads(this)
            except Exception:
                log.exception("thread discovery failed; followed channels are caught up anyway")
        pending = list(cursors) + [c.channel_id for c in await self._cursors()
                                   if c.channel_id not in cursors and only is None]
        delay = self.backoff
        left: set[int] = set()
        while True:
            failed = []
            for channel_id, done, exc in await self._each(pending, this):
                if isinstance(exc, discord.Forbidden):
                    log.warning("cannot read history of channel %s: missing permission", channel_id)
                    this.unverified[channel_id] = this.cursors.get(channel_id, 0) + 1
                    left.add(channel_id)
                    continue
                if exc is not None:  # HTTPException after retries, 5xx, database errors
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
                          "and they are read again later (gap_retry)", failed, stats["retries"])
                stats["given_up"] = len(failed)
                for channel_id in failed:
                    this.unverified[channel_id] = this.cursors.get(channel_id, 0) + 1
                left.update(failed)
                break
            pending = failed
            stats["retries"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        stats["unverified"] = await self._record_unverified(this)
        self.left = left if only is None else (self.left - set(cursors)) | left
        self.runs += 1
        log.info("catch-up done: %s", stats)
        return stats

    async def _cursors(self):
        """The cursors of the channels in guilds this process owns: with several shard
        processes on one database, each catches up its own guilds (it gets their events)."""
        cursors = await self.repo.discussion.cursors()
        settings = getattr(self.bot, "settings", None)
        if settings is None or settings.shards is None:  # one process owns every guild
            return cursors
        mine = {i.id for i in await self.repo.agenda.all_items() if self.bot.owns_guild(i.guild_id)}
        return [c for c in cursors if c.item_id in mine]

    async def _each(self, channel_ids: list[int], this: Pass) -> list[tuple]:
        """Catch up channels `concurrency` at a time (Discord limits history reads per
        channel, so different channels need not wait for each other):
        (channel id, result or None, exception or None) in the order given."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(channel_id: int) -> tuple:
            async with gate:
                try:
                    return channel_id, await self._catch_up_one(channel_id, this), None
                except Exception as exc:
                    return channel_id, None, exc
        return list(await asyncio.gather(*(one(c) for c in channel_ids)))

    def _recheck_from(self, cursors: dict[int, int]) -> int:
        """The oldest message id re-checked: `recheck_before` before the newest message the
        bot had seen (the downtime began after it; the id dates it)."""
        newest = max(cursors.values(), default=0)
        if not newest:
            return 0
        since = discord.utils.snowflake_time(newest) - self.recheck_before
        return max(0, discord.utils.time_snowflake(since))

    async def _record_unverified(self, this: Pass) -> int:
        """Store, per channel, below which id comments were not re-checked; say it once."""
        marks = {}
        for channel_id in this.cursors:
            before = this.unverified.get(channel_id, this.recheck_from)
            marks[channel_id] = before
        count = await self.repo.discussion.set_unverified(marks)
        if count:
            since = discord.utils.snowflake_time(this.recheck_from) if this.recheck_from else None
            log.warning(
                "catch-up: %d stored comment(s) were not re-checked for edits, deletions or "
                "reactions made while the bot was offline (posted before %s, or in channels "
                "that could not be read); /about shows them per topic", count,
                since.isoformat(timespec="seconds") if since else "the downtime",
            )
        return count

    async def _catch_up_one(self, channel_id: int, this: Pass) -> tuple[int, int] | None:
        cursor = await self.repo.discussion.cursor(channel_id)
        if cursor is None:
            return None
        channel = await self._channel(cursor, this)
        if channel is None:
            return None
        return await self._catch_up_channel(channel, cursor.last_message_id, this)

    async def _channel(self, cursor, this: Pass):
        channel_id = cursor.channel_id
        channel = self.bot.get_channel(channel_id) or this.threads.get(channel_id)
        if channel is not None:
            return channel
        if cursor.parent_id is not None:
            # A thread neither active nor archived since the re-check window began: nothing
            # was posted there (a post unarchives it), and its comments are older than the
            # window. No request.
            return None
        try:
            return await self.bot.fetch_channel(channel_id)
        except discord.NotFound:  # deleted: stop following it (a re-publish follows the new one)
            await self.repo.discussion.forget_channel(channel_id)
            return None
        except discord.Forbidden:
            log.warning("channel %s is not visible to the bot", channel_id)
            this.unverified[channel_id] = this.cursors.get(channel_id, 0) + 1
            return None

    async def _discover_threads(self, this: Pass) -> None:
        """Follow participants' threads in item channels: the active ones (from the gateway)
        and those archived since the re-check window began (newest first, so the listing
        stops there instead of paging through every archived thread)."""
        since = discord.utils.snowflake_time(this.recheck_from) if this.recheck_from else None
        forums: set[int] = set()
        owns = getattr(self.bot, "owns_guild", lambda _guild_id: True)
        for item in await self.repo.agenda.all_items():
            if not item.channel_id or not owns(item.guild_id):
                continue
            channel = self.bot.get_channel(item.channel_id)
            if isinstance(channel, discord.ForumChannel):
                # layout = "forum": the items' posts are the forum's threads (followed since
                # publishing); a participant's own post there is no item's and is not followed
                if channel.id not in forums:
                    forums.add(channel.id)
                    for thread in await self._threads_of(channel, since):
                        if await self.repo.agenda.item_at(thread.id) is not None:
                            this.threads[thread.id] = thread
                continue
            if item.parent_id is not None or not isinstance(channel, discord.TextChannel):
                continue
            for thread in await self._threads_of(channel, since):
                if in_private_thread(thread):  # seen through Manage Threads, never recorded
                    continue
                this.threads[thread.id] = thread
                if await self.repo.agenda.item_at(thread.id) is None:
                    await self.repo.discussion.follow(thread.id, item.id, channel.id)

    @staticmethod
    async def _threads_of(channel: discord.TextChannel | discord.ForumChannel,
                          since) -> list[discord.Thread]:
        """The channel's active threads and those archived since ``since`` (newest first)."""
        threads = list(channel.threads)
        try:
            async for thread in channel.archived_threads(limit=None):
                if since is not None and _archived_at(thread) < since:
                    break
                threads.append(thread)
        except discord.HTTPException as exc:
            log.warning("cannot list archived threads of #%s: %s", channel.name, exc)
        return threads

    async def _catch_up_channel(self, channel, last_seen: int, this: Pass) -> tuple[int, int]:
        parent_id = parent_id_of(channel)
        recorded = deleted = 0
        # The channel's newest message id, from the gateway's (or a listing's) channel data,
        # kept current by live messages; None: no message was ever posted there.
        newest_known = getattr(channel, "last_message_id", 0)
        if newest_known is not None and (newest_known == 0 or newest_known > last_seen):
            recorded, deleted = await self._read_new(channel, last_seen, parent_id, newest_known)
        # Read in order up to the live stream: the hole is closed (bot messages and notices
        # after the last comment count too), and live messages may move the cursor again.
        await self.repo.discussion.close_gap(channel.id, last_seen)
        self.discussion.mark_in_sync(channel.id, this.epoch)
        changed, gone = await self._recheck(channel, this, parent_id)
        return recorded + changed, deleted + gone

    async def _read_new(
        self, channel, last_seen: int, parent_id: int | None, newest_known: int | None
    ) -> tuple[int, int]:
        """Messages after the cursor, oldest first, stored BATCH at a time. Comments already
        stored there (received live while a hole was open) are compared instead."""
        hole = await self.repo.discussion.stored_texts(channel.id, last_seen + 1, 2**63 - 1)
        recorded = 0
        page: list = []
        again: list[discord.Message] = []
        newest = last_seen
        async for message in channel.history(
            limit=None, after=discord.Object(last_seen), oldest_first=True
        ):
            if message.id in hole:
                again.append(message)
            elif is_participant_message(message):
                page.append(incoming(message))
            if len(page) >= BATCH:
                recorded += await self.discussion.record_new(page, parent_id=parent_id)
                page = []
            newest = message.id
            if newest_known and newest >= newest_known:
                break  # the channel's newest message when the read began: no empty last page
        recorded += await self.discussion.record_new(page, parent_id=parent_id)
        # Nothing after `newest` existed when the read began, up to the channel's newest id
        # known then (it may name a deleted message, or a thread's starter in the parent):
        # the cursor goes there, so the channel is not read again for nothing.
        await self.repo.discussion.close_gap(channel.id, max(newest, newest_known or 0))
        recorded += await self._reconcile_edits(again, hole, parent_id)
        # History was read in order up to `newest`: a stored comment up to there that it
        # did not return is deleted (newer ones arrived live meanwhile: not judged).
        present = {m.id for m in again}
        missing = [i for i in hole if i <= newest and i not in present]
        return recorded, await self.discussion.delete(missing, channel.id)

    async def _recheck(self, channel, this: Pass, parent_id: int | None) -> tuple[int, int]:
        """Re-read the stored comments of the re-check window (up to the pre-pass cursor):
        edits, reactions and deletions made while the bot was away. Bounded: at most
        `recheck_pages` pages, newest first; what lies below is recorded as not verified."""
        upper = this.cursors.get(channel.id, 0)
        lower = this.recheck_from
        limit = self.recheck_pages * HISTORY_PAGE
        # Only what the bounded re-read can reach, as plain rows, not every comment of a
        # channel that may hold a million: the newest `limit` messages on Discord are at most
        # the newest `limit` stored comments plus those deleted there meanwhile (twice the cap
        # allows for as many deletions; below the oldest row read, comments are recorded as
        # not verified rather than judged).
        stored = await self.repo.discussion.stored_texts(channel.id, lower, upper,
                                                         newest=2 * limit)
        if not stored:
            this.unverified[channel.id] = lower
            return 0, 0
        lower = min(stored)  # nothing older needs reading (or can be, within the page cap)
        window, reached = [], False
        async for message in channel.history(limit=limit, before=discord.Object(upper + 1)):
            if message.id < lower:
                reached = True
                break
            window.append(message)
        if len(window) >= limit and not reached:
            lower = min(m.id for m in window)  # the page cap cut the re-check short here
        this.unverified[channel.id] = lower
        changed = await self._reconcile_edits(window, stored, parent_id)
        present = {m.id for m in window}
        missing = [i for i, c in stored.items() if lower <= i <= upper and i not in present]
        return changed, await self.discussion.delete(missing, channel.id)

    async def _reconcile_edits(
        self, window: list[discord.Message], stored: dict, parent_id: int | None
    ) -> int:
        """Record edits and reactions made to re-read messages while the bot was away."""
        changed = 0
        humans = [m for m in window if is_participant_message(m)]
        tally = await self.repo.discussion.reaction_tally([m.id for m in humans])
        for message in humans:
            known = stored.get(message.id)
            fresh = incoming(message)
            if known is None or (known.content != fresh.content and known.erased_at is None):
                outcome = await self.discussion.record(fresh, parent_id=parent_id)
                changed += bool(outcome and outcome.changed)
            # count = normal + super reactions; the users endpoint lists each type apart
            shown = {str(r.emoji): r.normal_count + r.burst_count for r in message.reactions}
            if shown != tally.get(message.id, {}):
                await self.repo.discussion.replace_reactions(
                    message.id, await _reaction_users(message)
                )
        return changed


async def _reaction_users(message: discord.Message) -> list[tuple[int, str]]:
    pairs = []
    for reaction in message.reactions:
        for kind, count in ((discord.ReactionType.normal, reaction.normal_count),
                            (discord.ReactionType.burst, reaction.burst_count)):
            if count:
                pairs += [(user.id, str(reaction.emoji))
                          async for user in reaction.users(limit=None, type=kind)]
    return pairs


def _archived_at(thread: discord.Thread) -> datetime:
    return thread.archive_timestamp or discord.utils.snowflake_time(thread.id)


async def settled_note(bot: discord.Client) -> str | None:
    """For commands that read the record: wait (bounded) for a running catch-up, and return
    a sentence to add to the answer if it is still running (None when up to date)."""
    cog = bot.get_cog("DiscussionCog")
    catchup: CatchUp | None = getattr(cog, "catchup", None)
    if catchup is None:
        return None
    if not await catchup.wait_settled():
        return ("⏳ The bot is still catching up on what happened while it was offline: edits, "
                "deletions and comments from that time may be missing from this answer. "
                "Ask again in a minute.")
    if catchup.left:
        n = len(catchup.left)
        return (f"⚠️ {n} channel{'s' if n != 1 else ''} or thread{'s' if n != 1 else ''} could "
                "not be read after the bot was offline: what was said there meanwhile is missing "
                "from this answer until the bot can read it (it keeps trying).")
    return None
