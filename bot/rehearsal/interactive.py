"""`python -m bot rehearse --interactive`: act in the rehearsal server from the terminal.

The setup is the scripted rehearsal's (publish the agenda, then play the scenario unless
``--no-scenario``), without the finale. Then you type:

* plain text — a message in the current channel, as the current user;
* ``/command option:value …`` — any slash command (quote values with spaces:
  ``note:"a long note"``); autocompleted options take what you would type
  (``topic:cyber``, ``passage:24/7``) and the first suggestion is picked, as in Discord;
* ``:user NAME``, ``:channel NAME`` (a channel, thread or agenda item key), ``:channels``,
  ``:users``, ``:history``, ``:reply N text``, ``:react N 👍``, ``:edit N text``,
  ``:delete N``, ``:hide N reason``, ``:unhide N``, ``:press LABEL``, ``:help``, ``:quit``.

TAB completes command names, option names, topic keys, user and channel names.
The emulator and the bot run on an event loop in a background thread; the prompt runs in
the main thread (so readline and Ctrl-C work as usual).
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.emulator import EmulatorError, EmulatorForbidden, Message
from bot.rehearsal.runner import Options, Player, Stage, load_inputs
from bot.rehearsal.transcript import (
    Transcript,
    place_name,
    plain,
    render_message,
    save_attachments,
)
from bot.rehearsal.world import Answer, World

T = TypeVar("T")

META = {
    ":user": "NAME — act as someone else (TAB lists people)",
    ":channel": "NAME — go to a channel, thread or agenda item (e.g. tackling-cyber-crime)",
    ":channels": "— the server's channels and threads",
    ":users": "— the people in the server and their role",
    ":history": "[N] — the last N messages here (default 10), numbered for the commands below",
    ":reply": "N TEXT — reply to message N",
    ":react": "N EMOJI — react to message N (👍 agrees, 👎 disagrees in summaries)",
    ":edit": "N TEXT — edit your message N",
    ":delete": "N — delete your message N",
    ":hide": "N REASON — moderators: hide message N from the consultation",
    ":unhide": "N — moderators: make message N visible again",
    ":press": "LABEL — press a button of the bot's last message with buttons",
    ":help": "— this help",
    ":quit": "— stop the bot and the emulator (also Ctrl-D)",
}
TRUE = {"true", "yes", "y", "1", "on"}
FALSE = {"false", "no", "n", "0", "off"}


class Session:
    """The stage running on an event loop in a background thread."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.world: World = stage.world
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rehearsal-loop",
                                       daemon=True)
        self.player: Player | None = None

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the session's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def start(self, progress: Callable[[int, int], None]) -> Player:
        self.thread.start()
        started = time.monotonic()

        async def up() -> Player:
            await self.world.start()
            return await self.stage.setup(started, progress)

        self.player = self.call(up())
        return self.player

    def stop(self) -> None:
        if self.thread.is_alive():
            self.call(self.world.stop())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


@dataclass
class Names:
    """What TAB completes: a snapshot taken after every command."""

    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)


def completions(line: str, names: Names) -> list[str]:
    """Candidates for the last word of ``line`` (what TAB offers)."""
    words = line.split(" ")
    word = words[-1]
    before = [w for w in words[:-1] if w]
    if not before:
        if word.startswith(":"):
            return [m + " " for m in META if m.startswith(word)]
        if word.startswith("/"):
            tops = sorted({path.split()[0] for path in names.commands})
            return ["/" + t + " " for t in tops if ("/" + t).startswith(word)]
        return []
    head = before[0]
    if head in (":user",) and len(before) == 1:
        return [u + " " for u in names.users if u.startswith(word)]
    if head in (":channel",) and len(before) == 1:
        return [c + " " for c in names.channels if c.startswith(word)]
    if not head.startswith("/"):
        return []
    path = " ".join([head[1:], *before[1:]])
    subs = sorted({p.split()[len(before)] for p in names.commands
                   if p.startswith(path + " ") and len(p.split()) > len(before)
                   and all(":" not in w for w in before[1:])})
    if subs and ":" not in word:
        return [s + " " for s in subs if s.startswith(word)]
    command = next((p for p in sorted(names.commands, key=len, reverse=True)
                    if path == p or path.startswith(p + " ")), None)
    if command is None:
        return []
    options = {o["name"]: o for o in names.commands[command]}
    if ":" not in word:
        used = {w.split(":", 1)[0] for w in before if ":" in w}
        return [n + ":" for n in options if n.startswith(word) and n not in used]
    name, typed = word.split(":", 1)
    option = options.get(name)
    if option is None:
        return []
    if option.get("choices"):
        values = [str(c["value"]) for c in option["choices"]]
    elif option["type"] == 5:
        values = ["true", "false"]
    elif option["type"] == 6:
        values = names.users
    elif option["type"] == 7:
        values = names.channels
    elif name == "topic":
        values = names.topics
    else:
        values = []
    return [f"{name}:{v} " for v in values if v.startswith(typed)]


class Repl:
    """The prompt: reads lines, acts through the session, prints what Discord would show."""

    def __init__(self, session: Session, out: Path, *, stdin=None, stdout=None,  # type: ignore[no-untyped-def]
                 user: str = "pat") -> None:
        self.session = session
        self.world = session.world
        self.emu = session.world.emu
        self.out = out
        self.stdout = stdout or sys.stdout
        self.user = user
        self.channel = self._start_channel()
        self.refs: dict[int, int] = {}  # number shown → message id
        self.numbers: dict[int, int] = {}  # message id → number shown
        self.names = Names()
        self.last_buttons: Message | None = None

    # --- basics ----------------------------------------------------------------------------

    def print(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def _start_channel(self) -> int:
        return self.world.place_of("tackling-cyber-crime") or self.session.stage.general

    def prompt(self) -> str:
        return f"{self.user} @ {place_name(self.emu, self.channel)}> "

    def refresh_names(self) -> None:
        world = self.world
        self.names = Names(
            commands=world.slash_commands(),
            topics=sorted(world.items),
            users=sorted(world.members),
            channels=sorted(self._channel_names()),
        )

    def _channel_names(self) -> dict[str, int]:
        names: dict[str, int] = {}
        for ch in self.emu.state.channels.values():
            if ch.guild_id == self.world.guild.id and ch.type in (0, 11, 12):
                names.setdefault(ch.name.replace(" ", "-").lower() if ch.type != 0 else ch.name,
                                 ch.id)
        for key, item in self.world.items.items():
            if item.discord_id:
                names[key] = item.discord_id
        return names

    def number(self, message: Message) -> int:
        if message.id not in self.numbers:
            n = len(self.refs) + 1
            self.refs[n] = message.id
            self.numbers[message.id] = n
        return self.numbers[message.id]

    def message_ref(self, text: str) -> Message:
        try:
            message_id = self.refs[int(text.lstrip("#"))]
        except (ValueError, KeyError):
            raise UsageError(f"no message {text!r}: use a number shown by :history") from None
        return self.emu.get_message(message_id)

    # --- the loop --------------------------------------------------------------------------

    def run(self, read: Callable[[str], str] = input) -> None:
        self.refresh_names()
        self.print("Type a message, a /command (TAB completes), or :help. :quit ends.")
        while True:
            try:
                line = read(self.prompt())
            except EOFError:
                self.print()
                return
            except KeyboardInterrupt:
                self.print("^C (type :quit to leave)")
                continue
            try:
                if self.handle(line.strip()) is False:
                    return
            except UsageError as exc:
                self.print(f"  ! {exc}")
            except KeyboardInterrupt:
                self.print("  ! interrupted")
            self.refresh_names()

    def handle(self, line: str) -> bool | None:
        """One line of input; False means quit."""
        if not line:
            return None
        if line.startswith(":"):
            word, _, rest = line.partition(" ")
            handler = getattr(self, f"cmd_{word[1:]}", None)
            if word not in META or handler is None:
                raise UsageError(f"unknown {word}: type :help")
            return handler(rest.strip())
        if line.startswith("/"):
            self.slash(line[1:])
            return None
        self.post(line)
        return None

    # --- acting ----------------------------------------------------------------------------

    def post(self, text: str, reply_to: Message | None = None) -> None:
        try:
            sent = self.session.call(self.emu.send_message(
                self.world.user_id(self.user), self.channel, text,
                reply_to=reply_to.id if reply_to else None))
        except EmulatorForbidden as exc:
            self.print(f"  ✗ {exc}")
            return
        self.print(f"  ✓ posted as message {self.number(sent)}")

    def slash(self, text: str) -> None:
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise UsageError(f"cannot read that command: {exc}") from None
        commands = self.world.slash_commands()
        path, rest = None, words
        for n in range(min(3, len(words)), 0, -1):
            if " ".join(words[:n]) in commands:
                path, rest = " ".join(words[:n]), words[n:]
                break
        if path is None:
            known = ", ".join("/" + c for c in commands)
            raise UsageError(f"no command /{' '.join(words[:2])}. Commands: {known}")
        options = self.parse_options(path, commands[path], rest)
        answer = self.session.call(self.world.slash(self.user, self.channel, path, options))
        self.show(answer)

    def parse_options(self, path: str, schema: list[dict[str, Any]],
                      words: list[str]) -> dict[str, Any]:
        known = {o["name"]: o for o in schema}
        options: dict[str, Any] = {}
        for word in words:
            name, colon, value = word.partition(":")
            if not colon or name not in known:
                usage = " ".join(_option_usage(o) for o in schema) or "(no options)"
                raise UsageError(f"/{path} takes: {usage}")
            options[name] = self.convert(known[name], value)
        return options

    def convert(self, option: dict[str, Any], value: str) -> Any:
        kind, name = option["type"], option["name"]
        try:
            if kind == 4:
                return int(value)
            if kind == 10:
                return float(value)
        except ValueError:
            raise UsageError(f"{name}: {value!r} is not a number") from None
        if kind == 5:
            if value.lower() not in TRUE | FALSE:
                raise UsageError(f"{name}: say true or false")
            return value.lower() in TRUE
        if kind in (6, 9) and value.lstrip("@") in self.world.members:
            return self.world.user_id(value.lstrip("@"))
        if kind == 7:
            channel = self._channel_names().get(value.lstrip("#"))
            if channel is None:
                raise UsageError(f"{name}: no channel {value!r} (:channels lists them)")
            return channel
        if kind == 11:
            path = Path(value).expanduser()
            if not path.is_file():
                raise UsageError(f"{name}: no file {value!r}")
            return self.emu.upload(path.name, path.read_bytes())
        if option.get("choices"):
            for choice in option["choices"]:
                if value in (str(choice["value"]), choice["name"]):
                    return choice["value"]
            values = ", ".join(str(c["value"]) for c in option["choices"])
            raise UsageError(f"{name}: one of {values}")
        return value

    def show(self, answer: Answer) -> None:
        for name, (typed, picked) in answer.picked.items():
            self.print(f"  ({name}: “{typed}” → picked “{picked}”)")
        key = self.session.player.consultation_key if self.session.player else None
        messages = answer.messages
        saved = save_attachments(self.out, messages + answer.posts, key)
        for message in messages:
            self.print("\n".join(render_message(self.emu, message, saved=saved)))
            if message.components:
                self.last_buttons = message
        for post in answer.posts:
            if post.type == 6:
                continue
            self.print(f"  ↳ bot posted in {place_name(self.emu, post.channel_id)} "
                       f"(message {self.number(post)}):")
            self.print("\n".join(render_message(self.emu, post, saved=saved, arrow=" ")))
        result = answer.result
        if result is not None and result.modal is not None and answer.error_text is None:
            self.fill_modal(result.modal)
            return
        problem = answer.error_text
        if problem and not messages:
            self.print(f"  ✗ {problem}")

    def fill_modal(self, modal) -> None:  # type: ignore[no-untyped-def]
        self.print(f"  ↳ bot opens a form: “{modal.title}” (empty line keeps the default)")
        values: dict[str, str] = {}
        for component in modal.inputs:
            label = component.get("label") or component.get("custom_id")
            default = component.get("value") or ""
            shown = f" [{default[:40]}{'…' if len(default) > 40 else ''}]" if default else ""
            typed = input(f"    {label}{shown}: ")
            values[component["custom_id"]] = typed or default
        answer = Answer("form")
        mark = self.world._mark()

        async def submit() -> Answer:
            try:
                result = await self.emu.submit_modal(self.world.user_id(self.user), modal,
                                                     values)
            except EmulatorError as exc:
                answer.problem = str(exc)
                return answer
            return await self.world._complete(answer, result, mark, 30)

        self.show(self.session.call(submit()))

    # --- meta commands ---------------------------------------------------------------------

    def cmd_quit(self, _rest: str) -> bool:
        return False

    def cmd_help(self, _rest: str) -> None:
        self.print("Type text to post it in the current channel, as the current user.")
        self.print("Slash commands (options as name:value; quote values with spaces):")
        for path, schema in self.world.slash_commands().items():
            usage = " ".join(_option_usage(o) for o in schema)
            self.print(f"  /{path} {usage}".rstrip())
        self.print("Rehearsal commands:")
        for name, text in META.items():
            self.print(f"  {name} {text}")
        self.print(f"Files the bot attaches are saved under {self.out}/.")

    def cmd_user(self, rest: str) -> None:
        if rest not in self.world.members:
            raise UsageError(f"no user {rest!r}: {', '.join(sorted(self.world.members))}")
        self.user = rest
        self.print(f"  now acting as {rest}")

    def cmd_users(self, _rest: str) -> None:
        roles = {self.world.seed.organisers.id: "organiser",
                 self.world.seed.moderators.id: "moderator"}
        for name, member in sorted(self.world.members.items()):
            role = next((roles[r] for r in member.roles if r in roles), "participant")
            display = member.user.global_name or ""
            self.print(f"  {name:10} {role:12} {display}")

    def cmd_channel(self, rest: str) -> None:
        channel = self._channel_names().get(rest.lstrip("#"))
        if channel is None:
            raise UsageError(f"no channel {rest!r}: :channels lists them")
        self.channel = channel
        self.print(f"  now in {place_name(self.emu, channel)}")
        self.cmd_history("3")

    def cmd_channels(self, _rest: str) -> None:
        keys = {item.discord_id: key for key, item in self.world.items.items()}
        for ch in sorted(self.emu.state.channels.values(), key=lambda c: c.id):
            if ch.guild_id != self.world.guild.id or ch.type not in (0, 11, 12):
                continue
            key = f"  (item {keys[ch.id]})" if ch.id in keys else ""
            count = len(ch.message_ids)
            self.print(f"  {place_name(self.emu, ch.id)}{key} — {count} messages")

    def cmd_history(self, rest: str) -> None:
        n = int(rest) if rest.isdigit() else 10
        messages = [m for m in self.emu.messages_in(self.channel) if m.type != 6][-n:]
        if not messages:
            self.print("  (no messages here yet)")
        for m in messages:
            number = self.number(m)
            if m.author_id == self.emu.bot_user.id:
                lines = render_message(self.emu, m, limit=4, arrow=f"{number:>3}")
                self.print("\n".join(lines))
                continue
            reactions = " ".join(f"{e}×{len(u)}" for e, u in m.reactions.items() if u)
            text = plain(self.emu, m.content).replace("\n", "\n       ")
            edited = " (edited)" if m.edited_timestamp else ""
            self.print(f"  {number:>3} {self.emu.state.users[m.author_id].username}: {text}"
                       f"{edited}{'  ' + reactions if reactions else ''}")

    def _act(self, coro: Coroutine[Any, Any, Any], done: str) -> None:
        try:
            self.session.call(coro)
        except EmulatorForbidden as exc:
            self.print(f"  ✗ {exc}")
            return
        self.print(f"  ✓ {done}")

    def cmd_reply(self, rest: str) -> None:
        ref, _, text = rest.partition(" ")
        if not text:
            raise UsageError(":reply N TEXT")
        self.post(text, reply_to=self.message_ref(ref))

    def cmd_react(self, rest: str) -> None:
        ref, _, emoji = rest.partition(" ")
        if not emoji:
            raise UsageError(":react N EMOJI")
        m = self.message_ref(ref)
        self._act(self.emu.add_reaction(self.world.user_id(self.user), m.id, emoji.strip()),
                  f"{emoji.strip()} added")

    def cmd_edit(self, rest: str) -> None:
        ref, _, text = rest.partition(" ")
        if not text:
            raise UsageError(":edit N TEXT")
        m = self.message_ref(ref)
        self._act(self.emu.edit_message(self.world.user_id(self.user), m.id, text), "edited")

    def cmd_delete(self, rest: str) -> None:
        m = self.message_ref(rest)
        self._act(self.emu.delete_message(self.world.user_id(self.user), m.id), "deleted")

    def cmd_hide(self, rest: str) -> None:
        ref, _, reason = rest.partition(" ")
        if not reason:
            raise UsageError(":hide N REASON")
        answer = self.session.call(self.world.context_menu(
            self.user, self.message_ref(ref), "Hide from consultation", {"": reason}))
        self.show(answer)

    def cmd_unhide(self, rest: str) -> None:
        answer = self.session.call(self.world.context_menu(
            self.user, self.message_ref(rest), "Unhide"))
        self.show(answer)

    def cmd_press(self, rest: str) -> None:
        message = self.last_buttons
        if message is None:
            raise UsageError("no message with buttons yet")
        message = self.emu.get_message(message.id)
        for row in message.components:
            for c in row.get("components") or []:
                if (c.get("label") or "").lower() == rest.lower():
                    self._press(message, c["custom_id"])
                    return
        raise UsageError(f"no button {rest!r} on the last message with buttons")

    def _press(self, message: Message, custom_id: str) -> None:
        answer = Answer("button")
        mark = self.world._mark()

        async def press() -> Answer:
            try:
                result = await self.emu.press_button(self.world.user_id(self.user), message,
                                                     custom_id)
            except (EmulatorError, EmulatorForbidden) as exc:
                answer.problem = str(exc)
                return answer
            return await self.world._complete(answer, result, mark, 30)

        self.session.call(press())
        # a button usually updates the message it is on
        self.print("\n".join(render_message(self.emu, self.emu.get_message(message.id))))


class UsageError(Exception):
    """The line cannot be acted on; the message says how to write it."""


def _option_usage(option: dict[str, Any]) -> str:
    kind = {3: "text", 4: "number", 5: "true|false", 6: "user", 7: "channel", 8: "role",
            10: "number", 11: "file"}.get(option["type"], "value")
    if option.get("choices"):
        kind = "|".join(str(c["value"]) for c in option["choices"])
    usage = f"{option['name']}:<{kind}>"
    return usage if option.get("required") else f"[{usage}]"


def _setup_readline(repl: Repl) -> None:
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline: no TAB completion
        return

    matches: list[str] = []

    def complete(text: str, state: int) -> str | None:
        nonlocal matches
        if state == 0:
            line = readline.get_line_buffer()[: readline.get_endidx()]
            matches = completions(line, repl.names)
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" \t\n")
    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")


def run_interactive(options: Options) -> int:
    """Set up (publish, scenario) and hand the terminal to the person; returns exit status."""
    agenda, scenario = load_inputs(options)
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as tmp:
        transcript = Transcript(stream=None)
        stage = Stage(options, agenda, scenario, transcript,
                      options.database or Path(tmp) / "consultation.db")
        session = Session(stage)
        print(f"Starting the emulator and the bot; publishing “{agenda.title}”…", flush=True)

        def progress(done: int, total: int) -> None:
            if done == total or done % 25 == 0:
                print(f"  scenario: {done}/{total} steps", flush=True)

        try:
            player = session.start(progress)
            failed = len(player.failures)
            print(f"Ready: {len(session.world.items)} agenda items"
                  + (f", the scenario played ({player.steps} steps"
                     + (f", {failed} failed — see {options.out / 'transcript.txt'})" if failed
                        else ")") if scenario else "")
                  + f". Files go to {options.out}/.", flush=True)
            repl = Repl(session, options.out)
            _setup_readline(repl)
            repl.run()
        finally:
            if session.player is not None:
                stage.save_records(session.player)
            session.stop()
    print("Bye.")
    return 0
