"""Fitting export files into Discord's upload limits (bot/core/packaging.py)."""

from __future__ import annotations

import io
import random
import zipfile

from bot.core.packaging import MAX_REQUEST, REQUEST_MARGIN, package

MIB = 1024 * 1024


def test_small_files_go_as_they_are_ten_a_message():
    files = {f"f{n}.csv": b"x" * 100 for n in range(23)}
    packed = package(files, 10 * MIB)
    assert [len(m) for m in packed.messages] == [10, 10, 3] and packed.notes == []
    assert dict(f for m in packed.messages for f in m) == files


def test_a_file_over_the_limit_is_zipped_and_says_so():
    data = b"comment,text\n" + b"1,the same words again\n" * 1_000_000  # 23 MB, compresses well
    packed = package({"comments.csv": data}, 10 * MIB)
    ((name, zipped),) = packed.messages[0]
    assert name == "comments.csv.zip" and len(zipped) <= 10 * MIB
    assert zipfile.ZipFile(io.BytesIO(zipped)).read("comments.csv") == data
    assert "zipped" in packed.notes[0] and "upload limit" in packed.notes[0]


def test_a_zip_still_too_big_comes_in_volumes_and_messages_stay_under_25_mib():
    rng = random.Random(1)
    data = rng.randbytes(12 * MIB)  # does not compress
    packed = package({"comments.json": data, "small.md": b"# hi"}, 8 * MIB)
    names = [n for m in packed.messages for n, _ in m]
    volumes = [n for n in names if n.startswith("comments.json.zip.")]
    assert volumes == ["comments.json.zip.001", "comments.json.zip.002"]
    for message in packed.messages:
        assert len(message) <= 10
        assert sum(len(d) for _, d in message) <= MAX_REQUEST - REQUEST_MARGIN
        assert all(len(d) <= 8 * MIB for _, d in message)
    joined = b"".join(d for m in packed.messages for n, d in m if n in volumes)
    assert zipfile.ZipFile(io.BytesIO(joined)).read("comments.json") == data
    assert "cat comments.json.zip.* > comments.json.zip" in packed.notes[0]
