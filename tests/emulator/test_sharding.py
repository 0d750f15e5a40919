"""Sharding: several guilds, IDENTIFY with ``shard: [id, count]``, one session per shard.

Discord's rules (discord-api-docs, Gateway → Sharding): a shard gets the events of the
guilds with ``(guild_id >> 22) % num_shards == shard_id`` (DMs: shard 0); an invalid shard
is closed with 4010, a session that would hold too many guilds with 4011; ``/gateway/bot``
recommends a shard count and reports ``session_start_limit``.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord
import pytest

from bot.emulator import Emulator, point_discord_py_at, restore_discord_py
from bot.emulator.seed import seed_consultations


class RawShard:
    """A bare gateway client: enough of the protocol to look at what one shard receives."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.events: list[tuple[str, dict]] = []
        self.session_id = ""
        self.seq = 0

    async def connect(self) -> None:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.emu.gateway_url)
        hello = json.loads((await self.ws.receive()).data)
        assert hello["op"] == 10

    async def identify(self, shard=None) -> None:
        d = {"token": self.emu.bot_token, "intents": (1 << 0) | (1 << 9) | (1 << 15),
             "properties": {}}
        if shard is not None:
            d["shard"] = shard
        await self.ws.send_str(json.dumps({"op": 2, "d": d}))

    async def resume(self) -> None:
        await self.ws.send_str(json.dumps({"op": 6, "d": {
            "token": self.emu.bot_token, "session_id": self.session_id, "seq": self.seq}}))

    async def read_until(self, name: str, timeout: float = 5.0) -> None:
        """Read dispatches until event ``name`` (recording all of them)."""
        async def loop() -> None:
            while True:
                msg = await self.ws.receive()
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING):
                    raise ConnectionError(f"closed with {self.ws.close_code}")
                frame = json.loads(msg.data)
                if frame["op"] != 0:
                    continue
                self.seq = frame["s"]
                self.events.append((frame["t"], frame["d"]))
                if frame["t"] == "READY":
                    self.session_id = frame["d"]["session_id"]
                if frame["t"] == name:
                    return
        await asyncio.wait_for(loop(), timeout)

    async def close_code(self, timeout: float = 5.0) -> int | None:
        async def loop() -> None:
            while not self.ws.closed:
                msg = await self.ws.receive()
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return
        await asyncio.wait_for(loop(), timeout)
        return self.ws.close_code

    async def drop(self) -> None:
        """Lose the connection (the session stays resumable)."""
        await self.ws.close(code=4000)
        await self.http.close()

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self.http is not None:
            await self.http.close()

    def guild_ids(self, event: str) -> list[int]:
        return [int(d["id"] if event == "GUILD_CREATE" else d["guild_id"])
                for t, d in self.events if t == event]


@pytest.fixture
async def six():
    """An emulator with six consultation guilds, on shards 0 1 2 3 0 1 of four."""
    emu = Emulator()
    worlds = seed_consultations(emu, 6, shard_count=4)
    for w in worlds:
        w.extra["chan"] = emu.create_text_channel(w.guild.id, "general")
    await emu.start()
    shards: list[RawShard] = []

    def make() -> RawShard:
        shards.append(RawShard(emu))
        return shards[-1]
    try:
        yield emu, worlds, make
    finally:
        for s in shards:
            await s.close()
        await emu.stop()


def expected(worlds, shard_id: int, count: int) -> list[int]:
    return sorted(w.guild.id for w in worlds if (w.guild.id >> 22) % count == shard_id)


async def test_seeded_guilds_fall_on_the_shards_asked_for(six):
    _emu, worlds, _make = six
    assert [(w.guild.id >> 22) % 4 for w in worlds] == [0, 1, 2, 3, 0, 1]


async def test_each_shard_gets_only_its_guilds(six):
    emu, worlds, make = six
    got = {}
    for shard_id in range(2):
        s = make()
        await s.connect()
        await s.identify([shard_id, 2])
        await s.read_until("READY")
        ready = s.events[-1][1]
        assert ready["shard"] == [shard_id, 2]
        assert sorted(int(g["id"]) for g in ready["guilds"]) == expected(worlds, shard_id, 2)
        got[shard_id] = s
    for shard_id, s in got.items():
        while len(s.guild_ids("GUILD_CREATE")) < len(expected(worlds, shard_id, 2)):
            await s.read_until("GUILD_CREATE")
        assert sorted(s.guild_ids("GUILD_CREATE")) == expected(worlds, shard_id, 2)
    for w in worlds:  # a message in every guild reaches exactly its shard
        await emu.send_message(w.pat.id, w.extra["chan"].id, f"hello {w.guild.name}")
    for shard_id, s in got.items():
        while len(s.guild_ids("MESSAGE_CREATE")) < len(expected(worlds, shard_id, 2)):
            await s.read_until("MESSAGE_CREATE")
        assert sorted(s.guild_ids("MESSAGE_CREATE")) == expected(worlds, shard_id, 2)
    assert emu.gateway.connected_shards() == {(0, 2), (1, 2)}


async def test_unsharded_session_gets_every_guild(six):
    _emu, worlds, make = six
    s = make()
    await s.connect()
    await s.identify()
    await s.read_until("READY")
    assert s.events[-1][1]["shard"] == [0, 1]
    assert sorted(int(g["id"]) for g in s.events[-1][1]["guilds"]) == sorted(
        w.guild.id for w in worlds)


@pytest.mark.parametrize("shard", [[2, 2], [4, 4], [-1, 2], [0, 0], [0], "0,1", [0.0, 1]])
async def test_an_invalid_shard_is_closed_with_4010(six, shard):
    emu, _worlds, make = six
    s = make()
    await s.connect()
    await s.identify(shard)
    assert await s.close_code() == 4010
    assert not emu.connected


async def test_too_many_guilds_for_one_session_is_closed_with_4011(six):
    emu, worlds, make = six
    emu.max_guilds_per_shard = 2  # six guilds: one session may not hold them all
    s = make()
    await s.connect()
    await s.identify()
    assert await s.close_code() == 4011
    sharded = make()  # four shards hold at most two guilds each: accepted
    await sharded.connect()
    await sharded.identify([0, 4])
    await sharded.read_until("READY")
    assert len(sharded.events[-1][1]["guilds"]) == 2
    two = make()  # two shards hold three guilds each: still too many
    await two.connect()
    await two.identify([1, 2])
    assert await two.close_code() == 4011


async def test_gateway_bot_reports_shards_and_the_session_start_limit(six):
    emu, _worlds, make = six

    async def gateway_bot() -> dict:
        async with aiohttp.ClientSession() as http, http.get(
                f"{emu.api_base}/gateway/bot",
                headers={"Authorization": f"Bot {emu.bot_token}"}) as r:
            assert r.status == 200
            return await r.json()
    first = await gateway_bot()
    assert first["shards"] == 1  # six guilds: Discord recommends one shard per 1,000
    assert first["session_start_limit"]["remaining"] == 1000
    emu.recommended_shards, emu.max_concurrency = 4, 16
    s = make()
    await s.connect()
    await s.identify([3, 4])
    await s.read_until("READY")
    after = await gateway_bot()
    assert after["shards"] == 4
    assert after["session_start_limit"]["remaining"] == 999  # an IDENTIFY counts
    assert after["session_start_limit"]["max_concurrency"] == 16


async def test_a_resumed_shard_gets_only_its_missed_events(six):
    emu, worlds, make = six
    shards = {}
    for shard_id in range(2):
        s = make()
        await s.connect()
        await s.identify([shard_id, 2])
        await s.read_until("READY")
        shards[shard_id] = s
    dropped = shards[0]
    await dropped.drop()
    await emu.wait_for(lambda: emu.gateway.connected_shards() == {(1, 2)})
    for w in worlds:  # missed by shard 0 for its guilds; shard 1 gets its own live
        await emu.send_message(w.pat.id, w.extra["chan"].id, f"while away {w.guild.name}")
    back = make()
    back.session_id, back.seq = dropped.session_id, dropped.seq
    await back.connect()
    await back.resume()
    await back.read_until("RESUMED")
    assert sorted(back.guild_ids("MESSAGE_CREATE")) == expected(worlds, 0, 2)
    assert emu.gateway.log[-1][0] == "RESUME"
    other = shards[1]
    while len(other.guild_ids("MESSAGE_CREATE")) < len(expected(worlds, 1, 2)):
        await other.read_until("MESSAGE_CREATE")
    assert sorted(other.guild_ids("MESSAGE_CREATE")) == expected(worlds, 1, 2)


async def test_discord_py_auto_sharded_clients_split_the_guilds(six):
    """Two processes' worth of discord.py AutoShardedClients (shards 0,1 and 2,3 of 4):
    each caches only its guilds and hears only their messages."""
    emu, worlds, _make = six
    emu.max_concurrency = 16
    previous = point_discord_py_at(emu.api_base, emu.gateway_url)
    heard: dict[int, list[int]] = {0: [], 1: []}
    clients = []

    async def no_wait(shard_id, *, initial=False) -> None:
        return None
    try:
        for n, ids in enumerate(([0, 1], [2, 3])):
            intents = discord.Intents.none()
            intents.guilds = intents.guild_messages = intents.message_content = True
            client = discord.AutoShardedClient(intents=intents, shard_count=4, shard_ids=ids,
                                               guild_ready_timeout=0.05)
            client.before_identify_hook = no_wait
            client.event(_recorder(heard[n]))
            ready = asyncio.Event()
            client.event(_setter("on_ready", ready))
            task = asyncio.create_task(client.start(emu.bot_token))
            clients.append((client, task))
            await asyncio.wait_for(ready.wait(), 10)
        assert emu.shards_connected(range(4), 4)
        for n, (client, _task) in enumerate(clients):
            mine = sorted(w.guild.id for w in worlds if (w.guild.id >> 22) % 4 in (2 * n, 2 * n + 1))
            assert sorted(g.id for g in client.guilds) == mine
        for w in worlds:
            await emu.send_message(w.pat.id, w.extra["chan"].id, "hi")
        await emu.wait_for(lambda: len(heard[0]) + len(heard[1]) == 6)
        for n in (0, 1):
            assert sorted(heard[n]) == sorted(
                w.guild.id for w in worlds if (w.guild.id >> 22) % 4 in (2 * n, 2 * n + 1))
    finally:
        for client, task in clients:
            await client.close()
            with __import__("contextlib").suppress(BaseException):
                await asyncio.wait_for(task, 5)
        restore_discord_py(previous)


def _recorder(into: list[int]):
    async def on_message(message: discord.Message) -> None:
        into.append(message.guild.id)
    return on_message


def _setter(name: str, event: asyncio.Event):
    async def handler() -> None:
        event.set()
    handler.__name__ = name
    return handler


async def test_identifying_faster_than_max_concurrency_gets_invalid_session(six):
    emu, _worlds, make = six
    emu.identify_interval, emu.max_concurrency = 5.0, 2  # buckets: shard id % 2

    async def identify(shard) -> RawShard:
        s = make()
        await s.connect()
        await s.identify(shard)
        return s
    first = await identify([0, 4])
    await first.read_until("READY")
    other_bucket = await identify([1, 4])
    await other_bucket.read_until("READY")
    same_bucket = await identify([2, 4])  # bucket 0 again, within 5 s
    frame = json.loads((await asyncio.wait_for(same_bucket.ws.receive(), 5)).data)
    assert (frame["op"], frame["d"]) == (9, False)
    assert emu.gateway.connected_shards() == {(0, 4), (1, 4)}
    assert [op for op, _ in emu.gateway.log].count("IDENTIFY_REFUSED") == 1
