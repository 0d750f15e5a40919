"""A loopback Discord emulator for end-to-end tests of the unmodified discord.py client.

See ``/work/shared/notes/discord-emulation.md`` for the measured facts it is built on and
``tests/emulator/`` for worked examples. Entry points::

    from bot.emulator import Emulator, EmulatorForbidden, point_discord_py_at
"""

from __future__ import annotations

from .core import FileUpload, RequestRecord
from .emulator import Emulator, Fault
from .errors import ApiError, EmulatorError, EmulatorForbidden
from .interactions import InteractionResult, ModalSpec
from .state import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    Attachment,
    Channel,
    Clock,
    Guild,
    Member,
    Message,
    P,
    Pings,
    Role,
    User,
)

__all__ = [
    "DEFAULT_BOT_PERMISSIONS", "DEFAULT_EVERYONE_PERMISSIONS", "ApiError", "Attachment",
    "Channel", "Clock", "Emulator", "EmulatorError", "EmulatorForbidden", "Fault", "FileUpload",
    "Guild", "InteractionResult", "Member", "Message", "ModalSpec", "P", "Pings", "RequestRecord",
    "Role", "User", "point_discord_py_at", "restore_discord_py", "discord_py_targets",
]


def discord_py_targets() -> tuple[str, object]:
    """The current ``(Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)`` of discord.py."""
    import discord.gateway
    import discord.http

    return discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def point_discord_py_at(api_base: str, gateway_url: str) -> tuple[str, object]:
    """Point discord.py (process-wide class attributes) at another REST base and gateway.

    Sets ``discord.http.Route.BASE = api_base`` and
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)``.
    Returns the previous values, for :func:`restore_discord_py`.
    """
    import discord.gateway
    import discord.http
    import yarl

    previous = discord_py_targets()
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


def restore_discord_py(previous: tuple[str, object]) -> None:
    """Undo :func:`point_discord_py_at` with the value it returned."""
    import discord.gateway
    import discord.http

    discord.http.Route.BASE = previous[0]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = previous[1]  # type: ignore[assignment]
