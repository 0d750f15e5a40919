"""/profile and /mydata: participants' own data — optional profile, export, erasure."""

from __future__ import annotations

import json
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import BadInput
from bot.runtime.client import ConsultationBot
from bot.runtime.error_handler import report_error
from bot.runtime.render import BRAND_COLOUR, text_file

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
        bot = interaction.client
        erased = await bot.repo.privacy.erase(self.owner_id, guild_id=interaction.guild_id)
        bot.dispatch("participant_erased", self.owner_id)
        await interaction.followup.send(
            f"Done. Erased your profile and the text of {erased['comments']} comment(s) and "
            f"{erased['citation_notes']} citation note(s) from the consultation's records. Your "
            "messages in Discord itself are untouched: delete them there if you wish.",
            ephemeral=True,
        )


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
    @app_commands.checks.cooldown(3, 60.0, key=lambda i: i.user.id)
    async def profile(
        self, interaction: discord.Interaction,
        display_name: app_commands.Range[str, 1, 80] | None = None,
        affiliation: app_commands.Choice[str] | None = None, named: bool | None = None,
        notify: bool | None = None,
    ) -> None:
        repo = self.bot.repo
        if display_name is not None and ("@" in display_name or "://" in display_name):
            raise BadInput("A display name cannot contain “@” or links.")
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
    @app_commands.checks.cooldown(2, 300.0, key=lambda i: i.user.id)
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await self.bot.repo.privacy.export(interaction.user.id)
        await interaction.followup.send(
            f"Everything the consultation stores about you: {len(data['comments'])} comment(s), "
            f"{len(data['quotes'])} quote(s), {len(data['citations'])} citation(s).",
            file=text_file(f"my-consultation-data-{interaction.user.id}.json",
                           json.dumps(data, indent=2, ensure_ascii=False)),
            ephemeral=True,
        )

    @mydata.command(name="delete", description="Erase your profile and the text of your comments")
    async def delete(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "This erases your profile and the text of all your comments, quotes and citation notes "
            "from the consultation's records (counts stay, as anonymous tombstones). It cannot be "
            "undone.", view=confirm_erase(interaction.user.id), ephemeral=True,
        )


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
