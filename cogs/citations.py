"""/cite a source explicitly, and /citations: sources ranked by how many people cited them."""

from __future__ import annotations

from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.discussion import DiscussionService
from bot.core.errors import BadInput
from bot.core.text import truncate
from bot.runtime.adapters import item_place, parent_id_of
from bot.runtime.catchup import settled_note
from bot.runtime.checks import require_post
from bot.runtime.client import ConsultationBot
from bot.runtime.render import BRAND_COLOUR, message_link
from cogs.agenda import topic_autocomplete, topic_for

PREVIEWABLE_URL = 1900  # longer links go in the embed only (message content is ≤ 2000)
CONFIRM_URL = 300  # the confirmation names the source; the post has the whole address


def cite_post(author: str, url: str, note: str | None,
              normalized_url: str = "") -> tuple[str | None, discord.Embed]:
    """The /cite post: the link as content (Discord previews it), or, for a link too long
    for a message, the whole link in the embed; the note below it; no pings. A host typed
    in another alphabet is shown as the punycode host a browser opens."""
    long_url = len(url) > PREVIEWABLE_URL
    description = f"{url}\n\n{note}" if long_url and note else (url if long_url else note)
    post = discord.Embed(description=description, colour=BRAND_COLOUR)
    post.set_author(name=truncate(f"{author} cites a source", 256))
    host = urlsplit(url).hostname or ""
    if not host.isascii() and normalized_url:
        post.set_footer(text=truncate(f"Opens {urlsplit(normalized_url).hostname}", 2048))
    return (None if long_url else url), post


def cite_confirmation(normalized_url: str, title: str, link: str) -> str:
    return f"Cited {truncate(normalized_url, CONFIRM_URL)} in “{truncate(title, 100)}”: {link}"


def check_fits(content: str | None, embed: discord.Embed | None, what: str) -> None:
    """Refuse before sending what Discord would refuse after (content ≤ 2,000 characters,
    a description ≤ 4,096, an embed ≤ 6,000 in total)."""
    too_long = (len(content or "") > 2000
                or (embed is not None and (len(embed) > 6000
                                           or len(embed.description or "") > 4096)))
    if too_long:
        raise BadInput(f"That is too long for one Discord message: shorten {what} "
                       "(a shorter link or note). Nothing was posted.")


class CitationsCog(commands.Cog):
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.discussion = DiscussionService(bot.repo)

    @app_commands.command(name="cite", description="Cite a source (a web link) in this topic")
    @app_commands.describe(url="The http(s) address of the source", note="Why it matters (optional)",
                           topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def cite(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 1, 2100],
        note: app_commands.Range[str, 1, 1000] | None = None, topic: str | None = None,
    ) -> None:
        self.bot.cooldowns.check("cite", interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        self.discussion.check_open(item)
        citation = self.discussion.check_citation(url, note)
        place = await item_place(self.bot, item)
        require_post(interaction, item, place)
        content, post = cite_post(interaction.user.display_name, citation.url, note,
                                  citation.normalized_url)
        # everything that will be sent is built and checked first: nothing half-written
        check_fits(content, post, "the citation")
        sent = await place.send(content=content, embed=post)
        self.bot.cooldowns.charge("cite", interaction.user.id)  # refusals above cost nothing
        await self.discussion.record_post(
            message_id=sent.id, place_id=place.id, in_thread=isinstance(place, discord.Thread),
            parent_id=parent_id_of(place), author_id=interaction.user.id,
            content=citation.url + (f"\n{note}" if note else ""), created_at=sent.created_at,
            kind="citation", citations=[citation],
        )
        await interaction.followup.send(
            cite_confirmation(citation.normalized_url, item.title,
                              message_link(item.guild_id, place.id, sent.id)),
            ephemeral=True,
        )

    @app_commands.command(name="citations", description="Sources cited in a topic, most cited first")
    @app_commands.describe(topic="An agenda item (default: this channel's)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def citations(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        item = await topic_for(interaction, topic)
        note = await settled_note(self.bot)  # a catch-up after a reconnect may still be running
        sources = await self.bot.repo.discussion.sources(item.id)
        e = discord.Embed(title=truncate(f"Sources cited in “{item.title}”", 256), colour=BRAND_COLOUR)
        if not sources:
            e.description = "No sources yet. Post a link in the discussion or use /cite."
        lines = []
        for rank, source in enumerate(sources, start=1):
            label = truncate(source.title or source.normalized_url, 120)
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
        await interaction.followup.send(content=note, embed=e, ephemeral=True)


async def setup(bot: ConsultationBot) -> None:
    await bot.add_cog(CitationsCog(bot))
