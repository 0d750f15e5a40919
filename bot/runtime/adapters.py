"""Reading Discord objects into the core's plain data."""

from __future__ import annotations

import discord

from bot.storage.models import AttachmentIn, IncomingMessage

# Message types a participant writes; joins, pins, thread notices and the like are not comments.
HUMAN_MESSAGE_TYPES = {discord.MessageType.default, discord.MessageType.reply}


def in_private_thread(channel: object) -> bool:
    """A private thread: the bot reads it only through Manage Threads, its members did not
    speak to the consultation, so nothing in it is recorded (comments, summaries, exports)."""
    return getattr(channel, "type", None) == discord.ChannelType.private_thread


def is_participant_message(message: discord.Message) -> bool:
    return (
        message.guild is not None
        and not message.author.bot
        and not message.webhook_id
        and message.type in HUMAN_MESSAGE_TYPES
        and not in_private_thread(message.channel)
    )


def parent_id_of(channel: object) -> int | None:
    return channel.parent_id if isinstance(channel, discord.Thread) else None


def link_previews(message: discord.Message) -> dict[str, str]:
    """url -> title from the previews Discord itself attached (the bot never fetches URLs)."""
    return {e.url: e.title for e in message.embeds if e.url and e.title}


def incoming(message: discord.Message) -> IncomingMessage:
    channel = message.channel
    thread_id = channel.id if isinstance(channel, discord.Thread) else None
    reference = message.reference
    return IncomingMessage(
        message_id=message.id,
        channel_id=channel.id,
        thread_id=thread_id,
        author_id=message.author.id,
        content=message.content,
        created_at=message.created_at,
        edited_at=message.edited_at,
        reply_to_message_id=reference.message_id if reference and reference.message_id else None,
        attachments=[
            AttachmentIn(filename=a.filename, url=a.url, content_type=a.content_type)
            for a in message.attachments
        ],
        link_previews=link_previews(message),
    )


async def item_place(client: discord.Client, item) -> discord.abc.Messageable:
    """The channel or thread that is the item in Discord (where the bot posts for it)."""
    return client.get_channel(item.discord_id) or await client.fetch_channel(item.discord_id)
