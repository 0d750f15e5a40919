"""Turning the core's plain data into Discord objects (embeds, files, links)."""

from __future__ import annotations

import io

import discord

from bot.core.article import ArticlePart, EmbedData

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


def bytes_file(name: str, data: bytes) -> discord.File:
    return discord.File(io.BytesIO(data), filename=name)




def ts_tag(when, style: str = "f") -> str:
    """A Discord timestamp that each reader sees in their own time zone."""
    return discord.utils.format_dt(when, style) if when else "—"
