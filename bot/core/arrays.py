"""numpy helpers shared by the summary engine, the topic map and the insight service.

numpy 2.3 and later answer ``np.unique(a)`` (no index, inverse or counts asked for) with a
hash table that holds the GIL for the whole call: 0.2-0.46 s on the 0.5-1.3M snowflake ids
of a 500k-comment topic's authors or voters, during which the event loop cannot run (the
summary runs in a worker thread, but only one thread runs Python at a time). Sorting lets
go of the GIL and takes 29-101 ms on the same arrays (numpy 2.4, this machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain

import numpy as np

SLICE = 20_000  # items per C-level pass over Python objects (each holds the GIL: keep it short)


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d array (``np.unique(values)``, by sorting)."""
    ordered = np.sort(np.asarray(values).reshape(-1))
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def count_distinct(values: np.ndarray) -> int:
    """How many distinct values a 1-d array holds."""
    return len(distinct(values))


def gathered(items: Sequence, read: Callable, dtype, width: int = 1) -> np.ndarray:
    """``read(item)`` of each item (``width`` values each when width > 1) as one array,
    made SLICE items at a time: a pass over each item in bytecode costs about a second per
    field on a million, one C-level pass over all of them would hold the GIL (the event
    loop waiting) throughout."""
    out = np.empty(len(items) * width, dtype=dtype)
    for start in range(0, len(items), SLICE):
        part = items[start:start + SLICE]
        values = chain.from_iterable(map(read, part)) if width > 1 else map(read, part)
        out[start * width:(start + len(part)) * width] = np.fromiter(
            values, dtype=dtype, count=len(part) * width)
    return out
