"""Discord's REST rate limits: per-route buckets and the global limit, on the emulated clock.

Discord answers every call to a limited route with ``X-RateLimit-Limit``, ``-Remaining``,
``-Reset`` (epoch seconds), ``-Reset-After`` (seconds) and ``-Bucket`` (an opaque hash shared by
the routes of one bucket); a call over the limit gets ``429`` with ``Retry-After``,
``X-RateLimit-Scope`` (``user`` or ``global``; ``X-RateLimit-Global: true`` for the global one)
and the body ``{"message", "retry_after", "global", "code"}``. Buckets are kept per major
parameter (``channel_id``, ``guild_id``, ``webhook_id``). The global limit (50 requests/s)
does not apply to interaction endpoints. Sources: discord-api-docs ``topics/Rate_Limits.md``
and discord.py's ``http.py`` (a 429 without a ``Via`` header is taken for a Cloudflare ban).

Discord does not publish per-route values (they "may change at any time"); the defaults below
are the values bots observe in these headers. Channel creation is further capped at 500 per
guild per day, which this module does not model.

**Time.** Windows run on the emulator's clock (``emu.clock``), so tests stay fast without
being lenient: every wait the emulator asks for is stated to the bot ``time_scale`` times
shorter (in real seconds, as the bot sleeps). When the bot comes back to an exhausted bucket
after at least that long, it has waited as Discord asked, and the emulated clock is moved on
to the bucket's reset (so emulated time shows how long the work would take on Discord: token
expiry and auto-archive see it); a bot that comes back earlier gets a 429. With
``time_scale=1`` the headers are Discord's exactly and the clock is never moved.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

GLOBAL_PER_SECOND = 50
#: real-time slack for a bot that slept exactly as long as it was told
_SLACK = 0.002


@dataclass(frozen=True)
class RouteLimit:
    """One bucket: ``limit`` calls per ``per`` emulated seconds for each value of ``major``."""

    bucket: str
    limit: int
    per: float
    major: str | None = "channel_id"

    @property
    def hash(self) -> str:
        return hashlib.sha1(self.bucket.encode()).hexdigest()[:32]


_MESSAGES = RouteLimit("messages", 5, 5.0)
_MESSAGE = RouteLimit("message", 5, 5.0)       # GET/PATCH one message (shared, as Discord does)
_DELETE = RouteLimit("message-delete", 5, 1.0)  # deletions have their own, higher limit
_PINS = RouteLimit("pins", 5, 5.0)
_THREADS = RouteLimit("threads", 5, 5.0)
_CHANNEL = RouteLimit("channel", 5, 5.0)
_PERMS = RouteLimit("channel-permissions", 5, 5.0)
_REACT = RouteLimit("reactions", 1, 0.25)
_GUILD_CHANNELS = RouteLimit("guild-channels", 5, 10.0, "guild_id")

#: (method, route template) → bucket: the emulator's defaults, near Discord's observed values
DEFAULT_ROUTE_LIMITS: dict[tuple[str, str], RouteLimit] = {
    ("POST", "/channels/{channel_id}/messages"): _MESSAGES,
    ("GET", "/channels/{channel_id}/messages/{message_id}"): _MESSAGE,
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): _MESSAGE,
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"): _DELETE,
    ("PUT", "/channels/{channel_id}/messages/pins/{message_id}"): _PINS,
    ("DELETE", "/channels/{channel_id}/messages/pins/{message_id}"): _PINS,
    ("PUT", "/channels/{channel_id}/pins/{message_id}"): _PINS,
    ("DELETE", "/channels/{channel_id}/pins/{message_id}"): _PINS,
    ("POST", "/channels/{channel_id}/messages/{message_id}/threads"): _THREADS,
    ("POST", "/channels/{channel_id}/threads"): _THREADS,
    ("PATCH", "/channels/{channel_id}"): _CHANNEL,
    ("DELETE", "/channels/{channel_id}"): _CHANNEL,
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"): _PERMS,
    ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}"): _PERMS,
    ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"): _REACT,
    ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"): _REACT,
    ("POST", "/guilds/{guild_id}/channels"): _GUILD_CHANNELS,
}

#: interaction endpoints are not bound by the global limit
GLOBAL_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass
class _Window:
    limit: int
    per: float
    count: int = 0
    reset_at: float | None = None       # emulated time the window ends
    told_until: float | None = None     # real (monotonic) time the bot was told to wait until

    def roll(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at:
            self.count, self.reset_at, self.told_until = 0, None, None


@dataclass
class Verdict:
    """What the limiter decided for one call: ``headers`` to send, and whether it is refused."""

    headers: dict[str, str] = field(default_factory=dict)
    refused: bool = False
    retry_after: float = 0.0            # real seconds, as told to the bot
    global_: bool = False


@dataclass
class RateLimits:
    """The emulator's rate limiter (``emu.rate_limits``). ``enabled=False`` turns it off;
    ``routes`` and ``global_per_second`` are the limits; ``time_scale`` is the real seconds
    the bot is told to wait per emulated second (1.0 = Discord's headers exactly)."""

    routes: dict[tuple[str, str], RouteLimit] = field(
        default_factory=lambda: dict(DEFAULT_ROUTE_LIMITS))
    global_per_second: int = GLOBAL_PER_SECOND
    time_scale: float = 0.01
    enabled: bool = True
    real_time: Callable[[], float] = time.monotonic
    #: 429s answered so far (route template, global?)
    refusals: list[tuple[str, bool]] = field(default_factory=list)
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)

    def set_limit(self, method: str, template: str, limit: int, per: float,
                  major: str | None = "channel_id", bucket: str | None = None) -> None:
        """Change (or add) one route's limit."""
        self.routes[(method.upper(), template)] = RouteLimit(
            bucket or f"{method.upper()} {template}", limit, per, major)

    def reset(self) -> None:
        self._windows.clear()
        self.refusals.clear()

    # --- the check ------------------------------------------------------------------------

    def check(self, clock_now: Callable[[], float], advance: Callable[[float], None],
              method: str, template: str | None, path: str, params: dict[str, str]) -> Verdict:
        """Count one call; refuse it (429) if its bucket or the global limit is exhausted."""
        if not self.enabled or template is None:
            return Verdict()
        rl = self.routes.get((method, template))
        windows: list[tuple[str, _Window, RouteLimit | None]] = []
        if not path.startswith(GLOBAL_EXEMPT_PREFIXES) and self.global_per_second > 0:
            windows.append(("global", self._window(("global", ""), self.global_per_second, 1.0),
                            None))
        if rl is not None:
            major = params.get(rl.major, "") if rl.major else ""
            windows.append(("route", self._window((rl.bucket, major), rl.limit, rl.per), rl))
        verdict = Verdict()
        for kind, w, _rl in windows:
            w.roll(clock_now())
            if w.count < w.limit:
                continue
            # Exhausted: if the bot waited as long as it was told, the window is over.
            real = self.real_time()
            if w.told_until is not None and real >= w.told_until - _SLACK and w.reset_at is not None:
                advance(max(0.0, w.reset_at - clock_now()))
                w.roll(clock_now())
                continue
            wait = max(0.0, (w.reset_at or clock_now()) - clock_now()) * self.time_scale
            w.told_until = real + wait
            verdict.refused, verdict.retry_after = True, wait
            verdict.global_ = kind == "global"
            self.refusals.append((template, verdict.global_))
            break
        if not verdict.refused:
            for _kind, w, _rl in windows:
                w.count += 1
                if w.reset_at is None:
                    w.reset_at = clock_now() + w.per
        if rl is not None:
            w = windows[-1][1]
            now = clock_now()
            reset_after = max(0.0, (w.reset_at or now) - now)
            remaining = max(0, w.limit - w.count)
            verdict.headers.update({
                "X-RateLimit-Limit": str(w.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{(w.reset_at or now):.3f}",
                "X-RateLimit-Reset-After": f"{reset_after * self.time_scale:.3f}",
                "X-RateLimit-Bucket": rl.hash,
            })
            if remaining == 0 and not verdict.refused:
                w.told_until = self.real_time() + reset_after * self.time_scale
        if verdict.refused:
            # Discord sends whole seconds; a compressed wait is sent as it is
            verdict.headers["Retry-After"] = (str(max(1, math.ceil(verdict.retry_after)))
                                              if self.time_scale >= 1 else
                                              f"{verdict.retry_after:.3f}")
            verdict.headers["X-RateLimit-Scope"] = "global" if verdict.global_ else "user"
            verdict.headers["Via"] = "1.1 google"
            if verdict.global_:
                verdict.headers["X-RateLimit-Global"] = "true"
        return verdict

    def _window(self, key: tuple[str, str], limit: int, per: float) -> _Window:
        w = self._windows.get(key)
        if w is None or (w.limit, w.per) != (limit, per):
            w = self._windows[key] = _Window(limit, per)
        return w

    @staticmethod
    def body(verdict: Verdict) -> dict[str, object]:
        return {"message": "You are being rate limited.", "retry_after": verdict.retry_after,
                "global": verdict.global_, "code": 0}
