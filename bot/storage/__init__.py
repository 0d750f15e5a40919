"""Storage: the only place with SQL. `Repository` groups one store per concern."""

from __future__ import annotations

from pathlib import Path

from bot.storage.agenda_store import AgendaStore
from bot.storage.database import Database, DatabaseError
from bot.storage.discussion_store import CitationIn, DiscussionStore, QuoteIn
from bot.storage.feature_store import FeatureStore
from bot.storage.forum_store import ForumStore
from bot.storage.insight_store import InsightStore
from bot.storage.moderation_store import ModerationStore
from bot.storage.outcome_store import OutcomeStore
from bot.storage.privacy_store import PrivacyStore
from bot.storage.publish_store import PublishStore
from bot.storage.schedule_store import ScheduleStore

__all__ = ["CitationIn", "Database", "DatabaseError", "QuoteIn", "Repository"]


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

    @classmethod
    async def open(cls, path: Path | str) -> Repository:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()
