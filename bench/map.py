"""Benchmark of the related-topics map.

    python bench/map.py                    # 5, 12, London agenda (12), 60, 1000, 5000 topics
    python bench/map.py --topics 1000 --json out.json --png-dir /tmp/maps

Synthetic topics (bench.corpus.make_topics) with planted cross-references and
shared citations.  Times build_map (cold: topic texts hashed inside; warm: hashed
term vectors kept per topic, as the bot does at ingestion), render_png (overview or
full map), render_text (the list /map sends beside the picture) and render_png with a
focus topic; checks how many planted relations survive the edge cap.

"total s" is what /map costs: build (warm) + PNG + text (the list beside the picture:
/map renders both in a worker thread).  Target: at most 3 s at 1,000 and 5,000 topics.
"similar discussion" candidates come from a sparse product with top-k per row, never a
dense topics x topics matrix; "RSS MB" is the process's peak so far.

Two measures of how much of the canvas the drawing uses (target: at least 60 % at 12
and 60 topics):

* "boxes": the union of the ink bounding boxes of the drawing's nodes, labels and
  edges (each disc's box, each label's Text.get_window_extent, each edge's segment
  box), over the figure's area (title and legend included in the area, not in the
  ink).  Low for sparse maps: a label's box is small, and the space between a
  disc and its neighbours counts only where an edge's box covers it.
* "squares": what a reader sees as empty: the PNG cut into 32 x 32 px squares
  (about two lines of label text at 100 dpi); a square counts when any of its pixels
  is not background (white, with a small tolerance for anti-aliasing).  Title and
  legend count like the drawing; empty wedges between a hub's spokes do not.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import PlantedTopics, london_topics, make_topics  # noqa: E402
from bot.core.summary import FeatureCache  # noqa: E402
from bot.core.topic_map import build_map, map_figure, render_png, render_text  # noqa: E402

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


def boxes_used(mf) -> float:
    """Union of the drawing's ink boxes (discs, labels, edges) over the figure's area."""
    w, h = mf.figure.canvas.get_width_height()
    mask = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in mf.ink_boxes():
        c0, c1 = max(0, int(x0)), min(w, int(math.ceil(x1)))
        r0, r1 = max(0, int(h - y1)), min(h, int(math.ceil(h - y0)))
        mask[r0:r1, c0:c1] = True
    return float(mask.mean())


def run(n: int, seed: int, comments_per_topic: int, png_dir: Path | None) -> dict:
    """``n`` synthetic topics; ``n == 0``: the London agenda's 12 topics."""
    if n:
        p = make_topics(n, seed, comments_per_topic=comments_per_topic)
    else:
        topics, links = london_topics()
        p = PlantedTopics(topics, [], [], [], set())
    render_png(build_map(p.topics[:5]))  # warm-up: matplotlib imports and fonts
    args = (p.topics, p.cross_refs, p.citations, p.quote_links)
    links = {} if n else {"agenda_links": links}
    t0 = time.perf_counter()
    m = build_map(*args, **links)
    cold = time.perf_counter() - t0
    cache = FeatureCache(max_entries=None)
    build_map(*args, **links, cache=cache)
    t0 = time.perf_counter()
    m = build_map(*args, **links, cache=cache)
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
    boxes, boxes_focus = boxes_used(map_figure(m)), boxes_used(map_figure(m, focus=focus))
    if png_dir:
        png_dir.mkdir(parents=True, exist_ok=True)
        name = n or "london"
        (png_dir / f"map_{name}.png").write_bytes(png)
        (png_dir / f"map_{name}_focus.png").write_bytes(png_focus)
    kept = {frozenset((e.a, e.b)) for e in m.edges}
    chars = sum(len(t.text) for t in p.topics)
    return {
        "topics": n or len(p.topics),
        "case": "synthetic" if n else "London agenda",
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
        "canvas_boxes": round(boxes, 3),
        "canvas_boxes_focus": round(boxes_focus, 3),
        "canvas_squares": round(canvas_used(png), 3),
        "canvas_squares_focus": round(canvas_used(png_focus), 3),
        "text_mb": round(chars / 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--topics", type=int, action="append", help="default 5, 12, 60, 1000, 5000, and 0 = the London agenda (12)")
    ap.add_argument("--comments-per-topic", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--png-dir", type=Path)
    a = ap.parse_args(argv)
    rows = [run(n, a.seed, a.comments_per_topic, a.png_dir) for n in (a.topics or [5, 12, 0, 60, 1000, 5000])]
    hdr = (f"{'topics':>9}{'build s':>9}{'cold s':>8}{'png s':>8}{'text s':>8}{'focus s':>9}"
           f"{'total s':>9}{'edges':>7}{'groups':>7}{'planted kept':>14}{'png px':>11}"
           f"{'boxes':>7}{'focus':>7}{'squares':>9}{'focus':>7}{'RSS MB':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        kept = f"{r['planted_kept']}/{r['planted_pairs']}"
        name = f"{r['topics']}{'' if r['case'] == 'synthetic' else ' L'}"
        print(f"{name:>9}{r['build_seconds']:>9.3f}{r['build_seconds_cold']:>8.3f}"
              f"{r['render_seconds']:>8.3f}{r['text_seconds']:>8.3f}"
              f"{r['render_focus_seconds']:>9.3f}{r['seconds']:>9.3f}"
              f"{r['edges']:>7}{r['communities']:>7}{kept:>14}{r['png_px']:>11}"
              f"{r['canvas_boxes']:>7.0%}{r['canvas_boxes_focus']:>7.0%}"
              f"{r['canvas_squares']:>9.0%}{r['canvas_squares_focus']:>7.0%}"
              f"{r['peak_rss_mb']:>8.0f}")
    print()
    for r in rows:
        checks = []
        if r["topics"] >= 1000:
            checks.append(f"/map total (build+PNG+text) {r['seconds']:.2f} s "
                          f"(target <= {TOTAL_TARGET_S:.0f} s): "
                          + ("ok" if r["seconds"] <= TOTAL_TARGET_S else "MISSED"))
        for key, name in (("canvas_boxes", "boxes"), ("canvas_squares", "squares")):
            v = r[key]
            if r["topics"] in CANVAS_TARGET_AT:
                checks.append(f"canvas by {name} {v:.0%} (target >= {CANVAS_TARGET:.0%}): "
                              + ("ok" if v >= CANVAS_TARGET else "MISSED"))
            else:
                checks.append(f"canvas by {name} {v:.0%} (no target)")
        name = f"{r['topics']} topics" + ("" if r["case"] == "synthetic" else f" ({r['case']})")
        print(f"{name:>27}: " + "; ".join(checks))
    print("(L: the London agenda's items and sub-items; the others: bench.corpus.make_topics)")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
