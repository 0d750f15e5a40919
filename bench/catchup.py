"""Catch-up cost and speed: the real bot restarts against the emulator after participants
posted N messages in one channel while it was down. Prints messages caught up per second
and REST requests per 1,000 missed messages, next to the REST-limited ideal (100 messages a
history request); also what a quiet restart and a RESUME cost.

    python bench/catchup.py [--missed N] [--stored N] [--json PATH]

`--stored` comments are posted while the bot runs (before the measured restart): catch-up
re-checks them for edits, deletions and reactions made while it was down (newest first,
100 a request, at most 1,000 a channel).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.emulator import Emulator, discord_py_targets, restore_discord_py  # noqa: E402
from bot.emulator.harness import ClientRunner  # noqa: E402
from bot.runtime.client import ConsultationBot  # noqa: E402
from bot.settings import Settings  # noqa: E402

AGENDA = Path(__file__).resolve().parents[1] / "data" / "agendas" / "london-2011.toml"
LOGIN_ROUTES = {"/oauth2/applications/@me", "/users/@me", "/gateway/bot"}


async def _no_wait(shard_id, *, initial=False) -> None:  # discord.py sleeps 5 s before re-IDENTIFY
    return None


class Rig:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.emu = Emulator()
        self.guild = self.emu.create_guild("Bench")
        self.people = [self.emu.add_member(self.guild.id, f"p{i}") for i in range(20)]
        org = self.emu.create_role(self.guild.id, "Org", 1 << 5)
        self.owner = self.emu.add_member(self.guild.id, "owner", roles=[org.id])
        self.runner: ClientRunner | None = None
        self.bot: ConsultationBot | None = None

    async def start_bot(self) -> ConsultationBot:
        self.bot = ConsultationBot(Settings(_env_file=None, database_path=self.folder / "c.db",
                                            guild_id=self.guild.id, agenda_file=AGENDA),
                                   guild_ready_timeout=0.05)
        self.bot.before_identify_hook = _no_wait
        self.runner = ClientRunner(self.bot, self.emu)
        await self.runner.start(timeout=30)
        return self.bot

    async def stop_bot(self) -> None:
        await self.runner.close()

    async def caught_up(self, runs: int = 1, timeout: float = 300) -> float:
        """Seconds from now until the bot's catch-up pass number `runs` is done."""
        cog = self.bot.get_cog("DiscussionCog")
        start = time.perf_counter()
        while cog.catchup.runs < runs:
            if time.perf_counter() - start > timeout:
                raise SystemExit("catch-up did not finish in time")
            await asyncio.sleep(0.002)
        return time.perf_counter() - start

    async def publish(self, bot: ConsultationBot):
        """Publish the agenda as an organiser would; its first top-level item."""
        general = self.emu.create_text_channel(self.guild.id, "general")
        result = await self.emu.slash(self.owner.id, general.id, "agenda publish")
        await self.emu.wait_for(lambda: (result.message and result.message.content or "")
                                .startswith("Published"), timeout=120)
        items = await bot.repo.agenda.guild_items(self.guild.id)
        return next(i for i in items if i.parent_id is None)


def _catchup_requests(emu: Emulator, start: int) -> list:
    return [r for r in emu.requests[start:] if r.method == "GET" and r.route not in LOGIN_ROUTES]


async def run(missed: int, stored_before: int, folder: Path) -> dict:
    rig = Rig(folder)
    emu = rig.emu
    await emu.start()
    saved = discord_py_targets()
    try:
        bot = await rig.start_bot()
        channel_id = (await rig.publish(bot)).channel_id
        items = await bot.repo.agenda.guild_items(rig.guild.id)
        await rig.caught_up()
        await rig.stop_bot()
        # a first restart after publishing
        await rig.start_bot()
        await rig.caught_up()

        # a RESUME: Discord replays the missed events; catch-up must not run
        start = len(emu.requests)
        await emu.close_gateway(4000)
        await emu.wait_disconnected()
        await emu.wait_connected()
        blip = await emu.send_message(rig.people[0].id, channel_id, "after the resume")
        while await rig.bot.repo.discussion.comment(blip.id) is None:
            await asyncio.sleep(0.005)
        resume_requests = len(_catchup_requests(emu, start))
        for n in range(stored_before):  # comments the bot stores live, re-checked later
            emu.post_message(rig.people[n % len(rig.people)].id, channel_id,
                             {"content": f"earlier comment {n} on enforcement"})
        last = emu.messages_in(channel_id)[-1].id
        while await rig.bot.repo.discussion.comment(last) is None:
            await asyncio.sleep(0.005)
        await rig.stop_bot()

        # a quiet restart: nothing happened while down
        start = len(emu.requests)
        await rig.start_bot()
        await rig.caught_up()
        quiet_requests = len(_catchup_requests(emu, start))
        await rig.stop_bot()

        # the measured restart: `missed` messages in one channel while down
        for n in range(missed):
            emu.post_message(rig.people[n % len(rig.people)].id, channel_id,
                             {"content": f"missed comment {n} about prevention and cooperation"})
        start = len(emu.requests)
        t0, e0 = time.perf_counter(), emu.clock.now()
        bot = await rig.start_bot()
        seconds = time.perf_counter() - t0 + await rig.caught_up()
        emulated = emu.clock.now() - e0
        requests = _catchup_requests(emu, start)
        pages = [r for r in requests if r.path == f"/channels/{channel_id}/messages"]
        new_pages = [r for r in pages if "after" in r.query]
        recheck_pages = [r for r in pages if "after" not in r.query]
        stored = (await bot.repo.discussion.counts(
            next(i for i in items if i.channel_id == channel_id).id)).comments
        await rig.stop_bot()
    finally:
        restore_discord_py(saved)
        await emu.stop()
    ideal = math.ceil(missed / 100)
    return {
        "missed": missed, "stored": stored, "seconds": round(seconds, 3),
        "messages_per_s": round(missed / seconds, 1), "emulated_seconds": round(emulated, 2),
        "requests": len(requests), "history_pages": len(pages),
        "new_message_pages": len(new_pages), "recheck_pages": len(recheck_pages),
        "stored_before": stored_before,
        "requests_per_1000_missed": round(len(requests) * 1000 / missed, 1),
        "ideal_requests_per_1000_missed": round(ideal * 1000 / missed, 1),
        "quiet_restart_requests": quiet_requests, "resume_requests": resume_requests,
        "item_channels": sum(1 for i in items if i.parent_id is None),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--missed", type=int, default=1000, help="messages posted while down")
    parser.add_argument("--stored", type=int, default=500,
                        help="comments stored before the restart (re-checked by catch-up)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        f = await run(args.missed, args.stored, Path(tmp))
    print(f"restart after {f['missed']:,} messages missed in one channel "
          f"({f['stored']:,} comments stored in that channel)")
    print(f"{'what':<52}{'measured':>12}{'ideal':>10}")
    print(f"{'history pages: new messages (after the cursor)':<52}{f['new_message_pages']:>12}"
          f"{math.ceil(f['missed'] / 100):>10}")
    recheck = f"history pages: re-check of {f['stored_before'] + 1:,} stored comments"
    print(f"{recheck:<52}{f['recheck_pages']:>12}"
          f"{math.ceil(min(f['stored_before'] + 1, 1000) / 100):>10}")
    ideal_all = math.ceil(f['missed'] / 100) + math.ceil(min(f['stored_before'] + 1, 1000) / 100)
    listings = f["item_channels"]
    print(f"{f'REST requests in the whole pass (ideal + {listings} listings)':<52}"
          f"{f['requests']:>12}{ideal_all + listings:>10}")
    per_1000 = round(f["new_message_pages"] * 1000 / f["missed"], 1)
    print(f"{'history requests per 1,000 missed messages':<52}{per_1000:>12}"
          f"{f['ideal_requests_per_1000_missed']:>10}")
    print(f"{'messages caught up per second (wall clock)':<52}{f['messages_per_s']:>12,.1f}"
          f"{'':>10}")
    quiet_ideal = listings + math.ceil(min(f["stored_before"] + 1, 1000) / 100)
    print(f"{'quiet restart: requests (listings + re-check)':<52}"
          f"{f['quiet_restart_requests']:>12}{quiet_ideal:>10}")
    print(f"{'RESUME: catch-up requests':<52}{f['resume_requests']:>12}{0:>10}")
    print(f"{'emulated seconds (rate limits on the emulated clock)':<52}"
          f"{f['emulated_seconds']:>12}{'':>10}")
    print("(the emulator's default buckets: history reads have no per-route bucket, the global "
          "one is 50/s; wall-clock speed is this machine's, not Discord's; the ideal is 100 "
          "messages a history request)")
    if args.json:
        args.json.write_text(json.dumps(f, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
