"""The real discord.py client receives each gateway event type the emulator produces."""

import aiohttp
import discord
import pytest

from bot.emulator import EmulatorForbidden
from bot.emulator.errors import ApiError

from .bots import EmuBot


def seen(env, name, n=1):
    return lambda: len(env.bot.seen[name]) >= n


async def test_message_create_edit_delete(env):
    emu, bot = env.emu, env.bot
    m = await emu.send_message(env.alice.id, env.chan.id, f"hello <@{env.pat.id}>")
    await emu.wait_for(seen(env, "message"))
    got = bot.seen["message"][0]
    assert got.id == m.id and got.content == m.content
    assert got.author.id == env.alice.id and isinstance(got.author, discord.Member)
    assert got.channel.id == env.chan.id
    assert [u.id for u in got.mentions] == [env.pat.id]

    await emu.edit_message(env.alice.id, m.id, "hello again")
    await emu.wait_for(seen(env, "message_edit"))
    before, after = bot.seen["message_edit"][0]
    assert before.content.startswith("hello <@") and after.content == "hello again"
    assert after.edited_at is not None

    await emu.delete_message(env.alice.id, m.id)
    await emu.wait_for(seen(env, "raw_message_delete"))
    assert bot.seen["raw_message_delete"][0].message_id == m.id
    assert emu.messages_in(env.chan.id) == []


async def test_reply_and_bulk_delete(env):
    emu, bot = env.emu, env.bot
    a = await emu.send_message(env.alice.id, env.chan.id, "one")
    b = await emu.send_message(env.pat.id, env.chan.id, "two", reply_to=a.id)
    await emu.wait_for(seen(env, "message", 2))
    reply = bot.seen["message"][1]
    assert reply.reference.message_id == a.id and reply.type == discord.MessageType.reply
    await emu.bulk_delete(env.chan.id, [a.id, b.id])
    await emu.wait_for(seen(env, "raw_bulk_message_delete"))
    assert bot.seen["raw_bulk_message_delete"][0].message_ids == {a.id, b.id}


async def test_bot_messages_are_echoed(env):
    emu, bot = env.emu, env.bot
    sent = await bot.get_channel(env.chan.id).send("from the bot")
    await emu.wait_for(seen(env, "message"))
    assert bot.seen["message"][0].id == sent.id
    assert bot.seen["message"][0].author.id == bot.user.id
    assert emu.get_message(sent.id).content == "from the bot"


async def test_reactions(env):
    emu, bot = env.emu, env.bot
    m = await emu.send_message(env.alice.id, env.chan.id, "vote")
    await emu.add_reaction(env.pat.id, m.id, "👍")
    await emu.wait_for(seen(env, "raw_reaction_add"))
    ev = bot.seen["raw_reaction_add"][0]
    assert (ev.user_id, ev.message_id, str(ev.emoji)) == (env.pat.id, m.id, "👍")
    assert ev.member.id == env.pat.id
    await emu.remove_reaction(env.pat.id, m.id, "👍")
    await emu.wait_for(seen(env, "raw_reaction_remove"))
    # the bot reacts through REST; the summary shows up on the message object
    msg = await bot.get_channel(env.chan.id).fetch_message(m.id)
    await msg.add_reaction("✅")
    fetched = await bot.get_channel(env.chan.id).fetch_message(m.id)
    assert [(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [("✅", 1, True)]


async def test_link_preview_update(env):
    emu, bot = env.emu, env.bot
    m = await emu.send_message(env.alice.id, env.chan.id, "see https://example.org/x")
    emu.set_link_preview(m.id, "https://example.org/x", "Example title")
    await emu.wait_for(seen(env, "raw_message_edit"))
    raw = bot.seen["raw_message_edit"][0]
    assert raw.message_id == m.id
    assert raw.data["embeds"][0]["title"] == "Example title"
    assert raw.data["edited_timestamp"] is None


async def test_channel_events(env):
    emu, bot = env.emu, env.bot
    guild = bot.get_guild(env.guild.id)
    cat = await guild.create_category("Consultation 2026")
    chan = await guild.create_text_channel("Item One", category=cat, topic="first")
    assert chan.name == "item-one" and chan.category_id == cat.id
    await emu.wait_for(seen(env, "guild_channel_create", 2))
    await chan.edit(topic="changed")
    await emu.wait_for(seen(env, "guild_channel_update"))
    assert emu.channel(chan.id).topic == "changed"
    await chan.delete()
    await emu.wait_for(seen(env, "guild_channel_delete"))
    assert chan.id not in emu.state.channels
    # participant-side (admin) creation is seen too
    emu.create_forum_channel(env.guild.id, "Ideas")
    await emu.wait_for(seen(env, "guild_channel_create", 3))
    assert isinstance(bot.seen["guild_channel_create"][-1], discord.ForumChannel)


async def test_thread_events(env):
    emu, bot = env.emu, env.bot
    chan = bot.get_channel(env.chan.id)
    post = await chan.send("sub-item 1.1")
    thread = await post.create_thread(name="Sub-item 1.1")
    assert thread.id == post.id and thread.name == "Sub-item 1.1"
    await emu.wait_for(seen(env, "thread_create"))
    await thread.edit(locked=True, archived=True)
    await emu.wait_for(seen(env, "thread_update"))
    t = emu.channel(thread.id)
    assert t.locked and t.archived
    await thread.delete()  # archived threads are not cached: discord.py sends the raw event
    await emu.wait_for(lambda: emu.calls("DELETE", "/channels/{channel_id}"))
    assert emu.threads_of(env.chan.id) == []


async def test_forum_post_and_thread_without_message(env):
    emu, bot = env.emu, env.bot
    forum_row = emu.create_forum_channel(env.guild.id, "ideas")
    await emu.wait_for(lambda: bot.get_channel(forum_row.id) is not None)
    forum = bot.get_channel(forum_row.id)
    created = await forum.create_thread(name="A post", content="first words")
    assert created.thread.id == created.message.id
    assert emu.messages_in(created.thread.id)[0].content == "first words"
    t2 = await bot.get_channel(env.chan.id).create_thread(
        name="side talk", type=discord.ChannelType.public_thread)
    assert emu.channel(t2.id).parent_id == env.chan.id
    # Discord posts a "thread created" system message for threads without a starter message
    assert emu.messages_in(env.chan.id)[-1].type == 18
    # a participant posts in it: the bot gets it
    await emu.send_message(env.pat.id, t2.id, "in thread")
    await emu.wait_for(lambda: any(m.channel.id == t2.id for m in bot.seen["message"]))


async def test_message_content_intent(emulator, start_client):
    emu = emulator.emu
    chan = emu.create_text_channel(emulator.guild.id, "general")
    intents = discord.Intents.default()  # no message_content
    bot = await start_client(EmuBot(intents=intents), emu)
    await emu.send_message(emulator.alice.id, chan.id, "private words")
    await emu.send_message(emulator.alice.id, chan.id, f"hey <@{bot.user.id}>")
    await emu.wait_for(lambda: len(bot.seen["message"]) >= 2)
    assert bot.seen["message"][0].content == ""
    assert bot.seen["message"][1].content.startswith("hey")


async def test_participant_refusals(env):
    emu = env.emu
    emu.set_overwrite(env.chan.id, env.guild.id, deny=1 << 11)  # @everyone: no SEND_MESSAGES
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(env.pat.id, env.chan.id, "nope")
    with pytest.raises(EmulatorForbidden):  # the @everyone overwrite applies to the bot too
        await emu.send_message(env.bot.user.id, env.chan.id, "bot may not")
    emu.set_overwrite(env.chan.id, env.bot_role.id, allow=1 << 11)  # a role overwrite wins
    m = await emu.send_message(env.bot.user.id, env.chan.id, "bot may")
    with pytest.raises(EmulatorForbidden):
        await emu.edit_message(env.pat.id, m.id, "hijack")
    with pytest.raises(EmulatorForbidden):
        await emu.delete_message(env.pat.id, m.id)


async def test_super_reactions_are_counted_and_listed_apart(env):
    emu, bot = env.emu, env.bot
    m = await emu.send_message(env.alice.id, env.chan.id, "vote")
    await emu.add_reaction(env.pat.id, m.id, "👍")
    await emu.add_reaction(env.sam.id, m.id, "👍", burst=True)
    await emu.wait_for(seen(env, "raw_reaction_add", 2))
    assert [e.burst for e in bot.seen["raw_reaction_add"]] == [False, True]
    msg = await bot.get_channel(env.chan.id).fetch_message(m.id)
    (r,) = msg.reactions
    assert (r.count, r.normal_count, r.burst_count) == (2, 1, 1)
    assert [u.id async for u in r.users()] == [env.pat.id]  # type 0 (normal) by default
    burst = [u.id async for u in r.users(type=discord.ReactionType.burst)]
    assert burst == [env.sam.id]


async def test_moderators_clear_reactions_all_or_one_emoji(env):
    emu, bot = env.emu, env.bot
    emu.set_role_permissions(env.guild.id, env.moderators.id,
                             env.moderators.permissions | (1 << 13))  # Manage Messages
    m = await emu.send_message(env.alice.id, env.chan.id, "vote")
    for emoji in ("👍", "👎"):
        await emu.add_reaction(env.pat.id, m.id, emoji)
    with pytest.raises(EmulatorForbidden):
        await emu.remove_all_reactions(env.pat.id, m.id)  # needs Manage Messages
    await emu.remove_all_reactions(env.mo.id, m.id, "👍")
    await emu.wait_for(seen(env, "raw_reaction_clear_emoji"))
    ev = bot.seen["raw_reaction_clear_emoji"][0]
    assert (ev.message_id, str(ev.emoji)) == (m.id, "👍")
    assert list(emu.get_message(m.id).reactions) == ["👎"]
    await emu.remove_all_reactions(env.mo.id, m.id)
    await emu.wait_for(seen(env, "raw_reaction_clear"))
    assert bot.seen["raw_reaction_clear"][0].message_id == m.id
    assert emu.get_message(m.id).reactions == {}


async def test_a_forward_carries_a_snapshot_and_no_content(env):
    emu, bot = env.emu, env.bot
    other = emu.create_text_channel(env.guild.id, "elsewhere")
    original = await emu.send_message(env.sam.id, other.id, "Worth reading.")
    fwd = await emu.forward_message(env.pat.id, original.id, env.chan.id)
    await emu.wait_for(seen(env, "message"))
    got = bot.seen["message"][-1]
    assert got.id == fwd.id and got.content == ""
    assert got.reference.type == discord.MessageReferenceType.forward
    assert [s.content for s in got.message_snapshots] == ["Worth reading."]
    with pytest.raises(ApiError):  # a forward has no text of its own
        emu.post_message(env.pat.id, env.chan.id, {
            "content": "and a comment", "message_reference": {"type": 1, "message_id": str(original.id)}})


async def test_lone_surrogates_are_refused_like_discord(env):
    emu = env.emu
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(env.pat.id, env.chan.id, "broken \ud800 text")
    body = b'{"content": "broken \\ud800 text"}'  # valid JSON, but not a Unicode text
    async with aiohttp.ClientSession() as http, http.post(
        f"{emu.api_base}/channels/{env.chan.id}/messages", data=body,
        headers={"Authorization": f"Bot {emu.bot_token}", "Content-Type": "application/json"},
    ) as response:
        assert (response.status, (await response.json())["code"]) == (400, 50109)
    ok = await emu.send_message(env.pat.id, env.chan.id, "a pair is fine: \U0001F600")
    assert emu.get_message(ok.id).content.endswith("\U0001F600")
