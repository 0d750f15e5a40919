"""Rate limits and channel caps: the emulator refuses what Discord refuses, with Discord's headers."""

import aiohttp
import discord
import pytest


async def _raw(emu, method: str, path: str, json=None):
    async with aiohttp.ClientSession() as s, s.request(
            method, f"{emu.api_base}{path}", json=json,
            headers={"Authorization": f"Bot {emu.bot_token}"}) as resp:
        body = await resp.json() if resp.status != 204 else None
        return resp.status, dict(resp.headers), body


async def test_message_bucket_headers_and_429_for_a_client_that_ignores_them(env):
    emu = env.emu
    path = f"/channels/{env.chan.id}/messages"
    seen = [await _raw(emu, "POST", path, {"content": f"m{i}"}) for i in range(6)]
    assert [s for s, _h, _b in seen] == [200] * 5 + [429]
    first = seen[0][1]
    assert first["X-RateLimit-Limit"] == "5" and first["X-RateLimit-Remaining"] == "4"
    assert first["X-RateLimit-Bucket"] and float(first["X-RateLimit-Reset-After"]) > 0
    assert float(first["X-RateLimit-Reset"]) > emu.clock.now()
    assert seen[4][1]["X-RateLimit-Remaining"] == "0"
    status, headers, body = seen[5]
    assert body["global"] is False and 0 < body["retry_after"] <= 5 * emu.rate_limits.time_scale
    assert headers["X-RateLimit-Scope"] == "user" and headers["Via"]
    assert float(headers["Retry-After"]) == pytest.approx(body["retry_after"], abs=0.001)
    assert len([m for m in emu.messages_in(env.chan.id)]) == 5  # the refused one was not posted
    # Another channel has its own bucket.
    other = emu.create_text_channel(env.guild.id, "other")
    assert (await _raw(emu, "POST", f"/channels/{other.id}/messages", {"content": "x"}))[0] == 200


async def test_discord_py_backs_off_by_the_headers_and_emulated_time_passes(env):
    emu = env.emu
    t0 = emu.clock.now()
    for i in range(12):
        await env.dchan.send(f"n{i}")
    posts = emu.calls("POST", "/channels/{channel_id}/messages")
    assert [r.status for r in posts] == [200] * 12   # discord.py waited: no 429 at all
    assert emu.rate_limits.refusals == []
    assert emu.clock.now() - t0 >= 10                 # two full 5-second windows on Discord


async def test_global_limit_is_50_a_second_and_spares_interactions(env):
    emu = env.emu
    emu.rate_limits.reset()  # (the bot's own start-up calls do not count)
    statuses = []
    for _ in range(51):
        status, headers, body = await _raw(emu, "GET", "/users/@me")
        statuses.append(status)
    if statuses[-1] != 429:
        pytest.skip("the machine was too slow to send 51 calls in one second")
    assert statuses == [200] * 50 + [429] and body["global"] is True
    assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
    r = await emu.slash(env.pat.id, env.chan.id, "ping")   # interaction callbacks are exempt
    assert r.content.startswith("pong")


async def test_limits_are_configurable_and_can_be_turned_off(env):
    emu = env.emu
    emu.rate_limits.set_limit("POST", "/channels/{channel_id}/messages", 1, 60.0)
    path = f"/channels/{env.chan.id}/messages"
    assert [(await _raw(emu, "POST", path, {"content": "a"}))[0] for _ in range(2)] == [200, 429]
    emu.rate_limits.enabled = False
    assert (await _raw(emu, "POST", path, {"content": "b"}))[0] == 200


async def test_fifty_channels_per_category(env):
    emu = env.emu
    guild = env.bot.get_guild(env.guild.id)
    cat = emu.create_category(env.guild.id, "Full")
    for i in range(49):
        emu.create_text_channel(env.guild.id, f"c{i}", parent_id=cat.id)
    dcat = guild.get_channel(cat.id) or await guild.fetch_channel(cat.id)
    await guild.create_text_channel("fiftieth", category=dcat)
    with pytest.raises(discord.HTTPException) as exc:
        await guild.create_text_channel("fifty-first", category=dcat)
    assert exc.value.status == 400 and exc.value.code == 50035
    assert "Maximum number of channels in category" in str(exc.value)
    # Moving a channel into the full category is refused too.
    loose = await guild.create_text_channel("loose")
    with pytest.raises(discord.HTTPException) as exc:
        await loose.edit(category=dcat)
    assert exc.value.code == 50035


async def test_five_hundred_channels_per_guild(env):
    emu = env.emu
    guild = env.bot.get_guild(env.guild.id)
    existing = len([c for c in emu.state.guild(env.guild.id).channel_ids])
    for i in range(499 - existing):
        emu.create_text_channel(env.guild.id, f"c{i}")
    await guild.create_text_channel("five-hundredth")
    with pytest.raises(discord.HTTPException) as exc:
        await guild.create_category("one too many")
    assert exc.value.status == 400 and exc.value.code == 30013
