"""An article as Discord messages: the head embed, the body split within Discord's limits.

The body is never truncated: :func:`article_body_from_parts` gives it back exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from bot.core.text import discord_len, prefix_fitting, truncate

__all__ = [
    "EMBED_TITLE_MAX",
    "EMBED_DESCRIPTION_MAX",
    "EMBED_FOOTER_MAX",
    "MESSAGE_EMBEDS_MAX",
    "MESSAGE_EMBED_CHARS_MAX",
    "EmbedData",
    "ArticlePart",
    "render_article",
    "article_body_from_parts",
    "fingerprint",
    "discord_len",
]

EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FOOTER_MAX = 2048
MESSAGE_EMBEDS_MAX = 10
MESSAGE_EMBED_CHARS_MAX = 6000  # title + description + footer over all embeds of a message
SUMMATION_ROOM = EMBED_DESCRIPTION_MAX - 96  # the head embed's description


class EmbedData(BaseModel):
    """One Discord embed as plain data (the cog turns it into ``discord.Embed``)."""

    model_config = ConfigDict(frozen=True)

    title: str | None = None
    description: str | None = None
    footer: str | None = None

    def size(self) -> int:
        """Characters this embed counts towards Discord's 6000 per message (UTF-16 units)."""
        return sum(discord_len(x) for x in (self.title, self.description, self.footer) if x)


class ArticlePart(BaseModel):
    """One Discord message of an article: optional content and its embeds."""

    model_config = ConfigDict(frozen=True)

    content: str | None = None
    embeds: list[EmbedData] = Field(default_factory=list)

    def size(self) -> int:
        return sum(e.size() for e in self.embeds)


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]*_]*\s+")
_WORD_BREAK = re.compile(r"\s+")


def _best_cut(text: str, limit: int) -> int:
    """Where to split ``text`` so the first piece has at most ``limit`` characters.

    Prefer a paragraph break, then a line break, then a sentence end, each only if it keeps
    at least a quarter of the room; then any space; a hard split only for a word longer than
    the whole room. The whitespace at the break stays at the end of the first piece.
    """
    prefix = text[:limit]
    floor = max(1, limit // 4)
    for pattern, minimum in (
        (_PARAGRAPH_BREAK, floor),
        (_LINE_BREAK, floor),
        (_SENTENCE_BREAK, floor),
        (_WORD_BREAK, 1),
    ):
        best = None
        for m in pattern.finditer(prefix):
            if m.end() >= minimum and prefix[: m.start()].strip():
                best = m.end()
        if best is not None:
            return best
    return limit


def _take(text: str, cap: int) -> tuple[str, str]:
    if discord_len(text) <= cap:
        return text, ""
    cut = _best_cut(text, prefix_fitting(text, cap))
    return text[:cut], text[cut:]


_MIN_FILL = 500  # below this much room left in a message, start the next message


def _footer(edited_at: datetime | None, status_line: str | None) -> str | None:
    bits = []
    if status_line and status_line.strip():
        bits.append(" ".join(status_line.split()))
    if edited_at is not None:
        when = edited_at if edited_at.tzinfo else edited_at.replace(tzinfo=UTC)
        bits.append(f"edited {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    return truncate(" · ".join(bits), EMBED_FOOTER_MAX) if bits else None


def render_article(
    title: str,
    summation: str,
    body: str,
    *,
    edited_at: datetime | None = None,
    status_line: str | None = None,
) -> list[ArticlePart]:
    """An article as Discord messages, within Discord's limits, never truncating the body.

    Message 1 (the opening post) starts with the head embed: the title, the summation as its
    description, and a footer with ``status_line`` and "edited …" when given. Every further
    embed carries a consecutive slice of ``body`` as its description, as much as fits per
    message (≤4096 per embed, ≤6000 per message, ≤10 embeds); the body is split at paragraph
    breaks first, then lines, sentences, spaces. ``article_body_from_parts`` gives the body
    back exactly.
    """
    head_title = truncate(" ".join(title.split()), EMBED_TITLE_MAX) or None
    summation = summation.strip()
    if discord_len(summation) > SUMMATION_ROOM:
        raise ValueError(
            f"summation is {len(summation)} characters; an article's summation must fit one "
            "embed (agenda files allow at most 500)"
        )
    footer = _footer(edited_at, status_line)
    if footer is not None:
        room = MESSAGE_EMBED_CHARS_MAX - discord_len(head_title or "") - discord_len(summation)
        footer = truncate(footer, min(EMBED_FOOTER_MAX, room))
    head = EmbedData(title=head_title, description=summation or None, footer=footer)
    if head.title is None and head.description is None and head.footer is None:
        head = EmbedData(title="Untitled")

    parts: list[ArticlePart] = []
    embeds = [head]
    used = head.size()
    rest = body
    while rest:
        room = MESSAGE_EMBED_CHARS_MAX - used
        if len(embeds) >= MESSAGE_EMBEDS_MAX or (room < _MIN_FILL and discord_len(rest) > room):
            parts.append(ArticlePart(embeds=embeds))
            embeds, used = [], 0
            room = MESSAGE_EMBED_CHARS_MAX
        chunk, rest = _take(rest, min(EMBED_DESCRIPTION_MAX, room))
        embeds.append(EmbedData(description=chunk))
        used += discord_len(chunk)
    parts.append(ArticlePart(embeds=embeds))
    return parts


def article_body_from_parts(parts: list[ArticlePart]) -> str:
    """The body carried by ``render_article``'s parts (every embed after the head embed)."""
    embeds = [e for part in parts for e in part.embeds]
    return "".join(e.description or "" for e in embeds[1:])


def fingerprint(parts: list[ArticlePart]) -> str:
    """sha256 (hex) of the rendered messages: equal iff the posts would look the same."""
    payload = json.dumps(
        [p.model_dump(mode="json") for p in parts],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
