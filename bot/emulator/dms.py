"""Direct messages, as strict as Discord: a bot may open a DM with a user, and may send there
only if the user shares a guild with it, is not a bot and accepts DMs from server members.

Otherwise Discord answers 403 with code 50007 "Cannot send messages to this user", which is
what a bot meets whenever someone has turned DMs off. Tests close a user's DMs with
``emu.dms.close(user_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import payloads as pl
from .errors import ApiError
from .limits import validate_message
from .state import DM, Message, Pings

if TYPE_CHECKING:
    from .emulator import Emulator


@dataclass
class DMChannel:
    id: int
    recipient_id: int
    message_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None


class DirectMessages:
    """The bot's DM channels and what it sent there."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.channels: dict[int, DMChannel] = {}
        self._by_user: dict[int, int] = {}
        self.closed: set[int] = set()

    def close(self, user_id: int) -> None:
        """The user turns off DMs from server members."""
        self.closed.add(user_id)

    def is_dm(self, channel_id: int) -> bool:
        return channel_id in self.channels

    def open(self, recipient_id: int) -> DMChannel:
        state = self.emu.state
        if recipient_id not in state.users:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        if recipient_id in self._by_user:
            return self.channels[self._by_user[recipient_id]]
        ch = DMChannel(state.ids.next(), recipient_id)
        self.channels[ch.id] = ch
        self._by_user[recipient_id] = ch.id
        return ch

    def channel_json(self, ch: DMChannel) -> dict[str, Any]:
        return {"id": str(ch.id), "type": DM, "flags": 0,
                "last_message_id": str(ch.last_message_id) if ch.last_message_id else None,
                "recipients": [pl.user_json(self.emu.state.users[ch.recipient_id])]}

    def send(self, channel_id: int, payload: dict[str, Any], n_files: int = 0) -> Message:
        state, ch = self.emu.state, self.channels[channel_id]
        validate_message(payload, n_files)
        user = state.users[ch.recipient_id]
        shares_guild = any(ch.recipient_id in g.members and self.emu.bot_user.id in g.members
                           for g in state.guilds.values())
        if user.bot or not shares_guild or ch.recipient_id in self.closed:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        content = payload.get("content")
        m = Message(id=state.ids.next(), channel_id=ch.id, guild_id=None,
                    author_id=self.emu.bot_user.id, content="" if content is None else str(content),
                    embeds=list(payload.get("embeds") or []), timestamp=self.emu.now_iso(),
                    allowed_mentions=payload.get("allowed_mentions"),
                    nonce=payload.get("nonce"))
        # A DM notifies its recipient whatever it contains; mentions inside ping nobody else.
        m.would_ping = Pings([ch.recipient_id], [], False, False)
        state.messages[m.id] = m
        ch.message_ids.append(m.id)
        ch.last_message_id = m.id
        return m

    def messages_to(self, user_id: int) -> list[Message]:
        """What the bot sent to ``user_id`` by DM, oldest first (for tests)."""
        cid = self._by_user.get(user_id)
        return [self.emu.state.messages[i] for i in self.channels[cid].message_ids] if cid else []
