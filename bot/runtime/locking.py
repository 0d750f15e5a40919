"""Applying and lifting locks in Discord, with the database kept in step.

Order of work makes a failed lock leave nothing half-done: the bot's own
permissions are checked first (Manage Roles and Manage Channels in the channel, and
every permission bit the new overwrites carry, which Discord accepts only from a bot
that holds it in the server or the channel's category), the channel's overwrites
change in one request, and only then is the lock stored.

An item published in a forum (``layout = "forum"``) is a post, that is a thread: its lock
is the post's thread lock (``lock_item`` hands it to ``lock_thread``).

Threads archive after a while without messages, and Discord refuses to change an
archived thread (50083) unless the same request unarchives it: a thread lock always
sends ``archived=False`` with ``locked=True``.
"""

from __future__ import annotations

import logging

import discord

from bot.core.errors import NotPermitted, UserError
from bot.core.moderation import (
    BOT_KEEP_ALLOW,
    KEEP_ALLOW,
    Overwrite,
    Overwrites,
    dump_overwrites,
    is_locked,
    load_overwrites,
    locked_overwrites,
    written_bits,
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


def permission_names(bits: int) -> list[str]:
    """``["Create Private Threads", …]`` for the set bits (names as Discord's settings show)."""
    return [name.replace("_", " ").title() for name, on in discord.Permissions(bits) if on]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def overwrite_blockers(channel: discord.abc.GuildChannel, overwrites: Overwrites) -> tuple[list[str], str]:
    """The permissions the bot would need, and lacks, to write `overwrites` on `channel`.

    Discord's rule: editing overwrites needs Manage Roles (and the PATCH Manage Channels)
    in the channel, and only permissions the bot has in the server, or in the channel's
    category if it has one, may be allowed or denied, unless an overwrite of the channel
    itself grants the bot Manage Roles. Returns (missing names, where they are needed).
    """
    me = channel.guild.me
    missing = _missing(channel.permissions_for(me), "manage_roles", "manage_channels")
    category = channel.category
    where = f"in the category “{category.name}”" if category is not None else "in this server"
    if missing:
        return missing, "in this channel"
    own = {me.id, *(r.id for r in me.roles)}
    if any(target.id in own and ow.pair()[0].manage_roles
           for target, ow in channel.overwrites.items()):
        return [], where
    source = category.permissions_for(me) if category is not None else me.guild_permissions
    if source.administrator:
        return [], where
    return permission_names(written_bits(overwrites) & ~source.value), where


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

    def _speakers(self, channel: discord.abc.GuildChannel) -> dict[int, tuple[str, int]]:
        """Who keeps speaking in a locked item, and what they keep: the bot all the lock
        denies (notices; new sub-items need a post and a public thread), moderators posting."""
        keep = {channel.guild.me.id: ("member", BOT_KEEP_ALLOW)}
        if self.moderator_role_id:
            keep[self.moderator_role_id] = ("role", KEEP_ALLOW)
        return keep

    def _check_can_write(self, channel: discord.abc.GuildChannel, overwrites: Overwrites,
                         verb: str) -> None:
        missing, where = overwrite_blockers(channel, overwrites)
        if missing:
            plural = "permissions" if len(missing) > 1 else "permission"
            raise NotPermitted(
                f"I cannot {verb} #{channel.name}: my role lacks the {_and(missing)} {plural} "
                f"{where}, and Discord lets a bot set only permissions it has. Give my role "
                f"{'them' if len(missing) > 1 else 'it'} (Server Settings → Roles), or ask an "
                "admin to do this by hand. Nothing was changed."
            )

    # --- items -----------------------------------------------------------------------------

    async def _forum_post(self, item: Item) -> discord.Thread | None:
        """The item's post when it lives in a forum (layout = "forum"): its lock is the
        post's thread lock, not the forum's overwrites (which would lock every item)."""
        if not item.thread_id or not item.channel_id or not await self.repo.forum.is_forum(
                item.channel_id):
            return None
        post = await self._fresh(item.thread_id)
        return post if isinstance(post, discord.Thread) else None

    async def lock_item(self, item: Item, *, reason: str | None, moderator_id: int | None) -> bool:
        """Deny posting in the item's channel and threads; False if it was already locked."""
        post = await self._forum_post(item)
        if post is not None:
            return await self.lock_thread(post, item, reason=reason, moderator_id=moderator_id)
        channel = await self._fresh(item.channel_id)
        existing = await self.repo.moderation.lock(channel.id)
        current = read_overwrites(channel)
        if existing is not None:
            if not is_locked(current, channel.guild.id):  # Discord lost it: apply again
                relocked = locked_overwrites(load_overwrites(existing.saved_overwrites),
                                             channel.guild.id, self._speakers(channel))
                self._check_can_write(channel, relocked, "re-lock")
                await self._apply(channel, relocked)
            return False
        locked = locked_overwrites(current, channel.guild.id, self._speakers(channel))
        self._check_can_write(channel, locked, "lock")
        await self._apply(channel, locked)
        try:
            # False: another process sharing the database locked it meanwhile (with the same
            # overwrites); it posts the notice and logged the lock
            return await self.repo.moderation.add_lock(
                target_id=channel.id, item_id=item.id, scope="item", reason=reason,
                locked_by=moderator_id, saved_overwrites=dump_overwrites(current),
                guild_id=channel.guild.id,
            )
        except Exception:
            await self._apply(channel, current)  # no half-locked state
            raise

    async def unlock_item(self, item: Item, *, moderator_id: int | None) -> bool:
        post = await self._forum_post(item)
        if post is not None:
            return await self.unlock_thread(post, moderator_id=moderator_id)
        lock = await self.repo.moderation.lock(item.channel_id)
        if lock is None:
            return False
        channel = await self._fresh(item.channel_id)
        saved = load_overwrites(lock.saved_overwrites)
        self._check_can_write(channel, saved, "unlock")
        await self._apply(channel, saved)
        await self.repo.moderation.remove_lock(channel.id, moderator_id=moderator_id,
                                               guild_id=channel.guild.id)
        return True

    async def _apply(self, channel: discord.abc.GuildChannel, overwrites: Overwrites) -> None:
        await channel.edit(overwrites=to_discord(overwrites), reason="consultation lock")

    # --- threads ---------------------------------------------------------------------------

    async def lock_thread(self, thread: discord.Thread, item: Item, *, reason: str | None,
                          moderator_id: int | None) -> bool:
        stored = await self.repo.moderation.lock(thread.id) is not None
        if stored and thread.locked:
            return False
        if not thread.permissions_for(thread.guild.me).manage_threads:
            raise NotPermitted(f"I cannot lock “{thread.name}”: my role lacks the Manage Threads "
                               "permission. Nothing was changed.")
        # An archived thread takes no change unless the same PATCH unarchives it (50083);
        # the thread then stays open to read, locked, until Discord archives it again.
        await thread.edit(locked=True, archived=False, reason=reason or "locked by a moderator")
        added = await self.repo.moderation.add_lock(
            target_id=thread.id, item_id=item.id, scope="thread", reason=reason,
            locked_by=moderator_id, saved_overwrites=None, guild_id=thread.guild.id,
        )
        # not added though it was not stored: another process sharing the database locked
        # it meanwhile (and tells the thread); stored: Discord had lost it, locked again now
        return added or stored

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
        """Make Discord agree with the stored locks (an admin may have undone one).

        One lock that cannot be re-applied (a deleted channel, a missing permission, a
        Discord error) is logged and skipped: the others are still re-applied."""
        fixed = 0
        for lock in await self.repo.moderation.locks():
            try:
                fixed += await self._reapply_one(lock)
            except (discord.HTTPException, UserError) as exc:
                log.warning("could not re-apply the lock of %s %s: %s", lock.scope, lock.target_id, exc)
        return fixed

    async def _reapply_one(self, lock) -> int:
        try:
            channel = await self.bot.fetch_channel(lock.target_id)
        except discord.NotFound:
            return 0
        if lock.scope == "thread" and isinstance(channel, discord.Thread) and not channel.locked:
            await channel.edit(locked=True, archived=False)
            return 1
        if lock.scope == "item" and not isinstance(channel, discord.Thread):
            if not is_locked(read_overwrites(channel), channel.guild.id):
                locked = locked_overwrites(load_overwrites(lock.saved_overwrites), channel.guild.id,
                                           self._speakers(channel))
                self._check_can_write(channel, locked, "re-lock")
                await self._apply(channel, locked)
                return 1
        return 0
