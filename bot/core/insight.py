"""Summaries of a topic's discussion: inputs from storage, caching, the report text.

A summary is cached against the item's discussion version (bumped by every
comment added, edited, deleted, hidden or reacted to), so it is recomputed only
when the discussion changed. The clustering itself runs in a worker thread.

The related-topics map (for /map and /about) is cached against the consultation's
version; each topic's evidence (hashed term counts, links to other topics, citations,
quotes, activity) is kept per topic and brought up to date with only the comments changed
since (their change_seq): a new comment adds its counts to its topic's vector, so after it
only that comment is read and hashed, not every comment of the consultation or the topic.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, itemgetter

import numpy as np
from pydantic import BaseModel

from bot.core import feature_codec
from bot.core import quotes as quoting
from bot.core.arrays import count_distinct, gathered
from bot.core.charts import render_summary_chart, render_summary_overview
from bot.core.charts import warm_up as warm_up_charts
from bot.core.curation import Curation, apply_curation
from bot.core.discussion import article_text
from bot.core.heap import give_back_freed_memory
from bot.core.summary import (
    FEATURES_VERSION,
    GROUPS_MEMO,
    UINT32_FEATURES_VERSION,
    DiscussionSummary,
    EmbedData,
    FeatureCache,
    FeatureRows,
    StoredComment,
    SummaryComment,
    forget_themes,
    gc_paused,
    render_summary_markdown,
    summarise,
    summary_embed_fields,
    text_hash,
)
from bot.core.topic_map import (
    HASH_CHUNK,
    MapTopic,
    SimilarityIndex,
    TermVector,
    TopicMap,
    build_map,
    hashed_vector,
    related_topics,
)
from bot.core.topics import status_line
from bot.storage import Repository
from bot.storage.discussion_store import MapRows
from bot.storage.models import Item

log = logging.getLogger(__name__)
#: topics whose summary the engine runs once after warm-up (see InsightService.prime): at
#: most as many as the opinion groups it remembers, none smaller than PRIME_SMALLEST
#: comments (their first summary is fast anyway), PRIME_BUDGET comments in all (about a
#: second of the engine on our 2-core machine), and none at all in a process holding more
#: than PRIME_ALL_MAX comments. Priming costs memory (what the engine remembers) and
#: holds the engine (a request needing it meanwhile waits): at 1M comments, priming three
#: topics of 83k made the first /summary 5.7 s instead of 4.3 s and the peak RSS 1.59 GB
#: instead of 1.46 (bench/scale.py).
PRIMED_TOPICS = GROUPS_MEMO
PRIME_SMALLEST = 20_000
PRIME_BUDGET = 120_000
PRIME_ALL_MAX = 250_000
CHARTS_KEPT = 64  # summary charts kept in memory (~65 KB each)
INPUT_PAGE = 100_000  # comments read and built per step when an item's inputs are loaded
FEATURE_PAGE = 5_000  # comments featurised and stored per step of the backfill
FEATURE_CONVERT_PAGE = 10_000  # stored rows of the first format converted per transaction
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
    make = StoredComment._make  # (a tuple's constructor: the hot line of a warm-up)
    base = f"https://discord.com/channels/{guild_id}/"
    links: dict[int, str] = {}  # channel -> its link prefix, one string for its comments
    by_comment: dict[int, dict[int, int]] = {}
    for comment_id, voter, vote in votes:
        latest = by_comment.setdefault(comment_id, {})
        latest.pop(voter, None)  # re-inserted last: dict order is the order of latest votes
        latest[voter] = vote
    for comment_id, author_id, text, created, channel, message, visible in rows:
        if visible:
            link = links.get(channel)
            if link is None:
                link = links[channel] = f"{base}{channel}/"
            latest = by_comment.get(comment_id)
            if latest is None:  # nobody voted (a good share of a big topic's comments)
                current[comment_id] = make((
                    comment_id, author_id, text or "", link, message, 0, 0, 0, (), True,
                    created))
                continue
            vals = list(latest.values())
            current[comment_id] = make((
                comment_id, author_id, text or "", link, message,
                vals.count(1), vals.count(-1), vals.count(0), tuple(latest.items()), True,
                created))
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
    ids = gathered(comments, _FIRST, np.int64)
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


def _participation_counts(comments: list[SummaryComment]
                          ) -> tuple[int, int, int | None, int | None]:
    """(comments, distinct authors, first and last time in microseconds) of summary inputs
    built from storage (each with its ``created_us``): what DiscussionStore.counts reads."""
    if not comments:
        return 0, 0, None, None
    authors_times = gathered(comments, _AUTHOR_TIME, np.int64, 2).reshape(-1, 2)
    times = authors_times[:, 1]
    return (len(comments), count_distinct(authors_times[:, 0]), int(times.min()),
            int(times.max()))


_AUTHOR_TIME = attrgetter("author_id", "created_us")
_FIRST, _SECOND = itemgetter(0), itemgetter(1)  # a comment's or a row's id; a pair's text


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
    ids = [r[0] for r in page]
    texts = {r[0]: r[1] for r in page}
    kept = cache.take(ids)
    same = np.fromiter((text_hash(texts[i]) == h for i, h in
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


def _held_rows(current: dict[int, SummaryComment]) -> list[tuple[int, str, bool]]:
    """An item's summary inputs as its map rows (see DiscussionStore.map_rows): the same
    visible comments and texts, in id order."""
    return [(cid, current[cid].text, True) for cid in sorted(current)]


def _applied(current: dict[int, SummaryComment], rows: list, votes: list,
             guild_id: int) -> dict[int, SummaryComment]:
    updated = dict(current)
    apply_rows(updated, rows, votes, guild_id)
    return updated


@dataclass(frozen=True)
class TopicEvidence:
    """What the map takes from one topic's article and comments, kept up to date as they
    change: a new comment adds its hashed counts to the topic's vector (and its mentions);
    only an edit, a deletion or a hiding of a comment already counted makes the topic's
    comments be read and hashed again (their old counts are not kept)."""

    #: (discussion version, article revision) it is current at
    version: tuple[int, int]
    activity: int
    #: article + visible comments
    term_counts: TermVector
    #: channel/thread ids its comments mention or link to, once per mention
    mentions: tuple[int, ...]
    #: the visible comments' summed counts, and the article's
    comments: TermVector = field(default_factory=TermVector.empty)
    article: TermVector = field(default_factory=TermVector.empty)
    #: the comments counted: sorted ids and the hash of each one's text (16 bytes a comment)
    counted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: (normalised URL, citer) of its visible citations; (state, passage) of its quotes
    citations: tuple[tuple[str, int], ...] = ()
    quotes: tuple[tuple[str, str | None], ...] = ()
    #: its article as quotes are matched against it
    article_norm: str = ""


def _mentions(texts: Iterable[str]) -> list[int]:
    # (a substring test first: each pattern needs it, and a million texts are mostly without)
    return [int(match.group(1)) for text in texts if "<#" in text or "discord" in text
            for match in (*_CHANNEL_MENTION.finditer(text), *_DISCORD_LINK.finditer(text))]


#: from this many comments on, a topic's vector is summed from the summaries' feature cache
#: (the same hashed counts, computed once per comment for both) instead of hashed again
FROM_FEATURES = 64


def _comments_vector(added: list[tuple[int, str]], features: FeatureCache | None,
                     kept_texts: bool = False) -> TermVector:
    """The summed hashed counts of these (comment id, text): from ``features`` (computing
    the comments it lacks, once for summaries and map) when given and worth it.
    ``kept_texts``: the texts are the summaries' inputs the cache was kept for."""
    if features is None or len(added) < FROM_FEATURES:
        return hashed_vector([text for _, text in added])
    parts = []
    for start in range(0, len(added), HASH_CHUNK):  # small C calls: the GIL is handed back
        try:
            parts.append(features.flat_counts(added[start:start + HASH_CHUNK],
                                              kept_texts=kept_texts))
        except ValueError:  # more than the cache holds
            return hashed_vector([text for _, text in added])
    # (integer counts summed in float64: exact, whatever the grouping into parts)
    return TermVector.summed(parts, features.n_features)


def topic_evidence(item: Item, found: MapRows, old: TopicEvidence | None = None,
                   features: FeatureCache | None = None,
                   kept_texts: bool = False) -> TopicEvidence | None:
    """The topic's evidence from its map rows (CPU-bound: run it off the loop).

    ``old`` None: ``found`` holds every visible comment. Otherwise ``found`` holds the
    comments changed since ``old``: new ones are added to it; None when a comment it
    counted changed or went (the caller reads the topic's comments again, from 0).
    ``features``: the summaries' feature cache, to take many comments' counts from (the
    caller holds its lock); ``kept_texts``: ``found``'s texts are the summaries' inputs it
    is kept for (see FeatureCache.flat_counts)."""
    if old is not None and old.version[1] == item.revision_id:
        article, article_norm = old.article, old.article_norm
    else:
        text = article_text(item)
        article, article_norm = hashed_vector([text]), quoting.normalise_for_matching(text)
    added = [(cid, text) for cid, text, visible in found.rows if visible]
    if old is None:
        base_vec, base_mentions = TermVector.empty(), ()
        ids = np.zeros(0, np.int64)
        hashes = np.zeros(0, np.int64)
    else:
        base_vec, base_mentions, ids, hashes = old.comments, old.mentions, old.counted, old.hashes
        if len(ids) and found.rows:
            changed = gathered(found.rows, _FIRST, np.int64)
            pos = np.minimum(np.searchsorted(ids, changed), len(ids) - 1)
            known = ids[pos] == changed
            for (_cid, text, visible), k, p in zip(found.rows, known, pos, strict=True):
                if k and (not visible or hash(text) != hashes[p]):
                    return None  # a counted comment was edited, deleted or hidden
            added = [(cid, text) for (cid, text, visible), k in zip(found.rows, known, strict=True)
                     if visible and not k]  # the known ones are unchanged (a reaction)
    if added:
        new_ids = gathered(added, _FIRST, np.int64)  # (C-level passes, a slice at a time)
        new_hashes = gathered(list(map(_SECOND, added)), hash, np.int64)
        ids, hashes = np.concatenate([ids, new_ids]), np.concatenate([hashes, new_hashes])
        if len(new_ids) and len(ids) > len(new_ids) and new_ids.min() < ids[-len(new_ids) - 1]:
            order = np.argsort(ids, kind="stable")  # an unhidden comment: not the newest
            ids, hashes = ids[order], hashes[order]
        comments = base_vec.plus(_comments_vector(added, features, kept_texts))
        mentions = (*base_mentions, *_mentions(text for _, text in added))
    else:
        comments, mentions = base_vec, base_mentions
    unchanged = old is not None and comments is old.comments and article is old.article
    vector = old.term_counts if unchanged else article.plus(comments)  # same object: no rework
    return TopicEvidence(
        (found.version, item.revision_id), len(ids), vector, tuple(mentions),
        comments, article, ids, hashes, tuple(found.citations), tuple(found.quotes),
        article_norm)


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
        #: consultation id -> the cosines between its topics, kept between map builds
        self._similarity: dict[int, SimilarityIndex] = {}
        #: map builds /about stopped waiting for (kept referenced until they finish)
        self._background: set[asyncio.Future] = set()
        #: how many maps were built, and the topics the last build read again from storage
        #: (only those whose discussion or article changed since)
        self.map_builds = 0
        self.last_map_reread: list[int] = []
        #: of those, the topics whose comments were all read and hashed again (none had
        #: evidence yet, or a comment it counted was edited, deleted or hidden)
        self.last_map_full: list[int] = []
        #: of those, the topics whose texts were taken from the summaries' inputs
        self.last_map_held: list[int] = []
        #: (item id, title, hash of what the chart shows) -> chart PNG (or None), newest last
        self._charts: OrderedDict[tuple[int, int, str], bytes | None] = OrderedDict()
        #: items whose persisted features are in ``features`` (see _load_features)
        self._features_loaded: set[int] = set()
        self._features_version_checked = False
        self._features_version_lock = asyncio.Lock()
        #: item id -> comment id up to which the writer looked for comments to store
        self._checked_upto: dict[int, int] = {}
        self._checked_any = -1  # ... and of all items (the writer's walk)
        self._persist_nudge: asyncio.Event | None = None
        self._persist_task: asyncio.Task | None = None
        #: features computed here (tokenising comments) and rows loaded from storage
        self.features_computed = 0
        self.features_read = 0
        self.warm_ups = 0  # warm-ups finished (one after each catch-up)
        #: the database's erasure count the in-memory data was derived at (see below)
        self._erasures_seen: int | None = None
        self._listening = False
        #: background summary refreshes (see refresh_later)
        self._refreshing: dict[int, asyncio.Task[DiscussionSummary | None]] = {}
        self._primed: set[int] = set()  # topics the engine has run on once (prime)
        self._priming: asyncio.Task[int] | None = None

    async def _forget_if_erased_elsewhere(self) -> None:
        """Another process sharing the database (a shard process) may have erased someone:
        their text is in this process's features, charts and map evidence. One cheap read
        of the stored erasure count; when it moved, everything derived is dropped and built
        again. (Other changes need no check: summary inputs are brought up to date by
        change_seq, maps by the consultation's version, both read from the database.)"""
        if not self._listening:  # PostgreSQL also says so at once (LISTEN/NOTIFY)
            self._listening = True
            await self.repo.insight.on_erasure(self._erased)
        seq = await self.repo.insight.erasure_seq()
        if self._erasures_seen is not None and seq != self._erasures_seen:
            log.info("an erasure was made (perhaps by another process): dropping derived data")
            await self.drop_derived_data()
        self._erasures_seen = seq

    async def summary_comments(self, item: Item) -> list[SummaryComment]:
        """The item's visible comments as the engine's input.

        Kept in memory per item and brought up to date with only the comments changed
        since (their change_seq), so a warm request on 100k comments reads a handful of rows.
        """
        await self._forget_if_erased_elsewhere()
        seq, current = self._inputs.get(item.id, (0, {}))
        with bulk_work():
            if not seq:  # everything: read and built a page at a time (bounded memory),
                # the next page read while this one is built (the database's thread works
                # without the GIL for much of a read)
                def page(after: int) -> asyncio.Future:
                    return asyncio.ensure_future(self.repo.discussion.summary_rows(
                        item.id, self.agree, self.disagree, self.passes, after=after,
                        limit=INPUT_PAGE))

                current, version, reading = {}, None, page(-1)
                try:
                    while True:
                        at, rows, votes = await reading
                        version = at if version is None else version
                        if not rows:
                            break
                        reading = page(rows[-1][0])
                        await asyncio.to_thread(_apply_and_release, current, rows, votes,
                                                item.guild_id)
                finally:
                    if not reading.done():  # (a failure here: the read is not needed)
                        reading.cancel()
            else:
                version, rows, votes = await self.repo.discussion.summary_rows(
                    item.id, self.agree, self.disagree, self.passes, since=seq)
                if rows:  # (a copy: never mutate what a running summary may be reading)
                    current = await asyncio.to_thread(_applied, current, rows, votes,
                                                      item.guild_id)
                    # changed since: features of an edited text are computed again (and
                    # stored: the edit dropped the stored ones)
                    async with self._lock:  # (the cache and the kept inputs move together)
                        redone = await asyncio.to_thread(_refresh_features, self.features, rows)
                        self._inputs[item.id] = (version, current)
                    self.features_computed += len(redone)
                    if redone:
                        await self._store_features(item.id, redone)
                await asyncio.to_thread(_release, rows, votes)
            self._inputs[item.id] = (version, current)
            if not seq:  # kept for the process's life: out of the collector's passes
                gc.freeze()  # (each would walk every kept comment; refcounts still free them)
            return await asyncio.to_thread(list, current.values())

    # --- per-comment features: persisted, loaded, backfilled ---------------------------------

    async def prepare_stored_features(self) -> None:
        """Before the first read or write of stored features: rows of the first storage
        format are converted (a page per transaction, resumed after a restart), rows of
        any other version dropped (the writer computes them again)."""
        if self._features_version_checked:
            return
        async with self._features_version_lock:
            if self._features_version_checked:
                return
            stored = await self.repo.features.version()
            if stored == UINT32_FEATURES_VERSION:
                began, converted, step = time.monotonic(), 0, FEATURE_CONVERT_PAGE
                while step == FEATURE_CONVERT_PAGE:  # (a short page is the last)
                    step = await self.repo.features.convert_page(
                        UINT32_FEATURES_VERSION, FEATURES_VERSION,
                        feature_codec.from_uint32_rows, FEATURE_CONVERT_PAGE)
                    converted += step
                log.info("stored features converted to the compact format: %d rows in %.1f s",
                         converted, time.monotonic() - began)
                stored = await self.repo.features.version()
            if stored != FEATURES_VERSION:
                await self.repo.features.clear()
                await self.repo.features.set_version(FEATURES_VERSION)
            self._features_version_checked = True

    async def _load_features(self, item: Item) -> None:
        """The item's persisted features into the cache (once per process): lean rows,
        decoded into arrays off the loop; kept only for comments the cache has nothing for."""
        if item.id in self._features_loaded:
            return
        await self.prepare_stored_features()
        with bulk_work():
            # the next page read while this one is decoded (the database's thread works
            # without the GIL for much of a read, numpy's decoding too)
            reading = asyncio.ensure_future(self.repo.features.load(item.id, -1))
            try:
                while rows := await reading:
                    reading = asyncio.ensure_future(self.repo.features.load(item.id, rows[-1][0]))
                    async with self._lock:  # decoded and kept a page at a time (freed there)
                        self.features_read += await asyncio.to_thread(
                            _install_rows, self.features, rows)
            finally:
                if not reading.done():  # (a failure here: the read is not needed)
                    reading.cancel()
        self._features_loaded.add(item.id)

    async def persist_features(self, item_id: int | None = None) -> int:
        """Compute (or take from the cache) and store the features of every comment with
        text and no stored features, of one item or of all; a page at a time, each computed
        off the loop. Returns how many rows were stored."""
        await self.prepare_stored_features()
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
        """Stop the background feature writer, summary refreshes and priming (the cog
        unloads)."""
        task, self._persist_task = self._persist_task, None
        priming, self._priming = self._priming, None
        tasks = [*self._refreshing.values(), *(t for t in (task, priming) if t is not None)]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _erased(self, payload: str) -> None:
        """An erasure was committed (here or in another process): drop what was derived
        from that person's text (everything when the notice does not say whose)."""
        await self.drop_derived_data(int(payload) if payload.isdigit() else None)
        self._erasures_seen = await self.repo.insight.erasure_seq()

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
        await self._forget_if_erased_elsewhere()
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
            summary = await self._run_engine(item)
            await self.repo.insight.store_summary(item.id, version, summary.model_dump_json())
            computed, from_cache = None, False
        if curated:
            summary = apply_curation(summary, await self.curation(item))
        result = await self.render(item, summary, names=names, method=method)
        return result.model_copy(update={
            "computed_at": computed[0] if computed else None, "from_cache": from_cache})

    async def _run_engine(self, item: Item) -> DiscussionSummary:
        """``summarise`` on the item's comments, off the loop and one at a time; features
        it had to compute are handed to the writer (stored for the next start)."""
        comments = await self.summary_comments(item)
        await self._load_features(item)
        async with self._lock:
            before = len(self.features)
            summary = await asyncio.to_thread(summarise, comments, cache=self.features)
            computed = len(self.features) - before
        await asyncio.to_thread(give_back_freed_memory)  # the engine's big temporaries
        if computed > 0:
            self.features_computed += computed
            self.nudge_features()
        return summary

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

    async def summary_chart(self, item: Item, result: SummaryResult, *,
                            overview: bool = False) -> bytes | None:
        """The summary's chart as PNG (None when there is nothing to draw), drawn in a
        worker thread and kept while what it shows (statements, votes, days) is unchanged.
        ``overview``: the 4:3 one drawn for an embed's image box (everyone's votes on the
        top statements), instead of the full chart (by opinion group, and activity)."""
        # what each picture shows: the overview has no activity, so a new comment nobody
        # voted on yet leaves it as it was
        shown = result.summary.model_dump_json(
            include={"opinion"} if overview else {"opinion", "participation"})
        key = (item.id, item.title, hash(shown), overview)
        if key in self._charts:
            self._charts.move_to_end(key)
            return self._charts[key]
        draw = render_summary_overview if overview else render_summary_chart
        try:
            png = await asyncio.to_thread(draw, item.title, result.summary)
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

    async def warm(self, items: Iterable[Item], *, every_item: bool = False) -> int:
        """Load the comments and compute their features ahead of the first summary request
        (off the loop), so that even the first `/summary` after a start is a warm one
        (the chart's drawing code and fonts too), and /about's counts of each topic.

        ``every_item``: ``items`` are all of the database's: then every comment up to the
        newest one looked at here has its features stored, and the writer's walk for new
        comments (persist_features) starts after it, not with a scan of every comment."""
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
                # /about's whole-topic counts, kept by the store: taken from the inputs just
                # loaded (all the topic's visible comments), not a scan of the topic again
                self.repo.discussion.remember_counts(
                    item.id, self._inputs[item.id][0],
                    *await asyncio.to_thread(_participation_counts, comments))
                await asyncio.to_thread(_release, comments, missing)
                await self.repo.discussion.counts(item.id)  # (its quotes and citations)
                await self.repo.discussion.unverified(item.id)
            # What was loaded stays for the process's life: out of the collector's passes
            # (each would walk every kept comment), still freed by reference counting.
            gc.freeze()
        await asyncio.to_thread(give_back_freed_memory)  # the pages read and built through
        if every_item and self._checked_upto:
            self._checked_any = max(self._checked_any, *self._checked_upto.values())
        self.warm_ups += 1
        return self.features_computed - before

    def prime_later(self, items: Iterable[Item]) -> asyncio.Task[int]:
        """:meth:`prime` in the background (after warm-up: the bot is answering meanwhile);
        stopped by :meth:`close`."""
        items = list(items)

        async def run() -> int:
            start = time.perf_counter()
            try:
                primed = await self.prime(items)
            except Exception:  # costs nothing but the first request's speed
                log.exception("priming the summary engine failed")
                return 0
            log.info("summary engine primed on %d topics in %.2f s", primed,
                     time.perf_counter() - start)
            return primed

        running = self._priming
        if running is not None and not running.done():
            running.cancel()  # a reconnect's warm-up: its own list of topics is current
        self._priming = asyncio.get_running_loop().create_task(run(), name="prime-summaries")
        return self._priming

    async def prime(self, items: Iterable[Item], *, topics: int = PRIMED_TOPICS,
                    smallest: int = PRIME_SMALLEST, budget: int = PRIME_BUDGET,
                    all_max: int = PRIME_ALL_MAX) -> int:
        """Run the summary engine once on the biggest topics, after warm-up and in the
        background: what it remembers between requests (each statement's label terms, the
        opinion groups of an unchanged vote set) is then there for the first /summary after
        a start, which costs what the next ones do (bench/summary_request.py: "primed",
        "warm"). Only topics of ``smallest`` comments or more, ``budget`` comments in all,
        and nothing when ``items`` hold more than ``all_max`` (see PRIME_ALL_MAX). A stored
        summary that is current stays as it is; a stale one is recomputed and stored. Once
        per topic and process (a reconnect's warm-up does not do it again). Returns how
        many were primed."""
        sized = [((await self.repo.discussion.counts(i.id)).comments, i.id, i) for i in items]
        if sum(size for size, _, _ in sized) > all_max:
            return 0  # a big process: memory and cores go to the requests
        ranked = sorted([x for x in sized if x[1] not in self._primed],
                        key=lambda x: (-x[0], x[1]))
        primed = 0
        for size, _, item in ranked:
            if size < smallest or primed >= topics:
                break
            if size > budget:
                continue  # too big to run for nothing in the background
            budget -= size
            item = await self.repo.agenda.item(item.id) or item
            if await self.repo.insight.cached_summary(item.id, item.discussion_version) is None:
                await self.refresh_later(item)  # computed and stored: remembered on the way
            else:
                await self._run_engine(item)  # the stored summary is current: kept
            self._primed.add(item.id)
            primed += 1
        return primed

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
            forget_themes()  # (their centroids are made of the comments' words)
            self._maps.clear()
            self._charts.clear()  # they show statements' text
            self._evidence.clear()
            self._similarity.clear()

    # --- the related-topics map ------------------------------------------------------------

    async def topic_map(self, consultation_id: int) -> tuple[TopicMap, dict[int, Item]]:
        """The consultation's map, rebuilt only when something in it changed, from each
        topic's evidence kept up to date: after a new comment only the comments changed
        since are read (a handful of rows) and added to their topic's vector."""
        await self._forget_if_erased_elsewhere()
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
            full: list[int] = []
            held: dict = {}
            moved: list[int] = []
            if stale:
                olds = {i.id: self._evidence.get(i.id) for i in stale}
                # topics read from the start whose comments the summaries hold (warm-up
                # loaded them): their texts are taken from there, not read and kept twice
                held = {i.id: self._inputs[i.id] for i in stale if olds[i.id] is None
                        and i.id in self._inputs
                        and self._inputs[i.id][0] == i.discussion_version}
                found = await self.repo.discussion.map_rows(
                    {i: (e.version[0] if e else 0) for i, e in olds.items()}, held=held)
                moved = [i for i in held if i in found and found[i].version != held[i][0]]
                if moved:  # changed between the two reads: read as usual
                    found.update(await self.repo.discussion.map_rows({i: 0 for i in moved}))
                for i in held.keys() - set(moved):
                    if i in found:
                        found[i].rows.extend(await asyncio.to_thread(_held_rows, held[i][1]))
                fresh = await self._evidence_of(
                    [(i, found[i.id], olds[i.id]) for i in stale if i.id in found],
                    {i: v for i, v in held.items() if i not in moved})
                full = [i for i, e in olds.items() if e is None or (i in fresh and fresh[i] is None)]
                redo = [i for i in stale if i.id in fresh and fresh[i.id] is None]
                if redo:  # a counted comment changed: that topic's comments from the start
                    again = await self.repo.discussion.map_rows({i.id: 0 for i in redo})
                    fresh.update(await self._evidence_of(
                        [(i, again[i.id], None) for i in redo if i.id in again]))
                self._evidence.update({i: e for i, e in fresh.items() if e is not None})
            evidence = {i: self._evidence[i] for i in items if i in self._evidence}
            relations = await self.repo.agenda.relations(consultation_id)
            similarity = self._similarity.setdefault(consultation_id, SimilarityIndex())
            built = await asyncio.to_thread(_build_map, items, evidence, relations, similarity)
            self.map_builds += 1
            self.last_map_reread = [i.id for i in stale]
            self.last_map_full = full
            self.last_map_held = sorted(held.keys() - set(moved)) if stale else []
            self._maps[consultation_id] = (version, built, items)
            return built, items

    async def _evidence_of(self, work: list[tuple[Item, MapRows, TopicEvidence | None]],
                           held: Mapping[int, tuple] | None = None,
                           ) -> dict[int, TopicEvidence | None]:
        """topic_evidence of each, in a worker thread. Topics read from the start take their
        comments' counts from the summaries' feature cache (filled by warm-up) unless a
        summary holds it: the map never waits for one. ``held``: topics whose rows are
        their summary inputs (see topic_map); while those are still the inputs kept, the
        cache's rows are theirs, and their texts are not hashed again to check."""
        def run(features: FeatureCache | None, kept: set[int]) -> dict[int, TopicEvidence | None]:
            return {i.id: topic_evidence(i, found, old, features, i.id in kept)
                    for i, found, old in work}

        if any(old is None for _, _, old in work) and not self._lock.locked():
            async with self._lock:  # free: taken at once, without yielding to a summary
                # (a summary changes the cache and the kept inputs under this lock)
                kept = {i for i, v in (held or {}).items() if self._inputs.get(i) is v}
                return await asyncio.to_thread(run, self.features, kept)
        return await asyncio.to_thread(run, None, set())

    async def warm_maps(self, consultation_ids: Iterable[int]) -> None:
        """Build the maps ahead of the first /about or /map (after a start's catch-up)."""
        for consultation_id in consultation_ids:
            await self.topic_map(consultation_id)

    async def related(self, item: Item, k: int = 5, *, wait: float | None = None
                      ) -> list[tuple[Item, float, list[str]]] | None:
        """The item's strongest relations. ``wait``: at most that many seconds for the map
        when the consultation has none yet (after a start, before warm-up built it, or after
        an erasure it is built from the start: a minute at a million comments); None if it
        was not ready by then, and its build goes on in the background for the next request.
        A map that exists is brought up to date with what changed (milliseconds)."""
        if wait is None or item.consultation_id in self._maps:
            built, items = await self.topic_map(item.consultation_id)
        else:
            build = asyncio.ensure_future(self.topic_map(item.consultation_id))
            try:
                built, items = await asyncio.wait_for(asyncio.shield(build), wait)
            except TimeoutError:
                self._background.add(build)
                build.add_done_callback(self._background_done)
                return None
        return [(items[o], w, reasons) for o, w, reasons in related_topics(built, item.id, k)
                if o in items]

    def _background_done(self, task: asyncio.Future) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("building a topic map in the background failed", exc_info=task.exception())


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


def _build_map(items: dict[int, Item], evidence: dict[int, TopicEvidence], relations,
               similarity: SimilarityIndex | None = None) -> TopicMap:
    """Evidence of each topic → typed, weighted edges (runs in a worker thread)."""
    cross_refs: Counter[tuple[int, int]] = Counter()
    places = _place_index(items)
    for item_id, found in evidence.items():
        for place in found.mentions:
            target = places.get(place)
            if target is not None and target != item_id:
                cross_refs[(item_id, target)] += 1
    # A passage of one item's article quoted in another item's discussion.
    articles = {i: found.article_norm for i, found in evidence.items()}
    quote_links: Counter[tuple[int, int]] = Counter()
    for item_id, found in evidence.items():
        for state, passage in found.quotes:
            if state != "unanchored" or not passage:
                continue
            passage = quoting.normalise_for_matching(passage)
            if len(passage) < 20:
                continue
            for other, article in articles.items():
                if other != item_id and passage in article:
                    quote_links[(item_id, other)] += 1
                    break
    topics = [
        MapTopic(
            topic_id=i, title=item.title, status="locked" if item.locked else "open",
            activity=evidence[i].activity, parent_id=item.parent_id,
            term_vector=evidence[i].term_counts,
        )
        for i, item in items.items() if i in evidence
    ]
    return build_map(
        topics,
        cross_refs=[(a, b, n) for (a, b), n in cross_refs.items()],
        citations=[(i, url, citer) for i, found in evidence.items() for url, citer in found.citations],
        quote_links=[(a, b, n) for (a, b), n in quote_links.items()],
        agenda_links=relations,
        similarity=similarity,
    )
