"""The rehearsal world: the loopback Discord emulator with a consultation server, and the
real bot connected to it exactly as ``python -m bot run`` connects to Discord.

:class:`World` is shared by the scripted rehearsal (:mod:`bot.rehearsal.runner`) and the
interactive one (:mod:`bot.rehearsal.interactive`). Its :meth:`World.slash` runs a slash
command like a person would (autocompleted options are typed, then the first suggestion
is picked) and waits for the bot's complete answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.emulator import (
    Emulator,
    EmulatorError,
    EmulatorForbidden,
    InteractionResult,
    Member,
    Message,
    discord_py_targets,
    restore_discord_py,
)
from bot.emulator.seed import ConsultationWorld, seed_consultation
from bot.logging_setup import RedactSecrets
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import describe_error
from bot.settings import Settings
from bot.storage.models import Item

READY_TIMEOUT = 30.0
ANSWER_TIMEOUT = 30.0
QUIET = 0.05  # an answer is complete when nothing changed for this long after it was final


@dataclass
class Answer:
    """What came back from one command: the bot's messages, or why there were none."""

    command: str
    result: InteractionResult | None = None
    #: Discord refused before the bot saw anything (EmulatorForbidden), e.g. a locked thread
    refused: str | None = None
    #: the command reached the bot and failed there (what the error handler was given)
    error: BaseException | None = None
    #: the bot did not answer, or the command could not be sent (unknown option, …)
    problem: str | None = None
    #: other messages the bot posted while answering (e.g. the quote it posts publicly)
    posts: list[Message] = field(default_factory=list)
    #: options that were autocompleted: name → (what was typed, the choice picked)
    picked: dict[str, tuple[str, str]] = field(default_factory=dict)

    def not_sent(self, exc: EmulatorError) -> Answer:
        """Discord refused (EmulatorForbidden) or the command could not be sent at all."""
        if isinstance(exc, EmulatorForbidden):
            self.refused = str(exc)
        else:
            self.problem = str(exc)
        return self

    @property
    def messages(self) -> list[Message]:
        """The bot's reply: the original response, then its follow-ups."""
        r = self.result
        if r is None:
            return []
        seen, out = set(), []
        for m in ([r.message] if r.message else []) + list(r.followups):
            if m.id not in seen:
                seen.add(m.id)
                out.append(m)
        return out

    def text(self) -> str:
        """All the text of the reply (content, embed titles, descriptions, fields)."""
        parts: list[str] = []
        for m in self.messages:
            parts.append(m.content or "")
            for e in m.embeds:
                parts += [e.get("title") or "", e.get("description") or ""]
                parts += [f"{f.get('name')}: {f.get('value')}" for f in e.get("fields") or []]
        return "\n".join(p for p in parts if p)

    def files(self) -> dict[str, bytes]:
        return {a.filename: a.data for m in self.messages for a in m.attachments}

    @property
    def error_text(self) -> str | None:
        """Why the command did not work, in one line, or None when it did."""
        if self.refused:
            return self.refused
        if self.problem:
            return self.problem
        if self.error is not None:
            told = describe_error(self.error)
            return f"the bot answered with an error: {told}" if told else (
                f"the bot failed: {type(self.error).__name__}: {self.error} "
                "(it answered “Something went wrong”)")
        if "Something went wrong" in self.text():
            return "the bot answered “Something went wrong”"
        return None


class ErrorLog(logging.Handler):
    """Keeps every ERROR the bot logs, so a step that made the bot fail is noticed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class World:
    """``async with World(settings_for, out) as world:`` — emulator, seeded server, bot."""

    def __init__(self, *, database: Path, agenda_file: Path, log_file: Path | None = None,
                 log_level: str = "INFO") -> None:
        self.database = database
        self.agenda_file = agenda_file
        self.log_file = log_file
        self.log_level = log_level
        self.emu = Emulator()
        self.seed: ConsultationWorld = seed_consultation(self.emu)
        self.guild = self.seed.guild
        self.members: dict[str, Member] = {
            m.user.username: m for m in (self.seed.alice, self.seed.mo, self.seed.pat,
                                         self.seed.sam)
        }
        self.bot: ConsultationBot | None = None
        self.errors = ErrorLog()
        #: interaction id → the exception the bot's command error handler was given
        self.command_errors: dict[int, BaseException] = {}
        self._task: asyncio.Task[None] | None = None
        self._saved_targets: tuple[str, object] | None = None
        self._log_handlers: list[logging.Handler] = []
        self.items: dict[str, Item] = {}

    # --- people and places -----------------------------------------------------------------

    def add_person(self, username: str, display_name: str | None = None,
                   role: str = "participant") -> Member:
        """A member of the server (call before :meth:`start`, so the bot sees them)."""
        roles = {"organiser": [self.seed.organisers.id], "moderator": [self.seed.moderators.id]}
        member = self.emu.add_member(self.guild.id, username, roles=roles.get(role, []))
        member.user.global_name = display_name
        self.members[username] = member
        return member

    def channel(self, name: str) -> int:
        """A plain text channel of the server (created if missing)."""
        existing = self.emu.channel_named(self.guild.id, name)
        if existing is not None:
            return existing.id
        return self.emu.create_text_channel(self.guild.id, name).id

    def user_id(self, username: str) -> int:
        return self.members[username].user.id

    async def refresh_items(self) -> dict[str, Item]:
        """The published agenda items by key (after ``/agenda publish``)."""
        assert self.bot is not None
        self.items = {i.key: i for i in await self.bot.repo.agenda.guild_items(self.guild.id)}
        return self.items

    def place_of(self, key: str) -> int | None:
        """The channel of a top-level item, or the thread of a sub-item."""
        item = self.items.get(key)
        return item.discord_id if item is not None else None

    # --- lifecycle -------------------------------------------------------------------------

    def settings(self) -> Settings:
        """The bot's settings: the same as for ``run``, pointed at the emulator."""
        return Settings(
            _env_file=None,
            discord_token=self.emu.bot_token,
            discord_api_base=self.emu.api_base,
            discord_gateway_url=self.emu.gateway_url,
            database_path=self.database,
            guild_id=self.guild.id,
            agenda_file=self.agenda_file,
            log_level=self.log_level,
        )

    async def start(self) -> World:
        """Start the emulator and connect the bot, as ``python -m bot run`` would."""
        from bot.discord_urls import point_discord_py_at

        await self.emu.start()
        settings = self.settings()
        token = settings.require_token()
        self._setup_logging(token)
        self._saved_targets = discord_py_targets()
        point_discord_py_at(settings.discord_api_base, settings.discord_gateway_url)
        self.bot = bot = ConsultationBot(settings)
        ready = asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        bot.add_listener(on_ready, "on_ready")
        self._task = asyncio.create_task(bot.start(token))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({self._task, waiter}, timeout=READY_TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        bot.remove_listener(on_ready, "on_ready")
        if not ready.is_set():
            failure = self._task.exception() if self._task in done else None
            await self.stop()
            raise RuntimeError(f"the bot did not get ready within {READY_TIMEOUT:.0f} s"
                               + (f": {failure!r}" if failure else "")) from failure
        if bot.failed_cogs:
            await self.stop()
            raise RuntimeError(f"cogs failed to load: {bot.failed_cogs}")
        self._observe_command_errors()
        return self

    async def stop(self) -> None:
        if self.bot is not None:
            with contextlib.suppress(Exception):
                await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, 10)
        with contextlib.suppress(Exception):
            await self.emu.stop()
        if self._saved_targets is not None:
            restore_discord_py(self._saved_targets)
            self._saved_targets = None
        root = logging.getLogger()
        for handler in self._log_handlers:
            root.removeHandler(handler)
            handler.close()
        self._log_handlers = []

    async def __aenter__(self) -> World:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def _setup_logging(self, token: str) -> None:
        """Bot logs go to a file (the terminal shows the transcript); errors are kept."""
        root = logging.getLogger()
        handlers: list[logging.Handler] = [self.errors]
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            to_file = logging.FileHandler(self.log_file, mode="w", encoding="utf-8")
            to_file.setFormatter(logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
            to_file.addFilter(RedactSecrets([token]))
            handlers.append(to_file)
        for handler in handlers:
            root.addHandler(handler)
        self._log_handlers = handlers
        root.setLevel(self.log_level)

    def _observe_command_errors(self) -> None:
        """Note which interaction failed, then let the bot's own handler answer as usual."""
        assert self.bot is not None
        tree = self.bot.tree
        handler = tree.on_error

        async def observed(interaction, error) -> None:  # type: ignore[no-untyped-def]
            self.command_errors[interaction.id] = error
            await handler(interaction, error)

        tree.on_error = observed  # type: ignore[method-assign]

    # --- acting ----------------------------------------------------------------------------

    def command_schema(self, path: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The registered command for ``"agenda publish"`` and its options (or None, [])."""
        words = path.split()
        for scope in (self.guild.id, None):
            for cmd in self.emu.interactions.commands.get(scope, []):
                if cmd["name"] == words[0] and cmd["type"] == 1:
                    options = cmd.get("options") or []
                    for word in words[1:]:
                        sub = next((o for o in options if o["name"] == word
                                    and o["type"] in (1, 2)), None)
                        if sub is None:
                            return cmd, []
                        options = sub.get("options") or []
                    return cmd, options
        return None, []

    def slash_commands(self) -> dict[str, list[dict[str, Any]]]:
        """Every runnable slash command path (``"agenda publish"``) → its options."""
        out: dict[str, list[dict[str, Any]]] = {}

        def walk(prefix: str, options: list[dict[str, Any]]) -> None:
            groups = [o for o in options if o["type"] in (1, 2)]
            if not groups:
                out[prefix] = options
            for o in groups:
                walk(f"{prefix} {o['name']}", o.get("options") or [])

        for scope in (self.guild.id, None):
            for cmd in self.emu.interactions.commands.get(scope, []):
                if cmd["type"] == 1 and cmd["name"] not in {p.split()[0] for p in out}:
                    walk(cmd["name"], cmd.get("options") or [])
        return dict(sorted(out.items()))

    def _mark(self) -> int:
        return max(self.emu.state.messages, default=0)

    async def slash(self, user: str, channel_id: int, command: str,
                    options: dict[str, Any] | None = None, *,
                    modal_values: dict[str, str] | None = None,
                    timeout: float = ANSWER_TIMEOUT) -> Answer:
        """Run ``/command`` as ``user`` in ``channel_id`` and wait for the whole answer
        (filling in the form it opens with ``modal_values``, if given)."""
        answer = Answer(command)
        mark = self._mark()
        uid = self.user_id(user)
        try:
            options = await self._autocomplete(uid, channel_id, command, dict(options or {}),
                                               answer)
            result = await self.emu.slash(uid, channel_id, command, options, timeout=timeout)
            if result.modal is not None and modal_values is not None:
                result = await self._submit_form(answer, result, uid, mark, modal_values, timeout)
                if result is None:
                    return answer
        except EmulatorError as exc:
            return answer.not_sent(exc)
        return await self._complete(answer, result, mark, timeout)

    async def context_menu(self, user: str, message: Message, name: str,
                           modal_values: dict[str, str] | None = None, *,
                           timeout: float = ANSWER_TIMEOUT) -> Answer:
        """Use a message's context menu (``Hide from consultation``), filling in its form."""
        answer = Answer(name)
        mark = self._mark()
        uid = self.user_id(user)
        try:
            result = await self.emu.context_menu(uid, message.channel_id, name,
                                                 target_message_id=message.id, timeout=timeout)
            if result.modal is not None and modal_values is not None:
                result = await self._submit_form(answer, result, uid, mark, modal_values, timeout)
                if result is None:
                    return answer
        except EmulatorError as exc:
            return answer.not_sent(exc)
        return await self._complete(answer, result, mark, timeout)

    async def _submit_form(self, answer: Answer, result: InteractionResult, uid: int, mark: int,
                           modal_values: dict[str, str], timeout: float) -> InteractionResult | None:
        """Fill in and submit the form the bot opened; None if the bot refused instead."""
        await self._complete(answer, result, mark, timeout)
        if answer.error_text:
            return None
        values = fill_modal(result.modal.inputs, modal_values)
        return await self.emu.submit_modal(uid, result.modal, values, timeout=timeout)

    async def _autocomplete(self, uid: int, channel_id: int, command: str,
                            options: dict[str, Any], answer: Answer) -> dict[str, Any]:
        """Type each autocompleted option and pick the first suggestion, like a person."""
        _cmd, schema = self.command_schema(command)
        for opt in schema:
            name = opt["name"]
            typed = options.get(name)
            if not opt.get("autocomplete") or not isinstance(typed, str):
                continue
            choices = await self.emu.autocomplete(uid, channel_id, command, options,
                                                  focused=name)
            values = [str(c["value"]) for c in choices]
            if typed in values or not choices:
                continue  # already a value, or nothing matched: the bot will say so
            options[name] = str(choices[0]["value"])
            answer.picked[name] = (typed, choices[0]["name"])
        return options

    async def _complete(self, answer: Answer, result: InteractionResult, mark: int,
                        timeout: float) -> Answer:
        """Wait until the answer is final (not a "thinking…" or progress message) and then
        quiet; collect what else the bot posted meanwhile."""
        answer.result = result
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def final() -> bool:
            if result.id in self.command_errors and result.done:
                return True
            if result.modal is not None or result.followups:
                return True
            if not result.done:
                return False
            text = (result.message.content if result.message else "") or ""
            return "…" not in text.split("\n")[0] or bool(result.message.embeds)

        try:
            await self.emu.wait_for(final, timeout=timeout)
            signature = None
            while loop.time() < deadline:
                now = (len(result.followups), self._mark(),
                       result.message.content if result.message else None)
                if now == signature:
                    break
                signature = now
                await asyncio.sleep(QUIET)
        except TimeoutError:
            answer.problem = f"the bot did not answer /{answer.command} within {timeout:.0f} s"
        answer.error = self.command_errors.get(result.id)
        own = {m.id for m in answer.messages}
        answer.posts = [m for i, m in sorted(self.emu.state.messages.items())
                        if i > mark and i not in own and m.author_id == self.emu.bot_user.id
                        and not m.ephemeral and not m.deleted]
        return answer


def fill_modal(inputs: list[dict[str, Any]], values: dict[str, str]) -> dict[str, str]:
    """Modal values by input: ``values`` may name inputs by custom_id or by label; a single
    value ``{"": text}`` fills the first input."""
    out: dict[str, str] = {}
    for i, component in enumerate(inputs):
        cid, label = component.get("custom_id"), (component.get("label") or "").lower()
        for key, value in values.items():
            if key == cid or (key and key.lower() in label) or (key == "" and i == 0):
                out[cid] = value
    return out
