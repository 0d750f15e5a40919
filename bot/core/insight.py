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
import gc
import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import BaseModel

from bot.core import quotes as quoting
from bot.core.charts import render_summary_chart
from bot.core.charts import warm_up as warm_up_charts
from bot.core.curation import Curation, apply_curation
from bot.core.discussion import article_text
from bot.core.summary import (
    FEATURES_VERSION,
    DiscussionSummary,
    EmbedData,
    FeatureCache,
    FeatureRows,
    SummaryComment,
    gc_paused,
    render_summary_markdown,
    summarise,
    summary_embed_fields,
)
from bot.core.topic_map import MapTopic, TopicMap, build_map, hashed_term_counts, related_topics
from bot.core.topics import status_line
from bot.storage import Repository
from bot.storage.common import from_micros
from bot.storage.models import Item

log = logging.getLogger(__name__)
CHARTS_KEPT = 64  # summary charts kept in memory (~65 KB each)
INPUT_PAGE = 100_000  # comments read and built per step when an item's inputs are loaded
FEATURE_PAGE = 5_000  # comments featurised and stored per step of the backfill
PERSIST_DELAY = 1.0  # seconds after a new comment before its features are stored (batching)

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
    parse = from_micros
    base = f"https://discord.com/channels/{guild_id}/"
    by_comment: dict[int, dict[int, int]] = {}
    for comment_id, voter, vote in votes:
        latest = by_comment.setdefault(comment_id, {})
        latest.pop(voter, None)  # re-inserted last: dict order is the order of latest votes
        latest[voter] = vote
    for comment_id, author_id, text, created, channel, message, visible in rows:
        if visible:
            latest = by_comment.get(comment_id)
            if latest is None:  # nobody voted (a good share of a big topic's comments)
                current[comment_id] = SummaryComment(
                    comment_id, author_id, text or "", parse(created),
                    f"{base}{channel}/{message}", 0, 0, 0, (), True)
                continue
            vals = list(latest.values())
            current[comment_id] = SummaryComment(
                comment_id, author_id, text or "", parse(created), f"{base}{channel}/{message}",
                vals.count(1), vals.count(-1), vals.count(0), tuple(latest.items()), True,
            )
        else:
            current.pop(comment_id, None)


def _refresh_features(cache: FeatureCache, rows: list[tuple]) -> list[tuple[int, str]]:
    """Changed storage rows (see apply_rows): features of edited texts computed again,
    those of comments no longer visible dropped. Returns the (id, text) pairs computed."""
    cache.discard_many(r[0] for r in rows if not r[6])
    return cache.refresh([(r[0], r[2] or "") for r in rows if r[6]])


def _install_rows(cache: FeatureCache, rows: list) -> int:
    """Stored feature rows (comment id, content hash, dup key, flags, blob) into the cache,
    for comments it has nothing for; empties ``rows`` (freed here, not on the loop).
    Returns how many rows were read."""
    # (comprehensions, not zip(*rows): a C-level pass over the rows would hold the GIL)
    decoded = FeatureRows.from_blobs([r[0] for r in rows], [r[1] for r in rows],
                                     [r[2] for r in rows], [r[3] for r in rows],
                                     [r[4] for r in rows])
    rows.clear()
    cache.install(decoded, only_missing=True)
    return len(decoded)


def _without_features(cache: FeatureCache, comments: list[SummaryComment]) -> list:
    """(comment id, text) of the comments the cache has no features for."""
    ids = np.fromiter((c.comment_id for c in comments), dtype=np.int64, count=len(comments))
    return [(comments[j].comment_id, comments[j].text)
            for j in np.flatnonzero(cache.slots(ids) < 0).tolist()]


def _without_author(inputs: dict[int, tuple[int, dict[int, SummaryComment]]],
                    cache: FeatureCache, user_id: int) -> dict:
    """The summary inputs without a person's comments, whose features are discarded."""
    out = {}
    for item_id, (version, current) in inputs.items():
        theirs = [cid for cid, c in current.items() if c.author_id == user_id]
        cache.discard_many(theirs)
        out[item_id] = (version, {cid: c for cid, c in current.items()
                                  if c.author_id != user_id} if theirs else current)
    return out


def _apply_and_release(current: dict[int, SummaryComment], rows: list, votes: list,
                       guild_id: int) -> None:
    apply_rows(current, rows, votes, guild_id)
    _release(rows, votes)


def _release(*lists: list) -> None:
    for big in lists:
        big.clear()


@contextmanager
def bulk_work():
    """Around loading or building many objects (a topic's million comments): the cyclic
    garbage collector waits, else its full passes (each over every object of the process,
    in whichever thread allocates) stall the event loop for hundreds of milliseconds."""
    with gc_paused():
        yield


def _features_to_store(cache: FeatureCache, item_id: int,
                       page: list) -> tuple[list[tuple], int]:
    """Rows to store for (comment id, text) pairs: taken from the cache where it holds them
    for that very text, computed otherwise (and then kept in the cache if it had nothing)."""
    from bot.core.summary import stable_hash

    ids = [r[0] for r in page]
    texts = {r[0]: r[1] for r in page}
    kept = cache.take(ids)
    same = np.fromiter((stable_hash(texts[i]) == h for i, h in
                        zip(kept.ids.tolist(), kept.content_hash.tolist(), strict=True)),
                       dtype=bool, count=len(kept))
    kept = kept.subset(same)
    have = set(kept.ids.tolist())
    todo = [(i, texts[i]) for i in ids if i not in have]
    fresh = cache.featurise(todo)
    cache.install(fresh, only_missing=True)
    out = []
    for rows in (kept, fresh):
        for cid, h, dup, flags, blob in zip(rows.ids.tolist(), rows.content_hash.tolist(),
                                            rows.dup_key.tolist(), rows.flags.tolist(),
                                            rows.blobs(), strict=True):
            out.append((item_id, cid, h, dup, flags, blob, texts[cid]))
    return out, len(todo)


def _applied(current: dict[int, SummaryComment], rows: list, votes: list,
             guild_id: int) -> dict[int, SummaryComment]:
    updated = dict(current)
    apply_rows(updated, rows, votes, guild_id)
    return updated


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
        #: items whose persisted features are in ``features`` (see _load_features)
        self._features_loaded: set[int] = set()
        self._features_version_checked = False
        #: item id -> comment id up to which the writer looked for comments to store
        self._checked_upto: dict[int, int] = {}
        self._checked_any = -1  # ... and of all items (the writer's walk)
        self._persist_nudge: asyncio.Event | None = None
        self._persist_task: asyncio.Task | None = None
        #: features computed here (tokenising comments) and rows loaded from storage
        self.features_computed = 0
        self.features_read = 0
        self.warm_ups = 0  # warm-ups finished (one after each catch-up)

    async def summary_comments(self, item: Item) -> list[SummaryComment]:
        """The item's visible comments as the engine's input.

        Kept in memory per item and brought up to date with only the comments changed
        since (their change_seq), so a warm request on 100k comments reads a handful of rows.
        """
        seq, current = self._inputs.get(item.id, (0, {}))
        with bulk_work():
            if not seq:  # everything: read and built a page at a time (bounded memory)
                current, after, version = {}, -1, None
                while True:
                    at, rows, votes = await self.repo.discussion.summary_rows(
                        item.id, self.agree, self.disagree, self.passes, after=after,
                        limit=INPUT_PAGE)
                    version = at if version is None else version
                    if rows:
                        after = rows[-1][0]
                        await asyncio.to_thread(_apply_and_release, current, rows, votes,
                                                item.guild_id)
                    else:
                        break
            else:
                version, rows, votes = await self.repo.discussion.summary_rows(
                    item.id, self.agree, self.disagree, self.passes, since=seq)
                if rows:  # (a copy: never mutate what a running summary may be reading)
                    current = await asyncio.to_thread(_applied, current, rows, votes,
                                                      item.guild_id)
                    # changed since: features of an edited text are computed again (and
                    # stored: the edit dropped the stored ones)
                    async with self._lock:
                        redone = await asyncio.to_thread(_refresh_features, self.features, rows)
                    self.features_computed += len(redone)
                    if redone:
                        await self._store_features(item.id, redone)
                await asyncio.to_thread(_release, rows, votes)
            self._inputs[item.id] = (version, current)
            if not seq:  # kept for the process's life: out of the collector's passes
                gc.freeze()  # (each would walk every kept comment; refcounts still free them)
            return await asyncio.to_thread(list, current.values())

    # --- per-comment features: persisted, loaded, backfilled ---------------------------------

    async def _check_features_version(self) -> None:
        if self._features_version_checked:
            return
        if await self.repo.features.version() != FEATURES_VERSION:
            await self.repo.features.clear()
            await self.repo.features.set_version(FEATURES_VERSION)
        self._features_version_checked = True

    async def _load_features(self, item: Item) -> None:
        """The item's persisted features into the cache (once per process): lean rows,
        decoded into arrays off the loop; kept only for comments the cache has nothing for."""
        if item.id in self._features_loaded:
            return
        await self._check_features_version()
        with bulk_work():
            after = -1
            while rows := await self.repo.features.load(item.id, after):
                after = rows[-1][0]
                async with self._lock:  # decoded and kept a page at a time (and freed there)
                    self.features_read += await asyncio.to_thread(
                        _install_rows, self.features, rows)
        self._features_loaded.add(item.id)

    async def persist_features(self, item_id: int | None = None) -> int:
        """Compute (or take from the cache) and store the features of every comment with
        text and no stored features, of one item or of all; a page at a time, each computed
        off the loop. Returns how many rows were stored."""
        await self._check_features_version()
        stored = 0
        if item_id is None:  # every item's, in one walk of the comments newer than seen
            while page := await self.repo.features.missing_any(self._checked_any,
                                                               FEATURE_PAGE):
                self._checked_any = page[-1][0]
                by_item: dict[int, list[tuple[int, str]]] = {}
                for cid, item, text in page:
                    by_item.setdefault(item, []).append((cid, text))
                for item, pairs in by_item.items():
                    stored += await self._store_features(item, pairs)
            return stored
        after = self._checked_upto.get(item_id, -1)  # older comments were looked at
        while page := await self.repo.features.missing(item_id, after, FEATURE_PAGE):
            after = page[-1][0]
            stored += await self._store_features(item_id, page)
            self._checked_upto[item_id] = after
        return stored

    async def _store_features(self, item_id: int, pairs: list) -> int:
        """Store the features of (comment id, text) pairs (computed if not in the cache)."""
        async with self._lock:
            rows, computed = await asyncio.to_thread(
                _features_to_store, self.features, item_id, pairs)
        self.features_computed += computed
        return await self.repo.features.save(rows)

    def nudge_features(self) -> None:
        """A comment arrived: store its features soon (new comments are batched)."""
        if self._persist_nudge is None:
            self._persist_nudge = asyncio.Event()
        self._persist_nudge.set()
        if self._persist_task is None or self._persist_task.done():
            self._persist_task = asyncio.get_running_loop().create_task(self._persist_loop())

    async def _persist_loop(self) -> None:
        assert self._persist_nudge is not None
        while True:
            await self._persist_nudge.wait()
            await asyncio.sleep(PERSIST_DELAY)
            self._persist_nudge.clear()
            if getattr(self.repo.db, "closed", False):
                return
            try:
                await self.persist_features()
            except Exception:  # a failed write is retried at the next comment or start
                log.exception("could not store comment features")

    async def close(self) -> None:
        """Stop the background feature writer."""
        task, self._persist_task = self._persist_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

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
        item = await self.repo.agenda.item(item.id) or item
        version = item.discussion_version
        cached = await self.repo.insight.cached_summary(item.id, version)
        if cached is not None:
            summary = DiscussionSummary.model_validate_json(cached)
            computed = await self.repo.insight.summary_computed_at(item.id)
            from_cache = True
        else:
            comments = await self.summary_comments(item)
            await self._load_features(item)
            async with self._lock:
                before = len(self.features)
                summary = await asyncio.to_thread(summarise, comments, cache=self.features)
                computed = len(self.features) - before
            if computed > 0:  # computed in the request: stored for the next start
                self.features_computed += computed
                self.nudge_features()
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
        before = self.features_computed
        with bulk_work():
            for item in items:
                comments = await self.summary_comments(item)
                await self._load_features(item)  # what was stored at ingestion
                # what was not (an older database, a text edited while the bot was down):
                # computed from the comments just loaded, a page at a time, and stored
                async with self._lock:
                    missing = await asyncio.to_thread(_without_features, self.features,
                                                      comments)
                for start in range(0, len(missing), FEATURE_PAGE):
                    await self._store_features(item.id, missing[start:start + FEATURE_PAGE])
                if comments:
                    self._checked_upto[item.id] = max(
                        self._checked_upto.get(item.id, -1),
                        await asyncio.to_thread(max, (c.comment_id for c in comments)))
                await asyncio.to_thread(_release, comments, missing)
            # What was loaded stays for the process's life: out of the collector's passes
            # (each would walk every kept comment), still freed by reference counting.
            gc.freeze()
        self.warm_ups += 1
        return self.features_computed - before

    async def drop_derived_data(self, user_id: int | None = None) -> None:
        """Forget features and maps computed from text that has since been erased: that
        person's comments (their text and features) at once, or everything (no ``user_id``).
        Everyone else's features stay: a million of them are not read again."""
        async with self._lock:
            if user_id is None:
                self.features = FeatureCache()
                self._features_loaded.clear()
                self._checked_upto.clear()
                self._checked_any = -1
                self._inputs.clear()
            else:
                self._inputs = await asyncio.to_thread(
                    _without_author, self._inputs, self.features, user_id)
            self._maps.clear()
            self._charts.clear()  # they show statements' text
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
