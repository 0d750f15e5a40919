"""What /about costs on a busy consultation: its "Related topics" come from the topic map.

    python bench/about.py [--topics 100] [--comments 1000] [--json PATH]

Seeds a temporary database with TOPICS agenda items of COMMENTS comments each (synthetic
text from bench.corpus, one seed per topic), then times InsightService.related() as /about
calls it: cold (a fresh process: the whole map is built from every comment), then warm
after one new comment in one topic (only that topic's evidence is read and hashed again),
then with nothing changed (served from the cache). Target: a warm /about after a new
comment well inside Discord's 3-second window, whatever the consultation's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_corpus  # noqa: E402
from bot.core.insight import InsightService  # noqa: E402
from bot.storage import Repository  # noqa: E402
from bot.storage.models import IncomingMessage  # noqa: E402

TARGET_WARM_SECONDS = 0.5


async def seed(repo: Repository, topics: int, comments: int, guild_id: int = 1) -> list[int]:
    """TOPICS items (channel ids 1000+n) with COMMENTS stored comments each; item ids."""
    consultation = await repo.agenda.upsert_consultation(guild_id, "bench", "Bench", "")
    ids = []
    for n in range(topics):
        item, _ = await repo.agenda.upsert_item(
            consultation.id, f"topic-{n}", parent_id=None, position=n, title=f"Topic {n}",
            summation=f"Question number {n}.", body="What should be done?")
        await repo.agenda.save_place(item.id, channel_id=1000 + n)
        corpus = make_corpus(comments, seed=n)
        batch = [(IncomingMessage(message_id=(n + 1) * 10_000_000 + k, channel_id=1000 + n,
                                  author_id=c.author_id, content=c.text,
                                  created_at=c.created_at), [], [])
                 for k, c in enumerate(corpus.comments)]
        await repo.discussion.record_new(item.id, batch)
        ids.append(item.id)
    return ids


async def measure(topics: int, comments: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = await Repository.open(Path(tmp) / "bench.db")
        try:
            t0 = time.perf_counter()
            ids = await seed(repo, topics, comments)
            seeded = time.perf_counter() - t0
            insight = InsightService(repo, ["👍"], ["👎"])
            item = await repo.agenda.item(ids[0])
            t0 = time.perf_counter()
            await insight.related(item)
            cold = time.perf_counter() - t0
            new = IncomingMessage(message_id=1, channel_id=1001, author_id=7,
                                  content="One more thought on topic one.",
                                  created_at=datetime.now(UTC))
            await repo.discussion.record_new(ids[1], [(new, [], [])])
            t0 = time.perf_counter()
            await insight.related(item)
            warm = time.perf_counter() - t0
            t0 = time.perf_counter()
            await insight.related(item)
            cached = time.perf_counter() - t0
        finally:
            await repo.close()
    return {"topics": topics, "comments_per_topic": comments, "seed_seconds": round(seeded, 2),
            "cold_seconds": round(cold, 3), "after_one_comment_seconds": round(warm, 3),
            "unchanged_seconds": round(cached, 4), "target_after_one_comment": TARGET_WARM_SECONDS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--topics", type=int, default=100)
    ap.add_argument("--comments", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    result = asyncio.run(measure(args.topics, args.comments))
    print(f"/about related topics, {args.topics} topics x {args.comments} comments "
          f"(seeded in {result['seed_seconds']} s)")
    print(f"  cold (whole map):          {result['cold_seconds']:.3f} s")
    print(f"  after one new comment:     {result['after_one_comment_seconds']:.3f} s   "
          f"(target <= {TARGET_WARM_SECONDS} s)")
    print(f"  nothing changed (cached):  {result['unchanged_seconds']:.4f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["after_one_comment_seconds"] <= TARGET_WARM_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
