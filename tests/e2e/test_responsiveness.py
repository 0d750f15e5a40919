"""Commands answer in time under load (issue #11, item 19).

Reads have their own SQLite connection (WAL lets readers and a writer work at once), so a
command's read does not wait for ingestion's writes; and every command acknowledges the
interaction (defers) before any read that can wait, so Discord's 3-second deadline is met
even when a read is slow. Both are shown with real contention: a write transaction, or a
long read, held open on the bot's own database while commands run.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import answer_text, eventually, finished, item_by_key

TOPIC = "tackling-cyber-crime"


async def test_commands_read_while_a_write_transaction_is_open(emulator, published):
    """Ingestion holds the writer (here: a transaction the test keeps open): commands that
    only read still answer in full."""
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, TOPIC)
    said = await emu.send_message(emulator.pat.id, crime.channel_id, "Stored before the write.")

    async def stored():
        return await bot.repo.discussion.comment(said.id)
    await eventually(stored)
    async with bot.repo.db.transaction() as tx:
        await tx.execute("UPDATE meta SET value = value WHERE key = 'opened_at'")
        for command in ("about", "citations", "agenda list", "mydata export"):
            result = await emu.slash(emulator.pat.id, crime.channel_id, command)
            await finished(emu, result, timeout=10)
            assert result.error is None and answer_text(result), command
            assert "went wrong" not in answer_text(result), command
        about = answer_text(result)
    assert about


COMMANDS = [
    ("mo", "lock", {}),
    ("mo", "unlock", {}),
    ("mo", "modlog", {}),
    ("pat", "profile", {}),
    ("pat", "map", {}),
    ("pat", "summary", {"share": True}),
    ("pat", "summary", {}),
    ("alice", "export", {}),
    ("pat", "about", {}),
    ("pat", "citations", {}),
    ("pat", "agenda list", {}),
    ("pat", "mydata export", {}),
]


@pytest.mark.parametrize("who, command, options", COMMANDS,
                         ids=[f"{c}{'-share' if o else ''}" for _, c, o in COMMANDS])
async def test_commands_defer_before_a_read_that_waits(emulator, published, who, command, options):
    """A long read holds the reader connection (as a big /export would): the command must
    still acknowledge at once (it defers first), and answer once the read is done."""
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, TOPIC)
    user = getattr(emulator, who)
    async with bot.repo.db.reading():
        result = await emu.slash(user.id, crime.channel_id, command, options, timeout=5)
        assert result.deferred, f"/{command} answered {result.type}, not a deferral"
        assert not result.done
    await finished(emu, result, timeout=10)
    if command == "map" or options.get("share"):
        await result.wait_followups(1)
    assert "went wrong" not in answer_text(result)
    assert answer_text(result)


async def test_unhide_defers_before_reading(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, TOPIC)
    said = await emu.send_message(emulator.pat.id, crime.channel_id, "A comment to unhide.")

    async def stored():
        return await bot.repo.discussion.comment(said.id)
    await eventually(stored)
    async with bot.repo.db.reading():
        result = await emu.context_menu(emulator.mo.id, crime.channel_id, "Unhide",
                                        target_message_id=said.id, timeout=5)
        assert result.deferred
    await finished(emu, result, timeout=10)
    assert "already visible" in answer_text(result)
