"""Topic map on generated topics with planted cross-references and shared citations."""

from __future__ import annotations

import io
from collections import Counter

import matplotlib.image as mpimg
import pytest

from bench.corpus import make_topics
from bot.core.topic_map import (
    EXPLICIT_KINDS,
    MapTopic,
    build_map,
    related_topics,
    render_png,
    render_text,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def planted():
    return make_topics(50, seed=3)


def _decode(png: bytes):
    assert png.startswith(PNG)
    img = mpimg.imread(io.BytesIO(png), format="png")
    assert img.shape[0] > 200 and img.shape[1] > 200
    return img


def test_edges_match_planted_relations(planted):
    m = build_map(planted.topics, planted.cross_refs, planted.citations, planted.quote_links,
                  max_edges_per_topic=50)
    edges = {frozenset((e.a, e.b)): e for e in m.edges}
    for a, b, _ in planted.cross_refs:
        assert "cross-reference" in edges[frozenset((a, b))].kinds
    cited: dict[str, set[int]] = {}
    for t, url, _ in planted.citations:
        cited.setdefault(url, set()).add(t)
    for url, ts in cited.items():
        if url.startswith("https://example.org/source/") and len(ts) == 2:
            e = edges[frozenset(ts)]
            assert "shared sources" in e.kinds
            assert any("cite the same" in r for r in e.reasons)
    # the ubiquitous source carries no signal: shared-sources edges only for planted pairs
    for key, e in edges.items():
        if "shared sources" in e.kinds:
            assert key in planted.planted_pairs


def test_cap_respected_and_hierarchy_kept(planted):
    m = build_map(planted.topics, planted.cross_refs, planted.citations, planted.quote_links)
    deg = Counter()
    for e in m.edges:
        if not EXPLICIT_KINDS & e.kinds.keys():
            deg[e.a] += 1
            deg[e.b] += 1
    assert max(deg.values()) <= 3
    hier = {frozenset((e.a, e.b)) for e in m.edges if "hierarchy" in e.kinds}
    for t in planted.topics:
        if t.parent_id is not None:
            assert frozenset((t.topic_id, t.parent_id)) in hier
    # the strongest planted relations survive the cap
    kept = {frozenset((e.a, e.b)) for e in m.edges}
    assert len(kept & planted.planted_pairs) >= len(planted.planted_pairs) * 0.6


def test_related_topics_and_text(planted):
    m = build_map(planted.topics, planted.cross_refs, planted.citations, planted.quote_links)
    tid = m.edges[0].a
    rel = related_topics(m, tid, k=5)
    assert rel and all(r[2] for r in rel)
    assert [w for _, w, _ in rel] == sorted((w for _, w, _ in rel), reverse=True)
    text = render_text(m)
    assert "related to" in text and "because" in text
    assert "cite the same 3 sources" in text
    assert "related to" in render_text(m, focus=tid)


def test_png_small_map():
    topics = [
        MapTopic(topic_id=1, title="4. Tackling cyber crime", status="open", activity=120,
                 text="budapest convention cyber crime legislation"),
        MapTopic(topic_id=2, title="Support for the Budapest Convention on Cybercrime",
                 status="open", activity=40, parent_id=1,
                 text="budapest convention sign ratify framework"),
        MapTopic(topic_id=3, title="Legislation must be supported by a willingness to act",
                 status="locked", activity=15, parent_id=1, text="forensic resources police"),
        MapTopic(topic_id=4, title="Responsibility to prevent applies across all sectors",
                 status="closed", activity=5, parent_id=1, text="industry secure devices"),
        MapTopic(topic_id=5, title="3. International Security", status="open", activity=60,
                 text="norms of state behaviour"),
    ]
    m = build_map(topics, cross_refs=[(5, 2, 2)],
                  citations=[(2, "https://coe.int/bc", 1), (5, "https://coe.int/bc", 2)])
    assert len(m.edges) >= 4
    _decode(render_png(m))
    _decode(render_png(m, focus=2))


def test_thousand_topic_overview_and_focus():
    p = make_topics(1000, seed=4, comments_per_topic=4)
    m = build_map(p.topics, p.cross_refs, p.citations, p.quote_links)
    assert 2 <= len(m.communities) <= 200
    assert sorted(t for c in m.communities for t in c) == sorted(t.topic_id for t in p.topics)
    _decode(render_png(m))
    _decode(render_png(m, focus=p.topics[0].topic_id))


def test_explicit_evidence_survives_the_cap():
    """Similar wording fills every topic's cap; a stated cross-reference still shows."""
    same = "legislation cooperation convention enforcement network capacity " * 5
    topics = [MapTopic(topic_id=i, title=f"T{i}", activity=10, text=same) for i in range(1, 8)]
    m = build_map(topics, cross_refs=[(1, 7, 1)], agenda_links=[(2, 6)], max_edges_per_topic=1)
    edges = {frozenset((e.a, e.b)): e for e in m.edges}
    assert "cross-reference" in edges[frozenset((1, 7))].kinds
    assert edges[frozenset((2, 6))].reasons[0] == "the agenda lists them as related"


def test_similarity_edge_needs_comments_on_both_ends():
    from bot.core.topic_map import SIMILAR_MIN_COMMENTS

    same = "legislation cooperation convention enforcement network capacity " * 5
    big = SIMILAR_MIN_COMMENTS
    topics = [MapTopic(topic_id=1, title="A", activity=big, text=same),
              MapTopic(topic_id=2, title="B", activity=big, text=same),
              MapTopic(topic_id=3, title="C", activity=big - 1, text=same)]
    pairs = {frozenset((e.a, e.b)) for e in build_map(topics).edges}
    assert frozenset((1, 2)) in pairs
    assert frozenset((1, 3)) not in pairs and frozenset((2, 3)) not in pairs


def test_similar_discussions_of_many_topics_without_a_topics_by_topics_matrix():
    """3,000 topics: the similar-discussion edges come from a blockwise product with top-k
    per row; the similarity step never holds a dense 3,000 x 3,000 matrix (72 MB as
    float64, 36 MB as float32), and the edges are the ones the full matrix gives."""
    import tracemalloc

    import numpy as np

    from bot.core import topic_map
    from bot.core.summary import FeatureCache

    p = make_topics(3000, seed=5, comments_per_topic=6)
    ordered = sorted(p.topics, key=lambda t: t.topic_id)
    X = topic_map._topic_matrix(ordered, FeatureCache(max_entries=None))
    tracemalloc.start()
    try:
        pairs = topic_map._nearest(X, topic_map.SIMILAR_TOP, topic_map.SIMILARITY_MIN)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3000 * 3000 * 8 / 2, f"peak {peak / 1e6:.0f} MB"  # half the dense float64
    S = (X @ X.T).toarray()  # the dense way, to check against
    np.fill_diagonal(S, 0.0)
    best = np.sort(S, axis=1)[:, -topic_map.SIMILAR_TOP:]
    got: dict[int, list[float]] = {}
    for i, _j, sim in pairs:
        got.setdefault(i, []).append(sim)
    for i in range(0, 3000, 97):
        want = sorted(s for s in best[i] if s >= topic_map.SIMILARITY_MIN)
        assert np.allclose(sorted(got.get(i, [])), want, atol=1e-5), i


def test_similarity_index_updates_only_what_changed_and_agrees_with_a_fresh_build():
    from bot.core.topic_map import SimilarityIndex, hashed_vector

    p = make_topics(40, seed=6, comments_per_topic=8)
    topics = [t.model_copy(update={"term_vector": hashed_vector([t.text]), "text": ""})
              for t in p.topics]
    index = SimilarityIndex()
    first = build_map(topics, similarity=index)
    plain = build_map(topics)
    assert [(e.a, e.b, e.weight) for e in first.edges] == [(e.a, e.b, e.weight) for e in plain.edges]
    assert (index.full_builds, index.row_updates) == (1, 0)
    for n, words in enumerate(["a brand new word zyxwv", "privacy of ordinary citizens online",
                               "secure devices by default"]):
        t = topics[n * 7]
        topics[n * 7] = t.model_copy(update={"term_vector": t.term_vector.plus(hashed_vector([words]))})
        again = build_map(topics, similarity=index)
        fresh = build_map(topics)
        assert [(e.a, e.b, e.weight) for e in again.edges] == [
            (e.a, e.b, e.weight) for e in fresh.edges]
    assert (index.full_builds, index.row_updates) == (1, 3)
