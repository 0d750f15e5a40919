"""/profile and /mydata: participants' own data — optional profile, export, erasure."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.discussion import DiscussionService
from bot.core.errors import BadInput
from bot.core.input_checks import display_text_problem
from bot.core.packaging import package
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import report_error
from bot.runtime.render import BRAND_COLOUR, bytes_file

log = logging.getLogger(__name__)

AFFILIATIONS = ["individual", "organisation", "business", "government", "academia", "civil society",
                "other"]


class _OwnersButton(discord.ui.DynamicItem[discord.ui.Button], template=r"$^"):
    """A persistent button whose custom_id carries the id of the only user who may press it.

    Registered when the cog loads (in the bot's setup hook), so a button sent before a
    restart still works after it: nothing is kept in memory between the two."""

    def __init__(self, owner_id: int, *, label: str, style: discord.ButtonStyle,
                 action: str) -> None:
        super().__init__(discord.ui.Button(label=label, style=style,
                                           custom_id=f"mydata:{action}:{owner_id}"))
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /):
        return cls(int(match["owner"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Only the person whose data this is can confirm.",
                                                    ephemeral=True)
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.pressed(interaction)
        except Exception as error:
            await report_error(interaction, error, f"mydata {self.__class__.__name__} button")

    async def pressed(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError


class EraseButton(_OwnersButton, template=r"^mydata:erase:(?P<owner>[0-9]{1,20})$"):
    def __init__(self, owner_id: int) -> None:
        super().__init__(owner_id, label="Erase my data", style=discord.ButtonStyle.danger,
                         action="erase")

    async def pressed(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        cog = interaction.client.get_cog("PrivacyCog")
        await interaction.followup.send(await cog.erase(self.owner_id, interaction.guild_id),
                                        ephemeral=True)


class CancelEraseButton(_OwnersButton, template=r"^mydata:cancel:(?P<owner>[0-9]{1,20})$"):
    def __init__(self, owner_id: int) -> None:
        super().__init__(owner_id, label="Cancel", style=discord.ButtonStyle.secondary,
                         action="cancel")

    async def pressed(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content="Nothing was erased.", view=None)


PERSISTENT_BUTTONS = (EraseButton, CancelEraseButton)


def confirm_erase(owner_id: int) -> discord.ui.View:
    """The confirmation under `/mydata delete`: persistent, for `owner_id` only."""
    view = discord.ui.View(timeout=None)
    view.add_item(EraseButton(owner_id))
    view.add_item(CancelEraseButton(owner_id))
    return view


class PrivacyCog(commands.Cog):
    mydata = app_commands.Group(name="mydata", description="Your own data in this consultation")

    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.discussion = DiscussionService(bot.repo)

    async def cog_load(self) -> None:
        # Runs in the bot's setup hook: buttons sent before a restart are answered after it.
        self.bot.add_dynamic_items(*PERSISTENT_BUTTONS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT_BUTTONS)

    @app_commands.command(name="profile", description="Optional: how reports may name you")
    @app_commands.describe(
        display_name="The name to use in published reports (leave out to stay pseudonymous)",
        affiliation="Whom you speak for",
        named="May published reports name you? (default: no — you appear as a pseudonym)",
        notify="Tell me once, by DM, when an outcome answers what I said (default: no)",
    )
    @app_commands.choices(affiliation=[app_commands.Choice(name=a, value=a) for a in AFFILIATIONS])
    async def profile(
        self, interaction: discord.Interaction,
        display_name: app_commands.Range[str, 1, 80] | None = None,
        affiliation: app_commands.Choice[str] | None = None, named: bool | None = None,
        notify: bool | None = None,
    ) -> None:
        repo = self.bot.repo
        editing = not (display_name is None and affiliation is None and named is None
                       and notify is None)
        if editing:  # viewing costs nothing
            self.bot.cooldowns.check("profile", interaction.user.id)
        if display_name is not None:
            if problem := display_text_problem(display_name, "display name"):
                raise BadInput(f"{problem} Nothing was saved.")
            if "@" in display_name or "://" in display_name:
                raise BadInput("A display name cannot contain “@” or links.")
            display_name = display_name.strip()
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any read
        current = await repo.privacy.participant(interaction.user.id)
        if display_name is None and affiliation is None and named is None and notify is None:
            await interaction.followup.send(embed=self._profile_embed(current), ephemeral=True)
            return
        saved = await repo.privacy.save_profile(
            interaction.user.id,
            display_name=display_name if display_name is not None else (current.display_name if current else None),
            affiliation=affiliation.value if affiliation else (current.affiliation if current else None),
            consent_named=named if named is not None else (current.consent_named if current else False),
            notify_outcomes=notify if notify is not None else (current.notify_outcomes if current else False),
        )
        self.bot.cooldowns.charge("profile", interaction.user.id)
        await interaction.followup.send("Saved.", embed=self._profile_embed(saved), ephemeral=True)

    @staticmethod
    def _profile_embed(p) -> discord.Embed:
        e = discord.Embed(title="Your consultation profile", colour=BRAND_COLOUR)
        if p is None:
            e.description = ("You have no profile: reports show you as a pseudonym. That is fine; "
                             "use /profile display_name:… named:True if you want to be named.")
            return e
        e.add_field(name="Pseudonym", value=p.pseudonym)
        e.add_field(name="Display name", value=p.display_name or "—")
        e.add_field(name="Affiliation", value=p.affiliation or "—")
        e.add_field(name="Named in reports", value="yes" if p.consent_named else "no (pseudonymous)")
        e.add_field(name="Told about outcomes", value="yes, once per item, by DM" if p.notify_outcomes
                    else "no")
        return e

    @mydata.command(name="export", description="Get a file of everything stored about you")
    async def export(self, interaction: discord.Interaction) -> None:
        self.bot.cooldowns.check("mydata export", interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await self.bot.repo.privacy.export(interaction.user.id)
        name = f"my-consultation-data-{interaction.user.id}.json"
        blob = json.dumps(data, indent=2, ensure_ascii=False).encode()
        per_file = getattr(interaction, "filesize_limit", None) or 10 * 1024 * 1024
        packed = await asyncio.to_thread(package, {name: blob}, per_file)  # zipped if too big
        head = "\n".join([
            f"Everything the consultation stores about you: {len(data['comments'])} comment(s), "
            f"{len(data['quotes'])} quote(s), {len(data['citations'])} citation(s).",
            *packed.notes])
        for number, group in enumerate(packed.messages, start=1):
            await interaction.followup.send(
                head[:2000] if number == 1 else None,
                files=[bytes_file(n, d) for n, d in group], ephemeral=True,
            )
        self.bot.cooldowns.charge("mydata export", interaction.user.id)

    @mydata.command(name="delete", description="Erase your profile and the text of your comments")
    async def delete(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "This erases your profile, the text of all your comments and quotes, and your "
            "citations (links, their titles and notes) from the consultation's records (counts "
            "stay, as anonymous tombstones). It also deletes the posts the bot made for you with "
            "/quote and /cite. It cannot be undone.",
            view=confirm_erase(interaction.user.id), ephemeral=True,
        )

    async def erase(self, user_id: int, guild_id: int | None) -> str:
        """Erase the records first (all or nothing), then the bot's own posts that carry the
        person's words; returns what was removed. A post that could not be deleted is found
        again by the next /mydata delete (the tombstone keeps its message id)."""
        repo = self.bot.repo
        posts = await repo.privacy.posts_made_for(user_id)
        erased = await repo.privacy.erase(user_id, guild_id=guild_id)
        self.bot.dispatch("participant_erased", user_id)
        gone: list[int] = []
        failed = 0
        for channel_id, message_id in posts:
            try:
                await self.bot.http.delete_message(channel_id, message_id,
                                                   reason="participant erased their data")
                gone.append(message_id)
            except discord.NotFound:
                gone.append(message_id)  # already deleted
            except discord.HTTPException as exc:
                failed += 1
                log.warning("could not delete post %s for an erased participant: %s",
                            message_id, exc.status)
        await self.discussion.delete(gone)  # tombstoned now, not only when the event arrives
        deleted = len(gone)
        lines = [
            f"Done. Erased your profile, the text of {erased['comments']} comment(s) and "
            f"{erased['citations']} citation(s) (links, titles and notes) from the consultation's "
            f"records, and deleted {deleted} post(s) the bot made for you (/quote, /cite).",
        ]
        if failed:
            lines.append(f"{failed} post(s) could not be deleted just now; run /mydata delete "
                         "again later to retry.")
        lines.append("Your own messages in Discord are untouched: delete them there if you wish.")
        return " ".join(lines)


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
