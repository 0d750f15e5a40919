"""Plays a rehearsal: publish the agenda, play the scenario, ask for summaries, the map and
the export, and write everything to the output folder (the summaries and their charts in
``summaries/``, ``map.png``, ``report.md`` and ``report.html``, the data in ``data/``).

Every step is checked. A step fails when Discord refused it or the bot answered with an
error (or not at all) — unless the scenario says ``refused = true`` — or when the answer
lacks what the step is for (``expect``, or e.g. "Posted your quote" for ``/quote``), or
when the bot logged an error while handling it. At the end the runner also checks that
the bot recorded every message, edit, deletion, hidden comment and reaction.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.agenda import AgendaSpec, load_agenda
from bot.emulator import EmulatorForbidden, Message
from bot.rehearsal.scenario import (
    Cite,
    Command,
    Delete,
    Edit,
    Hide,
    Lock,
    Quote,
    React,
    Say,
    Scenario,
    Thread,
    Unlock,
    load_scenario,
)
from bot.rehearsal.scenario import (
    Outcome as OutcomeStep,
)
from bot.rehearsal.transcript import (
    Transcript,
    place_name,
    render_message,
    save_attachments,
)
from bot.rehearsal.world import Answer, World

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_AGENDA = ROOT / "data" / "agendas" / "london-2011.toml"
DEFAULT_SCENARIO = ROOT / "data" / "scenarios" / "london-2011.toml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PINNED_NOTICE = 6  # Discord's "… pinned a message" system message
MANY_POSTS = 3

#: what a successful answer contains, per kind of step (``expect`` adds to it)
SUCCESS = {"quote": "Posted your quote", "cite": "Cited", "lock": "Locked",
           "unlock": "Unlocked", "hide": "Hidden from summaries"}


@dataclass
class Options:
    agenda: Path = DEFAULT_AGENDA
    scenario: Path | None = DEFAULT_SCENARIO
    out: Path = Path("rehearsal")
    #: the bot's database; None → a temporary file, removed afterwards
    database: Path | None = None
    log_level: str = "INFO"
    #: lines of one embed part printed to the terminal (transcript.txt has everything)
    print_limit: int | None = 12


@dataclass
class Posted:
    """A message a step posted, as the scenario expects the bot to have recorded it."""

    label: str
    message_id: int
    author: str
    place: int
    text: str
    #: "message" (written by the person), or "quote" / "citation" (posted by the bot for them;
    #: ``text`` is then the comment or note, a part of what the bot records)
    kind: str = "message"
    deleted: bool = False
    hidden: bool = False
    reactions: Counter[str] = field(default_factory=Counter)


@dataclass
class Outcome:
    ok: bool
    failures: list[str]
    files: list[Path]
    posted: dict[str, Posted]
    seconds: float
    steps: int


class ScriptError(Exception):
    """A step could not be played as written (the message says why)."""


class Player:
    """Plays steps against a running :class:`World`, printing the transcript."""

    def __init__(self, world: World, transcript: Transcript, out: Path) -> None:
        self.world = world
        self.emu = world.emu
        self.transcript = transcript
        self.out = out
        self.posted: dict[str, Posted] = {}
        self.threads: dict[str, int] = {}
        self.failures: list[str] = []
        self.files: dict[str, Path] = {}
        self.steps = 0
        self.consultation_key: str | None = None

    # --- output ----------------------------------------------------------------------------

    def say(self, place: int, user: str, text: str) -> None:
        first, *rest = text.split("\n")
        self.transcript.write("\n".join([f"[{place_name(self.emu, place)}] {user}: {first}",
                                         *(f"    {line}" for line in rest)]))

    def show(self, messages: list[Message], arrow: str = "↳") -> None:
        saved = save_attachments(self.out, messages, self.consultation_key)
        self.files.update({str(p): p for p in saved.values()})
        for message in messages:
            full = render_message(self.emu, message, saved=saved, arrow=arrow)
            short = render_message(self.emu, message, saved=saved, arrow=arrow,
                                   limit=self.transcript.print_limit)
            self.transcript.write("\n".join(short), full=full)

    def show_answer(self, answer: Answer) -> None:
        for name, (typed, picked) in answer.picked.items():
            self.transcript.write(f"  ({name}: “{typed}” → picked “{picked}”)")
        self.show(answer.messages)
        posts = [p for p in answer.posts if p.type != PINNED_NOTICE]
        if len(posts) > MANY_POSTS:  # e.g. publishing: one line per place
            for place, n in Counter(p.channel_id for p in posts).items():
                first = next(p for p in posts if p.channel_id == place)
                title = next((e.get("title") for e in first.embeds if e.get("title")), "")
                self.transcript.write(f"  ↳ bot posted {n} message{'s' if n > 1 else ''} in "
                                      f"{place_name(self.emu, place)}: {title}".rstrip(": "))
            return
        for post in posts:
            self.transcript.write(f"  ↳ bot posted in {place_name(self.emu, post.channel_id)}:")
            self.show([post], arrow=" ")

    def fail(self, step: str, why: str) -> None:
        self.failures.append(f"{step}: {why}")
        self.transcript.write(f"  ✗ FAILED: {why}")

    # --- resolving names -------------------------------------------------------------------

    def place(self, where: str) -> int:
        if where.startswith("#"):
            return self.world.channel(where[1:])
        if where in self.threads:
            return self.threads[where]
        place = self.world.place_of(where)
        if place is None:
            raise ScriptError(f"the agenda item {where!r} has no channel (was it published?)")
        return place

    def message(self, label: str) -> Posted:
        if label not in self.posted:
            raise ScriptError(f"no message labelled {label!r} was posted (did its step fail?)")
        return self.posted[label]

    # --- playing ---------------------------------------------------------------------------

    async def play(self, step, number: int) -> None:  # type: ignore[no-untyped-def]
        """Play one step; failures are recorded, never raised."""
        self.steps += 1
        name = f"step {number} ({step.do}{' ' + step.label if getattr(step, 'label', None) else ''})"
        errors_before = len(self.world.errors.records)
        try:
            ok_text = await getattr(self, f"_{step.do}")(step)
        except ScriptError as exc:
            self.fail(name, str(exc))
            return
        if isinstance(ok_text, Answer):
            self.judge(name, step, ok_text)
        elif isinstance(ok_text, str):  # Discord refused a plain action
            if not step.refused:
                self.fail(name, ok_text)
            else:
                self.transcript.write(f"  ✓ refused, as expected: {ok_text}")
        elif step.refused:
            self.fail(name, "the scenario expected a refusal, but it went through")
        await asyncio.sleep(0)
        for record in self.world.errors.records[errors_before:]:
            self.fail(name, f"the bot logged an error: {record.getMessage()}")

    def judge(self, name: str, step, answer: Answer) -> None:  # type: ignore[no-untyped-def]
        self.show_answer(answer)
        problem = answer.error_text
        if step.refused:
            if problem is None:
                self.fail(name, "the scenario expected a refusal, but the bot accepted it")
            elif step.expect and step.expect not in (answer.text() + (problem or "")):
                self.fail(name, f"refused, but not with “{step.expect}”: {problem}")
            else:
                self.transcript.write("  ✓ refused, as expected")
            return
        if problem is not None:
            self.fail(name, problem)
            return
        for wanted in (SUCCESS.get(step.do), step.expect):
            if wanted and wanted not in answer.text():
                self.fail(name, f"the answer does not say “{wanted}”")
                return

    async def _say(self, step: Say) -> str | None:
        place = self.place(step.where)
        self.say(place, step.user, step.text if not step.reply_to else
                 f"(replying to {self.message(step.reply_to).author}) {step.text}")
        reply_to = self.message(step.reply_to).message_id if step.reply_to else None
        try:
            sent = await self.emu.send_message(self.world.user_id(step.user), place, step.text,
                                               reply_to=reply_to)
        except EmulatorForbidden as exc:
            return str(exc)
        if not step.where.startswith("#"):  # other channels are not part of the consultation
            label = step.label or f"step {self.steps}"
            self.posted[label] = Posted(label, sent.id, step.user, place, step.text)
        return None

    async def _thread(self, step: Thread) -> str | None:
        parent = self.place(step.where)
        self.say(parent, step.user, f"(starts the thread “{step.name}”)")
        try:
            thread = await self.emu.create_thread(self.world.user_id(step.user), parent,
                                                  step.name)
        except EmulatorForbidden as exc:
            return str(exc)
        self.threads[step.label] = thread.id
        return await self._say(Say(do="say", user=step.user, where=step.label, text=step.text,
                                   label=step.label))

    async def _react(self, step: React) -> str | None:
        target = self.message(step.to)
        await self.seen(target)
        people = ", ".join(step.users)
        excerpt = " ".join(target.text.split())[:60]
        self.transcript.write(f"[{place_name(self.emu, target.place)}] {step.emoji} ×"
                              f"{len(step.users)} on {target.author}'s “{excerpt}…” ({people})")
        for user in step.users:
            try:
                await self.emu.add_reaction(self.world.user_id(user), target.message_id,
                                            step.emoji)
            except EmulatorForbidden as exc:
                return f"{user}: {exc}"
            target.reactions[step.emoji] += 1
        return None

    async def seen(self, target: Posted, timeout: float = 5.0) -> None:
        """Wait until the bot has recorded ``target``: people react to what they have seen,
        seconds after it was posted, not in the same millisecond."""
        repo = self.world.bot.repo  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await repo.discussion.comment(target.message_id) is None \
                and loop.time() < deadline:
            await asyncio.sleep(0.01)

    async def _edit(self, step: Edit) -> str | None:
        target = self.message(step.to)
        await self.seen(target)
        user = step.user or target.author
        self.say(target.place, user, f"(edits “{step.to}”) {step.text}")
        try:
            await self.emu.edit_message(self.world.user_id(user), target.message_id, step.text)
        except EmulatorForbidden as exc:
            return str(exc)
        target.text = step.text
        return None

    async def _delete(self, step: Delete) -> str | None:
        target = self.message(step.to)
        await self.seen(target)
        user = step.user or target.author
        self.say(target.place, user, f"(deletes “{step.to}”)")
        try:
            await self.emu.delete_message(self.world.user_id(user), target.message_id)
        except EmulatorForbidden as exc:
            return str(exc)
        target.deleted = True
        return None

    async def _command(self, step: Command) -> Answer:
        place = self.place(step.where)
        shown = " ".join(f"{k}:{v}" for k, v in step.options.items())
        self.say(place, step.user, f"/{step.command} {shown}".rstrip())
        return await self.world.slash(step.user, place, step.command, dict(step.options))

    async def _outcome(self, step: OutcomeStep) -> Answer:
        place = self.place(step.where)
        boxes = ("responds_to", "also_responds_to", "and_responds_to")
        options: dict[str, str] = {"status": step.status} | dict(zip(boxes, step.responds_to,
                                                                     strict=False))
        shown = " ".join(f"{k}:{v}" for k, v in options.items())
        self.say(place, step.user, f"/outcome set {shown}  ⟶ form: {step.text}")
        return await self.world.slash(step.user, place, "outcome set", options,
                                      modal_values={"": step.text})

    async def _quote(self, step: Quote) -> Answer:
        place = self.place(step.where)
        self.say(place, step.user, f"/quote passage:{step.passage} comment:{step.comment}")
        answer = await self.world.slash(step.user, place, "quote",
                                        {"passage": step.passage, "comment": step.comment})
        self._label_post(step.label, step.user, answer, step.comment, "quote")
        return answer

    async def _cite(self, step: Cite) -> Answer:
        place = self.place(step.where)
        options = {"url": step.url} | ({"note": step.note} if step.note else {})
        self.say(place, step.user, "/cite " + " ".join(f"{k}:{v}" for k, v in options.items()))
        answer = await self.world.slash(step.user, place, "cite", options)
        self._label_post(step.label, step.user, answer, step.note or step.url, "citation")
        return answer

    def _label_post(self, label: str | None, user: str, answer: Answer, text: str,
                    kind: str) -> None:
        """Remember the post the bot made for a /quote or /cite (unlabelled: "step N")."""
        if answer.posts:
            post = answer.posts[0]
            label = label or f"step {self.steps}"
            self.posted[label] = Posted(label, post.id, user, post.channel_id, text, kind)

    async def _lock(self, step: Lock) -> Answer:
        place = self.place(step.where)
        options = {"reason": step.reason} if step.reason else {}
        self.say(place, step.user, "/lock" + (f" reason:{step.reason}" if step.reason else ""))
        return await self.world.slash(step.user, place, "lock", options)

    async def _unlock(self, step: Unlock) -> Answer:
        place = self.place(step.where)
        self.say(place, step.user, "/unlock")
        return await self.world.slash(step.user, place, "unlock")

    async def _hide(self, step: Hide) -> Answer:
        target = self.message(step.to)
        await self.seen(target)
        self.say(target.place, step.user,
                 f"(right-click on {target.author}'s message → Apps → Hide from consultation; "
                 f"reason: {step.reason})")
        message = self.emu.get_message(target.message_id)
        answer = await self.world.context_menu(step.user, message, "Hide from consultation",
                                               {"": step.reason})
        if answer.error_text is None:
            target.hidden = True
        return answer

    # --- the end: checks, summaries, map, export -------------------------------------------

    async def check_recorded(self, timeout: float = 15.0) -> None:
        """Everything posted, edited, deleted, hidden and reacted is in the bot's database."""
        self.transcript.write("\n— Checking that the bot recorded everything —")
        repo = self.world.bot.repo  # type: ignore[union-attr]
        agree = self.world.bot.settings.agree_emojis  # type: ignore[union-attr]
        disagree = self.world.bot.settings.disagree_emojis  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            problems: list[str] = []
            counts: dict[int, dict[int, tuple[int, int]]] = {}
            for p in self.posted.values():
                c = await repo.discussion.comment(p.message_id)
                if c is None:
                    if not p.deleted:
                        problems.append(f"{p.label}: not recorded")
                    continue
                if p.deleted:
                    if c.content is not None:
                        problems.append(f"{p.label}: deleted, but its text is still stored")
                    continue
                if p.kind == "message" and c.content != p.text:
                    problems.append(f"{p.label}: stored text differs (edit not recorded?)")
                if p.hidden and not c.hidden:
                    problems.append(f"{p.label}: hidden, but not marked hidden")
                if p.reactions:
                    if c.item_id not in counts:
                        counts[c.item_id] = await repo.discussion.reaction_counts(
                            c.item_id, agree, disagree)
                    want = (sum(n for e, n in p.reactions.items() if e in agree),
                            sum(n for e, n in p.reactions.items() if e in disagree))
                    got = counts[c.item_id].get(c.id, (0, 0))
                    if got != want:
                        problems.append(f"{p.label}: reactions {got} recorded, {want} given")
            if not problems or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        self.steps += 1
        if problems:
            for problem in problems:
                self.fail("recording check", problem)
        else:
            alive = sum(1 for p in self.posted.values() if not p.deleted)
            self.transcript.write(f"  ✓ {len(self.posted)} labelled messages checked "
                                  f"({alive} kept, {len(self.posted) - alive} deleted)")

    async def finale(self, scenario: Scenario | None, agenda: AgendaSpec, where: int) -> None:
        finale = scenario.finale if scenario else None
        # /summary allows 2 per person per 30 s: different people ask, as in a real server
        speakers = [*scenario.speakers, "alice", "mo"] if scenario else ["pat", "sam", "alice",
                                                                          "mo"]
        if finale is None or finale.summaries:
            self.transcript.write("\n— Summaries of every agenda item —")
            for n, (_path, item, _parent) in enumerate(agenda.walk()):
                step = Command(do="command", user=speakers[n % len(speakers)], where=item.key,
                               command="summary", expect="Summary")
                answer = await self._command(step)
                self.steps += 1
                self.judge(f"summary of {item.key}", step, answer)
        if finale is None or finale.map:
            self.transcript.write("\n— The map of the consultation —")
            user = speakers[-1]
            step = Command(do="command", user=user, where="#general", command="map")
            self.say(where, user, "/map")
            answer = await self.world.slash(user, where, "map")
            self.steps += 1
            self.judge("map", step, answer)
            png = answer.files().get("map.png", b"")
            if answer.error_text is None and not png.startswith(PNG_SIGNATURE):
                self.fail("map", "no PNG picture (map.png) in the answer")
        if finale is None or finale.export:
            self.transcript.write("\n— The organiser exports the report and data —")
            self.say(where, "alice", "/export")
            answer = await self.world.slash("alice", where, "export")
            self.steps += 1
            self.judge("export", Command(do="command", user="alice", where="#general",
                                         command="export"), answer)
            for report in ("report.md", "report.html"):
                if answer.error_text is None and not any(n.endswith(report)
                                                         for n in answer.files()):
                    self.fail("export", f"no report (…{report}) among the exported files")


async def rehearse(options: Options, transcript: Transcript | None = None) -> Outcome:
    """The whole rehearsal. Raises ScenarioInvalid / AgendaInvalid / FileNotFoundError for
    bad input files (before anything starts); step failures are in the outcome."""
    started = time.monotonic()
    transcript = transcript or Transcript(print_limit=options.print_limit)
    agenda, scenario = load_inputs(options)
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as tmp:
        stage = Stage(options, agenda, scenario, transcript, options.database
                      or Path(tmp) / "consultation.db")
        async with stage.world:
            player = await stage.setup(started)
            if not any(f.startswith("publish") for f in player.failures):
                await player.finale(scenario, agenda, stage.general)
            files = [*player.files.values(), *stage.save_records(player)]
    seconds = time.monotonic() - started
    finish(transcript, player, files, seconds)
    transcript.save(options.out / "transcript.txt")
    return Outcome(not player.failures, player.failures, files, player.posted, seconds,
                   player.steps)


def load_inputs(options: Options) -> tuple[AgendaSpec, Scenario | None]:
    """The agenda and scenario, checked (AgendaInvalid / ScenarioInvalid on problems)."""
    agenda = load_agenda(options.agenda)
    scenario = load_scenario(options.scenario, agenda) if options.scenario else None
    return agenda, scenario


class Stage:
    """The server with the scenario's people, the bot, the published agenda and the played
    scenario: what both the scripted and the interactive rehearsal start from."""

    def __init__(self, options: Options, agenda: AgendaSpec, scenario: Scenario | None,
                 transcript: Transcript, database: Path) -> None:
        self.options, self.agenda, self.scenario = options, agenda, scenario
        self.transcript = transcript
        self.database = database
        options.out.mkdir(parents=True, exist_ok=True)
        self.world = World(database=database, agenda_file=options.agenda,
                           log_file=options.out / "bot.log", log_level=options.log_level)
        for username, display in (scenario.participants.items() if scenario else []):
            self.world.add_person(username, display, scenario.role_of(username))
        self.general = self.world.channel(scenario.scenario.publish_in if scenario
                                          else "general")

    async def setup(self, started: float, progress=None) -> Player:  # type: ignore[no-untyped-def]
        """With the world started: publish, play the scenario, check what was recorded.
        ``progress(done, total)`` is called while the scenario plays."""
        transcript, scenario = self.transcript, self.scenario
        title = scenario.scenario.title if scenario else "no scenario"
        transcript.write(f"Rehearsal: “{self.agenda.title}” — {title}")
        transcript.write(f"Bot database: {self.database}"
                         + ("" if self.options.database else " (temporary)"))
        player = Player(self.world, transcript, self.options.out)
        transcript.write(f"{len(self.world.members)} people in the server; the bot is "
                         f"connected ({time.monotonic() - started:.1f} s).\n")
        await publish(player, self.general)
        if scenario is not None and not player.failures:
            timeline = scenario.timeline()
            for number, step in enumerate(timeline, start=1):
                await player.play(step, number)
                if progress is not None:
                    progress(number, len(timeline))
            await player.check_recorded()
        return player

    def save_records(self, player: Player) -> list[Path]:
        """transcript.txt, posted.json (what the scenario posted) and bot.log."""
        out = self.options.out
        (out / "posted.json").write_text(json.dumps(
            {label: {"message_id": str(p.message_id), "author": p.author, "kind": p.kind,
                     "text": p.text, "deleted": p.deleted, "hidden": p.hidden}
             for label, p in player.posted.items()}, indent=2, ensure_ascii=False),
            encoding="utf-8")
        return [self.transcript.save(out / "transcript.txt"), out / "posted.json",
                out / "bot.log"]


async def publish(player: Player, general: int) -> None:
    world = player.world
    player.transcript.write("— The organiser publishes the agenda —")
    player.say(general, "alice", "/agenda publish")
    answer = await world.slash("alice", general, "agenda publish")
    player.steps += 1
    player.judge("publish", Command(do="command", user="alice", where="#general",
                                    command="agenda publish", expect="Published"), answer)
    items = await world.refresh_items()
    consultations = await world.bot.repo.agenda.consultations(world.guild.id)  # type: ignore[union-attr]
    if consultations:
        player.consultation_key = consultations[-1].key
    missing = [key for key, item in items.items() if not item.discord_id]
    if missing:
        player.fail("publish", f"items without a channel or thread: {', '.join(missing)}")
    for key, item in items.items():
        if item.parent_id is None:
            player.transcript.write(f"  {place_name(world.emu, item.discord_id)}  ← {key}")


def finish(transcript: Transcript, player: Player, files: list[Path], seconds: float) -> None:
    transcript.write("\n— Files —")
    for path in sorted(set(files), key=str):
        transcript.write(f"  {path}")
    failed = len(player.failures)
    transcript.write(f"\n{player.steps} steps in {seconds:.1f} s: "
                     + ("all went as expected." if not failed else f"{failed} FAILED:"))
    for failure in player.failures:
        transcript.write(f"  ✗ {failure}")


def database_from_environment() -> Path | None:
    """DATABASE_PATH, if it is set in the environment for this command (not from .env)."""
    value = os.environ.get("DATABASE_PATH", "").strip()
    return Path(value) if value else None
