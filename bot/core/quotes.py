"""Quotes anchored to an article, the W3C Web Annotation way.

A quote is stored as a :class:`QuoteSelector`: the exact text plus 32 characters of
context on each side (a *TextQuoteSelector*) and its character offsets in the article
(a *TextPositionSelector*).  Offsets always point into the ORIGINAL article text.

Matching compares a *normalised* form of both texts: letters and digits are
lower-cased and stripped of accents, everything else (whitespace, quotes, dashes,
punctuation, symbols) becomes a single space.  So ``“well‑being”,`` and ``well being``
compare equal, while the offsets handed back still cover the original characters.

Anchoring order (see :func:`anchor` and :func:`reanchor`):

1. exact match (for :func:`reanchor` first: the stored offsets, if they still give the
   exact text; then the exact text elsewhere);
2. exact match of the normalised text;
3. fuzzy match: candidate windows are found by voting with character n-gram seeds,
   and only those windows are aligned with :class:`difflib.SequenceMatcher`.

A fuzzy match must reach ``min_score`` (default :data:`DEFAULT_MIN_SCORE`), otherwise
the quote stays *unanchored* / becomes *orphaned*: it is never attached to a
look-alike passage (the failure Hypothesis has, client#7571).

Why 0.85: the score (see ``_similarity``) is the share of characters, on both sides,
that belong to the same words — a word with a typo still counts (minus half a point
per wrong character), a replaced, added or dropped word counts nothing.  So 0.85 means
"at most about one word in seven differs".  Measured on the London article
(``tests/unit/test_quotes.py`` keeps the cases): passages of 5+ words with one or two
random typos score 0.85-1.0 (4-word passages: 0.85+ with one typo in all but a couple
of a thousand cases), while sentences on the same theme from a different text score
0.49-0.75.  0.85 keeps both margins; a lower value starts to accept paraphrases that
swap one word of a short clause (0.80-0.82), which is exactly the look-alike a quote
must never be attached to.  Very short passages (fewer than 12 characters or 3 words)
are too easy to confuse: they only anchor on an exact match that is unique (or made
unique by a hint).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.text import truncate

__all__ = [
    "CONTEXT_CHARS",
    "DEFAULT_MIN_SCORE",
    "AnchorResult",
    "QuoteSelector",
    "ReanchorResult",
    "anchor",
    "choice_index",
    "extract_quoted_passages",
    "normalise_for_matching",
    "reanchor",
    "selector_at",
    "sentence_choices",
]

CONTEXT_CHARS = 32
"""Characters of prefix/suffix context stored with a quote (as Hypothesis does)."""

DEFAULT_MIN_SCORE = 0.85
"""Minimum similarity of a fuzzy match; see the module docstring for the reasoning."""

MIN_FUZZY_CHARS = 12
MIN_FUZZY_WORDS = 3
CHOICE_NAME_MAX = 100  # Discord's limit for an application-command choice name
CHOICE_PREFIX = "s"

# --------------------------------------------------------------------------- models


class QuoteSelector(BaseModel):
    """TextQuoteSelector (exact/prefix/suffix) + TextPositionSelector (start/end)."""

    model_config = ConfigDict(frozen=True)

    exact: str
    prefix: str = ""
    suffix: str = ""
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _check_span(self) -> QuoteSelector:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class AnchorResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: Literal["anchored", "unanchored"]
    selector: QuoteSelector | None = None
    score: float = 0.0
    occurrences: int = 0
    """How many places matched exactly (>1: a repeated phrase; the hint, or else the
    first occurrence, decided)."""


class ReanchorResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: Literal["anchored", "moved", "orphaned"]
    selector: QuoteSelector | None = None
    score: float = 0.0


# ------------------------------------------------------------------ normalisation


def _norm_char(ch: str) -> str:
    """One character of the comparison form (always exactly one character)."""
    if not ch.isalnum():
        return " "
    low = ch.lower()
    if len(low) == 1 and low.isascii():
        return low
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if len(base) == 1:
        base = base.lower()
        if len(base) == 1:
            return base
    return low if len(low) == 1 else ch


class _Table(dict):
    """Lazy ``str.translate`` table: every character maps to exactly one character."""

    def __missing__(self, key: int) -> str:
        value = _norm_char(chr(key))
        self[key] = value
        return value


_TABLE = _Table()
_TOKEN = re.compile(r"[^ ]+")


@dataclass(frozen=True, slots=True)
class _Normalised:
    text: str
    norm_starts: list[int]
    orig_starts: list[int]
    lengths: list[int]

    def orig_index(self, n: int) -> int:
        """Original index of normalised index ``n`` (a separator maps to the gap)."""
        i = bisect.bisect_right(self.norm_starts, n) - 1
        if i < 0:
            return 0
        off = n - self.norm_starts[i]
        if off < self.lengths[i]:
            return self.orig_starts[i] + off
        return self.orig_starts[i] + self.lengths[i]

    def orig_span(self, start: int, end: int) -> tuple[int, int]:
        return self.orig_index(start), self.orig_index(end - 1) + 1


def _build(text: str) -> _Normalised:
    translated = text.translate(_TABLE)
    tokens: list[str] = []
    norm_starts: list[int] = []
    orig_starts: list[int] = []
    lengths: list[int] = []
    pos = 0
    for m in _TOKEN.finditer(translated):
        tok = m.group()
        tokens.append(tok)
        norm_starts.append(pos)
        orig_starts.append(m.start())
        lengths.append(len(tok))
        pos += len(tok) + 1
    return _Normalised(" ".join(tokens), norm_starts, orig_starts, lengths)


@lru_cache(maxsize=32)
def _normalised(text: str) -> _Normalised:
    return _build(text)


def normalise_for_matching(text: str) -> str:
    """The comparison form of ``text`` (lower-case words separated by single spaces)."""
    return " ".join(text.translate(_TABLE).split())


def _is_short(norm_passage: str) -> bool:
    return len(norm_passage) < MIN_FUZZY_CHARS or len(norm_passage.split()) < MIN_FUZZY_WORDS


def _ratio(a: str, b: str) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _typo_allowance(word_len: int) -> int:
    """Characters a word may lack and still count as the same word mistyped."""
    if word_len <= 2:
        return 0
    return 1 if word_len <= 4 else 2


def _word_credit(text: str, matched: bytearray) -> tuple[float, int]:
    """(credit, total) over the words of ``text`` given which characters matched."""
    credit = 0.0
    total = 0
    for m in _TOKEN.finditer(text):
        n = m.end() - m.start()
        missing = n - sum(matched[m.start() : m.end()])
        total += n
        if missing <= _typo_allowance(n):
            credit += n - 0.5 * missing
    return credit, total


def _similarity(p: str, s: str, blocks: list[tuple[int, int, int]] | None = None) -> float:
    """Similarity (0..1) of two normalised texts: tolerant of typos, not of other words.

    The characters are aligned (``SequenceMatcher``, or the given matching ``blocks``
    as (p index, s index, size)); then each word of either text counts by its length if
    it is the same word, possibly mistyped (at most 1 unmatched character in a word of
    up to 4 characters, 2 in a longer word; each unmatched character costs half a
    point), and counts nothing if it was replaced, added or dropped.  So one or two
    typos, split or merged words keep a passage near 1.0, while a paraphrase that
    shares the subject and most letters but not the words scores low.
    """
    if p == s:
        return 1.0
    if not p or not s:
        return 0.0
    if blocks is None:
        sm = SequenceMatcher(None, p, s, autojunk=False)
        blocks = [(b.a, b.b, b.size) for b in sm.get_matching_blocks() if b.size]
    mp = bytearray(len(p))
    ms = bytearray(len(s))
    for a, b, size in blocks:
        mp[a : a + size] = b"\x01" * size
        ms[b : b + size] = b"\x01" * size
    cp, tp = _word_credit(p, mp)
    cs, ts = _word_credit(s, ms)
    return (cp + cs) / (tp + ts) if tp + ts else 0.0


# ------------------------------------------------------------------ selectors


def selector_at(article: str, start: int, end: int) -> QuoteSelector:
    """The selector for ``article[start:end]`` with 32 characters of context."""
    if not 0 <= start <= end <= len(article):
        raise ValueError(f"span {start}:{end} is outside the article (length {len(article)})")
    return QuoteSelector(
        exact=article[start:end],
        prefix=article[max(0, start - CONTEXT_CHARS) : start],
        suffix=article[end : end + CONTEXT_CHARS],
        start=start,
        end=end,
    )


def _context_score(article: str, start: int, end: int, hint: QuoteSelector | None) -> float:
    """How well a candidate span agrees with a hint's prefix, suffix and position (0..1)."""
    if hint is None:
        return 0.0
    scores: list[tuple[float, float]] = []
    if hint.prefix or start == 0:
        before = article[max(0, start - max(len(hint.prefix), 1)) : start]
        scores.append(
            (2.0, _ratio(normalise_for_matching(hint.prefix), normalise_for_matching(before)))
        )
    if hint.suffix or end == len(article):
        after = article[end : end + max(len(hint.suffix), 1)]
        scores.append(
            (2.0, _ratio(normalise_for_matching(hint.suffix), normalise_for_matching(after)))
        )
    distance = abs(start - hint.start)
    scores.append((1.0, 1.0 - min(1.0, distance / max(len(article), 1))))
    total = sum(w for w, _ in scores)
    return sum(w * s for w, s in scores) / total


def _pick(
    article: str, spans: list[tuple[int, int]], hint: QuoteSelector | None
) -> tuple[tuple[int, int], bool]:
    """Best span by context (ties: nearest the hinted position, then first).

    Returns the span and whether the choice was unambiguous.
    """
    if len(spans) == 1:
        return spans[0], True
    if hint is None:
        return spans[0], False
    ranked = sorted(
        spans,
        key=lambda sp: (-_context_score(article, sp[0], sp[1], hint), abs(sp[0] - hint.start)),
    )
    first = _context_score(article, *ranked[0], hint)
    second = _context_score(article, *ranked[1], hint)
    return ranked[0], first - second > 1e-9


# ------------------------------------------------------------------ matching


def _find_all(haystack: str, needle: str) -> list[int]:
    out: list[int] = []
    if not needle:
        return out
    i = haystack.find(needle)
    while i != -1:
        out.append(i)
        i = haystack.find(needle, i + 1)
    return out


def _exact_norm_hits(norm: str, p: str) -> list[tuple[int, int]]:
    """Occurrences of ``p`` in ``norm``; whole-word ones when there are any."""
    hits = [(i, i + len(p)) for i in _find_all(norm, p)]
    whole = [
        (s, e)
        for s, e in hits
        if (s == 0 or norm[s - 1] == " ") and (e == len(norm) or norm[e] == " ")
    ]
    return whole or hits


def _best_block_span(blocks: list[tuple[int, int, int]], plen: int) -> tuple[int, int]:
    """The run of matching blocks with the best ratio (stray edge blocks dropped).

    ``blocks`` are (a, b, size) in order; returns (b_start, b_end) in window coordinates.
    """
    k = len(blocks)
    sums = [0]
    for b in blocks:
        sums.append(sums[-1] + b[2])
    best = (-1.0, 0, k - 1)
    for lo in range(k):
        b_lo = blocks[lo][1]
        for hi in range(lo, k):
            span = blocks[hi][1] + blocks[hi][2] - b_lo
            score = 2.0 * (sums[hi + 1] - sums[lo]) / (plen + span)
            if score > best[0]:
                best = (score, lo, hi)
    _, lo, hi = best
    return blocks[lo][1], blocks[hi][1] + blocks[hi][2]


def _expand_to_words(norm: str, start: int, end: int) -> tuple[int, int]:
    limit = 24
    s = start
    while s > 0 and norm[s - 1] != " " and start - s < limit:
        s -= 1
    e = end
    while e < len(norm) and norm[e] != " " and e - end < limit:
        e += 1
    while s < e and norm[s] == " ":
        s += 1
    while e > s and norm[e - 1] == " ":
        e -= 1
    return s, e


def _fuzzy_candidates(norm: str, p: str, max_windows: int = 4) -> list[tuple[int, int, float]]:
    """Candidate spans (normalised coordinates) with their similarity to ``p``, best first.

    Seeds: character q-grams of ``p`` at a fixed stride; every occurrence of a seed in
    the article votes for the diagonal ``article_pos - passage_pos``.  Nearby diagonals
    are clustered; only clusters that enough seeds agree on are aligned with
    SequenceMatcher, so the cost does not grow with the article beyond ``str.find``.
    """
    plen = len(p)
    q = max(4, min(8, plen // 4))
    if not norm or plen <= q:
        return []
    stride = max(1, (plen - q) // 64)
    cap = 64  # a seed found more often than this says nothing about where the quote is
    votes: list[tuple[int, int, float]] = []  # (diagonal, seed offset, weight)
    considered = 0
    for off in range(0, plen - q + 1, stride):
        seed = p[off : off + q]
        hits: list[int] = []
        i = norm.find(seed)
        while i != -1 and len(hits) <= cap:
            hits.append(i)
            i = norm.find(seed, i + 1)
        if len(hits) > cap:
            continue
        considered += 1
        if hits:
            w = 1.0 / len(hits)
            votes.extend((h - off, off, w) for h in hits)
    if not votes:
        return []
    votes.sort()
    tol = max(4, plen // 6)
    clusters: list[tuple[float, int, int, int]] = []  # (weight, seeds, min diag, max diag)
    i = 0
    while i < len(votes):
        first = votes[i][0]
        j = i
        seeds: dict[int, float] = {}
        while j < len(votes) and votes[j][0] - first <= tol:
            _, off, w = votes[j]
            seeds[off] = max(seeds.get(off, 0.0), w)
            j += 1
        clusters.append((sum(seeds.values()), len(seeds), first, votes[j - 1][0]))
        i = j
    # A passage that can reach the threshold keeps most of its seeds intact; windows
    # with few agreeing seeds are not worth aligning.
    needed = max(1, int(0.3 * considered) - 2)
    clusters = sorted((c for c in clusters if c[1] >= needed), key=lambda c: -c[0])
    slack = plen // 4 + 8
    out: list[tuple[int, int, float]] = []
    for _, _, dmin, dmax in clusters[:max_windows]:
        lo = max(0, dmin - slack)
        hi = min(len(norm), dmax + plen + slack)
        sm = SequenceMatcher(None, p, norm[lo:hi], autojunk=False)
        blocks = [(b.a, b.b, b.size) for b in sm.get_matching_blocks() if b.size]
        if not blocks:
            continue
        if len(blocks) > 80:  # keep the longest blocks only
            blocks = sorted(sorted(blocks, key=lambda b: -b[2])[:80], key=lambda b: b[1])
        bs, be = _best_block_span(blocks, plen)
        s, e = _expand_to_words(norm, lo + bs, lo + be)
        if e <= s or any(s < oe and os_ < e for os_, oe, _ in out):
            continue
        out.append((s, e, _similarity(p, norm[s:e])))
    out.sort(key=lambda c: -c[2])
    return out


def _with_edge_punctuation(passage: str, article: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span by the punctuation the passage starts or ends with (``“…”``, ``.``),
    when the article has the same characters there."""
    body = passage.strip()
    lead = len(body) - len(body.lstrip("".join(c for c in body[:4] if not c.isalnum())))
    trail = len(body) - len(body.rstrip("".join(c for c in body[-4:] if not c.isalnum())))
    if lead and article[max(0, start - lead) : start] == body[:lead]:
        start -= lead
    if trail and article[end : end + trail] == body[len(body) - trail :]:
        end += trail
    return start, end


# ------------------------------------------------------------------ anchor


def anchor(
    passage: str,
    article: str,
    *,
    hint: QuoteSelector | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
) -> AnchorResult:
    """Anchor a quoted ``passage`` in ``article``.

    Exact (normalised) matches win; a passage occurring several times is placed by the
    ``hint`` (prefix/suffix/position) or else at its first occurrence.  Otherwise a fuzzy
    match scoring at least ``min_score`` is used.  Short passages (< 12 characters or
    < 3 words) need an exact match that is unique, or made unique by the hint.
    """
    p = normalise_for_matching(passage)
    if not p or not article:
        return AnchorResult(state="unanchored")
    na = _normalised(article)
    short = _is_short(p)
    hits = _exact_norm_hits(na.text, p)
    if hits:
        spans = [na.orig_span(s, e) for s, e in hits]
        (start, end), unambiguous = _pick(article, spans, hint)
        if short and not unambiguous:
            return AnchorResult(state="unanchored", occurrences=len(hits))
        start, end = _with_edge_punctuation(passage, article, start, end)
        return AnchorResult(
            state="anchored",
            selector=selector_at(article, start, end),
            score=1.0,
            occurrences=len(hits),
        )
    if short:
        return AnchorResult(state="unanchored")
    cands = [c for c in _fuzzy_candidates(na.text, p) if c[2] >= min_score]
    if not cands:
        best = max((c[2] for c in _fuzzy_candidates(na.text, p)), default=0.0)
        return AnchorResult(state="unanchored", score=round(best, 4))
    if hint is not None and len(cands) > 1:
        cands.sort(
            key=lambda c: (
                -(0.8 * c[2] + 0.2 * _context_score(article, *na.orig_span(c[0], c[1]), hint))
            )
        )
    s, e, score = cands[0]
    start, end = _with_edge_punctuation(passage, article, *na.orig_span(s, e))
    return AnchorResult(
        state="anchored", selector=selector_at(article, start, end), score=round(score, 4)
    )


# ------------------------------------------------------------------ reanchor


def reanchor(
    selector: QuoteSelector, new_article: str, *, min_score: float = DEFAULT_MIN_SCORE
) -> ReanchorResult:
    """Find a stored quote again in a new revision of the article (Hypothesis-style).

    1. the old offsets, if they still give the exact text → ``anchored``;
    2. the exact text elsewhere (several: prefix/suffix/closeness choose) → ``moved``;
    3. the normalised text, then a fuzzy match of at least ``min_score``, ranked by
       quote, prefix, suffix and position → ``moved``;
    4. otherwise ``orphaned`` — never a look-alike.
    """
    exact = selector.exact
    if not exact or not new_article:
        return ReanchorResult(state="orphaned")
    s, e = selector.start, selector.end
    if e <= len(new_article) and new_article[s:e] == exact:
        return ReanchorResult(state="anchored", selector=selector_at(new_article, s, e), score=1.0)

    positions = _find_all(new_article, exact)
    if positions:
        spans = [(i, i + len(exact)) for i in positions]
        (start, end), _ = _pick(new_article, spans, selector)
        return _moved(selector, new_article, start, end, 1.0)

    p = normalise_for_matching(exact)
    if not p:
        return ReanchorResult(state="orphaned")
    na = _normalised(new_article)
    hits = _exact_norm_hits(na.text, p)
    if hits:
        spans = [na.orig_span(a, b) for a, b in hits]
        (start, end), _ = _pick(new_article, spans, selector)
        return _moved(selector, new_article, start, end, 1.0)
    if _is_short(p):
        return ReanchorResult(state="orphaned")

    best: tuple[float, int, int, float] | None = None
    top_quote = 0.0
    for a, b, quote_score in _fuzzy_candidates(na.text, p):
        top_quote = max(top_quote, quote_score)
        if quote_score < min_score:
            continue
        start, end = na.orig_span(a, b)
        combined = 0.7 * quote_score + 0.3 * _context_score(new_article, start, end, selector)
        if best is None or combined > best[0]:
            best = (combined, start, end, quote_score)
    if best is None:
        return ReanchorResult(state="orphaned", score=round(top_quote, 4))
    _, start, end, quote_score = best
    return _moved(selector, new_article, start, end, quote_score)


def _moved(old: QuoteSelector, article: str, start: int, end: int, score: float) -> ReanchorResult:
    new = selector_at(article, start, end)
    same = (start, end) == (old.start, old.end) and new.exact == old.exact
    return ReanchorResult(
        state="anchored" if same else "moved", selector=new, score=round(score, 4)
    )


# ------------------------------------------------------------------ Discord quotes

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_BLOCK = re.compile(r"^ *>>> (.*)", re.DOTALL | re.MULTILINE)
_LINE = re.compile(r"^ *>(?!>>) (.*)$")


def extract_quoted_passages(message_text: str) -> list[str]:
    """The quoted passages of a Discord message, markers stripped.

    Follows Discord's markdown: ``> text`` quotes one line (consecutive such lines form
    one passage); ``>>> text`` quotes everything up to the end of the message.  Text in
    fenced code blocks is not a quote.  Empty passages are dropped.
    """
    text = _FENCE.sub(lambda m: "\n" * m.group().count("\n"), message_text.replace("\r\n", "\n"))
    passages: list[str] = []
    block = _BLOCK.search(text)
    head = text[: block.start()] if block else text
    current: list[str] = []
    for line in head.split("\n"):
        m = _LINE.match(line)
        if m:
            current.append(m.group(1))
            continue
        if line.strip() in (">",) and current:  # an empty quoted line inside a quote
            current.append("")
            continue
        if current:
            passages.append("\n".join(current))
            current = []
    if current:
        passages.append("\n".join(current))
    if block:
        passages.append(block.group(1))
    return [p.strip() for p in passages if p.strip()]


# ------------------------------------------------------------------ sentences

def choice_index(value: str) -> int | None:
    """The sentence index of an autocomplete value such as ``"s12"`` (else None)."""
    if value.startswith(CHOICE_PREFIX) and value[1:].isascii() and value[1:].isdigit():
        return int(value[1:])
    return None


def _shorten(sentence: str, at: int, width: int = CHOICE_NAME_MAX) -> str:
    """``sentence`` in at most ``width`` characters, showing position ``at``."""
    if len(sentence) <= width:
        return sentence
    if at + 30 <= width - 1:
        return truncate(sentence, width, trim=" ")
    begin = max(0, at - 25)
    room = width - 2 if begin + width - 1 < len(sentence) else width - 1
    body = sentence[begin : begin + room].strip()
    name = "…" + body
    if begin + room < len(sentence):
        name += "…"
    return name[:width]


def sentence_choices(sentences: list[str], typed: str, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete choices ``(name, value)`` for the sentences matching ``typed``.

    Matching is case-insensitive: every typed word must occur in the sentence.  Ranked:
    sentences starting with the typed text, then those with a word starting with it,
    then those where every typed word starts a word, then any substring match; the
    article order within a rank.  ``name`` is at most 100 characters (Discord's limit),
    shortened with "…" around the match; ``value`` is ``"s<index>"``.
    """
    query = " ".join(typed.lower().split())
    words = query.split()
    ranked: list[tuple[int, int, str, int]] = []
    for index, sentence in enumerate(sentences):
        flat = " ".join(sentence.split())
        if not flat:
            continue
        low = flat.lower()
        if not words:
            ranked.append((0, index, flat, 0))
            continue
        if not all(w in low for w in words):
            continue
        pos = low.find(query)
        if low.startswith(query):
            rank = 0
        elif pos > 0 and _word_start(low, query):
            rank, pos = 1, _word_start(low, query)
        elif all(re.search(r"(?<!\w)" + re.escape(w), low) for w in words):
            rank = 2
            pos = re.search(r"(?<!\w)" + re.escape(words[0]), low).start()
        else:
            rank = 3
            pos = pos if pos >= 0 else low.find(words[0])
        ranked.append((rank, index, flat, max(pos, 0)))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [
        (_shorten(flat, pos), f"{CHOICE_PREFIX}{index}") for _, index, flat, pos in ranked[:limit]
    ]


def _word_start(low: str, query: str) -> int:
    m = re.search(r"(?<!\w)" + re.escape(query), low)
    return m.start() if m else 0
