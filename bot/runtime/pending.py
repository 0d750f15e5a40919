"""Writes that could not be done now (disk full, I/O error, read-only file) wait here.

A gateway event is only delivered once: if the database refuses its write, the event
is kept, in order, in a bounded queue in memory and written again with backoff until the
database takes it. While anything waits, later writes queue behind it, so an edit is
never stored before the message it edits. The channel is marked for catch-up: its cursor
stays before the unwritten messages, and when the database is writable again a catch-up
pass re-reads what the queue had to drop (when it overflowed) from Discord's history.

One episode (from the first failure to the moment the queue is empty again) is logged
loudly once, at its start, and once at its end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.storage.database import WriteFailed

log = logging.getLogger(__name__)

T = TypeVar("T")


class PendingWrites:
    limit = 10_000  # events kept in memory; beyond that the oldest go (catch-up re-reads them)
    backoff = 0.5  # seconds before the first retry; doubles
    max_backoff = 30.0

    def __init__(self) -> None:
        self._queue: deque[tuple[int | None, Callable[[], Awaitable[object]]]] = deque()
        self._task: asyncio.Task | None = None
        self._episode_start: float | None = None
        self._episode_channels: set[int] = set()
        self._overflowed = False
        self.dropped = 0  # events dropped in the current episode (catch-up recovers them)
        self.stored_late = 0  # events stored from the queue in the current episode
        #: called with a channel id when a write for it fails (mark it for catch-up)
        self.on_failure: Callable[[int], None] = lambda _channel_id: None
        #: called with the channels concerned once the queue is empty again
        self.on_recovered: Callable[[set[int]], None] = lambda _channels: None

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def failing(self) -> bool:
        return self._episode_start is not None

    async def run(self, channel_id: int | None, write: Callable[[], Awaitable[T]]) -> T | None:
        """Do `write()` now, or keep it for later if the database cannot be written (or
        earlier writes still wait). Returns its result, or None when it was kept."""
        if not self._queue:
            try:
                return await write()
            except WriteFailed as exc:
                self._failed(exc)
        self._keep(channel_id, write)
        return None

    def _failed(self, exc: WriteFailed) -> None:
        if self._episode_start is None:
            self._episode_start = time.monotonic()
            self.dropped = self.stored_late = 0
            self._overflowed = False
            log.error("DATABASE WRITE FAILED (%s): keeping new events in memory (up to %d) and "
                      "retrying; free disk space or fix the database file. Nothing is lost "
                      "while the bot keeps running.", exc.reason, self.limit)

    def _keep(self, channel_id: int | None, write: Callable[[], Awaitable[object]]) -> None:
        if channel_id is not None:
            self._episode_channels.add(channel_id)
            self.on_failure(channel_id)
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            self.dropped += 1
            if not self._overflowed:
                self._overflowed = True
                log.error("the retry queue is full (%d events): dropping the oldest; catch-up "
                          "re-reads their channels from Discord once the database is writable",
                          self.limit)
        self._queue.append((channel_id, write))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        delay = self.backoff
        while self._queue:
            await asyncio.sleep(delay)
            while self._queue:
                _channel_id, write = self._queue[0]
                try:
                    await write()
                except WriteFailed:
                    delay = min(delay * 2, self.max_backoff)
                    break
                except Exception:  # a bug in one event must not hold the others back
                    log.exception("a queued write failed for another reason; it is dropped")
                    self.dropped += 1
                else:
                    self.stored_late += 1
                self._queue.popleft()
                delay = self.backoff
        self._recovered()

    def _recovered(self) -> None:
        if self._episode_start is None:
            return
        took = time.monotonic() - self._episode_start
        channels, self._episode_channels = self._episode_channels, set()
        self._episode_start = None
        log.warning("database writable again after %.1f s: %d queued event(s) stored, %d dropped "
                    "(re-read by catch-up) in %d channel(s)", took, self.stored_late, self.dropped,
                    len(channels))
        self.on_recovered(channels)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._queue:
            log.error("shutting down with %d event(s) not yet stored: catch-up at the next start "
                      "re-reads their channels (edits, deletions and reactions in its window)",
                      len(self._queue))
