"""Nothing is lost: what participants do while the bot is down is recorded when it returns."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import LONDON, ROOT, eventually, finished, item_by_key, make_settings


async def test_restart_catches_up_posts_edits_deletions_and_reactions(emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    first = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu)
    general = emu.create_text_channel(g.id, "general")
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish"),
                   "Published")
    crime = await item_by_key(first, g.id, "tackling-cyber-crime")
    sub = await item_by_key(first, g.id, "willingness-to-act")
    early = await emu.send_message(emulator.pat.id, crime.channel_id, "Posted while the bot ran.")
    doomed = await emu.send_message(emulator.sam.id, crime.channel_id, "I will delete this.")
    await eventually(lambda: first.repo.discussion.comment(doomed.id))
    await first.close()

    # The bot is down: participants go on talking.
    await emu.edit_message(emulator.pat.id, early.id, "Posted while the bot ran, then edited.")
    await emu.delete_message(emulator.sam.id, doomed.id)
    missed = [await emu.send_message(emulator.sam.id, crime.channel_id, f"Missed comment {n}.")
              for n in range(150)]
    in_thread = await emu.send_message(emulator.pat.id, sub.thread_id, "A reply in a sub-item thread.")
    side = await emu.create_thread(emulator.pat.id, crime.channel_id, "a new side thread")
    in_side = await emu.send_message(emulator.pat.id, side.id, "Said in a thread opened while down.")
    quiet = await emu.create_thread(emulator.sam.id, crime.channel_id, "archived while down")
    in_quiet = await emu.send_message(emulator.sam.id, quiet.id, "Said, then the thread slept.")
    emu.archive_thread(quiet.id)
    await emu.add_reaction(emulator.sam.id, early.id, "👍")

    second = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(second, emu)
    cog = second.get_cog("DiscussionCog")

    async def caught_up():
        return cog.catchup.runs >= 1
    await eventually(caught_up)
    repo = second.repo.discussion
    assert (await repo.comment(early.id)).content == "Posted while the bot ran, then edited."
    gone = await repo.comment(doomed.id)
    assert gone.deleted_at is not None and gone.content is None
    stored = [c.message_id for c in await repo.comments(crime.id)]
    assert all(stored.count(m.id) == 1 for m in missed)
    assert [m.id for m in missed] == [i for i in stored if i in {m.id for m in missed}]
    assert (await repo.comment(in_thread.id)).item_id == sub.id
    assert (await repo.comment(in_side.id)).item_id == crime.id
    assert (await repo.comment(in_quiet.id)).thread_id == quiet.id
    counts = await repo.reaction_counts(crime.id, ["👍"], [])
    assert counts[(await repo.comment(early.id)).id] == (1, 0)


def _bot_process(env: dict[str, str]) -> asyncio.subprocess.Process:
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


def _stored(db: Path) -> dict[int, str | None]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {r[0]: r[1] for r in conn.execute("SELECT message_id, content FROM comments")}


async def test_kill_9_mid_ingestion_then_restart_loses_nothing(emulator, tmp_path):
    emu, g = emulator.emu, emulator.guild
    db = tmp_path / "killed.db"
    env = {**os.environ, "DISCORD_TOKEN": emu.bot_token, "DISCORD_API_BASE": emu.api_base,
           "DISCORD_GATEWAY_URL": emu.gateway_url, "DATABASE_PATH": str(db),
           "GUILD_ID": str(g.id), "AGENDA_FILE": str(LONDON), "LOG_LEVEL": os.environ.get("TEST_BOT_LOG", "WARNING")}
    proc = await _bot_process(env)
    try:
        await emu.wait_connected(timeout=30)
        general = emu.create_text_channel(g.id, "general")
        await emu.wait_for(lambda: emu.interactions.find_command(g.id, "agenda", 1), timeout=30)
        publish = await emu.slash(emulator.alice.id, general.id, "agenda publish")
        await finished(emu, publish, "Published", timeout=60)
        channel = emu.channel_named(g.id, "04-tackling-cyber-crime")
        sent = []
        for n in range(200):
            sent.append(await emu.send_message(emulator.pat.id, channel.id, f"Live comment {n}."))
            if n == 120:
                proc.send_signal(signal.SIGKILL)  # mid-ingestion, no goodbye
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    await emu.wait_disconnected(timeout=10)

    edited, deleted = sent[10], sent[20]
    await emu.edit_message(emulator.pat.id, edited.id, "Live comment 10, edited while down.")
    await emu.delete_message(emulator.pat.id, deleted.id)
    sent += [await emu.send_message(emulator.sam.id, channel.id, f"Down comment {n}.") for n in range(50)]

    proc = await _bot_process(env)
    try:
        expected = {m.id for m in sent if m.id != deleted.id}

        def complete() -> bool:
            if not db.exists():
                return False
            rows = _stored(db)
            return expected <= {k for k, v in rows.items() if v} and rows.get(edited.id) == \
                "Live comment 10, edited while down." and rows.get(deleted.id) is None
        try:
            await emu.wait_for(complete, timeout=60, poll=0.1)
        except TimeoutError:
            rows = _stored(db)
            missing = sorted(expected - {k for k, v in rows.items() if v})
            proc.terminate()
            err = (await proc.stderr.read()).decode()[-3000:]
            raise AssertionError(f"missing {len(missing)}; edited={rows.get(edited.id)!r} "
                                 f"deleted={rows.get(deleted.id, 'absent')!r}\n{err}") from None
    finally:
        proc.terminate()
        await proc.wait()
    with sqlite3.connect(db) as conn:
        (dupes,) = conn.execute(
            "SELECT COUNT(*) FROM (SELECT message_id FROM comments GROUP BY message_id HAVING COUNT(*) > 1)"
        ).fetchone()
    assert dupes == 0
