"""Summaries of a topic's discussion: inputs from storage, caching, the report text.

A summary is cached against the item's discussion version (bumped by every
comment added, edited, deleted, hidden or reacted to), so it is recomputed only
when the discussion changed. The clustering itself runs in a worker thread.

The related-topics map (for /map and /about) is cached against the consultation's
version; each topic's evidence from its comments (hashed term counts, links to other
topics, activity) is cached against that topic's discussion version and article
revision, so after a new comment only that topic's comments are read and hashed again,
not every comment of the consultation.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from bot.core import quotes as quoting
from bot.core.charts import render_summary_chart
from bot.core.charts import warm_up as warm_up_charts
from bot.core.curation import Curation, apply_curation
from bot.core.discussion import article_text
from bot.core.summary import (
    DiscussionSummary,
    EmbedData,
    FeatureCache,
    SummaryComment,
    render_summary_markdown,
    summarise,
    summary_embed_fields,
)
from bot.core.topic_map import MapTopic, TopicMap, build_map, hashed_term_counts, related_topics
from bot.core.topics import status_line
from bot.storage import Repository
from bot.storage.models import Item

log = logging.getLogger(__name__)
CHARTS_KEPT = 64  # summary charts kept in memory (~65 KB each)

# A comment that points at another topic: a channel mention or a link to a message/channel.
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")
_DISCORD_LINK = re.compile(r"https?://(?:\w+\.)?discord(?:app)?\.com/channels/\d+/(\d+)")


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def apply_rows(current: dict[int, SummaryComment], rows: list[tuple],
               votes: list[tuple[int, int, int]], guild_id: int) -> None:
    """Update an item's summary inputs with changed storage rows (CPU-bound for big topics:
    run it off the loop). Rows no longer visible are dropped, with their text.

    ``votes`` are (comment id, voter, +1/-1/0) in the order recorded; each comment keeps
    each voter's latest one (Pol.is counts the latest vote), as per-person votes for the
    opinion groups and as its agree/disagree/pass counts."""
    parse = datetime.fromisoformat
    base = f"https://discord.com/channels/{guild_id}/"
    by_comment: dict[int, dict[int, int]] = {}
    for comment_id, voter, vote in votes:
        latest = by_comment.setdefault(comment_id, {})
        latest.pop(voter, None)  # re-inserted last: dict order is the order of latest votes
        latest[voter] = vote
    for comment_id, author_id, text, created, channel, message, visible in rows:
        if visible:
            latest = by_comment.get(comment_id, {})
            vals = list(latest.values())
            current[comment_id] = SummaryComment(
                comment_id, author_id, text or "", parse(created), f"{base}{channel}/{message}",
                vals.count(1), vals.count(-1), vals.count(0), tuple(latest.items()), True,
            )
        else:
            current.pop(comment_id, None)


@dataclass(frozen=True)
class TopicEvidence:
    """What the map takes from one topic's article and comments, computed once per change."""

    #: (discussion version, article revision) it was computed at
    version: tuple[int, int]
    activity: int
    term_counts: dict[int, float]
    #: channel/thread ids its comments mention or link to, once per mention
    mentions: tuple[int, ...]


def topic_evidence(item: Item, comments: list[str]) -> TopicEvidence:
    """CPU-bound (hashing every comment of the topic): run it off the loop."""
    mentions = tuple(
        int(match.group(1))
        for text in comments
        for match in (*_CHANNEL_MENTION.finditer(text), *_DISCORD_LINK.finditer(text))
    )
    text = article_text(item) + "\n" + "\n".join(comments)
    return TopicEvidence((item.discussion_version, item.revision_id), len(comments),
                         hashed_term_counts(text), mentions)


class SummaryResult(BaseModel):
    item_id: int
    summary: DiscussionSummary
    markdown: str
    embed: EmbedData
    computed_at: datetime | None
    from_cache: bool


class Publication(BaseModel):
    number: int
    summary: DiscussionSummary | None  # None once someone quoted in it had their words erased
    published_at: datetime | None
    stale: bool  # the discussion changed after it was published
    channel_id: int | None
    message_id: int | None


class InsightService:
    """Summaries for the bot and the CLI; one feature cache per process."""

    def __init__(self, repo: Repository, agree: Iterable[str], disagree: Iterable[str],
                 passes: Iterable[str] = ()) -> None:
        self.repo = repo
        self.agree = sorted(agree)
        self.disagree = sorted(disagree)
        self.passes = sorted(passes)
        self.features = FeatureCache()
        self._lock = asyncio.Lock()  # one summary at a time: the cache is not thread-safe
        self._maps: dict[int, tuple[tuple[int, int, int], TopicMap, dict[int, Item]]] = {}
        #: item id -> (discussion version, {comment id: engine input}) — see summary_comments
        self._inputs: dict[int, tuple[int, dict[int, SummaryComment]]] = {}
        #: item id -> its evidence for the map — see topic_map
        self._evidence: dict[int, TopicEvidence] = {}
        self._map_locks: dict[int, asyncio.Lock] = {}
        #: how many maps were built, and the topics the last build read again from storage
        #: (only those whose discussion or article changed since)
        self.map_builds = 0
        self.last_map_reread: list[int] = []
        #: (item id, title, hash of what the chart shows) -> chart PNG (or None), newest last
        self._charts: OrderedDict[tuple[int, int, str], bytes | None] = OrderedDict()
        #: background summary refreshes (see refresh_later)
        self._refreshing: dict[int, asyncio.Task[DiscussionSummary | None]] = {}

    async def summary_comments(self, item: Item) -> list[SummaryComment]:
        """The item's visible comments as the engine's input.

        Kept in memory per item and brought up to date with only the comments changed
        since (their change_seq), so a warm request on 100k comments reads a handful of rows.
        """
        seq, current = self._inputs.get(item.id, (0, {}))
        version, rows, votes = await self.repo.discussion.summary_rows(
            item.id, self.agree, self.disagree, self.passes, since=seq)
        if rows:
            current = dict(current)  # never mutate what a running summary may be reading
            await asyncio.to_thread(apply_rows, current, rows, votes, item.guild_id)
        self._inputs[item.id] = (version, current)
        return list(current.values())

    async def top_quotes(self, item: Item, limit: int = 5) -> list[tuple[str, int]]:
        counts = Counter(
            " ".join(q.exact.split())
            for q in await self.repo.discussion.quotes(item.id)
            if q.exact and q.state in ("anchored", "moved")
        )
        return counts.most_common(limit)

    async def top_sources(self, item: Item, limit: int = 5) -> list[tuple[str, str | None, int]]:
        return [(s.url, s.title, s.citer_count) for s in (await self.repo.discussion.sources(item.id))[:limit]]

    async def summary(self, item: Item, *, names: Mapping[int, str] | None = None,
                      method: bool = True, curated: bool = True) -> SummaryResult:
        """The item's summary, with the organisers' curation applied (``curated=False``:
        as the engine made it); the engine's result is cached until the discussion changes.
        ``names``/``method``: see :func:`render_summary_markdown` (the report's use)."""
        running = self._refreshing.get(item.id)
        if running is not None and running is not asyncio.current_task():
            await asyncio.wait({running})  # being computed in the background: not twice
        item = await self.repo.agenda.item(item.id) or item
        version = item.discussion_version
        cached = await self.repo.insight.cached_summary(item.id, version)
        if cached is not None:
            summary = DiscussionSummary.model_validate_json(cached)
            computed = await self.repo.insight.summary_computed_at(item.id)
            from_cache = True
        else:
            comments = await self.summary_comments(item)
            async with self._lock:
                summary = await asyncio.to_thread(summarise, comments, cache=self.features)
            await self.repo.insight.store_summary(item.id, version, summary.model_dump_json())
            computed, from_cache = None, False
        if curated:
            summary = apply_curation(summary, await self.curation(item))
        result = await self.render(item, summary, names=names, method=method)
        return result.model_copy(update={
            "computed_at": computed[0] if computed else None, "from_cache": from_cache})

    async def render(self, item: Item, summary: DiscussionSummary, *,
                     names: Mapping[int, str] | None = None, method: bool = True) -> SummaryResult:
        """The report text and the embed of a summary (live or published) of the item."""
        quotes = await self.top_quotes(item)
        sources = await self.top_sources(item)
        status = status_line(item)
        return SummaryResult(
            item_id=item.id,
            summary=summary,
            markdown=render_summary_markdown(item.title, summary, quotes=quotes, sources=sources,
                                             status_line=status, names=names, method=method),
            embed=summary_embed_fields(item.title, summary, quotes=quotes, sources=sources,
                                       status_line=status),
            computed_at=None,
            from_cache=False,
        )

    async def summary_chart(self, item: Item, result: SummaryResult) -> bytes | None:
        """The summary's chart as PNG (None when there is nothing to draw), drawn in a
        worker thread and kept while what it shows (statements, votes, days) is unchanged."""
        shown = result.summary.model_dump_json(include={"opinion", "participation"})
        key = (item.id, item.title, hash(shown))
        if key in self._charts:
            self._charts.move_to_end(key)
            return self._charts[key]
        try:
            png = await asyncio.to_thread(render_summary_chart, item.title, result.summary)
        except Exception:  # a picture that fails must not cost the summary its text
            log.exception("could not draw the chart of item %s", item.id)
            return None
        self._charts[key] = png
        while len(self._charts) > CHARTS_KEPT:
            self._charts.popitem(last=False)
        return png

    async def last_summary(self, item: Item) -> tuple[DiscussionSummary | None, bool]:
        """The item's last computed summary as the engine made it (no curation), and whether
        it is current; never computes one, so an answer that must come at once (a form,
        within Discord's 3 s) can use it. ``(None, False)`` when none was ever computed."""
        item = await self.repo.agenda.item(item.id) or item
        row = await self.repo.insight.last_summary(item.id)
        if row is None:
            return None, False
        raw, version = row
        summary = await asyncio.to_thread(DiscussionSummary.model_validate_json, raw)
        return summary, version == item.discussion_version

    def refresh_later(self, item: Item) -> asyncio.Task[DiscussionSummary | None]:
        """Compute the item's summary in the background (off the loop, one at a time with
        the others), so that the next request finds it cached. The task's result is the
        summary as the engine made it (None if it failed); one task per item at a time."""
        running = self._refreshing.get(item.id)
        if running is not None and not running.done():
            return running
        task = asyncio.get_running_loop().create_task(self._refresh(item))
        self._refreshing[item.id] = task  # a reference until done (asyncio holds weak ones)
        task.add_done_callback(
            lambda t, key=item.id: self._refreshing.pop(key, None)
            if self._refreshing.get(key) is t else None)
        return task

    async def _refresh(self, item: Item) -> DiscussionSummary | None:
        try:
            return (await self.summary(item, curated=False)).summary
        except Exception:  # a background refresh that fails costs nothing but its time
            log.exception("could not refresh the summary of item %s", item.id)
            return None

    async def close(self) -> None:
        """Cancel background refreshes (the cog is unloading)."""
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- curation and publication ----------------------------------------------------------

    async def curation(self, item: Item) -> Curation:
        raw = await self.repo.insight.curation(item.id)
        return Curation.model_validate_json(raw) if raw else Curation()

    async def save_curation(self, item: Item, curation: Curation, organiser_id: int) -> None:
        await self.repo.insight.save_curation(item.id, curation.model_dump_json(), organiser_id)

    async def publication(self, item: Item) -> Publication | None:
        """The item's latest published summary, and whether the discussion moved since."""
        row = await self.repo.insight.latest_revision(item.id)
        if row is None:
            return None
        item = await self.repo.agenda.item(item.id) or item
        summary = DiscussionSummary.model_validate_json(row["summary"]) if row["summary"] else None
        return Publication(
            number=row["number"], summary=summary, published_at=row["published_at"],
            stale=item.discussion_version > row["discussion_version"],
            channel_id=row["channel_id"], message_id=row["message_id"],
        )

    async def publish(self, item: Item, summary: DiscussionSummary, *, channel_id: int,
                      message_id: int, organiser_id: int, version: int) -> int:
        """Record a publication made at discussion ``version``; returns its number."""
        return await self.repo.insight.add_revision(
            item.id, version, summary.model_dump_json(), channel_id=channel_id,
            message_id=message_id, published_by=organiser_id)

    async def warm(self, items: Iterable[Item]) -> int:
        """Load the comments and compute their features ahead of the first summary request
        (off the loop), so that even the first `/summary` after a start is a warm one
        (the chart's drawing code and fonts too)."""
        await asyncio.to_thread(warm_up_charts)
        added = 0
        for item in items:
            pairs = [(c.comment_id, c.text) for c in await self.summary_comments(item)]
            if pairs:
                async with self._lock:
                    added += await asyncio.to_thread(self.features.add, pairs)
        return added

    async def drop_derived_data(self) -> None:
        """Forget features and maps computed from text that has since been erased."""
        async with self._lock:
            self.features = FeatureCache()
            self._maps.clear()
            self._charts.clear()  # they show statements' text
            self._inputs.clear()
            self._evidence.clear()

    # --- the related-topics map ------------------------------------------------------------

    async def topic_map(self, consultation_id: int) -> tuple[TopicMap, dict[int, Item]]:
        """The consultation's map, rebuilt only when something in it changed, and then from
        the cached evidence of every topic whose discussion and article did not change."""
        lock = self._map_locks.setdefault(consultation_id, asyncio.Lock())
        async with lock:  # one build at a time per consultation; waiters get its result
            version = await self.repo.agenda.consultation_version(consultation_id)
            cached = self._maps.get(consultation_id)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
            items = {i.id: i for i in await self.repo.agenda.items(consultation_id)}
            stale = [i for i in items.values()
                     if (e := self._evidence.get(i.id)) is None
                     or e.version != (i.discussion_version, i.revision_id)]
            if stale:
                texts = await self.repo.discussion.item_texts([i.id for i in stale])
                fresh = await asyncio.to_thread(
                    lambda: {i.id: topic_evidence(i, texts.get(i.id, [])) for i in stale})
                self._evidence.update(fresh)
            evidence = {i: self._evidence[i] for i in items}
            citations = await self.repo.discussion.citations(None)
            quotes = await self.repo.discussion.consultation_quotes(consultation_id)
            relations = await self.repo.agenda.relations(consultation_id)
            built = await asyncio.to_thread(_build_map, items, evidence, citations, quotes,
                                            relations)
            self.map_builds += 1
            self.last_map_reread = [i.id for i in stale]
            self._maps[consultation_id] = (version, built, items)
            return built, items

    async def warm_maps(self, consultation_ids: Iterable[int]) -> None:
        """Build the maps ahead of the first /about or /map (after a start's catch-up)."""
        for consultation_id in consultation_ids:
            await self.topic_map(consultation_id)

    async def related(self, item: Item, k: int = 5) -> list[tuple[Item, float, list[str]]]:
        built, items = await self.topic_map(item.consultation_id)
        return [(items[o], w, reasons) for o, w, reasons in related_topics(built, item.id, k)
                if o in items]


def _place_index(items: dict[int, Item]) -> dict[int, int]:
    """Discord channel/thread id → item id."""
    index: dict[int, int] = {}
    for item in items.values():
        if item.channel_id and item.parent_id is None:
            index[item.channel_id] = item.id
    for item in items.values():
        if item.thread_id:
            index[item.thread_id] = item.id
    return index


def _build_map(items: dict[int, Item], evidence: dict[int, TopicEvidence], citations, quotes,
               relations) -> TopicMap:
    """Evidence from storage → typed, weighted edges (runs in a worker thread)."""
    cross_refs: Counter[tuple[int, int]] = Counter()
    places = _place_index(items)
    for item_id, found in evidence.items():
        for place in found.mentions:
            target = places.get(place)
            if target is not None and target != item_id:
                cross_refs[(item_id, target)] += 1
    # A passage of one item's article quoted in another item's discussion.
    articles = {i: quoting.normalise_for_matching(article_text(item)) for i, item in items.items()}
    quote_links: Counter[tuple[int, int]] = Counter()
    for q in quotes:
        if q.state != "unanchored" or not q.passage:
            continue
        passage = quoting.normalise_for_matching(q.passage)
        if len(passage) < 20:
            continue
        for other, article in articles.items():
            if other != q.item_id and passage in article:
                quote_links[(q.item_id, other)] += 1
                break
    topics = [
        MapTopic(
            topic_id=i, title=item.title, status="locked" if item.locked else "open",
            activity=evidence[i].activity, parent_id=item.parent_id,
            term_counts=evidence[i].term_counts,
        )
        for i, item in items.items()
    ]
    return build_map(
        topics,
        cross_refs=[(a, b, n) for (a, b), n in cross_refs.items()],
        citations=[(c.item_id, c.normalized_url, c.citer_id) for c in citations if c.item_id in items],
        quote_links=[(a, b, n) for (a, b), n in quote_links.items()],
        agenda_links=relations,
    )
