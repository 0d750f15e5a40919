"""National scale (#17): the real bot (`python -m bot run`, its own process) through the
emulator, on a consultation that already holds N comments.

    python bench/scale.py --comments 100000 1000000 [--json PATH] [--burst 2000]

For each size it builds (or takes from its cache) a database of N comments with their
reactions, published on the London agenda, and the emulator's world that goes with it;
then starts the bot on a copy and measures, in one run:

- ``ready_s``: process start to discord.py's on_ready (the bot's "ready:" log line);
- ``caught_up_s``: process start to the end of the restart's catch-up ("catch-up done");
- ``warm_s``: process start to the end of the warm-up after catch-up ("warm-up done");
  ``primed_after_warm_s``: how much later the summary engine's background run on the
  biggest topics ended (the figures below are measured as they come, while it runs);
- ``peak_rss_mb``: the bot process's peak resident memory (VmHWM) over the whole run,
  and ``rss_at_warm_mb`` the same peak when it was warm;
- ``max_loop_stall_ms``: the longest the bot's event loop was blocked, from its own probe
  (LOOP_LAG_PROBE=1, bot/runtime/loop_lag.py), and the phase of this bench it happened in;
  ``loop_stalls_over_100ms`` and ``loop_late_s`` (all the probe's lateness added up: a loop
  saturated by many shorter stalls shows there);
- ``heartbeat_max_behind_s``: the longest the bot took to handle a heartbeat ACK, from
  discord.py's own "Can't keep up" warnings (logged over 10 s; 0: none), and
  ``heartbeat_late_warnings`` how many; warnings of exactly one heartbeat interval are a
  discord.py bookkeeping race with a fast local gateway, counted apart
  (``heartbeat_ack_race_warnings``, see ``heartbeat_lag``);
- ``about_s``: /about in the largest topic once warm (until the answer is complete), and
  ``about_after_comment_s`` right after one new comment in another topic;
- ``summary_cold_s``: the first /summary of the largest topic after the start;
  ``summary_warm_s``: /summary of it again after one new comment there;
- ``map_s``: /map of the whole consultation (PNG and text), for the loop stalls during it;
- ``live_ingest_per_s``: messages per second the live path stores during a burst of
  ``--burst`` messages sent through the emulator as fast as it can (into five topics),
  timed from the first message sent until the last one is stored;
- ``raw_sqlite_txn_per_s``: rows written with plain sqlite3 into the bot's own comments
  table (a fresh file, current migrations), one transaction per row, the bot's pragmas, same
  disk, right after the bot stopped (max(--burst, 5,000) rows); ``live_ingest_ratio`` is
  the live figure over it (target >= 0.30).

Beside them: ``bytes_per_comment`` (the database file over its comments, with the features
the bot stores for each, and without them) and how long the build took. The table shows
each figure next to the issue's target (targets are for 1M).

The database is built through the repository's bulk ingestion (DiscussionStore.record_new
and add_reactions, large transactions), then each comment's features are stored by the
bot's own writer (InsightService.persist_features, what the live bot runs after each new
comment), so it follows the current schema and a restart loads features, not computes
them; the cache (under
``--cache-dir``, default the temp dir) is keyed by the schema and by what shapes the data,
and rebuilt when they change. Comments are bench.corpus text spread over 14 days in the
agenda's item channels (half in the first topic); the emulator holds each channel's newest
ones, those catch-up re-checks after a restart, with the same reactions, so the restart is
a normal one: nothing missing, nothing deleted.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.corpus import make_corpus  # noqa: E402
from bench.ingest import make_rows, raw_txn_rate  # noqa: E402
from bot.emulator import Emulator, User  # noqa: E402
from bot.emulator.gateway import HEARTBEAT_INTERVAL_MS  # noqa: E402
from bot.emulator.seed import seed_consultation  # noqa: E402
from bot.runtime.loop_lag import LoopLagProbe  # noqa: E402
from bot.storage import Repository  # noqa: E402
from bot.storage.database import migration_files  # noqa: E402
from bot.storage.models import IncomingMessage  # noqa: E402

AGENDA = ROOT / "data" / "agendas" / "london-2011.toml"
#: bump when the way the database or the world is built changes (the cache key has it)
BUILD_FORMAT = 2
DAYS = 14  # the comments span this long, ending an hour before the build
TOP_SHARE = 0.5  # of the comments, in the first topic (the one /summary is asked about)
CHUNK = 20_000  # comments generated and stored per transaction
AGREE, DISAGREE = "👍", "👎"
AUTHOR_BASE = 5_000_000_000  # participants' user ids (not members: Discord sends no list)
DISCORD_EPOCH_MS = 1_420_070_400_000
RAW_ROWS = 5000  # rows for the raw sqlite3 figure, at least (under a second: steadier)

TARGETS = {  # issue #17, at 1M comments; (comparison, value)
    "warm_s": ("<=", 10.0), "peak_rss_mb": ("<=", 1536.0), "max_loop_stall_ms": ("<=", 100.0),
    "about_s": ("<=", 0.2), "about_after_comment_s": ("<=", 0.2),
    "summary_warm_s": ("<=", 1.0), "summary_cold_s": ("<=", 3.0),
    "live_ingest_ratio": (">=", 0.30), "bytes_per_comment": ("<=", 300.0),
}
FIELDS = ("comments", "ready_s", "caught_up_s", "warm_s", "peak_rss_mb", "rss_at_warm_mb", "max_loop_stall_ms",
          "max_loop_stall_phase", "startup_loop_stall_ms", "heartbeat_max_behind_s", "about_s", "about_after_comment_s", "summary_cold_s",
          "summary_warm_s", "map_s", "live_ingest_per_s", "raw_sqlite_txn_per_s", "live_ingest_ratio",
          "bytes_per_comment", "build_s", "measure_s")


# --------------------------------------------------------------------------- the cache


def cache_key() -> str:
    """The schema (migrations), the features' version and everything that shapes the built
    data or the world."""
    from bot.core.summary import FEATURES_VERSION  # stored features of another are dropped

    digest = hashlib.sha256(f"{BUILD_FORMAT}/{FEATURES_VERSION}".encode())
    for _version, name, sql in migration_files():
        digest.update(name.encode() + sql.encode())
    for path in (ROOT / "bench" / "corpus.py", AGENDA, ROOT / "bot" / "emulator" / "state.py"):
        digest.update(path.read_bytes())
    return f"schema{len(migration_files())}-{digest.hexdigest()[:12]}"


@dataclass
class World:
    """A built consultation: the database file and the emulator's state beside it."""

    folder: Path
    meta: dict = field(default_factory=dict)
    built_now: bool = False

    @property
    def database(self) -> Path:
        return self.folder / "scale.db"

    @property
    def state_file(self) -> Path:
        return self.folder / "emulator.pickle"

    @property
    def meta_file(self) -> Path:
        return self.folder / "world.json"

    def ready(self) -> bool:
        return self.meta_file.exists() and self.database.exists() and self.state_file.exists()


def restore_emulator(world: World) -> Emulator:
    """A fresh emulator (real clock) serving the built world's state."""
    saved = pickle.loads(world.state_file.read_bytes())  # noqa: S301 - our own cache file
    emu = Emulator()
    state = saved["state"]
    state.clock = emu.clock
    state.ids.clock = emu.clock
    emu.state = state
    emu.bot_user = state.users[saved["bot_user_id"]]
    emu.application_id = saved["bot_user_id"]
    emu.interactions.commands = saved["commands"]
    return emu


def save_emulator(emu: Emulator, path: Path) -> None:
    path.write_bytes(pickle.dumps({"state": emu.state, "bot_user_id": emu.bot_user.id,
                                   "commands": emu.interactions.commands}))


# --------------------------------------------------------------------------- building


def snowflake(t: float, seq: int) -> int:
    return ((int(t * 1000) - DISCORD_EPOCH_MS) << 22) | (seq & 0x3FFFFF)


def shares(n: int, places: int) -> list[int]:
    """How many comments each channel gets: TOP_SHARE in the first, the rest evenly."""
    if places == 1:
        return [n]
    top = int(n * TOP_SHARE)
    rest = [(n - top) // (places - 1)] * (places - 1)
    rest[0] += n - top - sum(rest)
    return [top, *rest]


async def publish_world(folder: Path, published_at: float) -> dict:
    """The seeded guild with the London agenda published by the bot itself (in-process),
    as if `published_at`: its emulator state is saved, its database kept."""
    from bot.emulator.harness import ClientRunner
    from bot.runtime.client import ConsultationBot
    from bot.settings import Settings

    emu = Emulator()
    emu.clock.advance(published_at - emu.clock.now())
    world = seed_consultation(emu)
    askers = [emu.add_member(world.guild.id, f"asker{i}").id for i in range(8)]
    posters = [emu.add_member(world.guild.id, f"poster{i}").id for i in range(40)]
    general = emu.create_text_channel(world.guild.id, "general")
    await emu.start()
    bot = ConsultationBot(Settings(_env_file=None, database_path=folder / "scale.db",
                                   guild_id=world.guild.id, agenda_file=AGENDA),
                          guild_ready_timeout=0.05)
    runner = ClientRunner(bot, emu)
    try:
        await runner.start(timeout=60)
        result = await emu.slash(world.alice.id, general.id, "agenda publish", timeout=60)
        await emu.wait_for(lambda: (result.message and result.message.content or "")
                           .startswith("Published"), timeout=300)
    finally:
        await runner.close()
        await emu.stop()
    save_emulator(emu, folder / "emulator.pickle")
    return {"guild_id": world.guild.id, "organiser_id": world.alice.id, "askers": askers,
            "posters": posters, "general_id": general.id}


async def build(world: World, n: int, *, log=print) -> None:
    """Build the world of `n` comments into `world.folder` (replacing what is there)."""
    progress = sys.stdout.isatty()
    from bot.runtime.catchup import HISTORY_PAGE, CatchUp

    started = time.perf_counter()
    if world.folder.exists():
        shutil.rmtree(world.folder)
    world.folder.mkdir(parents=True)
    end = time.time() - 3600  # the last comment, an hour before the build
    begin = end - DAYS * 86400
    meta = await publish_world(world.folder, published_at=begin - 3600)
    published = time.perf_counter() - started

    repo = await Repository.open(world.database)
    try:
        items = [i for i in await repo.agenda.all_items() if i.parent_id is None and i.channel_id]
        items.sort(key=lambda i: i.position)
        counts = shares(n, len(items))
        participants = max(12, n // 4)
        rng = random.Random(17)
        window_size = CatchUp.recheck_pages * HISTORY_PAGE + HISTORY_PAGE  # re-checked + margin
        window_from = end - CatchUp.recheck_before.total_seconds()
        windows: dict[int, list[tuple]] = {}
        seq = 0
        reactions: list[int] = []
        writing: asyncio.Task | None = None

        async def store(item_id: int, batch: list, votes: list) -> None:
            await repo.discussion.record_new(item_id, batch)
            reactions.append(await repo.discussion.add_reactions(votes))

        for place, (item, count) in enumerate(zip(items, counts, strict=True)):
            # times evenly spread over the span, slightly jittered, in order
            step = (end - begin) / max(count, 1)
            window: list[tuple] = []
            for start in range(0, count, CHUNK):
                size = min(CHUNK, count - start)
                corpus = make_corpus(size, seed=place * 1000 + start // CHUNK)
                batch, votes = [], []
                for k, c in enumerate(corpus.comments):
                    t = begin + (start + k + rng.random() * 0.9) * step
                    seq += 1
                    mid = snowflake(t, seq)
                    author = AUTHOR_BASE + int(rng.random() * participants)
                    voters = [(AUTHOR_BASE + int(rng.random() * participants), AGREE)
                              for _ in range(c.agree)]
                    voters += [(AUTHOR_BASE + int(rng.random() * participants), DISAGREE)
                               for _ in range(c.disagree)]
                    voters = [(u, e) for u, e in dict.fromkeys(voters) if u != author]
                    batch.append((IncomingMessage(
                        message_id=mid, channel_id=item.channel_id, author_id=author,
                        content=c.text, created_at=datetime.fromtimestamp(
                            ((mid >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)), [], []))
                    votes += [(mid, u, e) for u, e in voters]
                    if t >= window_from:
                        window.append((mid, author, c.text, t, voters))
                # SQLite writes the previous chunk (in aiosqlite's thread) while this one
                # was generated; chunks are stored in order, each in one transaction
                if writing is not None:
                    await writing
                writing = asyncio.create_task(store(item.id, batch, votes))
                window = window[-window_size:]
                if progress:
                    log(f"  built {seq:,}/{n:,} comments", end="\r")
            windows[item.channel_id] = window
        if writing is not None:
            await writing
        reactions_total = sum(reactions)
        without_features = world.database.stat().st_size
        # The live bot stores each new comment's features shortly after it (InsightService's
        # writer): a database it built holds them, and a restart loads rather than computes
        # them. The same writer stores them here.
        featured = time.perf_counter()
        from bot.core.insight import InsightService
        await InsightService(repo, [AGREE], [DISAGREE]).persist_features()
        features_s = time.perf_counter() - featured
    finally:
        await repo.close()
    if progress:
        log("")
    stored = time.perf_counter() - started - published

    # The emulator holds the newest comments of each channel (what catch-up re-checks).
    emu = restore_emulator(world)
    for channel_id, window in windows.items():
        for mid, author, text, _t, voters in window:
            if author not in emu.state.users:
                emu.state.users[author] = User(author, f"p{author - AUTHOR_BASE}")
            m = emu.post_message(author, channel_id, {"content": text}, check=False,
                                 message_id=mid)
            m.timestamp = emu.clock.iso(((mid >> 22) + DISCORD_EPOCH_MS) / 1000)
            for user, emoji in voters:
                if user not in emu.state.users:
                    emu.state.users[user] = User(user, f"p{user - AUTHOR_BASE}")
                m.reactions.setdefault(emoji, []).append(user)
    save_emulator(emu, world.state_file)
    size = world.database.stat().st_size
    meta.update({
        "comments": n, "reactions": reactions_total, "cache_key": cache_key(),
        "topics": [{"item_id": i.id, "channel_id": i.channel_id, "comments": c}
                   for i, c in zip(items, counts, strict=True)],
        "in_emulator": sum(len(w) for w in windows.values()),
        "database_bytes": size, "bytes_per_comment": round(size / max(n, 1), 1),
        "bytes_per_comment_without_features": round(without_features / max(n, 1), 1),
        "features_s": round(features_s, 1),
        "build_s": round(time.perf_counter() - started, 1),
        "publish_s": round(published, 1), "store_s": round(stored, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    world.meta_file.write_text(json.dumps(meta, indent=2))
    world.meta = meta


async def world_for(n: int, cache_dir: Path, *, rebuild: bool = False, log=print) -> World:
    world = World(cache_dir / cache_key() / f"{n}")
    if rebuild or not world.ready():
        log(f"building {n:,} comments into {world.folder} ...")
        await build(world, n, log=log)
        world.built_now = True
        log(f"  built in {world.meta['build_s']} s")
    else:
        world.meta = json.loads(world.meta_file.read_text())
        log(f"{n:,} comments from the cache ({world.folder}, built "
            f"{world.meta['built_at']} in {world.meta['build_s']} s)")
    return world


# --------------------------------------------------------------------------- measuring


class Log:
    """The bot's log file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = ""

    def read(self) -> str:
        with open(self.path, encoding="utf-8", errors="replace") as f:
            f.seek(len(self.text.encode("utf-8", errors="replace")))
            self.text += f.read()
        return self.text


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


class Run:
    """One measured run of the bot process on a copy of a built world."""

    def __init__(self, world: World, folder: Path, timeout: float) -> None:
        self.world = world
        self.folder = folder
        self.timeout = timeout
        self.emu: Emulator | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.log = Log(folder / "bot.log")
        self.phases: list[tuple[str, float, float]] = []  # (name, wall start, wall end)
        self.failures: list[str] = []  # what users would have seen fail
        self.t0 = 0.0

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.folder / 'scale.db'}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def wait_log(self, marker: str, after: int = 0) -> float:
        """Seconds since the process started when `marker` appears in the log."""
        deadline = time.perf_counter() + self.timeout
        while True:
            text = self.log.read()
            if marker in text[after:]:
                return time.perf_counter() - self.t0
            if self.proc.returncode is not None:
                raise SystemExit(f"the bot exited ({self.proc.returncode}):\n{text[-3000:]}")
            if time.perf_counter() > deadline:
                raise SystemExit(f"no {marker!r} in the bot's log after {self.timeout} s:\n"
                                 f"{text[-3000:]}")
            await asyncio.sleep(0.01)

    async def command(self, name: str, user_id: int, channel_id: int) -> float:
        """Seconds until the bot's answer is complete, or until Discord refused it (a missed
        deadline: "Unknown interaction"; noted in `self.failures`)."""
        start = time.perf_counter()
        wall = time.time()
        result = await self.emu.start_slash(user_id, channel_id, name)
        try:
            await self.emu.wait_for(lambda: result.done or result.errors, timeout=self.timeout)
        except TimeoutError:
            raise SystemExit(f"/{name} got no complete answer within {self.timeout} s") from None
        took = time.perf_counter() - start
        self.phases.append((f"/{name}", wall, time.time()))
        if result.errors:
            self.failures.append(f"/{name} after {took:.2f} s: {result.errors[0]}")
        return took

    async def new_comment(self, poster: int, channel_id: int, text: str) -> None:
        wall = time.time()
        m = await self.emu.send_message(poster, channel_id, text)
        deadline = time.perf_counter() + self.timeout
        while not await asyncio.to_thread(
                self.query, "SELECT 1 FROM comments WHERE message_id = ?", (m.id,)):
            if time.perf_counter() > deadline:
                raise SystemExit("a new comment was not stored in time")
            await asyncio.sleep(0.02)
        self.phases.append(("new comment", wall, time.time()))

    async def burst(self, n: int, posters: list[int], channels: list[int]) -> tuple[float, float]:
        """(messages stored per second, messages the emulator sent per second)."""
        corpus = make_corpus(n, seed=99)
        wall = time.time()
        start = time.perf_counter()
        first = last = None
        for i, c in enumerate(corpus.comments):
            m = self.emu.post_message(posters[i % len(posters)], channels[i % len(channels)],
                                      {"content": c.text})
            first = first or m.id
            last = m.id
            if i % 20 == 19:
                await asyncio.sleep(0)  # let the gateway send what is queued
        sent = time.perf_counter() - start
        deadline = time.perf_counter() + self.timeout
        while True:
            (stored,), = await asyncio.to_thread(
                self.query, "SELECT COUNT(*) FROM comments WHERE message_id BETWEEN ? AND ?",
                (first, last))
            if stored >= n:
                break
            if time.perf_counter() > deadline:
                raise SystemExit(f"the burst was not stored in time ({stored}/{n})")
            await asyncio.sleep(0.02)
        took = time.perf_counter() - start
        self.phases.append(("burst", wall, time.time()))
        return n / took, n / max(sent, 1e-9)

    async def measure(self, burst: int) -> dict:
        meta = self.world.meta
        shutil.copyfile(self.world.database, self.folder / "scale.db")
        self.emu = emu = restore_emulator(self.world)
        await emu.start()
        env = {"PATH": os.environ["PATH"], "DISCORD_TOKEN": emu.bot_token,
               "DISCORD_API_BASE": emu.api_base, "DISCORD_GATEWAY_URL": emu.gateway_url,
               "GUILD_ID": str(meta["guild_id"]), "AGENDA_FILE": str(AGENDA),
               "DATABASE_PATH": str(self.folder / "scale.db"), "LOG_LEVEL": "INFO",
               "LOOP_LAG_PROBE": "1", "LOOP_LAG_REPORT": str(self.folder / "loop_lag.json"),
               "LOOP_LAG_STACKS": "1"}
        topics = meta["topics"]
        top, other = topics[0]["channel_id"], topics[1 % len(topics)]["channel_id"]
        askers, posters = meta["askers"], meta["posters"]
        out: dict = {"comments": meta["comments"]}
        try:
            with open(self.log.path, "wb") as log:
                self.t0 = time.perf_counter()
                wall = time.time()
                self.proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
            out["ready_s"] = round(await self.wait_log("ready: connected"), 2)
            self.phases.append(("startup", wall, time.time()))
            ready_wall = time.time()
            out["caught_up_s"] = round(await self.wait_log("catch-up done: "), 2)
            caught_up_wall = time.time()
            self.phases.append(("catch-up", ready_wall, caught_up_wall))
            out["warm_s"] = round(await self.wait_log("warm-up done"), 2)
            self.phases.append(("warm-up", caught_up_wall, time.time()))
            out["rss_at_warm_mb"] = peak_rss_mb(self.proc.pid)
            out["about_s"] = round(await self.command("about", askers[0], top), 3)
            await self.new_comment(posters[0], other, "One more thought on enforcement and "
                                   "the budget of the police cyber units.")
            out["about_after_comment_s"] = round(await self.command("about", askers[1], top), 3)
            out["summary_cold_s"] = round(await self.command("summary", askers[2], top), 3)
            await self.new_comment(posters[1], top, "Ratifying the Budapest Convention would "
                                   "help cross-border co-operation, I agree.")
            out["summary_warm_s"] = round(await self.command("summary", askers[3], top), 3)
            out["map_s"] = round(await self.command("map", askers[4], top), 3)
            channels = [t["channel_id"] for t in topics[:5]]
            live, sent = await self.burst(burst, posters, channels)
            out["live_ingest_per_s"] = round(live, 1)
            out["emulator_sent_per_s"] = round(sent, 1)
            out["burst"] = burst
            out["peak_rss_mb"] = peak_rss_mb(self.proc.pid)
        finally:
            if self.proc is not None and self.proc.returncode is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.proc.wait(), 120)
                except TimeoutError:
                    self.proc.kill()
                    await self.proc.wait()
            await emu.stop()
        out["measure_s"] = round(time.perf_counter() - self.t0, 1)
        out.update(self.loop_stalls(ready_wall))
        out["catchup"] = self.catchup_stats()
        out["primed_after_warm_s"] = self.primed_after_warm()
        out["failures"] = self.failures
        out.update(self.heartbeat_lag())
        return out

    def loop_stalls(self, ready_wall: float) -> dict:
        """The probe's worst stalls, by phase of this run. Stalls before the bot is ready
        (imports, opening the database, loading the cogs: nobody can ask anything yet) are
        reported apart from those once it is connected, which the target is about."""
        report = json.loads((self.folder / "loop_lag.json").read_text())
        by_phase: dict[str, float] = {}
        for stall in report["worst"]:
            phase = next((name for name, a, b in self.phases
                          if a - 0.05 <= stall["began_at"] <= b), "between phases")
            by_phase[phase] = max(by_phase.get(phase, 0.0), stall["stall_ms"])
        served = [s for s in report["worst"] if s["began_at"] >= ready_wall]
        startup = [s for s in report["worst"] if s["began_at"] < ready_wall]
        if len(report["worst"]) >= LoopLagProbe.keep and not served:
            raise SystemExit("the probe kept only stalls from before ready: raise its `keep`")
        worst = served[0] if served else {"stall_ms": 0.0, "began_at": 0.0}
        phase = next((name for name, a, b in self.phases
                      if a - 0.05 <= worst["began_at"] <= b), "between phases")
        return {"max_loop_stall_ms": worst["stall_ms"], "max_loop_stall_phase": phase,
                "startup_loop_stall_ms": startup[0]["stall_ms"] if startup else 0.0,
                "loop_stalls_by_phase_ms": by_phase, "loop_probe_samples": report["samples"],
                "loop_stalls_over_100ms": report["stalls_over_100ms"],
                "loop_late_s": report["late_s"],
                "worst_stall_where": _where([s for s in report.get("stacks") or []
                                             if s["began_at"] >= ready_wall])}

    def heartbeat_lag(self) -> dict:
        """discord.py's "Can't keep up, ... websocket is N s behind" warnings. N is the time
        from the keep-alive thread's last recorded send to the ACK. That thread records a send
        only once the loop has sent it, so an ACK the emulator answers at once can be read
        before the thread records its send: N is then the whole heartbeat interval (41.25 s),
        an artefact of a local gateway on a busy machine, not lag. Only the other warnings
        mean the bot's loop was too busy to read the websocket (on Discord, a connection whose
        heartbeats go unanswered is a zombie that discord.py closes and reconnects)."""
        behind = [float(m.group(1)) for m in re.finditer(
            r"websocket is ([0-9.]+)s behind", self.log.read())]
        race = [b for b in behind if abs(b - HEARTBEAT_INTERVAL_S) < 1.0]
        late = [b for b in behind if abs(b - HEARTBEAT_INTERVAL_S) >= 1.0]
        return {"heartbeat_late_warnings": len(late),
                "heartbeat_max_behind_s": max(late, default=0.0),
                "heartbeat_ack_race_warnings": len(race)}

    def primed_after_warm(self) -> float | None:
        """How long after "warm-up done" the background priming of the summary engine on
        the biggest topics ended (InsightService.prime; the figures above are measured while
        it runs, as a user asking at once would see them); None if it had not ended."""
        primed = re.search(r"summary engine primed on \d+ topics in ([0-9.]+) s", self.log.read())
        return float(primed.group(1)) if primed else None

    def catchup_stats(self) -> dict:
        """What the restart's catch-up did, from its log line: a consistent world has
        nothing to record and nothing deleted."""
        line = next((x for x in self.log.read().splitlines() if "catch-up done: " in x), None)
        if line is None:
            raise SystemExit("no catch-up line in the bot's log")
        stats = ast.literal_eval(line.split("catch-up done: ", 1)[1])
        if stats.get("deleted") or stats.get("recorded"):
            raise SystemExit(f"the built world is inconsistent: catch-up changed it: {stats}")
        return stats


#: the emulator's gateway heartbeat interval (bot.emulator.gateway.HEARTBEAT_INTERVAL_MS)
HEARTBEAT_INTERVAL_S = HEARTBEAT_INTERVAL_MS / 1000


def _where(stacks: list[dict]) -> list[str]:
    """Where the worst served stall was: the innermost lines of our own code in the loop's
    stack and in each other busy thread's (all of each stack is in loop_lag.json)."""
    if not stacks or not stacks[0]["stacks"]:
        return []
    where = [f"{stacks[0]['stall_ms']} ms"]
    for n, part in enumerate(stacks[0]["stacks"][0].split("--- another thread, busy:")):
        lines = [x.strip() for x in part.splitlines() if x.strip().startswith("File")]
        ours = [x for x in lines if not any(lib in x for lib in ("/site-packages/", "/lib/python3",
                                                                  "<frozen "))]
        where += [("loop: " if n == 0 else "thread: ") + x for x in (ours or lines)[-2:]]
    return where


def raw_sqlite_txn_rate(folder: Path, n: int) -> float:
    """Plain sqlite3, one transaction per row, into the bot's own comments table (a fresh
    file with the current migrations and the bot's pragmas): bench/ingest.py's measure."""
    return raw_txn_rate(make_rows(n, channel_id=555), folder)


async def measure_size(n: int, args: argparse.Namespace) -> dict:
    world = await world_for(n, args.cache_dir, rebuild=args.rebuild)
    with tempfile.TemporaryDirectory(prefix="scale-run-") as tmp:
        folder = Path(tmp)
        timeout = args.step_timeout or max(120.0, n / 1000)
        print(f"measuring {n:,} comments (timeout {timeout:.0f} s a step) ...", flush=True)
        out = await Run(world, folder, timeout).measure(args.burst)
        raw_rows = max(args.burst, RAW_ROWS)
        out["raw_sqlite_txn_per_s"] = round(
            await asyncio.to_thread(raw_sqlite_txn_rate, folder, raw_rows), 1)
        out["raw_sqlite_rows"] = raw_rows
        if args.keep_log:
            shutil.copyfile(folder / "bot.log", args.keep_log.with_suffix(f".{n}.log"))
    out["live_ingest_ratio"] = round(out["live_ingest_per_s"] / out["raw_sqlite_txn_per_s"], 3)
    meta = world.meta
    out.update({"bytes_per_comment": meta["bytes_per_comment"], "build_s": meta["build_s"],
                "bytes_per_comment_without_features":
                    meta["bytes_per_comment_without_features"],
                "built_in_this_run": world.built_now,
                "summary_topic_comments": meta["topics"][0]["comments"],
                "reactions": meta["reactions"], "messages_in_emulator": meta["in_emulator"],
                "cache_key": meta["cache_key"]})
    return out


# --------------------------------------------------------------------------- reporting


def verdict(key: str, value) -> str:
    """The target, and whether `value` (a figure at 1M comments, or None) meets it."""
    if key not in TARGETS:
        return ""
    op, target = TARGETS[key]
    if not isinstance(value, int | float):
        return f"{op} {target:g}"
    ok = value <= target if op == "<=" else value >= target
    return f"{op} {target:g}  {'met' if ok else 'NOT met'}"


def table(runs: list[dict]) -> str:
    rows = [("ready_s", "start to ready, s"), ("caught_up_s", "start to caught up, s"),
            ("warm_s", "start to warm, s"),
            ("primed_after_warm_s", "  then summary engine primed, s later"),
            ("rss_at_warm_mb", "peak RSS when warm, MB"), ("peak_rss_mb", "peak RSS, whole run, MB"),
            ("max_loop_stall_ms", "longest event-loop stall, ms"),
            ("max_loop_stall_phase", "  ... during"),
            ("loop_stalls_over_100ms", "  stalls over 100 ms (from start)"),
            ("loop_late_s", "  loop late in all (from start), s"),
            ("startup_loop_stall_ms", "  (before ready: imports, cogs), ms"),
            ("heartbeat_max_behind_s", "heartbeat ACK handled late by, s"),
            ("about_s", "/about once warm, s"), ("about_after_comment_s", "/about after a new comment, s"),
            ("summary_cold_s", "/summary, first after start, s"),
            ("summary_warm_s", "/summary again after a new comment, s"),
            ("summary_topic_comments", "  ... of a topic with comments"),
            ("map_s", "/map of the consultation, s"),
            ("live_ingest_per_s", "live ingestion burst, messages/s"),
            ("raw_sqlite_txn_per_s", "raw sqlite3, 1 transaction/row, rows/s"),
            ("live_ingest_ratio", "live / raw"),
            ("bytes_per_comment", "database bytes per comment"),
            ("bytes_per_comment_without_features", "  ... without the stored features"),
            ("build_s", "database build, s (cached)"), ("measure_s", "measured run, s")]
    at_1m = next((r for r in runs if r["comments"] >= 1_000_000), {})  # targets are for 1M
    width = max(len(label) for _, label in rows) + 2
    head = f"{'figure':<{width}}" + "".join(f"{r['comments']:>14,}" for r in runs) + "   target (1M)"
    lines = [head, "-" * len(head)]
    for key, label in rows:
        cells = "".join(f"{_cell(r.get(key)):>14}" for r in runs)
        lines.append(f"{label:<{width}}{cells}   {verdict(key, at_1m.get(key))}")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)[:13]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, nargs="+", default=[100_000],
                        help="consultation sizes to measure, in comments")
    parser.add_argument("--burst", type=int, default=2000,
                        help="messages in the live ingestion burst (and raw sqlite3 rows)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "consultation-bot-scale",
                        help="where built databases are kept, by schema and size")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cache")
    parser.add_argument("--keep-log", type=Path, help="copy the bot's log to PATH.SIZE.log")
    parser.add_argument("--step-timeout", type=float,
                        help="seconds each step may take (default: 120, or 1 s per 1,000 comments)")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    runs = []
    for n in args.comments:
        runs.append(await measure_size(n, args))
    load_after = os.getloadavg()
    print()
    print(table(runs))
    for r in runs:
        for failure in r["failures"]:
            print(f"FAILED at {r['comments']:,} comments: {failure}")
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} before, "
          f"{load_after[0]:.1f} after (the bot, the emulator and this script share them; "
          "a busy machine slows every figure)")
    print("targets are issue #17's for 1M comments; every figure was measured in this run "
          "(build_s: when its database was built)")
    if args.json:
        print(f"wrote {args.json}")
        args.json.write_text(json.dumps({
            "runs": runs, "targets": {k: {"op": op, "value": v} for k, (op, v) in TARGETS.items()},
            "machine": {"cpus": os.cpu_count(), "load_before": load[0],
                        "load_after": load_after[0]},
            "command": " ".join(["python", "bench/scale.py", *(argv or sys.argv[1:])]),
        }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
