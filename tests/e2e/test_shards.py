"""Two bot processes, two shards each (SHARD_COUNT=4), on six guilds and one database.

Participants post throughout; one process is killed with SIGKILL; messages are posted,
edited and deleted while it is down; it restarts. Every message is stored once, edits and
deletions are honoured, no event is recorded twice, and each closing date locks its item
exactly once across both processes. Parametrised over SQLite (one file in WAL mode) and
PostgreSQL (TEST_DATABASE_URL; skipped with the reason when missing).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.emulator import Emulator, EmulatorForbidden, discord_py_targets, restore_discord_py
from bot.emulator.seed import seed_consultations
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import answer_text, finished
from tests.shared_db import Backend, query, shared_backend  # noqa: F401  (fixture)

SHARDS = 4
PROCESSES = {"A": "0,1", "B": "2,3"}
GUILDS = 6


def agenda(closes_at: datetime) -> str:
    stamp = closes_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ('[consultation]\ntitle = "Shared"\n'
            '[[items]]\ntitle = "Open topic"\nsummation = "Stays open."\n'
            '[[items]]\ntitle = "Closing topic"\nsummation = "Closes soon."\n'
            f'closes_at = {stamp}\n')


class World:
    """The emulator, six guilds, and what the participants did (to compare with storage)."""

    def __init__(self, emu: Emulator, worlds) -> None:
        self.emu = emu
        self.worlds = worlds
        self.texts: dict[int, str] = {}  # message id -> its latest text
        self.deleted: set[int] = set()
        self.open: dict[int, int] = {}  # guild id -> the open item's channel
        self.closing: dict[int, int] = {}  # guild id -> the closing item's channel
        self.posted = 0

    def owner(self, guild_id: int) -> str:
        shard = (guild_id >> 22) % SHARDS
        return next(name for name, ids in PROCESSES.items() if str(shard) in ids.split(","))

    async def post(self, w, channel_id: int, text: str) -> int:
        m = await self.emu.send_message(w.pat.id if self.posted % 2 else w.sam.id, channel_id, text)
        self.posted += 1
        self.texts[m.id] = text
        return m.id

    async def chatter(self, stop: asyncio.Event) -> None:
        """Participants post in every guild's open item until ``stop``."""
        n = 0
        while not stop.is_set():
            w = self.worlds[n % GUILDS]
            await self.post(w, self.open[w.guild.id], f"Comment {n} in {w.guild.name}.")
            n += 1
            await asyncio.sleep(0.01)  # a participant's pace, not a wait for the bot


def env_for(emu: Emulator, backend: Backend, name: str, agenda_file: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "DISCORD_TOKEN": emu.bot_token,
            "DISCORD_API_BASE": emu.api_base, "DISCORD_GATEWAY_URL": emu.gateway_url,
            "AGENDA_FILE": str(agenda_file), "SHARD_COUNT": str(SHARDS),
            "SHARD_IDS": PROCESSES[name], "LOG_LEVEL": os.environ.get("TEST_BOT_LOG", "INFO"),
            **backend.env}


async def start(proc: BotProcess, name: str, timeout: float = 60) -> None:
    """Start the process and wait until both of its shards are connected."""
    with open(proc.log_path, "ab") as log:
        proc.proc = await asyncio.create_subprocess_exec(
            *proc.argv, cwd=Path(__file__).resolve().parents[2], env=proc.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
    emu = proc.emulator
    ids = [int(i) for i in PROCESSES[name].split(",")]
    try:
        await emu.wait_for(lambda: emu.shards_connected(ids, SHARDS)
                           or proc.proc.returncode is not None, timeout)
    except TimeoutError:
        raise AssertionError(f"process {name} did not connect: {proc.log()[-3000:]}") from None
    if proc.proc.returncode is not None:
        raise AssertionError(f"process {name} exited ({proc.proc.returncode}): {proc.log()}")


async def published(emu: Emulator, result, procs: dict[str, BotProcess]) -> None:
    """Wait for a publish's answer; when it does not come, fail with what was answered and
    the end of each process's log (CI saw one such timeout, once, with nothing to read)."""
    try:
        await finished(emu, result, "Published", timeout=90)
    except TimeoutError:
        logs = "\n".join(f"--- process {name}:\n{p.log()[-2500:]}" for name, p in procs.items())
        raise AssertionError(f"no 'Published' within 90 s; answered: {answer_text(result)!r}\n"
                             f"{logs}") from None


@pytest.fixture
async def six():
    saved = discord_py_targets()
    emu = Emulator(max_concurrency=16, identify_interval=5.0)  # Discord: 1 IDENTIFY per bucket per 5 s
    worlds = seed_consultations(emu, GUILDS, shard_count=SHARDS)
    for w in worlds:
        w.extra["general"] = emu.create_text_channel(w.guild.id, "general")
    await emu.start()
    try:
        yield World(emu, worlds)
    finally:
        await emu.stop()
        restore_discord_py(saved)


def _channel(emu: Emulator, guild_id: int, suffix: str) -> int:
    return next(c.id for c in emu.state.channels.values()
                if c.guild_id == guild_id and c.name.endswith(suffix))


def closed_notices(emu: Emulator, channel_id: int) -> int:
    ch = emu.state.channels[channel_id]
    return sum(1 for mid in ch.message_ids
               if (m := emu.state.messages.get(mid)) and not m.deleted
               and m.author_id == emu.bot_user.id
               and any("has closed" in (e.get("description") or "") for e in m.embeds))


async def test_two_shard_processes_survive_a_kill_and_agree_on_one_database(
        six: World, shared_backend: Backend, tmp_path):  # noqa: F811
    world, emu = six, six.emu
    agenda_file = tmp_path / "agenda.toml"
    agenda_file.write_text(agenda(datetime.now(UTC) + timedelta(days=1)), encoding="utf-8")
    procs = {name: BotProcess(emu, env_for(emu, shared_backend, name, agenda_file),
                              tmp_path / f"bot-{name}.log") for name in PROCESSES}
    stop = asyncio.Event()
    chatter: asyncio.Task | None = None
    try:
        await asyncio.gather(*(start(p, name) for name, p in procs.items()))
        await emu.wait_for(lambda: emu.interactions.commands.get(None), timeout=30)
        # commands are global (no GUILD_ID): synced by one process, not by each
        syncs = [r for r in emu.requests if r.method == "PUT" and r.route
                 and r.route.endswith("/commands")]
        assert len(syncs) == 1, syncs

        # the closing date falls while process B is down (it is killed below)
        closes_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=25)
        agenda_file.write_text(agenda(closes_at), encoding="utf-8")
        publishes = [emu.slash(w.alice.id, w.extra["general"].id, "agenda publish")
                     for w in world.worlds]
        for result in publishes:  # each answered by the process owning the guild
            await published(emu, await result, procs)
        for w in world.worlds:
            world.open[w.guild.id] = _channel(emu, w.guild.id, "open-topic")
            world.closing[w.guild.id] = _channel(emu, w.guild.id, "closing-topic")
            await world.post(w, world.closing[w.guild.id], f"Before closing in {w.guild.name}.")

        chatter = asyncio.create_task(world.chatter(stop))
        await emu.wait_for(lambda: world.posted >= 60, timeout=30)
        procs["B"].proc.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
        await procs["B"].proc.wait()
        await emu.wait_for(lambda: not emu.shards_connected([2], SHARDS)
                           and not emu.shards_connected([3], SHARDS), timeout=15)

        # while B is down: posts go on; some earlier messages are edited or deleted
        earlier = sorted(world.texts)
        for mid in earlier[5:45:4]:
            m = emu.state.messages[mid]
            text = f"{world.texts[mid]} (edited while B was down)"
            await emu.edit_message(m.author_id, mid, text)
            world.texts[mid] = text
        for mid in earlier[7:47:6]:
            m = emu.state.messages[mid]
            if mid not in world.deleted:
                await emu.delete_message(m.author_id, mid)
                world.deleted.add(mid)
        reacted = set()
        for mid in earlier[3:40:5]:
            if mid in world.deleted:
                continue
            m = emu.state.messages[mid]
            w = next(w for w in world.worlds if w.guild.id == m.guild_id)
            voter = w.alice.id  # never an author of the chatter
            await emu.add_reaction(voter, mid, "👍")
            reacted.add((mid, voter, "👍"))
        await emu.wait_for(lambda: datetime.now(UTC) > closes_at + timedelta(seconds=1),
                           timeout=60, poll=0.2)  # participants keep posting meanwhile
        await start(procs["B"], "B")
        await emu.wait_for(lambda: world.posted >= 60 + 100, timeout=60)
        stop.set()
        await chatter
        chatter = None

        expected = {mid: text for mid, text in world.texts.items() if mid not in world.deleted}

        async def stored() -> dict[int, str | None]:
            return dict(await query(shared_backend, "SELECT message_id, content FROM comments"))

        async def votes() -> set[tuple[int, int, str]]:
            return set(await query(shared_backend,
                                   "SELECT c.message_id, r.user_id, r.emoji FROM reactions r "
                                   "JOIN comments c ON c.id = r.comment_id"))

        async def complete() -> bool:
            rows = await stored()
            return (all(rows.get(mid) == text for mid, text in expected.items())
                    and all(rows.get(mid) is None for mid in world.deleted)
                    and await votes() == reacted)

        async def all_closed() -> bool:
            return all(closed_notices(emu, ch) for ch in world.closing.values())
        deadline = asyncio.get_running_loop().time() + 90
        while not (await complete() and await all_closed()):
            if asyncio.get_running_loop().time() > deadline:
                rows = await stored()
                missing = [m for m, t in expected.items() if rows.get(m) != t]
                raise AssertionError(
                    f"{len(missing)} of {len(expected)} not stored as last written; closed: "
                    f"{[closed_notices(emu, c) for c in world.closing.values()]}\n"
                    f"A: {procs['A'].log()[-2000:]}\nB: {procs['B'].log()[-2000:]}")
            await asyncio.sleep(0.2)  # polling storage, as tests.e2e.conftest.eventually does

        # every message stored once, and none that was never posted
        rows = await query(shared_backend, "SELECT message_id, COUNT(*) FROM comments "
                                           "GROUP BY message_id")
        assert all(n == 1 for _, n in rows)
        assert {mid for mid, _ in rows} == set(world.texts)
        # no event recorded twice: one revision per edit, one lock per item
        dupes = await query(shared_backend,
                            "SELECT comment_id, content, COUNT(*) FROM comment_revisions "
                            "GROUP BY comment_id, content HAVING COUNT(*) > 1")
        assert dupes == []
        assert len(await query(shared_backend, "SELECT comment_id, user_id, emoji FROM reactions")
                   ) == len(reacted)
        closing_items = await query(
            shared_backend, "SELECT i.id FROM items i JOIN consultations c "
                            "ON c.id = i.consultation_id WHERE i.closes_at IS NOT NULL")
        assert len(closing_items) == GUILDS
        locks = dict(await query(shared_backend,
                                 "SELECT item_id, COUNT(*) FROM moderation_actions "
                                 "WHERE action = 'lock' GROUP BY item_id"))
        assert {item_id: locks.get(item_id, 0) for (item_id,) in closing_items} == {
            item_id: 1 for (item_id,) in closing_items}
        for guild_id, channel_id in world.closing.items():
            assert closed_notices(emu, channel_id) == 1, guild_id
            w = next(w for w in world.worlds if w.guild.id == guild_id)
            with pytest.raises(EmulatorForbidden):
                await emu.send_message(w.pat.id, channel_id, "too late")
        # each guild's work was done by the process owning it (its catch-up, its lock)
        assert "Traceback" not in procs["A"].log() + procs["B"].log()
    finally:
        stop.set()
        if chatter is not None:
            with contextlib.suppress(Exception):
                await chatter
        for p in procs.values():
            if p.proc is not None and p.proc.returncode is None:
                with contextlib.suppress(Exception):
                    await p.stop(timeout=30)
            p.kill()


async def test_two_processes_on_the_same_shards_lock_a_closing_item_once(emulator, start_client,
                                                                         tmp_path):
    """A rolling restart: the new process starts before the old one stops, both with every
    guild. The closing date has passed; both see it at once. The claim in the database lets
    one of them lock the item (the other, locking too, would fail on the stored lock and put
    the channel's old overwrites back: an item locked in storage but open in Discord)."""
    from bot.runtime.client import ConsultationBot
    from tests.e2e.conftest import make_settings

    emu, g = emulator.emu, emulator.guild
    closes = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = ('[consultation]\ntitle = "Timed"\n[[items]]\ntitle = "Closing soon"\n'
            f'summation = "Comments close in an hour."\ncloses_at = {closes}\n')
    general = emu.create_text_channel(g.id, "general")
    first = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu, timeout=30)
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish",
                                        {"file": emu.upload("timed.toml", text.encode())}),
                   "Published")
    (item,) = await first.repo.agenda.guild_items(g.id)
    await first.close()

    shift = [timedelta(0)]

    def clock():
        return datetime.now(UTC) + shift[0]
    old, new = (ConsultationBot(make_settings(tmp_path, emulator), clock=clock,
                                guild_ready_timeout=0.05) for _ in range(2))
    await asyncio.gather(start_client(old, emu, timeout=30), start_client(new, emu, timeout=30))
    # The two calls below are the processes' look at the closing date: their own 30-second
    # loops are stopped first, or a loop's first pass (which starts once its start-up
    # re-check of locks is done, perhaps after the clock moves) could be the one holding
    # the claim when the calls return, and the lock would land after the assertions.
    for bot in (old, new):
        loop = bot.get_cog("ModerationCog").close_due_items
        task = loop.get_task()
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    shift[0] = timedelta(hours=2)  # the closing date passes; both processes look at once
    await asyncio.gather(*(bot.get_cog("ModerationCog").close_due_items() for bot in (old, new)))
    locks = await old.repo.moderation.actions(guild_id=g.id, item_id=None, limit=50, offset=0)
    assert [a.action for a in locks[0]].count("lock") == 1
    assert closed_notices(emu, item.channel_id) == 1
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, item.channel_id, "too late")


async def test_a_shard_process_catches_up_only_the_guilds_it_owns(start_client, tmp_path):
    """Four guilds on four shards, all in one database; the process of shards 0 and 1
    starts after messages were posted everywhere. It reads the history of its guilds'
    channels only: the other guilds' are the other process's (it gets their events)."""
    from bot.runtime.client import ConsultationBot, ShardedConsultationBot, create_bot
    from bot.settings import Settings

    saved = discord_py_targets()
    emu = Emulator(max_concurrency=16, identify_interval=5.0)  # Discord: 1 IDENTIFY per bucket per 5 s
    worlds = seed_consultations(emu, 4, shard_count=SHARDS)
    generals = [emu.create_text_channel(w.guild.id, "general") for w in worlds]
    await emu.start()
    try:
        agenda_file = tmp_path / "agenda.toml"
        agenda_file.write_text(agenda(datetime.now(UTC) + timedelta(days=1)), encoding="utf-8")
        base = dict(_env_file=None, database_path=tmp_path / "shared.db", agenda_file=agenda_file)
        everything = create_bot(Settings(**base), guild_ready_timeout=0.05)
        assert type(everything) is ConsultationBot  # no SHARD_COUNT: the one-process bot
        await start_client(everything, emu, timeout=30)
        for w, general in zip(worlds, generals, strict=True):
            await finished(emu, await emu.slash(w.alice.id, general.id, "agenda publish"),
                           "Published")
        await everything.close()
        posted = {w.guild.id: [(await emu.send_message(w.pat.id, _channel(emu, w.guild.id,
                                                                           "open-topic"),
                                                        f"While down {n}.")).id
                               for n in range(3)] for w in worlds}
        mark = len(emu.requests)
        bot = create_bot(Settings(**base, shard_count=SHARDS, shard_ids="0-1"),
                         guild_ready_timeout=0.05)
        assert isinstance(bot, ShardedConsultationBot)
        await start_client(bot, emu, timeout=30)
        assert sorted(g.id for g in bot.guilds) == sorted(
            w.guild.id for w in worlds if (w.guild.id >> 22) % SHARDS in (0, 1))
        cog = bot.get_cog("DiscussionCog")
        await emu.wait_for(lambda: cog.catchup.runs >= 1, timeout=30)
        for w in worlds:
            mine = (w.guild.id >> 22) % SHARDS in (0, 1)
            found = [await bot.repo.discussion.comment(mid) for mid in posted[w.guild.id]]
            assert all(found) if mine else not any(found), w.guild.name
            channel_id = _channel(emu, w.guild.id, "open-topic")
            reads = [r for r in emu.requests[mark:]
                     if r.method == "GET" and r.path.endswith(f"/channels/{channel_id}/messages")]
            assert bool(reads) == mine, w.guild.name
    finally:
        await emu.stop()
        restore_discord_py(saved)


async def test_a_shard_with_a_new_session_catches_up_what_it_missed(start_client, tmp_path):
    """discord.py sends READY to the bot once, when all its shards are first ready; a shard
    that later starts a new session (its old one invalidated) is only "shard ready". What
    its guilds said meanwhile is caught up all the same."""
    from bot.runtime.client import create_bot
    from bot.settings import Settings

    saved = discord_py_targets()
    emu = Emulator(max_concurrency=16, identify_interval=5.0)  # Discord: 1 IDENTIFY per bucket per 5 s
    worlds = seed_consultations(emu, 2, shard_count=2)
    generals = [emu.create_text_channel(w.guild.id, "general") for w in worlds]
    await emu.start()
    try:
        agenda_file = tmp_path / "agenda.toml"
        agenda_file.write_text(agenda(datetime.now(UTC) + timedelta(days=1)), encoding="utf-8")
        bot = create_bot(Settings(_env_file=None, database_path=tmp_path / "s.db",
                                  agenda_file=agenda_file, shard_count=2),
                         guild_ready_timeout=0.05)
        await start_client(bot, emu, timeout=30)
        for w, general in zip(worlds, generals, strict=True):
            await finished(emu, await emu.slash(w.alice.id, general.id, "agenda publish"),
                           "Published")
        cog = bot.get_cog("DiscussionCog")
        runs = cog.catchup.runs
        w = worlds[0]  # on shard 0
        channel_id = _channel(emu, w.guild.id, "open-topic")
        emu.hold_gateway()
        await emu.invalidate_session(resumable=False, shard_id=0)
        await emu.wait_for(lambda: not emu.shards_connected([0], 2), timeout=10)
        missed = [(await emu.send_message(w.pat.id, channel_id, f"Missed {n}.")).id
                  for n in range(3)]
        emu.release_gateway()
        await emu.wait_for(lambda: emu.shards_connected([0, 1], 2), timeout=30)
        await emu.wait_for(lambda: cog.catchup.runs > runs and cog.catchup.settled, timeout=30)
        for mid in missed:
            assert await bot.repo.discussion.comment(mid) is not None
    finally:
        await emu.stop()
        restore_discord_py(saved)
