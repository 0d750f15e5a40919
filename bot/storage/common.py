"""Helpers shared by the stores: time encoding and row conversion."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage.database import Database

#: NOTIFY channel of the change sequence: the payload is the id of an item whose
#: discussion_version moved (sent when the transaction commits, to every process sharing the
#: database; see `Database.subscribe`). Caches keyed by (item, version) drop that item.
DISCUSSION_CHANGED = "discussion_changed"


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


class Store:
    """Base of the per-concern stores: they share one `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
