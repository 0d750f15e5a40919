"""Catch-up under faults: nothing said while the bot was down is lost, nothing is invented."""

from __future__ import annotations

import pytest

from bot.emulator import EmulatorForbidden
from bot.runtime.catchup import CatchUp
from tests.e2e.conftest import answer_text, finished

from .conftest import caught_up, eventually, item_by_key, restart, stored_texts

HISTORY = "/channels/{}/messages"


async def test_a_429_storm_and_5xx_on_one_channel_do_not_abort_the_others(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    other = await item_by_key(published, g.id, "willingness-to-act")  # a sub-item thread
    await published.close()
    missed = [await emu.send_message(emulator.pat.id, crime.channel_id, f"Down {n}.")
              for n in range(120)]
    missed_other = [await emu.send_message(emulator.sam.id, other.thread_id, f"Thread {n}.")
                    for n in range(30)]
    # Every history read of the channel is rate limited beyond discord.py's own 5 retries,
    # then the server fails twice: each failure is one HTTPException out of history().
    emu.fail_next("GET", HISTORY.format(crime.channel_id), 429, retry_after=0.01, count=11)
    emu.fail_next("GET", HISTORY.format(crime.channel_id), 503, count=2)

    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    texts = await stored_texts(bot, crime.id)
    assert [m.id for m in missed if texts.get(m.id) == m.content] == [m.id for m in missed]
    texts = await stored_texts(bot, other.id)
    assert all(texts.get(m.id) == m.content for m in missed_other)
    assert not emu.faults  # the faults were all hit: the channel was retried past them


async def test_messages_posted_while_down_survive_live_traffic_at_restart(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    await published.close()
    missed = [await emu.send_message(emulator.sam.id, crime.channel_id, f"Missed {n}.")
              for n in range(300)]
    # Thread discovery is slowed (one 429 of 1 s): live messages arrive before history is read.
    emu.fail_next("GET", r"/channels/\d+/threads/archived/public", 429, retry_after=1.0)
    bot = await restart(emulator, start_client, tmp_path)
    live = [await emu.send_message(emulator.pat.id, crime.channel_id, f"Live {n}.") for n in range(5)]
    await eventually(lambda: bot.repo.discussion.comment(live[-1].id))
    await caught_up(bot)
    texts = await stored_texts(bot, crime.id)
    lost = [m.id for m in missed + live if texts.get(m.id) != m.content]
    assert lost == []
    assert await bot.repo.discussion.gaps() == {}  # the hole was read and closed
    # in sync now: a live message moves the cursor again
    after = await emu.send_message(emulator.pat.id, crime.channel_id, "After catch-up.")

    async def advanced():
        return (await bot.repo.discussion.cursor(crime.channel_id)).last_message_id == after.id
    await eventually(advanced)


async def test_a_failed_catch_up_leaves_a_gap_record_and_a_later_pass_fills_it(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    before = (await published.repo.discussion.cursor(crime.channel_id)).last_message_id
    await published.close()
    missed = [await emu.send_message(emulator.sam.id, crime.channel_id, f"Missed {n}.")
              for n in range(50)]
    emu.fail_next("GET", HISTORY.format(crime.channel_id), 403, count=1)  # this pass gives up
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    live = await emu.send_message(emulator.pat.id, crime.channel_id, "Live while a hole is open.")
    await eventually(lambda: bot.repo.discussion.comment(live.id))
    last_read, first_live = (await bot.repo.discussion.gaps())[crime.channel_id]
    assert last_read == before and first_live <= live.id  # the cursor stayed before the hole
    await emu.invalidate_session(resumable=False)  # a new session: the next pass reads the hole
    await caught_up(bot, runs=2)
    texts = await stored_texts(bot, crime.id)
    assert all(texts.get(m.id) == m.content for m in missed)
    assert await bot.repo.discussion.gaps() == {}


async def test_live_messages_during_catch_up_are_never_tombstoned(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    before = [await emu.send_message(emulator.pat.id, crime.channel_id, f"Before {n}.")
              for n in range(20)]
    await eventually(lambda: published.repo.discussion.comment(before[-1].id))
    await published.close()
    for n in range(150):
        await emu.send_message(emulator.sam.id, crime.channel_id, f"Missed {n}.")
    route = HISTORY.format(crime.channel_id)
    start = len(emu.calls("GET", "/channels/{channel_id}/messages"))
    # History after the cursor takes 2 pages (100 + 50); the re-check of the stored comments
    # one more: it is held 1 s, and a live message arrives meanwhile.
    emu.fail_nth("GET", route, 3, 429, retry_after=1.0)
    bot = await restart(emulator, start_client, tmp_path)

    async def recheck_held():
        return any(r.status == 429 for r in emu.calls("GET", "/channels/{channel_id}/messages")[start:])
    await eventually(recheck_held)
    live = await emu.send_message(emulator.pat.id, crime.channel_id, "Said during catch-up.")
    await eventually(lambda: bot.repo.discussion.comment(live.id))
    await caught_up(bot)
    comment = await bot.repo.discussion.comment(live.id)
    assert comment.deleted_at is None and comment.content == "Said during catch-up."
    kept = [await bot.repo.discussion.comment(m.id) for m in before]
    assert all(c.deleted_at is None for c in kept)
    assert not emu.faults


async def test_a_channel_that_keeps_failing_ends_the_pass_and_keeps_its_gap(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    other = await item_by_key(published, g.id, "international-security")
    await published.close()
    lost_for_now = await emu.send_message(emulator.pat.id, crime.channel_id, "Behind a wall.")
    fine = await emu.send_message(emulator.sam.id, other.channel_id, "Got through.")
    emu.fail_next("GET", HISTORY.format(crime.channel_id), 503, count=1000)
    bot = await restart(emulator, start_client, tmp_path)
    bot.get_cog("DiscussionCog").catchup.max_backoff = 0.05
    await caught_up(bot, timeout=30.0)  # the pass ends instead of retrying forever
    assert (await stored_texts(bot, other.id)).get(fine.id) == fine.content
    assert lost_for_now.id not in await stored_texts(bot, crime.id)
    cursor = await bot.repo.discussion.cursor(crime.channel_id)
    assert cursor.last_message_id < lost_for_now.id  # the gap stays, for the next reconnect


async def test_a_lone_surrogate_while_down_does_not_cost_the_later_messages(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    await published.close()
    # Discord keeps text as UTF-8 and refuses an unpaired surrogate (discord-api-docs#6561),
    # so it never serves one in a history page (a page discord.py could not decode).
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, crime.channel_id, "half an emoji: \ud83d")
    later = [await emu.send_message(emulator.sam.id, crime.channel_id, f"Later {n}.")
             for n in range(30)]
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    texts = await stored_texts(bot, crime.id)
    assert [m.id for m in later if texts.get(m.id) == m.content] == [m.id for m in later]


async def test_a_channel_given_up_is_read_again_later_without_a_new_session(
    emulator, published, start_client, tmp_path, monkeypatch
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    await published.close()
    behind = await emu.send_message(emulator.pat.id, crime.channel_id, "Behind a wall.")
    fault = emu.fail_next("GET", HISTORY.format(crime.channel_id), 503, count=1000)
    monkeypatch.setattr(CatchUp, "max_backoff", 0.05)
    monkeypatch.setattr(CatchUp, "gap_retry", 0.2)
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot, timeout=30.0)
    assert behind.id not in await stored_texts(bot, crime.id)
    general = emu.channel_named(g.id, "general")
    told = await finished(emu, await emu.slash(emulator.pat.id, general.id, "citations",
                                               {"topic": str(crime.id)}))
    assert "1 channel or thread could not be read" in answer_text(told)
    emu.faults.remove(fault)  # the outage ends; no reconnect follows
    await eventually(lambda: bot.repo.discussion.comment(behind.id), timeout=20)
    assert await bot.repo.discussion.gaps() == {}
    assert [op for op, _ in emu.gateway.log].count("IDENTIFY") == 2  # no new session
