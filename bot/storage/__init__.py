"""Storage: the only place with SQL. `Repository` groups one store per concern."""

from __future__ import annotations

from pathlib import Path

from bot.storage.agenda_store import AgendaStore
from bot.storage.claim_store import ClaimStore
from bot.storage.database import Database, DatabaseError, WriteFailed
from bot.storage.discussion_store import CitationIn, DiscussionStore, QuoteIn
from bot.storage.feature_store import FeatureStore
from bot.storage.forum_store import ForumStore
from bot.storage.insight_store import InsightStore
from bot.storage.moderation_store import ModerationStore
from bot.storage.outcome_store import OutcomeStore
from bot.storage.privacy_store import PrivacyStore
from bot.storage.publish_store import PublishStore
from bot.storage.schedule_store import ScheduleStore

__all__ = ["CitationIn", "Database", "DatabaseError", "QuoteIn", "Repository", "WriteFailed",
           "is_database_url", "open_database"]


def is_database_url(target: object) -> bool:
    """True for a PostgreSQL URL (postgresql://… or postgres://…), False for a file path."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


async def open_database(target: Path | str):
    """The backend `target` names: a postgresql:// URL opens PostgreSQL (asyncpg), anything
    else is the path of a SQLite file."""
    if is_database_url(target):
        from bot.storage.postgres import PgDatabase

        return await PgDatabase.open(str(target))
    return await Database.open(target)


class Repository:
    """The storage layer the core and the cogs use; one `Database` underneath."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.agenda = AgendaStore(db)
        self.discussion = DiscussionStore(db)
        self.moderation = ModerationStore(db)
        self.privacy = PrivacyStore(db)
        self.insight = InsightStore(db)
        self.publishing = PublishStore(db)
        self.outcomes = OutcomeStore(db)
        self.schedule = ScheduleStore(db)
        self.forum = ForumStore(db)
        self.features = FeatureStore(db)
        self.claims = ClaimStore(db)

    @classmethod
    async def open(cls, target: Path | str) -> Repository:
        """Open a SQLite file (a path) or PostgreSQL (a postgresql:// URL)."""
        return cls(await open_database(target))

    async def close(self) -> None:
        await self.db.close()
