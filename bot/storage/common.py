"""Helpers shared by the stores: time encoding and row conversion.

Two encodings of a time, one per column, never both:

- `micros` / `from_micros`: INTEGER microseconds since 1970-01-01T00:00:00 UTC, for the
  tables that grow with the discussion (comments: created_at, edited_at, deleted_at,
  erased_at; comment_revisions.edited_at; deleted_messages.deleted_at). Eight bytes instead
  of a 32-character string, in the row and in every index on it (migration 0012).
- `ts` / `parse_ts`: ISO-8601 UTC text, for every other (small) table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.database import Database


def ts(value: datetime | None) -> str | None:
    """Store times as ISO-8601 UTC text (sortable, readable in sqlite3)."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # the common case, and the hot path of bulk ingestion
        return value.isoformat(timespec="microseconds")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime | None) -> int | None:
    """A time as INTEGER microseconds since the epoch, UTC (exact; naive means UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


class Store:
    """Base of the per-concern stores: they share one `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
