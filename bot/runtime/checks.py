"""Who may do what, checked when the command runs (not only by hiding commands)."""

from __future__ import annotations

import discord

from bot.core.errors import NotPermitted, TopicLocked, UserError
from bot.settings import Settings


def _has_role(user: discord.abc.User, role_id: int | None) -> bool:
    return role_id is not None and any(r.id == role_id for r in getattr(user, "roles", ()))


def is_organiser(interaction: discord.Interaction, settings: Settings) -> bool:
    perms = interaction.permissions
    return bool(perms.manage_guild or perms.administrator) or _has_role(
        interaction.user, settings.organiser_role_id
    )


def is_moderator(interaction: discord.Interaction, settings: Settings) -> bool:
    """Manage Threads, the moderator role, or an organiser (who runs the consultation)."""
    perms = interaction.permissions
    return bool(perms.manage_threads or perms.administrator) or _has_role(
        interaction.user, settings.moderator_role_id
    ) or is_organiser(interaction, settings)


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


# --- where a command reads from or posts to ------------------------------------------------
#
# `[topic]` lets a member name any agenda item from anywhere, so every command that reads
# an item or posts into it checks the member's permissions in *that* channel or thread
# (not only where the command was used). Reading needs View Channel and Read Message
# History; posting also needs Send Messages (Send Messages in Threads in a thread) and the
# place must not be locked.

CANNOT_READ = ("You cannot read that agenda item: it needs the View Channel and Read Message "
               "History permissions in its channel.")


def cached_place(client: discord.Client, item) -> discord.abc.GuildChannel | discord.Thread | None:
    """The item's channel or thread from the cache (a thread not cached: its channel, whose
    permissions a thread inherits)."""
    guild = client.get_guild(item.guild_id)
    if guild is None:
        return None
    place = guild.get_channel_or_thread(item.discord_id) if item.discord_id else None
    if place is None and item.channel_id:
        place = guild.get_channel(item.channel_id)
    return place


def permissions_in(member: object, place: object) -> discord.Permissions:
    """The member's permissions in `place`; none when either is unknown."""
    if not isinstance(member, discord.Member) or place is None:
        return discord.Permissions.none()
    try:
        return place.permissions_for(member)  # type: ignore[attr-defined]
    except discord.ClientException:  # a thread whose parent is not cached
        return discord.Permissions.none()


def can_read_place(member: object, place: object) -> bool:
    perms = permissions_in(member, place)
    return bool(perms.view_channel and perms.read_message_history)


def can_read(interaction: discord.Interaction, item) -> bool:
    return can_read_place(interaction.user, cached_place(interaction.client, item))


def readable(interaction: discord.Interaction, items):
    """Only the items the member can read (for lists, autocomplete and the map)."""
    return [i for i in items if can_read(interaction, i)]


def require_read(interaction: discord.Interaction, item) -> None:
    if not can_read(interaction, item):
        raise NotPermitted(CANNOT_READ)


def require_post(interaction: discord.Interaction, item, place) -> None:
    """Refuse posting on the member's behalf where they could not post themselves."""
    if not can_read_place(interaction.user, place):
        raise NotPermitted(CANNOT_READ)
    here = interaction.channel
    if isinstance(here, discord.Thread) and here.locked and place.id in (here.id, here.parent_id):
        raise UserError("This thread is locked: it no longer takes quotes or citations, "
                        "here or in its channel. Nothing was posted.")
    in_thread = isinstance(place, discord.Thread)
    if item.locked:
        raise TopicLocked(item.title, item.lock_reason)
    if in_thread and place.locked:
        raise UserError(f"“{place.name}” is locked: it no longer takes quotes or citations. "
                        "Nothing was posted.")
    perms = permissions_in(interaction.user, place)
    if not (perms.send_messages_in_threads if in_thread else perms.send_messages):
        needed = "Send Messages in Threads" if in_thread else "Send Messages"
        raise NotPermitted(f"You cannot post in “{item.title}”: it needs the {needed} permission "
                           "there. Nothing was posted.")
