"""/cite a source explicitly, and /citations: sources ranked by how many people cited them."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.discussion import DiscussionService
from bot.runtime.adapters import item_place, parent_id_of
from bot.runtime.checks import require_post
from bot.runtime.client import ConsultationBot
from bot.runtime.render import BRAND_COLOUR, fit, message_link
from cogs.agenda import topic_autocomplete, topic_for

PREVIEWABLE_URL = 1900  # longer links go in the embed only (message content is ≤ 2000)


class CitationsCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.discussion = DiscussionService(bot.repo)

    @app_commands.command(name="cite", description="Cite a source (a web link) in this topic")
    @app_commands.describe(url="The http(s) address of the source", note="Why it matters (optional)",
                           topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    @app_commands.checks.cooldown(5, 60.0, key=lambda i: i.user.id)
    async def cite(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 1, 2100],
        note: app_commands.Range[str, 1, 1000] | None = None, topic: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        self.discussion.check_open(item)
        citation = self.discussion.check_citation(url, note)
        place = await item_place(self.bot, item)
        require_post(interaction, item, place)
        post = discord.Embed(description=note, colour=BRAND_COLOUR)
        post.set_author(name=f"{interaction.user.display_name} cites a source")
        if len(citation.url) > PREVIEWABLE_URL:
            post.add_field(name="Source", value=fit(citation.url, 1024))
        sent = await place.send(
            content=citation.url if len(citation.url) <= PREVIEWABLE_URL else None, embed=post
        )
        # (if the database cannot take it now, it is kept and stored when it can)
        await self.bot.writes.run(place.id, lambda: self.discussion.record_post(
            message_id=sent.id, place_id=place.id, in_thread=isinstance(place, discord.Thread),
            parent_id=parent_id_of(place), author_id=interaction.user.id,
            content=citation.url + (f"\n{note}" if note else ""), created_at=sent.created_at,
            kind="citation", citations=[citation],
        ))
        await interaction.followup.send(
            f"Cited {citation.normalized_url} in “{item.title}”: "
            f"{message_link(item.guild_id, place.id, sent.id)}",
            ephemeral=True,
        )

    @app_commands.command(name="citations", description="Sources cited in a topic, most cited first")
    @app_commands.describe(topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def citations(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        sources = await self.bot.repo.discussion.sources(item.id)
        e = discord.Embed(title=fit(f"Sources cited in “{item.title}”", 256), colour=BRAND_COLOUR)
        if not sources:
            e.description = "No sources yet. Post a link in the discussion or use /cite."
        lines = []
        for rank, source in enumerate(sources, start=1):
            label = fit(source.title or source.normalized_url, 120)
            people = ", ".join(f"<@{c}>" for c in source.citers[:5])
            more = f" and {len(source.citers) - 5} more" if len(source.citers) > 5 else ""
            where = " ".join(
                f"[{n}]({message_link(item.guild_id, c.channel_id or item.discord_id, c.message_id)})"
                for n, c in enumerate(source.citations[:3], start=1)
            )
            cited = f"{source.citer_count} {'person' if source.citer_count == 1 else 'people'}"
            line = f"**{rank}.** [{label}]({source.url}) — {cited}: {people}{more} · {where}"
            if sum(len(x) + 1 for x in lines) + len(line) > 3900:
                lines.append(f"…and {len(sources) - rank + 1} more sources (see /export).")
                break
            lines.append(line)
        if lines:
            e.description = "\n".join(lines)
        await interaction.followup.send(embed=e, ephemeral=True)


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(CitationsCog(bot))
