"""/export of a consultation with N stored comments, as the bot builds it: the report
(Markdown and HTML with map and chart) and every data file (CSV and JSON). It prints the
wall time and the longest event-loop stall while it ran: the bot keeps answering other
people during an export only if the stall stays short (target: no stall over 100 ms).

The item's summary is warmed first, as the bot does after catch-up, so the figure is
the export's own work.

    python bench/export.py [--comments N ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.summary_request import AGREE, DISAGREE, fill  # noqa: E402
from bot.core.insight import InsightService  # noqa: E402
from bot.core.report import ReportBuilder  # noqa: E402
from bot.storage import Repository  # noqa: E402

STALL_TARGET_MS = 100


class LoopLag:
    """The worst lateness of a 10 ms sleep on the event loop while it runs."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _probe(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - start - 0.01)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()


async def measure(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = await Repository.open(Path(tmp) / "bench.db")
        try:
            item_id = await fill(repo, n, seed)
            item = await repo.agenda.item(item_id)
            consultation = (await repo.agenda.consultations(1))[0]
            insight = InsightService(repo, [AGREE], [DISAGREE])
            await insight.warm([item])
            reports = ReportBuilder(repo, insight)
            await asyncio.sleep(0.05)  # let the probe start from an idle loop
            with LoopLag() as lag:
                start = time.perf_counter()
                files = await reports.build(consultation, "all")
                wall = time.perf_counter() - start
        finally:
            await repo.close()
    return {"comments": n, "seconds": round(wall, 2), "max_stall_ms": round(lag.worst * 1000),
            "files": len(files), "mb": round(sum(map(len, files.values())) / 2**20, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, action="append",
                        help="comments in the consultation (repeatable); default 10000, 100000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [await measure(n, args.seed) for n in args.comments or [10_000, 100_000]]
    print(f"{'comments':>9} {'export s':>9} {'max stall ms':>13} {'target':>7} {'files':>6} {'MB':>6}")
    for r in rows:
        verdict = "within" if r["max_stall_ms"] <= STALL_TARGET_MS else "OVER"
        print(f"{r['comments']:>9,} {r['seconds']:>9.2f} {r['max_stall_ms']:>13} "
              f"{verdict:>7} {r['files']:>6} {r['mb']:>6}")
    print(f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; stall target "
          f"{STALL_TARGET_MS} ms.")


if __name__ == "__main__":
    asyncio.run(main())
