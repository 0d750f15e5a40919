"""Applying and lifting locks in Discord, with the database kept in step.

Order of work makes a failed lock leave nothing half-done: the bot's own
permissions are checked first, the channel's overwrites change in one request,
and only then is the lock stored.
"""

from __future__ import annotations

import logging

import discord

from bot.core.errors import NotPermitted, UserError
from bot.core.moderation import (
    Overwrite,
    Overwrites,
    dump_overwrites,
    is_locked,
    load_overwrites,
    locked_overwrites,
)
from bot.storage import Repository
from bot.storage.models import Item

log = logging.getLogger(__name__)


def read_overwrites(channel: discord.abc.GuildChannel) -> Overwrites:
    out: Overwrites = {}
    for target, ow in channel.overwrites.items():
        is_role = isinstance(target, discord.Role) or (
            isinstance(target, discord.Object) and target.type is discord.Role
        )
        allow, deny = ow.pair()
        out[target.id] = Overwrite(type="role" if is_role else "member", allow=allow.value, deny=deny.value)
    return out


def to_discord(overwrites: Overwrites) -> dict[discord.Object, discord.PermissionOverwrite]:
    return {
        discord.Object(id=target, type=discord.Role if ow.type == "role" else discord.Member):
            discord.PermissionOverwrite.from_pair(discord.Permissions(ow.allow), discord.Permissions(ow.deny))
        for target, ow in overwrites.items()
    }


def _missing(perms: discord.Permissions, *names: str) -> list[str]:
    return [n.replace("_", " ").title() for n in names if not getattr(perms, n)]


class Locker:
    def __init__(self, bot: discord.Client, repo: Repository, moderator_role_id: int | None) -> None:
        self.bot = bot
        self.repo = repo
        self.moderator_role_id = moderator_role_id

    async def _fresh(self, channel_id: int):
        try:
            return await self.bot.fetch_channel(channel_id)
        except discord.NotFound:
            raise UserError("The item's channel no longer exists; run /agenda publish to recreate it.") from None

    def _speakers(self, channel: discord.abc.GuildChannel) -> dict[int, str]:
        keep = {channel.guild.me.id: "member"}
        if self.moderator_role_id:
            keep[self.moderator_role_id] = "role"
        return keep

    # --- items -----------------------------------------------------------------------------

    async def lock_item(self, item: Item, *, reason: str | None, moderator_id: int | None) -> bool:
        """Deny posting in the item's channel and threads; False if it was already locked."""
        channel = await self._fresh(item.channel_id)
        existing = await self.repo.moderation.lock(channel.id)
        current = read_overwrites(channel)
        if existing is not None:
            if not is_locked(current, channel.guild.id):  # Discord lost it: apply again
                await self._apply(channel, locked_overwrites(
                    load_overwrites(existing.saved_overwrites), channel.guild.id, self._speakers(channel)))
            return False
        missing = _missing(channel.permissions_for(channel.guild.me), "manage_roles", "manage_channels")
        if missing:
            raise NotPermitted(
                f"I cannot lock #{channel.name}: my role lacks the {', '.join(missing)} permission "
                "there. Nothing was changed."
            )
        await self._apply(channel, locked_overwrites(current, channel.guild.id, self._speakers(channel)))
        try:
            await self.repo.moderation.add_lock(
                target_id=channel.id, item_id=item.id, scope="item", reason=reason,
                locked_by=moderator_id, saved_overwrites=dump_overwrites(current),
                guild_id=channel.guild.id,
            )
        except Exception:
            await self._apply(channel, current)  # no half-locked state
            raise
        return True

    async def unlock_item(self, item: Item, *, moderator_id: int | None) -> bool:
        lock = await self.repo.moderation.lock(item.channel_id)
        if lock is None:
            return False
        channel = await self._fresh(item.channel_id)
        missing = _missing(channel.permissions_for(channel.guild.me), "manage_roles", "manage_channels")
        if missing:
            raise NotPermitted(
                f"I cannot unlock #{channel.name}: my role lacks the {', '.join(missing)} permission "
                "there. Nothing was changed."
            )
        await self._apply(channel, load_overwrites(lock.saved_overwrites))
        await self.repo.moderation.remove_lock(channel.id, moderator_id=moderator_id,
                                               guild_id=channel.guild.id)
        return True

    async def _apply(self, channel: discord.abc.GuildChannel, overwrites: Overwrites) -> None:
        await channel.edit(overwrites=to_discord(overwrites), reason="consultation lock")

    # --- threads ---------------------------------------------------------------------------

    async def lock_thread(self, thread: discord.Thread, item: Item, *, reason: str | None,
                          moderator_id: int | None) -> bool:
        if await self.repo.moderation.lock(thread.id) is not None and thread.locked:
            return False
        if not thread.permissions_for(thread.guild.me).manage_threads:
            raise NotPermitted(f"I cannot lock “{thread.name}”: my role lacks the Manage Threads "
                               "permission. Nothing was changed.")
        await thread.edit(locked=True, reason=reason or "locked by a moderator")
        await self.repo.moderation.add_lock(
            target_id=thread.id, item_id=item.id, scope="thread", reason=reason,
            locked_by=moderator_id, saved_overwrites=None, guild_id=thread.guild.id,
        )
        return True

    async def unlock_thread(self, thread: discord.Thread, *, moderator_id: int | None) -> bool:
        lock = await self.repo.moderation.lock(thread.id)
        if lock is None and not thread.locked:
            return False
        if not thread.permissions_for(thread.guild.me).manage_threads:
            raise NotPermitted(f"I cannot unlock “{thread.name}”: my role lacks the Manage Threads "
                               "permission. Nothing was changed.")
        await thread.edit(locked=False, archived=False)
        await self.repo.moderation.remove_lock(thread.id, moderator_id=moderator_id,
                                               guild_id=thread.guild.id)
        return True

    # --- after a restart -------------------------------------------------------------------

    async def reapply(self) -> int:
        """Make Discord agree with the stored locks (an admin may have undone one)."""
        fixed = 0
        for lock in await self.repo.moderation.locks():
            try:
                channel = await self.bot.fetch_channel(lock.target_id)
            except discord.HTTPException:
                continue
            if lock.scope == "thread" and isinstance(channel, discord.Thread) and not channel.locked:
                await channel.edit(locked=True)
                fixed += 1
            elif lock.scope == "item" and not isinstance(channel, discord.Thread):
                if not is_locked(read_overwrites(channel), channel.guild.id):
                    await self._apply(channel, locked_overwrites(
                        load_overwrites(lock.saved_overwrites), channel.guild.id,
                        self._speakers(channel)))
                    fixed += 1
        return fixed
