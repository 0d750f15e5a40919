"""A burst of live messages is stored in group commits: nothing lost, nothing twice, and an
edit or deletion that follows its message at once is still applied after it."""

from __future__ import annotations

from tests.e2e.conftest import eventually, item_by_key


async def test_a_burst_with_edits_and_deletions_is_stored_in_order(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    sub = await item_by_key(bot, g.id, "no-safe-havens")
    posted = []
    for i in range(300):
        place = crime.channel_id if i % 3 else sub.thread_id
        m = await emu.send_message(emulator.pat.id if i % 2 else emulator.sam.id, place,
                                   f"burst {i}")
        posted.append(m)
        if i % 10 == 0:
            await emu.edit_message(m.author_id, m.id, f"burst {i} (edited)")
        if i % 25 == 0:
            await emu.delete_message(m.author_id, m.id)

    def final(i: int) -> str | None:
        if i % 25 == 0:
            return None
        return f"burst {i} (edited)" if i % 10 == 0 else f"burst {i}"

    async def all_there():
        got = [await bot.repo.discussion.comment(m.id) for m in posted]
        return all(c is not None and c.content == final(i) for i, c in enumerate(got))
    await eventually(all_there, timeout=30)
    edited = await bot.repo.discussion.comment(posted[10].id)
    assert [r.content for r in await bot.repo.discussion.revisions(edited.id)] == ["burst 10"]
    in_channel = [i for i in range(300) if i % 3 and i % 25]  # the thread is the sub-item's
    assert (await bot.repo.discussion.counts(crime.id)).comments == len(in_channel)
