"""Benchmark of the related-topics map.

    python bench/map.py                    # 5, 50, 1000 topics
    python bench/map.py --topics 1000 --json out.json --png-dir /tmp/maps

Synthetic topics (bench.corpus.make_topics) with planted cross-references and
shared citations.  Times build_map (cold: topic texts hashed inside; warm: hashed
term vectors kept per topic, as the bot does at ingestion), render_png (overview or
full map) and render_png with a focus topic; checks how many planted relations
survive the edge cap.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_topics  # noqa: E402
from bot.core.summary import FeatureCache  # noqa: E402
from bot.core.topic_map import build_map, render_png, render_text  # noqa: E402


def run(n: int, seed: int, comments_per_topic: int, png_dir: Path | None) -> dict:
    p = make_topics(n, seed, comments_per_topic=comments_per_topic)
    render_png(build_map(p.topics[:5]))  # warm-up: matplotlib imports and fonts
    t0 = time.perf_counter()
    m = build_map(p.topics, p.cross_refs, p.citations, p.quote_links)
    cold = time.perf_counter() - t0
    cache = FeatureCache(max_entries=None)
    build_map(p.topics, p.cross_refs, p.citations, p.quote_links, cache=cache)
    t0 = time.perf_counter()
    m = build_map(p.topics, p.cross_refs, p.citations, p.quote_links, cache=cache)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    png = render_png(m)
    render = time.perf_counter() - t0
    focus = max(p.topics, key=lambda t: t.activity).topic_id
    t0 = time.perf_counter()
    png_focus = render_png(m, focus=focus)
    render_focus = time.perf_counter() - t0
    t0 = time.perf_counter()
    render_text(m)
    text = time.perf_counter() - t0
    if png_dir:
        png_dir.mkdir(parents=True, exist_ok=True)
        (png_dir / f"map_{n}.png").write_bytes(png)
        (png_dir / f"map_{n}_focus.png").write_bytes(png_focus)
    kept = {frozenset((e.a, e.b)) for e in m.edges}
    chars = sum(len(t.text) for t in p.topics)
    return {
        "topics": n,
        "seconds": round(build + render, 3),
        "build_seconds": round(build, 3),
        "build_seconds_cold": round(cold, 3),
        "render_seconds": round(render, 3),
        "render_focus_seconds": round(render_focus, 3),
        "text_seconds": round(text, 3),
        "edges": len(m.edges),
        "communities": len(m.communities),
        "planted_pairs": len(p.planted_pairs),
        "planted_kept": len(kept & p.planted_pairs),
        "png_kb": round(len(png) / 1024, 1),
        "text_mb": round(chars / 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--topics", type=int, action="append", help="default 5, 50, 1000")
    ap.add_argument("--comments-per-topic", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--png-dir", type=Path)
    a = ap.parse_args(argv)
    rows = [run(n, a.seed, a.comments_per_topic, a.png_dir) for n in (a.topics or [5, 50, 1000])]
    hdr = (f"{'topics':>7}{'build s':>9}{'cold s':>8}{'png s':>8}{'focus s':>9}{'total s':>9}"
           f"{'edges':>7}{'groups':>7}{'planted kept':>14}{'png KB':>8}{'RSS MB':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        kept = f"{r['planted_kept']}/{r['planted_pairs']}"
        print(f"{r['topics']:>7}{r['build_seconds']:>9.3f}{r['build_seconds_cold']:>8.3f}"
              f"{r['render_seconds']:>8.3f}{r['render_focus_seconds']:>9.3f}{r['seconds']:>9.3f}"
              f"{r['edges']:>7}{r['communities']:>7}{kept:>14}{r['png_kb']:>8.0f}"
              f"{r['peak_rss_mb']:>8.0f}")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
