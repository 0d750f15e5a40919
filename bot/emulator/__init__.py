"""A loopback Discord emulator for end-to-end tests of the unmodified discord.py client.

See ``/work/shared/notes/discord-emulation.md`` for the measured facts it is built on and
``tests/emulator/`` for worked examples. Entry points::

    from bot.emulator import Emulator, EmulatorForbidden, point_discord_py_at
"""

from __future__ import annotations

from bot.discord_urls import discord_py_targets, point_discord_py_at, restore_discord_py

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

