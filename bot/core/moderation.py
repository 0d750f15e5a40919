"""Lock rules as plain data: which permission overwrites lock an item, and how to undo it.

An item lock must stop participants posting in the channel and its threads while
keeping every overwrite the channel already had, so that unlock restores them
exactly. Overwrites are modelled as `{target_id: Overwrite}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from bot.storage.models import Item

# Discord permission bits (https://discord.com/developers/docs/topics/permissions).
SEND_MESSAGES = 1 << 11
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ADD_REACTIONS = 1 << 6

#: What a lock takes away: posting, in the channel and in its threads, and opening public
#: threads. Not Create Private Threads: Discord lets a bot set only permissions it holds
#: itself (in the server, or the channel's category), the invite does not request that one,
#: and a private thread opened in a locked channel is mute anyway, since threads inherit
#: the Send Messages in Threads deny.
LOCK_DENY = SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | CREATE_PUBLIC_THREADS
#: What the people allowed to speak in a locked item (moderators) keep.
KEEP_ALLOW = SEND_MESSAGES | SEND_MESSAGES_IN_THREADS
#: What the bot keeps: all the lock denies to others, so that it still posts notices and
#: publishes new sub-items (a starter post, then its public thread) into a locked item.
BOT_KEEP_ALLOW = LOCK_DENY


class Overwrite(BaseModel):
    type: Literal["role", "member"]
    allow: int = 0
    deny: int = 0


Overwrites = dict[int, Overwrite]


def locked_overwrites(current: Overwrites, everyone_id: int,
                      keep_speaking: dict[int, tuple[str, int]]) -> Overwrites:
    """The channel's overwrites with posting denied to everyone but `keep_speaking`.

    `keep_speaking` maps role/member ids (moderators, the bot) to their type and to the
    permissions they keep allowed. Every other overwrite that *allows* posting loses that
    allow (an allow on a role would otherwise beat the @everyone deny); everything else is
    kept as it was.
    """
    locked: Overwrites = {}
    for target, ow in current.items():
        if target in keep_speaking:
            locked[target] = ow
            continue
        locked[target] = Overwrite(type=ow.type, allow=ow.allow & ~LOCK_DENY, deny=ow.deny | LOCK_DENY)
    base = locked.get(everyone_id, Overwrite(type="role"))
    locked[everyone_id] = Overwrite(type="role", allow=base.allow & ~LOCK_DENY, deny=base.deny | LOCK_DENY)
    for target, (kind, keep) in keep_speaking.items():
        ow = locked.get(target, Overwrite(type=kind))  # type: ignore[arg-type]
        locked[target] = Overwrite(type=ow.type, allow=ow.allow | keep, deny=ow.deny & ~keep)
    return locked


def written_bits(overwrites: Overwrites) -> int:
    """Every permission bit the overwrites allow or deny: what Discord checks a bot holds
    before it accepts them (unless the bot is an administrator)."""
    bits = 0
    for ow in overwrites.values():
        bits |= ow.allow | ow.deny
    return bits


def is_locked(current: Overwrites, everyone_id: int) -> bool:
    ow = current.get(everyone_id)
    return ow is not None and (ow.deny & LOCK_DENY) == LOCK_DENY


def dump_overwrites(overwrites: Overwrites) -> str:
    return json.dumps({str(k): v.model_dump() for k, v in sorted(overwrites.items())})


def load_overwrites(text: str | None) -> Overwrites:
    if not text:
        return {}
    return {int(k): Overwrite(**v) for k, v in json.loads(text).items()}


def due_for_closing(items: Iterable[Item], now: datetime) -> list[Item]:
    """Published, still-open items whose closing date has passed (also while the bot was down)."""
    return [i for i in items if i.closes_at and i.closes_at <= now and not i.locked and i.discord_id]
