"""Turning the core's plain data into Discord objects (embeds, files, links)."""

from __future__ import annotations

import io

import discord

from bot.core.article import ArticlePart, EmbedData
from bot.core.text import truncate

#: Discord's limits on one message's embeds.
MESSAGE_EMBEDS = 10
MESSAGE_EMBED_TOTAL = 6000
DESCRIPTION_LIMIT = 4096

BRAND_COLOUR = discord.Colour.from_rgb(31, 94, 140)
LOCKED_COLOUR = discord.Colour.from_rgb(140, 60, 40)


def embed(data: EmbedData, colour: discord.Colour = BRAND_COLOUR) -> discord.Embed:
    e = discord.Embed(title=data.title, description=data.description, colour=colour)
    if data.footer:
        e.set_footer(text=data.footer)
    return e


def part_embeds(part: ArticlePart) -> list[discord.Embed]:
    return [embed(e) for e in part.embeds]


def channel_link(guild_id: int, channel_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}"


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def text_file(name: str, text: str) -> discord.File:
    return discord.File(io.BytesIO(text.encode("utf-8")), filename=name)


def bytes_file(name: str, data: bytes, description: str | None = None) -> discord.File:
    """A file to attach; ``description`` is its alt text (at most 1024 characters)."""
    return discord.File(io.BytesIO(data), filename=name, description=description)


async def member_names(guild: discord.Guild | None, ids) -> dict[int, str]:
    """Display names of members (from the cache, else one REST read each); people who left
    the server are missing from the result."""
    names: dict[int, str] = {}
    if guild is None:
        return names
    for user_id in {i for i in ids if i}:
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                continue
        names[user_id] = member.display_name
    return names


def ts_tag(when, style: str = "f") -> str:
    """A Discord timestamp that each reader sees in their own time zone."""
    return discord.utils.format_dt(when, style) if when else "—"


def line_chunks(lines: list[str], limit: int) -> list[str]:
    """Whole lines joined into chunks of at most `limit` characters (a longer line is cut)."""
    chunks, current = [], ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def embed_pages(sections: list[tuple[str, list[str]]], colour: discord.Colour = BRAND_COLOUR,
                *, description_limit: int = 4000, total_limit: int = MESSAGE_EMBED_TOTAL,
                max_embeds: int = MESSAGE_EMBEDS) -> list[list[discord.Embed]]:
    """Titled lists as embeds, packed into messages: each message has at most 10 embeds and
    6,000 embed characters in total, each embed at most `description_limit` characters of
    whole lines. A list that needs more than one embed goes on under "(continued)"."""
    pages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for title, lines in sections:
        for n, chunk in enumerate(line_chunks(lines, description_limit)):
            head = truncate(title if n == 0 else f"{title} (continued)", 256)
            e = discord.Embed(title=head, description=chunk, colour=colour)
            if current and (size + len(e) > total_limit or len(current) >= max_embeds):
                pages.append(current)
                current, size = [], 0
            current.append(e)
            size += len(e)
    if current:
        pages.append(current)
    return pages
