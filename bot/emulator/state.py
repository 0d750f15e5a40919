"""In-memory Discord state kept by the emulator: plain dataclasses and permission logic.

Nothing here talks to the network. :class:`State` owns every guild, user, channel,
thread and message; :func:`compute_permissions` implements Discord's permission
algorithm (base role permissions, administrator, channel overwrites in the order
@everyone → roles → member, threads inheriting their parent's overwrites).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

DISCORD_EPOCH_MS = 1420070400000


class P:
    """Discord permission bits (the subset the emulator reasons about, plus the usual rest)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_EVENTS = 1 << 33
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    CREATE_EVENTS = 1 << 44
    PIN_MESSAGES = 1 << 51
    ALL = (1 << 52) - 1


#: What a fresh server grants @everyone.
DEFAULT_EVERYONE_PERMISSIONS = (
    P.CREATE_INSTANT_INVITE | P.ADD_REACTIONS | P.VIEW_CHANNEL | P.SEND_MESSAGES
    | P.EMBED_LINKS | P.ATTACH_FILES | P.READ_MESSAGE_HISTORY | P.USE_EXTERNAL_EMOJIS
    | P.CHANGE_NICKNAME | P.USE_APPLICATION_COMMANDS | P.CREATE_PUBLIC_THREADS
    | P.CREATE_PRIVATE_THREADS | P.SEND_MESSAGES_IN_THREADS
)

#: The permission integer of the README's invite: exactly what the bot uses, no more.
#: View Channels (read the agenda's channels), Send Messages and Send Messages in Threads
#: (articles, notices, /quote, /cite), Embed Links and Attach Files (articles are embeds;
#: reports and maps are files), Read Message History (catch-up, article edits), Manage
#: Channels (create the agenda's category and channels), Create Public Threads (sub-items),
#: Manage Roles (lock overwrites), Manage Threads (lock and unarchive threads), Pin Messages
#: (pin articles; since Feb 2026 Manage Messages no longer covers it), Create Events (the
#: consultation's scheduled event; it covers editing and cancelling the bot's own events,
#: so not Manage Events). Not Add Reactions (the
#: bot never reacts), Manage Messages (it deletes only its own posts) or Create Private
#: Threads (a lock does not set it: threads inherit the Send Messages in Threads deny).
README_INVITE_PERMISSIONS = (
    P.VIEW_CHANNEL | P.SEND_MESSAGES | P.SEND_MESSAGES_IN_THREADS | P.EMBED_LINKS
    | P.ATTACH_FILES | P.READ_MESSAGE_HISTORY | P.MANAGE_CHANNELS | P.CREATE_PUBLIC_THREADS
    | P.MANAGE_ROLES | P.MANAGE_THREADS | P.PIN_MESSAGES | P.CREATE_EVENTS
)
assert README_INVITE_PERMISSIONS == 2269718685797392
#: The invite the README gave before Feb 2026 (Manage Messages and Add Reactions, no Pin
#: Messages): for tests of what an old installation sees.
OLD_README_INVITE_PERMISSIONS = 326686075984
#: The bot role's default permissions: the README's invite integer (not administrator), so the
#: emulator refuses what Discord refuses a bot invited as the README says.
DEFAULT_BOT_PERMISSIONS = README_INVITE_PERMISSIONS

# channel types
TEXT, DM, CATEGORY, NEWS, NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD, FORUM = (
    0, 1, 4, 5, 10, 11, 12, 15,
)
THREAD_TYPES = (NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)


class Clock:
    """Injectable wall clock: real time plus an offset that tests move with :meth:`advance`."""

    def __init__(self, start: float | None = None) -> None:
        self._base = start
        self.offset = 0.0

    def now(self) -> float:
        """Seconds since the Unix epoch, as the emulator sees it."""
        return (self._base if self._base is not None else time.time()) + self.offset

    def advance(self, seconds: float) -> None:
        """Move the emulated time forward (deadlines and token expiry use it)."""
        self.offset += seconds

    def iso(self, t: float | None = None) -> str:
        """ISO-8601 timestamp like Discord's (UTC, with offset)."""
        t = self.now() if t is None else t
        return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat()


class Snowflakes:
    """Time-based, strictly increasing snowflake ids (so ``discord.utils.snowflake_time`` works)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.last = 0
        self._inc = itertools.count()

    def next(self) -> int:
        ms = int(self.clock.now() * 1000) - DISCORD_EPOCH_MS
        sf = (ms << 22) | (next(self._inc) & 0xFFF)
        if sf <= self.last:
            sf = self.last + 1
        self.last = sf
        return sf


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    avatar: str | None = None


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False


@dataclass
class Member:
    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = ""

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    bot_role_id: int = 0
    #: bytes per uploaded file (grows with boosts); sent as interactions' attachment_size_limit
    attachment_size_limit: int = 10 * 1024 * 1024
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)

    @property
    def everyone_role(self) -> Role:
        return self.roles[self.id]


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    """A guild channel, category, forum or thread (threads have ``parent_id`` and metadata)."""

    id: int
    guild_id: int
    type: int
    name: str
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    last_message_id: int | None = None
    last_pin_timestamp: str | None = None
    flags: int = 0
    message_ids: list[int] = field(default_factory=list)
    # forums
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: str | None = None
    create_timestamp: str | None = None
    invitable: bool = True
    member_ids: list[int] = field(default_factory=list)
    message_count: int = 0
    total_message_sent: int = 0
    applied_tags: list[int] = field(default_factory=list)
    #: emulated time (``Clock.now()``) of the thread's last activity: creation, a message,
    #: unarchiving or a new auto-archive duration. Idle ``auto_archive_duration`` minutes
    #: past it, the thread archives (see ``EmulatorBase.archive_idle_threads``).
    last_activity: float = 0.0

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class Attachment:
    """A stored file. ``data`` holds the bytes; the emulator serves them at the attachment URL."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    channel_id: int = 0

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Pings:
    """Who a message would actually notify, given its content and ``allowed_mentions``."""

    users: list[int] = field(default_factory=list)
    roles: list[int] = field(default_factory=list)
    everyone: bool = False
    here: bool = False

    def __bool__(self) -> bool:
        return bool(self.users or self.roles or self.everyone or self.here)


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    type: int = 0
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    pinned: bool = False
    pinned_at: str | None = None
    reactions: dict[str, list[int]] = field(default_factory=dict)
    #: super reactions (type 1 "burst"), by emoji; counted apart in ``count_details``
    burst_reactions: dict[str, list[int]] = field(default_factory=dict)
    #: a forward (``message_reference.type`` 1) carries a copy of the original here
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    reference: dict[str, Any] | None = None
    timestamp: str = ""
    edited_timestamp: str | None = None
    allowed_mentions: dict[str, Any] | None = None
    would_ping: Pings = field(default_factory=Pings)
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    ephemeral: bool = False
    tts: bool = False
    nonce: Any = None
    thread_id: int | None = None
    deleted: bool = False

    @property
    def files(self) -> list[tuple[str, bytes]]:
        """``(filename, bytes)`` of each attachment."""
        return [(a.filename, a.data) for a in self.attachments]


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def _unique(xs: list[int]) -> list[int]:
    return list(dict.fromkeys(xs))


class State:
    """All guilds, users, channels and messages the emulator knows about."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ids = Snowflakes(clock)
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}

    # --- lookups raising Discord errors -------------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[int(guild_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10004, "Unknown Guild") from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[int(channel_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10003, "Unknown Channel") from None

    def message(self, message_id: int, channel_id: int | None = None) -> Message:
        m = self.messages.get(int(message_id))
        if m is None or m.deleted or (channel_id is not None and m.channel_id != int(channel_id)):
            raise ApiError(404, 10008, "Unknown Message")
        return m

    def member(self, guild_id: int, user_id: int) -> Member:
        g = self.guild(guild_id)
        try:
            return g.members[int(user_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10007, "Unknown Member") from None

    def user(self, user_id: int) -> User:
        try:
            return self.users[int(user_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10013, "Unknown User") from None

    def parent_of(self, ch: Channel) -> Channel:
        return self.channels[ch.parent_id] if ch.is_thread and ch.parent_id else ch

    # --- permissions --------------------------------------------------------------------

    def base_permissions(self, guild_id: int, user_id: int) -> int:
        g = self.guild(guild_id)
        if user_id == g.owner_id:
            return P.ALL
        member = g.members.get(user_id)
        if member is None:
            return 0
        perms = g.everyone_role.permissions
        for rid in member.roles:
            role = g.roles.get(rid)
            if role is not None:
                perms |= role.permissions
        if perms & P.ADMINISTRATOR:
            return P.ALL
        return perms

    def permissions(self, user_id: int, channel_id: int | None = None,
                    guild_id: int | None = None) -> int:
        """Discord's permission algorithm for a member in a channel (or guild-wide)."""
        if channel_id is None:
            return self.base_permissions(int(guild_id), user_id)  # type: ignore[arg-type]
        ch = self.channel(channel_id)
        g = self.guild(ch.guild_id)
        perms = self.base_permissions(g.id, user_id)
        if perms & P.ADMINISTRATOR or user_id == g.owner_id:
            return P.ALL
        member = g.members.get(user_id)
        if member is None:
            return 0
        target = self.parent_of(ch)
        ow = target.overwrites
        everyone = ow.get(g.id)
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for rid in member.roles:
            o = ow.get(rid)
            if o and o.type == 0:
                allow |= o.allow
                deny |= o.deny
        perms = (perms & ~deny) | allow
        mo = ow.get(user_id)
        if mo and mo.type == 1:
            perms = (perms & ~mo.deny) | mo.allow
        if not perms & P.VIEW_CHANNEL:
            return 0
        if ch.is_thread and ch.type == PRIVATE_THREAD and user_id not in ch.member_ids \
                and not perms & P.MANAGE_THREADS:
            return 0
        return perms

    def has(self, user_id: int, perm: int, channel_id: int | None = None,
            guild_id: int | None = None) -> bool:
        return bool(self.permissions(user_id, channel_id, guild_id) & perm)

    def require(self, user_id: int, perm: int, channel_id: int | None = None,
                guild_id: int | None = None) -> None:
        """Raise 403 Missing Permissions (50013), or Missing Access (50001) without VIEW_CHANNEL."""
        perms = self.permissions(user_id, channel_id, guild_id)
        if channel_id is not None and not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & perm:
            raise ApiError(403, 50013, "Missing Permissions")

    # --- mentions -----------------------------------------------------------------------

    def compute_pings(self, msg: Message, allowed: dict[str, Any] | None) -> Pings:
        """Discord's notification rules for ``msg.content`` under ``allowed_mentions``."""
        content = msg.content or ""
        g = self.guilds.get(msg.guild_id or 0)
        can_everyone = bool(
            g and msg.channel_id in self.channels
            and self.has(msg.author_id, P.MENTION_EVERYONE, msg.channel_id)
        )
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            users_ok: set[int] = set()
            roles_ok: set[int] = set()
            replied = True
        else:
            parse = set(allowed.get("parse") or [])
            users_ok = {int(u) for u in allowed.get("users") or []}
            roles_ok = {int(r) for r in allowed.get("roles") or []}
            replied = bool(allowed.get("replied_user", False))
        members = g.members if g else {}
        users = [
            int(u) for u in _USER_MENTION.findall(content)
            if ("users" in parse or int(u) in users_ok) and int(u) in members
        ]
        roles = []
        for r in _ROLE_MENTION.findall(content):
            role = g.roles.get(int(r)) if g else None
            if role is None or not ("roles" in parse or int(r) in roles_ok):
                continue
            if role.mentionable or can_everyone:
                roles.append(int(r))
        everyone = "@everyone" in content and "everyone" in parse and can_everyone
        here = "@here" in content and "everyone" in parse and can_everyone
        if msg.reference and replied and msg.type == 19:
            ref = self.messages.get(int(msg.reference.get("message_id") or 0))
            if ref is not None and ref.author_id in members and ref.author_id != msg.author_id:
                users.append(ref.author_id)
        return Pings(_unique(users), _unique(roles), everyone, here)


def normalize_channel_name(name: str, ctype: int) -> str:
    """Validate a channel name (1–100 chars) and, for text/forum channels, normalise it."""
    if not isinstance(name, str):
        raise ApiError.form("name", "BASE_TYPE_REQUIRED", "This field is required")
    if ctype in (TEXT, NEWS, FORUM):
        name = re.sub(r"\s+", "-", name.strip().lower())
    if not 1 <= len(name) <= 100:
        raise ApiError.form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    return name
