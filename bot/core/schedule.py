"""The consultation's dates as a scheduled event: what the event says and when it starts.

Pure core. Discord refuses an event that starts in the past, so a consultation that is already
open starts "just now"; a started event keeps its start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.text import truncate

#: How far ahead "just now" is: Discord refuses a start in the past.
START_MARGIN = timedelta(minutes=2)


def event_text(title: str, description: str | None) -> dict[str, str]:
    """The event's name, description and location, within Discord's limits."""
    return {
        "name": truncate(title, 100),
        "description": truncate(description or f"Public consultation: have your say in the "
                                f"channels of “{title}”.", 1000),
        "location": truncate(f"This server: the “{title}” channels", 100),
    }


def start_of_new_event(opens_at: datetime | None, now: datetime) -> datetime:
    return max(opens_at or now, now + START_MARGIN)


def moved_start(opens_at: datetime | None, now: datetime, current: datetime,
                started: bool) -> datetime | None:
    """The new start of an existing event, or None to keep it: it moves only to a new opening
    date still in the future, and never once the event has started."""
    if started or opens_at is None or opens_at <= now + START_MARGIN or opens_at == current:
        return None
    return opens_at
