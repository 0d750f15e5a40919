"""Load: the real bot (`python -m bot run`, its own process) against the emulator, with
participants posting at a fixed rate while others run commands throughout.

For each rate it reports what was sent and stored (after the backlog drained), duplicates,
the commands' first-response time (until Discord has the bot's first callback: a deferral
or an answer) at p50 and p99, and commands that missed Discord's 3-second deadline.

    python bench/load.py [--rates 50,500,1000,2000] [--seconds 5] [--json PATH]

Goal (issue #11): p99 first response < 500 ms while ingesting 1,000 messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator  # noqa: E402
from bot.emulator.errors import EmulatorError  # noqa: E402
from bot.emulator.seed import seed_consultation  # noqa: E402

GOAL_RATE = 1_000
GOAL_P99_MS = 500.0
DEADLINE_S = 3.0
COMMANDS = [("about", {}), ("citations", {}), ("agenda list", {}), ("summary", {}),
            ("mydata export", {}), ("map", {})]
COMMANDS_PER_S = 8  # commands started per second, each on its own (they overlap)
WORDS = ("prevention cooperation convention network privacy industry security legislation "
         "capacity enforcement borders delegates support concern data").split()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class Database:
    """The bot's database, read from outside (read-only), as another process would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def stored(self, tag: str) -> tuple[int, int]:
        """(comments stored with this run's tag, duplicates among them)."""
        (row,) = await asyncio.to_thread(
            self.query, "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT content) FROM comments "
            "WHERE content LIKE ?", (f"{tag} %",))
        return int(row[0]), int(row[1])


async def start_bot(emu: Emulator, guild_id: int, folder: Path) -> asyncio.subprocess.Process:
    env = {"PATH": os.environ["PATH"], "DISCORD_TOKEN": emu.bot_token,
           "DISCORD_API_BASE": emu.api_base, "DISCORD_GATEWAY_URL": emu.gateway_url,
           "GUILD_ID": str(guild_id), "DATABASE_PATH": str(folder / "load.db"),
           "AGENDA_FILE": str(ROOT / "data" / "agendas" / "london-2011.toml"),
           "LOG_LEVEL": "WARNING"}
    log = open(folder / "bot.log", "wb")  # noqa: SIM115 - closed with the process
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=log, stderr=log)
    await emu.wait_for(lambda: emu.connected or proc.returncode is not None, timeout=60)
    if proc.returncode is not None:
        raise SystemExit(f"the bot did not start: {(folder / 'bot.log').read_text()}")
    return proc


async def first_response(emu: Emulator, user_id: int, channel_id: int, command: str,
                         options: dict) -> tuple[float | None, bool]:
    """(seconds until the bot's first callback, or None; whether it failed)."""
    start = time.perf_counter()
    result = await emu.start_slash(user_id, channel_id, command, options)
    try:
        await emu.interactions.wait_answer(result, timeout=10)
    except EmulatorError:
        return None, True
    took = time.perf_counter() - start
    return took, bool(result.errors) or took > DEADLINE_S


async def one_rate(emu: Emulator, db: Database, rate: int, seconds: float, channels: list[int],
                   posters: list, commanders: list, general_id: int) -> dict:
    tag = f"load-r{rate}-{time.monotonic_ns()}"
    target = int(rate * seconds)
    latencies: list[float] = []
    failed = 0
    running: set[asyncio.Task] = set()
    sending = True

    async def command(i: int) -> None:
        nonlocal failed
        name, options = COMMANDS[i % len(COMMANDS)]
        user = commanders[i % len(commanders)]
        took, bad = await first_response(emu, user.id, channels[i % len(channels)]
                                         if name != "agenda list" else general_id, name, options)
        if took is not None:
            latencies.append(took)
        failed += bad

    async def commands() -> None:
        i, start = 0, time.perf_counter()
        while sending:
            due = int((time.perf_counter() - start) * COMMANDS_PER_S) + 1
            while i < due:
                task = asyncio.create_task(command(i))
                running.add(task)
                task.add_done_callback(running.discard)
                i += 1
            await asyncio.sleep(0.01)

    commander = asyncio.create_task(commands())
    start = time.perf_counter()
    sent = 0
    while sent < target:
        due = min(target, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            words = " ".join(WORDS[(sent + k) % len(WORDS)] for k in range(12))
            await emu.send_message(posters[sent % len(posters)].id, channels[sent % len(channels)],
                                   f"{tag} #{sent}: {words}")
            sent += 1
        await asyncio.sleep(0.002)
    send_seconds = time.perf_counter() - start
    sending = False
    await commander
    if running:
        await asyncio.wait(running, timeout=15)
    # The backlog drains (bounded): stored/sent is counted when it stops growing.
    drain_start = time.perf_counter()
    stored = dup = 0
    while time.perf_counter() - drain_start < 60:
        stored, dup = await db.stored(tag)
        if stored >= sent:
            break
        await asyncio.sleep(0.1)
    drained = time.perf_counter() - drain_start
    return {"rate": rate, "sent": sent, "achieved_rate": round(sent / send_seconds, 1),
            "stored": stored, "duplicates": dup, "drain_s": round(drained, 2),
            "commands": len(latencies), "missed_deadline": failed,
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies, default=float("nan")) * 1000, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="50,500,1000,2000", help="messages per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="sending time per rate")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r.strip()]

    emu = Emulator()
    world = seed_consultation(emu)
    posters = [emu.add_member(world.guild.id, f"poster{i}") for i in range(40)]
    commanders = [emu.add_member(world.guild.id, f"asker{i}") for i in range(60)]
    await emu.start()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc = await start_bot(emu, world.guild.id, folder)
        try:
            general = emu.create_text_channel(world.guild.id, "general")
            published = await emu.slash(world.alice.id, general.id, "agenda publish", timeout=30)
            await emu.wait_for(lambda: "Published" in (published.message.content or ""), 120)
            db = Database(folder / "load.db")
            channels = [r[0] for r in await asyncio.to_thread(
                db.query, "SELECT p.channel_id FROM places p JOIN items i ON i.id = p.item_id "
                "WHERE i.parent_id IS NULL AND p.channel_id IS NOT NULL ORDER BY i.position")][:5]
            results = []
            for rate in rates:
                results.append(await one_rate(emu, db, rate, args.seconds, channels, posters,
                                              commanders, general.id))
                print(f"  {rate:>5}/s done", file=sys.stderr, flush=True)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
            await emu.stop()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end (the bot, the "
          "emulator and this script share them: a busy machine slows every figure)")
    head = (f"{'rate/s':>7} {'achieved':>9} {'stored/sent':>13} {'dups':>5} {'drain s':>8} "
            f"{'cmds':>5} {'>3s':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(head)
    for r in results:
        print(f"{r['rate']:>7} {r['achieved_rate']:>9} {r['stored']:>6}/{r['sent']:<6} "
              f"{r['duplicates']:>5} {r['drain_s']:>8} {r['commands']:>5} {r['missed_deadline']:>4} "
              f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8}")
    goal = next((r for r in results if r["rate"] == GOAL_RATE), None)
    if goal is not None:
        verdict = "met" if goal["p99_ms"] < GOAL_P99_MS else "NOT met"
        print(f"goal: p99 first response < {GOAL_P99_MS:.0f} ms at {GOAL_RATE:,} messages/s: "
              f"measured {goal['p99_ms']} ms ({verdict})")
    lost = sum(r["sent"] - r["stored"] for r in results)
    dups = sum(r["duplicates"] for r in results)
    print(f"goal: 0 lost, 0 duplicates: measured {lost} lost, {dups} duplicates")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
