"""Publishing under Discord's rate limits: the real bot publishes a 60-item agenda (20 items
with 2 sub-items each: 20 channels, 40 threads) through the emulator's default per-route and
global buckets. Prints the REST calls it made (by route), the 429s it met, the emulated time
the publish took (what it would take on Discord) beside the least the buckets allow, and the
wall time here.

    python bench/publish.py [--items-per-channel 3] [--channels 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.emulator import Emulator, discord_py_targets, restore_discord_py  # noqa: E402
from bot.emulator.harness import ClientRunner  # noqa: E402
from bot.emulator.seed import seed_consultation  # noqa: E402
from bot.runtime.client import ConsultationBot  # noqa: E402
from bot.settings import Settings  # noqa: E402

TOKEN_LIFETIME = 15 * 60


def agenda(channels: int, subs: int) -> str:
    out = ['[consultation]\ntitle = "Bench"\n']
    for n in range(1, channels + 1):
        out.append(f'[[items]]\ntitle = "Question {n}"\nsummation = "What do you think of {n}?"\n'
                   f'body = "Some background on question {n}."\n')
        for s in range(subs):
            out.append(f'[[items.items]]\ntitle = "Question {n}.{s + 1}"\n'
                       f'summation = "And of {n}.{s + 1}?"\n')
    return "".join(out)


def least_time(emu, calls) -> float:
    """The least emulated time the per-route buckets allow for these calls (each bucket's
    windows one after another, buckets in parallel)."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    per: dict[tuple[str, str], tuple[int, float]] = {}
    for r in calls:
        rl = emu.rate_limits.routes.get((r.method, r.route))
        if rl is None or r.status == 429:
            continue
        major = r.path.split("/")[2] if rl.major else ""
        counts[(rl.bucket, major)] += 1
        per[(rl.bucket, major)] = (rl.limit, rl.per)
    return max((math.ceil(n / per[k][0]) - 1) * per[k][1] for k, n in counts.items()) if counts else 0.0


async def run(channels: int, subs: int) -> dict:
    saved = discord_py_targets()
    emu = Emulator()
    world = seed_consultation(emu)
    await emu.start()
    folder = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    bot = ConsultationBot(Settings(_env_file=None, database_path=folder / "c.db",
                                   guild_id=world.guild.id), guild_ready_timeout=0.05)
    runner = ClientRunner(bot, emu)
    try:
        await runner.start(timeout=30)
        general = emu.create_text_channel(world.guild.id, "general")
        before, t0, wall0 = len(emu.requests), emu.clock.now(), time.perf_counter()
        result = await emu.slash(world.alice.id, general.id, "agenda publish",
                                 {"file": emu.upload("bench.toml", agenda(channels, subs).encode())})
        await result.wait_done(timeout=30)
        answered = time.perf_counter() - wall0

        def progress():
            return next((m for m in emu.messages_in(general.id)
                         if m.author_id == emu.bot_user.id and (m.content or "").startswith(
                             "Published")), None)
        done = await emu.wait_for(progress, timeout=600)
        wall = time.perf_counter() - wall0
        elapsed = emu.clock.now() - t0
        calls = [r for r in emu.requests[before:]
                 if not r.path.startswith(("/interactions/", "/webhooks/"))]
        by_route = collections.Counter(f"{r.method} {r.route}" for r in calls)
        items = await bot.repo.agenda.guild_items(world.guild.id)
        return {
            "items": len(items), "channels": channels, "threads": channels * subs,
            "published": sum(1 for i in items if i.post_fingerprint),
            "report": done.content,
            "rest_calls": len(calls), "rest_calls_by_route": dict(by_route.most_common()),
            "rate_limited_429": sum(1 for r in calls if r.status == 429),
            "emulated_seconds": round(elapsed, 1),
            "least_emulated_seconds_the_buckets_allow": round(least_time(emu, calls), 1),
            "first_answer_wall_seconds": round(answered, 3),
            "wall_seconds": round(wall, 2),
            "time_scale": emu.rate_limits.time_scale,
        }
    finally:
        await runner.close()
        await emu.stop()
        restore_discord_py(saved)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=20)
    ap.add_argument("--items-per-channel", type=int, default=3, help="the item and its sub-items")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = asyncio.run(run(args.channels, args.items_per_channel - 1))
    print(f"published {out['published']}/{out['items']} items "
          f"({out['channels']} channels, {out['threads']} threads)   target: all")
    print(f"first answer after {out['first_answer_wall_seconds']} s wall   target: < 3 s "
          "(Discord's deadline)")
    print(f"REST calls: {out['rest_calls']} ({out['rest_calls'] / out['items']:.1f} an item), "
          f"429s met: {out['rate_limited_429']}")
    for route, n in out["rest_calls_by_route"].items():
        print(f"  {n:5d}  {route}")
    print(f"emulated time: {out['emulated_seconds']} s (what Discord's buckets make it take); "
          f"the least the buckets allow: {out['least_emulated_seconds_the_buckets_allow']} s; "
          f"the interaction token lives {TOKEN_LIFETIME} s, the publish does not need it")
    print(f"wall time here: {out['wall_seconds']} s (waits told {out['time_scale']}x shorter)")
    print(f"report in the channel: {out['report']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
