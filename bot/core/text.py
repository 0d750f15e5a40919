"""Text helpers shared by every feature: Discord's length, the one truncation helper and the
one sentence splitter.

Discord counts its limits in UTF-16 code units, so :func:`discord_len` counts characters outside
the Basic Multilingual Plane (most emoji) as two. :func:`truncate` shortens *display* text (a
title, a field, an excerpt) and never the stored record. :func:`sentence_spans` finds sentence
boundaries in plain text; :func:`sentences` is the same splitter over Markdown.
"""

from __future__ import annotations

import re

__all__ = ["discord_len", "prefix_fitting", "truncate", "sentence_spans", "split_sentences", "sentences", "ELLIPSIS"]

ELLIPSIS = "…"


def discord_len(text: str) -> int:
    """Length as Discord's limits count it, conservatively: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def prefix_fitting(text: str, cap: int) -> int:
    """The largest n with ``discord_len(text[:n]) <= cap``."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > cap:
            return i
    return len(text)


def truncate(text: str, limit: int, *, on_word: bool = True, trim: str = " -–—,.;:") -> str:
    """``text`` in at most ``limit`` UTF-16 units, ending in "…" when it was cut.

    With ``on_word`` the cut moves back to the last space when that keeps at least half the
    room, so a word is not broken; trailing punctuation in ``trim`` is dropped before "…".
    """
    if limit <= 0:
        return ""
    if discord_len(text) <= limit:
        return text
    cut = text[: prefix_fitting(text, limit - 1)]
    if on_word:
        space = cut.rfind(" ")
        if space >= len(cut) // 2:
            cut = cut[:space]
    return cut.rstrip(trim) + ELLIPSIS


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset(
    """
    e.g i.e eg ie etc cf vs viz al approx fig no nos vol pp p mr mrs ms dr prof st jr sr rev
    gen gov sen rep inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec
    u.s u.k e.u u.n
    """.split()
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s)|\n\s*")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets ``(start, end)`` of the sentences of plain ``text``; each line is separate.

    A full stop does not end a sentence after a common abbreviation ("e.g.", "Dr."), an
    initial or a number ("J. Smith", "item 4. "), or when a lowercase word follows.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if not m.group().startswith("\n"):
            before = text[start : m.start()].split()
            last = before[-1].lstrip("(\"'“‘[").lower().rstrip(".") if before else ""
            nxt = text[m.end() :].lstrip()[:1]
            if (
                not before
                or last in _ABBREVIATIONS
                or (m.group()[0] == "." and m.group().rstrip("\"'”’)]*_") == "."
                    and (last.isdigit() or len(last) == 1))
                or (nxt and nxt.islower())
            ):
                continue
            end = m.end()
        else:
            end = m.start()
        _add_span(text, start, end, spans)
        start = m.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    """The sentences of plain ``text`` as strings (see :func:`sentence_spans`)."""
    return [text[s:e] for s, e in sentence_spans(text)]


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}(?:(?:[-*_]\s*){3,}|=+)\s*$")
_QUOTE_MARK = re.compile(r"^\s{0,3}(?:>\s?)+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")

_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links → their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # code spans
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *italic*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _italic_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"\|\|(.+?)\|\|"), r"\1"),  # Discord spoilers
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])"), r"\1"),  # backslash escapes
]


def _strip_inline(text: str) -> str:
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def _blocks(text: str) -> list[str]:
    """Markdown → plain blocks (paragraphs, headings, list items, code lines)."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    in_fence = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            if line.strip():
                blocks.append(line.strip())
            continue
        line = _QUOTE_MARK.sub("", line)
        if not line.strip() or _RULE.match(line):
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            blocks.append(heading.group(1))
            continue
        marker = _LIST_MARK.match(line)
        if marker:
            flush()
            line = line[marker.end() :]
        current.append(line.strip())
    flush()
    return blocks


def sentences(markdown: str) -> list[str]:
    """The plain sentences of Markdown text, in order (the splitter of :func:`sentence_spans`).

    Markers (emphasis, links, headings, list and quote markers, code fences) are removed and
    whitespace collapsed; headings and list items are sentences of their own.
    """
    result: list[str] = []
    for block in _blocks(markdown):
        plain = _strip_inline(block)
        result.extend(split_sentences(plain))
    return result
