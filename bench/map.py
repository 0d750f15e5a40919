"""Benchmark of the related-topics map.

    python bench/map.py                    # 5, 12, 60, 1000 topics
    python bench/map.py --topics 1000 --json out.json --png-dir /tmp/maps

Synthetic topics (bench.corpus.make_topics) with planted cross-references and
shared citations.  Times build_map (cold: topic texts hashed inside; warm: hashed
term vectors kept per topic, as the bot does at ingestion), render_png (overview or
full map), render_text (the list /map sends beside the picture) and render_png with a
focus topic; checks how many planted relations survive the edge cap.

"total s" is what /map costs: build (warm) + PNG + text.  Target: under 3 s at 1,000
topics.

"canvas used" is the share of the PNG the drawing fills: the PNG is cut into 32 x 32 px
squares (about two lines of label text at 100 dpi), and a square counts as used when
any of its pixels is not background (white, with a small tolerance for
anti-aliasing).  Title and legend are part of the PNG and count.  Unlike a bounding
box of the ink, which a tight crop always makes ~100 %, this sees the empty regions
a reader sees.  Target: at least 60 % at 12 and 60 topics.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_topics  # noqa: E402
from bot.core.summary import FeatureCache  # noqa: E402
from bot.core.topic_map import build_map, render_png, render_text  # noqa: E402

TILE = 32
TOTAL_TARGET_S = 3.0
CANVAS_TARGET = 0.60
CANVAS_TARGET_AT = (12, 60)


def canvas_used(png: bytes, tile: int = TILE) -> float:
    """Share of the PNG's ``tile`` x ``tile`` squares holding any non-background pixel."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    ink = (np.abs(img - 255) > 12).any(axis=2)
    h, w = ink.shape
    rows, cols = -(-h // tile), -(-w // tile)
    padded = np.zeros((rows * tile, cols * tile), dtype=bool)
    padded[:h, :w] = ink
    used = padded.reshape(rows, tile, cols, tile).any(axis=(1, 3))
    return float(used.mean())


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
    width, height = Image.open(io.BytesIO(png)).size
    if png_dir:
        png_dir.mkdir(parents=True, exist_ok=True)
        (png_dir / f"map_{n}.png").write_bytes(png)
        (png_dir / f"map_{n}_focus.png").write_bytes(png_focus)
    kept = {frozenset((e.a, e.b)) for e in m.edges}
    chars = sum(len(t.text) for t in p.topics)
    return {
        "topics": n,
        "seconds": round(build + render + text, 3),
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
        "png_px": f"{width}x{height}",
        "canvas_used": round(canvas_used(png), 3),
        "canvas_used_focus": round(canvas_used(png_focus), 3),
        "text_mb": round(chars / 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--topics", type=int, action="append", help="default 5, 12, 60, 1000")
    ap.add_argument("--comments-per-topic", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--png-dir", type=Path)
    a = ap.parse_args(argv)
    rows = [run(n, a.seed, a.comments_per_topic, a.png_dir) for n in (a.topics or [5, 12, 60, 1000])]
    hdr = (f"{'topics':>7}{'build s':>9}{'cold s':>8}{'png s':>8}{'text s':>8}{'focus s':>9}"
           f"{'total s':>9}{'edges':>7}{'groups':>7}{'planted kept':>14}{'png px':>11}"
           f"{'canvas':>8}{'focus':>7}{'RSS MB':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        kept = f"{r['planted_kept']}/{r['planted_pairs']}"
        print(f"{r['topics']:>7}{r['build_seconds']:>9.3f}{r['build_seconds_cold']:>8.3f}"
              f"{r['render_seconds']:>8.3f}{r['text_seconds']:>8.3f}"
              f"{r['render_focus_seconds']:>9.3f}{r['seconds']:>9.3f}"
              f"{r['edges']:>7}{r['communities']:>7}{kept:>14}{r['png_px']:>11}"
              f"{r['canvas_used']:>8.0%}{r['canvas_used_focus']:>7.0%}{r['peak_rss_mb']:>8.0f}")
    print()
    for r in rows:
        checks = [f"total {r['seconds']:.2f} s (target < {TOTAL_TARGET_S:.0f} s at 1000): "
                  + ("ok" if r["seconds"] < TOTAL_TARGET_S else "MISSED")]
        if r["topics"] in CANVAS_TARGET_AT:
            checks.append(f"canvas used {r['canvas_used']:.0%} (target >= {CANVAS_TARGET:.0%}): "
                          + ("ok" if r["canvas_used"] >= CANVAS_TARGET else "MISSED"))
        else:
            checks.append(f"canvas used {r['canvas_used']:.0%} (no target)")
        print(f"{r['topics']:>5} topics: " + "; ".join(checks))
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
