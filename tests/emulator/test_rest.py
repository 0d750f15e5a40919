"""REST behaviour: history paging, thread listings, the request log, injected 429s."""

import discord
import pytest


async def test_history_paging_like_discord(env):
    emu = env.emu
    sent = [await emu.send_message(env.pat.id, env.chan.id, f"m{i}") for i in range(120)]
    ids = [m.id for m in sent]
    got = [m.id async for m in env.dchan.history(limit=None)]
    assert got == ids[::-1]  # newest first, across two pages of 100
    got = [m.id async for m in env.dchan.history(limit=None, after=discord.Object(ids[9]),
                                                 oldest_first=True)]
    assert got == ids[10:]
    got = [m.id async for m in env.dchan.history(limit=5, before=discord.Object(ids[50]))]
    assert got == ids[45:50][::-1]
    raw = await env.bot.http.logs_from(env.chan.id, 5, around=ids[60])
    assert [int(m["id"]) for m in raw] == ids[58:63][::-1]
    raw = await env.bot.http.logs_from(env.chan.id, 3, after=ids[0])
    assert [int(m["id"]) for m in raw] == ids[1:4][::-1]  # the ones right after, newest first
    pages = emu.calls("GET", "/channels/{channel_id}/messages")
    assert pages and all(r.status == 200 for r in pages)


async def test_fetches(env):
    emu, bot = env.emu, env.bot
    m = await emu.send_message(env.alice.id, env.chan.id, "hi")
    assert (await env.dchan.fetch_message(m.id)).content == "hi"
    with pytest.raises(discord.NotFound):
        await env.dchan.fetch_message(123)
    guild = bot.get_guild(env.guild.id)
    member = await guild.fetch_member(env.mo.id)
    assert [r.id for r in member.roles if not r.is_default()] == [env.moderators.id]
    chans = await guild.fetch_channels()
    assert [c.id for c in chans] == [env.chan.id]
    assert (await bot.fetch_channel(env.chan.id)).name == "general"


async def test_thread_listings(env):
    post = await env.dchan.send("a")
    t1 = await post.create_thread(name="one")
    t2 = await (await env.dchan.send("b")).create_thread(name="two")
    await t1.edit(archived=True)
    active = await env.bot.get_guild(env.guild.id).active_threads()
    assert [t.id for t in active] == [t2.id]
    archived = [t async for t in env.dchan.archived_threads()]
    assert [t.id for t in archived] == [t1.id]
    assert [t.id for t in env.emu.threads_of(env.chan.id)] == [t1.id, t2.id]


async def test_request_log_counts_channel_creation(env):
    guild = env.bot.get_guild(env.guild.id)
    await guild.create_text_channel("item-1")
    created = env.emu.calls("POST", "/guilds/{guild_id}/channels")
    assert len(created) == 1 and created[0].status == 201
    assert created[0].json["name"] == "item-1"


async def test_429_is_retried(env):
    emu = env.emu
    emu.fail_next("POST", "/channels/{channel_id}/messages", status=429, retry_after=0.01)
    m = await env.dchan.send("eventually")
    statuses = [r.status for r in emu.calls("POST", "/channels/{channel_id}/messages")]
    assert statuses == [429, 200]
    assert emu.get_message(m.id).content == "eventually"
    # a regex works too, and so does the interaction webhook
    emu.fail_next("POST", r"/interactions/\d+/.+/callback", retry_after=0.01)
    r = await emu.slash(env.pat.id, env.chan.id, "ping")
    assert r.content == "pong  1 False"


async def test_unknown_route_is_recorded(env):
    route = discord.http.Route("GET", "/guilds/{guild_id}/webhooks", guild_id=env.guild.id)
    with pytest.raises(discord.NotFound):
        await env.bot.http.request(route)
    assert env.emu.unhandled == [("GET", f"/guilds/{env.guild.id}/webhooks")]


async def test_bad_token_fails_login(emulator):
    emu = emulator.emu
    from bot.emulator import point_discord_py_at, restore_discord_py

    prev = point_discord_py_at(emu.api_base, emu.gateway_url)
    client = discord.Client(intents=discord.Intents.none())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong")
    finally:
        await client.close()
        restore_discord_py(prev)


async def test_global_429_is_retried(env):
    env.emu.fail_next("GET", "/channels/{channel_id}", retry_after=0.01, global_=True)
    channel = await env.bot.fetch_channel(env.chan.id)
    assert channel.id == env.chan.id
    assert [r.status for r in env.emu.calls("GET", "/channels/{channel_id}")] == [429, 200]


async def test_json_content_type_is_exact(env):
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(
            f"{env.emu.api_base}/users/@me",
            headers={"Authorization": f"Bot {env.emu.bot_token}"}) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        assert (await resp.json())["id"] == str(env.bot.user.id)


async def test_an_embed_image_from_an_attachment_gets_its_url_and_a_missing_one_none(env):
    """discord-api-docs, "Uploading Files": an embed may use an uploaded file as its image
    with ``attachment://filename``; Discord answers with the file's own URL there. A name
    that matches no file of the message leaves the embed without that image."""
    import io

    shown = discord.Embed(title="chart").set_image(url="attachment://chart.png")
    sent = await env.dchan.send(embed=shown, file=discord.File(io.BytesIO(b"\x89PNG"),
                                                               filename="chart.png"))
    (attachment,) = sent.attachments
    assert sent.embeds[0].image.url == attachment.url
    assert not sent.embeds[0].image.url.startswith("attachment://")
    missing = discord.Embed(title="none").set_image(url="attachment://other.png")
    sent = await env.dchan.send(embed=missing, file=discord.File(io.BytesIO(b"\x89PNG"),
                                                                 filename="chart.png"))
    assert sent.embeds[0].image.url is None
    assert env.emu.state.messages[sent.id].embeds[0].get("image") is None
