"""Discord REST API v10 routes (the subset a consultation bot uses), with the bot as actor.

Every call is logged in ``emu.requests`` with its route template; ``emu.fail_next`` faults
are applied before the handler runs. JSON responses carry ``Content-Type: application/json``
exactly (discord.py treats anything else as text).
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads as pl
from .core import FileUpload, RequestRecord
from .errors import ApiError
from .limits import refuse_invalid_unicode
from .state import PUBLIC_THREAD, Channel, Message

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)


@dataclass
class Req:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any = None
    files: list[FileUpload] = field(default_factory=list)

    def int(self, name: str) -> int:
        return int(self.params[name])

    @property
    def body(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}


Handler = Callable[["Emulator", Req], Awaitable[tuple[int, Any]] | tuple[int, Any]]
ROUTES: list[tuple[str, str, re.Pattern[str], Handler]] = []
NO_AUTH_PREFIXES = ("/interactions/", "/webhooks/")


def _compile(template: str) -> re.Pattern[str]:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        pat = r"\d+" if name.endswith("_id") else r"[^/]+"
        return f"(?P<{name}>{pat})"

    return re.compile("^" + re.sub(r"\{(\w+)\}", repl, re.escape(template).replace(r"\{", "{")
                                   .replace(r"\}", "}")) + "$")


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        ROUTES.append((method, template, _compile(template), fn))
        return fn

    return deco


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if status == 204 or body is None:
        return web.Response(status=204, headers=headers)
    return web.Response(status=status, body=json.dumps(body).encode(),
                        headers={**(headers or {}), "Content-Type": "application/json"})


def match(method: str, path: str) -> tuple[str | None, Handler | None, dict[str, str]]:
    template_for_path = None
    for m, template, rx, fn in ROUTES:
        mm = rx.match(path)
        if mm:
            if m == method:
                return template, fn, mm.groupdict()
            template_for_path = template
    return template_for_path, None, {}


async def read_body(request: web.Request) -> tuple[Any, list[FileUpload]]:
    ctype = request.headers.get("Content-Type", "")
    files: list[FileUpload] = []
    if ctype.startswith("multipart/"):
        payload: Any = None
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())
                refuse_invalid_unicode(payload)
            elif part.filename is not None:
                data = await part.read()
                files.append(FileUpload(part.filename, bytes(data),
                                        part.headers.get("Content-Type")))
        return payload, files
    raw = await request.read()
    if not raw:
        return None, files
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    refuse_invalid_unicode(body)  # a lone surrogate escape is valid JSON but not text
    return body, files


async def handle(emu: Emulator, request: web.Request) -> web.StreamResponse:
    """aiohttp entry point for everything under ``/api/v{n}``."""
    path = "/" + request.match_info["tail"]
    method = request.method
    template, fn, params = match(method, path)
    rec = RequestRecord(method, template, path, 0, dict(request.query), time=emu.clock.now())
    emu.requests.append(rec)
    emu.archive_idle_threads()  # what real time did meanwhile
    limit_headers: dict[str, str] = {}
    auth = request.headers.get("Authorization")
    if auth in emu.dead_auth or (path.startswith(NO_AUTH_PREFIXES)
                                 and any(t in path for t in emu.dead_interaction_tokens)):
        await _never()  # sent by a killed bot process: it never hears back
    kill = None
    if emu.kill_on is not None and auth == f"Bot {emu.bot_token}":
        kill = emu.kill_on(rec)
        if kill == "before":
            emu.kill_bot()
            await _never()
    try:
        if not path.startswith(NO_AUTH_PREFIXES):
            if request.headers.get("Authorization") != f"Bot {emu.bot_token}":
                raise ApiError(401, 0, "401: Unauthorized")
        if fn is None:
            if template is not None:
                raise ApiError(405, 0, "405: Method Not Allowed")
            log.warning("emulator: unhandled route %s %s", method, path)
            emu.unhandled.append((method, path))
            raise ApiError(404, 0, "404: Not Found")
        fault = emu._take_fault(method, template or "", path)
        if fault is not None:
            rec.status = fault.status
            emu.notify()
            return fault.response()
        verdict = emu.rate_limits.check(emu.clock.now, emu.advance_time, method, template,
                                        path, params)
        limit_headers = verdict.headers
        if verdict.refused:
            rec.status = 429
            emu.notify()
            return json_response(429, emu.rate_limits.body(verdict), limit_headers)
        body, files = await read_body(request)
        rec.json = body
        req = Req(method, path, params, dict(request.query), body, files)
        result = fn(emu, req)
        if not isinstance(result, tuple):
            result = await result
        status, out = result
    except ApiError as e:
        rec.status = e.status
        log.info("emulator: %s %s -> %s %s %s", method, path, e.status, e.code, e.message)
        emu.notify()
        return json_response(e.status, e.to_json(), limit_headers)
    except Exception as e:  # an emulator bug: fail fast (a 5xx would make discord.py retry)
        log.exception("emulator: internal error in %s %s", method, path)
        emu.internal_errors.append(e)
        rec.status = 400
        emu.notify()
        return json_response(400, {"message": f"emulator internal error: {e!r}", "code": 0})
    rec.status = 204 if out is None else status
    emu.notify()
    if kill == "after":
        emu.kill_bot()
        await _never()
    return json_response(status, out, limit_headers)


# --- helpers ------------------------------------------------------------------------------

async def _never() -> None:
    """Hold a request of a killed bot process until the server stops."""
    await asyncio.Event().wait()


def _bot(emu: Emulator) -> int:
    return emu.bot_user.id


def _msg(emu: Emulator, m: Message) -> dict[str, Any]:
    return emu._msg_json(m)


def _visible_channel(emu: Emulator, channel_id: int) -> Channel:
    ch = emu.state.channel(channel_id)
    if not emu.state.has(_bot(emu), 1 << 10, ch.id):
        raise ApiError(403, 50001, "Missing Access")
    return ch


def _channel_message(emu: Emulator, req: Req) -> Message:
    """A message addressed by channel route (ephemeral messages do not exist there)."""
    m = emu.state.message(req.int("message_id"), req.int("channel_id"))
    if m.ephemeral:
        raise ApiError(404, 10008, "Unknown Message")
    return m


def _limit(req: Req, default: int = 50, maximum: int = 100) -> int:
    try:
        n = int(req.query.get("limit", default))
    except ValueError:
        raise ApiError.form("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
    if not 1 <= n <= maximum:
        raise ApiError.form("limit", "NUMBER_TYPE_MAX",
                            f"int value should be between 1 and {maximum}.")
    return n


# --- users, application, gateway ---------------------------------------------------------

@route("GET", "/users/@me")
def get_me(emu: Emulator, req: Req) -> tuple[int, Any]:
    return 200, {**pl.user_json(emu.bot_user), "verified": True, "mfa_enabled": False,
                 "email": None, "locale": "en-US"}


@route("POST", "/users/@me/channels")
def create_dm(emu: Emulator, req: Req) -> tuple[int, Any]:
    try:
        recipient = int(req.body.get("recipient_id"))
    except (TypeError, ValueError):
        raise ApiError.form("recipient_id", "BASE_TYPE_REQUIRED", "This field is required") from None
    return 200, emu.dms.channel_json(emu.dms.open(recipient))


@route("GET", "/users/{user_id}")
def get_user(emu: Emulator, req: Req) -> tuple[int, Any]:
    return 200, pl.user_json(emu.state.user(req.int("user_id")))


@route("GET", "/oauth2/applications/@me")
def get_app(emu: Emulator, req: Req) -> tuple[int, Any]:
    owner = {"id": "1", "username": "owner", "discriminator": "0", "avatar": None,
             "global_name": None, "public_flags": 0, "flags": 0}
    return 200, {
        "id": str(emu.application_id), "name": emu.bot_user.username, "icon": None,
        "description": "", "rpc_origins": [], "bot_public": True,
        "bot_require_code_grant": False, "owner": owner, "verify_key": "0" * 64,
        "team": None, "flags": 0, "summary": "", "bot": pl.user_json(emu.bot_user),
        "approximate_guild_count": len(emu.state.guilds),
    }


@route("GET", "/gateway")
def get_gateway(emu: Emulator, req: Req) -> tuple[int, Any]:
    return 200, {"url": emu.gateway_url}


@route("GET", "/gateway/bot")
def get_gateway_bot(emu: Emulator, req: Req) -> tuple[int, Any]:
    total = emu.session_start_total
    return 200, {"url": emu.gateway_url, "shards": emu.shard_recommendation,
                 "session_start_limit": {
                     "total": total, "remaining": max(0, total - emu.gateway.identified),
                     "reset_after": 86_400_000, "max_concurrency": emu.max_concurrency}}


# --- guilds ------------------------------------------------------------------------------

@route("GET", "/guilds/{guild_id}")
def get_guild(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    d = pl.guild_json(emu.state, g)
    if req.query.get("with_counts") in ("true", "1"):
        d["approximate_member_count"] = len(g.members)
        d["approximate_presence_count"] = 0
    return 200, d


@route("GET", "/guilds/{guild_id}/channels")
def get_guild_channels(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    chans = [emu.state.channels[c] for c in g.channel_ids if c in emu.state.channels]
    return 200, [pl.channel_json(c) for c in chans if not c.is_thread]


@route("POST", "/guilds/{guild_id}/channels")
def create_guild_channel(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.create_channel(_bot(emu), req.int("guild_id"), req.body)
    return 201, pl.channel_json(ch)


@route("PATCH", "/guilds/{guild_id}/channels")
def move_channels(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    emu.state.require(_bot(emu), 1 << 4, guild_id=g.id)
    for item in req.json or []:
        ch = emu.state.channel(int(item["id"]))
        patch = {k: item[k] for k in ("position", "parent_id") if k in item}
        if patch:
            emu.modify_channel(_bot(emu), ch, patch)
    return 204, None


@route("GET", "/guilds/{guild_id}/members/{user_id}")
def get_member(emu: Emulator, req: Req) -> tuple[int, Any]:
    return 200, pl.member_json(emu.state.member(req.int("guild_id"), req.int("user_id")))


@route("GET", "/guilds/{guild_id}/members")
def list_members(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    after = int(req.query.get("after", 0))
    ms = sorted((m for m in g.members.values() if m.id > after), key=lambda m: m.id)
    return 200, [pl.member_json(m) for m in ms[:_limit(req, 1, 1000)]]


@route("GET", "/guilds/{guild_id}/roles")
def get_roles(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    return 200, [pl.role_json(r) for r in g.roles.values()]


@route("POST", "/guilds/{guild_id}/roles")
def create_role(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    emu.state.require(_bot(emu), 1 << 28, guild_id=g.id)
    b = req.body
    r = emu.create_role(g.id, b.get("name") or "new role", int(b.get("permissions") or 0),
                        mentionable=bool(b.get("mentionable")))
    return 200, pl.role_json(r)


@route("GET", "/guilds/{guild_id}/threads/active")
def active_threads(emu: Emulator, req: Req) -> tuple[int, Any]:
    g = emu.state.guild(req.int("guild_id"))
    threads = [emu.state.channels[c] for c in g.channel_ids
               if c in emu.state.channels and emu.state.channels[c].is_thread
               and not emu.state.channels[c].archived]
    bot = _bot(emu)
    members = [pl.thread_member_json(t, bot, t.create_timestamp or "") for t in threads
               if bot in t.member_ids]
    return 200, {"threads": [pl.channel_json(t) for t in threads], "members": members}


# --- channels ----------------------------------------------------------------------------

@route("GET", "/channels/{channel_id}")
def get_channel(emu: Emulator, req: Req) -> tuple[int, Any]:
    return 200, pl.channel_json(_visible_channel(emu, req.int("channel_id")))


@route("PATCH", "/channels/{channel_id}")
def patch_channel(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.modify_channel(_bot(emu), emu.state.channel(req.int("channel_id")), req.body)
    return 200, pl.channel_json(ch)


@route("DELETE", "/channels/{channel_id}")
def delete_channel(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.state.channel(req.int("channel_id"))
    emu.delete_channel(_bot(emu), ch)
    return 200, pl.channel_json(ch)


@route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}")
def put_permissions(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.state.channel(req.int("channel_id"))
    emu.put_overwrite(_bot(emu), ch, req.int("overwrite_id"), req.body)
    return 204, None


@route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}")
def delete_permissions(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.state.channel(req.int("channel_id"))
    emu.delete_overwrite(_bot(emu), ch, req.int("overwrite_id"))
    return 204, None


@route("POST", "/channels/{channel_id}/typing")
def typing(emu: Emulator, req: Req) -> tuple[int, Any]:
    _visible_channel(emu, req.int("channel_id"))
    return 204, None


# --- messages ----------------------------------------------------------------------------

def history(emu: Emulator, ch: Channel, *, limit: int = 50, before: int | None = None,
            after: int | None = None, around: int | None = None) -> list[Message]:
    """Discord's paging: newest first; ``after`` returns the ``limit`` messages right after it;
    ``around`` about half newer and half older than the given id (including it)."""
    ids = ch.message_ids  # ascending (snowflakes grow)
    if around is not None:
        i = bisect.bisect_left(ids, around)
        centre = 1 if i < len(ids) and ids[i] == around else 0
        newer = ids[i + centre: i + centre + (limit // 2 if limit > 1 else 0)]
        n_old = max(0, limit - len(newer) - centre)
        sel = ids[max(0, i - n_old): i + centre + len(newer)][::-1]
    elif after is not None:
        i = bisect.bisect_right(ids, after)
        sel = ids[i: i + limit][::-1]
    else:
        i = bisect.bisect_left(ids, before) if before is not None else len(ids)
        sel = ids[max(0, i - limit): i][::-1]
    return [emu.state.messages[i] for i in sel]


@route("GET", "/channels/{channel_id}/messages")
def get_messages(emu: Emulator, req: Req) -> tuple[int, Any]:
    if emu.dms.is_dm(req.int("channel_id")):
        ch = emu.dms.channels[req.int("channel_id")]
    else:
        ch = _visible_channel(emu, req.int("channel_id"))
        if not emu.state.has(_bot(emu), 1 << 16, ch.id):
            return 200, []
    q = req.query
    kw: dict[str, Any] = {"limit": _limit(req)}
    for key in ("before", "after", "around"):
        if key in q:
            kw[key] = int(q[key])
    return 200, [emu._msg_json(m) for m in history(emu, ch, **kw)]


@route("GET", "/channels/{channel_id}/messages/{message_id}")
def get_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    _visible_channel(emu, req.int("channel_id"))
    return 200, _msg(emu, _channel_message(emu, req))


@route("POST", "/channels/{channel_id}/messages")
def create_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    if emu.dms.is_dm(req.int("channel_id")):
        return 200, _msg(emu, emu.dms.send(req.int("channel_id"), req.body, len(req.files)))
    m = emu.post_message(_bot(emu), req.int("channel_id"), req.body, req.files)
    return 200, _msg(emu, m)


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
def edit_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = _channel_message(emu, req)
    emu.op_edit_message(_bot(emu), m, req.body, req.files)
    return 200, _msg(emu, m)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
def delete_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = _channel_message(emu, req)
    emu.op_delete_message(_bot(emu), m)
    return 204, None


@route("POST", "/channels/{channel_id}/messages/bulk-delete")
def bulk_delete(emu: Emulator, req: Req) -> tuple[int, Any]:
    ids = [int(i) for i in req.body.get("messages") or []]
    emu.bulk_delete_messages(_bot(emu), req.int("channel_id"), ids)
    return 204, None


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
def add_own_reaction(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = _channel_message(emu, req)
    emu.react(_bot(emu), m, req.params["emoji"])
    return 204, None


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
def remove_own_reaction(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = _channel_message(emu, req)
    emu.unreact(_bot(emu), m, req.params["emoji"])
    return 204, None


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
def remove_user_reaction(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = _channel_message(emu, req)
    emu.state.require(_bot(emu), 1 << 13, m.channel_id)
    emu.unreact(req.int("user_id"), m, req.params["emoji"])
    return 204, None


@route("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
def reaction_users(emu: Emulator, req: Req) -> tuple[int, Any]:
    from .core import emoji_key

    m = _channel_message(emu, req)
    kind = req.query.get("type", "0")
    if kind not in ("0", "1"):
        raise ApiError.form("type", "ENUM_TYPE_COERCE", f"Value \"{kind}\" is not a valid enum value.")
    listed = m.burst_reactions if kind == "1" else m.reactions  # type 0 (normal) by default
    users = listed.get(emoji_key(req.params["emoji"]), [])
    after = int(req.query.get("after", 0))
    ids = sorted(u for u in users if u > after)[: _limit(req, 25)]
    return 200, [pl.user_json(emu.state.users[u]) for u in ids]


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions")
def clear_reactions(emu: Emulator, req: Req) -> tuple[int, Any]:
    emu.clear_reactions(_bot(emu), _channel_message(emu, req))
    return 204, None


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
def clear_emoji_reactions(emu: Emulator, req: Req) -> tuple[int, Any]:
    emu.clear_reactions(_bot(emu), _channel_message(emu, req), req.params["emoji"])
    return 204, None


# --- pins --------------------------------------------------------------------------------

def _pin(emu: Emulator, req: Req, pinned: bool) -> tuple[int, Any]:
    m = _channel_message(emu, req)
    emu.pin(_bot(emu), m, pinned)
    return 204, None


@route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
def pin_new(emu: Emulator, req: Req) -> tuple[int, Any]:
    return _pin(emu, req, True)


@route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
def unpin_new(emu: Emulator, req: Req) -> tuple[int, Any]:
    return _pin(emu, req, False)


@route("PUT", "/channels/{channel_id}/pins/{message_id}")
def pin_old(emu: Emulator, req: Req) -> tuple[int, Any]:
    return _pin(emu, req, True)


@route("DELETE", "/channels/{channel_id}/pins/{message_id}")
def unpin_old(emu: Emulator, req: Req) -> tuple[int, Any]:
    return _pin(emu, req, False)


@route("GET", "/channels/{channel_id}/messages/pins")
def get_pins_new(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = _visible_channel(emu, req.int("channel_id"))
    pins = emu.pins(ch.id)
    before = req.query.get("before")
    if before:
        pins = [p for p in pins if (p.pinned_at or "") < _norm_ts(before)]
    limit = _limit(req, 50, 50)
    page = pins[:limit]
    return 200, {"items": [{"pinned_at": p.pinned_at, "message": _msg(emu, p)} for p in page],
                 "has_more": len(pins) > limit}


@route("GET", "/channels/{channel_id}/pins")
def get_pins_old(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = _visible_channel(emu, req.int("channel_id"))
    return 200, [_msg(emu, p) for p in emu.pins(ch.id)]


def _norm_ts(ts: str) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(dt.UTC).isoformat()
    except ValueError:
        return ts


# --- threads -----------------------------------------------------------------------------

@route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
def thread_from_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.state.channel(req.int("channel_id"))
    m = emu.state.message(req.int("message_id"), ch.id)
    th = emu.start_thread_from_message(_bot(emu), ch, m, req.body)
    return 201, pl.channel_json(th)


@route("POST", "/channels/{channel_id}/threads")
def thread_without_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    ch = emu.state.channel(req.int("channel_id"))
    th, m = emu.start_thread(_bot(emu), ch, req.body, req.files)
    d = pl.channel_json(th)
    if m is not None:
        d["message"] = _msg(emu, m)
    d["member"] = pl.thread_member_json(th, _bot(emu), th.create_timestamp or "")
    return 201, d


def _archived(emu: Emulator, req: Req, types: tuple[int, ...]) -> tuple[int, Any]:
    ch = _visible_channel(emu, req.int("channel_id"))
    threads = [t for t in emu.threads_of(ch.id) if t.archived and t.type in types]
    threads.sort(key=lambda t: (t.archive_timestamp or "", t.id), reverse=True)
    before = req.query.get("before")
    if before:
        threads = [t for t in threads if (t.archive_timestamp or "") < _norm_ts(before)]
    limit = _limit(req, 50, 100)
    bot = _bot(emu)
    page = threads[:limit]
    return 200, {"threads": [pl.channel_json(t) for t in page],
                 "members": [pl.thread_member_json(t, bot, t.create_timestamp or "")
                             for t in page if bot in t.member_ids],
                 "has_more": len(threads) > limit}


@route("GET", "/channels/{channel_id}/threads/archived/public")
def archived_public(emu: Emulator, req: Req) -> tuple[int, Any]:
    return _archived(emu, req, (PUBLIC_THREAD, 10))


@route("GET", "/channels/{channel_id}/threads/archived/private")
def archived_private(emu: Emulator, req: Req) -> tuple[int, Any]:
    emu.state.require(_bot(emu), 1 << 34, req.int("channel_id"))
    return _archived(emu, req, (12,))


def _thread(emu: Emulator, req: Req) -> Channel:
    th = emu.state.channel(req.int("channel_id"))
    if not th.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return th


@route("PUT", "/channels/{channel_id}/thread-members/@me")
def join_thread(emu: Emulator, req: Req) -> tuple[int, Any]:
    th = _thread(emu, req)
    if th.archived:
        raise ApiError(400, 50083, "Thread is archived")
    if _bot(emu) not in th.member_ids:
        th.member_ids.append(_bot(emu))
    return 204, None


@route("DELETE", "/channels/{channel_id}/thread-members/@me")
def leave_thread(emu: Emulator, req: Req) -> tuple[int, Any]:
    th = _thread(emu, req)
    if _bot(emu) in th.member_ids:
        th.member_ids.remove(_bot(emu))
    return 204, None


@route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
def add_thread_member(emu: Emulator, req: Req) -> tuple[int, Any]:
    th = _thread(emu, req)
    emu.state.member(th.guild_id, req.int("user_id"))
    if req.int("user_id") not in th.member_ids:
        th.member_ids.append(req.int("user_id"))
    return 204, None


@route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
def remove_thread_member(emu: Emulator, req: Req) -> tuple[int, Any]:
    th = _thread(emu, req)
    if req.int("user_id") in th.member_ids:
        th.member_ids.remove(req.int("user_id"))
    return 204, None


@route("GET", "/channels/{channel_id}/thread-members")
def list_thread_members(emu: Emulator, req: Req) -> tuple[int, Any]:
    th = _thread(emu, req)
    return 200, [pl.thread_member_json(th, u, th.create_timestamp or "") for u in th.member_ids]


# --- application commands ----------------------------------------------------------------

def _app(emu: Emulator, req: Req) -> None:
    if req.int("application_id") != emu.application_id:
        raise ApiError(403, 50001, "Missing Access")


@route("GET", "/applications/{application_id}/commands")
def get_global_commands(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    return 200, emu.interactions.commands.get(None, [])


@route("PUT", "/applications/{application_id}/commands")
def put_global_commands(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    return 200, emu.interactions.overwrite(None, list(req.json or []))


@route("POST", "/applications/{application_id}/commands")
def post_global_command(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    return 201, emu.interactions.upsert(None, req.body)


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
def get_guild_commands(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    emu.state.guild(req.int("guild_id"))
    return 200, emu.interactions.commands.get(req.int("guild_id"), [])


@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
def put_guild_commands(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    emu.state.guild(req.int("guild_id"))
    return 200, emu.interactions.overwrite(req.int("guild_id"), list(req.json or []))


@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
def post_guild_command(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    emu.state.guild(req.int("guild_id"))
    return 201, emu.interactions.upsert(req.int("guild_id"), req.body)


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")
def get_command_permissions(emu: Emulator, req: Req) -> tuple[int, Any]:
    _app(emu, req)
    return 200, []


# --- interactions ------------------------------------------------------------------------

@route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
def interaction_callback(emu: Emulator, req: Req) -> tuple[int, Any]:
    r, resp = emu.interactions.callback(req.int("interaction_id"), req.params["interaction_token"],
                                        req.body, req.files)
    if req.query.get("with_response") in ("1", "true", "True"):
        return 200, resp
    return 204, None


@route("GET", "/webhooks/{application_id}/{webhook_token}/messages/{message_ref}")
def webhook_get_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = emu.interactions.get_message(req.int("application_id"), req.params["webhook_token"],
                                     req.params["message_ref"])
    return 200, _msg(emu, m)


@route("PATCH", "/webhooks/{application_id}/{webhook_token}/messages/{message_ref}")
def webhook_edit_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    m = emu.interactions.edit_message(req.int("application_id"), req.params["webhook_token"],
                                      req.params["message_ref"], req.body, req.files)
    return 200, _msg(emu, m)


@route("DELETE", "/webhooks/{application_id}/{webhook_token}/messages/{message_ref}")
def webhook_delete_message(emu: Emulator, req: Req) -> tuple[int, Any]:
    emu.interactions.delete_message(req.int("application_id"), req.params["webhook_token"],
                                    req.params["message_ref"])
    return 204, None


@route("POST", "/webhooks/{application_id}/{webhook_token}")
def webhook_followup(emu: Emulator, req: Req) -> tuple[int, Any]:
    tid = req.query.get("thread_id")
    m = emu.interactions.followup(req.int("application_id"), req.params["webhook_token"],
                                  req.body, req.files, int(tid) if tid else None)
    if req.query.get("wait") in ("1", "true", "True"):
        return 200, _msg(emu, m)
    return 204, None
