"""Per-comment features through the real bot: stored shortly after each comment arrives,
gone with a person's words on /mydata delete, and read back (not recomputed) at a restart."""

from __future__ import annotations

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import answer_text, eventually, finished, item_by_key, make_settings

WORDS = [
    "The 24/7 Network should answer calls at night, not only in office hours.",
    "Joining the Budapest Convention would make cross-border co-operation easier.",
    "Encryption backdoors would make everyone less safe, criminals would switch tools.",
    "Data retention for two years is far too long and invades everyone's privacy.",
]


async def stored_features(bot) -> dict[int, int]:
    """comment id -> author of each comment with stored features."""
    async with bot.repo.db.reading() as tx:
        rows = await tx.fetchall(
            "SELECT f.comment_id, c.author_id FROM comment_features f "
            "JOIN comments c ON c.id = f.comment_id")
    return {r[0]: r[1] for r in rows}


async def test_features_are_stored_at_ingestion_erased_and_read_back_after_a_restart(
        emulator, start_client, published, tmp_path):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    first = published.get_cog("InsightCog").insight

    async def warmed_up():
        return first.warm_ups >= 1
    await eventually(warmed_up, timeout=30)  # so only the writer stores what comes next
    people = [emulator.pat.id, emulator.sam.id]
    for n, text in enumerate(WORDS * 2):
        await emu.send_message(people[n % 2], crime.channel_id, f"{text} ({n})")

    async def all_stored():
        found = await stored_features(published)
        return found if len(found) == len(WORDS) * 2 else None
    found = await eventually(all_stored)
    assert sorted(found.values()).count(emulator.pat.id) == len(WORDS)

    ask = await emu.slash(emulator.pat.id, crime.channel_id, "mydata delete")
    done = await emu.press_button(emulator.pat.id, ask.message, f"mydata:erase:{emulator.pat.id}")
    await finished(emu, done, "Erased")
    assert "Erased" in answer_text(done)
    left = await stored_features(published)
    assert len(left) == len(WORDS) and set(left.values()) == {emulator.sam.id}
    await published.close()
    await emu.wait_disconnected()

    again = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(again, emu)
    insight = again.get_cog("InsightCog").insight

    async def warmed():
        return insight.features_read >= len(WORDS)
    await eventually(warmed, timeout=30)
    assert insight.features_computed == 0  # read back, not tokenised again
    result = await finished(emu, await emu.slash(emulator.sam.id, crime.channel_id, "summary"))
    assert "Summary of" in answer_text(result)
    assert insight.features_computed == 0
