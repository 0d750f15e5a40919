"""Ingestion speed: comments per second through the storage layer, next to the physical
limit of this store (plain sqlite3 executemany of the same rows), and end to end from the
emulator's gateway to storage.

Batched: catch-up's `record_new`, 500 messages per transaction, against plain sqlite3
`executemany` in the same batches (target >= 0.5). Live: the bot's path for a new message
(`DiscussionService.record_live`), one message at a time, each stored before the next
arrives, against plain sqlite3 with one transaction per message (issue 17: >= 0.30).

    python bench/ingest.py [--rows N] [--live N] [--messages N] [--profile PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.discussion import DiscussionService  # noqa: E402
from bot.storage import Repository  # noqa: E402
from bot.storage.common import micros  # noqa: E402
from bot.storage.database import migration_files  # noqa: E402
from bot.storage.models import IncomingMessage  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WORDS = ("prevention cooperation convention network privacy industry security legislation "
         "capacity enforcement borders delegates support concern data").split()


def make_rows(n: int, channel_id: int) -> list[IncomingMessage]:
    return [
        IncomingMessage(
            message_id=10_000 + i, channel_id=channel_id, author_id=1 + i % 300,
            content=" ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(18)),
            created_at=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]


async def store_rate(rows: list[IncomingMessage], folder: Path, batch: int) -> float:
    repo = await Repository.open(folder / "store.db")
    consultation = await repo.agenda.upsert_consultation(1, "bench", "Bench", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "x", parent_id=None, position=0,
                                            title="X", summation="s", body="b")
    await repo.agenda.save_place(item.id, channel_id=rows[0].channel_id)
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        await repo.discussion.record_new(item.id, [(m, [], []) for m in rows[i:i + batch]])
    elapsed = time.perf_counter() - start
    await repo.close()
    return len(rows) / elapsed


def raw_rate(rows: list[IncomingMessage], folder: Path, batch: int) -> float:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    for _v, _name, sql in migration_files():
        conn.executescript(sql)
    conn.execute("INSERT INTO consultations VALUES (1, 1, 'b', 'B', '', NULL, '', '')")
    conn.execute("INSERT INTO items (id, consultation_id, key, position, created_at) "
                 "VALUES (1, 1, 'x', 0, '')")
    data = [(m.message_id, 1, m.channel_id, None, m.author_id, None, 0, m.content,
             micros(m.created_at), None) for m in rows]
    start = time.perf_counter()
    for i in range(0, len(data), batch):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO comments (message_id, item_id, channel_id, thread_id, author_id, "
            "reply_to_message_id, kind, content, created_at, edited_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            data[i:i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


def raw_txn_rate(rows: list[IncomingMessage], folder: Path) -> float:
    """The physical limit of live ingestion: plain sqlite3, one transaction per message."""
    conn = sqlite3.connect(folder / "raw_txn.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                   "secure_delete = ON"):
        conn.execute(f"PRAGMA {pragma}")
    for _v, _name, sql in migration_files():
        conn.executescript(sql)
    conn.execute("INSERT INTO consultations VALUES (1, 1, 'b', 'B', '', NULL, '', '')")
    conn.execute("INSERT INTO items (id, consultation_id, key, position, created_at) "
                 "VALUES (1, 1, 'x', 0, '')")
    data = [(m.message_id, 1, m.channel_id, m.author_id, m.content, micros(m.created_at))
            for m in rows]
    start = time.perf_counter()
    for row in data:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO comments (message_id, item_id, channel_id, author_id, content, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?)", row)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


async def live_rate(rows: list[IncomingMessage], folder: Path, *, profile: Path | None = None
                    ) -> float:
    """The bot's live path for a new message (DiscussionService.record_live: the item of the
    channel, quotes and links, one transaction), one message at a time: each is stored
    before the next arrives, so nothing is batched."""
    repo = await Repository.open(folder / "live.db")
    consultation = await repo.agenda.upsert_consultation(1, "bench", "Bench", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "x", parent_id=None, position=0,
                                            title="X", summation="s", body="b")
    await repo.agenda.save_place(item.id, channel_id=rows[0].channel_id)
    service = DiscussionService(repo)
    service.mark_in_sync(rows[0].channel_id, service.epoch)
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    for m in rows:
        await service.record_live(m, parent_id=None)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    elapsed = time.perf_counter() - start
    assert (await repo.discussion.counts(item.id)).comments == len(rows)
    await repo.close()
    return len(rows) / elapsed


async def end_to_end_rate(n: int, folder: Path) -> float:
    """Participants post `n` messages through the emulator; time until all are stored."""
    from bot.emulator import Emulator, discord_py_targets, restore_discord_py
    from bot.emulator.harness import ClientRunner
    from bot.runtime.client import ConsultationBot
    from bot.settings import Settings

    saved = discord_py_targets()
    emu = Emulator()
    guild = emu.create_guild("Bench")
    members = [emu.add_member(guild.id, f"p{i}") for i in range(20)]
    owner = emu.add_member(guild.id, "owner", roles=[emu.create_role(guild.id, "Org", 1 << 5).id])
    await emu.start()
    agenda = Path(__file__).resolve().parents[1] / "data" / "agendas" / "london-2011.toml"
    bot = ConsultationBot(Settings(_env_file=None, database_path=folder / "e2e.db", guild_id=guild.id,
                                   agenda_file=agenda), guild_ready_timeout=0.05)
    runner = ClientRunner(bot, emu)
    await runner.start(timeout=60)  # (a first start on a loaded machine takes seconds)
    try:
        general = emu.create_text_channel(guild.id, "general")
        result = await emu.slash(owner.id, general.id, "agenda publish")
        try:
            await emu.wait_for(
                lambda: (result.message and result.message.content or "").startswith("Published"),
                timeout=60)
        except TimeoutError:
            raise SystemExit(f"publishing failed: {result.message and result.message.content}") from None
        item = next(i for i in await bot.repo.agenda.guild_items(guild.id) if i.parent_id is None)
        start = time.perf_counter()
        last = None
        for i in range(n):
            last = await emu.send_message(members[i % len(members)].id, item.channel_id,
                                          " ".join(WORDS[(i + k) % len(WORDS)] for k in range(15)))
        while await bot.repo.discussion.comment(last.id) is None:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - start
        stored = (await bot.repo.discussion.counts(item.id)).comments
        assert stored == n, (stored, n)
        return n / elapsed
    finally:
        await runner.close()
        await emu.stop()
        restore_discord_py(saved)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows for the storage comparison")
    parser.add_argument("--batch", type=int, default=500,
                        help="rows per transaction (catch-up stores 500 messages at a time)")
    parser.add_argument("--messages", type=int, default=1_000, help="messages for the end-to-end run")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of each store")
    parser.add_argument("--live", type=int, default=3_000,
                        help="messages for the live path, one transaction each")
    parser.add_argument("--profile", type=Path, help="cProfile the live path into this file")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    rows = make_rows(args.rows, channel_id=999)
    raw = store = 0.0
    for _ in range(args.repeat):  # alternate, fresh files each time; keep the best of each
        with tempfile.TemporaryDirectory() as tmp:
            raw = max(raw, raw_rate(rows, Path(tmp), args.batch))
        with tempfile.TemporaryDirectory() as tmp:
            store = max(store, await store_rate(rows, Path(tmp), args.batch))
    live_rows = rows[:args.live]
    raw_txn = live = 0.0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            raw_txn = max(raw_txn, raw_txn_rate(live_rows, Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            live = max(live, await live_rate(live_rows, Path(tmp), profile=args.profile))
    with tempfile.TemporaryDirectory() as tmp:
        e2e = await end_to_end_rate(args.messages, Path(tmp))
    figures = {"store_rows_per_s": round(store), "raw_sqlite_rows_per_s": round(raw),
               "ratio": round(store / raw, 3), "e2e_messages_per_s": round(e2e, 1),
               "raw_sqlite_txn_per_s": round(raw_txn), "live_messages_per_s": round(live),
               "live_ratio": round(live / raw_txn, 3), "live": args.live,
               "rows": args.rows, "batch": args.batch, "messages": args.messages,
               "repeat": args.repeat}
    print(f"{f'what (best of {args.repeat})':<46}{'per second':>12}")
    label = f"storage layer (record_new, batches of {args.batch})"
    print(f"{label:<46}{store:>12,.0f}")
    print(f"{'plain sqlite3 executemany, same rows':<46}{raw:>12,.0f}")
    print(f"{'batched ratio (target >= 0.5)':<46}{store / raw:>12.2f}")
    print(f"{'plain sqlite3, one transaction per message':<46}{raw_txn:>12,.0f}")
    print(f"{'live path (record_live), one message at a time':<46}{live:>12,.0f}")
    print(f"{'live ratio (target >= 0.30)':<46}{live / raw_txn:>12.3f}")
    print(f"{'end to end: emulator gateway -> storage':<46}{e2e:>12,.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
