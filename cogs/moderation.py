"""/lock · /unlock · /modlog, hiding comments, and items that close at their closing date."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.core.errors import UserError
from bot.core.moderation import due_for_closing
from bot.core.text import truncate
from bot.runtime.adapters import place_or_none
from bot.runtime.checks import require_moderator
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import report_error
from bot.runtime.locking import Locker
from bot.runtime.publisher import Publisher
from bot.runtime.render import (
    LOCKED_COLOUR,
    channel_link,
    member_names,
    message_link,
    ts_tag,
)
from bot.storage.models import Item
from cogs.agenda import topic_autocomplete, topic_for

log = logging.getLogger(__name__)

MODLOG_PAGE = 10
CLOSING_CHECK_SECONDS = 30
#: An item that fails to close is tried again after 1 min, then 2, 4 … (at most 1 h apart),
#: and given up after this many attempts (logged; a moderator can still /lock it).
CLOSING_RETRY_FIRST = timedelta(minutes=1)
CLOSING_RETRY_MAX = timedelta(hours=1)
CLOSING_MAX_ATTEMPTS = 8
#: seconds a process's claim on closing an item holds (it lapses if the process dies)
CLOSING_LEASE = 120


def moderator_commands_visibility(settings) -> discord.Permissions | None:
    """Who Discord shows the moderator commands to (every command also checks at run time).

    Discord's default_member_permissions names permission bits only, never a role, and a bot
    cannot set per-command role overrides (only a server admin can, under Server Settings →
    Integrations). So without MODERATOR_ROLE_ID / ORGANISER_ROLE_ID they are shown to members
    with Manage Threads; with either role set, to everyone, so those roles see them too."""
    if settings.moderator_role_id is not None or settings.organiser_role_id is not None:
        return None
    return discord.Permissions(manage_threads=True)


class HideReasonForm(discord.ui.Modal, title="Hide from consultation"):
    reason = discord.ui.TextInput(label="Reason (shown in the moderation log)", max_length=300)

    def __init__(self, cog: ModerationCog, message: discord.Message) -> None:
        super().__init__(timeout=600)
        self.cog, self.message = cog, message

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.set_hidden(interaction, self.message, True, str(self.reason.value))

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error, "hide form")


class ModlogPager(discord.ui.View):
    """Prev/next buttons that only the moderator who asked can press."""

    def __init__(self, cog: ModerationCog, owner_id: int, guild_id: int, item: Item | None) -> None:
        super().__init__(timeout=300)
        self.cog, self.owner_id, self.guild_id, self.item, self.page = cog, owner_id, guild_id, item, 0

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("These buttons belong to someone else's /modlog.",
                                                    ephemeral=True)
            return False
        return True

    async def show(self, interaction: discord.Interaction, delta: int) -> None:
        await interaction.response.defer()  # before the read; the page is edited below
        self.page = max(0, self.page + delta)
        embed, pages = await self.cog.modlog_page(interaction.guild, self.item, self.page)
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
        await interaction.edit_original_response(embed=embed, view=self)

    @discord.ui.button(label="Newer", style=discord.ButtonStyle.secondary, custom_id="modlog:prev")
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self.show(interaction, -1)

    @discord.ui.button(label="Older", style=discord.ButtonStyle.secondary, custom_id="modlog:next")
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self.show(interaction, +1)


def _thread_what(thread: discord.Thread, item: Item) -> str:
    """How a lock notice names a thread: a forum post that is the item by the item's title."""
    if thread.id == item.thread_id and isinstance(thread.parent, discord.ForumChannel):
        return f"“{item.title}”"
    return f"this thread (“{thread.name}”)"


class ModerationCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.locker = Locker(bot, bot.repo, bot.settings.moderator_role_id)
        self.publisher = Publisher(bot, bot.repo)
        #: item id -> (failed closing attempts, not before): the closing loop's backoff
        self.closing_failures: dict[int, tuple[int, datetime]] = {}
        self.menus = [
            app_commands.ContextMenu(name="Hide from consultation", callback=self.hide_menu),
            app_commands.ContextMenu(name="Unhide", callback=self.unhide_menu),
        ]
        shown = moderator_commands_visibility(bot.settings)
        for command in (self.lock, self.unlock, self.modlog):
            command.default_permissions = shown
        for menu in self.menus:
            menu.guild_only = True
            menu.default_permissions = shown
            bot.tree.add_command(menu)

    async def cog_load(self) -> None:
        self.close_due_items.start()

    async def cog_unload(self) -> None:
        self.close_due_items.cancel()
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    # --- lock / unlock ---------------------------------------------------------------------

    @app_commands.command(name="lock", description="Lock this thread, or this whole agenda item")
    @app_commands.describe(reason="Why (posted in the channel and kept in the moderation log)")
    @app_commands.guild_only()
    async def lock(self, interaction: discord.Interaction,
                   reason: app_commands.Range[str, 1, 300] | None = None) -> None:
        require_moderator(interaction, self.bot.settings, "lock discussions")
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, None)
        channel = interaction.channel
        if isinstance(channel, discord.Thread):  # in a thread: that thread only
            done = await self.locker.lock_thread(channel, item, reason=reason,
                                                 moderator_id=interaction.user.id)
            what = _thread_what(channel, item)
            if done and channel.id == item.thread_id:  # a sub-item's own thread: the topic
                await self._refresh(item)
        else:
            done = await self.lock_item(item, reason=reason, moderator_id=interaction.user.id)
            what = f"“{item.title}”"
        if not done:
            await interaction.followup.send(f"{what[0].upper()}{what[1:]} was already locked.", ephemeral=True)
            return
        await self._notice(channel, f"🔒 A moderator locked {what}." + (f" Reason: {reason}" if reason else ""))
        await interaction.followup.send(f"Locked {what}.", ephemeral=True)

    @app_commands.command(name="unlock", description="Unlock this thread, or this whole agenda item")
    @app_commands.guild_only()
    async def unlock(self, interaction: discord.Interaction) -> None:
        require_moderator(interaction, self.bot.settings, "unlock discussions")
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, None)
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            done = await self.locker.unlock_thread(channel, moderator_id=interaction.user.id)
            what = _thread_what(channel, item)
            if done and channel.id == item.thread_id:
                await self._refresh(item)
        else:
            done = await self.locker.unlock_item(item, moderator_id=interaction.user.id)
            if done:
                await self._refresh(item)
            what = f"“{item.title}”"
        if not done:
            await interaction.followup.send(f"{what[0].upper()}{what[1:]} was not locked.", ephemeral=True)
            return
        await self._notice(channel, f"🔓 A moderator unlocked {what}; comments are open again.")
        await interaction.followup.send(f"Unlocked {what}.", ephemeral=True)

    async def lock_item(self, item: Item, *, reason: str | None, moderator_id: int | None) -> bool:
        done = await self.locker.lock_item(item, reason=reason, moderator_id=moderator_id)
        if done:
            await self._refresh(item)
        return done

    async def _refresh(self, item: Item) -> None:
        """Show the item's new status in its article's footer."""
        guild = self.bot.get_guild(item.guild_id)
        if guild is not None:
            await self.publisher.refresh_post(guild, item)

    @staticmethod
    async def _notice(channel, text: str) -> None:
        try:
            await channel.send(embed=discord.Embed(description=text, colour=LOCKED_COLOUR))
        except discord.HTTPException as exc:
            log.warning("could not post a lock notice: %s", exc)

    # --- closing dates and restarts --------------------------------------------------------

    @tasks.loop(seconds=CLOSING_CHECK_SECONDS)
    async def close_due_items(self) -> None:
        """Lock every item whose closing date has passed (also those that passed while down).

        An item that fails is retried with a growing delay and given up after
        CLOSING_MAX_ATTEMPTS; it never stops the other items (nor the loop)."""
        now = self.bot.clock()
        items = self.bot.owned_items(await self.bot.repo.agenda.all_items())
        for item in due_for_closing(items, now):
            failures, not_before = self.closing_failures.get(item.id, (0, now))
            if failures >= CLOSING_MAX_ATTEMPTS or now < not_before:
                continue
            try:
                await self._close_once(item)
            except Exception as exc:  # one item's failure must not end the loop task
                failures += 1
                delay = min(CLOSING_RETRY_FIRST * 2 ** (failures - 1), CLOSING_RETRY_MAX)
                self.closing_failures[item.id] = (failures, now + delay)
                if failures >= CLOSING_MAX_ATTEMPTS:
                    log.error("gave up closing %s after %d attempts (last: %s); a moderator can "
                              "still /lock it", item.key, failures, exc)
                else:
                    log.warning("could not close %s (attempt %d): %s; trying again in %s",
                                item.key, failures, exc, delay)
            else:
                self.closing_failures.pop(item.id, None)

    async def _close_once(self, item: Item) -> None:
        """Close the item unless another process sharing the database is closing it (two
        processes may run the same shards while one replaces the other): the claim in the
        database decides, and the item is read again under it, so it is locked once."""
        claims = self.bot.repo.claims
        key = f"close:{item.id}:{item.closes_at.isoformat()}"
        async with self.bot.exclusive(f"close:{item.id}") as got:
            if not got or not await claims.claim(key, self.bot.process_id,
                                                 now=int(time.time()), lease=CLOSING_LEASE):
                return
            try:
                fresh = await self.bot.repo.agenda.item(item.id)
                if fresh is not None and due_for_closing([fresh], self.bot.clock()):
                    await self._close(fresh)
            finally:
                # released, not marked done: an item unlocked past its date closes again
                await claims.release(key, self.bot.process_id)

    async def _close(self, item: Item) -> None:
        reason = "The closing date was reached."
        if item.parent_id is None:
            closed = await self.lock_item(item, reason=reason, moderator_id=None)
            place = await place_or_none(self.bot, item)  # a forum item: its post
        else:  # a sub-item: its thread (perhaps archived by now: the lock unarchives it)
            place = await self.bot.fetch_channel(item.thread_id)
            closed = await self.locker.lock_thread(place, item, reason=reason, moderator_id=None)
            await self._refresh(item)
        if closed and place is not None:
            await self._notice(place, f"🔒 “{item.title}” has closed: its closing "
                                      f"date ({ts_tag(item.closes_at)}) was reached.")

    @close_due_items.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()
        try:
            fixed = await self.locker.reapply()
            if fixed:
                log.info("re-applied %d lock(s) that Discord had lost", fixed)
        except Exception:
            log.exception("re-applying locks failed")

    # --- hide / unhide ---------------------------------------------------------------------

    async def hide_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        require_moderator(interaction, self.bot.settings, "hide comments")
        await self._comment_or_error(message)
        await interaction.response.send_modal(HideReasonForm(self, message))

    async def unhide_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        require_moderator(interaction, self.bot.settings, "unhide comments")
        await self.set_hidden(interaction, message, False, None)  # it checks, after deferring

    async def _comment_or_error(self, message: discord.Message):
        comment = await self.bot.repo.discussion.comment(message.id)
        if comment is None:
            raise UserError("That message is not a comment of the consultation.")
        return comment

    async def set_hidden(self, interaction: discord.Interaction, message: discord.Message,
                         hidden: bool, reason: str | None) -> None:
        require_moderator(interaction, self.bot.settings, "hide comments")
        await interaction.response.defer(ephemeral=True, thinking=True)
        before = await self._comment_or_error(message)
        if before.hidden == hidden:
            await interaction.followup.send(
                f"That comment was already {'hidden' if hidden else 'visible'}.", ephemeral=True)
            return
        await self.bot.repo.discussion.set_hidden(message.id, hidden, reason)
        await self.bot.repo.moderation.log(
            action="hide" if hidden else "unhide", target_type="comment", target_id=message.id,
            moderator_id=interaction.user.id, guild_id=interaction.guild_id, item_id=before.item_id,
            reason=reason,
        )
        verb = "Hidden from summaries, the map and exports" if hidden else "Visible again in summaries"
        await interaction.followup.send(
            f"{verb}: {message_link(interaction.guild_id, message.channel.id, message.id)}",
            ephemeral=True,
        )

    # --- /modlog ---------------------------------------------------------------------------

    @app_commands.command(name="modlog", description="The moderation log, newest first")
    @app_commands.describe(topic="Only this agenda item (default: everything)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def modlog(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        require_moderator(interaction, self.bot.settings, "read the moderation log")
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic) if topic else None
        embed, pages = await self.modlog_page(interaction.guild, item, 0)
        view = ModlogPager(self, interaction.user.id, interaction.guild_id, item)
        view.previous.disabled = True
        view.next.disabled = pages <= 1
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    async def modlog_page(self, guild: discord.Guild, item: Item | None,
                          page: int) -> tuple[discord.Embed, int]:
        """A page of the log with names and links (no raw ids)."""
        guild_id = guild.id
        repo = self.bot.repo
        actions, total = await repo.moderation.actions(
            guild_id=guild_id if item is None else None, item_id=item.id if item else None,
            limit=MODLOG_PAGE, offset=page * MODLOG_PAGE,
        )
        pages = max(1, -(-total // MODLOG_PAGE))
        title = "Moderation log" + (f" — {item.title}" if item else "")
        e = discord.Embed(title=truncate(title, 256), colour=LOCKED_COLOUR)
        comments = {a.target_id: await repo.discussion.comment(a.target_id)
                    for a in actions if a.target_type == "comment" and a.target_id}
        names = await member_names(guild, [a.moderator_id for a in actions]
                                   + [c.author_id for c in comments.values() if c])
        items = {i.id: i for i in await repo.agenda.guild_items(guild_id)}
        lines = []
        for a in actions:
            who = (names.get(a.moderator_id, "a moderator who left") if a.moderator_id
                   else "the bot (closing date)")
            topic = items.get(a.item_id) if a.item_id else None
            title = truncate(topic.title, 80) if topic else "an agenda item"
            comment = comments.get(a.target_id) if a.target_type == "comment" else None
            if comment is not None:
                author = names.get(comment.author_id, "someone who left")
                target = (f"[a comment by {author}]"
                          f"({message_link(guild_id, comment.channel_id, comment.message_id)})"
                          f" in “{title}”")
            elif a.target_type in ("item", "thread") and a.target_id:
                what = f"“{title}”" if a.target_type == "item" else f"a thread of “{title}”"
                target = f"[{what}]({channel_link(guild_id, a.target_id)})"
            elif a.target_type == "participant":
                target = "a participant's data (at their request)"
            else:
                target = a.target_type
            why = f" — {truncate(a.reason, 200)}" if a.reason else ""
            lines.append(f"{ts_tag(a.created_at, 'f')} · **{a.action}** {target} by {who}{why}")
        e.description = truncate("\n".join(lines), 4096) or "No moderation actions yet."
        e.set_footer(text=f"Page {page + 1} of {pages} · {total} action(s)")
        return e, pages


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(ModerationCog(bot))
