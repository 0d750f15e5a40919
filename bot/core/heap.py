"""The process's memory: freed heap given back to the system after big work (glibc keeps
it), and long-lived objects kept out of the cyclic garbage collector's full passes.

A summary of a 500k-comment topic, or a warm-up on a million comments, allocates and frees
hundreds of MB of numpy arrays and row tuples. glibc serves most of them from its heap once
its mmap threshold has risen (it does after the first large free), and keeps the freed pages
resident: about 50 MB after a 1M warm-up and 90 MB after each such summary, memory the process
never uses again (measured in-process, README "National scale"). ``malloc_trim`` returns
them in a few milliseconds. Fixing the threshold instead (every large array in its own
mapping) was tried: it cost a second of page faults per summary on this machine.

The collector's full pass walks every tracked object of the process, in whichever thread
allocates, holding the GIL: after the bot's imports and cogs (about 200k objects) one pass
took 90-100 ms, 125-165 ms on a busy machine, the worst event-loop stalls of a restart's
catch-up at 1M comments (bench/scale.py). Those objects live as long as the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import cache


@cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def give_back_freed_memory() -> bool:
    """Return the heap's free pages to the system (glibc on Linux; elsewhere nothing is done).
    Blocking for a few ms on a large heap (ctypes lets go of the GIL meanwhile): call it
    from a worker thread. Returns whether anything was given back."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def settle_long_lived() -> int:
    """Collect once, then freeze what is left (gc.freeze): the objects that exist now (the
    modules, the cogs, their caches) are never walked again by the collector's passes;
    later ones still are, and reference counting still frees anything. Call it once the
    process is set up, before it answers anyone (the collection itself takes a full pass).
    Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def release_long_lived() -> None:
    """Undo :func:`settle_long_lived` (and the warm-up's freezes): the collector walks every
    object again, so that what a closed bot leaves behind in a process that goes on (a test
    run) can be freed."""
    gc.unfreeze()
