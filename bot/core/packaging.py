"""Fitting export files into Discord messages: per-file and per-request upload limits.

Discord takes at most 10 files in one message, each within the server's upload limit
(the interaction's ``attachment_size_limit``: 10 MiB on a server without boosts), and at
most 25 MiB in one request. :func:`package` zips a file that is too big, splits a zip that
is still too big into numbered volumes (``name.zip.001``, ``.002``…, joined again with
``cat name.zip.* > name.zip``), and groups the files into as few messages as the limits
allow. Pure and deterministic.
"""

from __future__ import annotations

import io
import zipfile

from pydantic import BaseModel

MAX_FILES = 10
MAX_REQUEST = 25 * 1024 * 1024
#: Room left in each request for the message's JSON and the multipart framing.
REQUEST_MARGIN = 64 * 1024

__all__ = ["MAX_FILES", "MAX_REQUEST", "Packed", "package"]


class Packed(BaseModel):
    """Export files ready to send: ``messages`` (each a list of (name, bytes)), and one
    line per file that had to be zipped or split, saying what happened."""

    messages: list[list[tuple[str, bytes]]]
    notes: list[str]


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # same bytes every run
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    return buffer.getvalue()


def package(files: dict[str, bytes], per_file: int, *, per_request: int = MAX_REQUEST,
            max_files: int = MAX_FILES) -> Packed:
    """Files (name → bytes) as messages within the limits; see the module docstring."""
    per_file = max(1, min(per_file, per_request - REQUEST_MARGIN))
    budget = per_request - REQUEST_MARGIN
    ready: list[tuple[str, bytes]] = []
    notes: list[str] = []
    for name, data in files.items():
        if len(data) <= per_file:
            ready.append((name, data))
            continue
        zipped = _zip(name, data)
        if len(zipped) <= per_file:
            ready.append((f"{name}.zip", zipped))
            notes.append(f"{name} ({_mb(len(data))}) is over this server's {_mb(per_file)} "
                         f"upload limit, so it is zipped: {name}.zip ({_mb(len(zipped))}).")
            continue
        parts = [zipped[i:i + per_file] for i in range(0, len(zipped), per_file)]
        width = max(3, len(str(len(parts))))
        for n, part in enumerate(parts, start=1):
            ready.append((f"{name}.zip.{n:0{width}d}", part))
        notes.append(f"{name} ({_mb(len(data))}, {_mb(len(zipped))} zipped) is over this "
                     f"server's {_mb(per_file)} upload limit, so it comes in {len(parts)} parts: "
                     f"join them with `cat {name}.zip.* > {name}.zip`, then unzip.")
    messages: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = 0
    for name, data in ready:
        if current and (len(current) >= max_files or size + len(data) > budget):
            messages.append(current)
            current, size = [], 0
        current.append((name, data))
        size += len(data)
    if current:
        messages.append(current)
    return Packed(messages=messages, notes=notes)
