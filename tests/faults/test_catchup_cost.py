"""What catch-up costs on Discord, counted in the emulator's request log (#13 item 8)."""

from __future__ import annotations

import math

from .conftest import caught_up, eventually, item_by_key, restart, stored_texts

HISTORY = "/channels/{channel_id}/messages"
REACTION_USERS = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"


def gets_since(emu, start: int) -> list:
    return [r for r in emu.requests[start:] if r.method == "GET"]


async def test_a_resume_costs_no_catch_up_request(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    await caught_up(bot)
    start = len(emu.requests)
    emu.hold_gateway()
    await emu.close_gateway(4000)  # discord.py RESUMEs: Discord replays what was missed
    await emu.wait_disconnected()
    missed = await emu.send_message(emulator.pat.id, crime.channel_id, "Said during the blip.")
    emu.release_gateway()
    await emu.wait_connected()
    assert emu.gateway.log[-1][0] == "RESUME"
    live = await emu.send_message(emulator.sam.id, crime.channel_id, "After the resume.")

    async def in_order():  # both stored, and the cursor moved on (no hole to read)
        cursor = await bot.repo.discussion.cursor(crime.channel_id)
        texts = await stored_texts(bot, crime.id)
        return cursor.last_message_id == live.id and missed.id in texts and live.id in texts
    await eventually(in_order)
    assert gets_since(emu, start) == []
    assert bot.get_cog("DiscussionCog").catchup.runs == 1


async def test_a_restart_after_1000_missed_messages_reads_about_10_pages(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    top_level = [i for i in await published.repo.agenda.guild_items(g.id) if i.parent_id is None]
    await published.close()
    missed = [await emu.send_message(emulator.sam.id, crime.channel_id, f"Missed {n}.")
              for n in range(1000)]
    start = len(emu.requests)
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    texts = await stored_texts(bot, crime.id)
    assert all(texts.get(m.id) == m.content for m in missed)
    gets = gets_since(emu, start)
    pages = [r for r in gets if r.route == HISTORY and r.path.endswith(f"/{crime.channel_id}/messages")]
    # 10 full pages: the read stops at the channel's newest id (no empty 11th page), and
    # no stored comment of the channel lies in the re-check window
    assert len(pages) <= math.ceil(1000 / 100)
    # the constant: one archived-thread listing per item channel, and a few others at most
    catchup_gets = [r for r in gets if r.route != "/oauth2/applications/@me"]  # login
    assert len(catchup_gets) <= len(pages) + len(top_level) + 1, [r.path for r in catchup_gets]


async def test_reaction_users_are_fetched_only_when_counts_changed(
    emulator, published, start_client, tmp_path
):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    post = await emu.send_message(emulator.pat.id, crime.channel_id, "Super or not.")
    await eventually(lambda: published.repo.discussion.comment(post.id))
    await published.close()
    await emu.add_reaction(emulator.sam.id, post.id, "👍")
    await emu.add_reaction(emulator.alice.id, post.id, "👍", burst=True)  # a super reaction
    bot = await restart(emulator, start_client, tmp_path)
    await caught_up(bot)
    comment = await bot.repo.discussion.comment(post.id)
    assert (await bot.repo.discussion.reaction_counts(crime.id, ["👍"], []))[comment.id] == (2, 0)
    await bot.close()
    start = len(emu.requests)
    again = await restart(emulator, start_client, tmp_path)
    await caught_up(again)
    assert [r.path for r in emu.requests[start:] if r.route == REACTION_USERS] == []
