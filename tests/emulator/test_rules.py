"""Discord's rules enforced on the bot: limits, permissions, threads, mentions."""

import discord
import pytest

from bot.emulator import EmulatorForbidden, P


async def test_content_limit(env):
    with pytest.raises(discord.HTTPException) as e:
        await env.dchan.send("x" * 2001)
    assert e.value.status == 400 and e.value.code == 50035
    assert "content" in str(e.value)
    await env.dchan.send("x" * 2000)
    with pytest.raises(discord.HTTPException) as e:
        await env.dchan.send("")
    assert e.value.code == 50006


@pytest.mark.parametrize("embed", [
    discord.Embed(title="t" * 257),
    discord.Embed(description="d" * 4097),
    discord.Embed(title="t").set_footer(text="f" * 2049),
    discord.Embed(title="t").set_author(name="a" * 257),
    discord.Embed(title="t").add_field(name="n" * 257, value="v"),
    discord.Embed(title="t").add_field(name="n", value="v" * 1025),
])
async def test_embed_field_limits(env, embed):
    with pytest.raises(discord.HTTPException) as e:
        await env.dchan.send(embed=embed)
    assert e.value.status == 400 and e.value.code == 50035


async def test_embed_count_fields_and_total(env):
    many_fields = discord.Embed(title="t")
    for i in range(26):
        many_fields.add_field(name=str(i), value="v")
    with pytest.raises(discord.HTTPException):
        await env.dchan.send(embed=many_fields)
    with pytest.raises(discord.HTTPException):  # discord.py checks this one itself: go raw
        route = discord.http.Route("POST", "/channels/{channel_id}/messages",
                                   channel_id=env.chan.id)
        await env.bot.http.request(route, json={"embeds": [{"title": "x"}] * 11})
    big = [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)]
    with pytest.raises(discord.HTTPException) as e:
        await env.dchan.send(embeds=big)
    assert "MAX_EMBED_SIZE_EXCEEDED" in str(e.value.text) or e.value.code == 50035
    ok = await env.dchan.send(embeds=[discord.Embed(description="d" * 4000),
                                      discord.Embed(description="d" * 2000)])
    assert len(env.emu.get_message(ok.id).embeds) == 2


async def test_file_size_and_request_limits(env):
    """Per file: the server's attachment_size_limit (10 MiB unboosted); per request: 25 MiB;
    at most 10 files. Refused with 413 / 40005 and nothing posted."""
    import io

    def f(name, size):
        return discord.File(io.BytesIO(b"x" * size), filename=name)

    limit = env.guild.attachment_size_limit
    assert limit == 10 * 1024 * 1024
    before = len(env.emu.messages_in(env.chan.id))
    with pytest.raises(discord.HTTPException) as e:
        await env.dchan.send(file=f("big.bin", limit + 1))
    assert e.value.status == 413 and e.value.code == 40005
    with pytest.raises(discord.HTTPException) as e:  # each fits, together too much
        await env.dchan.send(files=[f(f"{i}.bin", 9 * 1024 * 1024) for i in range(3)])
    assert e.value.status == 413
    assert len(env.emu.messages_in(env.chan.id)) == before
    ok = await env.dchan.send(files=[f("a.bin", limit), f("b.bin", 1024)])
    assert len(env.emu.get_message(ok.id).attachments) == 2
    env.guild.attachment_size_limit = 50 * 1024 * 1024  # a boosted server
    await env.dchan.send(file=f("boosted.bin", 20 * 1024 * 1024))


async def test_locked_thread(env):
    emu = env.emu
    post = await env.dchan.send("item")
    thread = await post.create_thread(name="Sub")
    await emu.send_message(env.pat.id, thread.id, "before lock")
    await thread.edit(locked=True)
    with pytest.raises(Exception, match="160005"):
        await emu.send_message(env.pat.id, thread.id, "after lock")
    # a moderator (MANAGE_THREADS) still may; the bot too (it has manage_threads)
    await emu.send_message(env.mo.id, thread.id, "mod note")
    await thread.send("bot note")
    # without MANAGE_THREADS, the bot is refused as well
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.MANAGE_THREADS)
    with pytest.raises(discord.Forbidden) as e:
        await thread.send("refused")
    assert e.value.code == 160005


async def test_locking_needs_manage_threads(env):
    emu = env.emu
    post = await env.dchan.send("item")
    thread = await post.create_thread(name="Sub")
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.MANAGE_THREADS)
    with pytest.raises(discord.Forbidden):
        await thread.edit(locked=True)
    assert not emu.channel(thread.id).locked


async def test_archived_thread_unarchives_on_post(env):
    emu = env.emu
    post = await env.dchan.send("item")
    thread = await post.create_thread(name="Sub")
    await thread.edit(archived=True)
    assert emu.channel(thread.id).archived
    await emu.send_message(env.pat.id, thread.id, "wake up")
    assert not emu.channel(thread.id).archived
    await thread.edit(archived=True, locked=True)
    with pytest.raises(Exception, match="160005"):
        await emu.send_message(env.pat.id, thread.id, "no")
    assert emu.channel(thread.id).archived


async def test_thread_overwrites_inherited_and_send_in_threads(env):
    emu = env.emu
    post = await env.dchan.send("item")
    thread = await post.create_thread(name="Sub")
    emu.set_overwrite(env.chan.id, env.guild.id, deny=P.SEND_MESSAGES_IN_THREADS)
    with pytest.raises(Exception, match="50013"):
        await emu.send_message(env.pat.id, thread.id, "no")
    await emu.send_message(env.pat.id, env.chan.id, "channel is fine")


async def test_missing_permission_for_bot(env):
    emu = env.emu
    guild = env.bot.get_guild(env.guild.id)
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.MANAGE_CHANNELS)
    with pytest.raises(discord.Forbidden) as e:
        await guild.create_text_channel("nope")
    assert e.value.code == 50013
    with pytest.raises(discord.Forbidden):
        await env.dchan.edit(name="renamed")
    emu.set_overwrite(env.chan.id, env.bot_role.id, deny=P.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden):
        await env.dchan.send("muted")


async def test_overwrites_need_manage_roles_and_own_permissions(env):
    emu = env.emu
    everyone = env.bot.get_guild(env.guild.id).default_role
    await env.dchan.set_permissions(everyone, send_messages=False)
    assert emu.channel(env.chan.id).overwrites[env.guild.id].deny == P.SEND_MESSAGES
    with pytest.raises(discord.Forbidden):  # the bot lacks administrator itself
        await env.dchan.set_permissions(everyone, administrator=True)
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.MANAGE_ROLES)
    with pytest.raises(discord.Forbidden):
        await env.dchan.set_permissions(everyone, send_messages=True)


async def test_pins_need_permission(env):
    emu = env.emu
    m = await env.dchan.send("opening post")
    await m.pin()
    assert [p.id for p in emu.pins(env.chan.id)] == [m.id]
    assert emu.messages_in(env.chan.id)[-1].type == 6  # "pinned a message" system message
    pins = [p async for p in env.dchan.pins()]
    assert [p.id for p in pins] == [m.id]
    await m.unpin()
    assert emu.pins(env.chan.id) == []
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~(P.MANAGE_MESSAGES | P.PIN_MESSAGES))
    with pytest.raises(discord.Forbidden):
        await m.pin()
    # Since Feb 2026 Manage Messages no longer covers pinning: Pin Messages is needed.
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.PIN_MESSAGES | P.MANAGE_MESSAGES)
    with pytest.raises(discord.Forbidden):
        await m.pin()


async def test_channel_names(env):
    guild = env.bot.get_guild(env.guild.id)
    c = await guild.create_text_channel("Item 3 Privacy")
    assert c.name == "item-3-privacy"
    with pytest.raises(discord.HTTPException):
        await guild.create_text_channel("x" * 101)
    cat = await guild.create_category("Mixed Case Kept")
    assert cat.name == "Mixed Case Kept"


async def test_would_ping(env):
    emu = env.emu
    # The README's invite has no Mention Everyone; this test is about what it would allow.
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions | P.MENTION_EVERYONE)
    ping = f"<@{env.pat.id}> <@&{env.moderators.id}> @everyone"
    m = await env.dchan.send(ping)  # no allowed_mentions: everything parsed
    wp = emu.get_message(m.id).would_ping
    assert wp.users == [env.pat.id] and wp.roles == [env.moderators.id] and wp.everyone
    m = await env.dchan.send(ping, allowed_mentions=discord.AllowedMentions.none())
    assert not emu.get_message(m.id).would_ping
    assert emu.get_message(m.id).allowed_mentions == {"parse": []}
    m = await env.dchan.send(ping, allowed_mentions=discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(env.pat.id)]))
    wp = emu.get_message(m.id).would_ping
    assert wp.users == [env.pat.id] and not wp.roles and not wp.everyone
    # replies ping the replied user only with replied_user
    src = await emu.send_message(env.sam.id, env.chan.id, "question")
    msg = await env.dchan.fetch_message(src.id)
    r1 = await msg.reply("answer", mention_author=False)
    r2 = await msg.reply("answer", mention_author=True)
    assert emu.get_message(r1.id).would_ping.users == []
    assert emu.get_message(r2.id).would_ping.users == [env.sam.id]
    # without MENTION_EVERYONE, @everyone pings nobody
    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.MENTION_EVERYONE)
    m = await env.dchan.send("@everyone @here")
    assert not emu.get_message(m.id).would_ping


# --- auto-archive by the emulated clock -------------------------------------------------------

async def test_threads_auto_archive_after_their_duration_of_inactivity(env):
    emu = env.emu
    post = await env.dchan.send("item")
    thread = await post.create_thread(name="Sub", auto_archive_duration=60)
    emu.advance_time(59 * 60)
    assert not emu.channel(thread.id).archived
    await emu.send_message(env.pat.id, thread.id, "still talking")  # activity restarts the hour
    emu.advance_time(59 * 60)
    assert not emu.channel(thread.id).archived
    emu.advance_time(2 * 60)
    th = emu.channel(thread.id)
    assert th.archived
    # The THREAD_UPDATE reached the bot (and discord.py dropped the thread from its cache).
    await emu.wait_for(lambda: any(after.id == thread.id and after.archived
                                   for _b, after in env.bot.seen["thread_update"]))
    assert env.bot.get_guild(env.guild.id).get_thread(thread.id) is None
    assert th.archive_timestamp < emu.clock.iso()  # when it went idle, not when the test looked


async def test_archived_thread_refuses_lock_alone_and_edits_like_discord(env):
    emu = env.emu
    post = await env.dchan.send("item")
    thread = await post.create_thread(name="Sub")
    inside = await thread.send("article part")
    emu.advance_time(24 * 3600 + 1)  # the default 1,440 minutes
    assert emu.channel(thread.id).archived
    with pytest.raises(discord.HTTPException) as e:
        await thread.edit(locked=True)
    assert e.value.status == 400 and e.value.code == 50083
    assert not emu.channel(thread.id).locked
    with pytest.raises(discord.HTTPException) as e:
        await inside.edit(content="edited")
    assert e.value.code == 50083
    with pytest.raises(Exception, match="50083"):
        await emu.add_reaction(env.pat.id, inside.id, "👍")
    with pytest.raises(EmulatorForbidden, match="archived"):
        await emu.slash(env.pat.id, thread.id, "ping")
    await thread.edit(archived=False, locked=True)  # what works: unarchive in the same PATCH
    th = emu.channel(thread.id)
    assert th.locked and not th.archived
    emu.advance_time(24 * 3600 + 1)
    assert emu.channel(thread.id).archived  # a locked thread archives too …
    with pytest.raises(discord.HTTPException) as e:
        await thread.send("notice")  # … and then even a moderator's message is refused
    assert e.value.code == 50083


async def test_auto_archive_duration_must_be_one_of_discords_values(env):
    post = await env.dchan.send("item")
    with pytest.raises(discord.HTTPException) as e:
        await post.create_thread(name="Sub", auto_archive_duration=120)
    assert e.value.code == 50035
    thread = await post.create_thread(name="Sub", auto_archive_duration=10080)
    assert env.emu.channel(thread.id).auto_archive_duration == 10080


async def test_private_threads_reach_the_bot_only_through_manage_threads(env):
    emu, bot = env.emu, env.bot
    seen = bot.get_guild(env.guild.id)

    async def private_thread_and_message(name):
        th = await emu.create_thread(env.pat.id, env.chan.id, name, private=True)
        m = await emu.send_message(env.pat.id, th.id, f"in {name}")
        return th, m

    th, m = await private_thread_and_message("with manage threads")
    assert th.type == 12
    await emu.wait_for(lambda: any(x.id == m.id for x in bot.seen["message"]))
    assert seen.get_thread(th.id) is not None

    emu.set_role_permissions(env.guild.id, env.bot_role.id,
                             emu.default_bot_permissions & ~P.MANAGE_THREADS)
    hidden, secret = await private_thread_and_message("without")
    public = await emu.create_thread(env.pat.id, env.chan.id, "public one")
    marker = await emu.send_message(env.pat.id, public.id, "after the secret")
    await emu.wait_for(lambda: any(x.id == marker.id for x in bot.seen["message"]))
    assert not any(x.id == secret.id for x in bot.seen["message"])
    assert seen.get_thread(hidden.id) is None


async def test_attachment_description_is_at_most_1024_characters(env):
    """An attachment's description (alt text) is at most 1024 characters: a longer one
    is refused (400) and nothing is posted."""
    import io

    def f(description):
        return discord.File(io.BytesIO(b"png"), filename="chart.png", description=description)

    before = len(env.emu.messages_in(env.chan.id))
    with pytest.raises(discord.HTTPException) as e:
        await env.dchan.send(file=f("x" * 1025))
    assert e.value.status == 400 and "attachments.0.description" in str(e.value.text)
    assert len(env.emu.messages_in(env.chan.id)) == before
    ok = await env.dchan.send(file=f("A bar chart" + "." * 1013))
    assert env.emu.get_message(ok.id).attachments[0].description.startswith("A bar chart")
