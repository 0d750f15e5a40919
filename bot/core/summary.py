"""Discussion summary engine (pure core: no Discord, no storage).

Method (see ``notes/summaries-and-maps.md`` for the measurements behind it):

1. **Chatter out.** Comments with fewer than ~6 words and almost no content words
   ("+1", "thanks", "agreed") are counted as ``reactions_only``, not themes.
2. **Hashed features.** Each comment's own words (quoted ``>`` lines, links and
   mentions removed) are hashed into unigram+bigram counts with a stateless
   :class:`~sklearn.feature_extraction.text.HashingVectorizer`.  Features depend on the
   comment alone, so they are computed once per comment and kept in a
   :class:`FeatureCache` (filled at ingestion or on first request).  IDF weights
   are recomputed per request from the document frequencies, which is cheap.
3. **Duplicates collapse** into one row with a weight.
4. **Clustering that scales linearly**: k-means on a weighted sample of at most
   ``SAMPLE_SIZE`` rows, then every row is assigned to its nearest centroid
   (cosine), and centroids are recomputed from the full assignment.
5. **Merge paraphrases**: clusters whose centroids are near-duplicates are merged.
6. **Catch-all clusters** with low cohesion are re-split once; what still does not
   cohere (and rows that share nothing with their centroid) is reported as ``other``.
7. **Labels** are the top key phrases of each theme versus the whole discussion
   (c-TF-IDF style, stop words removed, bigrams preferred).  **Representatives**
   are the comments closest to the centroid, distinct authors preferred.
8. **Stance** from reactions, see :func:`stance_for`.

Honesty rule: with fewer than ``BRIEF_THRESHOLD`` substantive comments no themes
are invented; the summary just lists the comments (``is_brief``).

Everything is deterministic (fixed random states, stable ordering).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer

__all__ = [
    "BRIEF_THRESHOLD",
    "DiscussionSummary",
    "EmbedData",
    "EmbedField",
    "FeatureCache",
    "Participation",
    "Representative",
    "Stance",
    "SummaryComment",
    "Theme",
    "clean_text",
    "is_chatter",
    "render_summary_markdown",
    "stance_for",
    "summarise",
    "summary_embed_fields",
]

# --------------------------------------------------------------------------- tunables

N_FEATURES = 2**18
BRIEF_THRESHOLD = 8  # fewer distinct substantive comments -> brief, no clustering
SAMPLE_SIZE = 4000  # rows k-means is fitted on
MERGE_THRESHOLD = 0.5  # centroid cosine above which two clusters are one argument
CORE_SHARE = 0.5  # a term in >= this share of a cluster's comments is one of its core terms
CORE_CONCENTRATION = 0.8  # ...and links clusters only if this share of its uses is in them
LINK_MIN = 0.8  # mean link evidence needed to merge (about one fully shared bigram)
RELATED_MIN = 0.2  # weaker evidence: shown after themes about distinct arguments
UNIGRAM_EVIDENCE = 0.4  # a shared single word is weaker evidence than a shared phrase
LOW_COHESION_FACTOR = 0.7  # cohesion < factor * median cohesion -> catch-all
OUTLIER_SIMILARITY = 0.08  # a row less similar than this to its centroid is "other"
MINORITY_SHARE = 0.05  # themes below this share of substantive comments are minority views
MIN_THEME_COMMENTS = 3
MIN_THEME_PARTICIPANTS = 2
RANDOM_STATE = 0

# Stance rule (documented in stance_for)
STANCE_MIN_REACTIONS = 5
BROAD_SHARE = 0.70
DIVIDED_LOW, DIVIDED_HIGH = 0.35, 0.65

Stance = Literal["broad support", "broad opposition", "divided", "no clear signal"]

CHATTER_WORDS = frozenset(
    """+1 1 agree agreed agreeing yes yep yeah ok okay thanks thank thx ty cheers great good nice
    point points exactly indeed true same this that lol totally absolutely definitely well said
    seconded second here hear done fine cool interesting right sure""".split()
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | CHATTER_WORDS | frozenset(
    """think believe really just like people im dont doesnt isnt thats ive youre also
    would could should us one get make much many need needs way going want""".split()
)

_QUOTE_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"<(?:@[!&]?|#|a?:\w+:)\d+>")
_WORD = re.compile(r"[a-z0-9+][a-z0-9'+]*")
_EXCERPT_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------- input / output


@dataclass(frozen=True, slots=True)
class SummaryComment:
    """One recorded comment.  A slotted dataclass (not a pydantic model) because a
    100,000-comment topic builds 100,000 of these per request."""

    comment_id: int
    author_id: int
    text: str
    created_at: datetime
    jump_url: str
    agree: int = 0
    disagree: int = 0


class Representative(BaseModel):
    comment_id: int
    jump_url: str
    excerpt: str = Field(max_length=200)


class Theme(BaseModel):
    label: str
    key_phrases: list[str]
    comments: int
    participants: int
    share: float  # of substantive comments
    cohesion: float
    representatives: list[Representative]
    agree: int
    disagree: int
    stance: Stance
    minority: bool
    comment_ids: list[int] = Field(default_factory=list, exclude=True, repr=False)


class Participation(BaseModel):
    comments: int
    participants: int
    first_activity: datetime | None
    last_activity: datetime | None
    per_day: list[tuple[date, int]]


class DiscussionSummary(BaseModel):
    participation: Participation
    substantive: int  # comments that are not chatter
    themes: list[Theme]
    reactions_only: int  # chatter comments ("+1", "thanks")
    other: int  # substantive comments in no coherent theme
    more_themes: int = 0  # coherent smaller themes not displayed (max_themes)
    more_themes_comments: int = 0  # comments in those themes
    is_brief: bool
    listed: list[Representative] = Field(default_factory=list)  # brief mode: the comments


class EmbedField(BaseModel):
    name: str = Field(max_length=256)
    value: str = Field(max_length=1024)
    inline: bool = False


class EmbedData(BaseModel):
    """Plain data for a Discord embed; the cog converts it to ``discord.Embed``."""

    title: str = Field(max_length=256)
    description: str = Field(max_length=4096)
    fields: list[EmbedField] = Field(default_factory=list, max_length=25)
    footer: str = Field(default="", max_length=2048)

    def total_chars(self) -> int:
        return (
            len(self.title)
            + len(self.description)
            + len(self.footer)
            + sum(len(f.name) + len(f.value) for f in self.fields)
        )


# --------------------------------------------------------------------------- features


def clean_text(text: str) -> str:
    """The commenter's own words: quoted lines, links and mentions removed."""
    text = _QUOTE_LINE.sub(" ", text)
    text = _URL.sub(" ", text)
    return _MENTION.sub(" ", text)


def _words(cleaned: str) -> list[str]:
    return _WORD.findall(cleaned.lower())


def is_chatter(text: str) -> bool:
    """True for short replies with (almost) no content: "+1", "thanks", "agreed!"."""
    return _chatter_words(_words(clean_text(text)))


def _chatter_words(words: list[str]) -> bool:
    content = sum(1 for w in words if len(w) > 2 and w not in STOP_WORDS)
    return content <= 1 or (len(words) < 6 and content <= 2)


@dataclass(slots=True)
class _Entry:
    indices: np.ndarray  # int32 hashed feature indices
    counts: np.ndarray  # float32 term counts
    chatter: bool
    dup_key: int  # hash of the normalised word sequence (exact-duplicate detection)


def _make_vectorizer(n_features: int, ngram: tuple[int, int]) -> HashingVectorizer:
    return HashingVectorizer(
        n_features=n_features,
        lowercase=True,
        token_pattern=r"(?u)\b[a-z][a-z0-9']+\b",
        stop_words=sorted(STOP_WORDS),
        ngram_range=ngram,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


class FeatureCache:
    """Per-comment hashed features, keyed by ``(comment_id, hash(text))``.

    The hashing is stateless, so an entry never goes stale unless the text changes
    (an edit changes the key).  ``hash(text)`` is Python's string hash: the cache is
    per process.  Fill it at ingestion with :meth:`add` (or let :func:`summarise`
    fill it on first request); :meth:`discard` drops a deleted comment.
    """

    def __init__(self, n_features: int = N_FEATURES, max_entries: int | None = 2_000_000):
        self.n_features = n_features
        self.max_entries = max_entries
        half = n_features // 2  # unigrams hash into [0, half), bigrams into [half, n)
        self.bigram_start = half
        self._uni = _make_vectorizer(half, (1, 1))
        self._bi = _make_vectorizer(n_features - half, (2, 2))
        self._entries: dict[tuple[int, int], _Entry] = {}
        self._by_id: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(comment_id: int, text: str) -> tuple[int, int]:
        return (comment_id, hash(text))

    def add(self, items: Iterable[tuple[int, str]]) -> int:
        """Compute and store features for ``(comment_id, text)`` pairs; returns how many
        were new."""
        todo = []
        for cid, text in items:
            k = (cid, hash(text))
            if k not in self._entries:
                todo.append((k, text))
        if not todo:
            return 0
        cleaned = [clean_text(t) for _, t in todo]
        words = [_words(c) for c in cleaned]
        X = self.transform(cleaned)
        ip, ind, dat = X.indptr, X.indices.astype(np.int32), X.data.astype(np.float32)
        for r, ((k, _), ws) in enumerate(zip(todo, words, strict=True)):
            old = self._by_id.get(k[0])
            if old is not None and old != k:
                self._entries.pop(old, None)
            a, b = ip[r], ip[r + 1]
            self._entries[k] = _Entry(
                ind[a:b].copy(), dat[a:b].copy(), _chatter_words(ws), hash(" ".join(ws))
            )
            self._by_id[k[0]] = k
        if self.max_entries is not None and len(self._entries) > self.max_entries:
            for k in list(self._entries)[: len(self._entries) - self.max_entries]:
                del self._entries[k]
                self._by_id.pop(k[0], None)
        return len(todo)

    def discard(self, comment_id: int) -> None:
        k = self._by_id.pop(comment_id, None)
        if k is not None:
            self._entries.pop(k, None)

    def entries(self, comments: Sequence[SummaryComment]) -> list[_Entry]:
        """Features of each comment, computing (in one batch) those not cached yet."""
        return self.entries_for_keys([(c.comment_id, c.text) for c in comments])

    def entries_for_keys(self, items: Sequence[tuple[int, str]]) -> list[_Entry]:
        ents = self._entries
        out = [ents.get((i, hash(t))) for i, t in items]
        missing = [it for it, e in zip(items, out, strict=True) if e is None]
        if missing:
            if self.max_entries is not None and len(missing) > self.max_entries:
                raise ValueError("more items than the cache can hold")
            self.add(missing)
            out = [ents[(i, hash(t))] for i, t in items]
        return out  # type: ignore[return-value]

    def transform(self, cleaned: Sequence[str]) -> sp.csr_matrix:
        """Hashed unigram (first half of the columns) and bigram counts of texts
        already passed through :func:`clean_text`."""
        X = sp.hstack([self._uni.transform(cleaned), self._bi.transform(cleaned)]).tocsr()
        X.sort_indices()
        return X

    def analyzer(self):
        uni, bi = self._uni.build_analyzer(), self._bi.build_analyzer()
        return lambda text: uni(text) + bi(text)


# --------------------------------------------------------------------------- stance


def stance_for(agree: int, disagree: int) -> Stance:
    """The documented stance rule.

    * fewer than ``STANCE_MIN_REACTIONS`` (5) agree+disagree reactions -> "no clear signal";
    * agree share >= 70 % -> "broad support"; <= 30 % -> "broad opposition";
    * agree share between 35 % and 65 % -> "divided";
    * the bands in between (30-35 %, 65-70 %) -> "no clear signal".
    """
    total = agree + disagree
    if total < STANCE_MIN_REACTIONS:
        return "no clear signal"
    share = agree / total
    if share >= BROAD_SHARE:
        return "broad support"
    if share <= 1 - BROAD_SHARE:
        return "broad opposition"
    if DIVIDED_LOW <= share <= DIVIDED_HIGH:
        return "divided"
    return "no clear signal"


# --------------------------------------------------------------------------- helpers


def _excerpt(text: str, limit: int = 200) -> str:
    own = clean_text(text).strip() or text
    s = _EXCERPT_WS.sub(" ", own).strip()
    s = s.replace("@", "@\u200b")  # never ping from user text
    if len(s) > limit:
        cut = s[: limit - 1]
        sp_ = cut.rfind(" ")
        if sp_ > limit * 0.6:
            cut = cut[:sp_]
        s = cut.rstrip(" ,;:.") + "…"
    return s


def _rep(c: SummaryComment) -> Representative:
    return Representative(comment_id=c.comment_id, jump_url=c.jump_url, excerpt=_excerpt(c.text))


def _participation(comments: Sequence[SummaryComment]) -> Participation:
    if not comments:
        return Participation(
            comments=0, participants=0, first_activity=None, last_activity=None, per_day=[]
        )
    times = [c.created_at for c in comments]
    days = Counter(t.date() for t in times)
    return Participation(
        comments=len(comments),
        participants=len({c.author_id for c in comments}),
        first_activity=min(times),
        last_activity=max(times),
        per_day=sorted(days.items()),
    )


def _row_normalize(X: sp.csr_matrix) -> sp.csr_matrix:
    cs = np.concatenate([[0.0], np.cumsum(X.data.astype(np.float64) ** 2)])
    lens = np.diff(X.indptr)
    norms = np.sqrt(cs[X.indptr[1:]] - cs[X.indptr[:-1]]).astype(np.float32)
    norms[norms <= 1e-12] = 1.0
    X.data /= np.repeat(norms, lens)
    return X


def _normalize_dense(C: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(C, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return C / n


def _centroids(X: sp.csr_matrix, labels: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    ok = labels >= 0
    M = sp.csr_matrix(
        (w[ok].astype(np.float32), (labels[ok], np.flatnonzero(ok))), shape=(k, X.shape[0])
    )
    return _normalize_dense(np.asarray((M @ X).todense(), dtype=np.float32))


def _kmeans(X: sp.csr_matrix, w: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fit k-means on a weighted sample of rows; return L2-normalised centroids."""
    n = X.shape[0]
    k = max(1, min(k, n))
    if n > SAMPLE_SIZE:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(n, SAMPLE_SIZE, replace=False))
        Xs, ws = X[idx], w[idx]
    else:
        Xs, ws = X, w
    km = KMeans(n_clusters=k, n_init=1, max_iter=30, tol=1e-3, random_state=seed)
    km.fit(Xs, sample_weight=ws)
    return _normalize_dense(km.cluster_centers_.astype(np.float32))


def _assign(X: sp.csr_matrix, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    S = np.asarray(X @ C.T)
    lab = S.argmax(axis=1)
    return lab.astype(np.int64), S[np.arange(S.shape[0]), lab]


def _fine_clusters(X: sp.csr_matrix, w: np.ndarray, k: int, seed: int):
    """k-means on a sample, assign all rows, recentre once; returns labels, sims, cohesion."""
    C = _kmeans(X, w, k, seed)
    lab, _ = _assign(X, C)
    C = _centroids(X, lab, w, C.shape[0])
    lab, sim = _assign(X, C)
    k = C.shape[0]
    ws = np.bincount(lab, weights=w, minlength=k)
    coh = np.bincount(lab, weights=w * sim, minlength=k) / np.maximum(ws, 1e-9)
    return lab, sim, coh, ws


def _core_term_merge(
    X: sp.csr_matrix, lab: np.ndarray, w: np.ndarray, k: int, bigram: np.ndarray
) -> np.ndarray:
    """Old->new label map joining paraphrase clusters.

    Two clusters are one argument when their centroids are near-duplicates
    (cosine >= MERGE_THRESHOLD), or when they share a *core term* (present in at
    least CORE_SHARE of the members of each) that is confined to the clusters where
    it is core (>= CORE_CONCENTRATION of its weighted occurrences): paraphrases of one
    argument keep its key noun phrase ("Budapest Convention") while the rest of the
    wording differs.  A shared bigram counts 1, a shared word UNIGRAM_EVIDENCE;
    groups are formed by average linkage (mean evidence >= LINK_MIN)."""
    ok = lab >= 0
    C = _centroids(X, lab, w, k)
    S = C @ C.T
    score = np.where(S >= MERGE_THRESHOLD, 2.0 * LINK_MIN, 0.0)
    B = X.copy()
    B.data[:] = 1.0
    M = sp.csr_matrix((w[ok], (lab[ok], np.flatnonzero(ok))), shape=(k, X.shape[0]))
    Ds = sp.csc_matrix(M @ B)  # weighted document frequency per cluster and term
    size = np.bincount(lab[ok], weights=w[ok], minlength=k)
    big = (size >= MIN_THEME_COMMENTS).astype(np.float64)
    Ps = sp.csc_matrix(sp.diags(big / np.maximum(size, 1e-9)) @ Ds)
    ncore = np.asarray((Ps >= CORE_SHARE).sum(axis=0)).ravel()
    cols = np.flatnonzero(ncore >= 2)
    link = np.zeros((k, k))  # summed evidence of shared distinctive core terms
    if len(cols):
        rowlen = np.diff(B.indptr)
        tot = np.bincount(B.indices, weights=np.repeat(w, rowlen), minlength=B.shape[1])[cols]
        D = Ds[:, cols].toarray()
        P = Ps[:, cols].toarray()
        core = P >= CORE_SHARE
        conc = (D * core).sum(axis=0) / np.maximum(tot, 1e-9)
        for j, ct in enumerate(conc.tolist()):
            if ct < CORE_CONCENTRATION:
                continue
            ks = np.flatnonzero(core[:, j])
            pk = P[ks, j]
            strength = 1.0 if bigram[cols[j]] else UNIGRAM_EVIDENCE
            link[np.ix_(ks, ks)] += np.minimum.outer(pk, pk) * ct * strength
    score = np.maximum(score, link)
    np.fill_diagonal(score, 0.0)
    # average linkage: two groups merge while the mean evidence between them is at
    # least LINK_MIN, so one shared word cannot chain unrelated arguments together
    members: dict[int, list[int]] = {i: [i] for i in range(k)}
    G = score.copy()  # summed evidence between current groups
    np.fill_diagonal(G, -np.inf)
    sizes_ = np.ones(k)
    alive = np.ones(k, dtype=bool)
    while alive.sum() > 1:
        avg = G / np.outer(sizes_, sizes_)
        avg[~alive, :] = -np.inf
        avg[:, ~alive] = -np.inf
        i, j = np.unravel_index(int(np.argmax(avg)), avg.shape)
        if avg[i, j] < LINK_MIN:
            break
        i, j = min(i, j), max(i, j)
        members[i] += members.pop(j)
        G[i, :] += G[j, :]
        G[:, i] += G[:, j]
        G[i, i] = -np.inf
        sizes_[i] += sizes_[j]
        alive[j] = False
    group = [0] * k
    for r, ms in members.items():
        for m in ms:
            group[m] = r
    roots = sorted(members)
    remap = {r: n for n, r in enumerate(roots)}
    avg = G / np.outer(sizes_, sizes_)
    related = avg[np.ix_(roots, roots)]  # mean evidence between final groups
    np.fill_diagonal(related, 0.0)
    return np.array([remap[group[i]] for i in range(k)], dtype=np.int64), related


def _cluster(
    X: sp.csr_matrix, w: np.ndarray, k0: int, bigram: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (theme label per row, -1 for "other"; similarity of each row to its
    theme centroid; mean link evidence between themes)."""
    lab, sim, coh, ws = _fine_clusters(X, w, k0, RANDOM_STATE)
    k = len(coh)
    live = ws > 0
    med = float(np.median(coh[live])) if live.any() else 0.0
    floor = LOW_COHESION_FACTOR * med
    lab = lab.copy()
    next_label = k
    for c in np.flatnonzero(live & (coh < floor)).tolist():  # catch-all clusters
        rows = np.flatnonzero(lab == c)
        lab[rows] = -1
        if len(rows) < 4 * MIN_THEME_COMMENTS:
            continue
        lr, sr, cs, _ = _fine_clusters(
            X[rows], w[rows], min(8, max(2, len(rows) // 40)), RANDOM_STATE + 1 + c
        )
        for s_ in np.flatnonzero(cs >= floor).tolist():
            sel = rows[lr == s_]
            lab[sel] = next_label
            sim[sel] = sr[lr == s_]
            next_label += 1
    lab[(lab >= 0) & (sim < OUTLIER_SIMILARITY)] = -1
    if not (lab >= 0).any():
        return lab, np.zeros(len(lab), dtype=np.float32), np.zeros((0, 0))
    ids, dense_ = np.unique(lab[lab >= 0], return_inverse=True)
    dense = np.full(len(lab), -1, dtype=np.int64)
    dense[lab >= 0] = dense_
    remap, related = _core_term_merge(X, dense, w, len(ids), bigram)
    dense[dense >= 0] = remap[dense[dense >= 0]]
    C = _centroids(X, dense, w, int(remap.max()) + 1)
    inside = dense >= 0
    sims = np.zeros(len(lab), dtype=np.float32)
    rows_in = np.flatnonzero(inside)
    sims[inside] = np.asarray(X[rows_in] @ C.T)[np.arange(len(rows_in)), dense[inside]]
    return dense, sims, related


def _build_matrix(ents: list[_Entry], row_first: np.ndarray, n_features: int):
    """Sparse tf-idf matrix of the unique rows (L2-normalised), restricted to the
    hashed columns used at least twice; returns (X, used column ids)."""
    n_rows = len(row_first)
    lens = np.fromiter((len(ents[i].indices) for i in row_first), dtype=np.int64, count=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    if indptr[-1]:
        indices = np.concatenate([ents[i].indices for i in row_first])
        data = np.concatenate([ents[i].counts for i in row_first])
    else:
        indices = np.zeros(0, dtype=np.int32)
        data = np.zeros(0, dtype=np.float32)
    df = np.bincount(indices, minlength=n_features)
    keep_min = 2 if n_rows >= 50 else 1
    used = np.flatnonzero(df >= keep_min)
    col = np.full(n_features, -1, dtype=np.int64)
    col[used] = np.arange(len(used))
    newcol = col[indices]
    keep = newcol >= 0
    idf = (np.log((1.0 + n_rows) / (1.0 + df[used])) + 1.0).astype(np.float32)
    data = (1.0 + np.log(data)) * idf[newcol.clip(0)]
    ck = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    indptr2 = ck[indptr]
    X = sp.csr_matrix(
        (data[keep].astype(np.float32), newcol[keep].astype(np.int32), indptr2),
        shape=(n_rows, max(1, len(used))),
    )
    return _row_normalize(X), used


# --------------------------------------------------------------------------- labels


def _key_phrases(
    member_texts: list[list[str]], background: list[str], analyzer, n: int = 3
) -> list[str]:
    """c-TF-IDF style: terms frequent in the theme's comments and rare elsewhere."""
    bg_df: Counter[str] = Counter()
    for t in background:
        bg_df.update(set(analyzer(t)))
    nbg = max(1, len(background))
    out = []
    for texts in member_texts:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(analyzer(t)))
        m = max(1, len(texts))
        scored = []
        for term, cnt in df.items():
            p = cnt / m
            if cnt < 2 and m > 2:
                continue
            q = bg_df.get(term, 0) / nbg
            score = p * math.log(1.0 + p / (q + 0.02))
            if " " in term:
                score *= 1.25
            scored.append((score, term))
        scored.sort(key=lambda st: (-st[0], st[1]))
        chosen: list[str] = []
        for _, term in scored:
            parts = set(term.split())
            if any(term in c.split() or parts <= set(c.split()) for c in chosen):
                continue  # unigram already inside a chosen bigram
            # a bigram absorbs an already chosen unigram
            chosen = [c for c in chosen if not (" " in term and c in parts)]
            chosen.append(term)
            if len(chosen) >= n + 1:
                break
        out.append(chosen[: max(2, n)] if len(chosen) >= 2 else chosen)
    return out


# --------------------------------------------------------------------------- summarise


def summarise(
    comments: Sequence[SummaryComment],
    *,
    cache: FeatureCache | None = None,
    max_themes: int = 8,
) -> DiscussionSummary:
    """Summarise one topic's discussion.  CPU-bound: run it off the event loop."""
    comments = sorted(comments, key=lambda c: (c.created_at, c.comment_id))
    participation = _participation(comments)
    if cache is None:
        cache = FeatureCache(max_entries=None)
    ents = cache.entries(comments)
    chatter = np.fromiter((e.chatter for e in ents), dtype=bool, count=len(ents))
    subst_idx = np.flatnonzero(~chatter)
    n_sub = len(subst_idx)
    reactions_only = int(chatter.sum())

    # collapse exact duplicates (first occurrence represents the row)
    dup = np.fromiter((ents[i].dup_key for i in subst_idx), dtype=np.int64, count=n_sub)
    _, first, inverse, wcount = np.unique(
        dup, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(first, kind="stable")  # chronological rows
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    row_of_sub = rank[inverse.ravel()]  # substantive comment -> unique row
    row_first = subst_idx[first[order]]  # unique row -> comment index
    w = wcount[order].astype(np.float64)
    n_rows = len(row_first)

    if n_rows < BRIEF_THRESHOLD:
        listed = [_rep(comments[i]) for i in row_first]  # distinct texts, oldest first
        return DiscussionSummary(
            participation=participation,
            substantive=n_sub,
            themes=[],
            reactions_only=reactions_only,
            other=0,
            is_brief=True,
            listed=listed,
        )

    X, used = _build_matrix(ents, row_first, cache.n_features)

    k0 = min(max(2, n_rows // 4), max(6 * max_themes, 16))
    row_lab, row_sim, related = _cluster(X, w, k0, used >= cache.bigram_start)

    # per substantive comment: label, then per-theme stats
    authors = np.fromiter((comments[i].author_id for i in subst_idx), dtype=np.int64, count=n_sub)
    agree = np.fromiter((comments[i].agree for i in subst_idx), dtype=np.int64, count=n_sub)
    disagree = np.fromiter((comments[i].disagree for i in subst_idx), dtype=np.int64, count=n_sub)
    lab = row_lab[row_of_sub]
    k = int(row_lab.max()) + 1 if (row_lab >= 0).any() else 0
    inside = lab >= 0
    sizes = np.bincount(lab[inside], minlength=k)
    pairs = np.unique(np.stack([lab[inside], authors[inside]]), axis=1)
    parts = np.bincount(pairs[0], minlength=k)
    ag = np.bincount(lab[inside], weights=agree[inside], minlength=k).astype(np.int64)
    dis = np.bincount(lab[inside], weights=disagree[inside], minlength=k).astype(np.int64)
    wsum = np.bincount(row_lab[row_lab >= 0], weights=w[row_lab >= 0], minlength=k)
    coh = np.bincount(
        row_lab[row_lab >= 0], weights=(w * row_sim)[row_lab >= 0], minlength=k
    ) / np.maximum(wsum, 1e-9)

    eligible = [
        c
        for c in range(k)
        if sizes[c] >= MIN_THEME_COMMENTS and parts[c] >= MIN_THEME_PARTICIPANTS
    ]
    eligible.sort(key=lambda c: (-sizes[c], c))
    major = [c for c in eligible if sizes[c] >= MINORITY_SHARE * n_sub]
    # a theme sharing a distinctive word with a bigger shown theme is probably another
    # wording of the same argument: show distinct arguments first
    first, later = [], []
    for c in eligible:
        (later if any(related[c, d] >= RELATED_MIN for d in first) else first).append(c)
    major = [c for c in first if c in major] + [c for c in later if c in major]
    minor = [c for c in first if c not in major] + [c for c in later if c not in major]
    reserve = min(len(minor), max(1, max_themes // 4)) if max_themes > 1 else 0
    shown = major[: max_themes - reserve]
    shown += minor[: max_themes - len(shown)]
    shown.sort(key=lambda c: (-sizes[c], c))

    # representatives: closest rows to the centroid, distinct authors/texts preferred
    row_order = np.lexsort((np.arange(n_rows), -row_sim))
    reps_by: dict[int, list[int]] = {c: [] for c in shown}
    seen_auth: dict[int, set[int]] = {c: set() for c in shown}
    spare: dict[int, list[int]] = {c: [] for c in shown}
    for r in row_order.tolist():
        c = int(row_lab[r])
        if c not in reps_by or len(reps_by[c]) >= 3:
            continue
        ci = int(row_first[r])
        a = comments[ci].author_id
        if a in seen_auth[c]:
            if len(spare[c]) < 3:
                spare[c].append(ci)
            continue
        seen_auth[c].add(a)
        reps_by[c].append(ci)
    for c in shown:
        while len(reps_by[c]) < 3 and spare[c]:
            reps_by[c].append(spare[c].pop(0))

    # labels from a sample of each theme's most central comments vs the whole
    analyzer = cache.analyzer()
    rng = np.random.default_rng(RANDOM_STATE)
    bg_rows = row_first[rng.choice(n_rows, min(n_rows, 1500), replace=False)]
    background = [clean_text(comments[i].text) for i in np.sort(bg_rows)]
    member_texts = []
    for c in shown:
        rows_c = row_order[row_lab[row_order] == c][:200]
        member_texts.append([clean_text(comments[int(row_first[r])].text) for r in rows_c])
    phrases = _key_phrases(member_texts, background, analyzer)

    sub_ids = np.fromiter(
        (comments[i].comment_id for i in subst_idx), dtype=np.int64, count=n_sub
    )
    themes = []
    for c, ph in zip(shown, phrases, strict=True):
        a_, d_ = int(ag[c]), int(dis[c])
        themes.append(
            Theme(
                label=", ".join(ph) if ph else "(unlabelled)",
                key_phrases=ph,
                comments=int(sizes[c]),
                participants=int(parts[c]),
                share=round(float(sizes[c]) / max(1, n_sub), 4),
                cohesion=round(float(coh[c]), 4),
                representatives=[_rep(comments[i]) for i in reps_by[c]],
                agree=a_,
                disagree=d_,
                stance=stance_for(a_, d_),
                minority=bool(sizes[c] < MINORITY_SHARE * n_sub),
                comment_ids=sub_ids[lab == c].tolist(),
            )
        )
    in_shown = int(sum(sizes[c] for c in shown))
    in_more = int(sum(sizes[c] for c in eligible if c not in shown))
    return DiscussionSummary(
        participation=participation,
        substantive=n_sub,
        themes=themes,
        reactions_only=reactions_only,
        other=n_sub - in_shown - in_more,
        more_themes=len(eligible) - len(shown),
        more_themes_comments=in_more,
        is_brief=False,
    )


# --------------------------------------------------------------------------- rendering


def _links(reps: Sequence[Representative]) -> str:
    return " ".join(f"[{i}]({r.jump_url})" for i, r in enumerate(reps, 1))


def _safe(text: str) -> str:
    return text.replace("@", "@\u200b")


def _fmt_day(d: date | datetime) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def _pct(a: int, d: int) -> str:
    t = a + d
    return f"{round(100 * a / t)} % of {t} reactions agree" if t else "no reactions"


def _participation_line(s: DiscussionSummary) -> str:
    p = s.participation
    if not p.comments:
        return "No comments yet."
    span = ""
    if p.first_activity and p.last_activity:
        f, last = p.first_activity.date(), p.last_activity.date()
        span = f" on {_fmt_day(f)}" if f == last else f" between {_fmt_day(f)} and {_fmt_day(last)}"
    line = (
        f"{p.comments} comment{'s' if p.comments != 1 else ''} from {p.participants} "
        f"participant{'s' if p.participants != 1 else ''}{span}."
    )
    if p.per_day and len(p.per_day) > 1:
        day, n = max(p.per_day, key=lambda dn: (dn[1], dn[0]))
        line += f" Busiest day: {_fmt_day(day)} ({n} comments)."
    if s.reactions_only:
        line += (
            f" {s.reactions_only} short repl{'ies' if s.reactions_only != 1 else 'y'} "
            "(\u201c+1\u201d, \u201cthanks\u201d) counted as reactions, not themes."
        )
    return line


def _statement(t: Theme) -> str:
    topic = f"**{_safe(t.label)}**"
    eg = f" — e.g. \u201c{t.representatives[0].excerpt}\u201d" if t.representatives else ""
    links = _links(t.representatives)
    if t.stance == "broad support":
        head = f"There was broad support for points on {topic} ({_pct(t.agree, t.disagree)})"
    elif t.stance == "broad opposition":
        head = (
            f"Most reactions disagreed with points on {topic} "
            f"({_pct(t.agree, t.disagree)})"
        )
    elif t.stance == "divided":
        head = f"Opinion was divided on {topic} ({_pct(t.agree, t.disagree)})"
    elif t.minority:
        head = (
            f"A minority of participants ({t.participants}) raised {topic}"
        )
    else:
        head = f"Some participants raised {topic}; reactions gave no clear signal"
    return f"{head}{eg} {links}".rstrip()


def render_summary_markdown(
    topic_title: str,
    s: DiscussionSummary,
    *,
    quotes: Sequence[tuple[str, int]] = (),
    sources: Sequence[tuple[str, str | None, int]] = (),
    status_line: str = "",
) -> str:
    """The report in the voice of a conference summary, each statement linked to
    the messages it draws on.  ``quotes``: (passage, times quoted); ``sources``:
    (url, title or None, number of citers)."""
    out = [f"## Summary: {_safe(topic_title)}", "", "### Participation", _participation_line(s)]
    out += ["", "### Themes"]
    if s.is_brief:
        if s.substantive == 0:
            out.append("No substantive comments yet, so there is nothing to summarise.")
        else:
            out.append(
                f"Only {s.substantive} substantive comment{'s' if s.substantive != 1 else ''} "
                "so far: too few to identify themes. Here is what was said:"
            )
            for i, r in enumerate(s.listed, 1):
                out.append(f"{i}. \u201c{r.excerpt}\u201d [link]({r.jump_url})")
    else:
        if not s.themes:
            out.append("No coherent themes emerged; the comments cover many separate points.")
        for i, t in enumerate(s.themes, 1):
            tag = " *(minority view)*" if t.minority else ""
            out.append(
                f"{i}. **{_safe(t.label)}**{tag} — {t.comments} comments from "
                f"{t.participants} participants. {_links(t.representatives)}"
            )
            if t.representatives:
                out.append(f"   > {t.representatives[0].excerpt}")
        rest = []
        if s.other:
            rest.append(f"{s.other} comments made individual points that fit no theme")
        if s.more_themes:
            rest.append(
                f"{s.more_themes} smaller themes ({s.more_themes_comments} comments) are not shown"
            )
        if rest:
            out.append("; ".join(rest).capitalize() + ".")
        out += ["", "### Where people agree and disagree"]
        order = {"broad support": 0, "divided": 1, "broad opposition": 2, "no clear signal": 3}
        stmts = sorted(s.themes, key=lambda t: (order[t.stance], t.minority, -t.comments))
        for t in stmts:
            if t.stance == "no clear signal" and not t.minority:
                continue
            out.append(f"- {_statement(t)}")
        quiet = [t for t in s.themes if t.stance == "no clear signal" and not t.minority]
        if quiet:
            out.append(
                "- Reactions gave no clear signal on "
                + "; ".join(f"**{_safe(t.label)}** {_links(t.representatives[:1])}" for t in quiet)
                + "."
            )
    if quotes:
        out += ["", "### Most-quoted passages"]
        for passage, n in quotes:
            out.append(f"- \u201c{_safe(_excerpt(passage))}\u201d — quoted {n}×")
    if sources:
        out += ["", "### Most-cited sources"]
        for url, title, n in sources:
            name = _safe(title) if title else url
            out.append(f"- [{name}](<{url}>) — cited by {n}")
    if status_line:
        out += ["", "### Status", _safe(status_line)]
    return "\n".join(out).strip() + "\n"


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def summary_embed_fields(
    topic_title: str,
    s: DiscussionSummary,
    *,
    quotes: Sequence[tuple[str, int]] = (),
    sources: Sequence[tuple[str, str | None, int]] = (),
    status_line: str = "",
) -> EmbedData:
    """Plain data for one Discord embed within Discord's limits (title 256,
    description 4096, ≤25 fields of name 256 / value 1024, 6000 in total)."""
    title = _clip(f"Summary: {_safe(topic_title)}", 256)
    desc_parts = [_participation_line(s)]
    fields: list[EmbedField] = []
    if s.is_brief:
        lines = [f"{i}. \u201c{_excerpt(r.excerpt, 140)}\u201d [link]({r.jump_url})"
                 for i, r in enumerate(s.listed, 1)]
        desc_parts.append(
            "Too few comments to identify themes. Here is what was said:\n" + "\n".join(lines)
            if lines else "No substantive comments yet."
        )
    else:
        for t in s.themes[:20]:
            tag = " (minority view)" if t.minority else ""
            name = _clip(f"{_safe(t.label)}{tag}", 256)
            value = (
                f"{t.comments} comments · {t.participants} participants · {t.stance}"
                f" ({_pct(t.agree, t.disagree)})\n"
            )
            if t.representatives:
                value += f"\u201c{_excerpt(t.representatives[0].excerpt, 160)}\u201d\n"
            value += _links(t.representatives)
            fields.append(EmbedField(name=name, value=_clip(value, 1024)))
        if s.other or s.more_themes:
            desc_parts.append(
                f"{s.other} comments fit no theme"
                + (
                    f"; {s.more_themes} smaller themes ({s.more_themes_comments} comments)"
                    " not shown."
                    if s.more_themes
                    else "."
                )
            )
    if quotes:
        v = "\n".join(f"\u201c{_excerpt(p, 90)}\u201d — {n}×" for p, n in quotes[:5])
        fields.append(EmbedField(name="Most-quoted passages", value=_clip(v, 1024)))
    if sources:
        v = "\n".join(
            f"[{_clip(_safe(t or u), 60)}](<{u}>) — {n}" for u, t, n in sources[:5]
        )
        fields.append(EmbedField(name="Most-cited sources", value=_clip(v, 1024)))
    desc = _clip("\n\n".join(desc_parts), 4096)
    footer = _clip(_safe(status_line), 2048)
    emb = EmbedData(title=title, description=desc, fields=fields[:25], footer=footer)
    while emb.total_chars() > 6000 and emb.fields:
        emb.fields.pop(-3 if len(emb.fields) > 2 else -1)
    if emb.total_chars() > 6000:
        emb.description = _clip(emb.description, max(1, 6000 - emb.total_chars() +
                                                     len(emb.description)))
    return emb
