"""Who may do what, checked when the command runs (not only by hiding commands)."""

from __future__ import annotations

import discord

from bot.core.errors import NotPermitted
from bot.settings import Settings


def _has_role(user: discord.abc.User, role_id: int | None) -> bool:
    return role_id is not None and any(r.id == role_id for r in getattr(user, "roles", ()))


def is_organiser(interaction: discord.Interaction, settings: Settings) -> bool:
    perms = interaction.permissions
    return bool(perms.manage_guild or perms.administrator) or _has_role(
        interaction.user, settings.organiser_role_id
    )


def is_moderator(interaction: discord.Interaction, settings: Settings) -> bool:
    perms = interaction.permissions
    return bool(perms.manage_threads or perms.administrator) or _has_role(
        interaction.user, settings.moderator_role_id
    )


def require_organiser(interaction: discord.Interaction, settings: Settings, action: str) -> None:
    if interaction.guild is None:
        raise NotPermitted("This works in the consultation's server, not in direct messages.")
    if not is_organiser(interaction, settings):
        role = " or the organiser role" if settings.organiser_role_id else ""
        raise NotPermitted(f"Only organisers can {action}: it needs the Manage Server permission{role}.")


def require_moderator(interaction: discord.Interaction, settings: Settings, action: str) -> None:
    if interaction.guild is None:
        raise NotPermitted("This works in the consultation's server, not in direct messages.")
    if not is_moderator(interaction, settings):
        role = " or the moderator role" if settings.moderator_role_id else ""
        raise NotPermitted(f"Only moderators can {action}: it needs the Manage Threads permission{role}.")
