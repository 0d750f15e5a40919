"""The database layer under a full disk and alongside a long write: all or nothing,
a clear WriteFailed, and reads that do not wait for the writer."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.storage import Repository
from bot.storage.database import WriteFailed
from tests.unit.test_storage import make_item, message


async def test_a_full_disk_raises_write_failed_and_keeps_nothing_half_written(sqlite_repo):
    repo = sqlite_repo
    item = await make_item(repo)
    await repo.db.vacuum()
    async with repo.db.transaction() as tx:
        (pages,) = await tx.fetchone("PRAGMA page_count")
        await tx.execute(f"PRAGMA max_page_count = {int(pages)}")
    batch = [(message(1000 + i, "words " * 200, channel_id=5), [], []) for i in range(50)]
    with pytest.raises(WriteFailed, match="full"):
        await repo.discussion.record_new(item.id, batch)
    assert (await repo.discussion.counts(item.id)).comments == 0  # not one of the 50
    async with repo.db.transaction() as tx:
        await tx.execute("PRAGMA max_page_count = 2000000000")
    assert await repo.discussion.record_new(item.id, batch) == 50


async def test_reads_do_not_wait_for_an_open_write_transaction(repo):
    item = await make_item(repo)
    await repo.discussion.record_new(item.id, [(message(1, "hello", channel_id=5), [], [])])
    inside = asyncio.Event()
    release = asyncio.Event()

    async def long_write():
        async with repo.db.transaction() as tx:
            await tx.execute("UPDATE meta SET value = value")
            inside.set()
            await release.wait()

    writer = asyncio.create_task(long_write())
    await inside.wait()
    try:
        comment = await asyncio.wait_for(repo.discussion.comment(1), timeout=5)
        assert comment.content == "hello"
    finally:
        release.set()
        await writer


async def test_close_twice_is_harmless(tmp_path):
    r = await Repository.open(tmp_path / "twice.db")
    await r.close()
    await r.close()
    assert not (tmp_path / "twice.db-wal").exists()


async def cancel_at_every_step(r: Repository) -> None:
    """A write and a read, each cancelled after 0, 1, … 11 turns of the event loop: in
    BEGIN, mid-statement, in COMMIT, wherever shutdown finds them."""
    for steps in range(12):
        for call in (lambda n=steps: r.insight.set_meta("k", f"v{n}"),
                     lambda: r.insight.get_meta("k")):
            task = asyncio.create_task(call())
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_tasks_cancelled_mid_transaction_leave_the_connections_usable(tmp_path):
    """Shutdown cancels tasks wherever they are: in BEGIN, mid-write, in COMMIT, mid-read.
    The statement still runs in aiosqlite's thread; nothing may stay open behind it."""
    r = await Repository.open(tmp_path / "cancel.db")
    await cancel_at_every_step(r)
    await r.insight.set_meta("k", "after")
    assert await r.insight.get_meta("k") == "after"  # a read sees the last write
    await r.close()  # the checkpoint is not refused ("database table is locked")
    assert not (tmp_path / "cancel.db-wal").exists()
