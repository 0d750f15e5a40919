"""Domain operations shared by the REST API (actor = the bot) and participant actions.

Every operation checks Discord's rules, mutates :class:`~bot.emulator.state.State`,
and dispatches the gateway events Discord would send.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import payloads as pl
from .errors import ApiError
from .limits import (
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    MAX_CATEGORY_CHANNELS,
    MAX_GUILD_CHANNELS,
    refuse_invalid_unicode,
    validate_applied_tags,
    validate_available_tags,
    validate_files,
    validate_message,
)
from .ratelimit import RateLimits
from .state import (
    CATEGORY,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    FORUM,
    NEWS,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    TEXT,
    Attachment,
    Channel,
    Clock,
    Guild,
    Member,
    Message,
    Overwrite,
    P,
    Role,
    State,
    User,
    normalize_channel_name,
)

MAX_PINS = 50
#: the only values Discord accepts for a thread's ``auto_archive_duration`` (minutes)
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


def auto_archive_minutes(value: Any) -> int:
    """A thread's auto-archive duration as Discord validates it (default 1440 minutes)."""
    if value is None:
        return 1440
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if minutes not in AUTO_ARCHIVE_DURATIONS:
        raise ApiError.form("auto_archive_duration", "BASE_TYPE_CHOICES",
                            "Value must be one of {60, 1440, 4320, 10080}.")
    return minutes


FORWARD = 1  # message_reference type of a forwarded message
HAS_SNAPSHOT = 1 << 14  # message flag of a forward


@dataclass
class FileUpload:
    """A file in a request or an upload prepared by a test (``emu.upload(name, data)``)."""

    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None


@dataclass
class RequestRecord:
    """One REST call the bot made: ``route`` is the template, e.g. ``/channels/{channel_id}``."""

    method: str
    route: str | None
    path: str
    status: int
    query: dict[str, str] = field(default_factory=dict)
    json: Any = None
    time: float = 0.0


def emoji_key(emoji: str | dict[str, Any]) -> str:
    """Normalise ``"👍"``, ``"name:id"``, ``"<:name:id>"`` or an emoji dict to ``name`` / ``name:id``."""
    if isinstance(emoji, dict):
        return f"{emoji.get('name')}:{emoji['id']}" if emoji.get("id") else str(emoji.get("name"))
    e = emoji.strip()
    if e.startswith("<") and e.endswith(">"):
        e = e.strip("<>").lstrip("a").lstrip(":")
    return e


def emoji_json(key: str) -> dict[str, Any]:
    name, _, eid = key.partition(":")
    return {"id": eid or None, "name": name}


class EmulatorBase:
    """State, setup helpers and rule-checked operations. :class:`~bot.emulator.Emulator` adds
    the server, gateway, interactions and participant actions on top."""

    def __init__(self, *, bot_name: str = "Consultation Bot",
                 bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
                 clock: Clock | None = None,
                 message_content_intent_allowed: bool = True,
                 members_intent_allowed: bool = True,
                 rate_limits: RateLimits | None = None) -> None:
        self.clock = clock or Clock()
        #: per-route and global REST rate limits (``emu.rate_limits.enabled = False`` turns
        #: them off); see :mod:`bot.emulator.ratelimit`
        self.rate_limits = rate_limits if rate_limits is not None else RateLimits()
        self.state = State(self.clock)
        self.bot_token = "emu." + secrets.token_urlsafe(24)
        self.bot_user = User(self.state.ids.next(), bot_name, bot=True)
        self.state.users[self.bot_user.id] = self.bot_user
        self.application_id = self.bot_user.id
        self.default_bot_permissions = bot_permissions
        #: privileged intents enabled "in the developer portal"
        self.message_content_intent_allowed = message_content_intent_allowed
        self.members_intent_allowed = members_intent_allowed
        self.requests: list[RequestRecord] = []
        self.base_url = ""
        self._changed = asyncio.Event()
        self._change_count = 0

    # --- plumbing -----------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any]) -> None:  # overridden by Emulator
        self.notify()

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for` (called on every state change)."""
        self._change_count += 1
        self._changed.set()
        self._changed = asyncio.Event()

    def now_iso(self) -> str:
        return self.clock.iso()

    def _msg_json(self, m: Message, **kw: Any) -> dict[str, Any]:
        return pl.message_json(self.state, m, self.base_url, viewer_id=self.bot_user.id, **kw)

    def _dispatch_message(self, event: str, m: Message) -> None:
        if m.ephemeral:
            self.notify()
            return
        self.dispatch(event, self._msg_json(m, with_member=True))

    def _dispatch_channel(self, event: str, ch: Channel, **extra: Any) -> None:
        prefix = "THREAD_" if ch.is_thread else "CHANNEL_"
        d = pl.channel_json(ch)
        d.update(extra)
        self.dispatch(prefix + event, d)

    # --- setup (Discord-side administration, no permission checks) ---------------------

    def create_user(self, username: str, *, bot: bool = False) -> User:
        u = User(self.state.ids.next(), username, bot=bot)
        self.state.users[u.id] = u
        return u

    def create_guild(self, name: str, *, bot_permissions: int | None = None,
                     everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
                     on_shard: tuple[int, int] | None = None) -> Guild:
        """Create a guild with an @everyone role (id = guild id), a hidden owner and the bot
        as a member holding a managed bot role (``guild.bot_role_id``). ``on_shard=(id,
        count)``: give it an id whose events go to that shard (the clock moves on a few ms)."""
        owner = self.create_user(f"{name.lower().replace(' ', '-')}-owner")
        gid = self.state.ids.next()
        while on_shard is not None and (gid >> 22) % on_shard[1] != on_shard[0]:
            self.clock.advance((on_shard[0] - (gid >> 22)) % on_shard[1] / 1000)
            gid = self.state.ids.next()
        g = Guild(gid, name, owner.id)
        g.roles[gid] = Role(gid, gid, "@everyone", everyone_permissions, position=0)
        self.state.guilds[gid] = g
        bot_role = Role(self.state.ids.next(), gid, self.bot_user.username,
                        self.default_bot_permissions if bot_permissions is None else bot_permissions,
                        position=1, managed=True)
        g.roles[bot_role.id] = bot_role
        g.bot_role_id = bot_role.id
        g.members[owner.id] = Member(owner, gid, [], joined_at=self.now_iso())
        g.members[self.bot_user.id] = Member(self.bot_user, gid, [bot_role.id],
                                             joined_at=self.now_iso())
        self.dispatch("GUILD_CREATE", pl.guild_json(self.state, g, full=True))
        return g

    def create_role(self, guild_id: int, name: str, permissions: int = 0, *,
                    mentionable: bool = False, position: int | None = None) -> Role:
        g = self.state.guild(guild_id)
        pos = position if position is not None else max(r.position for r in g.roles.values()) + 1
        r = Role(self.state.ids.next(), g.id, name, permissions, pos, mentionable=mentionable)
        g.roles[r.id] = r
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(g.id), "role": pl.role_json(r)})
        return r

    def set_role_permissions(self, guild_id: int, role_id: int, permissions: int) -> Role:
        """Change a role's permissions (e.g. take MANAGE_CHANNELS from the bot role)."""
        g = self.state.guild(guild_id)
        r = g.roles[int(role_id)]
        r.permissions = permissions
        self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(g.id), "role": pl.role_json(r)})
        return r

    def add_member(self, guild_id: int, username: str, roles: list[int] | None = None, *,
                   bot: bool = False) -> Member:
        g = self.state.guild(guild_id)
        u = self.create_user(username, bot=bot)
        m = Member(u, g.id, list(roles or []), joined_at=self.now_iso())
        g.members[u.id] = m
        d = pl.member_json(m)
        d["guild_id"] = str(g.id)
        self.dispatch("GUILD_MEMBER_ADD", d)
        return m

    def set_member_roles(self, guild_id: int, user_id: int, roles: list[int]) -> Member:
        m = self.state.member(guild_id, user_id)
        m.roles = list(roles)
        d = pl.member_json(m)
        d["guild_id"] = str(m.guild_id)
        self.dispatch("GUILD_MEMBER_UPDATE", d)
        return m

    def _new_channel(self, guild_id: int, ctype: int, name: str, *, parent_id: int | None = None,
                     topic: str | None = None, position: int | None = None,
                     overwrites: list[dict[str, Any]] | None = None,
                     available_tags: list[dict[str, Any]] | None = None) -> Channel:
        g = self.state.guild(guild_id)
        name = normalize_channel_name(name, ctype)
        if parent_id is not None:
            parent = self.state.channels.get(int(parent_id))
            if parent is None or parent.type != CATEGORY or ctype == CATEGORY:
                raise ApiError.form("parent_id", "CHANNEL_PARENT_INVALID", "Invalid parent channel")
            parent_id = parent.id
        if position is None:
            position = sum(1 for c in g.channel_ids
                           if c in self.state.channels and not self.state.channels[c].is_thread)
        ch = Channel(self.state.ids.next(), g.id, ctype, name, position=position,
                     parent_id=parent_id, topic=topic)
        for o in overwrites or []:
            ow = Overwrite(int(o["id"]), int(o.get("type", 0)), int(o.get("allow", 0) or 0),
                           int(o.get("deny", 0) or 0))
            ch.overwrites[ow.id] = ow
        if available_tags and ctype == FORUM:  # in the CHANNEL_CREATE event already
            ch.available_tags = validate_available_tags(available_tags, [], self.state.ids.next)
        self.state.channels[ch.id] = ch
        g.channel_ids.append(ch.id)
        self._dispatch_channel("CREATE", ch)
        return ch

    def create_category(self, guild_id: int, name: str, **kw: Any) -> Channel:
        return self._new_channel(guild_id, CATEGORY, name, **kw)

    def create_text_channel(self, guild_id: int, name: str, parent_id: int | None = None,
                            **kw: Any) -> Channel:
        return self._new_channel(guild_id, TEXT, name, parent_id=parent_id, **kw)

    def create_forum_channel(self, guild_id: int, name: str, parent_id: int | None = None,
                             **kw: Any) -> Channel:
        return self._new_channel(guild_id, FORUM, name, parent_id=parent_id, **kw)

    def set_overwrite(self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0,
                      type: int | None = None) -> Channel:
        """Set a permission overwrite as an administrator would (no permission checks)."""
        ch = self.state.channel(channel_id)
        g = self.state.guild(ch.guild_id)
        t = type if type is not None else (0 if int(target_id) in g.roles else 1)
        ch.overwrites[int(target_id)] = Overwrite(int(target_id), t, allow, deny)
        self._dispatch_channel("UPDATE", ch)
        return ch

    # --- messages -----------------------------------------------------------------------

    def _check_can_post(self, actor_id: int, ch: Channel) -> None:
        if ch.type in (CATEGORY, FORUM):
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        perms = self.state.permissions(actor_id, ch.id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        need = P.SEND_MESSAGES_IN_THREADS if ch.is_thread else P.SEND_MESSAGES
        if not perms & need:
            raise ApiError(403, 50013, "Missing Permissions")
        if ch.is_thread:
            if ch.locked and not perms & P.MANAGE_THREADS:
                raise ApiError(403, 160005, "Thread is locked")
            if ch.archived and ch.locked:  # only a PATCH archived=false (Manage Threads) reopens it
                raise ApiError(400, 50083, "Thread is archived")
            if ch.archived:  # sending a message unarchives a thread that is not locked
                self._set_archived(ch, False)

    def _set_archived(self, ch: Channel, archived: bool) -> None:
        ch.archived = archived
        ch.archive_timestamp = self.now_iso()
        if not archived:
            ch.last_activity = self.clock.now()
        self._dispatch_channel("UPDATE", ch)

    def archive_idle_threads(self) -> list[Channel]:
        """Discord's auto-archive: every active thread idle for its ``auto_archive_duration``
        (by the emulated clock) becomes archived, with a THREAD_UPDATE. Runs whenever the
        clock is advanced and before each REST call or participant action."""
        now = self.clock.now()
        done = []
        for th in list(self.state.channels.values()):
            if not th.is_thread or th.archived or not th.last_activity:
                continue
            due = th.last_activity + th.auto_archive_duration * 60
            if now >= due:
                th.archived = True
                th.archive_timestamp = self.clock.iso(due)
                self._dispatch_channel("UPDATE", th)
                done.append(th)
        return done

    def _check_files(self, channel_id: int, files: list[FileUpload] | None) -> None:
        """Discord's per-file (the server's limit) and per-request upload limits."""
        guild = self.state.guilds.get(self.state.channel(channel_id).guild_id)
        validate_files([len(f.data) for f in files or []],
                       guild.attachment_size_limit if guild else DEFAULT_ATTACHMENT_SIZE_LIMIT)

    def _attachments(self, channel_id: int, files: list[FileUpload],
                     meta: list[dict[str, Any]] | None) -> list[Attachment]:
        out = []
        for i, f in enumerate(files):
            desc = f.description
            for a in meta or []:
                if str(a.get("id")) == str(i):
                    desc = a.get("description", desc)
            a = Attachment(self.state.ids.next(), f.filename, f.data,
                           f.content_type or _guess_type(f.filename), desc, channel_id)
            self.state.attachments[a.id] = a
            out.append(a)
        return out

    def post_message(self, actor_id: int, channel_id: int, payload: dict[str, Any],
                     files: list[FileUpload] | None = None, *, check: bool = True,
                     webhook_id: int | None = None, ephemeral: bool = False,
                     interaction_metadata: dict[str, Any] | None = None,
                     msg_type: int | None = None, message_id: int | None = None) -> Message:
        """Create a message as ``actor_id`` (rule-checked unless ``check=False``)."""
        files = files or []
        ch = self.state.channel(channel_id)
        refuse_invalid_unicode(payload)
        validate_message(payload, len(files))
        self._check_files(ch.id, files)
        if check:
            self._check_can_post(actor_id, ch)
            if files and not self.state.has(actor_id, P.ATTACH_FILES, ch.id):
                raise ApiError(403, 50013, "Missing Permissions")
        elif ch.is_thread and ch.archived and not ephemeral:
            self._set_archived(ch, False)
        ref = payload.get("message_reference")
        mtype = msg_type if msg_type is not None else 0
        snapshots: list[dict[str, Any]] = []
        if ref and int(ref.get("type") or 0) == FORWARD:
            ref, snapshots = self._forward_reference(actor_id, ch, payload, ref, check)
        elif ref and msg_type is None:
            target = self.state.messages.get(int(ref.get("message_id") or 0))
            if target is None or target.deleted or target.channel_id != ch.id:
                if ref.get("fail_if_not_exists", True):
                    raise ApiError.form("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                        "Unknown message")
                ref = None
            else:
                ref = {"type": 0, "message_id": str(target.id), "channel_id": str(ch.id),
                       "guild_id": str(ch.guild_id)}
                mtype = 19
        content = payload.get("content")
        m = Message(
            id=message_id or self.state.ids.next(), channel_id=ch.id, guild_id=ch.guild_id,
            author_id=actor_id, content="" if content is None else str(content), type=mtype,
            embeds=[_embed_out(e) for e in payload.get("embeds") or []],
            attachments=self._attachments(ch.id, files, payload.get("attachments")),
            components=list(payload.get("components") or []),
            flags=int(payload.get("flags") or 0) | (64 if ephemeral else 0),
            reference=ref, timestamp=self.now_iso(),
            allowed_mentions=payload.get("allowed_mentions"), webhook_id=webhook_id,
            application_id=self.application_id if webhook_id else None,
            interaction_metadata=interaction_metadata, ephemeral=ephemeral,
            tts=bool(payload.get("tts")), nonce=payload.get("nonce"),
            snapshots=snapshots,
        )
        m.embeds = _resolve_attachment_refs(m.embeds, m.attachments, self.base_url)
        if snapshots:
            m.flags |= HAS_SNAPSHOT
        m.would_ping = self.state.compute_pings(m, m.allowed_mentions)
        self.state.messages[m.id] = m
        if not ephemeral:
            ch.message_ids.append(m.id)
            ch.last_message_id = m.id
            if ch.is_thread:
                ch.message_count += 1
                ch.total_message_sent += 1
                ch.last_activity = self.clock.now()
        self._dispatch_message("MESSAGE_CREATE", m)
        return m

    def _forward_reference(self, actor_id: int, ch: Channel, payload: dict[str, Any],
                           ref: dict[str, Any], check: bool
                           ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A forward: message_reference type 1 to a message the actor can read. The new
        message has no content of its own; it carries a snapshot of the original."""
        if payload.get("content") or payload.get("embeds") or payload.get("attachments"):
            raise ApiError.form("message_reference", "MESSAGE_FORWARD_WITH_CONTENT",
                                "Forwarded messages cannot have content")
        source = self.state.messages.get(int(ref.get("message_id") or 0))
        if source is None or source.deleted or source.ephemeral:
            raise ApiError.form("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                "Unknown message")
        if check:
            need = P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY
            if self.state.permissions(actor_id, source.channel_id) & need != need:
                raise ApiError(403, 50001, "Missing Access")
        src = pl.message_json(self.state, source, self.base_url, with_referenced=False)
        snapshot = {k: src[k] for k in ("type", "content", "embeds", "attachments", "timestamp",
                                        "edited_timestamp", "flags", "mentions", "mention_roles",
                                        "components")}
        snapshot["stickers"] = []
        return ({"type": FORWARD, "message_id": str(source.id),
                 "channel_id": str(source.channel_id), "guild_id": str(source.guild_id)},
                [{"message": snapshot}])

    def op_edit_message(self, actor_id: int, m: Message, payload: dict[str, Any],
                     files: list[FileUpload] | None = None, *, check: bool = True) -> Message:
        """Edit a message. Only its author may change content; others may only touch flags."""
        refuse_invalid_unicode(payload)
        if check:
            ch = self.state.channel(m.channel_id)
            if ch.is_thread and ch.archived:
                raise ApiError(400, 50083, "Thread is archived")
            if m.author_id != actor_id:
                if set(payload) - {"flags"}:
                    raise ApiError(403, 50005, "Cannot edit a message authored by another user")
                self.state.require(actor_id, P.MANAGE_MESSAGES, m.channel_id)
        validate_message(payload, len(files or []), edit=True)
        self._check_files(m.channel_id, files)
        if "content" in payload:
            m.content = "" if payload["content"] is None else str(payload["content"])
        if "embeds" in payload:
            m.embeds = [_embed_out(e) for e in payload["embeds"] or []]
        if "components" in payload:
            m.components = list(payload["components"] or [])
        if "flags" in payload and payload["flags"] is not None:
            m.flags = int(payload["flags"]) | (m.flags & 64)
        if "attachments" in payload:
            keep = {str(a.get("id")) for a in payload["attachments"] or []}
            m.attachments = [a for a in m.attachments if str(a.id) in keep]
        if files:
            m.attachments += self._attachments(m.channel_id, files, payload.get("attachments"))
        if "embeds" in payload:
            m.embeds = _resolve_attachment_refs(m.embeds, m.attachments, self.base_url)
        if "allowed_mentions" in payload:
            m.allowed_mentions = payload["allowed_mentions"]
        if m.author_id == actor_id or not check:
            m.edited_timestamp = self.now_iso()
        m.flags &= ~128  # no longer "loading"
        m.would_ping = self.state.compute_pings(m, m.allowed_mentions)
        self._dispatch_message("MESSAGE_UPDATE", m)
        return m

    def op_delete_message(self, actor_id: int, m: Message, *, check: bool = True) -> None:
        if check and m.author_id != actor_id:
            self.state.require(actor_id, P.MANAGE_MESSAGES, m.channel_id)
        self._remove_message(m)
        if not m.ephemeral:
            self.dispatch("MESSAGE_DELETE", {"id": str(m.id), "channel_id": str(m.channel_id),
                                             "guild_id": str(m.guild_id)})

    def _remove_message(self, m: Message) -> None:
        m.deleted = True
        ch = self.state.channels.get(m.channel_id)
        if ch is not None and m.id in ch.message_ids:
            ch.message_ids.remove(m.id)
            if ch.is_thread:
                ch.message_count = max(0, ch.message_count - 1)

    def bulk_delete_messages(self, actor_id: int | None, channel_id: int, ids: list[int]) -> None:
        ch = self.state.channel(channel_id)
        if actor_id is not None:
            self.state.require(actor_id, P.MANAGE_MESSAGES, ch.id)
            if not 2 <= len(ids) <= 100:
                raise ApiError.form("messages", "BASE_TYPE_BAD_LENGTH",
                                    "Must be between 2 and 100 in length.")
        msgs = [self.state.message(i, ch.id) for i in ids]
        for m in msgs:
            self._remove_message(m)
        self.dispatch("MESSAGE_DELETE_BULK", {"ids": [str(m.id) for m in msgs],
                                              "channel_id": str(ch.id),
                                              "guild_id": str(ch.guild_id)})

    # --- reactions ----------------------------------------------------------------------

    def react(self, user_id: int, m: Message, emoji: str | dict[str, Any], *,
              check: bool = True, burst: bool = False) -> None:
        """Add a reaction (``burst``: a super reaction, listed apart by Discord)."""
        key = emoji_key(emoji)
        table = m.burst_reactions if burst else m.reactions
        users = table.get(key, [])
        if check:
            ch = self.state.channel(m.channel_id)
            if ch.is_thread and ch.archived:
                raise ApiError(400, 50083, "Thread is archived")
            perms = self.state.permissions(user_id, m.channel_id)
            if not perms & P.READ_MESSAGE_HISTORY:
                raise ApiError(403, 50013, "Missing Permissions")
            shown = users or m.reactions.get(key) or m.burst_reactions.get(key)
            if not shown and not perms & P.ADD_REACTIONS:
                raise ApiError(403, 50013, "Missing Permissions")
        if user_id in users:
            return
        table.setdefault(key, users).append(user_id)
        g = self.state.guilds.get(m.guild_id or 0)
        d = {"user_id": str(user_id), "channel_id": str(m.channel_id), "message_id": str(m.id),
             "guild_id": str(m.guild_id), "emoji": emoji_json(key), "burst": burst,
             "burst_colors": ["#ffcc4d"] if burst else [], "type": 1 if burst else 0,
             "message_author_id": str(m.author_id)}
        if g and user_id in g.members:
            d["member"] = pl.member_json(g.members[user_id])
        self.dispatch("MESSAGE_REACTION_ADD", d)

    def unreact(self, user_id: int, m: Message, emoji: str | dict[str, Any], *,
                burst: bool = False) -> None:
        key = emoji_key(emoji)
        table = m.burst_reactions if burst else m.reactions
        users = table.get(key) or []
        if user_id not in users:
            return
        users.remove(user_id)
        if not users:
            table.pop(key, None)
        self.dispatch("MESSAGE_REACTION_REMOVE", {
            "user_id": str(user_id), "channel_id": str(m.channel_id), "message_id": str(m.id),
            "guild_id": str(m.guild_id), "emoji": emoji_json(key), "burst": burst,
            "type": 1 if burst else 0})

    def clear_reactions(self, actor_id: int, m: Message,
                        emoji: str | dict[str, Any] | None = None) -> None:
        """A moderator removes every reaction of a message (MESSAGE_REACTION_REMOVE_ALL), or
        every reaction with one emoji (MESSAGE_REACTION_REMOVE_EMOJI); needs Manage Messages."""
        self.state.require(actor_id, P.MANAGE_MESSAGES, m.channel_id)
        where = {"channel_id": str(m.channel_id), "message_id": str(m.id),
                 "guild_id": str(m.guild_id)}
        if emoji is None:
            m.reactions.clear()
            m.burst_reactions.clear()
            self.dispatch("MESSAGE_REACTION_REMOVE_ALL", where)
            return
        key = emoji_key(emoji)
        m.reactions.pop(key, None)
        m.burst_reactions.pop(key, None)
        self.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", {**where, "emoji": emoji_json(key)})

    # --- pins ---------------------------------------------------------------------------

    def pin(self, actor_id: int, m: Message, pinned: bool = True) -> None:
        ch = self.state.channel(m.channel_id)
        perms = self.state.permissions(actor_id, ch.id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & P.PIN_MESSAGES:  # Manage Messages no longer covers pinning
            raise ApiError(403, 50013, "Missing Permissions")
        if ch.is_thread and ch.archived:
            raise ApiError(400, 50083, "Thread is archived")
        if m.pinned == pinned:
            return
        if pinned and len(self.pins(ch.id)) >= MAX_PINS:
            raise ApiError(400, 30003, "Maximum number of pins reached (50)")
        m.pinned = pinned
        m.pinned_at = self.now_iso() if pinned else None
        ch.last_pin_timestamp = max((p.pinned_at or "" for p in self.pins(ch.id)), default=None)
        self.dispatch("CHANNEL_PINS_UPDATE", {"guild_id": str(ch.guild_id),
                                              "channel_id": str(ch.id),
                                              "last_pin_timestamp": ch.last_pin_timestamp})
        self._dispatch_message("MESSAGE_UPDATE", m)
        if pinned:
            sysmsg = Message(self.state.ids.next(), ch.id, ch.guild_id, actor_id, "", type=6,
                             timestamp=self.now_iso(),
                             reference={"type": 0, "message_id": str(m.id),
                                        "channel_id": str(ch.id), "guild_id": str(ch.guild_id)})
            self.state.messages[sysmsg.id] = sysmsg
            ch.message_ids.append(sysmsg.id)
            ch.last_message_id = sysmsg.id
            self._dispatch_message("MESSAGE_CREATE", sysmsg)

    def pins(self, channel_id: int) -> list[Message]:
        """Pinned messages of a channel, most recently pinned first."""
        ch = self.state.channel(channel_id)
        ms = [self.state.messages[i] for i in ch.message_ids if self.state.messages[i].pinned]
        return sorted(ms, key=lambda m: (m.pinned_at or "", m.id), reverse=True)

    # --- channels -----------------------------------------------------------------------

    def _check_overwrites(self, actor_id: int, ch_or_guild: int, ows: list[dict[str, Any]],
                          *, channel: bool) -> None:
        """Editing overwrites needs MANAGE_ROLES; and (Discord's rule) only permissions the
        actor has in the guild — or in the parent category, if any — can be allowed/denied,
        unless an overwrite in the channel explicitly grants the actor MANAGE_ROLES."""
        st = self.state
        if channel:
            ch = st.channel(ch_or_guild)
            perms = st.permissions(actor_id, ch.id)
            if not perms & P.MANAGE_ROLES:
                raise ApiError(403, 50013, "Missing Permissions")
            if self._overwrite_grants_manage_roles(actor_id, ch):
                return
            if ch.parent_id and ch.parent_id in st.channels:
                source = st.permissions(actor_id, ch.parent_id)
            else:
                source = st.permissions(actor_id, guild_id=ch.guild_id)
        else:
            source = st.permissions(actor_id, guild_id=ch_or_guild)
            if not source & P.MANAGE_ROLES:
                raise ApiError(403, 50013, "Missing Permissions")
        if source == P.ALL:
            return
        for o in ows:
            bits = int(o.get("allow") or 0) | int(o.get("deny") or 0)
            if bits & ~source:
                raise ApiError(403, 50013, "Missing Permissions")

    def _overwrite_grants_manage_roles(self, actor_id: int, ch: Channel) -> bool:
        member = self.state.guild(ch.guild_id).members.get(actor_id)
        targets = [actor_id] + (member.roles if member else [])
        return any(t in ch.overwrites and ch.overwrites[t].allow & P.MANAGE_ROLES
                   for t in targets)

    def create_channel(self, actor_id: int, guild_id: int, payload: dict[str, Any]) -> Channel:
        """POST /guilds/{id}/channels as ``actor_id``."""
        g = self.state.guild(guild_id)
        self.state.require(actor_id, P.MANAGE_CHANNELS, guild_id=g.id)
        ctype = int(payload.get("type") or 0)
        if ctype not in (TEXT, CATEGORY, FORUM, NEWS):
            raise ApiError.form("type", "BASE_TYPE_CHOICES", "Value must be one of (0, 4, 5, 15).")
        ows = payload.get("permission_overwrites") or []
        if ows:
            self._check_overwrites(actor_id, g.id, ows, channel=False)
        self._check_channel_caps(g.id, ctype, payload.get("parent_id"))
        return self._new_channel(g.id, ctype, payload.get("name"),
                                 parent_id=payload.get("parent_id"), topic=payload.get("topic"),
                                 position=payload.get("position"), overwrites=ows,
                                 available_tags=payload.get("available_tags"))

    def _check_channel_caps(self, guild_id: int, ctype: int, parent_id: Any,
                            moving: Channel | None = None) -> None:
        """Discord's caps: 500 channels per guild (30013; categories count, threads do not) and
        50 per category (400, 50035 ``CHANNEL_PARENT_MAX_CHANNELS``)."""
        g = self.state.guild(guild_id)
        chans = [self.state.channels[c] for c in g.channel_ids if c in self.state.channels]
        chans = [c for c in chans if not c.is_thread]
        if moving is None and len(chans) >= MAX_GUILD_CHANNELS:
            raise ApiError(400, 30013,
                           f"Maximum number of guild channels reached ({MAX_GUILD_CHANNELS})")
        if parent_id is None or ctype == CATEGORY:
            return
        in_category = [c for c in chans if c.parent_id == int(parent_id)
                       and (moving is None or c.id != moving.id)]
        if len(in_category) >= MAX_CATEGORY_CHANNELS:
            raise ApiError.form(
                "parent_id", "CHANNEL_PARENT_MAX_CHANNELS",
                f"Maximum number of channels in category reached ({MAX_CATEGORY_CHANNELS})")

    def modify_channel(self, actor_id: int, ch: Channel, payload: dict[str, Any]) -> Channel:
        """PATCH /channels/{id} with Discord's permission rules for channels and threads."""
        perms = self.state.permissions(actor_id, ch.id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if ch.is_thread:
            return self._modify_thread(actor_id, ch, payload, perms)
        if not perms & P.MANAGE_CHANNELS:
            raise ApiError(403, 50013, "Missing Permissions")
        tags = None
        if "available_tags" in payload and ch.type == FORUM:  # checked before any change
            tags = validate_available_tags(payload["available_tags"], ch.available_tags,
                                           self.state.ids.next)
        if "permission_overwrites" in payload:
            ows = payload["permission_overwrites"] or []
            self._check_overwrites(actor_id, ch.id, ows, channel=True)
            ch.overwrites = {int(o["id"]): Overwrite(int(o["id"]), int(o.get("type", 0)),
                                                     int(o.get("allow") or 0),
                                                     int(o.get("deny") or 0)) for o in ows}
        if "name" in payload:
            ch.name = normalize_channel_name(payload["name"], ch.type)
        if "topic" in payload:
            topic = payload["topic"]
            if topic and len(topic) > (4096 if ch.type == FORUM else 1024):
                raise ApiError.form("topic", "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length.")
            ch.topic = topic
        if "position" in payload and payload["position"] is not None:
            ch.position = int(payload["position"])
        if "parent_id" in payload:
            pid = payload["parent_id"]
            if pid is not None:
                parent = self.state.channels.get(int(pid))
                if parent is None or parent.type != CATEGORY:
                    raise ApiError.form("parent_id", "CHANNEL_PARENT_INVALID", "Invalid parent")
                pid = parent.id
                if pid != ch.parent_id:
                    self._check_channel_caps(ch.guild_id, ch.type, pid, moving=ch)
            ch.parent_id = pid
        for key in ("nsfw", "rate_limit_per_user"):
            if key in payload:
                setattr(ch, key, payload[key])
        if tags is not None:
            ch.available_tags = tags
            known = {int(t["id"]) for t in tags}
            for post in self.threads_of(ch.id):  # a deleted tag leaves its posts
                post.applied_tags = [t for t in post.applied_tags if t in known]
        self._dispatch_channel("UPDATE", ch)
        return ch

    def _modify_thread(self, actor_id: int, ch: Channel, payload: dict[str, Any],
                       perms: int) -> Channel:
        manage = bool(perms & P.MANAGE_THREADS)
        owner = ch.owner_id == actor_id
        if "locked" in payload and bool(payload["locked"]) != ch.locked and not manage:
            raise ApiError(403, 50013, "Missing Permissions")
        if "archived" in payload and bool(payload["archived"]) != ch.archived:
            if ch.locked and not manage:
                raise ApiError(403, 50013, "Missing Permissions")
            if not (manage or owner or not payload["archived"]):
                raise ApiError(403, 50013, "Missing Permissions")
        # An archived thread takes no change (locked included) unless the same PATCH
        # unarchives it: Discord answers 50083, as for edits and reactions inside it.
        if ch.archived and payload.get("archived", True) is not False and set(payload) - {"archived"}:
            raise ApiError(400, 50083, "Thread is archived")
        if "auto_archive_duration" in payload:
            payload = dict(payload, auto_archive_duration=auto_archive_minutes(
                payload["auto_archive_duration"]))
        if ("name" in payload or "auto_archive_duration" in payload) and not (manage or owner):
            raise ApiError(403, 50013, "Missing Permissions")
        applied = None
        if "applied_tags" in payload:
            applied = self._applied_tags(ch, payload["applied_tags"], manage, owner,
                                         before=ch.applied_tags)
        if "name" in payload:
            ch.name = normalize_channel_name(payload["name"], ch.type)
        if "locked" in payload:
            ch.locked = bool(payload["locked"])
        if "archived" in payload and bool(payload["archived"]) != ch.archived:
            ch.archived = bool(payload["archived"])
            ch.archive_timestamp = self.now_iso()
            if not ch.archived:
                ch.last_activity = self.clock.now()
        if "auto_archive_duration" in payload:
            ch.auto_archive_duration = int(payload["auto_archive_duration"])
            ch.archive_timestamp = self.now_iso()
            ch.last_activity = self.clock.now()
        if applied is not None:
            ch.applied_tags = applied
        if "invitable" in payload:
            ch.invitable = bool(payload["invitable"])
        if "rate_limit_per_user" in payload:
            ch.rate_limit_per_user = int(payload["rate_limit_per_user"] or 0)
        self._dispatch_channel("UPDATE", ch)
        return ch

    def delete_channel(self, actor_id: int | None, ch: Channel) -> None:
        if actor_id is not None:
            need = P.MANAGE_THREADS if ch.is_thread else P.MANAGE_CHANNELS
            self.state.require(actor_id, need, ch.id)
        for other in list(self.state.channels.values()):
            if other.parent_id == ch.id and other.is_thread:
                self.delete_channel(None, other)
            elif other.parent_id == ch.id:
                other.parent_id = None
        self.state.channels.pop(ch.id, None)
        for mid in ch.message_ids:
            if mid in self.state.messages:
                self.state.messages[mid].deleted = True
        g = self.state.guilds.get(ch.guild_id)
        if g and ch.id in g.channel_ids:
            g.channel_ids.remove(ch.id)
        if ch.is_thread:
            self.dispatch("THREAD_DELETE", {"id": str(ch.id), "guild_id": str(ch.guild_id),
                                            "parent_id": str(ch.parent_id), "type": ch.type})
        else:
            self._dispatch_channel("DELETE", ch)

    def put_overwrite(self, actor_id: int, ch: Channel, target_id: int,
                      payload: dict[str, Any]) -> None:
        if ch.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._check_overwrites(actor_id, ch.id, [payload], channel=True)
        ch.overwrites[int(target_id)] = Overwrite(int(target_id), int(payload.get("type", 0)),
                                                  int(payload.get("allow") or 0),
                                                  int(payload.get("deny") or 0))
        self._dispatch_channel("UPDATE", ch)

    def delete_overwrite(self, actor_id: int, ch: Channel, target_id: int) -> None:
        self._check_overwrites(actor_id, ch.id, [], channel=True)
        ch.overwrites.pop(int(target_id), None)
        self._dispatch_channel("UPDATE", ch)

    # --- threads ------------------------------------------------------------------------

    def _new_thread(self, actor_id: int, parent: Channel, name: str, ttype: int,
                    auto_archive: int | None, thread_id: int | None = None) -> Channel:
        now = self.now_iso()
        th = Channel(thread_id or self.state.ids.next(), parent.guild_id, ttype,
                     normalize_channel_name(name, ttype), parent_id=parent.id, owner_id=actor_id,
                     auto_archive_duration=auto_archive_minutes(auto_archive),
                     archive_timestamp=now, create_timestamp=now, member_ids=[actor_id],
                     last_activity=self.clock.now())
        self.state.channels[th.id] = th
        self.state.guild(parent.guild_id).channel_ids.append(th.id)
        return th

    def _dispatch_thread_create(self, th: Channel, actor_id: int) -> None:
        member = pl.thread_member_json(th, actor_id, th.create_timestamp or self.now_iso())
        self._dispatch_channel("CREATE", th, newly_created=True, member=member)

    def start_thread_from_message(self, actor_id: int, ch: Channel, m: Message,
                                  payload: dict[str, Any]) -> Channel:
        if ch.type not in (TEXT, NEWS) or m.channel_id != ch.id:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        perms = self.state.permissions(actor_id, ch.id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & P.CREATE_PUBLIC_THREADS:
            raise ApiError(403, 50013, "Missing Permissions")
        if m.thread_id is not None and m.thread_id in self.state.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        th = self._new_thread(actor_id, ch, payload.get("name"), PUBLIC_THREAD,
                              payload.get("auto_archive_duration"), thread_id=m.id)
        m.thread_id = th.id
        self._dispatch_thread_create(th, actor_id)
        return th

    def start_thread(self, actor_id: int, ch: Channel, payload: dict[str, Any],
                     files: list[FileUpload] | None = None) -> tuple[Channel, Message | None]:
        """POST /channels/{id}/threads: a thread without a message, or a forum post."""
        perms = self.state.permissions(actor_id, ch.id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if ch.type == FORUM:
            if not perms & P.SEND_MESSAGES:
                raise ApiError(403, 50013, "Missing Permissions")
            msg = payload.get("message")
            if not isinstance(msg, dict):
                raise ApiError.form("message", "BASE_TYPE_REQUIRED", "This field is required")
            validate_message(msg, len(files or []))
            normalize_channel_name(payload.get("name"), PUBLIC_THREAD)
            applied = self._applied_tags(ch, payload.get("applied_tags"),
                                         bool(perms & P.MANAGE_THREADS), True, before=[])
            th = self._new_thread(actor_id, ch, payload.get("name"), PUBLIC_THREAD,
                                  payload.get("auto_archive_duration"))
            th.applied_tags = applied
            ch.last_message_id = th.id
            self._dispatch_thread_create(th, actor_id)
            m = self.post_message(actor_id, th.id, msg, files, check=False, message_id=th.id)
            return th, m
        if ch.type not in (TEXT, NEWS):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        ttype = int(payload.get("type") or PRIVATE_THREAD)
        need = P.CREATE_PRIVATE_THREADS if ttype == PRIVATE_THREAD else P.CREATE_PUBLIC_THREADS
        if not perms & need:
            raise ApiError(403, 50013, "Missing Permissions")
        th = self._new_thread(actor_id, ch, payload.get("name"), ttype,
                              payload.get("auto_archive_duration"))
        if "invitable" in payload:
            th.invitable = bool(payload["invitable"])
        self._dispatch_thread_create(th, actor_id)
        if ttype == PUBLIC_THREAD:
            sysmsg = Message(self.state.ids.next(), ch.id, ch.guild_id, actor_id, th.name,
                             type=18, timestamp=self.now_iso(),
                             reference={"type": 0, "channel_id": str(th.id),
                                        "guild_id": str(ch.guild_id)})
            self.state.messages[sysmsg.id] = sysmsg
            ch.message_ids.append(sysmsg.id)
            ch.last_message_id = sysmsg.id
            sysmsg.would_ping = self.state.compute_pings(sysmsg, {"parse": []})
            self._dispatch_message("MESSAGE_CREATE", sysmsg)
        return th, None

    def _applied_tags(self, post: Channel, tags: Any, manage: bool, owner: bool,
                      before: list[int]) -> list[int]:
        """A forum post's new ``applied_tags`` as Discord checks them: only posts in a forum
        have tags (50024 otherwise), at most 5, each one of the forum's ids; changing them
        needs Manage Threads or owning the post, and a moderated tag is added or removed
        only with Manage Threads (403 50013)."""
        forum = post if post.type == FORUM else self.state.channels.get(post.parent_id or 0)
        if forum is None or forum.type != FORUM:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        applied = validate_applied_tags(tags, forum.available_tags)
        if not (manage or owner):
            raise ApiError(403, 50013, "Missing Permissions")
        moderated = {int(t["id"]) for t in forum.available_tags if t.get("moderated")}
        if not manage and (set(applied) ^ set(before)) & moderated:
            raise ApiError(403, 50013, "Missing Permissions")
        return applied

    def threads_of(self, channel_id: int) -> list[Channel]:
        """All threads (active and archived) whose parent is ``channel_id``, oldest first."""
        return sorted((c for c in self.state.channels.values()
                       if c.is_thread and c.parent_id == int(channel_id)), key=lambda c: c.id)

    # --- waiting ------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, *,
                       poll: float = 0.01) -> Any:
        """Wait until ``predicate()`` is truthy, re-checking on every emulator state change.

        The predicate may also look at the bot's side (e.g. what a client has received); such
        changes are not emulator events, so it is also re-checked every ``poll`` seconds.
        Returns the predicate's value; raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            ev = self._changed
            try:
                await asyncio.wait_for(ev.wait(), min(remaining, poll))
            except TimeoutError:
                pass


def _embed_out(e: dict[str, Any]) -> dict[str, Any]:
    e = dict(e)
    e.setdefault("type", "rich")
    return e


#: the embed parts whose ``url`` may be ``attachment://<filename>`` (discord-api-docs,
#: "Uploading Files": "Using Attachments within Embeds")
_ATTACHMENT_REF_PARTS = ("image", "thumbnail")


def _resolve_attachment_refs(embeds: list[dict[str, Any]], attachments: list[Any],
                             base_url: str) -> list[dict[str, Any]]:
    """``attachment://name`` in an embed's image or thumbnail becomes that uploaded file's
    URL, as Discord returns it; a name that matches no file of the message leaves the part
    without an image (Discord shows none)."""
    by_name = {a.filename: a for a in attachments}
    out = []
    for e in embeds:
        for part in _ATTACHMENT_REF_PARTS:
            ref = (e.get(part) or {}).get("url") or ""
            if not ref.startswith("attachment://"):
                continue
            e = dict(e)
            found = by_name.get(ref.removeprefix("attachment://"))
            if found is None:
                e.pop(part)
            else:
                url = pl.attachment_json(found, base_url)["url"]
                e[part] = {**e[part], "url": url, "proxy_url": url}
        out.append(e)
    return out


def _guess_type(filename: str) -> str | None:
    import mimetypes

    return mimetypes.guess_type(filename)[0]
