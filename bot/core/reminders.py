"""Reminders before an item closes: lead times from the agenda file, and which one is due.

Pure core, light on imports (the agenda loader uses :func:`parse_lead`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.core.text import truncate

REMINDER_MARK = "closing-reminder"

DEFAULT_REMINDER_LEADS = (24 * 3600, 3600)
_LEAD = re.compile(r"^\s*(\d{1,4})\s*(m|min|h|d)\s*$", re.IGNORECASE)
_UNIT = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_lead(value: object) -> int:
    """``"24h"``, ``"90m"``, ``"2d"`` → seconds; an error message names the field."""
    if isinstance(value, str):
        m = _LEAD.match(value)
        if m and int(m.group(1)) > 0:
            return int(m.group(1)) * _UNIT[m.group(2).lower()]
    raise ValueError(f"{value!r} is not a lead time: write it like \"24h\", \"90m\" or \"2d\"")


def lead_label(seconds: int) -> str:
    if seconds % 86400 == 0:
        n, unit = seconds // 86400, "day"
    elif seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    else:
        n, unit = seconds // 60, "minute"
    return f"{n} {unit}{'s' if n != 1 else ''}"


def due_reminder(closes_at: datetime, leads: Sequence[int], now: datetime,
                 done: set[int]) -> tuple[int | None, list[int]]:
    """The reminder to send now, if any, and the earlier ones it makes pointless.

    A reminder is due from ``closes_at - lead`` until the item closes. When the bot was down
    and several are due at once, only the one nearest the close is sent; the others are skipped,
    so nobody gets "closes in 24 hours" and "closes in 1 hour" in the same minute.
    """
    if now >= closes_at:
        return None, []
    due = sorted(lead for lead in set(leads) if lead not in done
                 and closes_at - timedelta(seconds=lead) <= now)
    if not due:
        return None, []
    return due[0], due[1:]


def reminder_text(title: str, closes_at: datetime) -> str:
    """Each reader sees the time in their own zone, and "in 23 hours" even when sent late."""
    stamp = int(closes_at.timestamp())
    return (f"⏰ “{truncate(title, 100)}” closes <t:{stamp}:R>, at <t:{stamp}:f>. "
            "Add your comments before then.")


def reminder_footer(item_id: int, lead: int) -> str:
    """The footer that marks a reminder, so a restart can find one it already posted."""
    return f"Reminder {lead_label(lead)} before closing · {REMINDER_MARK}:{item_id}:{lead}"
