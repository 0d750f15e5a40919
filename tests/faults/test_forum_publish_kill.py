"""`kill -9` during `/agenda publish` of a ``layout = "forum"`` agenda: after a restart and a
publish, there is one forum, one post per item and every bot message in a post is one an item
recorded (as tests/faults/test_publish_kill.py checks for the channel layout)."""

from __future__ import annotations

import random

import pytest

from bot.runtime.client import ConsultationBot

from .conftest import eventually, make_settings
from .test_publish_kill import ITEMS
from .test_publish_kill import agenda as channel_agenda
from .test_publish_kill import bot_calls_of_a_clean_publish as calls_of_a_clean_publish


def agenda() -> str:
    text = channel_agenda().replace("[consultation]\n", '[consultation]\nlayout = "forum"\n', 1)
    # related articles: links written into posts, also into those published before them
    return text.replace('title = "Transport"\n', 'title = "Transport"\nrelated = ["parks"]\n', 1)


async def publish(emu, user_id, channel_id):
    result = await emu.slash(user_id, channel_id, "agenda publish",
                             {"file": emu.upload("kill.toml", agenda().encode())})
    return result


async def bot_calls_of_a_clean_publish(tmp_path) -> int:
    return await calls_of_a_clean_publish(tmp_path, agenda())


def assert_nothing_twice(emu, guild_id: int, bot_user_id: int, items) -> None:
    state = emu.state
    categories = [c for c in state.channels.values()
                  if c.guild_id == guild_id and c.type == 4 and c.name.startswith("Kill Test")]
    assert [c.name for c in categories] == ["Kill Test"]
    (forum,) = [c for c in state.channels.values() if c.parent_id == categories[0].id]
    assert forum.type == 15 and [t["name"] for t in forum.available_tags] == [
        "open", "locked", "closed", "answered"]
    assert {i.channel_id for i in items} == {forum.id}
    posts = emu.threads_of(forum.id)
    assert sorted(t.id for t in posts) == sorted(i.thread_id for i in items)
    by_post = {i.thread_id: i for i in items}
    for post in posts:
        item = by_post[post.id]
        mine = [m.id for m in emu.messages_in(post.id)
                if m.author_id == bot_user_id and not m.deleted and m.type == 0]
        assert mine == item.post_message_ids and mine[0] == post.id
        assert emu.get_message(post.id).embeds[0]["title"] == item.title and item.post_fingerprint
        assert emu.forum_tag_names(post.id) == ["open"]
    transport = next(i for i in items if i.key == "transport")
    parks = next(i for i in items if i.key == "parks")
    assert f"<#{parks.thread_id}>" in (emu.get_message(transport.thread_id).content or "")


@pytest.mark.parametrize("seed", range(16))
async def test_kill_during_forum_publish_leaves_no_duplicates(seed, emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    calls = await bot_calls_of_a_clean_publish(tmp_path)
    rng = random.Random(1000 + seed)
    kill_at, phase = rng.randint(1, calls), rng.choice(["before", "after"])

    bot = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    general = emu.create_text_channel(g.id, "general")
    seen = 0

    def decide(record):
        nonlocal seen
        seen += 1
        return phase if seen == kill_at else None

    emu.kill_bot_on(decide)
    first = await publish(emu, emulator.alice.id, general.id)
    await emu.wait_for(lambda: emu.dead_auth or "Published" in (
        first.message.content if first.message else ""), timeout=60)
    assert emu.dead_auth, f"the publish made fewer than {kill_at} calls"

    restarted = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(restarted, emu)

    async def no_run_left():
        return not await restarted.repo.publishing.unfinished_runs() and not restarted.get_cog(
            "AgendaCog").runs.busy
    await eventually(no_run_left, timeout=60)
    again = await publish(emu, emulator.alice.id, general.id)
    await emu.wait_for(lambda: "Published" in (again.message.content if again.message else ""),
                       timeout=60)
    items = await restarted.repo.agenda.guild_items(g.id)
    assert len(items) == ITEMS
    assert_nothing_twice(emu, g.id, emu.bot_user.id, items)
    assert await restarted.repo.publishing.intents() == []
