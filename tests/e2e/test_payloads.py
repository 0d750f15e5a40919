"""Answers stay within Discord's payload limits however big the consultation grows."""

from __future__ import annotations

from bot.emulator.limits import MAX_EMBED_TOTAL, MAX_EMBEDS, embed_size
from tests.e2e.conftest import answer_text, finished


def hundred_item_agenda() -> str:
    """25 items with 3 sub-items each: 100 items, long titles."""
    out = ['[consultation]\ntitle = "Hundred"\n']
    for n in range(1, 26):
        out.append(f'[[items]]\ntitle = "Question {n:02d}: {"a long and winding title " * 3}"\n'
                   f'summation = "What do you think of {n}?"\n')
        for m in range(1, 4):
            out.append(f'  [[items.items]]\n  title = "Part {n:02d}.{m}: {"more words here " * 4}"\n'
                       f'  summation = "And of {n}.{m}?"\n')
    return "".join(out)


async def test_agenda_list_of_100_items_is_split_within_the_limits(emulator, consultation_bot):
    emu, g = emulator.emu, emulator.guild
    general = emu.create_text_channel(g.id, "general")
    published = await finished(emu, await emu.slash(
        emulator.alice.id, general.id, "agenda publish",
        {"file": emu.upload("hundred.toml", hundred_item_agenda().encode())}), "Published", 120)
    assert "100 items" in answer_text(published)

    listing = await emu.slash(emulator.pat.id, general.id, "agenda list")
    await emu.wait_for(lambda: listing.errors or "Part 25.3" in answer_text(listing), timeout=20)
    messages = [listing.message, *listing.followups]
    assert not listing.errors, listing.errors
    assert len(messages) >= 2  # about 20,000 characters do not fit in one message
    for message in messages:
        assert message.ephemeral
        assert len(message.embeds) <= MAX_EMBEDS
        assert sum(embed_size(e) for e in message.embeds) <= MAX_EMBED_TOTAL
    text = answer_text(listing)
    for n in range(1, 26):
        assert f"Question {n:02d}" in text and f"Part {n:02d}.3" in text
