"""One place that turns every app-command error into a short ephemeral reply.

Commands, modals and buttons all end up in `report_error`.
"""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from bot.core.errors import UserError
from bot.core.text import truncate
from bot.runtime.cooldowns import retry_seconds

log = logging.getLogger(__name__)


def _perm_names(missing: list[str]) -> str:
    return ", ".join(p.replace("_", " ").title() for p in missing)


def describe_error(error: BaseException) -> str | None:
    """The message for the user, or None when the error is unexpected (a bug)."""
    original = getattr(error, "original", None)
    if original is not None and not isinstance(error, app_commands.TransformerError):
        return describe_error(original)
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: you can use this again in {retry_seconds(error.retry_after)} s."
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_perm_names(error.missing_permissions)} permission to do that."
    if isinstance(error, app_commands.BotMissingPermissions):
        return (f"I am missing the {_perm_names(error.missing_permissions)} permission here; "
                "ask an admin to grant it to my role.")
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in the consultation's server, not in direct messages."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You are not allowed to use this command."
    if isinstance(error, app_commands.TransformerError):
        return f"“{error.value}” is not a valid {error.type.name.lower()}."
    if isinstance(error, discord.HTTPException) and error.status == 413:
        return ("The answer is too big to upload in this server (over its upload limit); "
                "nothing was posted. Try a single topic, or ask an organiser for /export.")
    if isinstance(error, discord.Forbidden):
        return ("Discord refused: I am missing a permission for that here "
                f"({error.text or 'forbidden'}). Ask an admin to check my role.")
    return None


async def report_error(interaction: discord.Interaction, error: BaseException, where: str) -> None:
    message = describe_error(error)
    if message is None:
        ref = uuid.uuid4().hex[:8]
        log.error("%s by user %s failed (ref %s)", where, interaction.user.id, ref,
                  exc_info=getattr(error, "original", error))
        message = f"Something went wrong on our side (ref {ref}); it has been logged."
    await send_ephemeral(interaction, message)


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    command = interaction.command.qualified_name if interaction.command else "?"
    await report_error(interaction, error, f"/{command}")


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Reply privately whether or not the interaction was already answered or deferred.

    Commands defer privately (an answer for the channel is a later follow-up, see
    cogs.insight.answer_publicly): after a *public* deferral Discord would turn the first
    follow-up into the public loading message whatever `ephemeral` says."""
    message = truncate(message, 1900)  # Discord refuses content over 2000 characters
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message to user %s", interaction.user.id)
