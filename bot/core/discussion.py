"""Turning Discord messages into the consultation record: comments, quotes, citations.

Everything here is idempotent: recording the same message twice (a replayed
gateway event, a catch-up that re-reads history) changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable

from bot.core import links, quotes
from bot.core.errors import BadInput, TopicLocked
from bot.core.text import split_sentences, truncate
from bot.storage import CitationIn, QuoteIn, Repository
from bot.storage.discussion_store import RecordOutcome
from bot.storage.models import IncomingMessage, Item, Quote

log = logging.getLogger(__name__)


def article_text(item_or_revision) -> str:
    """The text participants quote: the summation, then the body."""
    return f"{item_or_revision.summation}\n\n{item_or_revision.body}"


def quotes_in(content: str, item: Item) -> list[QuoteIn]:
    """The `> quoted` passages of a comment, each anchored to the item's current article."""
    article = article_text(item)
    found = []
    for passage in quotes.extract_quoted_passages(content):
        result = quotes.anchor(passage, article)
        selector = result.selector
        found.append(
            QuoteIn(
                revision_id=item.revision_id,
                passage=passage,
                exact=selector.exact if selector else None,
                prefix=selector.prefix if selector else None,
                suffix=selector.suffix if selector else None,
                start=selector.start if selector else None,
                end=selector.end if selector else None,
                state=result.state,
                score=result.score,
            )
        )
    return found


def citations_in(content: str, previews: dict[str, str]) -> list[CitationIn]:
    """Every valid http(s) link of a comment; links that fail validation are skipped."""
    titles = {}
    for url, title in previews.items():
        try:
            titles[links.normalise_url(links.validate_url(url))] = title
        except links.InvalidURL:
            continue
    seen: dict[str, CitationIn] = {}
    for raw in links.find_urls(content):
        try:
            url = links.validate_url(raw)
        except links.InvalidURL:
            continue
        normalized = links.normalise_url(url)
        seen.setdefault(
            normalized, CitationIn(normalized_url=normalized, url=url, title=titles.get(normalized))
        )
    return list(seen.values())


def annotate(
    messages: list[IncomingMessage], item: Item
) -> list[tuple[IncomingMessage, list[QuoteIn], list[CitationIn]]]:
    """Each message with its quotes (anchored to the item's article) and its citations."""
    return [(m, quotes_in(m.content, item), citations_in(m.content, m.link_previews))
            for m in messages]


def _plain(message: IncomingMessage) -> bool:
    """Text with no quoted passage, link or file: nothing to annotate, whatever the item."""
    return (not message.attachments and not quotes.extract_quoted_passages(message.content)
            and not citations_in(message.content, message.link_previews))


def reanchored(quote: Quote, item: Item) -> QuoteIn:
    """A stored quote moved to the item's current article: anchored, moved or orphaned.

    A quote that had no anchor is tried again from the participant's own words.
    """
    article = article_text(item)
    if quote.exact is None or quote.state in ("orphaned", "unanchored"):
        found = quotes.anchor(quote.passage or "", article)
        state = "anchored" if found.state == "anchored" else quote.state
        selector = found.selector if found.state == "anchored" else None
        score = found.score
    else:
        old = quotes.QuoteSelector(
            exact=quote.exact, prefix=quote.prefix or "", suffix=quote.suffix or "",
            start=quote.start or 0, end=quote.end or 0,
        )
        result = quotes.reanchor(old, article)
        state, selector, score = result.state, result.selector, result.score
    return QuoteIn(
        revision_id=item.revision_id, passage=quote.passage or "",
        exact=selector.exact if selector else None,
        prefix=selector.prefix if selector else None,
        suffix=selector.suffix if selector else None,
        start=selector.start if selector else None,
        end=selector.end if selector else None,
        state=state, score=score,
    )


class DiscussionService:
    """Records what participants say in the consultation's channels and threads."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        # Channels whose history has been read up to the live stream in this connection:
        # only there may a live message move the cursor. A disconnect clears it (new epoch).
        self.epoch = 0
        self._in_sync: set[int] = set()
        # New messages received live, waiting for the next group commit (see record_live).
        self._live: list[tuple[IncomingMessage, int | None, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        # channel -> the item its last live message was stored under: the next plain message
        # there is stored in one trip to the database (which checks the channel is still
        # followed for that item; if not, or anything was skipped, the full path runs).
        self._live_items: dict[int, int] = {}

    # --- the gap between history and the live stream -----------------------------------------

    def desync(self, channel_id: int | None = None) -> None:
        """The live stream may have missed messages (all channels, or one): catch-up must read."""
        if channel_id is None:
            self.epoch += 1
            self._in_sync.clear()
        else:
            self._in_sync.discard(channel_id)

    def mark_in_sync(self, channel_id: int, epoch: int) -> None:
        """Catch-up read history up to the live stream, with no disconnect since `epoch`."""
        if epoch == self.epoch:
            self._in_sync.add(channel_id)

    def in_sync(self, channel_id: int) -> bool:
        return channel_id in self._in_sync

    async def seen_live(self, channel_id: int, message_id: int) -> None:
        """A message received live that is not a comment (the bot's own, a notice)."""
        await self.repo.discussion.advance_cursor(
            channel_id, message_id, contiguous=self.in_sync(channel_id)
        )

    async def item_for(self, channel_id: int, parent_id: int | None) -> Item | None:
        """The item a message in this channel/thread belongs to; follows new threads."""
        item = await self.repo.agenda.item_at(channel_id)
        if item is None and parent_id is not None:
            parent_item = await self.repo.agenda.item_at(parent_id)
            if parent_item is not None:
                await self.repo.discussion.follow(channel_id, parent_item.id, parent_id)
                item = parent_item
        return item

    async def record(
        self, message: IncomingMessage, *, parent_id: int | None = None, kind: str = "message",
        citations: list[CitationIn] | None = None, live: bool = False,
    ) -> RecordOutcome | None:
        """Record a message (new or edited) if it is in a consultation channel.

        `citations` replaces the links found in the text (for `/cite`, which has a note).
        A `live` message moves the channel's cursor only if the channel is in sync.
        """
        item = await self.item_for(message.channel_id, parent_id)
        if item is None:
            if live:  # not followed (yet): if it becomes followed, this message is a hole
                self.desync(message.channel_id)
            return None
        return await self.repo.discussion.record(
            item.id,
            message,
            quotes=quotes_in(message.content, item),
            citations=citations if citations is not None
            else citations_in(message.content, message.link_previews),
            kind=kind,
            contiguous=not live or self.in_sync(message.channel_id),
        )

    async def record_live(self, message: IncomingMessage, *, parent_id: int | None) -> None:
        """Record a new message received live; returns once it is stored.

        Messages that arrive while a write is under way are stored together, one
        transaction per channel (a group commit): the same rows as `record`, but a burst
        of thousands of messages a second costs a few transactions instead of thousands.
        Raises what the write raised (e.g. `WriteFailed`) to every message of the batch.
        """
        done = asyncio.get_running_loop().create_future()
        self._live.append((message, parent_id, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_live())
        await done

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until the live messages received so far are stored."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher}, timeout=timeout)

    async def _flush_live(self) -> None:
        while self._live:
            batch, self._live = self._live, []
            by_channel: dict[tuple[int, int | None], list] = {}
            for entry in batch:
                by_channel.setdefault((entry[0].channel_id, entry[1]), []).append(entry)
            for (channel_id, parent_id), entries in by_channel.items():
                try:
                    messages = [m for m, _, _ in entries]
                    known = self._live_items.get(channel_id)
                    if known is not None and all(map(_plain, messages)):
                        stored = await self.repo.discussion.record_live(
                            known, messages, contiguous=self.in_sync(channel_id))
                        if all(stored):
                            self._resolve(entries)
                            continue
                        del self._live_items[channel_id]  # the full path decides
                    item = await self.item_for(channel_id, parent_id)
                    if item is not None:
                        self._live_items[channel_id] = item.id
                        annotated = (annotate(messages, item) if len(messages) <= 8 else
                                     await asyncio.to_thread(annotate, messages, item))
                        await self.repo.discussion.record_new(
                            item.id, annotated, contiguous=self.in_sync(channel_id))
                except BaseException as exc:
                    for _, _, done in entries:
                        if not done.done():
                            done.set_exception(exc)
                    if not isinstance(exc, Exception):
                        for _, _, done in self._live:
                            done.cancel()
                        raise
                else:
                    self._resolve(entries)

    @staticmethod
    def _resolve(entries: list) -> None:
        for _, _, done in entries:
            if not done.done():
                done.set_result(None)

    async def record_new(self, messages: list[IncomingMessage], *, parent_id: int | None) -> int:
        """Store a batch of messages of one channel that may not be stored yet (catch-up)."""
        if not messages:
            return 0
        item = await self.item_for(messages[0].channel_id, parent_id)
        if item is None:
            return 0
        batch = await asyncio.to_thread(annotate, messages, item)  # fuzzy matching is CPU work
        return await self.repo.discussion.record_new(item.id, batch)

    async def record_post(
        self, *, message_id: int, place_id: int, in_thread: bool, parent_id: int | None,
        author_id: int, content: str, created_at, kind: str,
        citations: list[CitationIn] | None = None,
    ) -> RecordOutcome | None:
        """Record a message the bot posted for a participant (`/quote`, `/cite`) as theirs."""
        return await self.record(
            IncomingMessage(
                message_id=message_id, channel_id=place_id,
                thread_id=place_id if in_thread else None, author_id=author_id,
                content=content, created_at=created_at,
            ),
            parent_id=parent_id, kind=kind, citations=citations, live=True,
        )

    async def record_link_previews(self, message_id: int, previews: dict[str, str]) -> None:
        """Discord added link previews to a message: they give the cited sources' titles."""
        for url, title in previews.items():
            try:
                normalized = links.normalise_url(links.validate_url(url))
            except links.InvalidURL:
                continue
            await self.repo.discussion.set_link_title(message_id, normalized, title)

    async def delete(self, message_ids: Iterable[int], channel_id: int | None = None) -> int:
        """Tombstone deleted messages; their text leaves the database file and its WAL."""
        deleted = await self.repo.discussion.delete_messages(message_ids, channel_id=channel_id)
        if deleted:
            await self.repo.db.checkpoint()
        return deleted

    async def reanchor(self, item: Item) -> dict[str, int]:
        """After an article edit: move every quote of the item to the new revision."""
        stale = [q for q in await self.repo.discussion.quotes(item.id, visible_only=False)
                 if q.revision_id != item.revision_id]
        moved = await asyncio.to_thread(lambda: [(q.id, reanchored(q, item)) for q in stale])
        await self.repo.discussion.update_quote_anchors(moved)
        return dict(Counter(new.state for _, new in moved))

    # --- commands --------------------------------------------------------------------------

    @staticmethod
    def check_open(item: Item) -> None:
        if item.locked:
            raise TopicLocked(item.title, item.lock_reason)

    @staticmethod
    def check_citation(url: str, note: str | None) -> CitationIn:
        """Validate `/cite` input before anything is posted; errors say what to fix."""
        try:
            valid = links.validate_url(url.strip())
        except links.InvalidURL as exc:
            reason = truncate(str(exc), 300)
            raise BadInput(f"That link cannot be cited: {reason}") from None
        if note is not None and len(note) > 1000:
            raise BadInput(f"The note is {len(note)} characters; keep it under 1,000.")
        return CitationIn(normalized_url=links.normalise_url(valid), url=valid, note=note or None)

    @staticmethod
    def passage_for(item: Item, choice: str) -> str:
        """The article sentence picked in `/quote` (an autocomplete value or typed text)."""
        sentences = split_sentences(article_text(item))
        index = quotes.choice_index(choice)
        if index is not None and 0 <= index < len(sentences):
            return " ".join(sentences[index].split())
        typed = choice.strip()
        if not typed:
            raise BadInput("Pick a passage of the article from the list as you type.")
        result = quotes.anchor(typed, article_text(item))
        if result.state != "anchored" or result.selector is None:
            raise BadInput(
                "That passage is not in the article. Start typing a few words of it and pick "
                "one of the suggested sentences."
            )
        return result.selector.exact
