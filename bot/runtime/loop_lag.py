"""Loop-lag probe (`LOOP_LAG_PROBE=1`): the longest time the event loop could not run.

A task sleeps `interval` (10 ms) in a loop; whatever it wakes up later than asked is time
the loop spent on something else without yielding: a stall, during which no command gets
an answer and no event is read. At exit the probe logs one line with the worst stall, and
with `LOOP_LAG_REPORT=path` also writes a JSON report (the worst stalls with the wall-clock
time each began, so a bench can tell which phase caused them).

Cheap enough to leave on: one timer wake-up every 10 ms. Off by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


class LoopLagProbe:
    interval = 0.010  # seconds the probe sleeps between looks
    keep = 100  # stalls kept in the report (the worst ones)

    def __init__(self, report_path: Path | None = None) -> None:
        self.report_path = report_path
        self.samples = 0
        self.worst = 0.0  # seconds
        self.late = 0.0  # seconds late in all (how long the loop was busy, as the probe saw)
        self.over_100ms = 0  # stalls longer than 100 ms (issue #17's bound)
        self.stalls: list[tuple[float, float]] = []  # min-heap of (seconds, wall time begun)
        self._task: asyncio.Task | None = None

    def start(self) -> LoopLagProbe:
        """Start probing the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-probe")
        return self

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            before = clock()
            await asyncio.sleep(self.interval)
            late = clock() - before - self.interval
            self.samples += 1
            self.late += max(late, 0.0)
            self.over_100ms += late > 0.1
            if late > self.worst:
                self.worst = late
            if len(self.stalls) < self.keep:
                heapq.heappush(self.stalls, (late, time.time() - late - self.interval))
            elif late > self.stalls[0][0]:
                heapq.heapreplace(self.stalls, (late, time.time() - late - self.interval))

    def report(self) -> dict:
        return {
            "interval_ms": self.interval * 1000,
            "samples": self.samples,
            "max_stall_ms": round(self.worst * 1000, 1),
            "stalls_over_100ms": self.over_100ms,
            "late_s": round(self.late, 2),
            "worst": [{"stall_ms": round(s * 1000, 1), "began_at": round(t, 3)}
                      for s, t in sorted(self.stalls, reverse=True)],
        }

    async def stop(self) -> dict:
        """Stop probing; log the worst stall (and write the report if asked)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
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
