"""A whole /summary request as the bot serves it, on a topic with N stored comments:
reading the comments and reactions from SQLite, clustering, rendering the embed and the
Markdown report. Cold: a fresh process, nothing prepared. Warm: comments loaded and their
features computed after catch-up, as the bot does, then one new comment arrives.

    python bench/summary_request.py [--comments N ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_corpus  # noqa: E402
from bot.core.insight import InsightService  # noqa: E402
from bot.storage import Repository  # noqa: E402
from bot.storage.models import IncomingMessage  # noqa: E402

AGREE, DISAGREE = "👍", "👎"


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


async def measure(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = await Repository.open(Path(tmp) / "bench.db")
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
        finally:
            await repo.close()
    return {"comments": n, "cold_seconds": round(cold_s, 3), "warm_seconds": round(warm_s, 3),
            "warm_cpu_seconds": round(warm_cpu, 3),
            "cached_seconds": round(cached_s, 3), "themes": len(warm.summary.themes),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, action="append",
                        help="comments on the topic (repeatable); default 1000, 10000, 100000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [await measure(n, args.seed) for n in args.comments or [1_000, 10_000, 100_000]]
    print(f"{'comments':>9} {'cold s':>8} {'warm s':>8} {'warm cpu':>9} {'cached s':>9} "
          f"{'themes':>7} {'peak MB':>8}")
    for r in rows:
        print(f"{r['comments']:>9,} {r['cold_seconds']:>8.2f} {r['warm_seconds']:>8.2f} "
              f"{r['warm_cpu_seconds']:>9.2f} "
              f"{r['cached_seconds']:>9.3f} {r['themes']:>7} {r['peak_rss_mb']:>8.0f}")
    print("warm cpu: CPU seconds of the warm request (all threads): on a busy shared machine "
          f"wall time overstates it. Load average now: {os.getloadavg()[0]:.1f}")
    print("Target: warm < 1 s at 100,000 comments (with every participant's votes read and "
          "opinion groups computed). Discord's limit: the bot defers at once; a deferred "
          "answer may take up to 15 minutes.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
