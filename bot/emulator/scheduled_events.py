"""Guild scheduled events (external ones: a place, a start and an end), as Discord checks them.

Creating needs Create Events (or Manage Events); changing or deleting someone else's event needs
Manage Events. An external event needs ``entity_metadata.location`` (1–100 characters) and an
end time, no channel, ``privacy_level`` 2, a start in the future and an end after it. Status
moves SCHEDULED → ACTIVE → COMPLETED, or SCHEDULED → CANCELED; external events start and end
by themselves at their times (by the emulated clock).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .rest import Req, route
from .state import P

if TYPE_CHECKING:
    from .emulator import Emulator

CREATE_EVENTS = P.CREATE_EVENTS
MANAGE_EVENTS = P.MANAGE_EVENTS
EXTERNAL = 3
GUILD_ONLY = 2
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
_MOVES = {SCHEDULED: {ACTIVE, CANCELED}, ACTIVE: {COMPLETED}}


@dataclass
class ScheduledEvent:
    id: int
    guild_id: int
    creator_id: int
    name: str
    description: str | None
    start: _dt.datetime
    end: _dt.datetime
    location: str
    status: int = SCHEDULED


def _when(body: dict[str, Any], key: str) -> _dt.datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        when = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError.form(key, "DATE_TIME_TYPE_INVALID", "Could not parse the date.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when


def _now(emu: Emulator) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(emu.clock.now(), _dt.UTC)


def _advance(emu: Emulator, ev: ScheduledEvent) -> None:
    """External events start and end on their own at their times."""
    now = _now(emu)
    if ev.status == SCHEDULED and now >= ev.start:
        ev.status = ACTIVE
    if ev.status == ACTIVE and now >= ev.end:
        ev.status = COMPLETED


def _json(emu: Emulator, ev: ScheduledEvent) -> dict[str, Any]:
    _advance(emu, ev)
    return {
        "id": str(ev.id), "guild_id": str(ev.guild_id), "channel_id": None,
        "creator_id": str(ev.creator_id), "name": ev.name, "description": ev.description,
        "scheduled_start_time": ev.start.isoformat(), "scheduled_end_time": ev.end.isoformat(),
        "privacy_level": GUILD_ONLY, "status": ev.status, "entity_type": EXTERNAL,
        "entity_id": None, "entity_metadata": {"location": ev.location}, "user_count": 0,
        "image": None,
    }


def _events(emu: Emulator) -> dict[int, ScheduledEvent]:
    return emu.scheduled_events


def _check_text(body: dict[str, Any], partial: bool) -> None:
    name = body.get("name")
    if (name is not None or not partial) and not (isinstance(name, str) and 1 <= len(name) <= 100):
        raise ApiError.form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    desc = body.get("description")
    if desc is not None and (not isinstance(desc, str) or len(desc) > 1000):
        raise ApiError.form("description", "BASE_TYPE_MAX_LENGTH",
                            "Must be 1000 or fewer in length.")
    meta = body.get("entity_metadata")
    if meta is not None or not partial:
        location = (meta or {}).get("location")
        if not (isinstance(location, str) and 1 <= len(location) <= 100):
            raise ApiError.form("entity_metadata.location", "BASE_TYPE_BAD_LENGTH",
                                "Must be between 1 and 100 in length.")


@route("POST", "/guilds/{guild_id}/scheduled-events")
def create_event(emu: Emulator, req: Req) -> tuple[int, Any]:
    guild = emu.state.guild(req.int("guild_id"))
    bot = emu.bot_user.id
    if not emu.state.has(bot, CREATE_EVENTS | MANAGE_EVENTS, guild_id=guild.id):
        raise ApiError(403, 50013, "Missing Permissions")
    body = req.body
    if body.get("entity_type") != EXTERNAL or body.get("channel_id") is not None:
        raise ApiError.form("entity_type", "GUILD_SCHEDULED_EVENT_INVALID_ENTITY_TYPE",
                            "Only external events are supported here, with no channel.")
    if body.get("privacy_level") != GUILD_ONLY:
        raise ApiError.form("privacy_level", "BASE_TYPE_CHOICES", "Value must be one of {2}.")
    _check_text(body, partial=False)
    start, end = _when(body, "scheduled_start_time"), _when(body, "scheduled_end_time")
    if start is None or end is None:
        raise ApiError.form("scheduled_end_time" if start else "scheduled_start_time",
                            "BASE_TYPE_REQUIRED", "This field is required")
    if start <= _now(emu):
        raise ApiError.form("scheduled_start_time", "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                            "Cannot schedule event in the past.")
    if end <= start:
        raise ApiError.form("scheduled_end_time", "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                            "Cannot schedule event to end before starting.")
    ev = ScheduledEvent(emu.state.ids.next(), guild.id, bot, body["name"], body.get("description"),
                        start, end, body["entity_metadata"]["location"])
    _events(emu)[ev.id] = ev
    emu.dispatch("GUILD_SCHEDULED_EVENT_CREATE", _json(emu, ev))
    return 200, _json(emu, ev)


def _event(emu: Emulator, req: Req) -> ScheduledEvent:
    ev = _events(emu).get(req.int("event_id"))
    if ev is None or ev.guild_id != req.int("guild_id"):
        raise ApiError(404, 10070, "Unknown Guild Scheduled Event")
    return ev


def _may_change(emu: Emulator, ev: ScheduledEvent) -> None:
    bot = emu.bot_user.id
    allowed = MANAGE_EVENTS | (CREATE_EVENTS if ev.creator_id == bot else 0)
    if not emu.state.has(bot, allowed, guild_id=ev.guild_id):
        raise ApiError(403, 50013, "Missing Permissions")


@route("GET", "/guilds/{guild_id}/scheduled-events")
def list_events(emu: Emulator, req: Req) -> tuple[int, Any]:
    emu.state.guild(req.int("guild_id"))
    return 200, [_json(emu, e) for e in _events(emu).values() if e.guild_id == req.int("guild_id")]


@route("GET", "/guilds/{guild_id}/scheduled-events/{event_id}")
def get_event(emu: Emulator, req: Req) -> tuple[int, Any]:
    return 200, _json(emu, _event(emu, req))


@route("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}")
def patch_event(emu: Emulator, req: Req) -> tuple[int, Any]:
    ev = _event(emu, req)
    _may_change(emu, ev)
    _advance(emu, ev)
    body = req.body
    if ev.status in (COMPLETED, CANCELED):
        raise ApiError(400, 180000, "Cannot update a finished event")
    _check_text(body, partial=True)
    start = _when(body, "scheduled_start_time")
    end = _when(body, "scheduled_end_time") or ev.end
    if start is not None and start != ev.start:
        if ev.status == ACTIVE:
            raise ApiError(400, 180000, "Cannot update the start time of an active event")
        if start <= _now(emu):
            raise ApiError.form("scheduled_start_time", "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                                "Cannot schedule event in the past.")
    if end <= (start or ev.start):
        raise ApiError.form("scheduled_end_time", "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                            "Cannot schedule event to end before starting.")
    status = body.get("status")
    if status is not None and status != ev.status and status not in _MOVES.get(ev.status, set()):
        raise ApiError(400, 180000, f"Cannot move an event from status {ev.status} to {status}")
    ev.name = body.get("name", ev.name)
    ev.description = body.get("description", ev.description)
    ev.start, ev.end = start or ev.start, end
    if body.get("entity_metadata"):
        ev.location = body["entity_metadata"]["location"]
    if status is not None:
        ev.status = int(status)
    emu.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", _json(emu, ev))
    return 200, _json(emu, ev)


@route("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}")
def delete_event(emu: Emulator, req: Req) -> tuple[int, Any]:
    ev = _event(emu, req)
    _may_change(emu, ev)
    del _events(emu)[ev.id]
    emu.dispatch("GUILD_SCHEDULED_EVENT_DELETE", _json(emu, ev))
    return 204, None
