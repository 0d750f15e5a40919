"""Cooldowns that charge only for real work.

discord.py's ``app_commands.checks.cooldown`` takes a token before the command runs, so a
refused attempt (a bad link, a missing permission) and an answer served from cache cost as
much as a fresh computation, and an organiser exporting md, then json, then csv hits the
limit. Here a command first *checks* its bucket (refused with "try again in N s" only when
it is empty) and *charges* it after it did the costly part. Buckets are per person and
command, and for /export per format too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable

from discord import app_commands

#: command → (uses, per seconds)
LIMITS: dict[str, tuple[int, float]] = {
    "cite": (5, 60.0),
    "quote": (3, 30.0),
    "summary": (2, 30.0),
    "map": (2, 30.0),
    "export": (2, 60.0),
    "profile": (3, 60.0),
    "mydata export": (2, 300.0),
    "summary-publish": (2, 60.0),
}


class Cooldowns:
    """Token buckets keyed by (command, person, extra key)."""

    def __init__(self, limits: dict[str, tuple[int, float]] | None = None) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self._buckets: dict[tuple[str, int, Hashable], app_commands.Cooldown] = {}

    def _bucket(self, command: str, user_id: int, key: Hashable) -> app_commands.Cooldown:
        bucket = self._buckets.get((command, user_id, key))
        if bucket is None:
            rate, per = self.limits[command]
            bucket = self._buckets[(command, user_id, key)] = app_commands.Cooldown(rate, per)
        return bucket

    def check(self, command: str, user_id: int, key: Hashable = None) -> None:
        """Raise CommandOnCooldown if this person used up the command (nothing is taken)."""
        bucket = self._bucket(command, user_id, key)
        now = time.time()
        if bucket.get_tokens(now) == 0:
            raise app_commands.CommandOnCooldown(bucket, bucket.get_retry_after(now))

    def charge(self, command: str, user_id: int, key: Hashable = None) -> None:
        """The command did its costly work: take one use."""
        self._bucket(command, user_id, key).update_rate_limit(time.time())


def retry_seconds(retry_after: float) -> int:
    """Whole seconds to wait, rounded up: never "0 s"."""
    return max(1, math.ceil(retry_after))
