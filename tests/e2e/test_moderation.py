"""Moderation and participants' data, end to end through the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.emulator import EmulatorForbidden, P
from bot.runtime.client import ConsultationBot
from tests import pg
from tests.e2e.conftest import (
    answer_files,
    answer_text,
    eventually,
    finished,
    item_by_key,
    make_settings,
)


async def run(emu, user_id, channel_id, command, options=None):
    result = await emu.slash(user_id, channel_id, command, options or {})
    return await finished(emu, result)


def overwrites_of(emu, channel_id):
    return {k: (o.type, o.allow, o.deny) for k, o in emu.channel(channel_id).overwrites.items()}


async def test_thread_lock_and_unlock(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    sub = await item_by_key(bot, g.id, "budapest-convention")
    await emu.send_message(emulator.pat.id, sub.thread_id, "Before the lock.")
    result = await run(emu, emulator.mo.id, sub.thread_id, "lock", {"reason": "off track"})
    assert "Locked this thread" in answer_text(result)
    assert emu.channel(sub.thread_id).locked
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, sub.thread_id, "During the lock.")
    notice = emu.messages_in(sub.thread_id)[-1]
    assert "off track" in notice.embeds[0]["description"]
    result = await run(emu, emulator.mo.id, sub.thread_id, "unlock")
    assert "Unlocked" in answer_text(result)
    await emu.send_message(emulator.pat.id, sub.thread_id, "After the unlock.")


async def test_item_lock_keeps_and_restores_existing_overwrites(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    sub = await item_by_key(bot, g.id, "no-safe-havens")
    emu.set_overwrite(crime.channel_id, emulator.sam.id, allow=P.SEND_MESSAGES, type=1)
    emu.set_overwrite(crime.channel_id, g.id, deny=P.ADD_REACTIONS, type=0)
    before = overwrites_of(emu, crime.channel_id)

    result = await run(emu, emulator.mo.id, crime.channel_id, "lock", {"reason": "consultation closed"})
    assert "Locked “4. Tackling cyber crime”" in answer_text(result)
    for user in (emulator.pat, emulator.sam):
        with pytest.raises(EmulatorForbidden):
            await emu.send_message(user.id, crime.channel_id, "Can I still post?")
        with pytest.raises(EmulatorForbidden):
            await emu.send_message(user.id, sub.thread_id, "In the thread?")
    locked = await bot.repo.agenda.item(crime.id)
    assert locked.locked and locked.lock_reason == "consultation closed"
    head = emu.get_message(locked.post_message_ids[0]).embeds[0]
    assert "Locked" in head["footer"]["text"]
    about = await run(emu, emulator.pat.id, crime.channel_id, "about")
    assert "Locked" in answer_text(about)

    again = await run(emu, emulator.mo.id, crime.channel_id, "lock")
    assert "already locked" in answer_text(again)
    await run(emu, emulator.mo.id, crime.channel_id, "unlock")
    assert overwrites_of(emu, crime.channel_id) == before
    await emu.send_message(emulator.pat.id, crime.channel_id, "Open again.")
    actions, _ = await bot.repo.moderation.actions(guild_id=g.id)
    assert [a.action for a in actions] == ["unlock", "lock"]
    log = await run(emu, emulator.mo.id, crime.channel_id, "modlog")
    assert "lock" in answer_text(log) and "consultation closed" in answer_text(log)


async def test_participant_cannot_lock_even_when_the_command_is_shown(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    with pytest.raises(EmulatorForbidden):  # Discord hides it by default_member_permissions …
        await emu.slash(emulator.pat.id, crime.channel_id, "lock")
    emu.allow_command_for_everyone(g.id, "lock")  # … but an admin may show it to everyone
    result = await run(emu, emulator.pat.id, crime.channel_id, "lock", {"reason": "mine"})
    assert result.ephemeral and "Only moderators" in answer_text(result)
    assert not (await bot.repo.agenda.item(crime.id)).locked
    assert await bot.repo.moderation.locks() == []
    await emu.send_message(emulator.sam.id, crime.channel_id, "still open")


async def test_lock_without_bot_permission_changes_nothing(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    before = overwrites_of(emu, crime.channel_id)
    role = emulator.bot_role
    emu.set_role_permissions(g.id, role.id, role.permissions & ~P.MANAGE_ROLES)
    result = await run(emu, emulator.mo.id, crime.channel_id, "lock")
    assert result.ephemeral and "Manage Roles" in answer_text(result)
    assert overwrites_of(emu, crime.channel_id) == before
    assert not (await bot.repo.agenda.item(crime.id)).locked


async def test_item_whose_closing_date_passed_while_down_is_locked_on_start(emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    closes = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    agenda = ('[consultation]\ntitle = "Timed"\n[[items]]\ntitle = "Closing soon"\n'
              f'summation = "Comments close in an hour."\ncloses_at = {closes}\n'
              '[[items.items]]\ntitle = "A sub-question"\nsummation = "Also closing."\n'
              f'closes_at = {closes}\n')
    general = emu.create_text_channel(g.id, "general")
    first = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu)
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish",
                                        {"file": emu.upload("timed.toml", agenda.encode())}),
                   "Published")
    item, sub = await first.repo.agenda.guild_items(g.id)
    assert not item.locked and not sub.locked
    await first.close()

    later = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731 - the bot was down 2 h
    second = ConsultationBot(make_settings(tmp_path, emulator), clock=later, guild_ready_timeout=0.05)
    await start_client(second, emu)

    async def locked():
        return all([(await second.repo.agenda.item(i.id)).locked for i in (item, sub)])
    await eventually(locked)
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, item.channel_id, "too late")
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, sub.thread_id, "too late here too")
    assert emu.channel(sub.thread_id).locked
    assert "closing date" in emu.messages_in(item.channel_id)[-1].embeds[0]["description"]
    refused = await run(emu, emulator.mo.id, sub.thread_id, "cite", {"url": "https://example.org/"})
    assert "is locked" in answer_text(refused)


async def test_hide_removes_a_comment_from_summary_and_export(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    keep = await emu.send_message(emulator.pat.id, crime.channel_id, "Governments should lead by example.")
    spam = await emu.send_message(emulator.sam.id, crime.channel_id, "BUY CHEAP WATCHES zzqqxx")
    await eventually(lambda: bot.repo.discussion.comment(spam.id))
    menu = await emu.context_menu(emulator.mo.id, crime.channel_id, "Hide from consultation",
                                  target_message_id=spam.id)
    assert menu.modal is not None
    (reason_id,) = [c["custom_id"] for c in menu.modal.inputs]
    await finished(emu, await emu.submit_modal(emulator.mo.id, menu.modal, {reason_id: "spam"}))
    assert (await bot.repo.discussion.comment(spam.id)).hidden
    summary = await run(emu, emulator.pat.id, crime.channel_id, "summary")
    (report,) = [d.decode() for n, d in answer_files(summary).items() if n.endswith(".md")]
    assert "Governments should lead" in report and "zzqqxx" not in report
    export = await run(emu, emulator.alice.id, crime.channel_id, "export", {"format": "json"})
    files = answer_files(export)
    comments = json.loads(next(d for n, d in files.items() if n.endswith("comments.json")))
    texts = [c["content"] for c in comments]
    assert "Governments should lead by example." in texts and not any("zzqqxx" in t for t in texts)
    assert keep.id in {int(c["message_id"]) for c in comments}
    actions, _ = await bot.repo.moderation.actions(guild_id=g.id)
    assert actions[0].action == "hide" and actions[0].reason == "spam"


async def test_mydata_export_and_delete(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    secret = "pat-unique-phrase-qwertyuiop"
    await run(emu, emulator.pat.id, crime.channel_id, "profile",
              {"display_name": "Pat Example", "affiliation": "individual", "named": True})
    mine = await emu.send_message(emulator.pat.id, crime.channel_id, f"{secret} https://example.org/x")
    await emu.edit_message(emulator.pat.id, mine.id, f"{secret} edited https://example.org/x")
    other = await emu.send_message(emulator.sam.id, crime.channel_id, "sam-words-only")
    async def both():  # the create and the edit events may be handled in either order
        c = await bot.repo.discussion.comment(mine.id)
        return (c and "edited" in (c.content or "") and await bot.repo.discussion.revisions(c.id)
                and await bot.repo.discussion.comment(other.id))
    await eventually(both)

    result = await run(emu, emulator.pat.id, crime.channel_id, "mydata export")
    assert result.ephemeral or all(m.ephemeral for m in result.followups)
    ((name, data),) = answer_files(result).items()
    exported = json.loads(data)
    assert exported["profile"]["display_name"] == "Pat Example"
    assert [c["message_id"] for c in exported["comments"]] == [str(mine.id)]
    assert exported["comments"][0]["revisions"][0]["content"].startswith(secret)
    assert "sam-words-only" not in data.decode()

    ask = await emu.slash(emulator.pat.id, crime.channel_id, "mydata delete")
    refused = await emu.press_button(emulator.sam.id, ask.message, f"mydata:erase:{emulator.pat.id}")
    assert refused.ephemeral and "Only the person" in answer_text(refused)
    assert (await bot.repo.privacy.participant(emulator.pat.id)) is not None
    done = await emu.press_button(emulator.pat.id, ask.message, f"mydata:erase:{emulator.pat.id}")
    await finished(emu, done, "Erased")
    await bot.repo.db.checkpoint()
    blob = await pg.database_bytes(bot.repo.db)
    assert secret.encode() not in blob and b"Pat Example" not in blob
    assert b"sam-words-only" in blob
    actions, _ = await bot.repo.moderation.actions(guild_id=g.id)
    erase = next(a for a in actions if a.action == "erase")
    assert erase.target_id is None and erase.reason is None  # that it happened, not what
    assert (await bot.repo.discussion.counts(crime.id)).comments >= 1


async def test_lock_is_reapplied_after_restart_when_discord_lost_it(emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    first = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu)
    general = emu.create_text_channel(g.id, "general")
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish"), "Published")
    crime = await item_by_key(first, g.id, "tackling-cyber-crime")
    await run(emu, emulator.mo.id, crime.channel_id, "lock", {"reason": "paused"})
    locked = overwrites_of(emu, crime.channel_id)
    await first.close()

    emu.set_overwrite(crime.channel_id, g.id, allow=0, deny=0, type=0)  # an admin undid it
    await emu.send_message(emulator.pat.id, crime.channel_id, "slipped in while the bot was down")

    second = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(second, emu)
    await emu.wait_for(lambda: overwrites_of(emu, crime.channel_id) == locked, timeout=10)
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, crime.channel_id, "and now?")


async def test_commands_are_rate_limited_per_user(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    # /map draws a new picture each time (a cached /summary would cost nothing)
    answers = [await run(emu, emulator.pat.id, crime.channel_id, "map") for _ in range(3)]
    assert "Slow down" not in answer_text(answers[1])
    assert answers[2].ephemeral and "Slow down" in answer_text(answers[2])
    other = await run(emu, emulator.sam.id, crime.channel_id, "map")
    assert "Slow down" not in answer_text(other)
