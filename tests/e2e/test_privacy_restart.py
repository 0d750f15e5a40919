"""/mydata delete: the confirmation button still works after the bot restarted (issue #11,
item 20), and only for the person whose data it is."""

from __future__ import annotations

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import answer_text, eventually, finished, item_by_key, make_settings


async def test_the_erase_button_works_after_a_restart(emulator, start_client, published, tmp_path):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    mine = await emu.send_message(emulator.pat.id, crime.channel_id, "pat-words-to-erase")

    async def stored():
        return await published.repo.discussion.comment(mine.id)
    await eventually(stored)
    ask = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "mydata delete"))
    assert "cannot be undone" in answer_text(ask)
    await published.close()
    await emu.wait_disconnected()

    again = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(again, emu)
    erase = f"mydata:erase:{emulator.pat.id}"
    refused = await finished(emu, await emu.press_button(emulator.sam.id, ask.message, erase))
    assert refused.ephemeral and "Only the person" in answer_text(refused)
    assert (await again.repo.discussion.comment(mine.id)).content == "pat-words-to-erase"

    done = await emu.press_button(emulator.pat.id, ask.message, erase)
    await finished(emu, done, "Erased")
    assert "Done. Erased your profile, the text of 1 comment(s)" in answer_text(done)
    assert (await again.repo.discussion.comment(mine.id)).content is None


async def test_cancel_after_a_restart_erases_nothing(emulator, start_client, published, tmp_path):
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(published, g.id, "tackling-cyber-crime")
    mine = await emu.send_message(emulator.pat.id, crime.channel_id, "pat-words-to-keep")

    async def stored():
        return await published.repo.discussion.comment(mine.id)
    await eventually(stored)
    ask = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "mydata delete"))
    await published.close()
    await emu.wait_disconnected()

    again = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(again, emu)
    cancel = await emu.press_button(emulator.pat.id, ask.message,
                                    f"mydata:cancel:{emulator.pat.id}")
    await finished(emu, cancel)
    assert emu.get_message(ask.message.id).content == "Nothing was erased."
    assert (await again.repo.discussion.comment(mine.id)).content == "pat-words-to-keep"
