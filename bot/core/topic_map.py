"""Related-topics map (pure core: no Discord, no storage).

Edges between topics are typed and weighted; each kind scores in [0, 1]:

* ``hierarchy``: a sub-item and its parent item (score 1, always kept);
* ``cross-reference``: comments in one topic link the other topic's channel or a
  message in it; score ``1 - 0.5 ** count`` (both directions summed);
* ``shared sources``: both topics cite the same URLs; each shared URL counts its
  IDF ``log(N / topics citing it)`` (a source cited everywhere carries no signal);
  score ``1 - exp(-sum_idf / 4)``;
* ``shared quotes``: passages of one topic's article quoted in the other;
  score ``1 - 0.5 ** count``;
* ``similar discussion``: cosine of the topics' hashed tf-idf vectors (article +
  comments), counted from ``SIMILARITY_MIN`` (each topic's ``SIMILAR_TOP`` best).

An edge's weight is the sum of its kinds' scores.  Only the strongest edges are
kept: greedily by weight, an edge is kept while both ends have fewer than
``max_edges_per_topic`` non-hierarchy edges (hierarchy edges are always kept), so no
topic ever has more than the cap.  Communities (Louvain, fixed seed) group topics
for the overview picture of large maps.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from bot.core.arrays import distinct
from bot.core.map_render import (
    STATUS_COLOURS,
    MapFigure,
    MapNode,
    abstract_layout,
    compose,
)
from bot.core.summary import N_FEATURES, FeatureCache, clean_text
from bot.core.text import truncate

__all__ = [
    "EDGE_KINDS",
    "Edge",
    "MapTopic",
    "SimilarityIndex",
    "TermVector",
    "TopicMap",
    "add_term_counts",
    "build_map",
    "hashed_term_counts",
    "hashed_vector",
    "map_figure",
    "related_topics",
    "render_png",
    "render_text",
]

EdgeKind = Literal[
    "hierarchy", "agenda", "cross-reference", "shared sources", "shared quotes",
    "similar discussion",
]
EDGE_KINDS: tuple[str, ...] = (
    "hierarchy",
    "agenda",
    "cross-reference",
    "shared sources",
    "shared quotes",
    "similar discussion",
)
SIMILARITY_MIN = 0.2
SIMILAR_TOP = 5
#: A "similar discussion" edge needs at least this many comments on both ends: the
#: words of two or three comments are noise, not a finding.
SIMILAR_MIN_COMMENTS = 5
OVERVIEW_THRESHOLD = 60  # more topics than this and no focus -> communities overview
FOCUS_NEIGHBOURS = 15
TITLE_CHARS = 28
COMMUNITY_SEED = 0



@dataclass(frozen=True, slots=True)
class TermVector:
    """A topic's hashed term counts as two arrays: sorted unique feature indices (int32)
    and their counts (float32).  Compact (8 bytes a term, against ~100 for a dict entry)
    and added to in O(terms) as comments arrive (:meth:`plus`)."""

    indices: np.ndarray
    counts: np.ndarray

    @classmethod
    def empty(cls) -> TermVector:
        return cls(np.zeros(0, np.int32), np.zeros(0, np.float32))

    @classmethod
    def of(cls, indices: np.ndarray, counts: np.ndarray) -> TermVector:
        """From indices that may repeat (their counts are summed)."""
        if not len(indices):
            return cls.empty()
        uniq, inverse = np.unique(np.asarray(indices), return_inverse=True)
        summed = np.bincount(inverse, weights=np.asarray(counts, dtype=np.float64))
        return cls(uniq.astype(np.int32), summed.astype(np.float32))

    @classmethod
    def of_rows(cls, X: sp.csr_matrix) -> TermVector:
        """The sum of a hashed count matrix's rows (one row a comment)."""
        return cls.of(X.indices, X.data)

    @classmethod
    def summed(cls, parts: Iterable[tuple[np.ndarray, np.ndarray]],
               n_features: int = N_FEATURES) -> TermVector:
        """The sum of many (indices, counts) parts, accumulated densely over the feature
        space (O(size of the parts), not a sort per part)."""
        acc = np.zeros(n_features)
        for indices, counts in parts:
            if len(indices):
                acc += np.bincount(indices, weights=counts, minlength=n_features)
        nz = np.flatnonzero(acc)
        return cls(nz.astype(np.int32), acc[nz].astype(np.float32))

    def plus(self, other: TermVector) -> TermVector:
        if not len(other.indices):
            return self
        if not len(self.indices):
            return other
        return TermVector.of(np.concatenate([self.indices, other.indices]),
                             np.concatenate([self.counts, other.counts]))

    def __len__(self) -> int:
        return len(self.indices)


class MapTopic(BaseModel):
    """A topic (agenda item or sub-item).  ``text`` is the article and its comments;
    alternatively ``term_counts`` is a precomputed hashed term-count vector (index ->
    count) built with :func:`add_term_counts`, or ``term_vector`` the same as arrays, kept
    up to date as messages arrive (the bot's: see bot.core.insight)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    topic_id: int
    title: str
    status: Literal["open", "locked", "closed"] = "open"
    activity: int = 0
    parent_id: int | None = None
    text: str = ""
    term_counts: dict[int, float] | None = None
    term_vector: TermVector | None = None


@dataclass(slots=True, eq=True)
class Edge:
    """A kept relation between topics ``a < b``: its weight, each kind's score, the reasons
    in words.  A plain slotted class: a 5,000-topic map has ~12,000 of them, and building
    them as validated models took a quarter of a second."""

    a: int
    b: int
    weight: float
    kinds: dict[str, float]
    reasons: list[str]

    @property
    def main_kind(self) -> str:
        return max(self.kinds.items(), key=lambda kv: (kv[1], -EDGE_KINDS.index(kv[0])))[0]


class TopicMap(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    topics: dict[int, MapTopic]
    edges: list[Edge]
    communities: list[list[int]] = Field(default_factory=list)
    _adjacency: tuple | None = PrivateAttr(default=None)

    def neighbours(self, topic_id: int) -> list[tuple[int, Edge]]:
        return self.adjacency().get(topic_id, [])

    def adjacency(self) -> dict[int, list[tuple[int, Edge]]]:
        """topic -> its (other topic, edge), strongest first (built once per map)."""
        key = (id(self.edges), len(self.edges))  # a copy with other edges builds its own
        if self._adjacency is None or self._adjacency[0] != key:
            adj: dict[int, list[tuple[int, Edge]]] = defaultdict(list)
            for e in self.edges:
                adj[e.a].append((e.b, e))
                adj[e.b].append((e.a, e))
            for out in adj.values():
                out.sort(key=lambda ne: (-ne[1].weight, ne[0]))
            order = {id(e): i for i, e in enumerate(self.edges)}
            self._adjacency = (key, dict(adj), order)
        return self._adjacency[1]

    def edge_order(self) -> dict[int, int]:
        """id(edge) -> its place in ``edges`` (built with the adjacency)."""
        self.adjacency()
        return self._adjacency[2]


# --------------------------------------------------------------------------- text vectors

_VEC_CACHE = FeatureCache(max_entries=None)


def hashed_term_counts(text: str, cache: FeatureCache | None = None) -> dict[int, float]:
    """Hashed unigram+bigram counts of one text (the same features as summaries)."""
    row = (cache or _VEC_CACHE).transform([clean_text(text)])
    return {int(i): float(v) for i, v in zip(row.indices, row.data, strict=True)}


#: comments hashed per batch by hashed_vector: a batch's sparse-matrix work is one C call
#: that holds the GIL (the event loop's thread waits meanwhile)
HASH_CHUNK = 2000


def hashed_vector(texts: Sequence[str]) -> TermVector:
    """The summed hashed unigram+bigram counts of these texts (each hashed on its own, in
    one batch): a topic's vector, or what new comments add to it."""
    if len(texts) <= HASH_CHUNK:
        return TermVector.of_rows(_VEC_CACHE.transform([clean_text(t) for t in texts]))

    def parts():
        for start in range(0, len(texts), HASH_CHUNK):  # small C calls: the GIL is handed back
            X = _VEC_CACHE.transform([clean_text(t) for t in texts[start:start + HASH_CHUNK]])
            yield X.indices, X.data

    return TermVector.summed(parts(), _VEC_CACHE.n_features)


def add_term_counts(acc: dict[int, float], text: str, cache: FeatureCache | None = None) -> None:
    """Add one comment's hashed counts to a topic's running vector (at ingestion)."""
    for i, v in hashed_term_counts(text, cache).items():
        acc[i] = acc.get(i, 0.0) + v


def _vector_matrix(topics: Sequence[MapTopic], n_features: int) -> sp.csr_matrix:
    """Raw counts of topics that all have a ``term_vector`` (sorted, unique indices: the
    rows are laid side by side, nothing to sort or sum)."""
    vecs = [t.term_vector for t in topics]
    indptr = np.zeros(len(vecs) + 1, np.int64)
    np.cumsum([len(v) for v in vecs], out=indptr[1:])
    indices = np.concatenate([v.indices for v in vecs]) if vecs else np.zeros(0, np.int32)
    data = np.concatenate([v.counts for v in vecs]) if vecs else np.zeros(0, np.float32)
    return sp.csr_matrix((data.astype(np.float32), indices, indptr),
                         shape=(len(vecs), n_features))


def _weighted(X: sp.csr_matrix, n_features: int) -> sp.csr_matrix:
    """Counts -> sublinear tf x smooth idf, rows L2-normalised."""
    df = np.bincount(X.indices, minlength=n_features)
    n = X.shape[0]
    idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    X.data = (1.0 + np.log(np.maximum(X.data, 1.0))) * idf[X.indices]
    X = sp.csr_matrix(X, dtype=np.float32)
    lengths = np.diff(X.indptr)
    rows = np.repeat(np.arange(n), lengths)
    norms = np.sqrt(np.bincount(rows, weights=X.data.astype(np.float64) ** 2, minlength=n))
    norms[norms == 0] = 1.0
    X.data = X.data / np.repeat(norms, lengths).astype(np.float32)
    return X


def _topic_matrix(topics: Sequence[MapTopic], cache: FeatureCache | None) -> sp.csr_matrix:
    n_features = cache.n_features if cache else N_FEATURES
    if topics and all(t.term_vector is not None for t in topics):
        return _weighted(_vector_matrix(topics, n_features), n_features)
    fc = cache or _VEC_CACHE
    rows, cols, vals = [], [], []
    need = [i for i, t in enumerate(topics)
            if t.term_counts is None and t.term_vector is None and t.text]
    if need:
        if cache is not None:
            ents = cache.entries_for_keys(
                [(-topics[i].topic_id, topics[i].text) for i in need]
            )
            for i, e in zip(need, ents, strict=True):
                rows.append(np.full(len(e.indices), i))
                cols.append(e.indices)
                vals.append(e.counts)
        else:
            M = fc.transform([clean_text(topics[i].text) for i in need]).tocoo()
            rows.append(np.asarray(need)[M.row])
            cols.append(M.col)
            vals.append(M.data)
    for i, t in enumerate(topics):
        if t.term_vector is not None and len(t.term_vector):
            rows.append(np.full(len(t.term_vector), i))
            cols.append(t.term_vector.indices)
            vals.append(t.term_vector.counts)
        elif t.term_counts:
            rows.append(np.full(len(t.term_counts), i))
            cols.append(np.fromiter(t.term_counts.keys(), dtype=np.int64))
            vals.append(np.fromiter(t.term_counts.values(), dtype=np.float64))
    if not rows:
        return sp.csr_matrix((len(topics), n_features), dtype=np.float32)
    X = sp.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(topics), n_features),
    )
    X.sum_duplicates()
    return _weighted(X, n_features)


#: rows of the similarity product computed at once (memory: NEAREST_CHUNK x topics floats)
NEAREST_CHUNK = 256
#: a term in at least this share of the topics (and at least DENSE_DF_MIN of them) goes in
#: the dense part of the product (BLAS); the rarer ones stay sparse
DENSE_DF_SHARE = 0.04
DENSE_DF_MIN = 32
DENSE_COLS_MAX = 1024
DENSE_SPLIT_FROM = 500  # topics


def _nearest(X: sp.csr_matrix, top: int, floor: float = 0.0) -> list[tuple[int, int, float]]:
    """Each row's ``top`` most similar other rows of the L2-normalised ``X`` with a cosine
    of at least ``floor``: (row, other, cosine), rows in order.

    Computed a block of rows at a time with top-k per row, so memory is O(chunk x n),
    never the dense n x n matrix (1.6 GB at 20k topics).  The product is split by column:
    the terms most topics share (they make every pair's similarity non-zero, and a sparse
    product of them is slow) as a small dense matrix multiplied with BLAS, the rest as a
    sparse product whose result stays sparse."""
    n = X.shape[0]
    out: list[tuple[int, int, float]] = []
    if top <= 0 or n < 2:
        return out
    X = sp.csr_matrix(X, dtype=np.float32)
    df = np.bincount(X.indices, minlength=X.shape[1])
    if n <= DENSE_SPLIT_FROM:  # a small product: sparse is quicker than splitting it
        common = np.zeros(0, np.int64)
    else:
        common = np.flatnonzero(df >= max(DENSE_DF_MIN, DENSE_DF_SHARE * n))
    if len(common) > DENSE_COLS_MAX:
        common = common[np.argsort(-df[common], kind="stable")[:DENSE_COLS_MAX]]
    if len(common):
        rare_mask = df > 0
        rare_mask[common] = False
        Xc = X.tocsc()
        dense = Xc[:, common].toarray()
        sparse_part = sp.csr_matrix(Xc[:, np.flatnonzero(rare_mask)])
    else:
        dense, sparse_part = None, X
    sparse_t = sp.csc_matrix(sparse_part.T)
    for start in range(0, n, NEAREST_CHUNK):
        stop = min(n, start + NEAREST_CHUNK)
        block = (sparse_part[start:stop] @ sparse_t).toarray()
        if dense is not None:
            block += dense[start:stop] @ dense.T
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0  # not its own neighbour
        _block_top(block, start, top, floor, out)
    return out


def _block_top(block: np.ndarray, start: int, top: int, floor: float,
               out: list[tuple[int, int, float]]) -> None:
    """Rows ``start``… of a similarity matrix (own cell zeroed): each row's ``top`` best
    columns at ``floor`` or above, appended to ``out`` as (row, column, similarity)."""
    cand = np.argpartition(-block, top - 1, axis=1)[:, :top]
    sims = np.take_along_axis(block, cand, axis=1)
    rows, cols = np.nonzero(sims >= floor)
    out.extend(zip((rows + start).tolist(), cand[rows, cols].tolist(),
                   sims[rows, cols].tolist(), strict=True))


class SimilarityIndex:
    """The cosines between one consultation's topics, kept between builds of its map so
    that after a new comment only what changed is computed again (bot.core.insight keeps
    one per consultation; :func:`build_map` takes it as ``similarity``).

    It keeps the Gram matrix ``G = T diag(idf²) Tᵀ`` of the topics' sublinear term
    frequencies ``T`` (cosine = ``G_ij / sqrt(G_ii G_jj)``: the same as the tf-idf
    vectors of :func:`build_map`).  When topics' vectors change, their rows and columns
    of ``G`` are computed again (one sparse row product each), and the terms whose idf
    moved (their document frequency changed) are corrected in the others with a rank-|K|
    update over those terms only.  Up to ``max_topics`` topics (``G`` is n x n: 32 MB at
    2,000); beyond, or when a quarter of the topics changed, everything is computed
    again (``full_builds`` counts those, ``row_updates`` the topics updated in place)."""

    max_topics = 2000
    refresh_every = 1000  # updates in place before a full computation (rounding drift)

    def __init__(self, n_features: int = N_FEATURES) -> None:
        self.n_features = n_features
        self._ids: list[int] | None = None
        self._vecs: list[TermVector] = []
        self._tf: list[tuple[np.ndarray, np.ndarray]] = []
        self._df = np.zeros(0, np.int64)
        self._idf2 = np.zeros(0)
        self._G = np.zeros((0, 0))
        self._since_full = 0
        self.full_builds = 0
        self.row_updates = 0

    @staticmethod
    def _tf_of(v: TermVector) -> tuple[np.ndarray, np.ndarray]:
        return v.indices, 1.0 + np.log(np.maximum(v.counts.astype(np.float64), 1.0))

    def _idf2_of(self, df: np.ndarray, n: int) -> np.ndarray:
        idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32).astype(np.float64)
        return idf * idf

    def _matrix(self) -> sp.csr_matrix:
        n = len(self._tf)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum([len(i) for i, _ in self._tf], out=indptr[1:])
        indices = (np.concatenate([i for i, _ in self._tf]) if n else np.zeros(0, np.int32))
        data = np.concatenate([d for _, d in self._tf]) if n else np.zeros(0)
        return sp.csr_matrix((data, indices, indptr), shape=(n, self.n_features))

    def _weighted_rows(self, T: sp.csr_matrix) -> sp.csr_matrix:
        W = T.copy()
        W.data = W.data * self._idf2[W.indices]
        return W

    def _full(self, ids: list[int], vecs: list[TermVector]) -> None:
        self._ids, self._vecs = list(ids), list(vecs)
        self._tf = [self._tf_of(v) for v in vecs]
        T = self._matrix()
        self._df = np.bincount(T.indices, minlength=self.n_features).astype(np.int64)
        self._idf2 = self._idf2_of(self._df, len(ids))
        self._G = (self._weighted_rows(T) @ T.T).toarray()
        self._since_full = 0
        self.full_builds += 1

    def _update(self, vecs: list[TermVector], changed: list[int]) -> None:
        n = len(vecs)
        df = self._df.copy()
        touched = []
        for r in changed:
            old, new = self._tf[r][0], vecs[r].indices
            df[old] -= 1  # indices are unique within a row
            df[new] += 1
            touched += [old, new]
            self._tf[r] = self._tf_of(vecs[r])
            self._vecs[r] = vecs[r]
        terms = distinct(np.concatenate(touched))
        new_idf2 = self._idf2_of(df[terms], n)
        moved = new_idf2 != self._idf2[terms]
        K, delta = terms[moved], (new_idf2 - self._idf2[terms])[moved]
        self._df = df
        self._idf2[terms] = new_idf2
        T = self._matrix()
        if len(K):  # those terms' weight changed in every topic that has them
            TK = sp.csr_matrix(T[:, K])
            self._G += (TK @ sp.diags(delta) @ TK.T).toarray()
        rows = (self._weighted_rows(T[changed]) @ T.T).toarray()
        self._G[changed, :] = rows
        self._G[:, changed] = rows.T
        self._since_full += len(changed)
        self.row_updates += len(changed)

    def cosines(self, ids: list[int], vecs: list[TermVector]) -> np.ndarray:
        """n x n cosines of the topics' tf-idf vectors (0 on the diagonal)."""
        n = len(ids)
        if self._ids != list(ids) or self._since_full >= self.refresh_every:
            self._full(ids, vecs)
        else:
            changed = [r for r in range(n) if vecs[r] is not self._vecs[r]]
            if len(changed) * 4 > n:
                self._full(ids, vecs)
            elif changed:
                self._update(vecs, changed)
        norms = np.sqrt(np.maximum(np.diag(self._G), 0.0))
        norms[norms == 0] = 1.0
        S = self._G / norms[:, None] / norms[None, :]
        np.fill_diagonal(S, 0.0)
        return S


# --------------------------------------------------------------------------- building


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


#: Kinds of evidence someone stated (organisers or participants): never dropped by the cap.
EXPLICIT_KINDS = frozenset({"hierarchy", "agenda", "cross-reference", "shared quotes"})


def build_map(
    topics: Sequence[MapTopic],
    cross_refs: Iterable[tuple[int, int, int]] = (),
    citations: Iterable[tuple[int, str, int]] = (),
    quote_links: Iterable[tuple[int, int, int]] = (),
    *,
    agenda_links: Iterable[tuple[int, int]] = (),
    max_edges_per_topic: int = 3,
    cache: FeatureCache | None = None,
    similarity: SimilarityIndex | None = None,
) -> TopicMap:
    """Build the related-topics map.  ``cross_refs``/``quote_links``: (from topic, to
    topic, count); ``citations``: (topic, normalised URL, citer id); ``agenda_links``:
    pairs the agenda itself lists as related.  ``cache``: a FeatureCache to reuse topic
    text features between calls (keyed by -topic_id).  ``similarity``: a
    :class:`SimilarityIndex` kept between calls on the same topics (with ``term_vector``s),
    so that only the topics whose vector changed are compared again.

    Explicit evidence (hierarchy, the agenda's links, cross-references, quotes of another
    topic's article) is always kept; the cap of ``max_edges_per_topic`` applies to edges
    that rest only on inferred evidence (shared sources, similar words)."""
    by_id = {t.topic_id: t for t in topics}
    ids = sorted(by_id)
    n = len(ids)
    kinds: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)

    def key(a: int, b: int) -> tuple[int, int]:
        return (a, b) if a < b else (b, a)

    for t in topics:  # hierarchy
        if t.parent_id is not None and t.parent_id in by_id and t.parent_id != t.topic_id:
            k = key(t.topic_id, t.parent_id)
            kinds[k]["hierarchy"] = 1.0
            reasons[k].append(f"**{_short(t.title)}** is a sub-topic of it")

    for a, b in agenda_links:
        if a != b and a in by_id and b in by_id:
            k = key(a, b)
            if "agenda" not in kinds[k]:
                kinds[k]["agenda"] = 1.0
                reasons[k].append("the agenda lists them as related")

    # Counted links in either direction: each more one is worth half the one before.
    for links, kind, reason in (
        (cross_refs, "cross-reference", "their discussions link to each other {}×"),
        (quote_links, "shared quotes", "one quotes the other's article {}×"),
    ):
        counts: dict[tuple[int, int], int] = defaultdict(int)
        for a, b, c in links:
            if a != b and a in by_id and b in by_id and c > 0:
                counts[key(a, b)] += c
        for k, c in counts.items():
            kinds[k][kind] = 1 - 0.5**c
            reasons[k].append(reason.format(c))

    url_topics: dict[str, set[int]] = defaultdict(set)
    for tid, url, _citer in citations:
        if tid in by_id:
            url_topics[url].add(tid)
    shared: dict[tuple[int, int], list[float]] = defaultdict(list)
    for _url, ts in url_topics.items():
        if len(ts) < 2 or len(ts) > max(2, n // 4):  # ubiquitous: no signal, O(df²)
            continue
        idf = math.log(n / len(ts))
        srt = sorted(ts)
        for i, a in enumerate(srt):
            for b in srt[i + 1 :]:
                shared[(a, b)].append(idf)
    for k, idfs in shared.items():
        s = sum(idfs)
        if s <= 0:
            continue
        kinds[k]["shared sources"] = 1 - math.exp(-s / 4)
        reasons[k].append(f"they cite the same {_plural(len(idfs), 'source')}")

    ordered = [by_id[i] for i in ids]
    if n >= 2 and any(t.text or t.term_counts or t.term_vector for t in ordered):
        top = min(SIMILAR_TOP, n - 1)
        if (similarity is not None and n <= similarity.max_topics
                and all(t.term_vector is not None for t in ordered)):
            pairs: list[tuple[int, int, float]] = []
            _block_top(similarity.cosines(ids, [t.term_vector for t in ordered]), 0, top,
                       SIMILARITY_MIN, pairs)
        else:
            pairs = _nearest(_topic_matrix(ordered, cache), top, SIMILARITY_MIN)
        busy = [t.activity >= SIMILAR_MIN_COMMENTS for t in ordered]
        for i, j, sim in pairs:
            if sim >= SIMILARITY_MIN and busy[i] and busy[j]:
                k = key(ids[i], ids[j])
                if "similar discussion" not in kinds[k]:
                    kinds[k]["similar discussion"] = round(sim, 3)
                    reasons[k].append(f"their discussions use similar words ({sim:.2f})")

    # keep the strongest edges: greedy, both ends under the cap; explicit evidence always
    cand_edges = sorted(
        ((sum(kd.values()), k) for k, kd in kinds.items()),
        key=lambda wk: (-wk[0], wk[1]),
    )
    degree: dict[int, int] = defaultdict(int)
    edges = []
    for w, (a, b) in cand_edges:
        kd = kinds[(a, b)]
        if not EXPLICIT_KINDS & kd.keys():
            if degree[a] >= max_edges_per_topic or degree[b] >= max_edges_per_topic:
                continue
            degree[a] += 1
            degree[b] += 1
        edges.append(Edge(a, b, round(w, 4), dict(kd), list(reasons[(a, b)])))

    communities: list[list[int]] = []
    if n:
        G = nx.Graph()
        G.add_nodes_from(ids)
        G.add_weighted_edges_from((e.a, e.b, e.weight) for e in edges)
        comms = nx.community.louvain_communities(G, weight="weight", seed=COMMUNITY_SEED)
        activity = {t: by_id[t].activity for t in ids}
        communities = sorted(
            (sorted(c) for c in comms),
            key=lambda c: (-sum(activity[t] for t in c), c[0]),
        )
    return TopicMap(topics=by_id, edges=edges, communities=communities)


def related_topics(m: TopicMap, topic_id: int, k: int = 5) -> list[tuple[int, float, list[str]]]:
    """The topic's strongest relations: (other topic, weight, reasons)."""
    return [(o, e.weight, list(e.reasons)) for o, e in m.neighbours(topic_id)[:k]]


# --------------------------------------------------------------------------- text


def _short(title: str, n: int = TITLE_CHARS) -> str:
    title = " ".join(title.split()).replace("@", "@\u200b")
    return truncate(title, n)


def _wrapped(title: str, width: int = 22, lines: int = 4) -> str:
    """A title wrapped on word boundaries (cut only past ``lines`` lines)."""
    title = " ".join(title.split()).replace("@", "@\u200b")
    return "\n".join(textwrap.wrap(title, width, max_lines=lines, placeholder=" …"))


def _reason_text(m: TopicMap, e: Edge, me: int) -> str:
    parts = []
    other = e.b if me == e.a else e.a
    for r in e.reasons:
        if r.endswith("is a sub-topic of it"):
            if m.topics[me].parent_id == other:
                parts.append("it is a sub-topic of that item")
            else:
                parts.append("that is one of its sub-topics")
        else:
            parts.append(r)
    return ", ".join(parts)


def render_text(m: TopicMap, focus: int | None = None, *, limit: int = 40) -> str:
    """A bulleted list: **A** — related to **B** because …  (each topic's strongest
    relations; with ``focus`` only that topic's).  At most ``limit`` topics."""
    if not m.topics:
        return "No topics yet."
    if focus is not None:
        order = [focus] if focus in m.topics else []
    else:
        order = sorted(m.topics, key=lambda t: (-m.topics[t].activity, t))
    lines = []
    shown = 0
    for tid in order:
        nb = m.neighbours(tid)[: (FOCUS_NEIGHBOURS if focus is not None else 3)]
        if not nb:
            if focus is not None:
                lines.append(f"- **{_short(m.topics[tid].title, 80)}** — no related topics yet.")
            continue
        rel = "; ".join(
            f"**{_short(m.topics[o].title, 60)}** because {_reason_text(m, e, tid)}" for o, e in nb
        )
        lines.append(f"- **{_short(m.topics[tid].title, 80)}** — related to {rel}")
        shown += 1
        if shown >= limit:
            rest = sum(1 for t in order if m.neighbours(t)) - shown
            if rest > 0:
                lines.append(f"- … and {rest} more topics with relations.")
            break
    return "\n".join(lines) if lines else "No relations between topics yet."


# --------------------------------------------------------------------------- picture


def render_png(m: TopicMap, focus: int | None = None, *, title: str | None = None) -> bytes:
    """A PNG of the map (see :func:`map_figure`)."""
    return map_figure(m, focus, title=title).png()


def map_figure(m: TopicMap, focus: int | None = None, *, title: str | None = None) -> MapFigure:
    """The laid-out picture of the map, before it is saved.  Small maps: every topic.
    More than ~60 topics and no focus: one node per community, labelled by its top
    topics.  With ``focus``: the topic and its (at most 15) strongest neighbours."""
    topics = m.topics
    if focus is not None and focus in topics:
        nb = m.neighbours(focus)[:FOCUS_NEIGHBOURS]
        keep = {focus} | {o for o, _ in nb}
        G = nx.Graph()
        G.add_nodes_from(sorted(keep))
        styles = []
        order = m.edge_order()
        among = {id(e): e for t in keep for o, e in m.neighbours(t) if o in keep}  # O(degree)
        for e in sorted(among.values(), key=lambda e: order[id(e)]):  # as in m.edges
            G.add_edge(e.a, e.b)
            styles.append((e.a, e.b, e.main_kind, e.weight))
        nodes = {t: MapNode(_wrapped(topics[t].title), max(1, topics[t].activity),
                            topics[t].status, focus=t == focus) for t in G.nodes}
        return compose(G, abstract_layout(G, center=focus), nodes, styles,
                       title or f"Topics related to {_short(topics[focus].title, 60)}",
                       table=False)
    if len(topics) > OVERVIEW_THRESHOLD and m.communities:
        comm_of = {t: i for i, c in enumerate(m.communities) for t in c}
        G = nx.Graph()
        G.add_nodes_from(range(len(m.communities)))
        between: dict[tuple[int, int], float] = defaultdict(float)
        for e in m.edges:
            ca, cb = comm_of[e.a], comm_of[e.b]
            if ca != cb:
                between[(min(ca, cb), max(ca, cb))] += e.weight
        strongest = sorted(between.items(), key=lambda kv: -kv[1])[: 2 * len(m.communities)]
        for (a, b), w in strongest:
            G.add_edge(a, b, weight=w)
        nodes = {}
        for i, c in enumerate(m.communities):
            top = sorted(c, key=lambda t: (-topics[t].activity, t))[:2]
            label = "\n".join(_short(topics[t].title, 34) for t in top) + f"\n({len(c)} topics)"
            n_open = sum(1 for t in c if topics[t].status == "open")
            status = max(STATUS_COLOURS, key=lambda st, c=c: sum(topics[t].status == st for t in c))
            nodes[i] = MapNode(label, max(1, sum(topics[t].activity for t in c)),
                               "open" if n_open * 2 >= len(c) else status)
        styles = [(a, b, "links between groups", w) for (a, b), w in strongest]
        return compose(
            G, abstract_layout(G), nodes, styles,
            title or f"Topic map: {len(topics)} topics in {len(m.communities)} groups",
            size_unit="comments in the group", fontsize=10.0,
        )
    G = nx.Graph()
    G.add_nodes_from(sorted(topics))
    styles = []
    for e in m.edges:
        G.add_edge(e.a, e.b)
        styles.append((e.a, e.b, e.main_kind, e.weight))
    nodes = {t: MapNode(_wrapped(topics[t].title), max(1, topics[t].activity), topics[t].status)
             for t in G.nodes}
    return compose(G, abstract_layout(G), nodes, styles, title or f"Topic map: {len(topics)} topics")
