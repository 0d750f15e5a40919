"""An answer meant for the channel (/map, /summary share:true) that fails reaches only the
person who asked. On Discord the first follow-up after a deferral becomes the loading message
with the deferral's visibility (discord-api-docs#2860); the emulator does the same."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import answer_text, item_by_key


@pytest.mark.parametrize(("command", "options"), [("map", {}), ("summary", {"share": True})])
async def test_an_answer_for_the_channel_that_fails_stays_private(emulator, published, command,
                                                                  options):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    await emu.send_message(emulator.pat.id, crime.channel_id, "Prevention matters most.")
    g.attachment_size_limit = 10  # the picture / report cannot be uploaded: Discord says 413
    result = await emu.slash(emulator.pat.id, crime.channel_id, command, options)
    await emu.wait_for(lambda: "too big" in answer_text(result), timeout=20)
    mine = [m for m in [result.message, *result.followups] if m]
    assert all(m.ephemeral for m in mine), mine  # nothing of this interaction is public
    assert "Posted" not in answer_text(result) and "Shared" not in answer_text(result)
    assert "Nothing was posted" in answer_text(result)
    public = [m for m in emu.messages_in(crime.channel_id) if m.author_id == bot.user.id
              and m.interaction_metadata and m.interaction_metadata["id"] == str(result.id)]
    assert public == []

    g.attachment_size_limit = 10 * 1024 * 1024  # and when it fits, it is posted for everyone
    result = await emu.slash(emulator.sam.id, crime.channel_id, command, options)
    await emu.wait_for(lambda: len(result.followups) >= 1, timeout=20)
    assert not result.followups[0].ephemeral and result.followups[0].files
