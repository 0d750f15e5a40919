"""Pointing the unmodified discord.py client at a proxy or a local emulator."""

from __future__ import annotations

import discord
import yarl

_ORIGINAL_API_BASE = discord.http.Route.BASE
_ORIGINAL_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def point_discord_py_at(api_base: str | None, gateway_url: str | None) -> None:
    """Use `api_base` for REST (and webhooks, interactions) and `gateway_url` for the socket.

    discord.py builds every REST URL from `Route.BASE` and connects first to
    `DiscordWebSocket.DEFAULT_GATEWAY`; both are class attributes. `None` restores
    Discord's own addresses.
    """
    discord.http.Route.BASE = api_base.rstrip("/") if api_base else _ORIGINAL_API_BASE
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway_url) if gateway_url else _ORIGINAL_GATEWAY
    )
