"""Participant actions: what people do "through Discord". Each produces the state changes and
gateway events Discord would, and returns plain objects (the stored messages, interaction
results). Refusals Discord would show in its client raise :class:`EmulatorForbidden`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import payloads as pl
from .core import FileUpload
from .errors import ApiError, EmulatorError, EmulatorForbidden
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionResult,
    ModalSpec,
)
from .state import Channel, Message, Role

if TYPE_CHECKING:
    from .emulator import Emulator

DEFAULT_ANSWER_TIMEOUT = 5.0


def _id(x: Any) -> int:
    return int(getattr(x, "id", x))


def _forbidden(e: ApiError) -> EmulatorForbidden:
    return EmulatorForbidden(f"Discord refused: {e.status} {e.code} {e.message}", e)


class ActionsMixin:
    """Mixed into :class:`~bot.emulator.Emulator`."""

    # --- uploads ------------------------------------------------------------------------

    def upload(self: Emulator, filename: str, data: bytes, content_type: str | None = None,
               description: str | None = None) -> FileUpload:
        """A file a participant attaches (to a message, or as an attachment option)."""
        return FileUpload(filename, bytes(data), content_type, description)

    # --- messages -----------------------------------------------------------------------

    async def send_message(self: Emulator, user_id: int, channel_id: int, content: str = "", *,
                           reply_to: int | Message | None = None,
                           embeds: list[dict[str, Any]] | None = None,
                           attachments: list[FileUpload | tuple[str, bytes]] | None = None
                           ) -> Message:
        """Post a message as a member. Raises EmulatorForbidden where Discord would refuse
        (no SEND_MESSAGES / SEND_MESSAGES_IN_THREADS, locked thread, …)."""
        payload: dict[str, Any] = {"content": content}
        if embeds:
            payload["embeds"] = embeds
        if reply_to is not None:
            payload["message_reference"] = {"message_id": str(_id(reply_to))}
        files = [a if isinstance(a, FileUpload) else FileUpload(a[0], a[1])
                 for a in attachments or []]
        self.archive_idle_threads()
        try:
            return self.post_message(_id(user_id), _id(channel_id), payload, files)
        except ApiError as e:
            raise _forbidden(e) from None

    async def edit_message(self: Emulator, user_id: int, message_id: int | Message,
                           content: str | None = None, *,
                           embeds: list[dict[str, Any]] | None = None) -> Message:
        """Edit one's own message as a participant (MESSAGE_UPDATE)."""
        m = message_id if isinstance(message_id, Message) else self.state.message(_id(message_id))
        payload: dict[str, Any] = {}
        if content is not None:
            payload["content"] = content
        if embeds is not None:
            payload["embeds"] = embeds
        self.archive_idle_threads()
        try:
            return self.op_edit_message(_id(user_id), m, payload)
        except ApiError as e:
            raise _forbidden(e) from None

    async def delete_message(self: Emulator, user_id: int, message_id: int | Message) -> None:
        """Delete a message as a participant (own message, or any with MANAGE_MESSAGES)."""
        m = message_id if isinstance(message_id, Message) else self.state.message(_id(message_id))
        try:
            self.op_delete_message(_id(user_id), m)
        except ApiError as e:
            raise _forbidden(e) from None

    async def bulk_delete(self: Emulator, channel_id: int, ids: list[int]) -> None:
        """Bulk-delete as a moderator tool would (MESSAGE_DELETE_BULK)."""
        self.bulk_delete_messages(None, _id(channel_id), [_id(i) for i in ids])

    async def add_reaction(self: Emulator, user_id: int, message_id: int, emoji: str, *,
                           burst: bool = False) -> None:
        """React as a member (``burst``: a super reaction)."""
        self.archive_idle_threads()
        try:
            self.react(_id(user_id), self.state.message(_id(message_id)), emoji, burst=burst)
        except ApiError as e:
            raise _forbidden(e) from None

    async def remove_reaction(self: Emulator, user_id: int, message_id: int, emoji: str, *,
                              burst: bool = False) -> None:
        self.unreact(_id(user_id), self.state.message(_id(message_id)), emoji, burst=burst)

    async def remove_all_reactions(self: Emulator, moderator_id: int, message_id: int,
                                   emoji: str | None = None) -> None:
        """A moderator clears a message's reactions (all, or one emoji's), as in Discord's
        client: MESSAGE_REACTION_REMOVE_ALL / MESSAGE_REACTION_REMOVE_EMOJI."""
        try:
            self.clear_reactions(_id(moderator_id), self.state.message(_id(message_id)), emoji)
        except ApiError as e:
            raise _forbidden(e) from None

    async def forward_message(self: Emulator, user_id: int, message_id: int | Message,
                              channel_id: int) -> Message:
        """Forward a message into a channel as a member: a new message with no content of
        its own, ``message_reference.type`` 1 and a ``message_snapshots`` copy."""
        payload = {"message_reference": {"type": 1, "message_id": str(_id(message_id))}}
        try:
            return self.post_message(_id(user_id), _id(channel_id), payload)
        except ApiError as e:
            raise _forbidden(e) from None

    async def pin_message(self: Emulator, user_id: int, message_id: int) -> None:
        try:
            self.pin(_id(user_id), self.state.message(_id(message_id)), True)
        except ApiError as e:
            raise _forbidden(e) from None

    def set_link_preview(self: Emulator, message_id: int, url: str, title: str | None = None,
                         description: str | None = None) -> Message:
        """Discord's unfurler adding a link embed to a message later (MESSAGE_UPDATE with
        embeds, no edited_timestamp change)."""
        m = self.state.message(_id(message_id))
        embed: dict[str, Any] = {"type": "link", "url": url}
        if title is not None:
            embed["title"] = title
        if description is not None:
            embed["description"] = description
        m.embeds = [e for e in m.embeds if e.get("url") != url] + [embed]
        self._dispatch_message("MESSAGE_UPDATE", m)
        return m

    async def link_preview(self: Emulator, message_id: int, url: str,
                           title: str | None = None) -> Message:
        """Awaitable alias of :meth:`set_link_preview`."""
        return self.set_link_preview(message_id, url, title)

    # --- threads (participant side) -------------------------------------------------------

    async def create_thread(self: Emulator, user_id: int, channel_id: int, name: str, *,
                            message_id: int | None = None, content: str | None = None,
                            private: bool = False, tags: list[int] | None = None) -> Channel:
        """Start a thread as a member: from a message, without one, or a forum post
        (``content`` is the post's first message, ``tags`` its applied tags)."""
        self.archive_idle_threads()
        ch = self.state.channel(_id(channel_id))
        try:
            if message_id is not None:
                m = self.state.message(_id(message_id), ch.id)
                return self.start_thread_from_message(_id(user_id), ch, m, {"name": name})
            payload: dict[str, Any] = {"name": name, "type": 12 if private else 11}
            if content is not None:
                payload["message"] = {"content": content}
            if tags is not None:
                payload["applied_tags"] = [str(t) for t in tags]
            th, _ = self.start_thread(_id(user_id), ch, payload)
            return th
        except ApiError as e:
            raise _forbidden(e) from None

    async def set_post_tags(self: Emulator, user_id: int, thread_id: int,
                            tags: list[int]) -> Channel:
        """A member changing a forum post's tags (its owner, or one with Manage Threads)."""
        self.archive_idle_threads()
        th = self.state.channel(_id(thread_id))
        try:
            return self.modify_channel(_id(user_id), th, {"applied_tags": [str(t) for t in tags]})
        except ApiError as e:
            raise _forbidden(e) from None

    def forum_tag_names(self: Emulator, thread_id: int) -> list[str]:
        """The names of a forum post's applied tags, in the forum's order (what members see)."""
        th = self.state.channel(_id(thread_id))
        forum = self.state.channel(th.parent_id)
        return [t["name"] for t in forum.available_tags if int(t["id"]) in th.applied_tags]

    def archive_thread(self: Emulator, thread_id: int) -> Channel:
        """Discord archiving an inactive thread (its auto-archive duration passed)."""
        th = self.state.channel(_id(thread_id))
        if not th.is_thread:
            raise EmulatorError(f"channel {th.id} is not a thread")
        self._set_archived(th, True)
        return th

    # --- interactions -------------------------------------------------------------------

    def _resolve_value(self: Emulator, opt: dict[str, Any], value: Any, channel_id: int,
                       resolved: dict[str, dict[str, Any]]) -> Any:
        t = opt["type"]
        name = opt["name"]
        st = self.state
        gid = st.channel(channel_id).guild_id
        if t == 3:
            if not isinstance(value, str):
                raise EmulatorError(f"option {name!r} expects a string")
            lo, hi = opt.get("min_length", 0), opt.get("max_length", 6000)
            if not lo <= len(value) <= hi:
                raise EmulatorError(f"option {name!r}: length must be {lo}..{hi}")
        elif t == 4:
            if isinstance(value, bool) or not isinstance(value, int):
                raise EmulatorError(f"option {name!r} expects an integer")
        elif t == 10:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise EmulatorError(f"option {name!r} expects a number")
        elif t == 5:
            if not isinstance(value, bool):
                raise EmulatorError(f"option {name!r} expects a boolean")
        if t in (4, 10):
            if "min_value" in opt and value < opt["min_value"]:
                raise EmulatorError(f"option {name!r} must be >= {opt['min_value']}")
            if "max_value" in opt and value > opt["max_value"]:
                raise EmulatorError(f"option {name!r} must be <= {opt['max_value']}")
        if opt.get("choices") and value not in [c["value"] for c in opt["choices"]]:
            raise EmulatorError(f"option {name!r} must be one of the command's choices")
        if t == 6 or (t == 9 and _id(value) in st.users):
            uid = _id(value)
            if uid not in st.users:
                raise EmulatorError(f"option {name!r}: unknown user {value!r}")
            resolved.setdefault("users", {})[str(uid)] = pl.user_json(st.users[uid])
            mem = st.guilds[gid].members.get(uid)
            if mem is not None:
                resolved.setdefault("members", {})[str(uid)] = pl.member_json(
                    mem, with_user=False, permissions=st.permissions(uid, channel_id))
            return str(uid)
        if t in (8, 9):
            rid = _id(value)
            role = st.guilds[gid].roles.get(rid)
            if role is None:
                raise EmulatorError(f"option {name!r}: unknown role {rid}")
            resolved.setdefault("roles", {})[str(rid)] = pl.role_json(role)
            return str(rid)
        if t == 7:
            ch = st.channel(_id(value))
            types = opt.get("channel_types")
            if types and ch.type not in types:
                raise EmulatorError(f"option {name!r}: channel type {ch.type} not allowed")
            d = {k: v for k, v in pl.channel_json(ch).items()
                 if k in ("id", "name", "type", "parent_id", "thread_metadata", "guild_id")}
            d["permissions"] = str(st.permissions(self.bot_user.id, ch.id))
            resolved.setdefault("channels", {})[str(ch.id)] = d
            return str(ch.id)
        if t == 11:
            if isinstance(value, tuple):
                value = FileUpload(value[0], value[1])
            if not isinstance(value, FileUpload):
                raise EmulatorError(f"option {name!r} expects emu.upload(name, bytes)")
            a = self.interactions.attachment_from_upload(value, channel_id)
            resolved.setdefault("attachments", {})[str(a.id)] = pl.attachment_json(
                a, self.base_url)
            return str(a.id)
        return value

    def _command_data(self: Emulator, user_id: int, channel_id: int, path: str,
                      options: dict[str, Any] | None, focused: str | None = None
                      ) -> dict[str, Any]:
        words = path.split()
        ch = self.state.channel(_id(channel_id))
        cmd = self.interactions.find_command(ch.guild_id, words[0], 1)
        self._check_command_permission(user_id, ch, cmd)
        resolved: dict[str, dict[str, Any]] = {}
        schema = cmd.get("options") or []
        out_root: list[dict[str, Any]] = []
        out = out_root
        for w in words[1:]:
            sub = next((o for o in schema if o["name"] == w and o["type"] in (1, 2)), None)
            if sub is None:
                raise EmulatorError(f"/{path}: no subcommand or group {w!r}")
            node: dict[str, Any] = {"name": w, "type": sub["type"], "options": []}
            out.append(node)
            out = node["options"]
            schema = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            raise EmulatorError(f"/{path} is a group: name a subcommand")
        given = dict(options or {})
        known = {o["name"]: o for o in schema}
        for name in given:
            if name not in known:
                raise EmulatorError(f"/{path} has no option {name!r} (has {sorted(known)})")
        for o in schema:
            if o["name"] not in given:
                if o.get("required") and focused is None:
                    raise EmulatorError(f"/{path}: option {o['name']!r} is required")
                continue
            value = given[o["name"]]
            if focused is not None and o["name"] == focused:
                out.append({"name": o["name"], "type": o["type"], "value": value,
                            "focused": True})
                continue
            if focused is not None and o["type"] not in (6, 7, 8, 9, 11):
                out.append({"name": o["name"], "type": o["type"], "value": value})
                continue
            v = self._resolve_value(o, value, ch.id, resolved)
            out.append({"name": o["name"], "type": o["type"], "value": v})
        if focused is not None and focused not in given:
            raise EmulatorError(f"focused option {focused!r} needs a value in options")
        if focused is not None and not known.get(focused, {}).get("autocomplete"):
            raise EmulatorError(f"option {focused!r} does not have autocomplete")
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1,
                                "options": out_root}
        if resolved:
            data["resolved"] = resolved
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return data

    def _check_command_permission(self: Emulator, user_id: int, ch: Channel,
                                  cmd: dict[str, Any]) -> None:
        need = cmd.get("default_member_permissions")
        if need is None or self.interactions.permission_overrides.get((ch.guild_id, cmd["name"])):
            return
        perms = self.state.permissions(_id(user_id), ch.id)
        if int(need) == 0 or (perms & int(need)) != int(need):
            raise EmulatorForbidden(f"/{cmd['name']} is not available to this member "
                                    f"(default_member_permissions={need})")

    def allow_command_for_everyone(self: Emulator, guild_id: int, name: str) -> None:
        """What a server admin can do in Server Settings → Integrations: show command
        ``name`` to everyone in the guild, overriding its ``default_member_permissions``.
        (The bot must still check permissions itself.)"""
        self.interactions.permission_overrides[(_id(guild_id), name)] = True
        self.notify()

    async def slash(self: Emulator, user_id: int, channel_id: int, command: str,
                    options: dict[str, Any] | None = None, *,
                    timeout: float = DEFAULT_ANSWER_TIMEOUT) -> InteractionResult:
        """Run ``/command [group] [subcommand]`` with options typed per the synced schema.

        Returns when the bot's initial callback arrived (accepted or refused); use
        ``await r.wait_done()`` for deferred answers."""
        data = self._command_data(_id(user_id), channel_id, command, options)
        r = self.interactions.create(APPLICATION_COMMAND, _id(user_id), _id(channel_id), data)
        return await self.interactions.wait_answer(r, timeout)

    async def start_slash(self: Emulator, user_id: int, channel_id: int, command: str,
                          options: dict[str, Any] | None = None) -> InteractionResult:
        """Like :meth:`slash` but returns at once, without waiting for the bot's answer."""
        data = self._command_data(_id(user_id), channel_id, command, options)
        return self.interactions.create(APPLICATION_COMMAND, _id(user_id), _id(channel_id), data)

    async def autocomplete(self: Emulator, user_id: int, channel_id: int, command: str,
                           options: dict[str, Any], focused: str, *,
                           timeout: float = DEFAULT_ANSWER_TIMEOUT) -> list[dict[str, Any]]:
        """Type into an autocomplete option; returns the bot's choices (``[{"name","value"}]``).
        Raises EmulatorError if Discord refused the answer (e.g. more than 25 choices)."""
        data = self._command_data(_id(user_id), channel_id, command, options, focused=focused)
        r = self.interactions.create(AUTOCOMPLETE, _id(user_id), _id(channel_id), data)
        await self.interactions.wait_answer(r, timeout)
        if r.errors:
            e = r.errors[0]
            raise EmulatorError(f"Discord refused the autocomplete answer: {e.code} {e.message} "
                                f"{e.errors or ''}")
        return list(r.choices or [])

    async def context_menu(self: Emulator, user_id: int, channel_id: int, name: str, *,
                           target_message_id: int | None = None,
                           target_user_id: int | None = None,
                           timeout: float = DEFAULT_ANSWER_TIMEOUT) -> InteractionResult:
        """Use a message (``target_message_id``) or user (``target_user_id``) context menu."""
        ch = self.state.channel(_id(channel_id))
        resolved: dict[str, Any] = {}
        if target_message_id is not None:
            cmd = self.interactions.find_command(ch.guild_id, name, 3)
            m = self.state.message(_id(target_message_id))
            target = m.id
            resolved["messages"] = {str(m.id): self._msg_json(m)}
        elif target_user_id is not None:
            cmd = self.interactions.find_command(ch.guild_id, name, 2)
            uid = _id(target_user_id)
            target = uid
            resolved["users"] = {str(uid): pl.user_json(self.state.user(uid))}
            mem = self.state.guilds[ch.guild_id].members.get(uid)
            if mem is not None:
                resolved["members"] = {str(uid): pl.member_json(mem, with_user=False)}
        else:
            raise EmulatorError("context_menu needs target_message_id or target_user_id")
        self._check_command_permission(user_id, ch, cmd)
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": cmd["type"],
                                "target_id": str(target), "resolved": resolved}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        r = self.interactions.create(APPLICATION_COMMAND, _id(user_id), ch.id, data)
        return await self.interactions.wait_answer(r, timeout)

    async def submit_modal(self: Emulator, user_id: int, modal: ModalSpec,
                           values: dict[str, str], *,
                           timeout: float = DEFAULT_ANSWER_TIMEOUT) -> InteractionResult:
        """Fill in and submit a modal the bot opened; ``values`` by text-input custom_id."""
        if modal is None:
            raise EmulatorError("no modal to submit (did the bot answer with a modal?)")
        ids = {c.get("custom_id") for c in modal.inputs}
        for k in values:
            if k not in ids:
                raise EmulatorError(f"modal {modal.custom_id!r} has no input {k!r}")

        def fill(c: dict[str, Any]) -> dict[str, Any]:
            if c.get("type") != 4:
                return {"type": c.get("type"), "custom_id": c.get("custom_id"),
                        "values": list(values.get(c.get("custom_id"), []) or [])}
            v = values.get(c["custom_id"], c.get("value") or "")
            if c.get("required", True) and not v:
                raise EmulatorError(f"modal input {c['custom_id']!r} is required")
            if v and not c.get("min_length", 0) <= len(v) <= c.get("max_length", 4000):
                raise EmulatorError(f"modal input {c['custom_id']!r}: length out of bounds")
            return {"type": 4, "custom_id": c["custom_id"], "value": v}

        comps = []
        for c in modal.components:
            if c.get("type") == 1:
                comps.append({"type": 1, "components": [fill(x) for x in c.get("components")]})
            elif c.get("type") == 18:
                comps.append({"type": 18, "id": c.get("id"), "component": fill(c["component"])})
            elif c.get("type") != 10:
                comps.append(fill(c))
        data = {"custom_id": modal.custom_id, "components": comps}
        source = self.state.messages.get(modal.source_message_id or 0)
        r = self.interactions.create(MODAL_SUBMIT, _id(user_id), modal.channel_id, data,
                                     message=source)
        return await self.interactions.wait_answer(r, timeout)

    async def press_button(self: Emulator, user_id: int, message: Message | int,
                           custom_id: str, *, values: list[str] | None = None,
                           timeout: float = DEFAULT_ANSWER_TIMEOUT) -> InteractionResult:
        """Click a button (or choose ``values`` in a select) on a message the bot sent."""
        m = message if isinstance(message, Message) else self.state.message(_id(message))
        m = self.state.messages.get(m.id, m)
        comp = _find_component(m.components, custom_id)
        if comp is None:
            raise EmulatorError(f"message {m.id} has no component {custom_id!r}")
        if comp.get("disabled"):
            raise EmulatorForbidden(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if comp["type"] != 2:
            data["values"] = list(values or [])
        r = self.interactions.create(MESSAGE_COMPONENT, _id(user_id), m.channel_id, data,
                                     message=m)
        return await self.interactions.wait_answer(r, timeout)

    async def choose(self: Emulator, user_id: int, message: Message | int, custom_id: str,
                     values: list[str], **kw: Any) -> InteractionResult:
        """Pick ``values`` in a select menu."""
        return await self.press_button(user_id, message, custom_id, values=values, **kw)

    # --- queries ------------------------------------------------------------------------

    def messages_in(self: Emulator, channel_id: int) -> list[Message]:
        """Messages of a channel or thread in order (oldest first; no ephemeral ones)."""
        ch = self.state.channel(_id(channel_id))
        return [self.state.messages[i] for i in ch.message_ids]

    def get_message(self: Emulator, message_id: int) -> Message:
        return self.state.message(_id(message_id))

    def channel(self: Emulator, channel_id: int) -> Channel:
        return self.state.channel(_id(channel_id))

    def channel_named(self: Emulator, guild_id: int, name: str) -> Channel | None:
        g = self.state.guild(_id(guild_id))
        for c in g.channel_ids:
            ch = self.state.channels.get(c)
            if ch is not None and ch.name == name:
                return ch
        return None

    def role(self: Emulator, guild_id: int, role_id: int) -> Role:
        return self.state.guild(_id(guild_id)).roles[_id(role_id)]


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for c in components or []:
        if c.get("custom_id") == custom_id:
            return c
        for key in ("components", "accessory", "component"):
            sub = c.get(key)
            if isinstance(sub, dict):
                sub = [sub]
            if isinstance(sub, list):
                found = _find_component(sub, custom_id)
                if found is not None:
                    return found
    return None
