"""Changes made while the bot was down to older comments, and commands during catch-up
(#11 items 4 and 6)."""

from __future__ import annotations

import logging

from bot.runtime.catchup import CatchUp
from tests.e2e.conftest import answer_files, answer_text, finished

from .conftest import caught_up, eventually, item_by_key, restart, stored_texts

HISTORY = "/channels/{}/messages"


async def _stored_comments(emu, bot, user_id, channel_id, n):
    sent = [await emu.send_message(user_id, channel_id, f"Comment {k}.") for k in range(n)]
    await eventually(lambda: bot.repo.discussion.comment(sent[-1].id))
    return sent


async def test_changes_while_down_to_comments_older_than_500_messages_are_applied(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    sent = await _stored_comments(emu, published, emulator.pat.id, crime.channel_id, 700)
    await published.close()
    edited, deleted, liked = sent[10], sent[20], sent[30]  # 690, 680, 670 messages back
    await emu.edit_message(emulator.pat.id, edited.id, "Comment 10, edited while down.")
    await emu.delete_message(emulator.pat.id, deleted.id)
    await emu.add_reaction(emulator.sam.id, liked.id, "👍")
    newer = [await emu.send_message(emulator.sam.id, crime.channel_id, f"New {k}.")
             for k in range(50)]
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    repo = bot.repo.discussion
    assert (await repo.comment(edited.id)).content == "Comment 10, edited while down."
    gone = await repo.comment(deleted.id)
    assert gone.deleted_at is not None and gone.content is None
    counts = await repo.reaction_counts(crime.id, ["👍"], [])
    assert counts.get((await repo.comment(liked.id)).id) == (1, 0)
    texts = await stored_texts(bot, crime.id)
    assert all(texts.get(m.id) == m.content for m in newer)
    assert await repo.unverified(crime.id) == (0, None)  # every stored comment was re-checked


async def test_what_the_bounded_recheck_cannot_reach_is_recorded_and_shown(
    emulator, published, start_client, tmp_path, monkeypatch, caplog
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    sent = await _stored_comments(emu, published, emulator.pat.id, crime.channel_id, 300)
    await published.close()
    await emu.delete_message(emulator.pat.id, sent[10].id)  # beyond the re-check's reach
    await emu.delete_message(emulator.pat.id, sent[290].id)  # within it
    monkeypatch.setattr(CatchUp, "recheck_pages", 2)  # 200 messages a channel
    with caplog.at_level(logging.WARNING, logger="bot.runtime.catchup"):
        bot = await restart(emulator, start_client, tmp_path)
        await caught_up(bot)
    repo = bot.repo.discussion
    assert (await repo.comment(sent[290].id)).deleted_at is not None
    # Not known to be deleted, so still served, but said: 100 comments were not re-checked
    # (the 2 pages reached back 200 messages: 199 comments and one deleted).
    assert (await repo.comment(sent[10].id)).deleted_at is None
    count, before = await repo.unverified(crime.id)
    assert count == 99 and sent[98].id < before <= sent[100].id
    assert "not re-checked" in caplog.text
    about = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "about"))
    assert "99 comments posted before" in answer_text(about)
    export = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id, "export",
                                                 {"format": "md"}))
    (report,) = [data for name, data in answer_files(export).items() if name.endswith(".md")]
    assert "99 comments posted before" in report.decode()


async def test_comments_older_than_the_recheck_window_are_recorded_not_verified(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    old = await _stored_comments(emu, published, emulator.pat.id, crime.channel_id, 3)
    emu.advance_time(3 * 24 * 3600)  # three days of quiet, then one more comment
    recent = await _stored_comments(emu, published, emulator.sam.id, crime.channel_id, 1)
    await published.close()
    await emu.delete_message(emulator.pat.id, old[0].id)
    await emu.delete_message(emulator.sam.id, recent[0].id)
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    repo = bot.repo.discussion
    assert (await repo.comment(recent[0].id)).deleted_at is not None
    assert (await repo.unverified(crime.id))[0] == 3  # the three old ones (one deleted meanwhile)


async def test_an_export_right_after_a_reconnect_waits_for_catch_up(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    doomed = (await _stored_comments(emu, published, emulator.pat.id, crime.channel_id, 1))[0]
    await published.close()
    await emu.delete_message(emulator.pat.id, doomed.id)
    # catch-up's re-check of that channel is held back 1.5 s by a rate limit
    emu.fail_next("GET", HISTORY.format(crime.channel_id), 429, retry_after=1.5)
    bot = await restart(emulator, start_client, tmp_path)
    export = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id, "export",
                                                 {"format": "json"}, timeout=20), timeout=20)
    files = answer_files(export)
    assert files and all(b"Comment 0." not in data for data in files.values())
    assert "still catching up" not in answer_text(export)
    assert bot.get_cog("DiscussionCog").catchup.runs == 1


async def test_a_command_says_so_when_catch_up_outlasts_its_wait(
    emulator, published, start_client, tmp_path, monkeypatch
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    await _stored_comments(emu, published, emulator.pat.id, crime.channel_id, 1)
    await published.close()
    monkeypatch.setattr(CatchUp, "settle_timeout", 0.2)
    emu.fail_next("GET", HISTORY.format(crime.channel_id), 429, retry_after=3.0)
    bot = await restart(emulator, start_client, tmp_path)
    result = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "citations"))
    assert "still catching up" in answer_text(result)
    await caught_up(bot)
    again = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "citations"))
    assert "still catching up" not in answer_text(again)
