"""Plain data returned by the storage layer (pydantic models, no Discord types)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Consultation(Record):
    id: int
    guild_id: int
    key: str
    title: str
    description: str
    category_id: int | None
    created_at: datetime


class Revision(Record):
    id: int
    item_id: int
    number: int
    title: str
    summation: str
    body: str
    author_id: int | None
    created_at: datetime


class Item(Record):
    """An agenda item with its current revision, its Discord place and its lock."""

    id: int
    consultation_id: int
    guild_id: int
    key: str
    parent_id: int | None
    position: int
    closes_at: datetime | None
    created_at: datetime
    last_activity_at: datetime | None
    discussion_version: int
    revision_id: int
    revision_number: int
    title: str
    summation: str
    body: str
    edited_at: datetime | None = None  # set when the article has more than one revision
    channel_id: int | None = None
    thread_id: int | None = None
    starter_message_id: int | None = None
    post_message_ids: list[int] = Field(default_factory=list)
    post_fingerprint: str | None = None
    locked: bool = False
    lock_reason: str | None = None

    @property
    def status(self) -> Literal["open", "locked"]:
        return "locked" if self.locked else "open"

    @property
    def discord_id(self) -> int | None:
        """The channel or thread that *is* this item in Discord."""
        return self.thread_id or self.channel_id


class AttachmentIn(Record):
    filename: str
    url: str
    content_type: str | None = None


class IncomingMessage(Record):
    """A Discord message as the core sees it."""

    message_id: int
    channel_id: int
    thread_id: int | None = None
    author_id: int
    content: str
    created_at: datetime
    edited_at: datetime | None = None
    reply_to_message_id: int | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    link_previews: dict[str, str] = Field(default_factory=dict)  # url -> title from Discord's embeds
    forwarded: bool = False  # a forward: `content` is the forwarded message's text (its snapshot)


class Comment(Record):
    id: int
    message_id: int
    item_id: int
    channel_id: int
    thread_id: int | None
    author_id: int
    reply_to_message_id: int | None
    kind: Literal["message", "quote", "citation"]
    content: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    erased_at: datetime | None
    hidden: bool
    hidden_reason: str | None
    forwarded: bool = False  # a forwarded message: the text is the original's, shared by the author


class CommentRevision(Record):
    comment_id: int
    content: str | None
    edited_at: datetime


QuoteState = Literal["anchored", "moved", "orphaned", "unanchored"]


class Quote(Record):
    id: int
    comment_id: int
    message_id: int
    item_id: int
    revision_id: int
    ordinal: int
    passage: str | None
    exact: str | None
    prefix: str | None
    suffix: str | None
    start: int | None
    end: int | None
    state: QuoteState
    score: float
    author_id: int


class Citation(Record):
    id: int
    item_id: int
    normalized_url: str
    url: str
    title: str | None
    note: str | None
    comment_id: int | None
    message_id: int
    channel_id: int | None
    citer_id: int
    created_at: datetime


class CitedSource(Record):
    """One source of an item, with everyone who cited it."""

    normalized_url: str
    url: str
    title: str | None
    citers: list[int]
    citations: list[Citation]

    @property
    def citer_count(self) -> int:
        return len(self.citers)


class Lock(Record):
    target_id: int
    item_id: int
    scope: Literal["item", "thread"]
    reason: str | None
    locked_by: int | None
    locked_at: datetime
    saved_overwrites: str | None


class ModerationAction(Record):
    id: int
    guild_id: int | None
    item_id: int | None
    moderator_id: int | None
    action: str
    target_type: str
    target_id: int | None
    reason: str | None
    created_at: datetime


class Participant(Record):
    user_id: int
    pseudonym: str
    display_name: str | None
    affiliation: str | None
    consent_named: bool
    notify_outcomes: bool = False  # told when an outcome answers what they said (opt-in)
    created_at: datetime
    updated_at: datetime


class ItemCounts(Record):
    comments: int
    participants: int
    quotes: int
    citations: int
    first_activity: datetime | None
    last_activity: datetime | None


class ChannelCursor(Record):
    channel_id: int
    item_id: int
    parent_id: int | None
    last_message_id: int


OUTCOME_STATUSES: dict[str, str] = {
    "under_consideration": "Under consideration",
    "accepted": "Accepted",
    "partly_accepted": "Partly accepted",
    "not_taken_forward": "Not taken forward",
    "done": "Done",
}
OUTCOME_MARKS = {"under_consideration": "🔎", "accepted": "✅", "partly_accepted": "◐",
                 "not_taken_forward": "✖", "done": "🏁"}


class OutcomeRef(Record):
    """Something people said that the outcome answers, and the comments it stands for."""

    kind: Literal["statement", "theme", "passage"]
    label: str = Field(max_length=200)
    comment_ids: list[int] = Field(default_factory=list)


class Outcome(Record):
    id: int
    item_id: int
    revision: int
    status: str
    text: str
    responds_to: list[OutcomeRef] = Field(default_factory=list)
    author_id: int
    created_at: datetime
    message_id: int | None = None

    @property
    def status_label(self) -> str:
        return OUTCOME_STATUSES.get(self.status, self.status)

    def headline(self) -> str:
        """``"✅ Outcome: Accepted"``, for footers, lists and `/about`."""
        return f"{OUTCOME_MARKS.get(self.status, '')} Outcome: {self.status_label}".strip()


class PublishRun(Record):
    """A background `/agenda publish` (see `bot.storage.publish_store`)."""

    id: int
    consultation_id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    item_ids: list[int]
    changed_ids: list[int]
    done: int
    created: int
    updated: int
    unchanged: int
    status: Literal["running", "done", "failed", "superseded"]
    error: str | None
    requested_by: int | None
    started_at: datetime
    finished_at: datetime | None


class PublishIntent(Record):
    """Something the publisher was about to create in Discord, not yet stored."""

    item_id: int
    kind: str
    place_id: int
    detail: dict
    created_at: datetime
