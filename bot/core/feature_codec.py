"""The bytes a comment's hashed features are stored as (``FeatureStore``, one blob a comment).

A row's distinct columns, sorted, are written as the gap from the column before (the first
from -1, so a gap is never 0) in little-endian 16-bit units: a gap below 2**15 is one unit;
a larger one two, the first with its top bit set and the gap's high bits, the second its low
16. A column counted ``c`` times is followed by ``c - 1`` zero units. With 2**18 columns a
comment's gaps are mostly below 2**15: on real text about 2.2 bytes a term instead of the 4
of the first format (a little-endian uint32 per term: column | count << 24), which
:func:`decode_uint32` still reads, to convert databases written with it (issue 17: storage
per comment at a million comments).

Both directions are whole-array numpy operations: no Python step per comment or per term.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: the first format: hashed column in the low 24 bits of a uint32, its count above
_COUNT_SHIFT = 24
_INDEX_MASK = (1 << _COUNT_SHIFT) - 1
_LONG = 0x8000  # top bit of a unit: the first of a two-unit gap


def encode(indptr: np.ndarray, indices: np.ndarray,
           counts: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Rows (``indices[indptr[r]:indptr[r + 1]]`` sorted and distinct within a row, each
    with its ``counts`` of 1 to 255) as one byte string and each row's byte bounds in it
    (``len(indptr)`` offsets): row ``r`` is ``raw[bounds[r]:bounds[r + 1]]``."""
    indptr = np.asarray(indptr, dtype=np.int64)
    cols = np.asarray(indices, dtype=np.int64)
    reps = np.asarray(counts, dtype=np.int64)
    lens = np.diff(indptr)
    gaps = cols.copy()
    gaps[1:] -= cols[:-1]
    firsts = indptr[:-1][lens > 0]
    gaps[firsts] = cols[firsts] + 1
    if len(gaps) and (gaps.min() < 1 or reps.min() < 1 or cols.max() > _INDEX_MASK):
        raise ValueError("columns must be sorted, distinct, below 2**24, counted at least once")
    long = gaps >= _LONG
    term_units = 1 + long + reps - 1  # the gap, then a zero unit per repeat
    ends = np.cumsum(term_units)
    starts = ends - term_units
    out = np.zeros(int(ends[-1]) if len(ends) else 0, dtype="<u2")
    out[starts] = np.where(long, _LONG | (gaps >> 16), gaps)
    out[starts[long] + 1] = gaps[long] & 0xFFFF
    bounds = np.concatenate([[0], ends])[indptr] * 2
    return out.tobytes(), bounds


def encode_rows(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray) -> list[bytes]:
    """:func:`encode`, one ``bytes`` per row."""
    raw, bounds = encode(indptr, indices, counts)
    edges = bounds.tolist()
    return [raw[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def decode(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows written by :func:`encode` back to ``(indptr, indices, counts)``: int64, int32
    and uint8 arrays."""
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    if (sizes % 2).any():
        raise ValueError("a features blob is not a whole number of 16-bit units")
    units = np.frombuffer(b"".join(blobs), dtype="<u2").astype(np.int32)
    row_ends = np.cumsum(sizes // 2)
    long = units >= _LONG
    # a unit is the low half of a long gap if the one before starts a long gap; a low half
    # may have its top bit set too, so that is settled from the left, a step a round
    second = np.zeros(len(units), dtype=bool)
    second[1:] = long[:-1]
    while True:
        settled = second.copy()
        settled[1:] = long[:-1] & ~second[:-1]
        if (settled == second).all():
            break
        second = settled
    starts = ~second
    if (long & starts)[row_ends[sizes > 0] - 1].any():
        raise ValueError("a features blob ends inside a long gap")
    values = np.where(long, ((units & 0x7FFF) << 16) | np.roll(units, -1), units)[starts]
    gaps_before = np.concatenate([[0], np.cumsum(starts)])
    ptr = gaps_before[np.concatenate([[0], row_ends])]  # gaps before each row
    if (values[ptr[:-1][np.diff(ptr) > 0]] == 0).any():
        raise ValueError("a features blob starts with a repeat")
    new = np.flatnonzero(values)  # gaps that start a column (a 0 repeats the one before)
    tptr = np.searchsorted(new, ptr, side="left")  # columns before each row
    running = np.cumsum(values[new], dtype=np.int64)
    base = np.zeros(len(blobs), dtype=np.int64)
    inner = tptr[:-1] > 0
    base[inner] = running[tptr[:-1][inner] - 1]
    running -= np.repeat(base + 1, np.diff(tptr))
    counts = np.diff(new, append=len(values))
    if len(counts) and counts.max() > 255:
        raise ValueError("a term counted more than 255 times")
    return tptr, running.astype(np.int32), counts.astype(np.uint8)


def decode_uint32(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the first format (a little-endian uint32 per term) to ``(indptr, indices,
    counts)``: what converting a database written with it reads."""
    lens = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // 4
    indptr = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    packed = np.frombuffer(b"".join(blobs), dtype="<u4")
    return (indptr, (packed & _INDEX_MASK).astype(np.int32),
            (packed >> _COUNT_SHIFT).astype(np.uint8))


def low_32_bits(hashes: np.ndarray) -> np.ndarray:
    """64-bit text hashes of the first format as the 32-bit ones kept now (the same digest's
    first four bytes, signed): see ``bot.core.summary.text_hash``."""
    return np.asarray(hashes, dtype=np.int64).astype(np.uint32).view(np.int32).astype(np.int64)


def from_uint32_rows(rows: Sequence[tuple]) -> list[tuple[int, bytes]]:
    """Stored rows of the first format, (item id, comment id, 64-bit content hash, uint32
    blob), as (32-bit content hash, blob) of this one: a database's conversion step."""
    hashes = low_32_bits(np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows)))
    blobs = encode_rows(*decode_uint32([r[3] for r in rows]))
    return list(zip(hashes.tolist(), blobs, strict=True))
