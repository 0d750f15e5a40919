"""One place that turns every app-command error into a short ephemeral reply."""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from bot.core.errors import UserError

log = logging.getLogger(__name__)


def describe_error(error: app_commands.AppCommandError) -> tuple[str, bool]:
    """(message for the user, whether it is unexpected and must be logged)."""
    original = getattr(error, "original", None)
    if isinstance(original, UserError):
        return str(original), False
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: you can use this again in {error.retry_after:.0f} s.", False
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {needed} permission to do that.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I am missing the {needed} permission here; ask an admin to grant it.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in the consultation's server, not in direct messages.", False
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You are not allowed to use this command.", False
    if isinstance(error, app_commands.TransformerError):
        return f"“{error.value}” is not a valid {error.type.name.lower()}.", False
    if isinstance(original, discord.Forbidden):
        return ("Discord refused: I am missing a permission for that here "
                f"({original.text or 'forbidden'}). Ask an admin to check my role."), False
    return "", True


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    message, unexpected = describe_error(error)
    if unexpected:
        ref = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error(
            "command /%s by user %s failed (ref %s)", command, interaction.user.id, ref,
            exc_info=getattr(error, "original", error),
        )
        message = f"Something went wrong on our side (ref {ref}); it has been logged."
    await send_ephemeral(interaction, message)


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Reply privately whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message to user %s", interaction.user.id)
