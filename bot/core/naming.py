"""Discord names for agenda items: stable keys, channel names and thread names."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from bot.core.text import truncate

__all__ = ["KEY_MAX", "CHANNEL_NAME_MAX", "THREAD_NAME_MAX", "slugify", "channel_name", "thread_name"]

KEY_MAX = 80
CHANNEL_NAME_MAX = 100
THREAD_NAME_MAX = 100


def _ascii_words(text: str) -> str:
    text = text.replace("&", " and ")
    text = re.sub(r"['’‘`´]", "", text)  # "Office's" -> "Offices", not "office-s"
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cut_on_hyphen(slug: str, limit: int) -> str:
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    if slug[limit] != "-" and "-" in cut:
        cut = cut[: cut.rfind("-")]
    return cut.strip("-")


def slugify(title: str) -> str:
    """A stable key from a title: lowercase ASCII words joined by hyphens, at most 80 chars.

    Titles with no ASCII letters or digits get ``item-<hash>`` so the key is never empty.
    """
    slug = _cut_on_hyphen(_ascii_words(title), KEY_MAX)
    if not slug:
        digest = hashlib.sha256(title.encode("utf-8")).hexdigest()[:8]
        slug = f"item-{digest}"
    return slug


_LEADING_NUMBER = re.compile(r"^\s*(\d+)\s*([.):]?)\s+")


def channel_name(position: int, title: str) -> str:
    """A Discord text-channel name, e.g. ``channel_name(4, "4. Tackling cyber crime")`` →
    ``"04-tackling-cyber-crime"``.

    Lowercase ASCII, digits and hyphens, at most 100 characters, never empty. A number at the
    start of the title is dropped when it is list numbering ("4." / "4)") or equals
    ``position``, so it is not repeated.
    """
    prefix = f"{position:02d}" if position >= 0 else str(position).replace("-", "m")
    m = _LEADING_NUMBER.match(title)
    if m and (m.group(2) or int(m.group(1)) == position):
        title = title[m.end() :]
    words = _ascii_words(title) or "item"
    return _cut_on_hyphen(f"{prefix}-{words}", CHANNEL_NAME_MAX)


def thread_name(title: str) -> str:
    """A Discord thread name: the title on one line, at most 100 characters, never empty."""
    name = " ".join(title.split())
    return truncate(name, THREAD_NAME_MAX) if name else "Untitled"
