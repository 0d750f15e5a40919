"""`/agenda publish` in the background: not tied to the 15-minute interaction token.

A run is stored first (`publish_runs`: which items, how far it got), then published item by
item, one run at a time. Its progress is a message the bot owns in the channel where the
command was used (edited as it goes, never through the interaction's token), and the end —
done or failed — is reported there. A run still "running" when the bot stops (or is
killed) is resumed when it is ready again: items already published are found unchanged,
and the publisher's intents make sure nothing half-made is made twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import discord

from bot.core.discussion import DiscussionService
from bot.core.errors import UserError
from bot.core.text import truncate
from bot.runtime.publisher import INTENT_SLACK, NO_PINGS, Publisher, PublishReport
from bot.storage import Repository
from bot.storage.models import PublishRun

log = logging.getLogger(__name__)

Done = Callable[[PublishRun, str], Awaitable[None]]

#: progress edits: at most one per this many items, or per this many seconds
PROGRESS_EVERY_ITEMS = 10
PROGRESS_EVERY_SECONDS = 5.0


class _Superseded(Exception):
    """A newer /agenda publish of the same consultation took over."""


class PublishRuns:
    def __init__(self, bot: discord.Client, repo: Repository, publisher: Publisher,
                 discussion: DiscussionService) -> None:
        self.bot = bot
        self.repo = repo
        self.publisher = publisher
        self.discussion = discussion
        self._lock = asyncio.Lock()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        #: who waits for each run's outcome (the /agenda publish that made it, if any)
        self._waiters: dict[int, list[Done]] = {}

    @property
    def busy(self) -> bool:
        return self._lock.locked() or any(not t.done() for t in self._tasks.values())

    async def create(self, channel: discord.abc.Messageable, consultation_id: int, guild_id: int,
                     item_ids: list[int], changed_ids: list[int], title: str,
                     requested_by: int | None) -> tuple[PublishRun, discord.Message | None]:
        """Store a run and post its progress message (None if the bot cannot post there)."""
        run = await self.repo.publishing.create_run(
            consultation_id, guild_id, getattr(channel, "id", 0), item_ids, changed_ids,
            requested_by)
        # Stored before it is posted: a crash in between leaves a message the next run finds.
        message = await self._post(channel, f"Publishing “{truncate(title, 100)}”… "
                                            f"0/{len(item_ids)}")
        if message is not None:
            await self.repo.publishing.set_run_message(run.id, message.id)
        return run, message

    def spawn(self, run_id: int, on_done: Done | None = None) -> None:
        """Run it in the background; ``on_done`` hears how it ended, even when the run was
        already going (the restart resumer can pick up a run between the command storing it
        and spawning it) or had already ended."""
        if on_done is not None:
            self._waiters.setdefault(run_id, []).append(on_done)
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            return
        self._tasks[run_id] = asyncio.create_task(self._run(run_id),
                                                  name=f"publish-run-{run_id}")

    async def resume_all(self) -> int:
        """Resume every stored run that did not finish (after a restart); returns how many."""
        owns = getattr(self.bot, "owns_guild", lambda _guild_id: True)
        runs = [r for r in await self.repo.publishing.unfinished_runs() if owns(r.guild_id)]
        for run in runs:
            log.info("resuming publish run %d at %d/%d", run.id, run.done, len(run.item_ids))
            self.spawn(run.id)
        return len(runs)

    def cancel_all(self) -> None:
        """Stop the runs (they stay "running" in storage and resume at the next start)."""
        for task in self._tasks.values():
            task.cancel()

    # --- one run --------------------------------------------------------------------------

    async def _run(self, run_id: int) -> None:
        async with self._lock:
            run = await self.repo.publishing.run(run_id)
            if run is None:
                self._waiters.pop(run_id, None)
                return
            consultation = await self.repo.agenda.consultation(run.consultation_id)
            title = consultation.title if consultation else "the agenda"
            if run.status != "running":  # it ended before this was spawned: say how
                await self._tell(run, _ended_text(run, title))
                return
            try:
                await self._publish(run)
            except asyncio.CancelledError:
                raise
            except _Superseded:
                run = await self.repo.publishing.run(run_id) or run
                text = _ended_text(run, title)
                await self._show(run, text)
                await self._tell(run, text)
                return
            except Exception as exc:
                if self.bot.is_closed():  # stopping: resume at the next start
                    return
                run = await self.repo.publishing.run(run_id) or run
                reason = str(exc) if isinstance(exc, UserError) else _discord_reason(exc)
                if not isinstance(exc, UserError):
                    log.exception("publish run %d failed at %d/%d", run.id, run.done,
                                  len(run.item_ids))
                await self.repo.publishing.finish_run(run.id, "failed", reason[:500])
                run = await self.repo.publishing.run(run_id) or run
                text = _ended_text(run, title)
                await self._show(run, text)
                await self._tell(run, text)
                return
            await self.repo.publishing.finish_run(run.id, "done")
            run = await self.repo.publishing.run(run_id) or run
            self.bot.dispatch("consultation_published", run.guild_id, run.consultation_id)
            text = _ended_text(run, title)
            await self._show(run, text)
            await self._tell(run, text)

    async def _tell(self, run: PublishRun, text: str) -> None:
        for on_done in self._waiters.pop(run.id, []):
            await _quietly(on_done(run, text))

    async def _publish(self, run: PublishRun) -> None:
        guild = self.bot.get_guild(run.guild_id)
        consultation = await self.repo.agenda.consultation(run.consultation_id)
        if guild is None or consultation is None:
            raise UserError("the server or the consultation is no longer there.")
        report = PublishReport()
        total = len(run.item_ids)
        last_shown, shown_at = run.done, time.monotonic()
        for n in range(run.done, total):
            current = await self.repo.publishing.run(run.id)
            if current is None or current.status != "running":
                raise _Superseded
            item = await self.repo.agenda.item(run.item_ids[n])
            outcome = "unchanged"
            if item is not None:
                outcome = await self.publisher.publish_item(guild, consultation, item, report)
            await self.repo.publishing.record_progress(run.id, n + 1, outcome)
            if n + 1 < total and (n + 1 - last_shown >= PROGRESS_EVERY_ITEMS
                                  or time.monotonic() - shown_at >= PROGRESS_EVERY_SECONDS):
                last_shown, shown_at = n + 1, time.monotonic()
                title = item.title if item else ""
                await self._show(run, f"Publishing “{truncate(consultation.title, 100)}”… "
                                      f"{n + 1}/{total}: {truncate(title, 80)}")
        for item_id in run.changed_ids:
            item = await self.repo.agenda.item(item_id)
            if item is not None:
                await self.discussion.reanchor(item)

    # --- the progress message -------------------------------------------------------------

    async def _post(self, channel: discord.abc.Messageable, text: str) -> discord.Message | None:
        try:
            return await channel.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("cannot post publishing progress in %s: %s", channel, exc)
            return None

    async def _show(self, run: PublishRun, text: str) -> None:
        """Edit the run's progress message (posting a new one if it was deleted)."""
        channel = self.bot.get_channel(run.channel_id)
        if channel is None or not hasattr(channel, "get_partial_message"):
            return
        run = await self.repo.publishing.run(run.id) or run
        if run.message_id is None:  # posted, but the bot stopped before storing its id?
            found = await self._find_progress(channel, run)
            if found is not None:
                await self.repo.publishing.set_run_message(run.id, found)
                run = await self.repo.publishing.run(run.id) or run
        if run.message_id is not None:
            try:
                await channel.get_partial_message(run.message_id).edit(content=text)  # type: ignore[union-attr]
                return
            except discord.NotFound:
                pass
            except discord.HTTPException as exc:
                log.warning("cannot edit publishing progress: %s", exc)
                return
        message = await self._post(channel, text)  # type: ignore[arg-type]
        await self.repo.publishing.set_run_message(run.id, message.id if message else None)


    async def _find_progress(self, channel, run: PublishRun) -> int | None:  # type: ignore[no-untyped-def]
        """The bot's own "Publishing “…”" message posted for this run, if any."""
        consultation = await self.repo.agenda.consultation(run.consultation_id)
        if consultation is None or not hasattr(channel, "history"):
            return None
        prefix = f"Publishing “{truncate(consultation.title, 100)}”"
        taken = await self.repo.publishing.run_message_ids(run.consultation_id)
        since = discord.utils.time_snowflake(run.started_at - INTENT_SLACK)
        me = self.bot.user.id if self.bot.user else None
        try:
            async for message in channel.history(after=discord.Object(since), limit=100,
                                                 oldest_first=True):
                if (message.author.id == me and message.id not in taken
                        and (message.content or "").startswith(prefix)):
                    return message.id
        except discord.HTTPException:
            return None
        return None


def _ended_text(run: PublishRun, title: str) -> str:
    """How a run that is no longer running ended, in the words its channel shows."""
    shown = truncate(title, 100)
    if run.status == "done":
        return (f"Published “{shown}”: {len(run.item_ids)} items — {run.created} created, "
                f"{run.updated} updated, {run.unchanged} unchanged.")
    if run.status == "superseded":
        return (f"Publishing “{shown}” stopped after {run.done} of {len(run.item_ids)} items: "
                "a newer /agenda publish took over.")
    return (f"Publishing “{shown}” stopped after {run.done} of {len(run.item_ids)} items: "
            f"{run.error or 'it failed'}\nWhat is published stays; run /agenda publish again "
            "to finish.")


def _discord_reason(exc: Exception) -> str:
    if isinstance(exc, discord.Forbidden):
        return f"Discord refused it ({exc.text or 'missing permissions'})."
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status} ({exc.text or exc.code})."
    return "an unexpected error (see the bot's log)."


async def _quietly(awaitable: Awaitable[None]) -> None:
    with contextlib.suppress(discord.HTTPException):
        await awaitable
