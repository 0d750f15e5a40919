"""Agenda files: format, validation, Discord names and article rendering.

Pure core: no ``discord`` import. Everything here takes and returns plain data.

Agenda file format (TOML, read with :mod:`tomllib`)::

    [consultation]
    title = "The London Agenda"          # 1..100 characters (it names the Discord category)
    description = "..."                  # optional, at most 4096 characters

    [[items]]                            # one Discord text channel per item, in file order
    key = "tackling-cyber-crime"         # optional; default: slugify(title)
    title = "4. Tackling cyber crime"    # 1..100 characters, one line
    summation = "..."                    # required, 1..500 characters
    body = '''
    Markdown, any length.
    '''                                  # or: body_file = "bodies/item4.md" (relative to the file)
    closes_at = 2026-12-31T17:00:00Z     # optional, with a timezone (TOML datetime or ISO text)
    related = ["international-security"] # optional keys of other items anywhere in the agenda

      [[items.items]]                    # sub-items: one level only (each becomes a thread)
      title = "..."
      summation = "..."
      body = '''...'''

:func:`load_agenda` reports every problem at once in :class:`AgendaInvalid`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.input_checks import display_text_problem

__all__ = [
    "TITLE_MAX",
    "SUMMATION_MAX",
    "DESCRIPTION_MAX",
    "KEY_MAX",
    "MAX_TOP_LEVEL_ITEMS",
    "CHANNEL_NAME_MAX",
    "THREAD_NAME_MAX",
    "EMBED_TITLE_MAX",
    "EMBED_DESCRIPTION_MAX",
    "EMBED_FOOTER_MAX",
    "MESSAGE_EMBEDS_MAX",
    "MESSAGE_EMBED_CHARS_MAX",
    "AgendaProblem",
    "AgendaInvalid",
    "AgendaItemSpec",
    "AgendaSpec",
    "load_agenda",
    "slugify",
    "channel_name",
    "thread_name",
    "EmbedData",
    "ArticlePart",
    "render_article",
    "article_body_from_parts",
    "fingerprint",
    "discord_len",
    "sentences",
]

# --------------------------------------------------------------------------- limits

TITLE_MAX = 100  # Discord channel/thread/category names and modal titles
SUMMATION_MAX = 500  # the seed page's "short (max 500 characters) summation"
DESCRIPTION_MAX = 4096
KEY_MAX = 80
MAX_TOP_LEVEL_ITEMS = 50  # a Discord category holds at most 50 channels

CHANNEL_NAME_MAX = 100
THREAD_NAME_MAX = 100
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FOOTER_MAX = 2048
MESSAGE_EMBEDS_MAX = 10
MESSAGE_EMBED_CHARS_MAX = 6000  # title + description + footer over all embeds of a message

_KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_ITEM_FIELDS = ("key", "title", "summation", "body", "body_file", "closes_at", "related", "items")
_CONSULTATION_FIELDS = ("title", "description")
_TOP_FIELDS = ("consultation", "items")

# Names people plausibly write instead of the real field.
_FIELD_HINTS = {
    "description": "items have no description: use summation (at most 500 characters) for the "
    "short text and body for the article",
    "summary": "use summation",
    "text": "use body",
    "content": "use body",
    "article": "use body",
    "name": "use title",
    "children": "use [[items.items]] tables for sub-items",
    "subitems": "use [[items.items]] tables for sub-items",
    "sub_items": "use [[items.items]] tables for sub-items",
    "sub-items": "use [[items.items]] tables for sub-items",
    "related_articles": "use related",
    "deadline": "use closes_at",
    "closes": "use closes_at",
    "close_at": "use closes_at",
    "closing": "use closes_at",
    "id": "use key",
    "slug": "use key",
}


# --------------------------------------------------------------------------- problems


class AgendaProblem(BaseModel):
    """One thing wrong with an agenda file, and what to do about it."""

    model_config = ConfigDict(frozen=True)

    location: str
    field: str
    message: str

    def format(self) -> str:
        where = self.location + (f" › {self.field}" if self.field else "")
        return f"{where}: {self.message}"


class AgendaInvalid(ValueError):
    """The agenda has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[AgendaProblem]):
        self.problems = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        n = len(self.problems)
        head = f"The agenda has {n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"- {p.format()}" for p in self.problems)])


# --------------------------------------------------------------------------- field checks
# Each check returns an error message (what to fix) or None; shared by the file loader and
# the pydantic models so both say the same thing.


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, datetime | date | time):
        return "a date/time"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _length_message(name: str, text: str, limit: int) -> str | None:
    n = len(text)
    if n > limit:
        return f"{name} is {n} characters; the limit is {limit} — shorten it by {n - limit}"
    return None


def _check_title(value: str) -> str | None:
    if not value.strip():
        return "title is empty; give the item a title (1 to 100 characters)"
    if "\n" in value.strip():
        return "title must be a single line"
    if problem := display_text_problem(value.strip(), "title"):
        return problem
    return _length_message("title", value.strip(), TITLE_MAX)


def _check_summation(value: str) -> str | None:
    if not value.strip():
        return f"summation is empty; write a short summary (at most {SUMMATION_MAX} characters)"
    return _length_message("summation", value.strip(), SUMMATION_MAX)


def _check_key(value: str) -> str | None:
    if not _KEY_RE.match(value):
        suggestion = slugify(value)
        return (
            f"key {value!r} may only use lowercase letters, digits and single hyphens "
            f"(e.g. {suggestion!r})"
        )
    return _length_message("key", value, KEY_MAX)


def _parse_closes_at(value: Any) -> tuple[datetime | None, str | None]:
    example = "2026-12-31T17:00:00Z"
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: Any = datetime.fromisoformat(text)
        except ValueError:
            try:
                parsed = date.fromisoformat(text)
            except ValueError:
                return None, (
                    f"closes_at {value!r} is not a date and time; write it like {example} "
                    "(Z means UTC) or with an offset like 2026-12-31T17:00:00+01:00"
                )
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            iso = value.isoformat()
            return None, (
                f"closes_at {iso} has no timezone; add Z for UTC ({iso}Z) "
                f"or an offset like {iso}+01:00"
            )
        return value.astimezone(UTC), None
    if isinstance(value, date):
        return None, (
            f"closes_at {value.isoformat()} is a date without a time; give a time and a "
            f"timezone, e.g. {value.isoformat()}T17:00:00Z"
        )
    if isinstance(value, time):
        return None, f"closes_at {value.isoformat()} is a time without a date; e.g. {example}"
    return None, f"closes_at must be a date and time like {example}, not {_type_name(value)}"


def _clip(text: str, limit: int) -> str:
    """Shorten *display* text (never article bodies) to ``limit`` UTF-16 units, on a word."""
    if discord_len(text) <= limit:
        return text
    cut = text[: _prefix_fitting(text, limit - 1)]
    space = cut.rfind(" ")
    if space >= len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" -–—,.;:") + "…"


def _short_title(title: str) -> str:
    return _clip(" ".join(title.split()), 40)


def _item_location(index: int, title: str | None, parent: str | None = None) -> str:
    if parent is None:
        label = f"item {index + 1}"
    else:
        label = f"{parent} › sub-item {index + 1}"
    if title and isinstance(title, str) and title.strip():
        label += f" '{_short_title(title)}'"
    return label


# --------------------------------------------------------------------------- models


class AgendaItemSpec(BaseModel):
    """One agenda item (a channel) or sub-item (a thread)."""

    model_config = ConfigDict(extra="forbid")

    key: str = ""
    title: str
    summation: str
    body: str = ""
    closes_at: datetime | None = None
    related: list[str] = Field(default_factory=list)
    items: list[AgendaItemSpec] = Field(default_factory=list)

    @field_validator("title")
    @classmethod
    def _v_title(cls, v: str) -> str:
        if msg := _check_title(v):
            raise ValueError(msg)
        return v.strip()

    @field_validator("summation")
    @classmethod
    def _v_summation(cls, v: str) -> str:
        if msg := _check_summation(v):
            raise ValueError(msg)
        return v.strip()

    @field_validator("body")
    @classmethod
    def _v_body(cls, v: str) -> str:
        return _normalize_body(v)

    @field_validator("closes_at", mode="before")
    @classmethod
    def _v_closes_at(cls, v: Any) -> Any:
        if v is None:
            return None
        parsed, msg = _parse_closes_at(v)
        if msg:
            raise ValueError(msg)
        return parsed

    @model_validator(mode="after")
    def _v_key(self) -> AgendaItemSpec:
        if not self.key:
            self.key = slugify(self.title)
        elif msg := _check_key(self.key):
            raise ValueError(msg)
        return self


class AgendaSpec(BaseModel):
    """A whole agenda: the consultation and its items, in order."""

    model_config = ConfigDict(extra="forbid")

    title: str
    description: str = ""
    items: list[AgendaItemSpec]

    @field_validator("title")
    @classmethod
    def _v_title(cls, v: str) -> str:
        if msg := _check_title(v):
            raise ValueError(msg.replace("the item", "the consultation"))
        return v.strip()

    @field_validator("description")
    @classmethod
    def _v_description(cls, v: str) -> str:
        if msg := _length_message("description", v.strip(), DESCRIPTION_MAX):
            raise ValueError(msg)
        return v.strip()

    @model_validator(mode="after")
    def _v_structure(self) -> AgendaSpec:
        entries: list[_Entry] = []
        problems: list[AgendaProblem] = []
        if not self.items:
            problems.append(_empty_problem())
        if len(self.items) > MAX_TOP_LEVEL_ITEMS:
            problems.append(_too_many_problem(len(self.items)))
        for i, item in enumerate(self.items):
            loc = _item_location(i, item.title)
            entries.append(_Entry(loc, item.key, item.related))
            for j, sub in enumerate(item.items):
                sub_loc = _item_location(j, sub.title, loc)
                entries.append(_Entry(sub_loc, sub.key, sub.related))
                if sub.items:
                    problems.append(_too_deep_problem(sub_loc, len(sub.items), loc))
        problems.extend(_cross_check(entries))
        if problems:
            raise ValueError(AgendaInvalid(problems).format())
        return self

    def walk(self) -> Iterator[tuple[str, AgendaItemSpec, str | None]]:
        """Yield ``(path, item, parent_key)`` in agenda order, each item before its sub-items.

        ``path`` is readable, e.g. ``"item 4 '4. Tackling cyber crime' › sub-item 2 '…'"``;
        ``parent_key`` is None for top-level items.
        """
        for i, item in enumerate(self.items):
            loc = _item_location(i, item.title)
            yield loc, item, None
            for j, sub in enumerate(item.items):
                yield _item_location(j, sub.title, loc), sub, item.key

    def get(self, key: str) -> AgendaItemSpec | None:
        """The item or sub-item with this key, or None."""
        for _path, item, _parent in self.walk():
            if item.key == key:
                return item
        return None

    def keys(self) -> list[str]:
        """Every item and sub-item key, in agenda order."""
        return [item.key for _path, item, _parent in self.walk()]


class _Entry:
    __slots__ = ("location", "key", "related")

    def __init__(self, location: str, key: str | None, related: list[str]):
        self.location = location
        self.key = key
        self.related = related


def _empty_problem() -> AgendaProblem:
    return AgendaProblem(
        location="agenda",
        field="items",
        message="the agenda has no items; add at least one [[items]] table with a title "
        "and a summation",
    )


def _too_many_problem(n: int) -> AgendaProblem:
    return AgendaProblem(
        location="agenda",
        field="items",
        message=f"the agenda has {n} items but a Discord category holds at most "
        f"{MAX_TOP_LEVEL_ITEMS} channels; remove {n - MAX_TOP_LEVEL_ITEMS} or turn some "
        "into sub-items",
    )


def _too_deep_problem(location: str, n: int, parent_location: str) -> AgendaProblem:
    what = "this sub-item has" if n == 1 else f"these {n} sub-items have"
    return AgendaProblem(
        location=location,
        field="items",
        message=(
            "sub-items cannot have sub-items of their own: Discord shows one level "
            "(each sub-item is a thread in its item's channel). "
            f"Move {'it' if n == 1 else 'them'} up under {parent_location} as [[items.items]], "
            f"or fold {'its' if n == 1 else 'their'} text into this sub-item's body "
            f"({what} to go)"
        ),
    )


def _cross_check(entries: list[_Entry], deep_keys: set[str] | None = None) -> list[AgendaProblem]:
    """Duplicate keys and ``related`` references, across the whole agenda."""
    problems: list[AgendaProblem] = []
    first_use: dict[str, str] = {}
    for e in entries:
        if not e.key:
            continue
        if e.key in first_use:
            problems.append(
                AgendaProblem(
                    location=e.location,
                    field="key",
                    message=f"key {e.key!r} is already used by {first_use[e.key]}; "
                    f'give one of them a different key = "..."',
                )
            )
        else:
            first_use[e.key] = e.location
    known = sorted(first_use)
    for e in entries:
        seen: set[str] = set()
        for ref in e.related:
            if ref in seen:
                problems.append(
                    AgendaProblem(
                        location=e.location,
                        field="related",
                        message=f"{ref!r} is listed twice in related; remove one",
                    )
                )
                continue
            seen.add(ref)
            if e.key and ref == e.key:
                problems.append(
                    AgendaProblem(
                        location=e.location,
                        field="related",
                        message=f"the item lists itself ({ref!r}) as related; remove it",
                    )
                )
            elif ref not in first_use and not (deep_keys and ref in deep_keys):
                close = difflib.get_close_matches(ref, known, n=1, cutoff=0.6)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                listing = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
                problems.append(
                    AgendaProblem(
                        location=e.location,
                        field="related",
                        message=f"{ref!r} is not the key of any item{hint} "
                        f"(keys: {listing or 'none'})",
                    )
                )
    return problems


# --------------------------------------------------------------------------- loading


def _normalize_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip("\n").rstrip()


class _Loader:
    def __init__(self, text: str, base_dir: Path | None):
        self.text = text
        self.base_dir = base_dir
        self.problems: list[AgendaProblem] = []
        self.entries: list[_Entry] = []
        self.deep_keys: set[str] = set()
        self.top_lines, self.sub_lines = _header_lines(text)

    def problem(self, location: str, field: str, message: str) -> None:
        self.problems.append(AgendaProblem(location=location, field=field, message=message))

    def unknown_fields(self, table: dict, allowed: tuple[str, ...], location: str) -> None:
        for name in table:
            if name in allowed:
                continue
            hint = _FIELD_HINTS.get(name.lower())
            if hint is None:
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else None
            allowed_text = ", ".join(allowed)
            self.problem(
                location,
                name,
                f"unknown field {name!r}"
                + (f" — {hint}" if hint else "")
                + f" (allowed here: {allowed_text})",
            )

    def text_field(self, table: dict, name: str, location: str, *, required: bool) -> str | None:
        if name not in table:
            if required:
                what = {
                    "title": f"a title (1 to {TITLE_MAX} characters)",
                    "summation": f"a short summary (at most {SUMMATION_MAX} characters)",
                }.get(name, "text")
                self.problem(location, name, f'{name} is missing; add {name} = "..." with {what}')
            return None
        value = table[name]
        if not isinstance(value, str):
            self.problem(location, name, f"{name} must be text in quotes, not {_type_name(value)}")
            return None
        return value

    def run(self, data: dict) -> AgendaSpec | None:
        self.unknown_fields(data, _TOP_FIELDS, "agenda")
        consultation = data.get("consultation")
        c_title = c_description = None
        if consultation is None:
            self.problem(
                "agenda",
                "consultation",
                "the [consultation] table is missing; start the file with [consultation] "
                'and title = "..."',
            )
        elif not isinstance(consultation, dict):
            self.problem(
                "agenda",
                "consultation",
                f"consultation must be a table ([consultation]), not {_type_name(consultation)}",
            )
        else:
            loc = "[consultation]"
            if "items" in consultation:
                self.problem(
                    loc,
                    "items",
                    "items written under [consultation] belong to the consultation table; "
                    "describe the items in [[items]] tables after it instead",
                )
            self.unknown_fields(
                {k: v for k, v in consultation.items() if k != "items"}, _CONSULTATION_FIELDS, loc
            )
            c_title = self.text_field(consultation, "title", loc, required=True)
            if c_title is not None and (msg := _check_title(c_title)):
                self.problem(loc, "title", msg.replace("the item", "the consultation"))
            c_description = self.text_field(consultation, "description", loc, required=False)
            if c_description is not None and (
                msg := _length_message("description", c_description.strip(), DESCRIPTION_MAX)
            ):
                self.problem(loc, "description", msg)

        raw_items = data.get("items")
        items: list[dict] = []
        if raw_items is None:
            self.problems.append(_empty_problem())
        elif not isinstance(raw_items, list):
            self.problem(
                "agenda", "items", f"items must be [[items]] tables, not {_type_name(raw_items)}"
            )
        else:
            if not raw_items:
                self.problems.append(_empty_problem())
            if len(raw_items) > MAX_TOP_LEVEL_ITEMS:
                self.problems.append(_too_many_problem(len(raw_items)))
            for i, raw in enumerate(raw_items):
                line = self.top_lines[i] if len(self.top_lines) == len(raw_items) else None
                item = self.item(raw, i, None, line, sub_lines_of=i)
                if item is not None:
                    items.append(item)

        self.problems.extend(_cross_check(self.entries, self.deep_keys))
        if self.problems:
            return None
        try:
            return AgendaSpec.model_validate(
                {"title": c_title, "description": c_description or "", "items": items}
            )
        except ValidationError as exc:  # a check above should have caught it; stay helpful
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "agenda"
                self.problem(where, "", err["msg"].removeprefix("Value error, "))
            return None

    def item(
        self,
        raw: Any,
        index: int,
        parent: str | None,
        line: int | None,
        sub_lines_of: int | None = None,
    ) -> dict | None:
        title_guess = raw.get("title") if isinstance(raw, dict) else None
        loc = _item_location(index, title_guess if isinstance(title_guess, str) else None, parent)
        if line is not None:
            loc_full = f"{loc} (line {line})"
        else:
            loc_full = loc
        if not isinstance(raw, dict):
            self.problem(
                loc_full, "", f"an item must be a table ([[items]]), not {_type_name(raw)}"
            )
            return None
        self.unknown_fields(raw, _ITEM_FIELDS, loc_full)
        ok = True

        title = self.text_field(raw, "title", loc_full, required=True)
        if title is not None and (msg := _check_title(title)):
            self.problem(loc_full, "title", msg)
            ok = False
        ok &= title is not None

        summation = self.text_field(raw, "summation", loc_full, required=True)
        if summation is not None and (msg := _check_summation(summation)):
            self.problem(loc_full, "summation", msg)
            ok = False
        ok &= summation is not None

        key = None
        if "key" in raw:
            key = self.text_field(raw, "key", loc_full, required=True)
            if key is not None and (msg := _check_key(key)):
                self.problem(loc_full, "key", msg)
                key = None
                ok = False
        elif title is not None and title.strip():
            key = slugify(title)

        body = self.body(raw, loc_full)
        ok &= body is not None

        closes_at = None
        if "closes_at" in raw:
            closes_at, msg = _parse_closes_at(raw["closes_at"])
            if msg:
                self.problem(loc_full, "closes_at", msg)
                ok = False

        related: list[str] = []
        if "related" in raw:
            value = raw["related"]
            if isinstance(value, str):
                self.problem(
                    loc_full,
                    "related",
                    f"related must be a list of keys, e.g. related = [{value!r}]",
                )
                ok = False
            elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.problem(
                    loc_full,
                    "related",
                    "related must be a list of item keys in quotes, e.g. "
                    'related = ["international-security"]',
                )
                ok = False
            else:
                related = value

        self.entries.append(_Entry(loc_full, key, related))

        subs: list[dict] = []
        if "items" in raw:
            value = raw["items"]
            if parent is not None:
                n = len(value) if isinstance(value, list) else 1
                self.problems.append(_too_deep_problem(loc_full, n, parent))
                ok = False
                if isinstance(value, list):
                    for deep in value:
                        if isinstance(deep, dict):
                            if isinstance(deep.get("key"), str):
                                self.deep_keys.add(deep["key"])
                            elif isinstance(deep.get("title"), str):
                                self.deep_keys.add(slugify(deep["title"]))
            elif not isinstance(value, list):
                self.problem(
                    loc_full,
                    "items",
                    f"sub-items must be [[items.items]] tables, not {_type_name(value)}",
                )
                ok = False
            else:
                lines = None
                if sub_lines_of is not None and sub_lines_of < len(self.sub_lines):
                    candidate = self.sub_lines[sub_lines_of]
                    if len(candidate) == len(value) and len(self.top_lines) > sub_lines_of:
                        lines = candidate
                for j, raw_sub in enumerate(value):
                    sub = self.item(raw_sub, j, loc, lines[j] if lines else None)
                    if sub is None:
                        ok = False
                    else:
                        subs.append(sub)

        if not ok:
            return None
        result: dict[str, Any] = {
            "title": title,
            "summation": summation,
            "body": body,
            "related": related,
            "items": subs,
        }
        if key:
            result["key"] = key
        if closes_at is not None:
            result["closes_at"] = closes_at
        return result

    def body(self, raw: dict, loc: str) -> str | None:
        has_body = "body" in raw
        has_file = "body_file" in raw
        if has_body and has_file:
            self.problem(loc, "body", "give either body or body_file, not both; remove one of them")
            return None
        if has_body:
            return self.text_field(raw, "body", loc, required=True)
        if not has_file:
            return ""
        rel = self.text_field(raw, "body_file", loc, required=True)
        if rel is None:
            return None
        if self.base_dir is None:
            self.problem(
                loc,
                "body_file",
                "body_file can only be used in an agenda loaded from a file on disk; "
                "paste the text into body = '''...''' instead",
            )
            return None
        base = self.base_dir.resolve()
        target = (base / rel).resolve()
        if Path(rel).is_absolute() or not target.is_relative_to(base):
            self.problem(
                loc,
                "body_file",
                f"body_file {rel!r} must be a path inside the agenda's folder ({base})",
            )
            return None
        if not target.is_file():
            self.problem(
                loc,
                "body_file",
                f"body_file {rel!r} was not found (looked for {target}); check the name — "
                "it is relative to the agenda file's folder",
            )
            return None
        try:
            return target.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.problem(
                loc,
                "body_file",
                f"body_file {rel!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8",
            )
        except OSError as exc:
            self.problem(loc, "body_file", f"body_file {rel!r} could not be read: {exc.strerror}")
        return None


_TOP_HEADER = re.compile(r"^\s*\[\[\s*items\s*\]\]\s*(#.*)?$")
_SUB_HEADER = re.compile(r"^\s*\[\[\s*items\s*\.\s*items\s*\]\]\s*(#.*)?$")


def _header_lines(text: str) -> tuple[list[int], list[list[int]]]:
    """Line numbers of ``[[items]]`` and ``[[items.items]]`` headers (best effort).

    Only used to add "(line N)" to locations; callers check the counts match the parsed data.
    """
    top: list[int] = []
    subs: list[list[int]] = []
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is None:
            if _TOP_HEADER.match(line):
                top.append(number)
                subs.append([])
            elif _SUB_HEADER.match(line) and subs:
                subs[-1].append(number)
        # Track multi-line strings so a header-looking line inside a body is not counted.
        for delim in re.findall(r"'''|\"\"\"", line):
            if in_string is None:
                in_string = delim
            elif in_string == delim:
                in_string = None
    return top, subs


def _duplicate_field_hint(text: str) -> tuple[int, str] | None:
    """Find the first field given twice in one table: (line, message)."""
    table = "top level"
    seen: dict[str, int] = {}
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is None:
            header = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
            if header:
                table = f"[{header.group(1)}]"
                seen = {}
            else:
                m = re.match(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=", line)
                if m:
                    name = m.group(1).strip('"')
                    if name in seen:
                        return number, (
                            f"{name!r} is given twice in {table} (first on line {seen[name]}); "
                            "remove one, or add an [[items]] header if a new item starts here"
                        )
                    seen[name] = number
        for delim in re.findall(r"'''|\"\"\"", line):
            if in_string is None:
                in_string = delim
            elif in_string == delim:
                in_string = None
    return None


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> AgendaProblem:
    message = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    location = f"line {m.group(1)}, column {m.group(2)}" if m else "file"
    detail = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", message)
    if detail.startswith("Cannot overwrite a value") or detail.startswith("Cannot declare"):
        hint = _duplicate_field_hint(text)
        if hint:
            line, what = hint
            return AgendaProblem(location=f"line {line}", field="", message=what)
        detail += " — a field or table is given twice"
    elif "Unclosed" in detail or "Illegal character" in detail:
        detail += " — check the quotes: use '''...''' for text spanning several lines"
    return AgendaProblem(
        location=location,
        field="",
        message=f"TOML syntax error: {detail} (fix this first; the rest of the file is "
        "checked once it parses)",
    )


_NESTED_TOO_DEEP = AgendaProblem(
    location="the file", field="",
    message="lists or tables are nested too deeply for an agenda; an agenda needs at most "
            "items › sub-items",
)


def load_agenda(source: str | bytes | Path, *, base_dir: str | Path | None = None) -> AgendaSpec:
    """Read and check an agenda; raise :class:`AgendaInvalid` listing every problem.

    ``source`` is a path (``Path``), the TOML text (``str``), or its bytes (e.g. a Discord
    attachment). ``body_file`` paths are resolved against ``base_dir`` (default: the agenda
    file's folder for a ``Path``); they must stay inside it. Text and bytes without
    ``base_dir`` cannot use ``body_file``.
    """
    if isinstance(source, Path):
        try:
            raw_bytes = source.read_bytes()
        except OSError as exc:
            raise AgendaInvalid(
                [
                    AgendaProblem(
                        location=str(source),
                        field="",
                        message=f"cannot read the agenda file: {exc.strerror}",
                    )
                ]
            ) from exc
        if base_dir is None:
            base_dir = source.parent
        source = raw_bytes
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = source[: exc.start].count(b"\n") + 1
            raise AgendaInvalid(
                [
                    AgendaProblem(
                        location=f"line {line}",
                        field="",
                        message="the file is not UTF-8 text; save it as UTF-8",
                    )
                ]
            ) from exc
    else:
        text = source
    text = text.removeprefix("\ufeff")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgendaInvalid([_syntax_problem(exc, text)]) from exc
    except RecursionError:  # a nesting bomb (a = [[[[…]]]]) exhausts the parser's stack
        raise AgendaInvalid([_NESTED_TOO_DEEP]) from None

    loader = _Loader(text, Path(base_dir) if base_dir is not None else None)
    try:
        spec = loader.run(data)
    except RecursionError:
        raise AgendaInvalid([_NESTED_TOO_DEEP]) from None
    if spec is None:
        raise AgendaInvalid(loader.problems)
    return spec


# --------------------------------------------------------------------------- names


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
    return _clip(name, THREAD_NAME_MAX) if name else "Untitled"


# --------------------------------------------------------------------------- rendering


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


def discord_len(text: str) -> int:
    """Length as Discord's limits count it, conservatively: UTF-16 code units.

    Characters outside the Basic Multilingual Plane (most emoji) count as 2.
    """
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _prefix_fitting(text: str, cap: int) -> int:
    """The largest n with discord_len(text[:n]) <= cap."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > cap:
            return i
    return len(text)


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
    cut = _best_cut(text, _prefix_fitting(text, cap))
    return text[:cut], text[cut:]


_MIN_FILL = 500  # below this much room left in a message, start the next message


def _footer(edited_at: datetime | None, status_line: str | None) -> str | None:
    bits = []
    if status_line and status_line.strip():
        bits.append(" ".join(status_line.split()))
    if edited_at is not None:
        when = edited_at if edited_at.tzinfo else edited_at.replace(tzinfo=UTC)
        bits.append(f"edited {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    return _clip(" · ".join(bits), EMBED_FOOTER_MAX) if bits else None


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
    head_title = _clip(" ".join(title.split()), EMBED_TITLE_MAX) or None
    summation = summation.strip()
    if discord_len(summation) > EMBED_DESCRIPTION_MAX - 96:
        raise ValueError(
            f"summation is {len(summation)} characters; an article's summation must fit one "
            f"embed (the agenda limit is {SUMMATION_MAX})"
        )
    footer = _footer(edited_at, status_line)
    if footer is not None:
        room = MESSAGE_EMBED_CHARS_MAX - discord_len(head_title or "") - discord_len(summation)
        footer = _clip(footer, min(EMBED_FOOTER_MAX, room))
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


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "etc",
        "cf",
        "vs",
        "viz",
        "al",
        "approx",
        "fig",
        "no",
        "nos",
        "vol",
        "pp",
        "p",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "rev",
        "gen",
        "gov",
        "sen",
        "rep",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "e.u",
        "u.n",
    }
)

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

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")


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


def _split_block(block: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(block):
        end = m.end()
        if end >= len(block):
            break
        nxt = block[end]
        if nxt.islower():
            continue  # "… e.g. the", "… approx. ten": not a new sentence
        punct = block[m.start()]
        if punct == ".":
            word = re.search(r"(\S+)$", block[start : m.start()])
            token = word.group(1).lstrip("(\"'“‘[").lower() if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue  # "Dr. Smith", "J. Smith", "U.K. Government"
        out.append(block[start:end].strip())
        start = end
    out.append(block[start:].strip())
    return [s for s in out if s]


def sentences(text: str) -> list[str]:
    """Split article text (Markdown) into plain sentences, in order.

    Markdown markers (emphasis, links, headings, list and quote markers, code fences) are
    removed and whitespace is collapsed to single spaces; headings and list items are
    sentences of their own. Common abbreviations ("e.g.", "Dr.", initials) do not end a
    sentence, nor does a full stop followed by a lowercase word.
    """
    result: list[str] = []
    for block in _blocks(text):
        plain = _strip_inline(block)
        if plain:
            result.extend(_split_block(plain))
    return result
