"""The gateway: a JSON-text websocket speaking Discord's gateway protocol (v10, no compression).

Sessions outlive connections: events produced while the bot is disconnected are buffered
in its session and replayed on RESUME (after the client's ``seq``), then RESUMED is sent.
A fresh IDENTIFY creates a new session that only gets READY and GUILD_CREATEs, like Discord.

Sharding (discord-api-docs, Gateway → Sharding): IDENTIFY may carry ``shard: [id, count]``;
that session then gets only the events of guilds with ``(guild_id >> 22) % count == id``
(READY lists, and GUILD_CREATE is sent for, those guilds only; events of no guild, such as
DMs, go to shard 0). Each shard is its own session, resumed on its own. An invalid shard
(not two integers with ``0 <= id < count``) is closed with 4010; a session that would hold
more than ``Emulator.max_guilds_per_shard`` guilds (Discord: 2,500) with 4011.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import payloads as pl

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
MAX_BUFFERED_EVENTS = 10000
MAX_IDLE_SESSIONS = 3  # per shard
#: Discord's limit of guilds per gateway session; more needs sharding (close code 4011)
MAX_GUILDS_PER_SHARD = 2500

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
MESSAGE_CONTENT = 1 << 15
PRESENCES = 1 << 8

_EVENT_INTENTS = {
    "MESSAGE_CREATE": GUILD_MESSAGES, "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES, "MESSAGE_DELETE_BULK": GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": GUILD_MESSAGE_REACTIONS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS, "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
}


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard that gets a guild's events (Discord's formula); events of no guild: 0."""
    if guild_id is None:
        return 0
    return (int(guild_id) >> 22) % shard_count


def event_guild(t: str, d: Any) -> int | None:
    """The guild an event belongs to (None for DMs and the like)."""
    if not isinstance(d, dict):
        return None
    gid = d.get("id") if t in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else d.get("guild_id")
    try:
        return int(gid) if gid is not None else None
    except (TypeError, ValueError):
        return None


def _frame(op: int, d: Any, s: int | None = None, t: str | None = None) -> str:
    return json.dumps({"op": op, "d": d, "s": s, "t": t}, separators=(",", ":"),
                      ensure_ascii=False)


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    transport: Any
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    session: Session | None = None
    writer: asyncio.Task[None] | None = None
    dead: bool = False   # its bot process was killed (Emulator.kill_bot)

    def send(self, frame: str) -> None:
        self.outbox.put_nowait(frame)

    async def write_loop(self) -> None:
        while True:
            frame = await self.outbox.get()
            if frame is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return


@dataclass(eq=False)
class Session:
    id: str
    intents: int
    seq: int = 0
    events: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_BUFFERED_EVENTS))
    conn: Connection | None = None
    ready: bool = False
    #: ``(shard id, shard count)`` from IDENTIFY; ``(0, 1)`` when not sharded
    shard: tuple[int, int] = (0, 1)

    def owns(self, guild_id: int | None) -> bool:
        return shard_of(guild_id, self.shard[1]) == self.shard[0]

    def push(self, t: str, d: Any) -> None:
        self.seq += 1
        frame = _frame(0, d, self.seq, t)
        self.events.append((self.seq, frame))
        if self.conn is not None and self.ready:
            self.conn.send(frame)


class Gateway:
    """Websocket endpoint and session bookkeeping; owned by an :class:`Emulator`."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        #: every IDENTIFY / RESUME the gateway received, as ``(op name, payload)``
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.open = asyncio.Event()
        self.open.set()
        #: IDENTIFYs accepted (each one counts against ``session_start_limit``)
        self.identified = 0
        #: rate-limit bucket (shard id % max_concurrency) -> when it last IDENTIFYed
        self._bucket_identified: dict[int, float] = {}

    def _live_sessions(self) -> list[Session]:
        return [c.session for c in self.connections
                if c.session is not None and c.session.ready and not c.ws.closed and not c.dead]

    @property
    def connected(self) -> bool:
        return bool(self._live_sessions())

    def connected_shards(self) -> set[tuple[int, int]]:
        """``(shard id, shard count)`` of every session connected now."""
        return {s.shard for s in self._live_sessions()}

    def guild_connected(self, guild_id: int | None) -> bool:
        """Whether a connected session gets this guild's events (interactions need one)."""
        return any(s.owns(guild_id) for s in self._live_sessions())

    # --- dispatching --------------------------------------------------------------------

    def dispatch(self, t: str, d: dict[str, Any]) -> None:
        """Send a dispatch event to every live session of the event's shard (buffering it for
        disconnected ones)."""
        gid = event_guild(t, d)
        for s in list(self.sessions.values()):
            if not s.owns(gid):
                continue
            need = _EVENT_INTENTS.get(t, 0)
            if need and not s.intents & need:
                continue
            payload = d
            if t in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not s.intents & MESSAGE_CONTENT:
                payload = self._redact(d)
            s.push(t, payload)

    def _redact(self, d: dict[str, Any]) -> dict[str, Any]:
        bot_id = str(self.emu.bot_user.id)
        if d.get("author", {}).get("id") == bot_id:
            return d
        if any(u.get("id") == bot_id for u in d.get("mentions") or []):
            return d
        d = dict(d)
        d.update(content="", embeds=[], attachments=[], components=[])
        d.pop("poll", None)
        return d

    # --- the websocket handler ----------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        await self.open.wait()  # held by Emulator.hold_gateway()
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True, timeout=1.0, compress=False)
        await ws.prepare(request)
        conn = Connection(ws, transport)
        conn.writer = asyncio.create_task(conn.write_loop())
        self.connections.add(conn)
        conn.send(_frame(10, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                        break
                    await self._on_frame(conn, data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.connections.discard(conn)
            conn.outbox.put_nowait(None)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            self._trim_idle_sessions()
            self.emu.notify()
        return ws

    def _trim_idle_sessions(self) -> None:
        by_shard: dict[tuple[int, int], list[Session]] = {}
        for s in self.sessions.values():
            if s.conn is None:
                by_shard.setdefault(s.shard, []).append(s)
        for idle in by_shard.values():
            for s in idle[:-MAX_IDLE_SESSIONS] if len(idle) > MAX_IDLE_SESSIONS else []:
                self.sessions.pop(s.id, None)

    async def _on_frame(self, conn: Connection, data: dict[str, Any]) -> None:
        if conn.dead:
            return
        op = data.get("op")
        d = data.get("d")
        if op == 1:
            conn.send(_frame(11, None))
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif op == 8:
            self._request_members(conn, d or {})
        elif op in (3, 4):
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> None:
        self.log.append(("IDENTIFY", d))
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if d.get("token") != self.emu.bot_token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents") or 0)
        if (intents & MESSAGE_CONTENT and not self.emu.message_content_intent_allowed) or (
                intents & GUILD_MEMBERS and not self.emu.members_intent_allowed):
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = _shard_field(d.get("shard"))
        if shard is None:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        st = self.emu.state
        guilds = [g for g in st.guilds.values() if shard_of(g.id, shard[1]) == shard[0]]
        if len(guilds) > self.emu.max_guilds_per_shard:
            await conn.ws.close(code=4011, message=b"Sharding required.")
            return
        # "Clients are limited by maximum concurrency when Identifying; if they exceed this
        # limit, the gateway will respond with an Opcode 9 Invalid Session" (one IDENTIFY
        # per bucket, shard_id % max_concurrency, every 5 s; see Emulator.identify_interval).
        interval = self.emu.identify_interval
        if interval:
            bucket = shard[0] % max(1, self.emu.max_concurrency)
            now = time.monotonic()
            last = self._bucket_identified.get(bucket)
            if last is not None and now - last < interval:
                self.log.append(("IDENTIFY_REFUSED", d))
                conn.send(_frame(9, False))
                return
            self._bucket_identified[bucket] = now
        self.identified += 1
        s = Session(secrets.token_hex(16), intents, shard=shard)
        self.sessions[s.id] = s
        conn.session = s
        s.conn = conn
        s.ready = True
        s.push("READY", {
            "v": 10, "user": {**pl.user_json(self.emu.bot_user), "verified": True,
                              "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": s.id, "resume_gateway_url": self.emu.gateway_url,
            "session_type": "normal", "shard": list(shard), "private_channels": [],
            "relationships": [], "presences": [], "guild_join_requests": [],
            "user_settings": {},
            "application": {"id": str(self.emu.application_id), "flags": 0},
        })
        for g in guilds:
            s.push("GUILD_CREATE", pl.guild_json(st, g, full=True))
        self.emu.notify()

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> None:
        self.log.append(("RESUME", d))
        s = self.sessions.get(str(d.get("session_id")))
        seq = int(d.get("seq") or 0)
        if (s is None or d.get("token") != self.emu.bot_token
                or (s.events and s.events[0][0] > seq + 1 and seq < s.seq)):
            conn.send(_frame(9, False))
            return
        if s.conn is not None and s.conn is not conn:
            old = s.conn
            old.session = None
            await old.ws.close(code=4000)
        conn.session = s
        s.conn = conn
        for n, frame in s.events:
            if n > seq:
                conn.send(frame)
        s.ready = True
        s.push("RESUMED", {"_trace": ["emulator"]})
        self.emu.notify()

    def _request_members(self, conn: Connection, d: dict[str, Any]) -> None:
        s = conn.session
        if s is None:
            return
        gid = d.get("guild_id")
        st = self.emu.state
        g = st.guilds.get(int(gid)) if gid else None
        if g is None or not s.owns(g.id):
            return
        members = list(g.members.values())
        ids = d.get("user_ids")
        if ids:
            wanted = {int(i) for i in (ids if isinstance(ids, list) else [ids])}
            members = [m for m in members if m.id in wanted]
        q = (d.get("query") or "").lower()
        if q:
            members = [m for m in members if m.username.lower().startswith(q)]
        s.push("GUILD_MEMBERS_CHUNK", {
            "guild_id": str(g.id), "members": [pl.member_json(m) for m in members],
            "chunk_index": 0, "chunk_count": 1, "nonce": d.get("nonce"), "not_found": [],
        })

    # --- faults -------------------------------------------------------------------------

    async def close_all(self, code: int = 4000) -> None:
        for c in list(self.connections):
            with contextlib.suppress(Exception):
                await c.ws.close(code=code)

    def kill_all(self) -> None:
        """The bot process died: forget its sessions (no more events); its connections stay
        open but are ignored, as a dead process neither reads nor writes."""
        for conn in self.connections:
            conn.dead = True
        self.sessions.clear()

    def abort_all(self) -> None:
        for c in list(self.connections):
            if c.transport is not None:
                c.transport.abort()

    async def invalidate(self, resumable: bool = False, shard_id: int | None = None) -> None:
        for c in list(self.connections):
            s = c.session
            if s is None or (shard_id is not None and s.shard[0] != shard_id):
                continue
            if not resumable:
                self.sessions.pop(s.id, None)
                s.ready = False
            c.send(_frame(9, resumable))

    def request_reconnect(self) -> None:
        for c in list(self.connections):
            c.send(_frame(7, None))


def _shard_field(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard``: absent means ``(0, 1)``; None when it is not a valid pair."""
    if value is None:
        return (0, 1)
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return None
    shard_id, count = value
    if count < 1 or not 0 <= shard_id < count:
        return None
    return (shard_id, count)
