"""Emulator-to-storage messages per second with 1, 2 and 4 shards.

Eight guilds spread evenly over the shards; the bot runs as real `python -m bot run`
processes (SHARD_COUNT/SHARD_IDS) on one SQLite database, the emulator in this process.
Participants post N messages round-robin over the guilds as fast as the emulator takes
them; the figure is N divided by the time from the first post until every message is
stored. Two layouts: one process per shard, and one process running every shard.

    python bench/shards.py [--messages N] [--shards 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator  # noqa: E402
from bot.emulator.seed import seed_consultations  # noqa: E402

GUILDS = 8
AGENDA = '[consultation]\ntitle = "Bench"\n[[items]]\ntitle = "Topic"\nsummation = "Talk."\n'
WORDS = ("prevention cooperation convention network privacy industry security legislation "
         "capacity enforcement borders delegates support concern data").split()


def stored(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT COUNT(*) FROM comments").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


async def run(shards: int, per_process: bool, messages: int, folder: Path) -> float:
    emu = Emulator(max_concurrency=16)
    emu.rate_limits.enabled = False  # the bot's own posts (publishing) are not measured
    worlds = seed_consultations(emu, GUILDS, shard_count=4)
    generals = [emu.create_text_channel(w.guild.id, "general") for w in worlds]
    await emu.start()
    (folder / "agenda.toml").write_text(AGENDA, encoding="utf-8")
    db = folder / f"bench-{shards}-{per_process}.db"
    layouts = [[i] for i in range(shards)] if per_process else [list(range(shards))]
    procs = []
    try:
        for ids in layouts:
            env = {"PATH": os.environ["PATH"], "DISCORD_TOKEN": emu.bot_token,
                   "DISCORD_API_BASE": emu.api_base, "DISCORD_GATEWAY_URL": emu.gateway_url,
                   "DATABASE_PATH": str(db), "AGENDA_FILE": str(folder / "agenda.toml"),
                   "SHARD_COUNT": str(shards), "SHARD_IDS": ",".join(map(str, ids)),
                   "LOG_LEVEL": "WARNING"}
            log = open(folder / f"bot-{shards}-{ids[0]}.log", "wb")  # noqa: SIM115
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log))
        await emu.wait_for(lambda: emu.shards_connected(range(shards), shards), timeout=120)
        await emu.wait_for(lambda: emu.interactions.commands.get(None), timeout=60)
        for w, general in zip(worlds, generals, strict=True):
            result = await emu.slash(w.alice.id, general.id, "agenda publish")
            await emu.wait_for(lambda r=result: r.message and "Published" in (r.message.content or ""),
                               timeout=120)
        channels = [next(c.id for c in emu.state.channels.values()
                         if c.guild_id == w.guild.id and c.name.endswith("topic")) for w in worlds]
        before = stored(db)
        start = time.perf_counter()
        for i in range(messages):
            w = worlds[i % GUILDS]
            await emu.send_message(w.pat.id if i % 2 else w.sam.id, channels[i % GUILDS],
                                   " ".join(WORDS[(i + k) % len(WORDS)] for k in range(15)))
        while stored(db) < before + messages:
            await asyncio.sleep(0.02)
        return messages / (time.perf_counter() - start)
    finally:
        for p in procs:
            if p.returncode is None:
                p.terminate()
        for p in procs:
            await p.wait()
        await emu.stop()


async def emulator_alone(messages: int) -> float:
    """How fast the emulator takes posts with no bot connected (the ceiling here)."""
    emu = Emulator()
    worlds = seed_consultations(emu, GUILDS, shard_count=4)
    channels = [emu.create_text_channel(w.guild.id, "topic").id for w in worlds]
    await emu.start()
    try:
        start = time.perf_counter()
        for i in range(messages):
            w = worlds[i % GUILDS]
            await emu.send_message(w.pat.id, channels[i % GUILDS], f"message {i}")
        return messages / (time.perf_counter() - start)
    finally:
        await emu.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--shards", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of each")
    args = parser.parse_args()
    counts = [int(s) for s in args.shards.split(",")]
    print(f"{GUILDS} guilds, {args.messages} messages, SQLite, {os.cpu_count()} CPUs, "
          f"best of {args.repeat}")
    print(f"{'shards':>6}  {'one process per shard':>22}  {'one process, all shards':>24}")
    for n in counts:
        apart = together = 0.0
        for _ in range(args.repeat):  # alternate the layouts; keep the best of each
            with tempfile.TemporaryDirectory() as tmp:
                apart = max(apart, await run(n, True, args.messages, Path(tmp)))
            if n == 1:  # one shard: both layouts are the same process
                together = apart
                continue
            with tempfile.TemporaryDirectory() as tmp:
                together = max(together, await run(n, False, args.messages, Path(tmp)))
        print(f"{n:>6}  {apart:>18,.0f} /s  {together:>20,.0f} /s", flush=True)
    print(f"emulator alone (no bot): {await emulator_alone(args.messages):,.0f} posts/s")


if __name__ == "__main__":
    asyncio.run(main())
