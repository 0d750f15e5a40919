"""Bytes on disk per stored comment, after a realistic fill, VACUUMed, beside the target.

    python bench/storage_size.py [--comments 1000000] [--json PATH] [--keep PATH]

The fill: comments written through the store's own bulk path (`record_new`, batches of 500,
as catch-up writes them) with the synthetic consultation texts of bench/corpus.py (about
130 bytes each) spread over 50 items, 5 % of them in threads, 10 % replies; then, written
directly in bulk with the store's own time encoding (going through the store one event at
a time would take hours at 1M): about 1.5 reactions per comment (👍 👎 🤷, Poisson), one earlier
revision for 5 % of the comments, 1 % deleted (tombstones: text gone, `deleted_at` set) and
0.1 % deletions remembered for messages never stored; and each remaining comment's
summary features (comment_features, computed by the bot's own FeatureCache for each distinct
text and stored in the bot's format). The file is then VACUUMed and its size divided by
the number of comments, with and without the features. Also prints what each table and
index takes (SQLite's dbstat).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_corpus  # noqa: E402
from bot.core import feature_codec  # noqa: E402
from bot.core.insight import InsightService  # noqa: E402
from bot.core.summary import (  # noqa: E402
    FEATURES_VERSION,
    UINT32_FEATURES_VERSION,
    FeatureCache,
    stable_hash,
)
from bot.storage import Repository  # noqa: E402
from bot.storage.common import micros  # noqa: E402
from bot.storage.models import IncomingMessage  # noqa: E402

TARGET = 300  # bytes per comment at 1M (issue 17)
ITEMS = 50
EMOJI = ("👍", "👎", "🤷")


async def fill(path: Path, n: int, seed: int = 17) -> None:
    rng = random.Random(seed)
    corpus = make_corpus(min(n, 50_000), seed=seed)
    texts = [c.text for c in corpus.comments]
    base = corpus.comments[0].created_at
    repo = await Repository.open(path)
    consultation = await repo.agenda.upsert_consultation(1, "national", "National", "")
    items = []
    for k in range(ITEMS):
        item, _ = await repo.agenda.upsert_item(consultation.id, f"i{k}", parent_id=None,
                                                position=k, title=f"Item {k}", summation="s",
                                                body="The article.")
        await repo.agenda.save_place(item.id, channel_id=900_000_000_000_000_000 + k)
        await repo.discussion.follow(910_000_000_000_000_000 + k, item.id,
                                     900_000_000_000_000_000 + k)  # a participant's thread
        items.append(item.id)
    # Snowflake-sized ids, as Discord's (64-bit): message ids grow with time.
    first_id = 1_300_000_000_000_000_000
    per_item = n // ITEMS
    for k, item_id in enumerate(items):
        count = per_item if k < ITEMS - 1 else n - per_item * (ITEMS - 1)
        batch = []
        for j in range(count):
            i = k * per_item + j
            in_thread = rng.random() < 0.05
            channel = (910_000_000_000_000_000 if in_thread else 900_000_000_000_000_000) + k
            batch.append((IncomingMessage(
                message_id=first_id + i * 4_194_304, channel_id=channel,
                thread_id=channel if in_thread else None,
                author_id=400_000_000_000_000_000 + rng.randrange(max(12, n // 4)) * 7919,
                reply_to_message_id=(first_id + rng.randrange(i) * 4_194_304
                                     if i and rng.random() < 0.1 else None),
                content=texts[i % len(texts)],
                created_at=base + timedelta(milliseconds=i * 1200)), (), ()))
            if len(batch) == 500:
                await repo.discussion.record_new(item_id, batch)
                batch = []
        if batch:
            await repo.discussion.record_new(item_id, batch)
    await repo.close()

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    ids = [r[0] for r in conn.execute("SELECT id FROM comments ORDER BY id")]
    reactions, revisions, deleted = [], [], []
    voters = max(12, n // 4)
    for cid in ids:
        lam, k, p = 1.5, 0, 1.0
        threshold = 2.718281828 ** -lam
        while True:  # Poisson(1.5), Knuth
            p *= rng.random()
            if p <= threshold:
                break
            k += 1
        users = {400_000_000_000_000_000 + rng.randrange(voters) * 7919 for _ in range(k)}
        for seq, user in enumerate(sorted(users), 1):
            reactions.append((cid, user, rng.choice(EMOJI), seq))
        if rng.random() < 0.05:
            at = base + timedelta(milliseconds=cid * 1200 + 500)
            revisions.append((cid, texts[rng.randrange(len(texts))], micros(at),
                              micros(at + timedelta(minutes=3))))
        if rng.random() < 0.01:
            deleted.append((micros(base + timedelta(days=20)), cid))
    conn.executemany("INSERT INTO reactions (comment_id, user_id, emoji, seq) VALUES (?, ?, ?, ?)",
                     reactions)
    conn.executemany("INSERT INTO comment_revisions (comment_id, content, edited_at) "
                     "VALUES (?, ?, ?)", [r[:3] for r in revisions])
    conn.executemany("UPDATE comments SET edited_at = ? WHERE id = ?",
                     [(r[3], r[0]) for r in revisions])
    conn.executemany("UPDATE comments SET content = NULL, deleted_at = ? WHERE id = ?", deleted)
    conn.executemany("INSERT INTO deleted_messages (message_id, channel_id, deleted_at) "
                     "VALUES (?, ?, ?)",
                     [(2_000_000_000_000_000_000 + i, 900_000_000_000_000_000, deleted[0][0])
                      for i in range(max(1, n // 1000))])
    conn.execute("COMMIT")
    store_features(conn)
    conn.close()


def store_features(conn: sqlite3.Connection) -> None:
    """Every comment with text gets the features the bot would store for it (featurised once
    per distinct text: the fill repeats the corpus's texts)."""
    rows = conn.execute("SELECT id, item_id, content FROM comments "
                        "WHERE content IS NOT NULL AND deleted_at IS NULL").fetchall()
    distinct = list(dict.fromkeys(r[2] for r in rows))
    features = FeatureCache().featurise(list(enumerate(distinct)))
    blobs = features.blobs()
    row_of = {text: r for r, text in enumerate(distinct)}
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO comment_features (item_id, comment_id, content_hash, dup_key, flags, "
        "features) VALUES (?, ?, ?, ?, ?, ?)",
        ((item, cid, int(features.content_hash[r]), int(features.dup_key[r]),
          int(features.flags[r]), blobs[r])
         for cid, item, text in rows for r in (row_of[text],)))
    conn.execute("INSERT INTO meta (key, value) VALUES ('features_version', ?)",
                 (FEATURES_VERSION,))
    conn.execute("COMMIT")


async def time_conversion(path: Path) -> dict:
    """The stored features rewritten in the first format (a uint32 per term, 64-bit text
    hashes), then converted back by the bot's own step (what an upgraded bot does before it
    reads them): how long that takes."""
    conn = sqlite3.connect(path, isolation_level=None)
    rows = conn.execute("SELECT item_id, comment_id, features FROM comment_features").fetchall()
    texts = dict(conn.execute("SELECT id, content FROM comments WHERE content IS NOT NULL"))
    indptr, indices, counts = feature_codec.decode([r[2] for r in rows])
    packed = (indices.astype("<u4") | (counts.astype("<u4") << 24)).tobytes()
    edges = (indptr * 4).tolist()
    conn.execute("BEGIN")
    conn.executemany("UPDATE comment_features SET content_hash = ?, features = ? "
                     "WHERE item_id = ? AND comment_id = ?",
                     [(stable_hash(texts[cid]), packed[edges[k]:edges[k + 1]], item, cid)
                      for k, (item, cid, _) in enumerate(rows)])
    conn.execute("UPDATE meta SET value = ? WHERE key = 'features_version'",
                 (UINT32_FEATURES_VERSION,))
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    first_format = conn.execute("SELECT SUM(pgsize) FROM dbstat "
                                "WHERE name = 'comment_features'").fetchone()[0]
    comments = conn.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    conn.close()
    repo = await Repository.open(path)
    try:
        service = InsightService(repo, ["👍"], ["👎"])
        start = time.perf_counter()
        await service.prepare_stored_features()
        took = time.perf_counter() - start
        assert await repo.features.version() == FEATURES_VERSION
        await service.close()
    finally:
        await repo.close()
    return {"converted_rows": len(rows), "conversion_s": round(took, 2),
            "first_format_features_bytes_per_comment": round(first_format / comments, 1)}


def measure(path: Path) -> dict:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("VACUUM")
    comments = conn.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    reactions = conn.execute("SELECT COUNT(*) FROM reactions").fetchone()[0]
    revisions = conn.execute("SELECT COUNT(*) FROM comment_revisions").fetchone()[0]
    parts = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name "
                              "ORDER BY SUM(pgsize) DESC"))
    conn.close()
    size = path.stat().st_size
    features = parts.get("comment_features", 0)
    return {"comments": comments, "reactions": reactions, "revisions": revisions,
            "file_bytes": size, "bytes_per_comment": round(size / comments, 1),
            "bytes_per_comment_without_features": round((size - features) / comments, 1),
            "parts_bytes_per_comment": {k: round(v / comments, 1) for k, v in parts.items()}}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", type=Path, help="keep the filled database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "size.db"
        start = time.perf_counter()
        await fill(path, args.comments)
        filled = time.perf_counter() - start
        figures = measure(path)
        if args.keep:
            shutil.copy(path, args.keep)
        figures.update(await time_conversion(path))
    figures["fill_s"] = round(filled, 1)
    print(f"{args.comments:,} comments, {figures['reactions']:,} reactions, "
          f"{figures['revisions']:,} revisions (filled in {filled:.0f} s), VACUUMed")
    print(f"{'what':<40}{'bytes/comment':>14}")
    for name, per in figures["parts_bytes_per_comment"].items():
        if per >= 0.1:  # the tables and indexes that grow with the discussion
            print(f"  {name:<38}{per:>14.1f}")
    print(f"{'file size / comments':<40}{figures['bytes_per_comment']:>14.1f}")
    print(f"{'  the same without comment_features':<40}"
          f"{figures['bytes_per_comment_without_features']:>14.1f}")
    print(f"{'target (at 1M)':<40}{'<= ' + str(TARGET):>14}")
    print(f"{'comment_features in the first format':<40}"
          f"{figures['first_format_features_bytes_per_comment']:>14.1f}")
    print(f"converting {figures['converted_rows']:,} rows of features stored in the first "
          f"format (uint32 per term): {figures['conversion_s']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
