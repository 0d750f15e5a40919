"""Per-comment features: one tokenisation, stored at ingestion in comment_features, read
back at a restart instead of recomputed, and dropped with the text they came from."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from bench.corpus import make_corpus
from bot.core import summary as S
from bot.core.insight import InsightService
from bot.core.summary import FeatureCache, summarise, text_hash
from bot.storage import Repository, feature_store
from bot.storage.database import migration_files
from bot.storage.models import IncomingMessage

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
AGREE, DISAGREE = "👍", "👎"

TEXTS = [
    "The 24/7 Network should answer e-mail at night; policies and breaches matter.",
    "Don’t weaken encryption — it’s what protects banking and health data!",
    "> quoted line from the bill\nMy own point: <@123> see https://example.org/x ok",
    "La sécurité des données personnelles est essentielle pour les citoyens européens.",
    "网络犯罪需要国际合作来解决，数据保护也很重要。",
    "การรักษาความปลอดภัยทางไซเบอร์เป็นเรื่องสำคัญ",
    "Mixed 日本語のテキスト and English words about cybercrime policy",
    "+1", "thanks!", "I live in a rural area.", "",
]


def _reference_words(cleaned: str) -> list[str]:
    """The tokeniser as it was before it was shared (the two vectoriser passes' own)."""
    out: list[str] = []
    for w in S._WORD.findall(cleaned.lower()):
        if S._NOSPACE_RUN.match(w):
            out.extend([w] if len(w) < 2 else [w[i:i + 2] for i in range(len(w) - 1)])
        else:
            out.append(w.replace("’", "'"))
    return out


def _reference_terms(text: str) -> list[str]:
    return [S._plural(w) for w in _reference_words(text)
            if w not in S.STOP_WORDS and (len(w) > 1 or S._NOSPACE_RUN.match(w))]


def _reference_bigrams(text: str) -> list[str]:
    t = [w for w in _reference_terms(text) if not S._NOSPACE_RUN.match(w)]
    return [f"{a} {b}" for a, b in zip(t, t[1:], strict=False)]


def _reference_clean(text: str) -> str:
    text = re.sub(r"^\s*>.*$", " ", text, flags=re.MULTILINE)
    text = re.sub(r"https?://\S+|www\.\S+", " ", text, flags=re.IGNORECASE)
    return re.sub(r"<(?:@[!&]?|#|a?:\w+:)\d+>", " ", text)


def test_one_tokenisation_gives_the_features_of_the_two_vectoriser_passes():
    half = S.N_FEATURES // 2
    uni = HashingVectorizer(n_features=half, analyzer=_reference_terms, alternate_sign=False,
                            norm=None, dtype=np.float32)
    bi = HashingVectorizer(n_features=half, analyzer=_reference_bigrams, alternate_sign=False,
                           norm=None, dtype=np.float32)
    texts = TEXTS + [c.text for c in make_corpus(300, 1).comments]
    cleaned = [_reference_clean(t) for t in texts]
    assert [S.clean_text(t) for t in texts] == cleaned
    expected = np.hstack([uni.transform(cleaned).toarray(), bi.transform(cleaned).toarray()])
    cache = FeatureCache()
    rows = cache.featurise(list(enumerate(texts)))
    got = np.zeros_like(expected)
    for r in range(len(texts)):
        a, b = rows.indptr[r], rows.indptr[r + 1]
        got[r, rows.indices[a:b]] = rows.counts[a:b]
    assert (got == expected).all()
    assert (cache.transform(cleaned).toarray() == expected).all()
    # the chatter check and the "about the participant" flag come from the same pass
    chatter = [(f & S.CHATTER_FLAG) > 0 for f in rows.flags.tolist()]
    assert chatter == [S._chatter_words(_reference_words(c)) for c in cleaned]
    assert [(f & S.ABOUT_FLAG) > 0 for f in rows.flags.tolist()] == [
        S.about_the_participant(t) for t in texts]
    # CJK and Thai runs are read as character bigrams
    assert {"网络", "犯罪"} <= set(S._tokens(texts[4])[1])
    # and stored features decode to the very same arrays
    back = S.FeatureRows.from_blobs(rows.ids, rows.content_hash, rows.dup_key, rows.flags,
                                    rows.blobs())
    for field in ("indptr", "indices", "counts", "dup_key", "flags"):
        assert (getattr(back, field) == getattr(rows, field)).all()


@pytest.fixture
async def repo(tmp_path):
    repository = await Repository.open(tmp_path / "features.db")
    yield repository
    await repository.close()


def msg(mid, text, author, minutes=0, edited=None):
    return IncomingMessage(message_id=mid, channel_id=500, author_id=author, content=text,
                           created_at=T0 + timedelta(minutes=minutes), edited_at=edited)


async def topic(repo, n=240, seed=4):
    consultation = await repo.agenda.upsert_consultation(1, "c", "C", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                            title="Tackling cyber crime", summation="s", body="b")
    await repo.agenda.save_place(item.id, channel_id=500)
    texts = [c.text for c in make_corpus(n, seed).comments]
    await repo.discussion.record_new(item.id, [
        (msg(1000 + i, t, 10 + i % 37, i), [], []) for i, t in enumerate(texts)])
    return await repo.agenda.item(item.id), texts


async def stored(repo) -> dict[int, int]:
    """comment id -> stored content hash."""
    async with repo.db.reading() as tx:
        rows = await tx.fetchall("SELECT comment_id, content_hash FROM comment_features")
    return {r[0]: r[1] for r in rows}


async def comment_id(repo, message_id: int) -> int:
    return (await repo.discussion.comment(message_id)).id


def dumped(summary):
    return summary.model_dump_json(), [sorted(t.comment_ids) for t in summary.themes]


@pytest.mark.parametrize("page", [feature_store.PAGE, 7])  # 7: many pages, read ahead
async def test_a_restart_reads_the_stored_features_instead_of_tokenising_again(
        tmp_path, monkeypatch, page):
    monkeypatch.setattr(feature_store, "PAGE", page)
    path = tmp_path / "restart.db"
    repo = await Repository.open(path)
    item, texts = await topic(repo)
    first = InsightService(repo, [AGREE], [DISAGREE])
    assert await first.warm([item]) == len(texts)  # an older database: backfilled
    assert len(await stored(repo)) == len(texts)
    await repo.close()

    repo = await Repository.open(path)  # the bot restarts
    try:
        again = InsightService(repo, [AGREE], [DISAGREE])
        assert await again.warm([item]) == 0
        assert again.features_computed == 0 and again.features_read == len(texts)
        result = await again.summary(item)
        assert again.features_computed == 0
        scratch = summarise(await again.summary_comments(item))  # everything computed afresh
        assert dumped(result.summary) == dumped(scratch)
    finally:
        await repo.close()


async def test_a_summary_stores_what_it_computed_for_the_next_start(repo):
    item, texts = await topic(repo, n=60)
    service = InsightService(repo, [AGREE], [DISAGREE])
    await service.summary(item)  # cold: computed in the request
    assert service.features_computed == len(texts)
    assert await service.persist_features() == len(texts)  # what the writer does next
    assert service.features_computed == len(texts)  # taken from the cache, not recomputed
    await service.close()


async def test_after_a_warm_up_of_every_item_the_writer_walks_only_newer_comments(repo):
    """Warm-up stored the features of every visible comment: the writer's walk for new
    comments starts after them (at a million comments, not one scan of all of them for
    the first new one). A hidden comment is not summarised, so not stored; shown again,
    its features are computed and stored then."""
    item, texts = await topic(repo, n=40)
    await repo.discussion.set_hidden(1005, True, "spam")
    service = InsightService(repo, [AGREE], [DISAGREE])
    await service.warm([item], every_item=True)
    assert len(await stored(repo)) == len(texts) - 1
    await repo.discussion.record(item.id, msg(5000, "A new comment after the start.", 3, 90))
    assert await service.persist_features() == 1  # the new one: the older ones not walked
    assert await comment_id(repo, 5000) in await stored(repo)
    await repo.discussion.set_hidden(1005, False, None)
    await service.summary(await repo.agenda.item(item.id))
    assert await comment_id(repo, 1005) in await stored(repo)
    await service.close()


async def test_edits_deletions_and_erasure_drop_the_stored_features(repo):
    item, texts = await topic(repo, n=120)
    service = InsightService(repo, [AGREE], [DISAGREE])
    await service.warm([item])
    edited, deleted = await comment_id(repo, 1003), await comment_id(repo, 1004)
    erased_author = 10 + 5
    erased = [cid for cid, in [(await comment_id(repo, 1000 + i),) for i in range(len(texts))
                               if 10 + i % 37 == erased_author]]
    before = await stored(repo)
    assert {edited, deleted, *erased} <= set(before)

    new_text = "An edited comment: the 24/7 Network should answer at night in every region."
    await repo.discussion.record(item.id, msg(1003, new_text, 10 + 3, 3,
                                              edited=T0 + timedelta(days=2)))
    await repo.discussion.delete_messages([1004])
    await repo.privacy.erase(erased_author)
    after = await stored(repo)
    assert edited not in after and deleted not in after
    assert not set(erased) & set(after)
    assert len(after) == len(before) - 2 - len(erased)

    # (the erasure's notice has already made this process drop them; the cog also asks)
    await service.drop_derived_data(erased_author)
    assert not (service.features.slots(np.array(erased)) >= 0).any()
    assert (service.features.slots(np.array([edited])) >= 0).all()  # the others' stay
    item = await repo.agenda.item(item.id)
    kept = {c.comment_id for c in await service.summary_comments(item)}
    assert kept and not set(erased) & kept
    item = await repo.agenda.item(item.id)
    await service.warm([item])
    restored = await stored(repo)
    assert restored[edited] == text_hash(new_text)  # computed again, from the new text
    assert deleted not in restored and not set(erased) & set(restored)
    await service.close()


async def test_features_of_a_text_changed_meanwhile_are_not_stored(repo):
    item, texts = await topic(repo, n=20)
    cid = await comment_id(repo, 1000)
    rows = FeatureCache().featurise([(cid, texts[0])])
    await repo.discussion.record(item.id, msg(1000, "Changed before the features were saved.",
                                              10, 0, edited=T0 + timedelta(days=1)))
    blob = rows.blobs()[0]
    saved = await repo.features.save([(item.id, cid, int(rows.content_hash[0]),
                                       int(rows.dup_key[0]), int(rows.flags[0]), blob, texts[0])])
    assert saved == 0 and cid not in await stored(repo)


async def test_a_database_from_before_the_features_table_is_migrated_and_backfilled(tmp_path):
    path = tmp_path / "old.db"
    repo = await Repository.open(path)
    item, texts = await topic(repo, n=50)
    await repo.close()
    files = migration_files()
    before = next(v for v, name, _ in files if name.endswith("_comment_features.sql")) - 1
    with sqlite3.connect(path) as raw:  # the schema as the migration before it left it
        raw.execute("DROP TABLE comment_features")
        for _v, _name, sql in files[before + 1:]:  # and undo the later ones' tables
            for table in re.findall(r"CREATE TABLE (\w+)", sql):
                raw.execute(f"DROP TABLE {table}")
        raw.execute(f"PRAGMA user_version = {before}")
    repo = await Repository.open(path)
    try:
        assert await repo.features.count() == 0
        service = InsightService(repo, [AGREE], [DISAGREE])
        assert await service.warm([item]) == len(texts)
        assert await repo.features.count(item.id) == len(texts)
        await service.close()
    finally:
        await repo.close()


def test_the_big_topic_sort_and_days_are_those_of_sorted_and_date():
    import random
    from operator import attrgetter

    comments = make_corpus(25_000, 2).comments  # above the size sorted in numpy
    random.Random(1).shuffle(comments)
    twin = comments[7]
    comments[3] = S.SummaryComment(twin.comment_id - 1, 1, "a tie on time", twin.created_at, "u")
    ordered, when, columns = S._chronological(comments)
    assert ordered == sorted(comments, key=attrgetter("created_at", "comment_id"))
    # ...and the days counted in numpy from those times are those of date()
    per_day = S._participation(ordered, when)
    assert when is not None and per_day == S._participation(ordered)
    assert sum(n for _, n in per_day.per_day) == len(comments) and len(per_day.per_day) > 1
    # the times storage hands over with the comments (created_us) give the same order
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    given = [c._replace(created_us=(c.created_at - epoch) // timedelta(microseconds=1))
             for c in comments]
    ordered_given, when_given, columns_given = S._chronological(given)
    assert [c.comment_id for c in ordered_given] == [c.comment_id for c in ordered]
    assert when_given.tolist() == when.tolist()
    # ...with each sorted comment's id, author and tally read into one array
    for cols, sorted_ in ((columns, ordered), (columns_given, ordered_given)):
        assert cols.tolist() == [[c.comment_id, c.author_id, *S.tally(c)] for c in sorted_]


def test_the_columns_count_each_persons_latest_vote_when_the_caller_did_not():
    comments = [S.SummaryComment(1, 7, "a", datetime(2026, 1, 1, tzinfo=UTC), "u",
                                 votes=((8, 1), (9, -1), (8, -1), (7, 1))),
                S.SummaryComment(2, 7, "b", datetime(2026, 1, 2, tzinfo=UTC), "u", 3, 1, 2)]
    _, _, columns = S._chronological(comments)
    # voter 8's latest is -1, the author's own vote is left out; stored counts kept as given
    assert columns.tolist() == [[1, 7, 0, 2, 0], [2, 7, 3, 1, 2]]


async def test_the_summary_inputs_carry_the_stored_times(repo):
    item, texts = await topic(repo, n=30)
    service = InsightService(repo, [AGREE], [DISAGREE])
    comments = await service.summary_comments(item)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert len(comments) == len(texts)
    assert all(c.created_us == (c.created_at - epoch) // timedelta(microseconds=1)
               and c.created_at.tzinfo is not None for c in comments)
    await service.close()
