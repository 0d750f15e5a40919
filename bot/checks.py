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


def _require(allowed: bool, interaction: discord.Interaction, who: str, permission: str,
             role_id: int | None, action: str) -> None:
    if interaction.guild is None:
        raise NotPermitted("This works in the consultation's server, not in direct messages.")
    if not allowed:
        role = f" or the {who[:-1]} role" if role_id else ""
        raise NotPermitted(f"Only {who} can {action}: it needs the {permission} permission{role}.")


def require_organiser(interaction: discord.Interaction, settings: Settings, action: str) -> None:
    _require(is_organiser(interaction, settings), interaction, "organisers", "Manage Server",
             settings.organiser_role_id, action)


def require_moderator(interaction: discord.Interaction, settings: Settings, action: str) -> None:
    _require(is_moderator(interaction, settings), interaction, "moderators", "Manage Threads",
             settings.moderator_role_id, action)
