"""Forum tags: a forum's ``available_tags`` and a post's ``applied_tags``, with Discord's checks
(at most 20 tags per forum, names of 1..20 characters, at most 5 tags per post, only the
forum's own tags, moderated tags only with Manage Threads)."""

import discord
import pytest

from bot.emulator import EmulatorForbidden


async def _forum(env, name="ideas"):
    row = env.emu.create_forum_channel(env.guild.id, name)
    await env.emu.wait_for(lambda: env.bot.get_channel(row.id) is not None)
    return env.bot.get_channel(row.id)


def _code(exc: discord.HTTPException) -> int:
    return exc.code


async def test_tags_are_created_kept_and_applied(env):
    emu = env.emu
    forum = await _forum(env)
    forum = await forum.edit(available_tags=[discord.ForumTag(name="open"),
                                             discord.ForumTag(name="locked", moderated=True)])
    stored = emu.channel(forum.id).available_tags
    assert [t["name"] for t in stored] == ["open", "locked"]
    assert [t["moderated"] for t in stored] == [False, True]
    open_tag = forum.get_tag(int(stored[0]["id"]))
    # an edit that names an existing tag keeps its id (posts keep it applied)
    forum = await forum.edit(available_tags=[*forum.available_tags, discord.ForumTag(name="closed")])
    assert emu.channel(forum.id).available_tags[0]["id"] == stored[0]["id"]

    created = await forum.create_thread(name="A post", content="first words", applied_tags=[open_tag])
    assert emu.forum_tag_names(created.thread.id) == ["open"]
    locked = discord.utils.get(forum.available_tags, name="locked")
    thread = await created.thread.edit(applied_tags=[locked])
    assert emu.forum_tag_names(thread.id) == ["locked"]
    assert [t.name for t in thread.applied_tags] == ["locked"]


async def test_forum_tag_limits(env):
    emu = env.emu
    forum = await _forum(env)
    with pytest.raises(discord.HTTPException) as exc:  # 21 tags
        await forum.edit(available_tags=[discord.ForumTag(name=f"t{i}") for i in range(21)])
    assert exc.value.status == 400 and _code(exc.value) == 50035
    with pytest.raises(discord.HTTPException) as exc:  # a name of 21 characters
        await forum.edit(available_tags=[discord.ForumTag(name="x" * 21)])
    assert _code(exc.value) == 50035
    assert emu.channel(forum.id).available_tags == []  # nothing half-written
    forum = await forum.edit(available_tags=[discord.ForumTag(name=f"t{i}") for i in range(20)])
    assert len(emu.channel(forum.id).available_tags) == 20
    with pytest.raises(discord.HTTPException) as exc:  # 6 tags on one post
        await forum.create_thread(name="p", content="x", applied_tags=forum.available_tags[:6])
    assert _code(exc.value) == 50035
    assert emu.threads_of(forum.id) == []
    created = await forum.create_thread(name="p", content="x", applied_tags=forum.available_tags[:5])
    assert len(emu.channel(created.thread.id).applied_tags) == 5
    with pytest.raises(discord.HTTPException) as exc:
        await created.thread.edit(applied_tags=forum.available_tags[:6])
    assert _code(exc.value) == 50035


async def test_only_the_forums_own_tags(env):
    emu = env.emu
    forum = await _forum(env)
    other = await _forum(env, "other")
    other = await other.edit(available_tags=[discord.ForumTag(name="elsewhere")])
    forum = await forum.edit(available_tags=[discord.ForumTag(name="open")])
    with pytest.raises(discord.HTTPException) as exc:
        await forum.create_thread(name="p", content="x", applied_tags=other.available_tags)
    assert exc.value.status == 400 and _code(exc.value) == 50035
    created = await forum.create_thread(name="p", content="x")
    with pytest.raises(discord.HTTPException):
        await created.thread.edit(applied_tags=other.available_tags)
    assert emu.channel(created.thread.id).applied_tags == []
    # threads outside a forum have no tags
    text_thread = await env.dchan.create_thread(name="side", type=discord.ChannelType.public_thread)
    with pytest.raises(discord.HTTPException) as exc:
        await text_thread.edit(applied_tags=forum.available_tags)
    assert _code(exc.value) == 50024
    # deleting a tag from the forum takes it off its posts
    tagged = await forum.create_thread(name="q", content="y", applied_tags=forum.available_tags)
    await forum.edit(available_tags=[discord.ForumTag(name="new")])
    assert emu.channel(tagged.thread.id).applied_tags == []


async def test_moderated_tags_need_manage_threads(env):
    emu = env.emu
    forum = await _forum(env)
    forum = await forum.edit(available_tags=[discord.ForumTag(name="idea"),
                                             discord.ForumTag(name="answered", moderated=True)])
    idea, answered = (int(t["id"]) for t in emu.channel(forum.id).available_tags)
    post = await emu.create_thread(env.pat.id, forum.id, "my post", content="hello", tags=[idea])
    assert emu.forum_tag_names(post.id) == ["idea"]
    with pytest.raises(EmulatorForbidden):  # pat may not add a moderated tag to their own post
        await emu.set_post_tags(env.pat.id, post.id, [idea, answered])
    with pytest.raises(EmulatorForbidden):  # nor set tags on another member's post
        await emu.set_post_tags(env.sam.id, post.id, [])
    with pytest.raises(EmulatorForbidden):
        await emu.create_thread(env.pat.id, forum.id, "sneaky", content="x", tags=[answered])
    await emu.set_post_tags(env.mo.id, post.id, [idea, answered])  # a moderator may
    assert emu.forum_tag_names(post.id) == ["idea", "answered"]
    with pytest.raises(EmulatorForbidden):  # nor may pat remove it
        await emu.set_post_tags(env.pat.id, post.id, [idea])
    await emu.set_post_tags(env.pat.id, post.id, [answered])  # the unmoderated one: fine
    assert emu.forum_tag_names(post.id) == ["answered"]


async def test_a_forum_created_with_tags_has_them_in_its_create_event(env):
    emu, bot = env.emu, env.bot
    guild = bot.get_guild(env.guild.id)
    with pytest.raises(discord.HTTPException) as exc:  # refused whole: no forum is made
        await guild.create_forum("too-many", available_tags=[discord.ForumTag(name=f"t{i}")
                                                             for i in range(21)])
    assert exc.value.code == 50035
    assert not [c for c in emu.state.channels.values() if c.name == "too-many"]
    made = await guild.create_forum("ideas", available_tags=[discord.ForumTag(name="open")])
    await emu.wait_for(lambda: bot.get_channel(made.id) is not None)
    cached = bot.get_channel(made.id)  # what the gateway said, not the REST answer
    assert [t.name for t in cached.available_tags] == ["open"]
    assert cached.available_tags[0].id == made.available_tags[0].id
