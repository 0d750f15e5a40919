"""A whole /summary request as the bot serves it, on a topic with N stored comments:
reading the comments and reactions from SQLite, clustering, rendering the embed and the
Markdown report. Cold: a fresh process, nothing prepared. Warm: comments loaded and their
features computed after catch-up, as the bot does, then one new comment arrives.
Chart: what drawing the summary's PNG adds to a request (median of 3 fresh drawings;
target <= 0.3 s at 100,000 comments), and its size.

    python bench/summary_request.py [--comments N ...] [--json PATH]
    python bench/summary_request.py --backend postgres [--database-url postgresql://…]

(--backend postgres: each size in a new database on the server of --database-url, default
TEST_DATABASE_URL, e.g. from `eval "$(.ci/pg-start)"`; dropped afterwards.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_corpus  # noqa: E402
from bot.core.charts import render_summary_chart  # noqa: E402
from bot.core.insight import InsightService  # noqa: E402
from bot.storage import Repository  # noqa: E402
from bot.storage.models import IncomingMessage  # noqa: E402

AGREE, DISAGREE = "👍", "👎"
CHART_AT, CHART_TARGET = 100_000, 0.3  # the chart adds at most 0.3 s at 100,000 comments


async def fill(repo: Repository, n: int, seed: int) -> int:
    """Store the corpus as comments of one item, with its planted reactions."""
    consultation = await repo.agenda.upsert_consultation(1, "bench", "Bench", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                            title="Tackling cyber crime", summation="s", body="b")
    await repo.agenda.save_place(item.id, channel_id=500)
    corpus = make_corpus(n, seed)
    batch = [(IncomingMessage(message_id=c.comment_id, channel_id=500, author_id=c.author_id,
                              content=c.text, created_at=c.created_at), [], [])
             for c in corpus.comments]
    for i in range(0, len(batch), 1000):
        await repo.discussion.record_new(item.id, batch[i:i + 1000])
    reactions = []
    async with repo.db.reading() as tx:
        ids = {r[0]: r[1] for r in await tx.fetchall("SELECT message_id, id FROM comments")}
    for c in corpus.comments:
        reactions += [(ids[c.comment_id], 900_000 + k, AGREE) for k in range(c.agree)]
        reactions += [(ids[c.comment_id], 950_000 + k, DISAGREE) for k in range(c.disagree)]
    async with repo.db.transaction() as tx:
        await tx.executemany("INSERT INTO reactions (comment_id, user_id, emoji) VALUES (?, ?, ?)",
                             reactions)
    return item.id


def _timed_chart(title, summary):
    """The chart and the CPU time its drawing took in this (worker) thread: on a shared
    machine the wall time also counts the time other processes had the cores."""
    start = time.thread_time()
    png = render_summary_chart(title, summary)
    return png, time.thread_time() - start


async def measure(n: int, seed: int, server: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        if server:
            from bench.ingest import pg_database

            target = await pg_database(server, f"bench_summary_{os.getpid()}")
        repo = await Repository.open(target if server else Path(tmp) / "bench.db")
        try:
            item_id = await fill(repo, n, seed)
            item = await repo.agenda.item(item_id)
            cold_service = InsightService(repo, [AGREE], [DISAGREE])
            start = time.perf_counter()
            cold = await cold_service.summary(item)
            cold_s = time.perf_counter() - start

            warm_service = InsightService(repo, [AGREE], [DISAGREE])
            await warm_service.warm([item])  # what the bot does after catch-up
            # A participant comments: the cached summary is stale, one row has changed.
            await repo.discussion.record(item_id, IncomingMessage(
                message_id=1, channel_id=500, author_id=1, created_at=cold.summary.participation.last_activity,
                content="One more comment arrives: the 24/7 Network should answer at night."))
            item = await repo.agenda.item(item_id)
            start, cpu = time.perf_counter(), time.process_time()
            warm = await warm_service.summary(item)
            warm_s = time.perf_counter() - start
            warm_cpu = time.process_time() - cpu

            start = time.perf_counter()
            cached = await warm_service.summary(item)
            cached_s = time.perf_counter() - start
            assert cached.from_cache and not warm.from_cache and not cold.from_cache

            chart_times, chart_cpu = [], []
            for _ in range(3):  # drawn fresh each time, in a worker thread as the bot does
                start = time.perf_counter()
                png, cpu = await asyncio.to_thread(_timed_chart, item.title, warm.summary)
                chart_times.append(time.perf_counter() - start)
                chart_cpu.append(cpu)
            assert png is not None
            await warm_service.summary_chart(item, warm)  # the request's own, then kept
            start = time.perf_counter()
            assert await warm_service.summary_chart(item, warm) is not None
            chart_kept_s = time.perf_counter() - start
        finally:
            await repo.close()
            if server:
                await pg_database(server, f"bench_summary_{os.getpid()}", drop=True)
    return {"comments": n, "cold_seconds": round(cold_s, 3), "warm_seconds": round(warm_s, 3),
            "warm_cpu_seconds": round(warm_cpu, 3),
            "cached_seconds": round(cached_s, 3), "themes": len(warm.summary.themes),
            "chart_seconds": round(statistics.median(chart_times), 3),
            "chart_cpu_seconds": round(statistics.median(chart_cpu), 3), "chart_kb": len(png) // 1024,
            "chart_kept_seconds": round(chart_kept_s, 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, action="append",
                        help="comments on the topic (repeatable); default 1000, 10000, 100000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL server for --backend postgres (default TEST_DATABASE_URL)")
    args = parser.parse_args()
    server = None
    if args.backend == "postgres":
        if not args.database_url:
            raise SystemExit("--backend postgres needs --database-url or TEST_DATABASE_URL")
        server = args.database_url
        print("backend: PostgreSQL")
    rows = [await measure(n, args.seed, server) for n in args.comments or [1_000, 10_000, 100_000]]
    print(f"{'comments':>9} {'cold s':>8} {'warm s':>8} {'warm CPU':>9} {'cached s':>9} "
          f"{'chart s':>8} {'chart CPU':>9} {'chart KB':>9} {'themes':>7} {'peak MB':>8}")
    for r in rows:
        print(f"{r['comments']:>9,} {r['cold_seconds']:>8.2f} {r['warm_seconds']:>8.2f} "
              f"{r['warm_cpu_seconds']:>9.2f} "
              f"{r['cached_seconds']:>9.3f} {r['chart_seconds']:>8.2f} "
              f"{r['chart_cpu_seconds']:>9.2f} {r['chart_kb']:>9} "
              f"{r['themes']:>7} {r['peak_rss_mb']:>8.0f}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"warm CPU: CPU seconds of the warm request (all threads); on a busy shared machine "
          f"wall time overstates it. Load average {load:.1f} on {cores} cores.")
    for r in rows:
        if r["comments"] >= CHART_AT:
            wall = "within" if r["chart_seconds"] <= CHART_TARGET else "OVER"
            cpu = "within" if r["chart_cpu_seconds"] <= CHART_TARGET else "OVER"
            print(f"Chart at {r['comments']:,} comments: +{r['chart_seconds']:.2f} s wall "
                  f"({wall} target), {r['chart_cpu_seconds']:.2f} s CPU ({cpu} target); target "
                  f"<= {CHART_TARGET:.2f} s. Load average {load:.1f} on {cores} cores. Kept while "
                  f"what it shows is unchanged: an unchanged summary adds {r['chart_kept_seconds']:.4f} s.")
    print("Target: warm < 1 s at 100,000 comments (with every participant's votes read and "
          "opinion groups computed). Discord's limit: the bot defers at once; a deferred "
          "answer may take up to 15 minutes.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
