"""After a public "thinking…" (/map, /summary share:true) an error still reaches only the
person who asked. On Discord the first follow-up after a deferral edits the loading message
and ignores `ephemeral`: the emulator does the same, so a naive error follow-up is public."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import answer_text, item_by_key


@pytest.mark.parametrize(("command", "options"), [("map", {}), ("summary", {"share": True})])
async def test_an_error_after_a_public_defer_stays_private(emulator, published, command, options):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    await emu.send_message(emulator.pat.id, crime.channel_id, "Prevention matters most.")
    g.attachment_size_limit = 10  # the picture / report cannot be uploaded: Discord says 413
    result = await emu.slash(emulator.pat.id, crime.channel_id, command, options)
    await emu.wait_for(lambda: any(m.ephemeral and m.content for m in
                                   [result.message, *result.followups] if m), timeout=20)
    assert not result.message.ephemeral  # the deferral was public
    private = [m for m in [result.message, *result.followups] if m.ephemeral]
    assert private and "too big" in private[-1].content, answer_text(result)
    # nothing public says what went wrong, and no "thinking…" is left hanging
    public = [m for m in emu.messages_in(crime.channel_id) if m.author_id == bot.user.id
              and m.interaction_metadata and m.interaction_metadata["id"] == str(result.id)]
    assert all("too big" not in (m.content or "") and not m.flags & 128 for m in public), public
    await emu.wait_for(lambda: all(m.deleted for m in public), timeout=5)  # the note goes too
