"""/modlog and moderation.csv name people and link to places: no raw Discord ids."""

from __future__ import annotations

import csv
import io

from tests.e2e.conftest import answer_files, answer_text, eventually, finished, item_by_key


async def run(emu, user_id, channel_id, command, options=None, marker=""):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}),
                          marker)


async def test_modlog_and_moderation_csv_show_names_and_links(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    spam = await emu.send_message(emulator.sam.id, crime.channel_id, "BUY CHEAP WATCHES")
    await eventually(lambda: bot.repo.discussion.comment(spam.id))
    menu = await emu.context_menu(emulator.mo.id, crime.channel_id, "Hide from consultation",
                                  target_message_id=spam.id)
    (reason_id,) = [c["custom_id"] for c in menu.modal.inputs]
    await finished(emu, await emu.submit_modal(emulator.mo.id, menu.modal, {reason_id: "spam"}))
    await run(emu, emulator.mo.id, crime.channel_id, "lock", {"reason": "paused"})
    raw_ids = {str(x) for x in (spam.id, emulator.mo.id, emulator.sam.id, crime.channel_id)}
    mo_name = g.members[emulator.mo.id].user.username

    log = answer_text(await run(emu, emulator.mo.id, crime.channel_id, "modlog"))
    assert f"by {mo_name}" in log and crime.title in log, log
    assert f"https://discord.com/channels/{g.id}/{crime.channel_id}/{spam.id}" in log  # a link
    for raw in raw_ids:  # ids only inside links, never as text
        assert raw not in log.replace(f"https://discord.com/channels/{g.id}/", "").replace(
            f"{crime.channel_id}/{spam.id}", "").replace(f"{crime.channel_id})", ")"), (raw, log)

    export = await run(emu, emulator.alice.id, crime.channel_id, "export", {"format": "csv"},
                       marker="Sent")
    moderation = next(d for n, d in answer_files(export).items() if n.endswith("moderation.csv"))
    rows = list(csv.DictReader(io.StringIO(moderation.decode("utf-8-sig"))))
    assert {r["action"] for r in rows} == {"hide", "lock"}
    for row in rows:
        assert row["moderator"] == mo_name
        assert row["link"].startswith(f"https://discord.com/channels/{g.id}/")
        assert row["item_title"] == crime.title
        assert not set(row.values()) & raw_ids
    hide = next(r for r in rows if r["action"] == "hide")
    assert hide["link"].endswith(f"/{spam.id}") and "comment by" in hide["target"]
