"""The map's labels, measured from matplotlib's own geometry: after ``fig.canvas.draw()``
each label's box is ``Text.get_window_extent(renderer)`` and each topic's disc is its
circle in display space.  No two labels may overlap, no label may cross a disc other than
its own topic's, and each label's nearest disc is its own topic's (so a reader can tell
which topic a label names)."""

from __future__ import annotations

import math
from itertools import combinations

import pytest

from bench.corpus import london_topics, make_topics
from bot.core.topic_map import TopicMap, build_map, map_figure


def london_map() -> TopicMap:
    topics, links = london_topics()
    return build_map(topics, agenda_links=links)


def synthetic_map(n: int, seed: int = 0) -> TopicMap:
    p = make_topics(n, seed)
    return build_map(p.topics, p.cross_refs, p.citations, p.quote_links)


def _box_circle_distance(box, cx: float, cy: float) -> float:
    dx = max(box.x0 - cx, 0.0, cx - box.x1)
    dy = max(box.y0 - cy, 0.0, cy - box.y1)
    return math.hypot(dx, dy)


def label_problems(mf) -> dict[str, list]:
    fig = mf.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = {v: t.get_window_extent(renderer) for v, t in mf.labels.items()}
    discs = mf.node_circles()
    overlapping = [(a, b) for a, b in combinations(sorted(boxes), 2)
                   if boxes[a].overlaps(boxes[b])]
    crossing = [(v, u) for v, box in boxes.items() for u, (cx, cy, r) in discs.items()
                if u != v and _box_circle_distance(box, cx, cy) < r]
    astray = []
    for v, box in boxes.items():
        dist = {u: _box_circle_distance(box, cx, cy) - r for u, (cx, cy, r) in discs.items()}
        if min(dist, key=lambda u: (dist[u], u != v)) != v:
            astray.append(v)
    return {"overlapping label pairs": overlapping, "labels crossing a node": crossing,
            "labels nearer another node": astray, "count": len(boxes)}


def _check(mf, n_labels: int) -> None:
    problems = label_problems(mf)
    assert problems.pop("count") == n_labels
    assert problems == {"overlapping label pairs": [], "labels crossing a node": [],
                        "labels nearer another node": []}


@pytest.mark.parametrize("n", [5, 60])
def test_synthetic_maps_have_no_label_overlaps(n):
    m = synthetic_map(n)
    mf = map_figure(m)
    assert set(mf.labels) == set(m.topics)
    for v, t in mf.labels.items():  # wrapped, not cut: the title's words are all there
        assert t.get_text().split() == m.topics[v].title.split()
    _check(mf, n)


def test_london_agenda_map_has_no_label_overlaps():
    m = london_map()
    assert len(m.topics) == 12
    _check(map_figure(m), 12)


def test_focus_map_has_no_label_overlaps():
    m = london_map()
    mf = map_figure(m, focus=4)
    _check(mf, len(mf.labels))
    assert len(mf.labels) == 1 + len(m.neighbours(4))


def test_thousand_topic_overview_has_no_label_overlaps():
    m = synthetic_map(1000, seed=1)
    mf = map_figure(m)
    _check(mf, len(m.communities))


def _legend_texts(mf) -> list[str]:
    return [t.get_text() for leg in mf.figure.legends for t in leg.get_texts()]


def test_status_glyph_sits_in_each_locked_and_closed_disc():
    m = london_map()
    mf = map_figure(m)
    discs = mf.node_circles()
    for status in ("locked", "closed"):
        want = sorted(t for t, topic in m.topics.items() if topic.status == status)
        nodes, collection = mf.glyphs[status]
        assert sorted(nodes) == want
        centres = mf.ax.transData.transform(collection.get_offsets())
        for v, (x, y) in zip(nodes, centres, strict=True):
            cx, cy, r = discs[v]
            assert math.hypot(x - cx, y - cy) < 0.5 and collection.get_paths()
    assert "open" not in mf.glyphs  # open topics: the plain disc
    legend = _legend_texts(mf)
    assert {"open", "locked (padlock)", "closed (bar)"} <= set(legend)


def test_legend_lists_only_what_the_picture_shows():
    topics, links = london_topics()
    topics = [t.model_copy(update={"status": "open"}) for t in topics]
    mf = map_figure(build_map(topics, agenda_links=links))
    legend = _legend_texts(mf)
    assert not mf.glyphs
    assert "open" in legend and not any(s.startswith(("locked", "closed")) for s in legend)
    assert "circle size: comments" in legend and "line width: strength of evidence" in legend
    assert "sub-topic of an item" in legend and "related, says the agenda" in legend
    assert "cite the same sources" not in legend and "focus topic" not in legend


def test_focus_topic_is_ringed():
    mf = map_figure(london_map(), focus=4)
    ring = mf.discs[4]
    others = [c for v, c in mf.discs.items() if v != 4]
    assert ring.get_linewidth() > max(c.get_linewidth() for c in others)
    assert ring.get_edgecolor()[:3] < (0.2, 0.2, 0.2)
    assert "focus topic" in _legend_texts(mf)


def test_a_map_without_topics_says_so():
    from bot.core.topic_map import render_png

    mf = map_figure(build_map([]), title="Graph of this discussion")
    assert not mf.labels and mf.message.get_text() == "No topics yet."
    assert render_png(build_map([])).startswith(b"\x89PNG")


def test_a_small_map_is_as_wide_as_discords_preview():
    import io

    from PIL import Image

    from bot.core.topic_map import MapTopic, render_png

    m = build_map([MapTopic(topic_id=1, title="One", activity=3),
                   MapTopic(topic_id=2, title="Two")])  # no lines: a short legend
    width, height = Image.open(io.BytesIO(render_png(m))).size
    assert width >= 550 and height < width


# ------------------------------------------------------------------ canvas share
# MapFigure.canvas_share: the union of the marks' bounding boxes (labels, discs, title,
# legend entries) and the lines' own ribbons, over the PNG's area (bench/map.py reports it).


@pytest.mark.parametrize("case", ["12", "london", "60"])
def test_the_drawing_fills_at_least_60_percent_of_its_canvas(case):
    import io

    from PIL import Image

    m = london_map() if case == "london" else synthetic_map(int(case))
    mf = map_figure(m)
    width, height = Image.open(io.BytesIO(mf.png())).size
    assert mf.ink_mask().shape == (height, width)  # measured on the PNG's own pixels
    assert mf.canvas_share() >= 0.60
    assert width >= 550 and 0.75 <= width / height <= 2.3  # reads in Discord's preview
    _check(mf, len(m.topics))  # and still no label over another label or a disc


def test_canvas_share_counts_every_mark_and_no_empty_paper():
    """Every label, disc, the title and each legend entry lies inside the mask; a point
    of paper between the marks does not."""
    mf = map_figure(london_map())
    mask = mf.ink_mask()
    h = mask.shape[0]
    renderer = mf.figure.canvas.get_renderer()
    texts = [*mf.labels.values(), *mf.figure.texts, *mf.figure.legends[0].get_texts()]
    for t in texts:
        b = t.get_window_extent(renderer)
        assert mask[int(h - (b.y0 + b.y1) / 2), int((b.x0 + b.x1) / 2)], t.get_text()
    for x, y, r in mf.node_circles().values():
        assert mask[int(h - y - r * 0.7), int(x + r * 0.7)]  # the disc's box, off the disc
    assert not mask[0, 0] and not mask[-1, -1]  # the margin is paper
    assert mask.mean() < 1.0 and 0 < mf.canvas_share() == mask.mean()
