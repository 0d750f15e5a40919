"""The stored form of a comment's features (bot.core.feature_codec) and the conversion of
databases written in the first one (a uint32 per term, 64-bit text hashes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.summary_quality import load_polis
from bot.core import feature_codec as codec
from bot.core import insight
from bot.core.insight import InsightService
from bot.core.summary import (
    FEATURES_VERSION,
    UINT32_FEATURES_VERSION,
    FeatureCache,
    stable_hash,
    text_hash,
)
from bot.storage import Repository
from tests.unit.test_features import AGREE, DISAGREE, topic

POLIS = Path(__file__).resolve().parents[1] / "data" / "polis"


def random_rows(rng: np.random.Generator, n: int):
    lens = rng.integers(0, 40, n)
    lens[::7] = 0  # empty rows (a comment of links only)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    indices, counts = [], []
    for size in lens.tolist():
        cols = np.sort(rng.choice(1 << 24, size, replace=False))
        if size:
            cols[0] = rng.choice([0, cols[0]])  # column 0 too
        indices.append(cols)
        counts.append(np.where(rng.random(size) < 0.05, rng.integers(2, 256, size), 1))
    return (indptr, np.concatenate(indices).astype(np.int32),
            np.concatenate(counts).astype(np.uint8))


def test_rows_come_back_as_they_went_in():
    rng = np.random.default_rng(3)
    indptr, indices, counts = random_rows(rng, 3000)
    filled = next(r for r in range(3000) if indptr[r + 1] > indptr[r])
    indices[indptr[filled + 1] - 1] = (1 << 24) - 1  # the highest column
    blobs = codec.encode_rows(indptr, indices, counts)
    assert len(blobs) == 3000 and all(blobs[r] == b"" for r in range(0, 3000, 7))
    back = codec.decode(blobs)
    for got, want in zip(back, (indptr, indices, counts), strict=True):
        assert got.dtype == want.dtype and (got == want).all()
    # a row alone decodes as it does among others
    assert (codec.decode([blobs[5]])[1] == indices[indptr[5]:indptr[6]]).all()
    assert [a.tolist() for a in codec.decode([])] == [[0], [], []]


def test_real_comments_take_about_half_the_bytes_of_the_first_format():
    texts = [c.text for name in sorted(p.name for p in POLIS.iterdir() if p.is_dir())
             for c in load_polis(POLIS / name)]
    rows = FeatureCache().featurise(list(enumerate(texts)))
    blobs = rows.blobs()
    terms, stored = len(rows.indices), sum(map(len, blobs))
    assert len(texts) > 1000 and terms > 10 * len(texts)
    assert stored / terms < 2.4  # the first format took 4
    back = codec.decode(blobs)
    assert (back[0] == rows.indptr).all() and (back[1] == rows.indices).all()
    assert (back[2] == rows.counts).all()


@pytest.mark.parametrize("blob, problem", [
    (b"\x05\x00\x01", "whole number of 16-bit units"),
    (b"\x05\x00\x01\x80", "ends inside a long gap"),
    (b"\x00\x00\x03\x00", "starts with a repeat"),
    (b"\x01\x00" + b"\x00\x00" * 255, "more than 255 times"),
])
def test_a_damaged_blob_is_refused(blob, problem):
    with pytest.raises(ValueError, match=problem):
        codec.decode([b"\x05\x00", blob])


def test_long_gaps_whose_low_half_has_the_top_bit_set_are_read_as_one_gap():
    # gaps of 2**15 + 2**15 - 1 (low half 0xFFFF) back to back, then a short one
    cols = np.cumsum([0xFFFF + 1, 0x18000, 0x1FFFF, 3]) - 1
    blobs = codec.encode_rows(np.array([0, 4]), cols, np.array([1, 1, 2, 1]))
    assert len(blobs[0]) == 2 * (2 + 2 + 2 + 1 + 1)
    _, indices, counts = codec.decode(blobs)
    assert indices.tolist() == cols.tolist() and counts.tolist() == [1, 1, 2, 1]


def test_unsorted_or_uncounted_columns_are_not_written():
    with pytest.raises(ValueError, match="sorted"):
        codec.encode(np.array([0, 2]), np.array([9, 3]), np.array([1, 1]))
    with pytest.raises(ValueError, match="sorted"):
        codec.encode(np.array([0, 1]), np.array([9]), np.array([0]))


def test_the_kept_text_hash_is_the_low_half_of_the_first_one():
    texts = ["", "Cyber crime should be reported in one place.", "网络犯罪", "\ud800 odd"]
    assert codec.low_32_bits(np.array([stable_hash(t) for t in texts])).tolist() == [
        text_hash(t) for t in texts]


def uint32_blob(indices, counts) -> bytes:
    return (indices.astype("<u4") | (counts.astype("<u4") << 24)).tobytes()


async def stored_rows(repo) -> list[tuple]:
    async with repo.db.reading() as tx:
        return await tx.fetchall("SELECT comment_id, content_hash, dup_key, flags, features "
                                 "FROM comment_features ORDER BY comment_id")


async def meta(repo, key):
    async with repo.db.reading() as tx:
        row = await tx.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
    return row[0] if row else None


async def test_a_database_of_the_first_format_is_converted_not_computed_again(
        database_target, monkeypatch):
    """Features stored by the previous version (uint32 blobs, 64-bit hashes) are rewritten in
    place, a page per transaction, resuming where an interrupted conversion stopped; nothing
    is featurised again and every row reads back as the text's features."""
    repo = await Repository.open(database_target)
    try:
        item, texts = await topic(repo, n=60)
        async with repo.db.reading() as tx:
            comments = await tx.fetchall("SELECT id, content FROM comments ORDER BY id")
        fresh = FeatureCache().featurise([(cid, text) for cid, text in comments])
        old = []
        for r, (cid, text) in enumerate(comments):
            a, b = fresh.indptr[r], fresh.indptr[r + 1]
            old.append((item.id, cid, stable_hash(text), int(fresh.dup_key[r]),
                        int(fresh.flags[r]), uint32_blob(fresh.indices[a:b], fresh.counts[a:b]),
                        text))
        assert await repo.features.save(old) == len(texts)
        await repo.features.set_version(UINT32_FEATURES_VERSION)
        before = sum(len(r[4]) for r in await stored_rows(repo))

        # a conversion stopped after its first page (the process was killed) ...
        monkeypatch.setattr(insight, "FEATURE_CONVERT_PAGE", 25)
        assert await repo.features.convert_page(UINT32_FEATURES_VERSION, FEATURES_VERSION,
                                                codec.from_uint32_rows, 25) == 25
        assert await meta(repo, "features_version") == UINT32_FEATURES_VERSION
        assert await meta(repo, "features_converted") is not None

        # ... is finished by the next start, before any stored row is read
        service = InsightService(repo, [AGREE], [DISAGREE])
        await service.warm([item])
        assert service.features_computed == 0 and service.features_read == len(texts)
        assert await meta(repo, "features_version") == FEATURES_VERSION
        assert await meta(repo, "features_converted") is None
        rows = await stored_rows(repo)
        assert [r[1] for r in rows] == [text_hash(text) for _, text in comments]
        assert sum(len(r[4]) for r in rows) < 0.7 * before
        back = codec.decode([r[4] for r in rows])
        assert (back[0] == fresh.indptr).all() and (back[1] == fresh.indices).all()
        assert (back[2] == fresh.counts).all()
        assert [r[2] for r in rows] == fresh.dup_key.tolist()
        # the cache holds them as computed (the summary reads what featurise would give)
        kept = service.features.take(fresh.ids)
        assert (kept.indices == fresh.indices).all() and (kept.content_hash == [
            text_hash(t) for _, t in comments]).all()
        # a second conversion finds nothing to do
        assert await repo.features.convert_page(UINT32_FEATURES_VERSION, FEATURES_VERSION,
                                                codec.from_uint32_rows) == 0
        await service.close()
    finally:
        await repo.close()
