"""Agenda files: the format, loading and validation.

Pure core: no ``discord`` import. Discord names for items live in :mod:`bot.core.naming`, the
article's messages in :mod:`bot.core.article`.

Agenda file format (TOML, read with :mod:`tomllib`)::

    [consultation]
    title = "The London Agenda"          # 1..100 characters (it names the Discord category)
    description = "..."                  # optional, at most 4096 characters
    layout = "channels"                  # optional: "channels" (a text channel per item, the
                                         # default) or "forum" (one forum channel, a post per
                                         # item and sub-item, status shown as forum tags)

    [[items]]                            # one Discord text channel per item, in file order
    key = "tackling-cyber-crime"         # optional; default: slugify(title)
    title = "4. Tackling cyber crime"    # 1..100 characters, one line
    summation = "..."                    # required, 1..500 characters
    body = '''
    Markdown, any length.
    '''                                  # or: body_file = "bodies/item4.md" (relative to the file)
    closes_at = 2026-12-31T17:00:00Z     # optional, with a timezone (TOML datetime or ISO text)
    reminders = ["24h", "1h"]            # optional notices before closes_at ([] for none);
                                         # also under [consultation], for every item
    related = ["international-security"] # optional keys of other items anywhere in the agenda

      [[items.items]]                    # sub-items: one level only (each becomes a thread)
      title = "..."
      summation = "..."
      body = '''...'''

:func:`load_agenda` reports every problem at once in :class:`AgendaInvalid`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.input_checks import display_text_problem
from bot.core.naming import KEY_MAX, slugify
from bot.core.reminders import parse_lead
from bot.core.text import truncate

__all__ = [
    "TITLE_MAX",
    "SUMMATION_MAX",
    "DESCRIPTION_MAX",
    "KEY_MAX",
    "MAX_TOP_LEVEL_ITEMS",
    "AgendaProblem",
    "AgendaInvalid",
    "AgendaItemSpec",
    "AgendaSpec",
    "load_agenda",
]

# --------------------------------------------------------------------------- limits

TITLE_MAX = 100  # Discord channel/thread/category names and modal titles
SUMMATION_MAX = 500  # the seed page's "short (max 500 characters) summation"
DESCRIPTION_MAX = 4096
MAX_TOP_LEVEL_ITEMS = 50  # a Discord category holds at most 50 channels


_KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_ITEM_FIELDS = ("key", "title", "summation", "body", "body_file", "closes_at", "reminders",
                "related", "items")
_CONSULTATION_FIELDS = ("title", "description", "opens_at", "closes_at", "reminders", "layout")
#: how a consultation appears in Discord: a text channel per item, or one forum with a post per item
LAYOUTS = ("channels", "forum")
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


def _parse_when(value: Any, name: str = "closes_at") -> tuple[datetime | None, str | None]:
    """A date and time with a timezone, as UTC; else a message saying how to write it."""
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
                    f"{name} {value!r} is not a date and time; write it like {example} "
                    "(Z means UTC) or with an offset like 2026-12-31T17:00:00+01:00"
                )
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            iso = value.isoformat()
            return None, (
                f"{name} {iso} has no timezone; add Z for UTC ({iso}Z) "
                f"or an offset like {iso}+01:00"
            )
        return value.astimezone(UTC), None
    if isinstance(value, date):
        return None, (
            f"{name} {value.isoformat()} is a date without a time; give a time and a "
            f"timezone, e.g. {value.isoformat()}T17:00:00Z"
        )
    if isinstance(value, time):
        return None, f"{name} {value.isoformat()} is a time without a date; e.g. {example}"
    return None, f"{name} must be a date and time like {example}, not {_type_name(value)}"


def _parse_closes_at(value: Any) -> tuple[datetime | None, str | None]:
    return _parse_when(value, "closes_at")


def _short_title(title: str) -> str:
    return truncate(" ".join(title.split()), 40)


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
    reminders: list[int] | None = None  # seconds before closes_at; None: the consultation's
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
    reminders: list[int] | None = None  # seconds before each closes_at; None: 24 h and 1 h
    layout: str = "channels"  # "channels" or "forum" (LAYOUTS)
    opens_at: datetime | None = None  # the consultation's dates: a Discord scheduled event
    closes_at: datetime | None = None
    items: list[AgendaItemSpec]

    def reminder_leads(self, item: AgendaItemSpec, parent: AgendaItemSpec | None) -> list[int] | None:
        """The item's own lead times, else its parent's, else the consultation's (None: default)."""
        for source in (item, parent, self):
            if source is not None and source.reminders is not None:
                return source.reminders
        return None

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
        c_title = c_description = c_reminders = None
        c_layout = "channels"
        c_dates: dict[str, datetime | None] = {}
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
            c_reminders = self.reminders(consultation, loc)
            c_layout = self.layout(consultation, loc)
            for name in ("opens_at", "closes_at"):
                if name in consultation:
                    when, msg = _parse_when(consultation[name], name)
                    if msg:
                        self.problem(loc, name, msg)
                    c_dates[name] = when
            if c_dates.get("opens_at") and c_dates.get("closes_at") and (
                    c_dates["opens_at"] >= c_dates["closes_at"]):
                self.problem(loc, "closes_at", "the consultation must close after it opens: "
                             "make closes_at later than opens_at")
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
                {"title": c_title, "description": c_description or "", "items": items,
                 "reminders": c_reminders, "layout": c_layout, **c_dates}
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

        reminders = self.reminders(raw, loc_full)

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
        if reminders is not None:
            result["reminders"] = reminders
        return result

    def layout(self, raw: dict, loc: str) -> str:
        """``layout = "forum"`` or ``"channels"`` (the default)."""
        value = raw.get("layout", "channels")
        choices = " or ".join(f'layout = "{c}"' for c in LAYOUTS)
        if not isinstance(value, str):
            self.problem(loc, "layout", f"layout must be text in quotes, not {_type_name(value)}; "
                         f"write {choices}")
            return "channels"
        if value.strip().lower() not in LAYOUTS:
            close = difflib.get_close_matches(value.strip().lower(), LAYOUTS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self.problem(loc, "layout", f"unknown layout {value!r}: {hint}write {choices} "
                         "(a text channel per item, or one forum with a post per item)")
            return "channels"
        return value.strip().lower()

    def reminders(self, raw: dict, loc: str) -> list[int] | None:
        """``reminders = ["24h", "1h"]`` → lead times in seconds (``[]``: no reminders)."""
        if "reminders" not in raw:
            return None
        value = raw["reminders"]
        example = 'reminders = ["24h", "1h"] (or [] for none)'
        if not isinstance(value, list):
            self.problem(loc, "reminders", f"reminders must be a list, e.g. {example}")
            return None
        leads: list[int] = []
        for v in value:
            try:
                leads.append(parse_lead(v))
            except ValueError as exc:
                self.problem(loc, "reminders", f"{exc}; e.g. {example}")
                return None
        if len(set(leads)) > 5 or any(lead > 30 * 86400 for lead in leads):
            self.problem(loc, "reminders", "give at most 5 reminders, each at most 30 days before")
            return None
        return sorted(set(leads), reverse=True)

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
