"""Reading Discord objects into the core's plain data."""

from __future__ import annotations

import re

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


_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str | None) -> str:
    """`text` as valid Unicode: lone UTF-16 surrogates become U+FFFD, split pairs are joined.

    Discord does not accept them, but one that got through would make SQLite's UTF-8
    encoding raise and stop the message (and a catch-up page with it) from being stored.
    """
    if not text:
        return ""
    if not _SURROGATE.search(text):  # (one C pass: this runs on every message)
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def forwarded_snapshot(message: discord.Message):
    """The snapshot of the original if `message` is a forward (its own content is empty)."""
    reference = message.reference
    forward = getattr(discord.MessageReferenceType, "forward", None)
    if reference is None or forward is None or reference.type != forward:
        return None
    snapshots = getattr(message, "message_snapshots", None) or []
    return snapshots[0] if snapshots else None


def link_previews(message: discord.Message) -> dict[str, str]:
    """url -> title from the previews Discord itself attached (the bot never fetches URLs)."""
    snapshot = forwarded_snapshot(message)
    embeds = snapshot.embeds if snapshot is not None else message.embeds
    return {well_formed(e.url): well_formed(e.title) for e in embeds if e.url and e.title}


def incoming(message: discord.Message) -> IncomingMessage:
    """A message as the core stores it. A forward is stored with the forwarded text (from
    its snapshot) and marked `forwarded`, not as an empty comment."""
    channel = message.channel
    thread_id = channel.id if isinstance(channel, discord.Thread) else None
    reference = message.reference
    snapshot = forwarded_snapshot(message)
    source = snapshot if snapshot is not None else message
    return IncomingMessage(
        message_id=message.id,
        channel_id=channel.id,
        thread_id=thread_id,
        author_id=message.author.id,
        content=well_formed(source.content),
        created_at=message.created_at,
        edited_at=message.edited_at,
        reply_to_message_id=(reference.message_id if snapshot is None and reference
                             and reference.message_id else None),
        attachments=[
            AttachmentIn(filename=well_formed(a.filename), url=a.url, content_type=a.content_type)
            for a in source.attachments
        ],
        link_previews=link_previews(message),
        forwarded=snapshot is not None,
    )


async def item_place(client: discord.Client, item) -> discord.abc.Messageable:
    """The channel or thread that is the item in Discord (where the bot posts for it)."""
    return client.get_channel(item.discord_id) or await client.fetch_channel(item.discord_id)


async def place_or_none(client: discord.Client, item) -> discord.abc.Messageable | None:
    """The item's channel or thread, fetched when not cached (an archived thread is not);
    None when it has none or Discord no longer has it."""
    if item.discord_id is None:
        return None
    try:
        return await item_place(client, item)
    except discord.HTTPException:
        return None
