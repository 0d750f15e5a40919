"""Loop-lag probe (`LOOP_LAG_PROBE=1`): the longest time the event loop could not run.

A task sleeps `interval` (10 ms) in a loop; whatever it wakes up later than asked is time
the loop spent on something else without yielding: a stall, during which no command gets
an answer and no event is read. At exit the probe logs one line with the worst stall, and
with `LOOP_LAG_REPORT=path` also writes a JSON report (the worst stalls with the wall-clock
time each began, so a bench can tell which phase caused them).

Cheap enough to leave on: one timer wake-up every 10 ms. Off by default.

With ``stacks=True`` (`LOOP_LAG_STACKS=1`) a watchdog thread also looks, every 20 ms,
whether the probe is overdue by more than 50 ms; if so it records where the loop's thread
is (its Python stack), and the report gives each of the worst stalls the stacks seen
during it: what to fix. (A C call that holds the GIL is seen as the Python line that made
it, once it lets go.)
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import sys
import threading
import time
import traceback
from pathlib import Path

log = logging.getLogger(__name__)


class LoopLagProbe:
    interval = 0.010  # seconds the probe sleeps between looks
    keep = 100  # stalls kept in the report (the worst ones)

    watch_every = 0.020  # seconds between the watchdog's looks (stacks=True)
    overdue = 0.050  # how late the probe must be for the watchdog to record a stack

    def __init__(self, report_path: Path | None = None, *, stacks: bool = False) -> None:
        self.report_path = report_path
        self.stacks = stacks
        self._expected = 0.0  # perf_counter time the probe should next wake (0: idle)
        self._seen: list[tuple[float, str]] = []  # (perf_counter time, stack) while overdue
        self._watch_stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        #: (seconds, wall time it began, stacks) of the worst stalls
        self._stall_stacks: list[tuple[float, float, list[str]]] = []
        self.samples = 0
        self.worst = 0.0  # seconds
        self.late = 0.0  # seconds late in all (how long the loop was busy, as the probe saw)
        self.over_100ms = 0  # stalls longer than 100 ms (issue #17's bound)
        self.stalls: list[tuple[float, float]] = []  # min-heap of (seconds, wall time begun)
        self._task: asyncio.Task | None = None

    def start(self) -> LoopLagProbe:
        """Start probing the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-probe")
        if self.stacks:
            self._watchdog = threading.Thread(target=self._watch, args=(threading.get_ident(),),
                                              name="loop-lag-watchdog", daemon=True)
            self._watchdog.start()
        return self

    def _watch(self, loop_thread: int) -> None:
        """Record the loop thread's stack whenever the probe is overdue, and those of the
        other threads that were not waiting: a thread holding the GIL in a C call stalls the
        loop while the loop's own stack shows it idle in its selector."""
        me = threading.get_ident()
        while not self._watch_stop.wait(self.watch_every):
            expected = self._expected
            now = time.perf_counter()
            if not expected or now - expected < self.overdue:
                continue
            frames = sys._current_frames()
            frame = frames.get(loop_thread)
            if frame is None:
                continue
            stack = "".join(traceback.format_stack(frame, limit=14))
            for ident, other in frames.items():
                if ident in (loop_thread, me) or _waiting(other):
                    continue
                stack += "--- another thread, busy:\n" + "".join(
                    traceback.format_stack(other, limit=8))
            if len(self._seen) < 2000:
                self._seen.append((now, stack))

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            before = clock()
            self._expected = before + self.interval
            await asyncio.sleep(self.interval)
            woke = clock()
            late = woke - before - self.interval
            if self.stacks and late > self.overdue:
                self._attach_stacks(before + self.interval, woke, late)
            self.samples += 1
            self.late += max(late, 0.0)
            self.over_100ms += late > 0.1
            if late > self.worst:
                self.worst = late
            if len(self.stalls) < self.keep:
                heapq.heappush(self.stalls, (late, time.time() - late - self.interval))
            elif late > self.stalls[0][0]:
                heapq.heapreplace(self.stalls, (late, time.time() - late - self.interval))

    def _attach_stacks(self, due: float, woke: float, late: float) -> None:
        """Keep the distinct stacks the watchdog saw during this stall (for the report)."""
        during = [stack for at, stack in self._seen if due <= at <= woke]
        self._seen = [(at, stack) for at, stack in self._seen if at > woke]
        if during:
            kept = self._stall_stacks
            began = time.time() - (time.perf_counter() - due)
            kept.append((late, began, list(dict.fromkeys(during))[:3]))
            kept.sort(key=lambda x: -x[0])
            del kept[10:]

    def report(self) -> dict:
        return {
            "interval_ms": self.interval * 1000,
            "samples": self.samples,
            "max_stall_ms": round(self.worst * 1000, 1),
            "stalls_over_100ms": self.over_100ms,
            "late_s": round(self.late, 2),
            "worst": [{"stall_ms": round(s * 1000, 1), "began_at": round(t, 3)}
                      for s, t in sorted(self.stalls, reverse=True)],
            **({"stacks": [{"stall_ms": round(s * 1000, 1), "began_at": round(t, 3), "stacks": st}
                           for s, t, st in self._stall_stacks]} if self.stacks else {}),
        }

    async def stop(self) -> dict:
        """Stop probing; log the worst stall (and write the report if asked)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._watch_stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=1)
            self._watchdog = None
        report = self.report()
        log.info("loop-lag probe: longest event-loop stall %.1f ms, %d over 100 ms, %.1f s late "
                 "in all (%d samples of %.0f ms)", report["max_stall_ms"], self.over_100ms,
                 self.late, self.samples, self.interval * 1000)
        if self.report_path is not None:
            try:
                self.report_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
            except OSError as exc:
                log.warning("loop-lag probe: cannot write %s: %s", self.report_path, exc)
        return report


def _waiting(frame) -> bool:  # type: ignore[no-untyped-def]
    """Whether a thread's innermost frame is a wait (a lock, a queue, a selector)."""
    name = frame.f_code.co_name
    return name in ("wait", "get", "select", "_worker", "_wait_for_tstate_lock") or (
        frame.f_code.co_filename.endswith(("threading.py", "queue.py", "selectors.py")))
