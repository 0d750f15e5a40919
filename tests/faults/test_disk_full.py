"""A database that cannot be written at run time (issue #11, item 5).

The disk is "full" for real: SQLite's max_page_count pragma, set on the bot's own writer
connection to the file's current size, makes every write that needs a new page fail with
SQLITE_FULL ("database or disk is full"), exactly as a full disk does. Raising the limit
again is space coming back.
"""

from __future__ import annotations

import logging

from tests.faults.conftest import eventually, item_by_key

TOPIC = "tackling-cyber-crime"
LOTS = 2_000_000_000


async def disk_full(bot) -> None:
    await bot.repo.db.vacuum()  # no free pages left inside the file either
    async with bot.repo.db.transaction() as tx:
        (pages,) = await tx.fetchone("PRAGMA page_count")
        await tx.execute(f"PRAGMA max_page_count = {int(pages)}")


async def space_returns(bot) -> None:
    async with bot.repo.db.transaction() as tx:
        await tx.execute(f"PRAGMA max_page_count = {LOTS}")


def text(i: int) -> str:
    return f"comment number {i}: " + "the ring road and the river crossing " * 12


async def post_until_a_write_fails(emu, bot, user_id: int, channel_id: int) -> list:
    """Post until the bot cannot store one; returns everything posted (the last is kept)."""
    posted = []
    for i in range(500):
        m = await emu.send_message(user_id, channel_id, text(i))
        posted.append(m)

        async def handled(m=m):
            return bot.writes.pending > 0 or await bot.repo.discussion.comment(m.id)
        await eventually(handled)
        if bot.writes.pending:
            return posted
    raise AssertionError("the database never filled up")


async def test_writes_refused_by_a_full_disk_are_kept_and_stored_when_space_returns(
        emulator, published, caplog):
    emu, bot, g = emulator.emu, published, emulator.guild
    bot.writes.backoff, bot.writes.max_backoff = 0.02, 0.1
    crime = await item_by_key(bot, g.id, TOPIC)
    early = await emu.send_message(emulator.sam.id, crime.channel_id, "Written before the disk filled.")

    async def stored_early():
        return await bot.repo.discussion.comment(early.id)
    await eventually(stored_early)

    await disk_full(bot)
    caplog.set_level(logging.INFO)
    posted = await post_until_a_write_fails(emu, bot, emulator.pat.id, crime.channel_id)
    first_kept = len(posted) - 1
    for i in range(len(posted), len(posted) + 30):
        posted.append(await emu.send_message(emulator.pat.id, crime.channel_id, text(i)))
    await emu.edit_message(emulator.sam.id, early.id, "Edited while the disk was full.")
    await emu.add_reaction(emulator.sam.id, posted[-1].id, "👍")
    await emu.delete_message(emulator.pat.id, posted[-2].id)
    expected_pending = (len(posted) - first_kept) + 3  # messages, the edit, reaction, deletion

    async def all_kept():
        return bot.writes.pending == expected_pending
    await eventually(all_kept)
    assert caplog.text.count("DATABASE WRITE FAILED") == 1  # loudly, once for the episode
    # Commands that only read still answer while the disk is full.
    about = await emu.slash(emulator.pat.id, crime.channel_id, "about")
    await about.wait_done()
    assert "went wrong" not in (about.message.content or "")

    await space_returns(bot)

    async def drained():
        return bot.writes.pending == 0 and not bot.writes.failing
    await eventually(drained, timeout=20)
    for m in posted[:-2] + posted[-1:]:
        c = await bot.repo.discussion.comment(m.id)
        assert c is not None and c.content == m.content, m.id
    assert (await bot.repo.discussion.comment(posted[-2].id)).content is None  # deleted
    assert (await bot.repo.discussion.comment(early.id)).content == "Edited while the disk was full."
    tally = await bot.repo.discussion.reaction_tally([posted[-1].id])
    assert tally == {posted[-1].id: {"👍": 1}}
    counts = await bot.repo.discussion.counts(crime.id)
    assert counts.comments == len(posted) - 1 + 1  # all but the deleted one, plus `early`
    assert caplog.text.count("database writable again") == 1


async def test_an_overflowing_queue_is_recovered_by_catch_up(emulator, published, caplog):
    """More events than the queue holds: the oldest are dropped, and the catch-up that runs
    when the database is writable again reads them back from Discord's history."""
    emu, bot, g = emulator.emu, published, emulator.guild
    bot.writes.backoff, bot.writes.max_backoff = 0.02, 0.1
    bot.writes.limit = 5
    bot.get_cog("DiscussionCog").catchup.backoff = 0.05
    crime = await item_by_key(bot, g.id, TOPIC)
    runs_before = bot.get_cog("DiscussionCog").catchup.runs

    await disk_full(bot)
    caplog.set_level(logging.INFO)
    posted = await post_until_a_write_fails(emu, bot, emulator.pat.id, crime.channel_id)
    for i in range(len(posted), len(posted) + 20):
        posted.append(await emu.send_message(emulator.pat.id, crime.channel_id, text(i)))

    async def overflowed():
        return bot.writes.dropped >= 16 and bot.writes.pending == 5
    await eventually(overflowed)
    assert "the retry queue is full" in caplog.text

    await space_returns(bot)

    async def all_stored():
        if bot.get_cog("DiscussionCog").catchup.runs <= runs_before:
            return False
        return all([await bot.repo.discussion.comment(m.id) for m in posted])
    await eventually(all_stored, timeout=30)
    for m in posted:
        assert (await bot.repo.discussion.comment(m.id)).content == m.content
    assert (await bot.repo.discussion.counts(crime.id)).comments == len(posted)
