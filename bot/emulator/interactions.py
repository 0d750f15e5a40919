"""Application commands and interactions: command schemas, INTERACTION_CREATE payloads,
the callback endpoint (types 4–9) and the interaction webhook (original response, follow-ups).

Deadlines follow Discord and use the emulator's injectable clock: the initial callback must
arrive within 3 s (else 404 / 10062 Unknown interaction) and the token is valid for 15 min
(else 401 / 50027 Invalid Webhook Token).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import payloads as pl
from .core import FileUpload
from .errors import ApiError, EmulatorError, EmulatorForbidden
from .limits import modal_inputs, validate_choices, validate_message, validate_modal
from .state import Attachment, Message, P

if TYPE_CHECKING:
    from .emulator import Emulator

INITIAL_RESPONSE_DEADLINE = 3.0
TOKEN_LIFETIME = 15 * 60

# interaction types
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# callback types
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9


@dataclass
class ModalSpec:
    """A modal the bot opened (callback type 9). Pass it to ``emu.submit_modal``."""

    custom_id: str
    title: str
    components: list[dict[str, Any]]
    channel_id: int
    source_message_id: int | None = None

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """The text inputs (and other input components), unwrapped from rows/labels."""
        return modal_inputs(self.components)


@dataclass
class InteractionResult:
    """What happened to one interaction: the bot's answer(s) as Discord recorded them."""

    id: int
    token: str
    kind: int
    user_id: int
    channel_id: int
    created_at: float
    source_message_id: int | None = None
    #: for application commands: 1 slash, 2 user, 3 message context menu
    command_type: int | None = None
    #: callback type of the accepted initial response (4–9), or None
    type: int | None = None
    data: dict[str, Any] | None = None
    #: the original response message as stored (also for deferred and component updates;
    #: the first follow-up after a deferral edits it, as on Discord, and is not a follow-up)
    message: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: ModalSpec | None = None
    choices: list[dict[str, Any]] | None = None
    #: refused callbacks / webhook calls, as the ApiErrors the bot received
    errors: list[ApiError] = field(default_factory=list)
    _emu: Any = field(default=None, repr=False)
    _attempted: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def deferred(self) -> bool:
        return self.type in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE)

    @property
    def ephemeral(self) -> bool:
        if self.message is not None and self.type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            return self.message.ephemeral
        return bool(int((self.data or {}).get("flags") or 0) & 64)

    @property
    def content(self) -> str | None:
        return self.message.content if self.message is not None else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds if self.message is not None else []

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return self.message.files if self.message is not None else []

    @property
    def error(self) -> ApiError | None:
        """The first refused call, if any."""
        return self.errors[0] if self.errors else None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def wait_done(self, timeout: float = 10) -> InteractionResult:
        """Wait until the answer is complete: a non-deferred response, an edit of a deferred
        original response, or a follow-up. Event-based; raises TimeoutError."""
        await asyncio.wait_for(self._done.wait(), timeout)
        return self

    async def wait_followups(self, n: int, timeout: float = 10) -> list[Message]:
        """Wait until at least ``n`` follow-ups arrived; returns them."""
        await self._emu.wait_for(lambda: len(self.followups) >= n, timeout)
        return self.followups


class Interactions:
    """Command registry and interaction lifecycle; owned by an :class:`Emulator`."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        #: registered commands: ``None`` → global, guild id → that guild's commands
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.by_id: dict[int, InteractionResult] = {}
        self.by_token: dict[str, InteractionResult] = {}
        #: (guild id, command name) → True: an admin showed the command to everyone
        self.permission_overrides: dict[tuple[int, str], bool] = {}

    # --- command registry ---------------------------------------------------------------

    def overwrite(self, guild_id: int | None, cmds: list[dict[str, Any]]) -> list[dict[str, Any]]:
        old = {(c["name"], c.get("type", 1)): c for c in self.commands.get(guild_id, [])}
        out = []
        names: set[tuple[str, int]] = set()
        for c in cmds:
            key = (c["name"], int(c.get("type", 1)))
            if key in names:
                raise ApiError.form("_errors", "APPLICATION_COMMANDS_DUPLICATE_NAME",
                                    f"Application command names must be unique ({c['name']})")
            names.add(key)
            out.append(self._store(guild_id, c, old.get(key)))
        self.commands[guild_id] = out
        self.emu.notify()
        return out

    def upsert(self, guild_id: int | None, c: dict[str, Any]) -> dict[str, Any]:
        cmds = self.commands.setdefault(guild_id, [])
        key = (c["name"], int(c.get("type", 1)))
        for i, old in enumerate(cmds):
            if (old["name"], old["type"]) == key:
                cmds[i] = self._store(guild_id, c, old)
                return cmds[i]
        stored = self._store(guild_id, c, None)
        cmds.append(stored)
        return stored

    def _store(self, guild_id: int | None, c: dict[str, Any],
               old: dict[str, Any] | None) -> dict[str, Any]:
        name = c.get("name") or ""
        if not 1 <= len(name) <= 32:
            raise ApiError.form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if int(c.get("type", 1)) == 1 and len(c.get("description") or "") > 100:
            raise ApiError.form("description", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        stored = dict(c)
        stored.update({
            "id": old["id"] if old else str(self.emu.state.ids.next()),
            "application_id": str(self.emu.application_id),
            "version": str(self.emu.state.ids.next()),
            "type": int(c.get("type", 1)),
            "description": c.get("description", ""),
            "default_member_permissions": c.get("default_member_permissions"),
            "nsfw": bool(c.get("nsfw", False)),
        })
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def find_command(self, guild_id: int, name: str, ctype: int) -> dict[str, Any]:
        for scope in (guild_id, None):
            for c in self.commands.get(scope, []):
                if c["name"] == name and c["type"] == ctype:
                    return c
        raise EmulatorError(f"no command {name!r} (type {ctype}) is registered: did the bot sync?")

    # --- creating interactions ----------------------------------------------------------

    def create(self, kind: int, user_id: int, channel_id: int, data: dict[str, Any] | None,
               message: Message | None = None) -> InteractionResult:
        """Build and dispatch INTERACTION_CREATE; returns the result tracker."""
        emu = self.emu
        st = emu.state
        ch = st.channel(channel_id)
        g = st.guild(ch.guild_id)
        member = g.members.get(int(user_id))
        if member is None:
            raise EmulatorError(f"user {user_id} is not a member of guild {g.id}")
        perms = st.permissions(member.id, ch.id)
        if not perms & P.VIEW_CHANNEL:
            raise EmulatorError("the member cannot see this channel")
        emu.archive_idle_threads()
        if ch.is_thread and ch.archived:
            # "Users cannot edit messages, add reactions, use application commands, or join
            # archived threads" (discord-api-docs, Threads): the client offers no commands.
            raise EmulatorForbidden("Discord does not let members use application commands or "
                                    "components in an archived thread")
        if not emu.gateway.guild_connected(g.id):
            raise EmulatorError("the application did not respond: no bot session gets this "
                                "guild's events (its shard is not connected)")
        iid = st.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        r = InteractionResult(iid, token, kind, member.id, ch.id, emu.clock.now(),
                              source_message_id=message.id if message else None,
                              command_type=(data or {}).get("type") if kind == 2 else None,
                              _emu=emu)
        self.by_id[iid] = r
        self.by_token[token] = r
        chj = pl.channel_json(ch)
        chj["permissions"] = str(perms)
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(emu.application_id), "type": kind,
            "guild_id": str(g.id), "guild": {"id": str(g.id), "locale": "en-US", "features": []},
            "channel_id": str(ch.id), "channel": chj,
            "member": pl.member_json(member, permissions=perms), "token": token, "version": 1,
            "app_permissions": str(st.permissions(emu.bot_user.id, ch.id)),
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(g.id)}, "context": 0,
            "attachment_size_limit": g.attachment_size_limit,
        }
        if data is not None:
            payload["data"] = data
        if message is not None:
            payload["message"] = emu._msg_json(message)
        emu.dispatch("INTERACTION_CREATE", payload)
        return r

    async def wait_answer(self, r: InteractionResult, timeout: float) -> InteractionResult:
        try:
            await asyncio.wait_for(r._attempted.wait(), timeout)
        except TimeoutError:
            raise EmulatorError(
                f"the application did not respond to interaction {r.id} within {timeout}s"
            ) from None
        return r

    # --- REST: callback -----------------------------------------------------------------

    def callback(self, iid: int, token: str, body: dict[str, Any],
                 files: list[FileUpload]) -> tuple[InteractionResult, dict[str, Any]]:
        r = self.by_id.get(int(iid))
        if r is None or r.token != token:
            raise ApiError(404, 10062, "Unknown interaction")
        try:
            return r, self._callback(r, body, files)
        except ApiError as e:
            r.errors.append(e)
            raise
        finally:
            r._attempted.set()
            self.emu.notify()

    def _callback(self, r: InteractionResult, body: dict[str, Any],
                  files: list[FileUpload]) -> dict[str, Any]:
        emu = self.emu
        if emu.clock.now() - r.created_at > INITIAL_RESPONSE_DEADLINE:
            raise ApiError(404, 10062, "Unknown interaction")
        if r.type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        t = int(body.get("type") or 0)
        data = body.get("data") or {}
        allowed = {
            APPLICATION_COMMAND: {4, 5, 9},
            MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
            AUTOCOMPLETE: {8},
            MODAL_SUBMIT: {4, 5, 6, 7} if r.source_message_id else {4, 5},
        }[r.kind]
        if t not in allowed:
            raise ApiError(400, 50035, "Invalid Form Body",
                           {"type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                                  "message": "Invalid interaction response type"}]}})
        ephemeral = bool(int(data.get("flags") or 0) & 64)
        msg: Message | None = None
        if t == CHANNEL_MESSAGE:
            validate_message(data, len(files))
            msg = self._response_message(r, data, files, ephemeral)
        elif t == DEFERRED_CHANNEL_MESSAGE:
            msg = self._loading_message(r, ephemeral, self._msg_type(r))
        elif t in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            msg = emu.state.message(r.source_message_id) if r.source_message_id else None
            if t == UPDATE_MESSAGE and msg is not None:
                validate_message(data, len(files), edit=True)
                emu.op_edit_message(emu.bot_user.id, msg, data, files, check=False)
        elif t == AUTOCOMPLETE_RESULT:
            validate_choices(data.get("choices"))
            r.choices = list(data.get("choices") or [])
        elif t == MODAL:
            validate_modal(data)
            r.modal = ModalSpec(data.get("custom_id", ""), data.get("title", ""),
                                list(data.get("components") or []), r.channel_id,
                                r.source_message_id)
        r.type = t
        r.data = data
        r.message = msg
        if t not in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE):
            r._done.set()
        interaction = {
            "id": str(r.id), "type": r.kind, "activity_instance_id": None,
            "response_message_id": str(msg.id) if msg else None,
            "response_message_loading": t == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": ephemeral,
        }
        resource: dict[str, Any] = {"type": t}
        if msg is not None and t in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE):
            resource["message"] = emu._msg_json(msg)
        return {"interaction": interaction, "resource": resource}

    def _metadata(self, r: InteractionResult) -> dict[str, Any]:
        st = self.emu.state
        return {"id": str(r.id), "type": r.kind, "user": pl.user_json(st.users[r.user_id]),
                "authorizing_integration_owners": {"0": str(st.channel(r.channel_id).guild_id)}}

    def _msg_type(self, r: InteractionResult) -> int:
        if r.kind != APPLICATION_COMMAND:
            return 0
        return 23 if r.command_type in (2, 3) else 20

    def _response_message(self, r: InteractionResult, data: dict[str, Any],
                          files: list[FileUpload], ephemeral: bool) -> Message:
        return self.emu.post_message(
            self.emu.bot_user.id, r.channel_id, data, files, check=False,
            webhook_id=self.emu.application_id, ephemeral=ephemeral,
            interaction_metadata=self._metadata(r), msg_type=self._msg_type(r),
        )

    def _loading_message(self, r: InteractionResult, ephemeral: bool, mtype: int) -> Message:
        emu = self.emu
        ch = emu.state.channel(r.channel_id)
        m = Message(emu.state.ids.next(), ch.id, ch.guild_id, emu.bot_user.id, "", type=mtype,
                    flags=128 | (64 if ephemeral else 0), timestamp=emu.now_iso(),
                    webhook_id=emu.application_id, application_id=emu.application_id,
                    interaction_metadata=self._metadata(r), ephemeral=ephemeral)
        emu.state.messages[m.id] = m
        if not ephemeral:
            ch.message_ids.append(m.id)
            ch.last_message_id = m.id
        emu._dispatch_message("MESSAGE_CREATE", m)
        return m

    # --- REST: webhook (original response and follow-ups) -------------------------------

    def by_webhook(self, app_id: int, token: str) -> InteractionResult:
        r = self.by_token.get(token)
        if r is None or int(app_id) != self.emu.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        if self.emu.clock.now() - r.created_at > TOKEN_LIFETIME:
            e = ApiError(401, 50027, "Invalid Webhook Token")
            r.errors.append(e)
            raise e
        return r

    def _own_message(self, r: InteractionResult, message_id: str) -> Message:
        if message_id == "@original":
            if r.message is None or r.message.deleted:
                raise ApiError(404, 10008, "Unknown Message")
            return r.message
        m = self.emu.state.message(int(message_id))
        if m is not r.message and m not in r.followups:
            raise ApiError(404, 10008, "Unknown Message")
        return m

    def get_message(self, app_id: int, token: str, message_id: str) -> Message:
        return self._own_message(self.by_webhook(app_id, token), message_id)

    def edit_message(self, app_id: int, token: str, message_id: str, body: dict[str, Any],
                     files: list[FileUpload]) -> Message:
        r = self.by_webhook(app_id, token)
        try:
            m = self._own_message(r, message_id)
            self.emu.op_edit_message(self.emu.bot_user.id, m, body, files, check=False)
        except ApiError as e:
            r.errors.append(e)
            raise
        if m is r.message:
            r._done.set()
        self.emu.notify()
        return m

    def delete_message(self, app_id: int, token: str, message_id: str) -> None:
        r = self.by_webhook(app_id, token)
        m = self._own_message(r, message_id)
        self.emu.op_delete_message(self.emu.bot_user.id, m, check=False)

    def followup(self, app_id: int, token: str, body: dict[str, Any], files: list[FileUpload],
                 thread_id: int | None = None) -> Message:
        r = self.by_webhook(app_id, token)
        try:
            if r.type is None:
                raise ApiError(404, 10015, "Unknown Webhook")
            validate_message(body, len(files))
            if (r.type == DEFERRED_CHANNEL_MESSAGE and r.message is not None
                    and r.message.flags & 128):
                # Discord: the first follow-up after a deferral edits the loading response.
                body = {k: v for k, v in body.items() if k != "flags"}
                body.setdefault("content", "")
                m = self.emu.op_edit_message(self.emu.bot_user.id, r.message, body, files,
                                             check=False)
            else:
                ephemeral = bool(int(body.get("flags") or 0) & 64)
                m = self.emu.post_message(
                    self.emu.bot_user.id, int(thread_id or r.channel_id), body, files,
                    check=False, webhook_id=self.emu.application_id, ephemeral=ephemeral,
                    interaction_metadata=self._metadata(r), msg_type=0,
                )
                r.followups.append(m)
        except ApiError as e:
            r.errors.append(e)
            raise
        r._done.set()
        self.emu.notify()
        return m

    # --- helpers for participant actions ------------------------------------------------

    def attachment_from_upload(self, up: FileUpload, channel_id: int) -> Attachment:
        st = self.emu.state
        a = Attachment(st.ids.next(), up.filename, up.data, up.content_type, up.description,
                       channel_id)
        st.attachments[a.id] = a
        return a
