"""Pointing the unmodified discord.py client at a proxy or a local emulator.

discord.py builds every REST URL (webhooks and interaction callbacks included) from
`discord.http.Route.BASE` and connects first to
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`; both are class attributes, so
these settings are process-wide.
"""

from __future__ import annotations

import discord
import yarl

DISCORD_API_BASE = discord.http.Route.BASE
DISCORD_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def discord_py_targets() -> tuple[str, yarl.URL]:
    """The current `(REST base, gateway URL)` of discord.py."""
    return discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def point_discord_py_at(api_base: str | None, gateway_url: str | None) -> tuple[str, yarl.URL]:
    """Use `api_base` for REST and `gateway_url` for the socket (None: Discord's own).

    Returns the previous values, for `restore_discord_py`.
    """
    previous = discord_py_targets()
    discord.http.Route.BASE = api_base.rstrip("/") if api_base else DISCORD_API_BASE
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway_url) if gateway_url else DISCORD_GATEWAY
    )
    return previous


def restore_discord_py(previous: tuple[str, yarl.URL]) -> None:
    """Undo `point_discord_py_at` with the value it returned."""
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = previous
