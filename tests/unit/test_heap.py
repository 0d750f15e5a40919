"""bot.core.heap: freed heap pages really go back to the system (glibc on Linux)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.core.heap import give_back_freed_memory


def resident_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_blocks_kept_by_the_heap_are_given_back():
    # 3,000 blocks of 64 KiB: below glibc's mmap threshold, so they come from the heap; one
    # block allocated after them stays, so free() cannot shrink the heap from its top
    blocks = [bytearray(64 * 1024) for _ in range(3000)]
    for b in blocks:
        b[::4096] = b"\x01" * len(b[::4096])  # touched: resident
    keep = bytearray(64 * 1024)
    before = resident_kb()
    del blocks
    kept = resident_kb()
    assert give_back_freed_memory()
    after = resident_kb()
    assert kept - after > 100_000, (before, kept, after)  # most of the ~190 MB
    assert keep  # (held until here)


def test_objects_alive_when_settled_are_out_of_the_collectors_passes():
    import gc

    from bot.core.heap import release_long_lived, settle_long_lived

    kept = [[i] for i in range(200_000)]  # containers the collector tracks (lists always)
    try:
        walked_before = len(gc.get_objects())  # what a full pass walks
        assert settle_long_lived() >= len(kept)
        walked_after = len(gc.get_objects())
        assert walked_before - walked_after >= len(kept), (walked_before, walked_after)
        assert kept[-1] == [199_999]  # frozen objects are as they were
        release_long_lived()  # (a closed bot's): walked, and so freeable, again
        assert len(gc.get_objects()) - walked_after >= len(kept)
    finally:
        gc.unfreeze()
