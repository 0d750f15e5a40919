"""Discussion summary engine (pure core: no Discord, no storage).

Method (see ``notes/summaries-and-maps.md`` for the measurements behind it):

1. **Chatter out.** Comments with fewer than ~6 words and almost no content words
   ("+1", "thanks", "agreed") are counted as ``reactions_only``, not themes.
2. **Hashed features.** Each comment's own words (quoted ``>`` lines, links and
   mentions removed) are tokenised once and hashed into unigram+bigram counts
   (stateless feature hashing).  Features depend on the comment alone, so they are
   computed once per comment, persisted at ingestion and kept in a
   :class:`FeatureCache` (arrays, no object per comment).  IDF weights are
   recomputed per request from the document frequencies, which is cheap.
3. **Duplicates collapse** into one row with a weight.
4. **Clustering that scales linearly**: k-means on a weighted sample of at most
   ``SAMPLE_SIZE`` rows, then every row is assigned to its nearest centroid
   (cosine), and centroids are recomputed from the full assignment.
5. **Merge paraphrases**: centroid linkage joins clusters whose summed rows are close
   (cosine >= ``CENTROID_MERGE``), unless the joined group would be a loose catch-all.
6. **Catch-all clusters** with low cohesion are re-split once; what still does not
   cohere (and rows that share nothing with their centroid) is reported as ``other``.
7. **Labels** are the top key phrases of each theme versus the whole discussion
   (c-TF-IDF style, stop words removed, bigrams preferred).  **Representatives**
   are the comments closest to the centroid, distinct authors preferred.
8. **Stance** from reactions, see :func:`stance_for`.

Honesty rule: with fewer than ``BRIEF_THRESHOLD`` substantive comments no themes
are invented; the summary just lists the comments (``is_brief``).

Everything is deterministic (fixed random states, stable ordering), with one exception
for big topics (``THEMES_KEEP_MIN`` distinct comments or more): the themes found are
kept in the process while the discussion changes by less than ``THEMES_DRIFT``, each
new comment joining its nearest theme, so a summary there also depends on the
clustering kept since (see :func:`_themes`).
"""

from __future__ import annotations

import gc
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from hashlib import blake2b
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field
from sklearn.cluster import KMeans
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from threadpoolctl import ThreadpoolController

from bot.core import feature_codec
from bot.core.arrays import SLICE, count_distinct, distinct, gathered
from bot.core.text import truncate

__all__ = [
    "BRIEF_THRESHOLD",
    "DiscussionSummary",
    "EmbedData",
    "EmbedField",
    "FEATURES_VERSION",
    "FeatureCache",
    "FeatureRows",
    "Participation",
    "Representative",
    "Stance",
    "StoredComment",
    "SummaryComment",
    "Theme",
    "UINT32_FEATURES_VERSION",
    "clean_text",
    "forget_themes",
    "is_chatter",
    "render_summary_markdown",
    "stance_for",
    "summarise",
    "summary_embed_fields",
    "text_hash",
]

# --------------------------------------------------------------------------- tunables

N_FEATURES = 2**18
#: what persisted features were computed with and how they are stored: rows of another
#: version are dropped, except those of the first storage format, which are converted
FEATURES_VERSION = f"tokens-1/about-2/{N_FEATURES}/gaps-1"
UINT32_FEATURES_VERSION = f"tokens-1/about-2/{N_FEATURES}"  # uint32 blobs, 64-bit hashes
BRIEF_THRESHOLD = 8  # fewer distinct substantive comments -> brief, no clustering
SAMPLE_SIZE = 4000  # rows k-means is fitted on
TERMS_MEMO = 50_000  # texts whose label terms are remembered
LABEL_BACKGROUND = 1500  # comments a theme's label terms are contrasted with
THEMES_KEEP_MIN = 20_000  # distinct rows from which a topic's themes are kept (_themes)
THEMES_DRIFT = 0.02  # share of those rows changed before its themes are found again
THEMES_KEPT = 4  # topics whose themes are kept (~5 MB each at 500,000 comments)
HASH_BATCH = 2_000  # comments hashed per call (a call holds the GIL: keep it short)
CENTROID_MERGE = 0.10  # cosine between two groups' centroids at which they are one argument
MERGE_COHESION = 0.3  # ...unless then two of its comments' mean cosine < this x the median
RELATED_MIN = CENTROID_MERGE  # themes this close, kept apart: shown after distinct arguments
LOW_COHESION_FACTOR = 0.7  # cohesion < factor * median cohesion -> catch-all
OUTLIER_SIMILARITY = 0.08  # a row less similar than this to its centroid is "other"
MINORITY_SHARE = 0.05  # themes below this share of substantive comments are minority views
MIN_THEME_COMMENTS = 3
MIN_THEME_PARTICIPANTS = 2
RANDOM_STATE = 0
SCALE_SPARSE_VOTERS = False  # Pol.is scales up projections of people who saw few statements
IMPUTE_MEAN = 1.0  # a missing vote counts as the statement's mean vote, as in Pol.is (0.0: a pass)
K_MARGIN = 0.0  # a further group must beat the best silhouette so far by this much
MIN_GROUP_SHARE = 0.03  # a cluster below this share of people (or 2) joins the nearest group
MIN_GROUP_PEOPLE = 2  # ...and never a cluster smaller than this
GROUP_SAMPLE = 1500  # participants k-means and the silhouette are computed on

# Stance rule (documented in stance_for)
STANCE_MIN_REACTIONS = 5
STRONG_SHARE = 0.85
SUPPORT_SHARE = 0.65
DIVIDED_LOW, DIVIDED_HIGH = 0.35, 0.65

Stance = Literal[
    "very strong support", "broad support", "divided", "broad opposition", "little support",
    "mixed", "no clear signal",
]

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
# Unicode words (accents kept, "24/7" and "e-mail" whole); scripts written without
# spaces (CJK, Thai) are read as runs and cut into character bigrams.
_NOSPACE = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_NOSPACE}]+|\+?[^\W_](?:[\w'’/+-]*[^\W_])?")
_NOSPACE_RUN = re.compile(rf"[{_NOSPACE}]")
_EXCERPT_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------- input / output


class SummaryComment(NamedTuple):
    """One recorded comment. An immutable named tuple (not a pydantic model, nor a frozen
    dataclass, whose __init__ sets each field through object.__setattr__): a warm-up on a
    million comments builds a million of these, at 0.25 µs each with
    ``SummaryComment._make`` instead of 2 µs."""

    comment_id: int
    author_id: int
    text: str
    created_at: datetime
    jump_url: str
    agree: int = 0
    disagree: int = 0
    passes: int = 0
    #: per-person votes in the order cast, ``(voter id, +1 / -1 / 0)``; when present they
    #: replace the counts above (each person's latest vote counts, the author's ignored)
    votes: tuple[tuple[int, int], ...] = ()
    #: the caller already kept one latest vote per voter (the author's left out) and set
    #: the counts from them (storage does): nothing to recompute per request
    votes_latest: bool = False
    #: ``created_at`` (UTC) in microseconds since 1970, when the caller has it (storage
    #: does): a big topic's summary then reads its times without converting each datetime
    created_us: int | None = None


class StoredComment(SummaryComment):
    """A :class:`SummaryComment` as storage's rows make it (``bot.core.insight.apply_rows``),
    the same to every reader but lighter to keep: ``created_at`` is made from ``created_us``
    when read, and ``jump_url`` from the link of the comment's channel (one string shared by
    the channel's comments, held where ``created_at`` is) and its message id (held where
    ``jump_url`` is). A warm-up keeps a million of these: no datetime and no 88-character
    string built and kept per comment (about 150 MB less at 1M, issue 17). So never
    ``_replace`` its ``created_at`` or ``jump_url``: those places hold the link's parts."""

    __slots__ = ()

    @property
    def created_at(self) -> datetime:  # type: ignore[override]
        return _EPOCH + timedelta(microseconds=self[10])

    @property
    def jump_url(self) -> str:  # type: ignore[override]
        return f"{self[3]}{self[4]}"

    def __repr__(self) -> str:
        return (f"StoredComment(comment_id={self.comment_id}, author_id={self.author_id}, "
                f"created_at={self.created_at!r}, jump_url={self.jump_url!r}, "
                f"votes={len(self.votes)})")


class Representative(BaseModel):
    comment_id: int
    jump_url: str
    excerpt: str = Field(max_length=200)
    agree: int = 0
    disagree: int = 0


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
    minority: bool  # a view few support (its statements are mostly rejected)
    small: bool = False  # a smaller theme (under MINORITY_SHARE of the comments)
    supported: list[Representative] = Field(default_factory=list)  # its supported statements
    rejected: list[Representative] = Field(default_factory=list)  # its rejected statements
    split: list[Representative] = Field(default_factory=list)  # its divided statements
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
    opinion: Opinion | None = None  # statements, votes and opinion groups
    #: an organiser's own opening sentences (``/summary-edit``); replace the generated ones
    curated_headline: list[str] = Field(default_factory=list)


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
    if ">" in text:  # (quoted lines and mentions both need one: most comments have neither)
        text = _QUOTE_LINE.sub(" ", text)
        text = _URL.sub(" ", text)
        return _MENTION.sub(" ", text)
    return _URL.sub(" ", text)


def _words(cleaned: str) -> list[str]:
    """Word tokens, lower-cased; a CJK/Thai run becomes its character bigrams."""
    low = cleaned.lower()
    found = _WORD.findall(low)
    if not _NOSPACE_RUN.search(low):  # the common case: a script written with spaces
        return [w.replace("’", "'") for w in found] if "’" in low else found
    out: list[str] = []
    for w in found:
        if _NOSPACE_RUN.match(w):
            out.extend([w] if len(w) < 2 else [w[i : i + 2] for i in range(len(w) - 1)])
        else:
            out.append(w.replace("’", "'"))
    return out


@lru_cache(maxsize=100_000)
def _plural(w: str) -> str:
    """A light plural fold for Latin-script words ("breaches" -> "breach", "policies" ->
    "policy", "networks" -> "network"), so that one argument's paraphrases share terms."""
    if len(w) <= 4 or not w.endswith("s") or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 5:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "sses", "xes", "zes")):
        return w[:-2]
    if w.endswith(("ss", "us", "is", "ous")):
        return w
    return w[:-1]


def _terms(words: list[str]) -> list[str]:
    return [_plural(w) for w in words
            if w not in STOP_WORDS and (len(w) > 1 or _NOSPACE_RUN.match(w))]


def _tokens(cleaned: str) -> tuple[list[str], list[str], list[str]]:
    """The one tokenisation of a cleaned text: (words, unigram terms, bigram terms).

    Everything per comment derives from it: the hashed features (unigrams and bigrams),
    the chatter check (words), the duplicate key (words) and the label terms."""
    words = _words(cleaned)
    spaced = not _NOSPACE_RUN.search(cleaned)
    if spaced:
        uni = [_plural(w) for w in words if len(w) > 1 and w not in STOP_WORDS]
        t = uni
    else:
        uni = _terms(words)
        t = [w for w in uni if not _NOSPACE_RUN.match(w)]
    return words, uni, [f"{a} {b}" for a, b in zip(t, t[1:], strict=False)]


def _unigrams(text: str) -> list[str]:
    return _tokens(text)[1]


def _bigrams(text: str) -> list[str]:
    return _tokens(text)[2]


def _uni_and_bigrams(text: str) -> list[str]:
    """``_unigrams(text) + _bigrams(text)``, from one tokenisation."""
    _, uni, bi = _tokens(text)
    return uni + bi


def is_chatter(text: str) -> bool:
    """True for short replies with (almost) no content: "+1", "thanks", "agreed!"."""
    return _chatter_words(_words(clean_text(text)))


def _chatter_words(words: list[str]) -> bool:
    content = sum(
        1 for w in words if (len(w) > 2 or _NOSPACE_RUN.match(w)) and w not in STOP_WORDS
    )
    return content <= 1 or (len(words) < 6 and content <= 2)


def stable_hash(text: str) -> int:
    """A 64-bit hash of a text that is the same in every process (unlike ``hash()``):
    the key of duplicate detection (a million comments need the 64 bits)."""
    return int.from_bytes(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "little", signed=True)


def text_hash(text: str) -> int:
    """The 32 low bits of :func:`stable_hash`, signed: what persisted features say they
    were computed from (only ever compared with the same comment's text, so 32 bits do;
    they take 4 bytes a comment instead of 8)."""
    low = stable_hash(text) & 0xFFFF_FFFF
    return low - (1 << 32) if low >= 1 << 31 else low


CHATTER_FLAG, ABOUT_FLAG = 1, 2


@dataclass(slots=True)
class FeatureRows:
    """Features of many comments at once, as arrays (no object per comment): row ``r``
    has columns ``indices[indptr[r]:indptr[r + 1]]`` with term ``counts`` there."""

    ids: np.ndarray  # int64 comment ids
    content_hash: np.ndarray  # int64 text_hash of each comment's text
    dup_key: np.ndarray  # int64 stable hash of the normalised word sequence
    flags: np.ndarray  # uint8: CHATTER_FLAG | ABOUT_FLAG
    indptr: np.ndarray  # int64, len(ids) + 1
    indices: np.ndarray  # int32 hashed columns, sorted within a row
    counts: np.ndarray  # uint8 term counts (capped at 255)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: np.ndarray) -> FeatureRows:
        """The rows where ``keep`` (a boolean mask) is true."""
        rows = np.flatnonzero(keep)
        lens = np.diff(self.indptr)[rows]
        indptr, pos = _ragged_gather(self.indptr[:-1][rows], lens)
        return FeatureRows(self.ids[rows], self.content_hash[rows], self.dup_key[rows],
                           self.flags[rows], indptr, self.indices[pos], self.counts[pos])

    def blobs(self) -> list[bytes]:
        """Each row's features as the bytes to store (see ``bot.core.feature_codec``)."""
        return feature_codec.encode_rows(self.indptr, self.indices, self.counts)

    @classmethod
    def from_blobs(cls, ids, content_hash, dup_key, flags, blobs: Sequence[bytes]) -> FeatureRows:
        """Rows read back from storage (see :meth:`blobs`): one join, one numpy decode."""
        indptr, indices, counts = feature_codec.decode(blobs)
        return cls(np.asarray(ids, dtype=np.int64), np.asarray(content_hash, dtype=np.int64),
                   np.asarray(dup_key, dtype=np.int64), np.asarray(flags, dtype=np.uint8),
                   indptr, indices, counts)


def _concat_rows(parts: list[FeatureRows]) -> FeatureRows:
    offsets = np.cumsum([0] + [len(p.indices) for p in parts[:-1]])
    indptr = np.concatenate([[0]] + [p.indptr[1:] + o for p, o in zip(parts, offsets,
                                                                       strict=True)])
    return FeatureRows(*(np.concatenate([getattr(p, f) for p in parts])
                         for f in ("ids", "content_hash", "dup_key", "flags")),
                       indptr.astype(np.int64),
                       np.concatenate([p.indices for p in parts]),
                       np.concatenate([p.counts for p in parts]))


@dataclass(slots=True)
class _Entry:
    """One comment's features (the map's per-topic texts; summaries use arrays)."""

    indices: np.ndarray  # int32 hashed feature indices
    counts: np.ndarray  # float32 term counts
    chatter: bool
    dup_key: int
    about: bool = False


class _Grow:
    """A numpy array that grows by appending (by a quarter at a time: a million comments'
    features are a hundred megabytes, and one more comment must not double them)."""

    __slots__ = ("a", "n")

    def __init__(self, dtype) -> None:
        self.a = np.zeros(1024, dtype=dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> int:
        """Append; returns the offset of the first appended value."""
        start, end = self.n, self.n + len(values)
        if end > len(self.a):
            bigger = np.zeros(max(end, len(self.a) + len(self.a) // 4 + 1024), dtype=self.a.dtype)
            bigger[: self.n] = self.a[: self.n]
            self.a = bigger
        self.a[start:end] = values
        self.n = end
        return start

    @property
    def view(self) -> np.ndarray:
        return self.a[: self.n]


def _ragged_gather(starts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, positions) taking ``lens[r]`` consecutive items from ``starts[r]``."""
    indptr = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    total = int(indptr[-1])
    pos = np.arange(total, dtype=np.int64)
    if total:
        pos += np.repeat(starts.astype(np.int64) - indptr[:-1], lens)
    return indptr, pos


class FeatureCache:
    """Per-comment hashed features, in arrays keyed by comment id (no object per comment:
    a million comments take about 30 bytes each plus 5 per distinct term).

    Each comment is tokenised once (:func:`_tokens`) for its features, its chatter flag,
    its duplicate key and whether it is about the participant. The hashing is stateless,
    so an entry is stale only when the comment's text changed: :meth:`refresh` with the
    changed comments (it compares their texts' :func:`text_hash`) or :meth:`discard`
    them. :meth:`install` takes rows persisted at ingestion (see ``FeatureStore``).
    """

    def __init__(self, n_features: int = N_FEATURES, max_entries: int | None = 2_000_000):
        self.n_features = n_features
        self.max_entries = max_entries
        half = n_features // 2  # unigrams hash into [0, half), bigrams into [half, n)
        self.bigram_start = half
        self._uni = FeatureHasher(n_features=half, input_type="string", alternate_sign=False,
                                  dtype=np.float32)
        self._bi = FeatureHasher(n_features=n_features - half, input_type="string",
                                 alternate_sign=False, dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)  # sorted comment ids ...
        self._slot_of = np.zeros(0, dtype=np.int64)  # ... and their slot (-1: dropped)
        self._pending: dict[int, int] = {}  # id -> slot, not merged into _ids yet
        self._start, self._len = _Grow(np.int64), _Grow(np.int32)
        self._hash, self._dup, self._flags = _Grow(np.int64), _Grow(np.int64), _Grow(np.uint8)
        self._indices, self._counts = _Grow(np.int32), _Grow(np.uint8)
        self._live = 0
        self._last_added: list[tuple[int, str]] = []
        self._terms: dict[int, frozenset[str]] = {}  # see analyzer()

    def __len__(self) -> int:
        return self._live

    # --- computing ----------------------------------------------------------------------

    def featurise(self, items: Sequence[tuple[int, str]]) -> FeatureRows:
        """Features of ``(comment id, text)`` pairs (CPU-bound: off the loop), without
        keeping them."""
        ids = np.fromiter((i for i, _ in items), dtype=np.int64, count=len(items))
        chash = np.fromiter((text_hash(t) for _, t in items), dtype=np.int64,
                            count=len(items))
        cleaned = [clean_text(t) for _, t in items]
        return self._rows(ids, chash, cleaned)

    def _rows(self, ids: np.ndarray, chash: np.ndarray, cleaned: list[str]) -> FeatureRows:
        if len(cleaned) > HASH_BATCH:  # the hashing holds the GIL: in steps, not all at once
            parts = [self._rows(ids[i:i + HASH_BATCH], chash[i:i + HASH_BATCH],
                                cleaned[i:i + HASH_BATCH])
                     for i in range(0, len(cleaned), HASH_BATCH)]
            return _concat_rows(parts)
        n = len(cleaned)
        dup = np.zeros(n, dtype=np.int64)
        flags = np.zeros(n, dtype=np.uint8)
        unis, bis = [], []
        for r, text in enumerate(cleaned):
            words, uni, bi = _tokens(text)
            unis.append(uni)
            bis.append(bi)
            dup[r] = stable_hash(" ".join(words))
            flags[r] = (CHATTER_FLAG if _chatter_words(words) else 0) | (
                ABOUT_FLAG if _about_cleaned(text) else 0)
        indptr, indices, counts = self._hash_terms(unis, bis)
        return FeatureRows(ids, chash, dup, flags, indptr, indices, counts)

    def _hash_terms(self, unis: list[list[str]], bis: list[list[str]]):
        if not unis:
            return np.zeros(1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint8)
        X = sp.hstack([self._uni.transform(unis), self._bi.transform(bis)]).tocsr()
        X.sort_indices()
        counts = np.minimum(X.data, 255).astype(np.uint8)
        return X.indptr.astype(np.int64), X.indices.astype(np.int32), counts

    def transform(self, cleaned: Sequence[str]) -> sp.csr_matrix:
        """Hashed unigram (first half of the columns) and bigram counts of texts
        already passed through :func:`clean_text`."""
        unis, bis = [], []
        for text in cleaned:
            _, uni, bi = _tokens(text)
            unis.append(uni)
            bis.append(bi)
        X = sp.hstack([self._uni.transform(unis), self._bi.transform(bis)]).tocsr()
        X.sort_indices()
        return X

    # --- keeping ------------------------------------------------------------------------

    def add(self, items: Iterable[tuple[int, str]]) -> int:
        """Compute and keep features for ``(comment id, text)`` pairs not kept yet with
        that text; returns how many were computed."""
        items = list(items)
        if not items:
            return 0
        slots = self.slots(gathered(items, _ID, np.int64))
        todo = [p for p, s in zip(items, slots.tolist(), strict=True) if s < 0]
        have = [(p, s) for p, s in zip(items, slots.tolist(), strict=True) if s >= 0]
        if have:  # kept already: computed again only if the text is not the same
            hashes = self._hash.view
            todo += [p for p, s in have if hashes[s] != text_hash(p[1])]
        if todo:
            self.install(self.featurise(todo))
        self._last_added = todo
        return len(todo)

    def refresh(self, items: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
        """Comments whose text may have changed: recompute those that did (see :meth:`add`);
        returns the (comment id, text) pairs recomputed."""
        self.add(items)
        return self._last_added

    def install(self, rows: FeatureRows, *, only_missing: bool = False) -> int:
        """Keep computed or persisted rows, replacing what was kept for those ids (or,
        ``only_missing``, only for ids with nothing kept). Returns how many were kept."""
        if only_missing and len(rows):
            rows = rows.subset(self.slots(rows.ids) < 0)
        if not len(rows):
            return 0
        lens = np.diff(rows.indptr).astype(np.int32)
        base = self._indices.extend(rows.indices)
        self._counts.extend(rows.counts)
        first = self._start.extend(base + rows.indptr[:-1])
        self._len.extend(lens)
        self._hash.extend(rows.content_hash)
        self._dup.extend(rows.dup_key)
        self._flags.extend(rows.flags)
        new_slots = np.arange(first, first + len(rows), dtype=np.int64)
        if len(rows) > 1000:
            self._merge(rows.ids, new_slots)
        else:
            for i, s in zip(rows.ids.tolist(), new_slots.tolist(), strict=True):
                self._pending[i] = s
        self._recount()
        if self.max_entries is not None and self._live > self.max_entries:
            self._evict(self._live - self.max_entries)
        return len(rows)

    def discard(self, comment_id: int) -> None:
        self.discard_many([comment_id])

    def discard_many(self, comment_ids: Iterable[int]) -> None:
        ids = np.fromiter(comment_ids, dtype=np.int64)
        if not len(ids):
            return
        self._flush()
        pos = np.searchsorted(self._ids, ids).clip(max=max(0, len(self._ids) - 1))
        if len(self._ids):
            hit = self._ids[pos] == ids
            self._slot_of[pos[hit]] = -1
        self._recount()

    def _merge(self, ids: np.ndarray, slots: np.ndarray) -> None:
        """Fold (id, slot) pairs into the sorted index; a later pair wins over an earlier."""
        self._flush()
        if (len(ids) and (not len(self._ids) or ids[0] > self._ids[-1])
                and (np.diff(ids) > 0).all()):  # pages in id order, after what is kept
            self._ids = np.concatenate([self._ids, ids])
            self._slot_of = np.concatenate([self._slot_of, slots])
            return
        all_ids = np.concatenate([self._ids, ids])
        all_slots = np.concatenate([self._slot_of, slots])
        order = np.argsort(all_ids, kind="stable")
        all_ids, all_slots = all_ids[order], all_slots[order]
        last = np.ones(len(all_ids), dtype=bool)
        last[:-1] = all_ids[1:] != all_ids[:-1]
        self._ids, self._slot_of = all_ids[last], all_slots[last]

    def _flush(self) -> None:
        if not self._pending:
            return
        ids = np.fromiter(self._pending.keys(), dtype=np.int64, count=len(self._pending))
        slots = np.fromiter(self._pending.values(), dtype=np.int64, count=len(self._pending))
        self._pending = {}
        pos = np.searchsorted(self._ids, ids)
        inside = pos < len(self._ids)
        known = np.zeros(len(ids), dtype=bool)
        known[inside] = self._ids[pos[inside]] == ids[inside]
        self._slot_of[pos[known]] = slots[known]
        fresh = ~known
        if fresh.any():
            order = np.argsort(ids[fresh])
            self._ids = np.insert(self._ids, pos[fresh][order], ids[fresh][order])
            self._slot_of = np.insert(self._slot_of, pos[fresh][order], slots[fresh][order])

    def _recount(self) -> None:
        self._flush()
        self._live = int((self._slot_of >= 0).sum())
        dead = self._start.n - self._live
        if dead > max(100_000, self._live):
            self._compact()

    def _compact(self) -> None:
        """Drop the rows no id points at any more (replaced or discarded)."""
        keep = np.flatnonzero(self._slot_of >= 0)
        slots = self._slot_of[keep]
        ids = self._ids[keep]
        indptr, pos = _ragged_gather(self._start.view[slots], self._len.view[slots])
        fresh = FeatureRows(ids, self._hash.view[slots], self._dup.view[slots],
                            self._flags.view[slots], indptr, self._indices.view[pos],
                            self._counts.view[pos])
        self._ids = np.zeros(0, dtype=np.int64)
        self._slot_of = np.zeros(0, dtype=np.int64)
        self._start, self._len = _Grow(np.int64), _Grow(np.int32)
        self._hash, self._dup, self._flags = _Grow(np.int64), _Grow(np.int64), _Grow(np.uint8)
        self._indices, self._counts = _Grow(np.int32), _Grow(np.uint8)
        self._live = 0
        if len(fresh):
            max_entries, self.max_entries = self.max_entries, None
            self.install(fresh)
            self.max_entries = max_entries

    def _evict(self, n: int) -> None:
        """Forget the ``n`` rows kept longest."""
        live = np.flatnonzero(self._slot_of >= 0)
        oldest = live[np.argsort(self._slot_of[live], kind="stable")[:n]]
        self._slot_of[oldest] = -1
        self._recount()

    # --- reading ------------------------------------------------------------------------

    def slots(self, ids: np.ndarray) -> np.ndarray:
        """The kept row of each comment id (-1: none)."""
        self._flush()
        if not len(self._ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.searchsorted(self._ids, ids).clip(max=len(self._ids) - 1)
        return np.where(self._ids[pos] == ids, self._slot_of[pos], -1)

    def ids(self) -> np.ndarray:
        self._flush()
        return self._ids[self._slot_of >= 0]

    def rows(self, comments: Sequence[SummaryComment],
             ids: np.ndarray | None = None) -> np.ndarray:
        """The kept row of each comment, computing (in one batch) those not kept yet
        (``ids``: the comments' ids, when the caller has them already)."""
        if ids is None:
            ids = gathered(comments, _ID, np.int64)
        slots = self.slots(ids)
        holes = np.flatnonzero(slots < 0)
        if len(holes):
            if self.max_entries is not None and len(holes) > self.max_entries:
                raise ValueError("more items than the cache can hold")
            missing = [(comments[j].comment_id, comments[j].text) for j in holes.tolist()]
            fresh = self.featurise(missing)
            self.install(fresh)
            slots = self.slots(ids)
        return slots

    def flags(self, slots: np.ndarray) -> np.ndarray:
        return self._flags.view[slots]

    def dup_keys(self, slots: np.ndarray) -> np.ndarray:
        return self._dup.view[slots]

    def gather(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, int32 columns, uint8 counts) of these rows, as one CSR."""
        indptr, pos = _ragged_gather(self._start.view[slots], self._len.view[slots])
        return indptr, self._indices.view[pos], self._counts.view[pos]

    def take(self, ids: Iterable[int]) -> FeatureRows:
        """The kept rows of these ids (those kept), e.g. to persist them."""
        ids = np.fromiter(ids, dtype=np.int64)
        slots = self.slots(ids)
        ok = slots >= 0
        ids, slots = ids[ok], slots[ok]
        indptr, indices, counts = self.gather(slots)
        return FeatureRows(ids, self._hash.view[slots], self._dup.view[slots],
                           self._flags.view[slots], indptr, indices, counts)

    def entries(self, comments: Sequence[SummaryComment]) -> list[_Entry]:
        """Features of each comment as objects (small inputs; summaries use arrays)."""
        return self._entries(self.rows(comments))

    def entries_for_keys(self, items: Sequence[tuple[int, str]]) -> list[_Entry]:
        """Features of ``(key, text)`` pairs, computed if not kept with that text."""
        self.add(items)
        return self._entries(self.slots(gathered(items, _ID, np.int64)))

    def flat_counts(self, items: Sequence[tuple[int, str]], *,
                    kept_texts: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The features of ``(key, text)`` pairs (computed if not kept with that text) as
        one flat (int32 columns, uint8 counts) pair, all rows end to end: what a sum of
        their counts needs, without an object per row. ``kept_texts``: the rows kept for
        these keys are known to be of these texts (the summaries' inputs the cache is kept
        for), so only missing ones are computed, no text is hashed to check."""
        ids = gathered(items, _ID, np.int64)
        if kept_texts:
            self.add([items[j] for j in np.flatnonzero(self.slots(ids) < 0).tolist()])
        else:
            self.add(items)
        _, indices, counts = self.gather(self.slots(ids))
        return indices, counts

    def _entries(self, slots: np.ndarray) -> list[_Entry]:
        out = []
        flags = self._flags.view
        for s in slots.tolist():
            a, n = int(self._start.view[s]), int(self._len.view[s])
            out.append(_Entry(self._indices.view[a:a + n].copy(),
                              self._counts.view[a:a + n].astype(np.float32),
                              bool(flags[s] & CHATTER_FLAG), int(self._dup.view[s]),
                              bool(flags[s] & ABOUT_FLAG)))
        return out

    def analyzer(self):
        """Terms of a cleaned text (for labels), remembered per text: a warm request on a
        big topic re-reads the same background and central comments."""
        memo = self._terms

        def terms(text: str) -> frozenset[str]:
            key = hash(text)
            got = memo.get(key)
            if got is None:
                if len(memo) >= TERMS_MEMO:
                    memo.clear()
                # what the hashed features count, from the same tokenisation
                got = memo[key] = frozenset(_uni_and_bigrams(text))
            return got

        return terms


# --------------------------------------------------------------------------- stance


def stance_for(agree: int, disagree: int, min_votes: int = STANCE_MIN_REACTIONS) -> Stance:
    """The documented stance rule for one statement, on its agree share
    p = A / (A + D).  The bands are contiguous:

    * fewer than ``min_votes`` agree+disagree votes -> "no clear signal";
    * p >= 85 % -> "very strong support"; 65 % <= p < 85 % -> "broad support";
    * 35 % < p < 65 % -> "divided";
    * 15 % < p <= 35 % -> "broad opposition"; p <= 15 % -> "little support".
    """
    total = agree + disagree
    if total < min_votes:
        return "no clear signal"
    share = agree / total
    if share >= STRONG_SHARE:
        return "very strong support"
    if share >= SUPPORT_SHARE:
        return "broad support"
    if share > DIVIDED_LOW:
        return "divided"
    if share > 1 - STRONG_SHARE:
        return "broad opposition"
    return "little support"


SUPPORTIVE = ("very strong support", "broad support")
OPPOSED = ("broad opposition", "little support")


# --------------------------------------------------------------------------- helpers


def _excerpt(text: str, limit: int = 200) -> str:
    own = clean_text(text).strip() or text
    s = _EXCERPT_WS.sub(" ", own).strip()
    s = s.replace("@", "@\u200b")  # never ping from user text
    return truncate(s, limit)


def _rep(c: SummaryComment) -> Representative:
    return Representative(comment_id=c.comment_id, jump_url=c.jump_url, excerpt=_excerpt(c.text))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


#: a comment's integer fields read in one C call (see :func:`_columns`): id, author,
#: agree, disagree, passes, and with the time variant its ``created_us``
_ID_AUTHOR_COUNTS = itemgetter(0, 1, 5, 6, 7)
_ID_AUTHOR_COUNTS_TIME = itemgetter(0, 1, 5, 6, 7, 10)
_VOTES_LATEST = itemgetter(9)
_VOTES = itemgetter(8)
_ID = itemgetter(0)  # a comment's id, or the key of a (key, text) pair


def _columns(comments: Sequence[SummaryComment], fields: itemgetter,
             width: int) -> np.ndarray | None:
    """The comments' integer ``fields`` as an (n, width) int64 array; None when a field is
    None for some comment (a ``created_us`` the caller did not give)."""
    try:
        return gathered(comments, fields, np.int64, width).reshape(-1, width)
    except TypeError:
        return None


def _tallies_as_stored(comments: Sequence[SummaryComment]) -> np.ndarray:
    """Per comment: its ``votes`` need no recount (one latest vote per person kept by the
    caller, as storage does, or no per-person votes at all)."""
    plain = gathered(comments, _VOTES_LATEST, bool)
    for i in np.flatnonzero(~plain).tolist():
        plain[i] = not comments[i].votes
    return plain


def _tallied(comments: Sequence[SummaryComment], columns: np.ndarray) -> np.ndarray:
    """``columns`` (see :func:`_columns`) with each comment's agree/disagree/pass counts
    those of :func:`tally`: recounted from per-person votes where the caller did not keep
    one latest vote per person."""
    for i in np.flatnonzero(~_tallies_as_stored(comments)).tolist():
        columns[i, 2:5] = tally(comments[i])
    return columns


def _chronological(comments: Sequence[SummaryComment]
                   ) -> tuple[list[SummaryComment], np.ndarray | None, np.ndarray]:
    """``sorted(comments, key=(created_at, comment_id))``, the comparisons made in numpy:
    sorting a million Python tuples is one C call that holds the GIL for seconds (the
    event loop waits meanwhile).  With the sorted comments: their times in microseconds
    since 1970 (UTC times; None for a short list, or times in another zone), and their
    (id, author, agree, disagree, passes) as an (n, 5) int64 array, the counts those of
    :func:`tally`."""
    n = len(comments)
    tz = comments[0].created_at.tzinfo if n else None
    if n < 20_000 or tz not in (None, UTC):
        ordered = sorted(comments, key=attrgetter("created_at", "comment_id"))
        return ordered, None, _tallied(ordered, _columns(ordered, _ID_AUTHOR_COUNTS, 5))
    # the times storage gave with the comments (created_us), else each datetime converted
    columns = _columns(comments, _ID_AUTHOR_COUNTS_TIME, 6)
    if columns is None:
        epoch = _EPOCH if tz is not None else _EPOCH_NAIVE
        when = np.fromiter(((c.created_at - epoch) // _MICROSECOND for c in comments),
                           dtype=np.int64, count=n)
        columns = _columns(comments, _ID_AUTHOR_COUNTS, 5)
    else:
        when, columns = columns[:, 5].copy(), np.ascontiguousarray(columns[:, :5])
    columns = _tallied(comments, columns)
    order = np.lexsort((columns[:, 0], when))  # stable, like sorted()
    if (np.diff(order) > 0).all():
        return list(comments), when, columns
    return [comments[i] for i in order.tolist()], when[order], columns[order]


_DAY_MICROS = 86_400 * 1_000_000


def _stable_sample(ids: np.ndarray, size: int) -> np.ndarray:
    """Positions (ascending) of a pseudo-random sample of ``size`` of these distinct ids,
    chosen by a hash of each id, so that one more comment changes at most one member: a
    sample drawn afresh for every count would make each warm request after a new comment
    re-tokenise a whole new background for the labels."""
    if len(ids) <= size:
        return np.arange(len(ids))
    x = ids.astype(np.uint64)  # splitmix64's finaliser: well-mixed bits from serial ids
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return np.sort(np.argpartition(x, size - 1)[:size])


def _participation(comments: Sequence[SummaryComment],
                   when: np.ndarray | None = None,
                   authors: np.ndarray | None = None) -> Participation:
    """Totals and comments per day; ``when``: the comments' UTC times in microseconds
    (from :func:`_chronological`), which makes the days one numpy pass, not 100,000
    ``date()`` calls; ``authors``: their authors' ids, when the caller has them."""
    if not comments:
        return Participation(
            comments=0, participants=0, first_activity=None, last_activity=None, per_day=[]
        )
    if when is not None:
        day, count = np.unique(when // _DAY_MICROS, return_counts=True)
        first_day = _EPOCH.date()
        return Participation(
            comments=len(comments),
            participants=(len({c.author_id for c in comments}) if authors is None
                          else count_distinct(authors)),
            first_activity=comments[0].created_at,  # (in chronological order)
            last_activity=comments[-1].created_at,
            per_day=[(first_day + timedelta(days=d), n)
                     for d, n in zip(day.tolist(), count.tolist(), strict=True)],
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
    # float64: on float32 rows scikit-learn computes k-means++'s distances in upcast
    # chunks, which took about a third of a warm /summary at 100,000 comments
    km.fit(Xs.astype(np.float64), sample_weight=ws)
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


def _centroid_linkage(
    X: sp.csr_matrix, lab: np.ndarray, w: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Old->new label map joining paraphrase clusters (centroid linkage), and the
    cosine between the resulting groups' centroids.

    The two groups whose summed rows are closest (cosine) join, while that cosine is at
    least CENTROID_MERGE.  Paraphrases of one argument share few words pair by pair,
    but a group's centroid gathers everything its wordings share (the key phrase, the
    sentences people add to any wording), so a merged group draws its remaining wordings
    in.  A join that would leave the mean cosine between two of the group's comments
    below MERGE_COHESION times the clusters' median is refused: such a group holds
    together only by the discussion's common words ("cyber crime", "I think"), and its
    ever more generic centroid would swallow the rest.  (The mean over distinct pairs,
    not the cosine to the centroid, so that a small cluster, whose centroid is much
    made of each member, does not look tighter than a big one.)  Groups kept apart that
    way are still as close as paraphrases (cosine >= RELATED_MIN): the summary shows
    themes about distinct arguments before them."""
    ok = lab >= 0
    M = sp.csr_matrix((w[ok], (lab[ok], np.flatnonzero(ok))), shape=(k, X.shape[0]))
    U = M @ X
    G = np.asarray((U @ U.T).todense(), dtype=np.float64)  # Gram matrix of summed rows
    W = np.bincount(lab[ok], weights=w[ok], minlength=k)
    alive = W > 0

    def pairwise(g2: np.ndarray, n: np.ndarray) -> np.ndarray:
        # mean cosine between two distinct comments of groups of n comments whose summed
        # rows have squared norm g2 (rows are unit vectors: each comment adds 1 by itself)
        return (g2 - n) / np.maximum(n * n - n, 1e-9)

    big = alive & (W >= 2)
    floor = MERGE_COHESION * float(np.median(pairwise(np.diag(G), W)[big])) if big.any() else 0.0
    group = np.arange(k)
    while alive.sum() > 1:
        norm = np.sqrt(np.maximum(np.diag(G), 1e-18))
        cos = G / np.outer(norm, norm)
        joined = pairwise(np.add.outer(norm**2, norm**2) + 2.0 * G, np.add.outer(W, W))
        cos[~np.outer(alive, alive) | (joined < floor)] = -np.inf
        np.fill_diagonal(cos, -np.inf)
        i, j = np.unravel_index(int(np.argmax(cos)), cos.shape)
        if cos[i, j] < CENTROID_MERGE:
            break
        i, j = min(i, j), max(i, j)
        G[i, :] += G[j, :]
        G[:, i] += G[:, j]
        G[j, :] = G[:, j] = 0.0
        W[i] += W[j]
        alive[j] = False
        group[group == j] = i
    roots, remap = np.unique(group, return_inverse=True)
    norm = np.sqrt(np.maximum(np.diag(G), 1e-18))
    related = (G / np.outer(norm, norm))[np.ix_(roots, roots)]
    np.fill_diagonal(related, 0.0)
    return remap.astype(np.int64), related


def _cluster(
    X: sp.csr_matrix, w: np.ndarray, k0: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (theme label per row, -1 for "other"; similarity of each row to its
    theme centroid; cosine between the themes' centroids; the centroids, L2-normalised,
    one row per theme over X's columns)."""
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
        return (lab, np.zeros(len(lab), dtype=np.float32), np.zeros((0, 0)),
                np.zeros((0, X.shape[1]), dtype=np.float32))
    ids, dense_ = np.unique(lab[lab >= 0], return_inverse=True)
    dense = np.full(len(lab), -1, dtype=np.int64)
    dense[lab >= 0] = dense_
    remap, related = _centroid_linkage(X, dense, w, len(ids))
    dense[dense >= 0] = remap[dense[dense >= 0]]
    C = _centroids(X, dense, w, int(remap.max()) + 1)
    inside = dense >= 0
    sims = np.zeros(len(lab), dtype=np.float32)
    rows_in = np.flatnonzero(inside)
    sims[inside] = np.asarray(X[rows_in] @ C.T)[np.arange(len(rows_in)), dense[inside]]
    return dense, sims, related, C


@dataclass(frozen=True, eq=False)  # (one is itself only: arrays do not compare as a bool)
class _KeptThemes:
    """One clustering of a big topic's rows, kept for the next requests (see
    :func:`_themes`): its rows by duplicate key (sorted), each one's theme and similarity,
    the themes' centroids over the hashed columns ``columns`` and their cosines."""

    keys: np.ndarray
    labels: np.ndarray
    sims: np.ndarray
    related: np.ndarray
    centroids: np.ndarray
    columns: np.ndarray


_THEMES_KEPT: list[_KeptThemes] = []  # the newest last
_THEMES_LOCK = threading.Lock()


def forget_themes() -> None:
    """Drop the clusterings kept (their centroids are made of comments' words: an erasure
    must not leave them behind)."""
    with _THEMES_LOCK:
        _THEMES_KEPT.clear()


def _themes(X: sp.csr_matrix, columns: np.ndarray, keys: np.ndarray, w: np.ndarray,
            k0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_cluster` of the unique rows (duplicate keys ``keys``, X's hashed columns
    ``columns``), kept for a topic of at least THEMES_KEEP_MIN rows: while its rows
    differ from those clustered by at most THEMES_DRIFT of them (new, edited or gone),
    the themes stay as they were and each new row joins the theme whose centroid is
    nearest (or "other", below OUTLIER_SIMILARITY). Re-clustering on each new comment
    would cost a second at 500,000 comments, and would move comments between themes for
    nothing: k-means' sample is drawn afresh for each row count."""
    if len(keys) < THEMES_KEEP_MIN or X.shape[1] != len(columns):
        return _cluster(X, w, k0)[:3]
    with _THEMES_LOCK:
        kept = list(_THEMES_KEPT)
    for old in reversed(kept):
        if abs(len(old.keys) - len(keys)) > THEMES_DRIFT * len(old.keys):
            continue
        at = np.searchsorted(old.keys, keys).clip(max=len(old.keys) - 1)
        known = old.keys[at] == keys
        changed = int((~known).sum()) + len(old.keys) - int(known.sum())
        if changed > THEMES_DRIFT * len(old.keys):
            continue
        labels = np.where(known, old.labels[at], -1)
        sims = np.where(known, old.sims[at], 0.0).astype(np.float32)
        new = np.flatnonzero(~known)
        if len(new) and len(old.centroids):
            # the kept centroids over this request's columns (a column no longer used
            # twice in the topic weighs nothing now)
            _, here, there = np.intersect1d(columns, old.columns, assume_unique=True,
                                            return_indices=True)
            C = np.zeros((len(old.centroids), len(columns)), dtype=np.float32)
            C[:, here] = old.centroids[:, there]
            lab, sim = _assign(X[new], C)
            lab[sim < OUTLIER_SIMILARITY] = -1
            labels[new], sims[new] = lab, np.where(lab >= 0, sim, 0.0)
        with _THEMES_LOCK:
            if old in _THEMES_KEPT:  # the topic's, used last
                _THEMES_KEPT.remove(old)
                _THEMES_KEPT.append(old)
        return labels.astype(np.int64), sims, old.related
    labels, sims, related, C = _cluster(X, w, k0)
    order = np.argsort(keys, kind="stable")
    kept_now = _KeptThemes(keys[order], labels[order], sims[order], related, C, columns)
    with _THEMES_LOCK:
        _THEMES_KEPT.append(kept_now)
        del _THEMES_KEPT[:-THEMES_KEPT]
    return labels, sims, related


def _build_matrix(cache: FeatureCache, slots: np.ndarray, n_features: int):
    """Sparse tf-idf matrix of the unique rows (kept rows ``slots`` of the cache,
    L2-normalised), restricted to the hashed columns used at least twice; returns
    (X, used column ids). Built from the cache's arrays directly, no object per row."""
    n_rows = len(slots)
    indptr, indices, data = cache.gather(slots)
    df = np.bincount(indices, minlength=n_features)
    keep_min = 2 if n_rows >= 50 else 1
    used = np.flatnonzero(df >= keep_min)
    col = np.full(n_features, -1, dtype=np.int64)
    col[used] = np.arange(len(used))
    newcol = col[indices]
    keep = newcol >= 0
    idf = (np.log((1.0 + n_rows) / (1.0 + df[used])) + 1.0).astype(np.float32)
    data = (1.0 + np.log(data.astype(np.float32))) * idf[newcol.clip(0)]
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
        bg_df.update(analyzer(t))
    nbg = max(1, len(background))
    out = []
    for texts in member_texts:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(analyzer(t))
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


# --------------------------------------------------------------------------- statements


def statement_score(agree: int, disagree: int) -> float:
    """Pol.is' agreement estimate: (A+1)/(A+D+2)."""
    return (agree + 1) / (agree + disagree + 2)


def min_votes_for(voters: int) -> int:
    """Votes a statement needs before it is judged: 5, or 5 % of the people who voted
    in the discussion if that is more (capped at 25)."""
    return max(STANCE_MIN_REACTIONS, min(25, math.ceil(0.05 * voters)))


def tally(c: SummaryComment) -> tuple[int, int, int]:
    """(agree, disagree, pass) of a comment: from its per-person votes when it has them
    (each person's latest vote, the author's own ignored), else its stored counts."""
    if not c.votes or c.votes_latest:
        return c.agree, c.disagree, c.passes
    vals = [v for _, v in _latest_votes(c)]
    return vals.count(1), vals.count(-1), vals.count(0)


def _latest_votes(c: SummaryComment) -> tuple[tuple[int, int], ...]:
    """A comment's (voter, vote) pairs, each person's latest vote once, the author's own
    left out (what Pol.is counts), in the order each person first voted."""
    if c.votes_latest:
        return c.votes
    latest: dict[int, int] = {}
    for voter, v in c.votes:
        if voter != c.author_id:
            latest[voter] = v
    return tuple(latest.items())


class StatementView(BaseModel):
    comment_id: int
    jump_url: str
    excerpt: str = Field(max_length=200)
    author_id: int = 0
    agree: int
    disagree: int
    passes: int = 0
    score: float  # (A+1)/(A+D+2)
    stance: Stance
    consensus: float | None = None  # group-informed consensus, when there are groups
    #: (agree, disagree, pass) of each opinion group, in the order of ``Opinion.groups``
    by_group: list[tuple[int, int, int]] = Field(default_factory=list)


class OpinionGroup(BaseModel):
    label: str  # "Group A"
    size: int
    agrees: list[StatementView]  # statements this group agrees with more than the rest
    disagrees: list[StatementView]


class Opinion(BaseModel):
    statements: int  # comments with at least one vote
    voters: int
    votes: int
    min_votes: int
    consensus: list[StatementView]
    divisive: list[StatementView]
    rejected: list[StatementView]
    groups: list[OpinionGroup] = Field(default_factory=list)
    clustered: int = 0  # participants placed in a group
    group_consensus: list[StatementView] = Field(default_factory=list)
    #: statements describing the voters themselves ("I live in a town"), most voted first
    about_participants: list[StatementView] = Field(default_factory=list)
    #: (participant id, group index into ``groups``) for everyone placed in a group
    membership: list[tuple[int, int]] = Field(default_factory=list, repr=False)


#: a statement in the first person singular ("I …", "I'm …", "My …"): what Pol.is seeds to
#: learn who voted ("I live in a town", "I played football in high school")
_ABOUT_ME = re.compile(r"^(?:i|i'm|i've|my)\s", re.IGNORECASE)
#: ...unless it says what the voter thinks or wants ("I hope …", "I am grateful for …")
_OPINION_WORD = re.compile(
    r"\b(?:should|must|need|needs|would|could|ought|i'd|think|believe|feel|agree|disagree|"
    r"support|oppose|prepared|willing|want|wish|hope|prefer|worried|worry|concerned|against|"
    r"favour|favor|like|love|loved|hate|dislike|enjoy|grateful|thankful|glad|happy|okay|ok|"
    r"excited|proud|afraid|fear|dream|imagine|envision|propose|suggest|accept|trust|doubt|"
    r"expect|sure|appreciate|too|better|worse|best|worst)\b",
    re.IGNORECASE)
ABOUT_MAX_WORDS = 25  # "I have personally experienced issues of water quality (eg a boil …)"
_APOSTROPHE = str.maketrans({"\u2019": "'", "\u2018": "'"})


def about_the_participant(text: str) -> bool:
    """A short first-person statement about the voter ("I live in a rural area", "I am 55
    years of age or older"), not an opinion ("I am prepared to pay more tax"): voted on to
    say who took part (English wording; other languages are never matched)."""
    return _about_cleaned(clean_text(text))


def _about_cleaned(cleaned: str) -> bool:
    """:func:`about_the_participant` of a text already passed through :func:`clean_text`
    (the feature cache computes it once per comment, beside its features)."""
    words = cleaned.translate(_APOSTROPHE).split()
    own = " ".join(words)  # "I  am 55 …" (two spaces) is still "I am 55 …"
    return (bool(_ABOUT_ME.match(own)) and len(words) <= ABOUT_MAX_WORDS
            and not _OPINION_WORD.search(own))


def _view(c: SummaryComment, a: int, d: int, p: int, min_votes: int,
          gic: float | None = None,
          by_group: list[tuple[int, int, int]] | None = None) -> StatementView:
    return StatementView(
        comment_id=c.comment_id, jump_url=c.jump_url, excerpt=_excerpt(c.text),
        author_id=c.author_id, agree=a, disagree=d, passes=p,
        score=round(statement_score(a, d), 4), stance=stance_for(a, d, min_votes),
        consensus=None if gic is None else round(gic, 4), by_group=by_group or [],
    )


def opinion_groups(
    voter_ids: np.ndarray, stmt_idx: np.ndarray, vals: np.ndarray, n_statements: int,
    *, min_participant_votes: int | None = None, seed: int = RANDOM_STATE,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_opinion_groups`, remembered for the last few vote sets: the groups depend on
    the votes alone, and a new comment without votes (most changes to a discussion) leaves
    them as they were."""
    digest = blake2b(digest_size=16)
    for a in (voter_ids, stmt_idx, vals):
        a = np.ascontiguousarray(a, dtype=np.int64)
        digest.update(len(a).to_bytes(8, "little"))
        digest.update(a.data)
    key = (digest.digest(), n_statements, min_participant_votes, seed)
    with _GROUPS_LOCK:
        got = _GROUPS_MEMO.get(key)
    if got is None:
        with _one_thread():
            got = _opinion_groups(voter_ids, stmt_idx, vals, n_statements,
                                  min_participant_votes=min_participant_votes, seed=seed)
        with _GROUPS_LOCK:
            _GROUPS_MEMO[key] = got
            while len(_GROUPS_MEMO) > GROUPS_MEMO:
                del _GROUPS_MEMO[next(iter(_GROUPS_MEMO))]  # the oldest
    people, groups = got
    return people.copy(), groups.copy()


GROUPS_MEMO = 8  # vote sets whose opinion groups are remembered (a few topics' worth)
_GROUPS_MEMO: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_GROUPS_LOCK = threading.Lock()


def _opinion_groups(
    voter_ids: np.ndarray, stmt_idx: np.ndarray, vals: np.ndarray, n_statements: int,
    *, min_participant_votes: int | None = None, seed: int = RANDOM_STATE,
) -> tuple[np.ndarray, np.ndarray]:
    """Pol.is-style opinion groups from (voter, statement, vote) triples (latest votes,
    +1 / -1 / 0).  Participants with enough votes (7, or half the statements if fewer)
    form a matrix whose missing cells are the statement's mean vote (as Pol.is imputes);
    PCA to two components, then k-means for k = 2..5: the k with the best silhouette, a
    further group only if it beats the best so far by ``K_MARGIN``.  A cluster smaller than
    ``MIN_GROUP_SHARE`` of the people (or 2) is a few outliers, not a group: they join the
    nearest real group (one far-off voter otherwise wins the silhouette as a "group" of 1).
    The caller leaves out statements describing the voters (:func:`analyse_statements`).
    k-means takes the best of 10 starts: with 4, the same votes in another order (Discord
    ids instead of Pol.is') could land in another local optimum (bg2050: 92/12 or 97/7).
    On the seven Pol.is conversations with published groups this gives a mean adjusted
    Rand index of 0.57 over k-means seeds 0-4 (0.58 for seed 0) against Pol.is' own groups:
    0.5-0.9 on the five from 2018 on, 0.1-0.2 on two from 2017, whose groups an older
    Pol.is computed over every participant (one vote was enough) and warm-started from
    earlier runs; no variant faithful to today's Pol.is (its base clusters, its scaling of
    sparse voters, missing votes as passes, authors' own votes, every voter clustered) does
    better on those three, and each lowers the mean (``bench/summary_quality.py``).
    Returns (participant ids clustered, their group 0..k-1); empty when too few."""
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if len(vals) == 0 or n_statements < 3:
        return empty
    people, prow = np.unique(voter_ids, return_inverse=True)
    counts = np.bincount(prow, minlength=len(people))
    need = min_participant_votes or min(7, max(2, math.ceil(n_statements / 2)))
    keep = counts >= need
    if keep.sum() < 10:
        return empty
    newrow = np.full(len(people), -1, dtype=np.int64)
    newrow[keep] = np.arange(int(keep.sum()))
    sel = newrow[prow] >= 0
    r, cidx, v = newrow[prow][sel], stmt_idx[sel], vals[sel].astype(np.float32)
    # statements: those voted on by the kept people, at most 2,000 (the most voted)
    sc = np.bincount(cidx, minlength=n_statements)
    cols = np.flatnonzero(sc > 0)
    if len(cols) > 2000:
        cols = cols[np.argsort(-sc[cols], kind="stable")[:2000]]
    cmap = np.full(n_statements, -1, dtype=np.int64)
    cmap[cols] = np.arange(len(cols))
    ok = cmap[cidx] >= 0
    r, cc, v = r[ok], cmap[cidx][ok], v[ok]
    n_p, n_s = int(keep.sum()), len(cols)
    sums = np.bincount(cc, weights=v, minlength=n_s)
    seen = np.bincount(cc, minlength=n_s)
    mean = (sums / np.maximum(seen, 1)).astype(np.float32)
    # (not np.tile: it holds the GIL for its whole copy, 0.27 s at 40k people x 2k
    # statements; a broadcast assignment lets go of it)
    M = np.empty((n_p, n_s), dtype=np.float32)
    M[...] = mean * IMPUTE_MEAN
    M[r, cc] = v
    k_comp = min(2, n_s, n_p)
    proj = PCA(n_components=k_comp, random_state=seed).fit_transform(M)
    nvoted = np.bincount(r, minlength=n_p).astype(np.float64)
    if SCALE_SPARSE_VOTERS:
        proj *= np.sqrt(n_s / np.maximum(nvoted, 1.0))[:, None]
    from sklearn.cluster import KMeans as _KM

    best, best_lab = -2.0, None
    rng = np.random.default_rng(seed)
    # k-means is fitted on (and silhouette judged on) at most GROUP_SAMPLE participants,
    # then everyone is assigned to the nearest centre: all of a Pol.is-sized conversation,
    # and under a second for 10,000 participants
    sample = np.sort(rng.choice(n_p, min(n_p, GROUP_SAMPLE), replace=False))
    min_size = max(MIN_GROUP_PEOPLE, math.ceil(MIN_GROUP_SHARE * n_p))
    for k in range(2, min(5, n_p - 1) + 1):
        km = _KM(n_clusters=k, n_init=10, random_state=seed).fit(proj[sample])
        lab = km.labels_ if len(sample) == n_p else km.predict(proj)
        big = np.flatnonzero(np.bincount(lab, minlength=k) >= min_size)
        if len(big) < 2:
            continue
        if len(big) < k:  # a "group" of one or two outliers joins the nearest real group
            d = ((proj[:, None, :] - km.cluster_centers_[None, big, :]) ** 2).sum(axis=2)
            lab = np.argmin(d, axis=1)
        s_ = float(silhouette_score(proj[sample], lab[sample]))
        if s_ > best + (K_MARGIN if best_lab is not None else 0.0) + 1e-9:
            best, best_lab = s_, lab
    if best_lab is None:
        return empty
    # groups numbered by size, biggest first
    sizes = np.bincount(best_lab)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return people[keep], rank[best_lab].astype(np.int64)


def _flat_votes(per_stmt: list[tuple[tuple[int, int], ...]]) -> tuple[np.ndarray, np.ndarray]:
    """How many (voter, vote) pairs each statement has, and all of them in one flat array
    (voter, vote, voter, vote, ...). In slices: one np.fromiter over a C iterator holds the
    GIL until it ends (0.1 s on a million votes, the event loop waiting)."""
    n_pairs = gathered(per_stmt, len, np.int64)
    bounds = np.zeros(len(per_stmt) + 1, dtype=np.int64)
    np.cumsum(2 * n_pairs, out=bounds[1:])
    flat = np.empty(int(bounds[-1]), dtype=np.int64)
    for start in range(0, len(per_stmt), SLICE):
        end = min(start + SLICE, len(per_stmt))
        flat[bounds[start]:bounds[end]] = np.fromiter(
            chain.from_iterable(chain.from_iterable(per_stmt[start:end])), dtype=np.int64,
            count=int(bounds[end] - bounds[start]))
    return n_pairs, flat


def analyse_statements(comments: Sequence[SummaryComment], *, top: int = 10,
                       tallies: Sequence[tuple[int, int, int]] | None = None,
                       about: Sequence[bool] | None = None) -> Opinion | None:
    """Statements (comments people voted on) with their figures, ranked; opinion groups
    from per-person votes where the comments carry them.  None when nobody voted.
    ``tallies``: :func:`tally` of each comment, when the caller has them already (or
    them as an (n, 3) int array);
    ``about``: :func:`about_the_participant` of each comment's text, likewise."""
    if tallies is None:
        tallies = [tally(c) for c in comments]
    counts = (tallies if isinstance(tallies, np.ndarray) else
              np.array(tallies, dtype=np.int64).reshape(-1, 3))
    voted_at = np.flatnonzero(counts.sum(axis=1) > 0)
    voted = voted_at.tolist()
    if not voted:
        return None
    # each statement's (voter, vote) pairs, latest vote per voter, in one flat array
    statements = list(map(comments.__getitem__, voted))
    per_stmt: list[tuple[tuple[int, int], ...]] = list(map(_VOTES, statements))
    for j in np.flatnonzero(~_tallies_as_stored(statements)).tolist():
        per_stmt[j] = _latest_votes(statements[j])
    n_pairs, flat = _flat_votes(per_stmt)
    voter_ids = np.ascontiguousarray(flat[0::2])
    vals = np.ascontiguousarray(flat[1::2])
    stmt_idx = np.repeat(np.arange(len(voted), dtype=np.int64), n_pairs)
    n_voters = count_distinct(voter_ids) if len(voter_ids) else max(
        int(counts[voted_at].sum()) // max(1, len(voted)), 1)
    min_votes = min_votes_for(n_voters)
    A, D, P = (np.ascontiguousarray(counts[voted_at, j]) for j in range(3))
    judged = np.flatnonzero(A + D >= min_votes)
    share = A / np.maximum(A + D, 1)

    # statements describing the voter ("I live in a town", "I am under 30"), as Pol.is
    # conversations often seed: figures about who took part, not opinions
    about = (np.asarray(about, dtype=bool)[voted_at] if about is not None else
             np.array([about_the_participant(c.text) for c in statements], dtype=bool))
    # groups are of opinion: such statements are left out of them, as Pol.is leaves out the
    # statements a moderator marks "meta"
    opinion_vote = ~about[stmt_idx]
    people, groups = opinion_groups(voter_ids[opinion_vote], stmt_idx[opinion_vote],
                                    vals[opinion_vote], len(voted))
    gic = None
    per_group: np.ndarray | None = None  # (statement, group, agree/disagree/pass)
    group_models: list[OpinionGroup] = []
    if len(people):
        k = int(groups.max()) + 1
        # each vote's voter's group (-1: not clustered); ``people`` is sorted and unique
        at = np.searchsorted(people, voter_ids).clip(max=len(people) - 1)
        g_of = np.where(people[at] == voter_ids, groups[at], -1).astype(np.int64)
        inside = g_of >= 0
        Ag = np.zeros((k, len(voted)))
        Dg = np.zeros((k, len(voted)))
        Sg = np.zeros((k, len(voted)))
        np.add.at(Ag, (g_of[inside & (vals == 1)], stmt_idx[inside & (vals == 1)]), 1)
        np.add.at(Dg, (g_of[inside & (vals == -1)], stmt_idx[inside & (vals == -1)]), 1)
        np.add.at(Sg, (g_of[inside], stmt_idx[inside]), 1)
        gic = np.prod((Ag + 1) / (Ag + Dg + 2), axis=0)
        per_group = np.stack([Ag.T, Dg.T, (Sg - Ag - Dg).T], axis=2).astype(np.int64)
        gsize = np.bincount(groups, minlength=k)
        for g in range(k):
            a_in, d_in, s_in = Ag[g], Dg[g], Sg[g]
            a_out, d_out, s_out = Ag.sum(0) - a_in, Dg.sum(0) - d_in, Sg.sum(0) - s_in
            pa_in, pa_out = (a_in + 1) / (s_in + 2), (a_out + 1) / (s_out + 2)
            pd_in, pd_out = (d_in + 1) / (s_in + 2), (d_out + 1) / (s_out + 2)
            # a group is told by its opinions: "disagreed more with 'I am a farmer'" is not one
            enough = ((a_in + d_in) >= max(3, min_votes // 2)) & ~about
            ra = np.where(enough & (pa_in > 0.5) & (pa_in > pa_out + 0.15), pa_in / pa_out, 0)
            rd = np.where(enough & (pd_in > 0.5) & (pd_in > pd_out + 0.15), pd_in / pd_out, 0)
            agrees = [j for j in np.argsort(-ra, kind="stable")[:2] if ra[j] > 0]
            disagrees = [j for j in np.argsort(-rd, kind="stable")[:2] if rd[j] > 0]

            def gview(j: int, g: int = g) -> StatementView:
                return _view(comments[voted[j]], int(Ag[g, j]), int(Dg[g, j]),
                             int(Sg[g, j] - Ag[g, j] - Dg[g, j]), max(3, min_votes // 2))

            group_models.append(OpinionGroup(
                label=f"Group {chr(65 + g)}", size=int(gsize[g]),
                agrees=[gview(int(j)) for j in agrees],
                disagrees=[gview(int(j)) for j in disagrees],
            ))

    def view(j: int) -> StatementView:
        return _view(comments[voted[j]], int(A[j]), int(D[j]), int(P[j]), min_votes,
                     None if gic is None else float(gic[j]),
                     None if per_group is None else [tuple(t) for t in per_group[j].tolist()])

    score = (A + 1) / (A + D + 2)
    prof = sorted((j for j in judged.tolist() if about[j]), key=lambda j: (-(A[j] + D[j]), j))
    judged = np.array([j for j in judged.tolist() if not about[j]], dtype=np.int64)
    cons = [j for j in judged if share[j] >= SUPPORT_SHARE]
    cons.sort(key=lambda j: (-score[j], -A[j], j))
    div = [j for j in judged if DIVIDED_LOW < share[j] < DIVIDED_HIGH]
    div.sort(key=lambda j: (-min(A[j], D[j]), j))
    rej = [j for j in judged if share[j] <= 1 - SUPPORT_SHARE]
    rej.sort(key=lambda j: (score[j], -D[j], j))
    gcons: list[StatementView] = []
    if gic is not None:
        gorder = sorted(judged.tolist(), key=lambda j: (-gic[j], j))
        gcons = [view(j) for j in gorder[:5] if share[j] >= SUPPORT_SHARE]
    return Opinion(
        statements=len(voted), voters=int(n_voters), votes=int((A + D + P).sum()),
        min_votes=min_votes, consensus=[view(j) for j in cons[:top]],
        divisive=[view(j) for j in div[:top]], rejected=[view(j) for j in rej[:top]],
        groups=group_models, clustered=len(people), group_consensus=gcons,
        about_participants=[view(j) for j in prof[:top]],
        membership=list(zip(people.tolist(), groups.tolist(), strict=True)),
    )


def _rep_votes(c: SummaryComment, t: tuple[int, int, int]) -> Representative:
    return Representative(comment_id=c.comment_id, jump_url=c.jump_url,
                          excerpt=_excerpt(c.text), agree=t[0], disagree=t[1])


def _theme_stance(comments, votes, members, central, min_votes):
    """A theme's stance from its statements, each judged on its own votes (never pooled):
    "mixed" when it holds both supported and rejected statements; "divided" when its
    judged statements are themselves mostly split; else the side most of them are on.
    Returns (stance, supported, rejected, divided) with examples best-first.
    ``votes``: each comment's :func:`tally` as an (n, 3) int array (numpy below: a big
    theme holds tens of thousands of statements)."""
    members = np.asarray(members, dtype=np.int64)
    a_, d_ = votes[members, 0], votes[members, 1]
    n_ = a_ + d_
    score = (a_ + 1) / (n_ + 2)  # statement_score, elementwise
    # stance_for once per distinct (agree, disagree) pair: votes are small counts
    pair = a_ * (int(d_.max(initial=0)) + 1) + d_
    uniq, first, inv = np.unique(pair, return_index=True, return_inverse=True)
    kinds = [stance_for(int(a_[f]), int(d_[f]), min_votes) for f in first.tolist()]
    code = np.array([1 if k in SUPPORTIVE else 2 if k in OPPOSED else 3 if k == "divided"
                     else 0 for k in kinds], dtype=np.int8).reshape(-1)[inv.reshape(-1)]
    is_sup, is_rej, is_spl = code == 1, code == 2, code == 3
    judged_ = code > 0
    # each list best-first, as sorting (key, -(a+d), i) / (-min(a, d), i) tuples would
    sup = [(-float(score[j]), -int(n_[j]), int(members[j]))
           for j in np.flatnonzero(is_sup)[np.lexsort(
               (members[is_sup], -n_[is_sup], -score[is_sup]))].tolist()]
    rej = [(float(score[j]), -int(n_[j]), int(members[j]))
           for j in np.flatnonzero(is_rej)[np.lexsort(
               (members[is_rej], -n_[is_rej], score[is_rej]))].tolist()]
    low = np.minimum(a_, d_)
    spl = [(-int(low[j]), int(members[j]), int(members[j]))
           for j in np.flatnonzero(is_spl)[np.lexsort(
               (members[is_spl], -low[is_spl]))].tolist()]
    n = len(sup) + len(rej) + len(spl)
    total = int(n_.sum())
    judged = int(n_[judged_].sum())
    if total and judged < 0.5 * total:
        # most of its votes are on statements too lightly voted to judge one by one:
        # the only signal is their sum, and the examples are its most central comments
        a = int(a_.sum())
        d = total - a
        st = stance_for(a, d)
        ex = [_rep_votes(comments[i], votes[i].tolist()) for i in central[:3]]
        return st, (ex if st in SUPPORTIVE else []), (ex if st in OPPOSED else []), (
            ex if st == "divided" else [])

    def reps(xs):
        return [_rep_votes(comments[x[-1]], votes[x[-1]].tolist()) for x in xs[:3]]

    if n == 0:
        stance: Stance = "no clear signal"
    elif len(sup) > 0.5 * n:
        strong = sum(1 for x in sup if -x[0] >= STRONG_SHARE)
        stance = "very strong support" if strong > 0.5 * len(sup) else "broad support"
    elif len(rej) > 0.5 * n:
        weak = sum(1 for x in rej if x[0] <= 1 - STRONG_SHARE)
        stance = "little support" if weak > 0.5 * len(rej) else "broad opposition"
    elif sup and rej and min(len(sup), len(rej)) >= 0.2 * n and len(spl) < 0.5 * n:
        stance = "mixed"
    else:
        stance = "divided"  # no side holds most of its statements: they are split
    return stance, reps(sup), reps(rej), reps(spl)


_LABEL_MAX = 70
_CLAUSE_END = re.compile(r"[.,;:!?](?=\s)|(?<!\d)\s[–—-]\s(?!\d)|\s(?=(?:because|which|but)\s)")


def _theme_label(comments, central, phrases, texts) -> str:
    """The theme's most central short statement, else a key phrase in its original
    casing ("24/7 Network"); never a stop word, never empty."""
    for i in central[:12]:
        ex = _excerpt(comments[i].text, 400).rstrip(" .!;:")
        if 8 <= len(ex) <= _LABEL_MAX and len(_unigrams(ex)) >= 2:
            return ex
    if phrases and " " in phrases[0]:  # a real key phrase ("Budapest Convention")
        cased = [c for c in (_original_case(p, texts) for p in phrases[:2]) if c]
        if cased:
            return ", ".join(cased)
    for i in central[:3]:  # its opening clause: a readable name, where keywords are a bag
        ex = _excerpt(comments[i].text, 400)
        m = _CLAUSE_END.search(ex, 30, _LABEL_MAX + 1)
        if m and len(_unigrams(ex[: m.start()])) >= 3:
            return ex[: m.start()].rstrip(" ,;:–-") + "…"
    for i in central[:1]:  # else its opening words, which read better than a keyword bag
        ex = _excerpt(comments[i].text, 400)
        cut = ex.rfind(" ", 30, _LABEL_MAX)
        if cut > 0 and len(_unigrams(ex[:cut])) >= 4:
            return ex[:cut].rstrip(" ,;:–-") + "…"
    cased = [_original_case(p, texts) for p in phrases[:2]]
    cased = [c for c in cased if c]
    if cased:
        return ", ".join(cased)
    for i in central[:1]:
        return _excerpt(comments[i].text, _LABEL_MAX).rstrip(" .!;:")
    return "other points"


def _original_case(phrase: str, texts: Sequence[str]) -> str:
    """The most common original spelling of a lower-cased key phrase in ``texts``."""
    parts = phrase.split()
    if not parts:
        return ""
    def word(p: str) -> str:  # the phrase's terms are plural-folded: match any ending
        return re.escape(p[:-1] if p.endswith("y") and len(p) > 4 else p) + r"\w{0,3}"

    pat = re.compile(r"(?<!\w)" + r"\W+(?:\w+\W+){0,2}?".join(map(word, parts)) + r"(?!\w)",
                     re.IGNORECASE)
    seen: Counter[str] = Counter()
    for t in texts[:200]:
        for m in pat.finditer(t):
            seen[m.group(0)] += 1
    if not seen:
        return phrase
    best = seen.most_common(1)[0][0]
    return _EXCERPT_WS.sub(" ", best)


def _merge_same_label(themes: list[Theme]) -> list[Theme]:
    """Themes that came out with the same label are one theme."""
    out: dict[str, Theme] = {}
    for t in themes:
        key = t.label.casefold()
        if key not in out:
            out[key] = t
            continue
        m = out[key]
        out[key] = m.model_copy(update={
            "comments": m.comments + t.comments,
            "participants": max(m.participants, t.participants),
            "share": round(m.share + t.share, 4),
            "agree": m.agree + t.agree, "disagree": m.disagree + t.disagree,
            "comment_ids": m.comment_ids + t.comment_ids,
        })
    return list(out.values())


# --------------------------------------------------------------------------- summarise


def summarise(
    comments: Sequence[SummaryComment],
    *,
    cache: FeatureCache | None = None,
    max_themes: int = 8,
) -> DiscussionSummary:
    """Summarise one topic's discussion.  CPU-bound: run it off the event loop.

    Numerical libraries run on one thread here: k-means' OpenMP threads spin-wait, which
    on a busy machine made a 0.1 s fit take seconds; the bot computes one summary at a time.
    The cyclic garbage collector waits meanwhile (see :func:`gc_paused`)."""
    with _one_thread(), gc_paused():
        return _summarise(comments, cache=cache, max_themes=max_themes)


#: the numerical libraries' thread pools, found once, as this module is imported (before
#: the bot connects): finding them walks every loaded library holding the GIL, 2-10 ms a
#: threadpool_limits() call and up to 85 ms the first time; sklearn, numpy and scipy are
#: imported above, so their pools are loaded by now
_THREADPOOLS = ThreadpoolController()


def _one_thread():
    """Numerical libraries on one thread, for a ``with`` block."""
    return _THREADPOOLS.limit(limits=1)


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "was_enabled": False}


@contextmanager
def gc_paused():
    """Hold off the cyclic garbage collector while a summary is computed.

    A summary of a big topic allocates hundreds of thousands of small objects; that
    triggers full collections, each traversing every object of the process (the topic's
    100,000 kept comments, their votes, the feature cache): about 0.2 s of a 1 s warm
    request at 100,000 comments.  What a summary allocates is freed by reference
    counting; any cycles are collected as soon as the collector is back.  Re-entrant and
    thread-safe: it comes back when the last summary running ends."""
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


def _summarise(
    comments: Sequence[SummaryComment], *, cache: FeatureCache | None, max_themes: int,
) -> DiscussionSummary:
    comments, when, columns = _chronological(comments)
    # each comment's id, author and (agree, disagree, pass) rows, read once
    ids, authors_all = columns[:, 0].copy(), columns[:, 1].copy()
    votes = np.ascontiguousarray(columns[:, 2:5])
    del columns
    participation = _participation(comments, when, authors_all)
    if cache is None:
        cache = FeatureCache(max_entries=None)
    slots = cache.rows(comments, ids)  # each comment's features, tokenised once
    flags = cache.flags(slots)
    opinion = analyse_statements(comments, tallies=votes, about=(flags & ABOUT_FLAG) > 0)
    # chatter: short, without content *and* without votes
    chatter = ((flags & CHATTER_FLAG) > 0) & (votes.sum(axis=1) == 0)
    subst_idx = np.flatnonzero(~chatter)
    n_sub = len(subst_idx)
    reactions_only = int(chatter.sum())

    # collapse exact duplicates (first occurrence represents the row)
    dup = cache.dup_keys(slots[subst_idx])
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
            opinion=opinion,
        )

    X, hashed_columns = _build_matrix(cache, slots[row_first], cache.n_features)

    k0 = min(max(2, n_rows // 4), max(6 * max_themes, 16))
    row_lab, row_sim, related = _themes(X, hashed_columns, dup[first[order]], w, k0)

    # per substantive comment: label, then per-theme stats
    authors = authors_all[subst_idx]
    agree, disagree = votes[subst_idx, 0], votes[subst_idx, 1]
    lab = row_lab[row_of_sub]
    k = int(row_lab.max()) + 1 if (row_lab >= 0).any() else 0
    inside = lab >= 0
    sizes = np.bincount(lab[inside], minlength=k)
    # distinct (theme, author) pairs as one int64 key each: np.unique(axis=1) sorts
    # structured rows, holding the GIL for seconds on a million comments
    people, person = np.unique(authors[inside], return_inverse=True)
    pairs = distinct(lab[inside] * max(1, len(people)) + person.reshape(-1))
    parts = np.bincount(pairs // max(1, len(people)), minlength=k)
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
        (later if any(related[c, d] >= RELATED_MIN and sizes[c] * 2 < sizes[d] for d in first)
         else first).append(c)
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
    bg_rows = row_first[_stable_sample(ids[row_first], LABEL_BACKGROUND)]
    background = [clean_text(comments[i].text) for i in bg_rows]
    member_texts = []
    for c in shown:
        rows_c = row_order[row_lab[row_order] == c][:200]
        member_texts.append([clean_text(comments[int(row_first[r])].text) for r in rows_c])
    phrases = _key_phrases(member_texts, background, analyzer)

    sub_ids = ids[subst_idx]
    min_votes = opinion.min_votes if opinion else STANCE_MIN_REACTIONS
    themes = []
    for c, ph in zip(shown, phrases, strict=True):
        a_, d_ = int(ag[c]), int(dis[c])
        members = subst_idx[lab == c]
        rows_c = row_order[row_lab[row_order] == c]
        central = [int(row_first[r]) for r in rows_c[:50]]
        stance, sup, rej, spl = _theme_stance(comments, votes, members, central,
                                                 min_votes)
        reps = [_rep(comments[i]) for i in reps_by[c]]
        if stance != "no clear signal":  # examples fit the label they illustrate
            reps = (sup + rej + spl)[:3] if stance == "mixed" else (
                sup if stance in SUPPORTIVE else rej if stance in OPPOSED else spl)[:3]
        label = _theme_label(comments, central, ph, member_texts[shown.index(c)])
        themes.append(
            Theme(
                label=label,
                key_phrases=ph,
                comments=int(sizes[c]),
                participants=int(parts[c]),
                share=round(float(sizes[c]) / max(1, n_sub), 4),
                cohesion=round(float(coh[c]), 4),
                representatives=reps,
                agree=a_,
                disagree=d_,
                stance=stance,
                minority=stance in OPPOSED,
                small=bool(sizes[c] < MINORITY_SHARE * n_sub),
                supported=sup[:3], rejected=rej[:3], split=spl[:3],
                comment_ids=sub_ids[lab == c].tolist(),
            )
        )
    themes = _merge_same_label(themes)
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
        opinion=opinion,
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
    o = s.opinion
    if o is not None and o.votes:
        line += (f" {o.votes:,} vote{'s' if o.votes != 1 else ''} from {o.voters:,} "
                 f"participant{'s' if o.voters != 1 else ''} on {o.statements:,} "
                 f"statement{'s' if o.statements != 1 else ''}.")
    if s.reactions_only:
        line += (
            f" {s.reactions_only} short repl{'ies' if s.reactions_only != 1 else 'y'} "
            "(\u201c+1\u201d, \u201cthanks\u201d) counted as reactions, not themes."
        )
    return line


def _votes(a: int, d: int) -> str:
    t = a + d
    return f"{a} of {t} votes agree" if t else "no votes"


def _q(excerpt: str, n: int = 140) -> str:
    return f"\u201c{_safe(_excerpt(excerpt, n))}\u201d"


def _grade(stance: str) -> str:
    return {
        "very strong support": "There was very strong support for",
        "broad support": "There was broad support for",
        "divided": "Opinion was divided on",
        "broad opposition": "Most participants disagreed with",
        "little support": "There was little support for",
    }.get(stance, "Some participants raised")


def _by(v: StatementView, names: Mapping[int, str] | None) -> str:
    """" (proposed by Name)" for readers outside the server, when names are given."""
    name = names.get(v.author_id) if names else None
    return f" (proposed by {_safe(name)})" if name else ""


def headline(s: DiscussionSummary, limit: int = 6, *,
             names: Mapping[int, str] | None = None) -> list[str]:
    """3–6 graded opening sentences about named statements, each with its figures and
    a link: the strongest consensus first, then what divided people, then what was
    rejected.  An organiser's curated sentences replace them."""
    if s.curated_headline:
        return [_safe(x) for x in s.curated_headline[:limit]]
    o = s.opinion
    out: list[str] = []
    if o is None:
        for t in s.themes[:3]:
            out.append(f"{_grade(t.stance)} **{_safe(t.label)}** ({t.comments} comments from "
                       f"{t.participants} participants). {_links(t.representatives[:1])}".rstrip())
        return out
    picks = [*o.consensus[:3], *o.divisive[:2], *o.rejected[:1]]
    for v in picks[:limit]:
        people = v.agree + v.disagree + v.passes
        out.append(f"{_grade(v.stance)} {_q(v.excerpt)}{_by(v, names)} "
                   f"({_votes(v.agree, v.disagree)}; {people} participants voted). "
                   f"[link]({v.jump_url})")
    return out


def _stmt_line(v: StatementView, names: Mapping[int, str] | None = None) -> str:
    gic = f"; agreement across groups {v.consensus:.2f}" if v.consensus is not None else ""
    return (f"{_q(v.excerpt)}{_by(v, names)} — {v.agree} agree, {v.disagree} disagree, "
            f"{v.passes} pass "
            f"({v.stance}{gic}) [link]({v.jump_url})")


def _about_line(v: StatementView) -> str:
    """A statement describing the voters, with its figures but no grade: "little support"
    for "I live on Shaw" would read as an opinion; it only says few voters live there."""
    t = v.agree + v.disagree
    share = (f"yes for {v.agree} of the {t} voters who answered ({round(100 * v.agree / t)} %)"
             if t else "nobody answered")
    return f"{_q(v.excerpt)} — {share}, {v.passes} passed [link]({v.jump_url})"


def _theme_line(t: Theme) -> str:
    tag = " *(smaller theme)*" if t.small else ""
    if t.stance == "mixed":
        say = ("support for " + "; ".join(f"{_q(r.excerpt, 90)} ({_votes(r.agree, r.disagree)})"
                                         for r in t.supported[:1])
               + ", and rejection of "
               + "; ".join(f"{_q(r.excerpt, 90)} ({_votes(r.agree, r.disagree)})"
                           for r in t.rejected[:1]))
    elif t.stance == "no clear signal":
        say = "votes gave no clear signal"
    else:
        r = t.representatives[0] if t.representatives else None
        say = t.stance + (f", e.g. {_q(r.excerpt, 90)} ({_votes(r.agree, r.disagree)})"
                          if r else "")
    return (f"**{_safe(t.label)}**{tag} — {t.comments} comments from {t.participants} "
            f"participants; {say}. {_links(t.representatives)}").rstrip()


METHOD_NOTE = (
    "Each comment people voted on is a statement; a person's latest vote counts and votes on "
    "one's own comment are ignored. Agreement is (A+1)/(A+D+2). A statement is judged once it "
    "has {min_votes} agree/disagree votes (5, or 5 % of voters, at most 25). Bands on the agree "
    "share: ≥85 % very strong support, 65–85 % broad support, 35–65 % divided, 15–35 % broad "
    "opposition, ≤15 % little support. Opinion groups: PCA of the participant × statement "
    "votes (a vote not cast counts as the statement's average vote), then k-means (k 2–5 by "
    "silhouette; a cluster under 3 % of people joins the nearest group), participants with "
    "at least 7 votes (or half the statements), statements describing the voters left out. "
    "Agreement across groups (group-informed consensus) is the product over groups "
    "of (A_g+1)/(A_g+D_g+2): near 1 when every group agrees. "
    "A theme's stance comes from its statements, each judged on its own votes."
)


def _sections(s: DiscussionSummary, n: int,
              names: Mapping[int, str] | None = None) -> list[tuple[str, list[str]]]:
    o = s.opinion
    out: list[tuple[str, list[str]]] = []
    if o is not None:
        out.append(("Consensus statements", [_stmt_line(v, names) for v in o.consensus[:n]]))
        out.append(("Divisive statements", [_stmt_line(v, names) for v in o.divisive[:n]]))
        out.append(("Broadly rejected statements",
                    [_stmt_line(v, names) for v in o.rejected[:n]]))
        if o.about_participants:
            out.append(("About the participants (statements describing the voters)",
                        [_about_line(v) for v in o.about_participants[:n]]))
        if o.groups:
            lines = []
            for g in o.groups:
                bits = [f"**{g.label}** ({g.size} participants)"]
                if g.agrees:
                    bits.append("agreed more than others with " + "; ".join(
                        f"{_q(v.excerpt, 80)} ({_votes(v.agree, v.disagree)} in the group)"
                        for v in g.agrees[:2]))
                if g.disagrees:
                    bits.append("disagreed more with " + "; ".join(
                        f"{_q(v.excerpt, 80)} ({_votes(v.agree, v.disagree)} in the group)"
                        for v in g.disagrees[:2]))
                if len(bits) == 1:  # (often the biggest group: the rest are set apart from it)
                    bits.append("no statement set it clearly apart from the others")
                lines.append(", ".join(bits) + ".")
            out.append((f"Opinion groups ({o.clustered} participants placed)", lines))
    return out


def render_summary_markdown(
    topic_title: str,
    s: DiscussionSummary,
    *,
    quotes: Sequence[tuple[str, int]] = (),
    sources: Sequence[tuple[str, str | None, int]] = (),
    status_line: str = "",
    names: Mapping[int, str] | None = None,
    method: bool = True,
) -> str:
    """The report in the voice of a conference summary: graded headline sentences, then
    consensus / divisive / rejected statements, opinion groups, themes, quotes and
    sources, participation and the method.  ``quotes``: (passage, times quoted);
    ``sources``: (url, title or None, number of citers); ``names``: author id -> the name
    a reader outside the server sees (a pseudonym unless they consented to be named);
    ``method=False`` leaves the method note out (the report has one appendix)."""
    out = [f"## Summary: {_safe(topic_title)}", ""]
    out += headline(s, names=names) or [_participation_line(s)]
    for name, lines in _sections(s, 10, names):
        out += ["", f"### {name}"]
        out += [f"- {ln}" for ln in lines] or ["- None so far."]
    out += ["", "### Themes of the discussion"]
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
            out.append(f"{i}. {_theme_line(t)}")
        rest = []
        if s.other:
            rest.append(f"{s.other} comments made individual points that fit no theme")
        if s.more_themes:
            rest.append(
                f"{s.more_themes} smaller themes ({s.more_themes_comments} comments) are not shown"
            )
        if rest:
            out.append("; ".join(rest).capitalize() + ".")
    if quotes:
        out += ["", "### Most-quoted passages"]
        for passage, n in quotes:
            out.append(f"- \u201c{_safe(_excerpt(passage))}\u201d — quoted {n}×")
    if sources:
        out += ["", "### Most-cited sources"]
        for url, title, n in sources:
            name = _safe(title) if title else url
            out.append(f"- [{name}](<{url}>) — cited by {n}")
    out += ["", "### Participation", _participation_line(s)]
    if status_line:
        out += ["", "### Status", _safe(status_line)]
    if method:
        out += ["", "### Method", METHOD_NOTE.format(
            min_votes=s.opinion.min_votes if s.opinion else STANCE_MIN_REACTIONS)]
    return "\n".join(out).strip() + "\n"




def executive_summary(
    parts: Sequence[tuple[str, DiscussionSummary]], *,
    names: Mapping[int, str] | None = None, per_item: int = 2,
) -> list[str]:
    """The opening of the consultation report, for readers outside the server: totals and
    dates, then each item's headline (its first ``per_item`` graded sentences, with their
    figures; the organiser's curated prose where there is some)."""
    comments = sum(s.participation.comments for _, s in parts)
    votes = sum(s.opinion.votes for _, s in parts if s.opinion)
    firsts = [s.participation.first_activity for _, s in parts if s.participation.first_activity]
    lasts = [s.participation.last_activity for _, s in parts if s.participation.last_activity]
    span = ""
    if firsts and lasts:
        f, last = min(firsts).date(), max(lasts).date()
        span = f" on {_fmt_day(f)}" if f == last else f" between {_fmt_day(f)} and {_fmt_day(last)}"
    active = sum(1 for _, s in parts if s.participation.comments)
    out = [f"{len(parts)} agenda item{'s' if len(parts) != 1 else ''}, {active} discussed: "
           f"{comments:,} comment{'s' if comments != 1 else ''} and {votes:,} "
           f"vote{'s' if votes != 1 else ''}{span}.", ""]
    for title, s in parts:
        p = s.participation
        if not p.comments:
            out.append(f"- **{_safe(title)}**: no comments yet.")
            continue
        figures = f"{p.comments:,} comments from {p.participants:,} participants"
        if s.opinion is not None and s.opinion.votes:
            figures += f", {s.opinion.votes:,} votes from {s.opinion.voters:,}"
        head = headline(s, per_item, names=names)
        if not head:
            head = ["Too few comments to identify themes yet." if s.is_brief
                    else "No statement had enough votes to judge."]
        out.append(f"- **{_safe(title)}** ({figures}): " + " ".join(head))
    return out


def method_note(min_votes: int | str = "a minimum number of") -> str:
    """How each figure is computed, with the thresholds (the report's appendix)."""
    return METHOD_NOTE.format(min_votes=min_votes)


EMBED_UNITS = 40


def summary_embed_fields(
    topic_title: str,
    s: DiscussionSummary,
    *,
    quotes: Sequence[tuple[str, int]] = (),
    sources: Sequence[tuple[str, str | None, int]] = (),
    status_line: str = "",
) -> EmbedData:
    """Plain data for one Discord embed within Discord's limits (title 256,
    description 4096, ≤25 fields of name 256 / value 1024, 6000 in total), with at most
    ``EMBED_UNITS`` (40) sentences or bullets."""
    title = truncate(f"Summary: {_safe(topic_title)}", 256)
    units = 0
    head = headline(s)
    desc_parts = ["\n".join(head)] if head else []
    units += len(head)
    desc_parts.append(_participation_line(s))
    units += 1
    fields: list[EmbedField] = []

    def add(name: str, lines: list[str]) -> None:
        nonlocal units
        room = EMBED_UNITS - units - 1
        if not lines or room <= 0:
            return
        lines = lines[:room]
        units += len(lines)
        fields.append(EmbedField(name=truncate(name, 256), value=truncate("\n".join(lines), 1024)))

    for name, lines in _sections(s, 3):
        add(name, [f"• {truncate(ln, 300)}" for ln in lines])
    if s.is_brief:
        lines = [f"{i}. \u201c{_excerpt(r.excerpt, 140)}\u201d [link]({r.jump_url})"
                 for i, r in enumerate(s.listed, 1)]
        add("What was said" if lines else "No substantive comments yet", lines or ["—"])
    else:
        add("Themes of the discussion", [f"• {truncate(_theme_line(t), 300)}" for t in s.themes[:6]])
    if quotes:
        add("Most-quoted passages",
            [f"\u201c{_excerpt(p, 90)}\u201d — {n}×" for p, n in quotes[:3]])
    if sources:
        add("Most-cited sources",
            [f"[{truncate(_safe(t or u), 60)}](<{u}>) — {n}" for u, t, n in sources[:3]])
    desc = truncate("\n\n".join(desc_parts), 4096)
    footer = truncate(_safe(status_line), 2048)
    emb = EmbedData(title=title, description=desc, fields=fields[:25], footer=footer)
    while emb.total_chars() > 6000 and emb.fields:
        emb.fields.pop(-1)
    if emb.total_chars() > 6000:
        emb.description = truncate(emb.description, max(1, 6000 - emb.total_chars() +
                                                     len(emb.description)))
    return emb
