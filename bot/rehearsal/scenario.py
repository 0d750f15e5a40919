"""Scenario files: who does what in a rehearsal (see data/scenarios/london-2011.toml).

A scenario is a TOML file with four parts:

``[scenario]``
    ``title``, ``description``, ``seed`` (makes the generated conversation deterministic),
    ``publish_in`` (the channel where the organiser runs ``/agenda publish``), and optional
    ``organisers`` / ``moderators``: participants who get those roles. The rehearsal server
    always has ``alice`` (organiser), ``mo`` (moderator), ``pat`` and ``sam``.
``[participants]``
    ``username = "Display Name"`` for everyone else who takes part.
``[[discussions]]``
    The bulk of the conversation: an ``item`` (agenda key), a ``name``, a list of
    ``comments`` and how many 👍 / 👎 each comment gets (``agree = [min, max]``,
    ``disagree = [min, max]``). Authors and reactors are drawn from the participants with
    the scenario's seed; ``reply_share`` of the comments reply to the discussion's first
    comment. Comment *n* of discussion *name* can be referred to as ``"name#n"``.
``[[steps]]``
    Scripted moments, played after the discussions, in order. Each has ``do`` = one of
    ``say``, ``quote``, ``cite``, ``react``, ``edit``, ``delete``, ``thread``, ``lock``,
    ``unlock``, ``hide``, ``command`` (see the step classes below for their fields). ``in``
    names where it happens: an agenda item's key (its channel, or its thread for a
    sub-item), the ``label`` of a thread an earlier ``thread`` step started, or another
    channel written ``"#name"`` (created if missing; it is not part of the consultation).
    ``label`` names a message for later steps (``reply_to``, ``to``). ``expect`` is text the
    bot's answer must contain; ``refused = true`` says that Discord or the bot should refuse.
``[finale]``
    ``summaries``, ``map`` and ``export`` (all true by default): after the steps, a
    participant asks for ``/summary`` in every item, someone asks for ``/map``, and an
    organiser runs ``/export``.

:func:`load_scenario` reports every problem at once, each with its line and what to fix.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.agenda import AgendaSpec

#: people the rehearsal server always has (see bot.emulator.seed.seed_consultation)
SEED_USERS = {"alice": "organiser", "mo": "moderator", "pat": "participant", "sam": "participant"}

USERNAME = r"^[a-z0-9_.]{2,32}$"
NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
AGREE_EMOJI, DISAGREE_EMOJI = "👍", "👎"


class ScenarioInvalid(ValueError):
    """The scenario file has problems; ``problems`` lists every one, each with its place."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__(self.format())

    def format(self) -> str:
        n = len(self.problems)
        head = f"{self.path}: the scenario has {n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# --------------------------------------------------------------------------- steps


class _Step(_Model):
    #: text the bot's answer must contain for the step to count as done
    expect: str | None = None
    #: Discord or the bot is expected to refuse this (e.g. posting in a locked thread)
    refused: bool = False


class Say(_Step):
    """Post a message (``text``) in ``in``, optionally as a reply to a labelled message."""

    do: Literal["say"]
    user: str
    where: str = Field(alias="in")
    text: str = Field(min_length=1, max_length=2000)
    reply_to: str | None = None
    label: str | None = None


class Quote(_Step):
    """``/quote``: type ``passage`` into the passage box, pick the first suggestion, comment."""

    do: Literal["quote"]
    user: str
    where: str = Field(alias="in")
    passage: str = Field(min_length=1, max_length=100)
    comment: str = Field(min_length=1, max_length=1500)
    label: str | None = None


class Cite(_Step):
    """``/cite url [note]``."""

    do: Literal["cite"]
    user: str
    where: str = Field(alias="in")
    url: str = Field(min_length=1, max_length=2100)
    note: str | None = Field(default=None, max_length=1000)
    label: str | None = None


class React(_Step):
    """Each of ``users`` adds ``emoji`` to the message labelled ``to``."""

    do: Literal["react"]
    users: list[str] = Field(min_length=1)
    to: str
    emoji: str = Field(min_length=1, max_length=32)


class Edit(_Step):
    """The author (or ``user``) changes the text of the message labelled ``to``."""

    do: Literal["edit"]
    to: str
    text: str = Field(min_length=1, max_length=2000)
    user: str | None = None


class Delete(_Step):
    """The author (or ``user``) deletes the message labelled ``to``."""

    do: Literal["delete"]
    to: str
    user: str | None = None


class Thread(_Step):
    """Start a thread called ``name`` in ``in``, with a first message ``text``; ``label``
    names the thread (as a place for ``in``) and its first message."""

    do: Literal["thread"]
    user: str
    where: str = Field(alias="in")
    name: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=2000)
    label: str


class Lock(_Step):
    """``/lock [reason]`` in ``in``: a thread locks that thread, an item channel the item."""

    do: Literal["lock"]
    user: str
    where: str = Field(alias="in")
    reason: str | None = Field(default=None, max_length=300)


class Unlock(_Step):
    """``/unlock`` in ``in``."""

    do: Literal["unlock"]
    user: str
    where: str = Field(alias="in")


class Hide(_Step):
    """The "Hide from consultation" menu on the message labelled ``to``, with a reason."""

    do: Literal["hide"]
    user: str
    to: str
    reason: str = Field(min_length=1, max_length=300)


class Command(_Step):
    """Any slash command, e.g. ``command = "citations"`` or ``"agenda list"``, with
    ``options`` as typed (autocompleted options take what you would type)."""

    do: Literal["command"]
    user: str
    where: str = Field(alias="in")
    command: str = Field(min_length=1)
    options: dict[str, str | int | float | bool] = {}


class Outcome(_Step):
    """``/outcome set``: an organiser records what will happen about ``in``, responding to
    what they type into the ``responds_to`` boxes (the first suggestion is picked), with
    ``text`` in the form."""

    do: Literal["outcome"]
    user: str
    where: str = Field(alias="in")
    status: Literal["under_consideration", "accepted", "partly_accepted", "not_taken_forward",
                    "done"]
    text: str = Field(min_length=1, max_length=1800)
    responds_to: list[str] = Field(default_factory=list, max_length=3)


Step = Annotated[
    Say | Quote | Cite | React | Edit | Delete | Thread | Lock | Unlock | Hide | Command | Outcome,
    Field(discriminator="do"),
]
STEP_KINDS = ("say", "quote", "cite", "react", "edit", "delete", "thread", "lock", "unlock",
              "hide", "command", "outcome")


# --------------------------------------------------------------------------- the file


class Discussion(_Model):
    """Comments on one item; authors, replies and reactions come from the scenario's seed."""

    name: str = Field(pattern=NAME)
    item: str
    comments: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(min_length=1)
    agree: tuple[int, int] = (0, 0)
    disagree: tuple[int, int] = (0, 0)
    reply_share: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("agree", "disagree")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 0 <= low <= high <= 20:
            raise ValueError("must be [min, max] with 0 <= min <= max <= 20")
        return value


class ScenarioInfo(_Model):
    title: str = Field(min_length=1)
    description: str = ""
    seed: int = 0
    publish_in: str = Field(default="general", pattern=r"^[a-z0-9_-]{1,100}$")
    organisers: list[str] = []
    moderators: list[str] = []


class Finale(_Model):
    summaries: bool = True
    map: bool = True
    export: bool = True


class Scenario(_Model):
    scenario: ScenarioInfo
    participants: dict[Annotated[str, Field(pattern=USERNAME)], str] = {}
    discussions: list[Discussion] = []
    steps: list[Step] = []
    finale: Finale = Finale()

    @model_validator(mode="after")
    def _no_seed_user_redefined(self) -> Scenario:
        taken = sorted(set(self.participants) & set(SEED_USERS))
        if taken:
            raise ValueError(f"participants {taken} are already part of every rehearsal")
        return self

    @property
    def users(self) -> list[str]:
        """Every username in the rehearsal server: the standard four, then the participants."""
        return [*SEED_USERS, *self.participants]

    @property
    def speakers(self) -> list[str]:
        """Who writes the generated discussions: participants, pat and sam."""
        return [*self.participants, "pat", "sam"]

    def role_of(self, user: str) -> str:
        if user in self.scenario.organisers:
            return "organiser"
        if user in self.scenario.moderators:
            return "moderator"
        return SEED_USERS.get(user, "participant")

    def timeline(self) -> list[Say | Quote | Cite | React | Edit | Delete | Thread | Lock
                                 | Unlock | Hide | Command]:
        """Everything that happens, in order: the discussions (interleaved, comment by
        comment, each followed by its reactions), then the scripted steps."""
        return [*self.conversation(), *self.steps]

    def conversation(self) -> list[Say | React]:
        rng = random.Random(self.scenario.seed)
        speakers = self.speakers
        out: list[Say | React] = []
        last_author: dict[str, str] = {}
        longest = max((len(d.comments) for d in self.discussions), default=0)
        for n in range(longest):
            for d in self.discussions:
                if n >= len(d.comments):
                    continue
                author = rng.choice([s for s in speakers if s != last_author.get(d.name)])
                last_author[d.name] = author
                label = f"{d.name}#{n + 1}"
                reply = f"{d.name}#1" if n > 0 and rng.random() < d.reply_share else None
                out.append(Say(do="say", user=author, where=d.item, text=d.comments[n],
                               reply_to=reply, label=label))
                agree, disagree = rng.randint(*d.agree), rng.randint(*d.disagree)
                others = [s for s in speakers if s != author]
                reactors = rng.sample(others, min(len(others), agree + disagree))
                if reactors[:agree]:
                    out.append(React(do="react", users=reactors[:agree], to=label,
                                     emoji=AGREE_EMOJI))
                if reactors[agree:]:
                    out.append(React(do="react", users=reactors[agree:], to=label,
                                     emoji=DISAGREE_EMOJI))
        return out


# --------------------------------------------------------------------------- loading


def load_scenario(path: Path | str, agenda: AgendaSpec) -> Scenario:
    """Read and check a scenario against the agenda it is played on.

    Raises ``FileNotFoundError`` or :class:`ScenarioInvalid` (every problem, with its line).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = _LineFinder(text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioInvalid(path, [f"not valid TOML: {exc}"]) from None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioInvalid(path, [_describe(e, raw, lines) for e in exc.errors()]) from None
    problems = list(_check_references(scenario, agenda, lines))
    if problems:
        raise ScenarioInvalid(path, problems)
    return scenario


class _LineFinder:
    """Line numbers of ``[[steps]]`` / ``[[discussions]]`` headers, for error messages."""

    def __init__(self, text: str) -> None:
        self.headers: dict[str, list[int]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            m = re.match(r"\s*\[\[\s*([A-Za-z_]+)\s*\]\]", line)
            if m:
                self.headers.setdefault(m.group(1), []).append(number)

    def where(self, table: str, index: int) -> str:
        numbers = self.headers.get(table, [])
        line = f"line {numbers[index]}, " if index < len(numbers) else ""
        return f"{line}[[{table}]] #{index + 1}"


def _describe(error: dict[str, Any], raw: dict[str, Any], lines: _LineFinder) -> str:
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] in ("steps", "discussions") and isinstance(loc[1], int):
        where = lines.where(loc[0], loc[1])
        entry = (raw.get(loc[0]) or [None] * (loc[1] + 1))[loc[1]]
        do = entry.get("do") if isinstance(entry, dict) else None
        if loc[0] == "steps" and do in STEP_KINDS:
            where += f" (do = \"{do}\")"
            loc = loc[3:]  # the discriminator's tag is in the location too
        else:
            loc = loc[2:]
    elif loc:
        where = f"[{loc[0]}]" if loc[0] in ("scenario", "finale", "participants") else str(loc[0])
        loc = loc[1:]
    field = ".".join(str(p) for p in loc)
    kind = error["type"]
    if kind == "missing":
        what = f"`{field}` is missing"
    elif kind == "extra_forbidden":
        what = f"`{field}` is not a known field (check its spelling)"
    elif kind == "union_tag_invalid":
        what = f"`do` must be one of {', '.join(STEP_KINDS)} (got {error['input'].get('do')!r})"
    elif kind == "union_tag_not_found":
        what = f"each step needs `do` = one of {', '.join(STEP_KINDS)}"
    else:
        message = error["msg"].removeprefix("Value error, ")
        what = f"`{field}`: {message}" if field else message
    return f"{where}: {what}" if where else what


def _check_references(scenario: Scenario, agenda: AgendaSpec, lines: _LineFinder) -> Iterable[str]:
    """Items, people, places and labels must exist when a step uses them."""
    keys = {item.key for _path, item, _parent in agenda.walk()}
    users = set(scenario.users)
    key_list = ", ".join(sorted(keys))

    for role in ("organisers", "moderators"):
        for name in getattr(scenario.scenario, role):
            if name not in users:
                yield f"[scenario] {role}: {name!r} is not a participant (add it to [participants])"
    for i, d in enumerate(scenario.discussions):
        if d.item not in keys:
            yield (f"{lines.where('discussions', i)}: item {d.item!r} is not in the agenda "
                   f"(its keys: {key_list})")
    names = [d.name for d in scenario.discussions]
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield f"[[discussions]]: the name {name!r} is used more than once"
    if len(scenario.speakers) < 3:
        yield "[participants]: list at least one participant besides pat and sam"

    # Labels a discussion defines, then the steps in order.
    messages: dict[str, str] = {}  # label -> "say" | "quote" | "cite" | "thread"
    for d in scenario.discussions:
        for n in range(len(d.comments)):
            messages[f"{d.name}#{n + 1}"] = "say"
    threads: set[str] = set()
    for i, step in enumerate(scenario.steps):
        at = f"{lines.where('steps', i)} (do = \"{step.do}\")"
        people = step.users if isinstance(step, React) else [getattr(step, "user", None)]
        for person in people:
            if person is not None and person not in users:
                yield (f"{at}: unknown user {person!r} (known: {', '.join(scenario.users)}; "
                       "add new people to [participants])")
        where = getattr(step, "where", None)
        if where is not None and where not in keys and where not in threads \
                and not re.fullmatch(r"#[a-z0-9_-]{1,100}", where):
            yield (f"{at}: `in` = {where!r} is neither an agenda item ({key_list}), "
                   "the label of an earlier thread step, nor a channel written as \"#name\"")
        for ref in (getattr(step, "reply_to", None), getattr(step, "to", None)):
            if ref is not None and ref not in messages:
                yield f"{at}: no earlier step or discussion comment is labelled {ref!r}"
        target = getattr(step, "to", None)
        if isinstance(step, Edit | Delete) and messages.get(target) not in (None, "say", "thread"):
            yield (f"{at}: {target!r} is a bot post (a {messages[target]}); only people's own "
                   "messages can be edited or deleted")
        label = getattr(step, "label", None)
        if label is not None:
            if label in messages or label in threads:
                yield f"{at}: the label {label!r} is already used"
            messages[label] = step.do
            if isinstance(step, Thread):
                threads.add(label)
