"""The :class:`Emulator`: an aiohttp server on 127.0.0.1 speaking enough of Discord's REST API
v10 and gateway for the unmodified discord.py client, with all state in memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import rest, scheduled_events  # noqa: F401 - registers the scheduled-event routes
from .actions import ActionsMixin
from .core import EmulatorBase
from .dms import DirectMessages
from .gateway import MAX_GUILDS_PER_SHARD, Gateway
from .interactions import Interactions
from .state import PRIVATE_THREAD, P


@dataclass
class Fault:
    """A pending injected failure (see :meth:`Emulator.fail_next`)."""

    method: str
    route: str | re.Pattern[str]
    status: int
    retry_after: float
    global_: bool
    count: int

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        if isinstance(self.route, re.Pattern):
            return bool(self.route.fullmatch(path) or self.route.fullmatch(template))
        if self.route == template:
            return True
        try:
            return bool(re.fullmatch(self.route, path))
        except re.error:
            return False

    def response(self) -> web.Response:
        if self.status == 429:
            body = {"message": "You are being rate limited.", "retry_after": self.retry_after,
                    "global": self.global_}
            headers = {"Content-Type": "application/json", "Via": "1.1 google",
                       "Retry-After": str(self.retry_after),
                       "X-RateLimit-Scope": "global" if self.global_ else "user"}
            if self.global_:
                headers["X-RateLimit-Global"] = "true"
            return web.Response(status=429, body=json.dumps(body).encode(), headers=headers)
        body = {"message": f"{self.status}: injected failure", "code": 0}
        return web.Response(status=self.status, body=json.dumps(body).encode(),
                            headers={"Content-Type": "application/json"})


@dataclass
class NthFault(Fault):
    """A fault that lets the first ``skip`` matching calls through (see :meth:`Emulator.fail_nth`)."""

    skip: int = 0

    def matches(self, method: str, template: str, path: str) -> bool:
        if not super().matches(method, template, path):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        return True


class Emulator(ActionsMixin, EmulatorBase):
    """A loopback Discord: REST under ``api_base``, the gateway at ``gateway_url``.

    Typical use::

        emu = Emulator()
        guild = emu.create_guild("Consultation")
        await emu.start()
        point_discord_py_at(emu.api_base, emu.gateway_url)
        ...  # run a discord.py bot with token emu.bot_token
        await emu.stop()

    ``stop()`` keeps all state; ``start()`` serves it again (same port if still free).
    Keyword arguments: ``bot_name``, ``bot_permissions`` (the bot role's permissions in
    guilds created afterwards), ``clock`` (a :class:`~bot.emulator.state.Clock`),
    ``message_content_intent_allowed`` / ``members_intent_allowed`` (portal switches; a
    disallowed privileged intent in IDENTIFY gets close code 4014); sharding:
    ``recommended_shards`` (what ``/gateway/bot`` reports; default one per 1,000 guilds, as
    Discord recommends), ``max_guilds_per_shard`` (a session holding more is closed with
    4011; Discord's is 2,500) and ``max_concurrency`` (``session_start_limit``'s);
    ``identify_interval`` (seconds; Discord's is 5, the default 0 is lenient for restarts in
    tests): a second IDENTIFY in a rate-limit bucket (shard id % max_concurrency) sooner
    than that gets INVALID_SESSION.
    """

    def __init__(self, *, recommended_shards: int | None = None,
                 max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD, max_concurrency: int = 1,
                 identify_interval: float = 0.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.identify_interval = identify_interval
        self.recommended_shards = recommended_shards
        self.max_guilds_per_shard = max_guilds_per_shard
        self.max_concurrency = max_concurrency
        #: IDENTIFYs allowed per day (``session_start_limit.total``)
        self.session_start_total = 1000
        self.gateway = Gateway(self)
        self.interactions = Interactions(self)
        self.dms = DirectMessages(self)
        self.scheduled_events: dict[int, scheduled_events.ScheduledEvent] = {}
        #: REST calls to routes the emulator does not implement (answered 404)
        self.unhandled: list[tuple[str, str]] = []
        #: exceptions raised inside handlers (answered 400 "emulator internal error")
        self.internal_errors: list[BaseException] = []
        self.faults: list[Fault] = []
        #: credentials of bot processes killed with :meth:`kill_bot`
        self.dead_auth: set[str] = set()
        self.dead_interaction_tokens: set[str] = set()
        self.kill_on: Callable[[Any], str | None] | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # --- URLs ---------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` should be, e.g. ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The websocket URL (``ws://127.0.0.1:PORT/gateway``)."""
        return f"ws://{self.host}:{self.port}/gateway"

    # --- lifecycle ----------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)

        async def api(request: web.Request) -> web.StreamResponse:
            return await rest.handle(self, request)

        async def attachment(request: web.Request) -> web.StreamResponse:
            a = self.state.attachments.get(int(request.match_info["aid"]))
            if a is None:
                return web.Response(status=404)
            return web.Response(body=a.data,
                                headers={"Content-Type": a.content_type or "application/octet-stream"})

        app.router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", api)
        app.router.add_route("*", "/api/{tail:.*}", api)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get(r"/attachments/{cid:\d+}/{aid:\d+}/{name}", attachment)
        return app

    async def start(self, port: int | None = None) -> Emulator:
        """Start serving on 127.0.0.1 (``port`` 0 = random; default: the previous port if any)."""
        if self._runner is not None:
            return self
        self._runner = web.AppRunner(self._make_app(), access_log=None,
                                     handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        want = self.port if port is None and self.port else (port or 0)
        try:
            site = web.TCPSite(self._runner, self.host, want, reuse_address=True)
            await site.start()
        except OSError:
            site = web.TCPSite(self._runner, self.host, 0)
            await site.start()
        self._site = site
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.port = sock.getsockname()[1]
        self.base_url = f"http://{self.host}:{self.port}"
        return self

    async def stop(self) -> None:
        """Stop serving (gateway connections are closed with 1001); all state is kept."""
        if self._runner is None:
            return
        self.gateway.open.set()
        await self.gateway.close_all(1001)
        with contextlib.suppress(Exception):
            await self._runner.cleanup()
        self._runner = None
        self._site = None
        self.notify()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._runner is not None

    # --- events -------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway dispatch to the bot's session(s) and wake waiters."""
        if self._bot_sees(event, data):
            self.gateway.dispatch(event, data)
        self.notify()

    def _bot_sees(self, event: str, data: dict[str, Any]) -> bool:
        """Discord tells a bot nothing of a private thread it cannot view: one it is not a
        member of, without Manage Threads (its messages, reactions and updates included)."""
        cid = data.get("channel_id") if not event.startswith("THREAD_") else data.get("id")
        ch = self.state.channels.get(int(cid)) if cid else None
        if ch is None or ch.type != PRIVATE_THREAD:
            return True
        return bool(self.state.permissions(self.bot_user.id, ch.id) & P.VIEW_CHANNEL)

    @property
    def connected(self) -> bool:
        """True when a bot has IDENTIFYed (or RESUMEd) and got READY + GUILD_CREATEs."""
        return self.gateway.connected

    def shards_connected(self, shard_ids: Iterable[int], shard_count: int) -> bool:
        """True when every one of these shards has a connected session."""
        return {(i, shard_count) for i in shard_ids} <= self.gateway.connected_shards()

    @property
    def shard_recommendation(self) -> int:
        """The ``shards`` of ``/gateway/bot``."""
        if self.recommended_shards is not None:
            return self.recommended_shards
        return max(1, -(-len(self.state.guilds) // 1000))

    async def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until a bot session is connected and has been sent READY/GUILD_CREATE."""
        await self.wait_for(lambda: self.connected, timeout)

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: not self.connected, timeout)

    # --- time ---------------------------------------------------------------------------

    def advance_time(self, seconds: float) -> None:
        """Move the emulated clock forward (interaction deadlines, token expiry, timestamps,
        threads' auto-archive: those idle for their ``auto_archive_duration`` archive now)."""
        self.clock.advance(seconds)
        self.archive_idle_threads()
        self.notify()

    # --- faults -------------------------------------------------------------------------

    def fail_next(self, method: str, route: str | re.Pattern[str], status: int = 429, *,
                  retry_after: float = 0.05, global_: bool = False, count: int = 1) -> Fault:
        """Make the next ``count`` matching REST calls fail. ``route`` is a route template
        (``"/channels/{channel_id}/messages"``) or a regex on the path. 429s carry
        ``Via: 1.1 google`` and ``{message, retry_after, global}`` so discord.py retries."""
        f = Fault(method.upper(), route, status, retry_after, global_, count)
        self.faults.append(f)
        return f

    def fail_nth(self, method: str, route: str | re.Pattern[str], n: int, status: int = 429, *,
                 retry_after: float = 0.05, count: int = 1) -> Fault:
        """Like :meth:`fail_next`, but the first ``n - 1`` matching calls succeed."""
        f = NthFault(method.upper(), route, status, retry_after, False, count, skip=n - 1)
        self.faults.append(f)
        return f

    def _take_fault(self, method: str, template: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.count > 0 and f.matches(method, template, path):
                f.count -= 1
                if f.count == 0:
                    self.faults.remove(f)
                return f
        return None

    async def close_gateway(self, code: int = 4000) -> None:
        """Close the bot's websocket with ``code`` (4000 → discord.py resumes)."""
        await self.gateway.close_all(code)

    async def abort_gateway(self) -> None:
        """Kill the bot's gateway TCP connection without a close frame."""
        self.gateway.abort_all()
        await asyncio.sleep(0)

    async def invalidate_session(self, resumable: bool = False, *,
                                 shard_id: int | None = None) -> None:
        """Send INVALID_SESSION (op 9) (to that shard's session only, with ``shard_id``);
        non-resumable sessions are forgotten."""
        await self.gateway.invalidate(resumable, shard_id)

    def hold_gateway(self) -> None:
        """Hold new gateway connections (they wait before the handshake) until
        :meth:`release_gateway`: events produced meanwhile are buffered for a RESUME."""
        self.gateway.open.clear()

    def release_gateway(self) -> None:
        self.gateway.open.set()

    async def request_reconnect(self) -> None:
        """Send RECONNECT (op 7)."""
        self.gateway.request_reconnect()

    # --- a bot process that dies (kill -9) ------------------------------------------------

    def kill_bot(self) -> None:
        """Simulate ``kill -9`` of the bot process, in this event loop.

        From now on the old client is a dead process to Discord: none of its REST calls (the
        one in flight included) is ever answered, its interaction tokens are dead, and its
        gateway session gets no more events (its frames are ignored). Nothing of it runs
        again, so nothing it had not yet stored is stored. The bot's token changes: a new
        client started with ``emu.bot_token`` is the restarted process (the same bot user).
        """
        self.dead_auth.add(f"Bot {self.bot_token}")
        self.dead_interaction_tokens.update(self.interactions.by_token)
        self.bot_token = "emu." + secrets.token_urlsafe(24)
        self.gateway.kill_all()
        self.kill_on = None
        self.notify()

    def kill_bot_on(self, decide: Callable[[Any], str | None]) -> None:
        """Kill the bot (see :meth:`kill_bot`) at a REST call: ``decide(record)`` is asked for
        each call of the live bot and returns ``"before"`` (killed before Discord performs
        it), ``"after"`` (performed, but the bot never hears the answer) or None."""
        self.kill_on = decide

    # --- request log helpers ------------------------------------------------------------

    def calls(self, method: str | None = None, route: str | None = None) -> list[Any]:
        """Logged REST calls filtered by method and/or route template."""
        return [r for r in self.requests
                if (method is None or r.method == method) and (route is None or r.route == route)]
