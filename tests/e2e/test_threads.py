"""Threads as real Discord treats them: auto-archive, locks on archived threads, the
permissions a lock may set, private threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.emulator import EmulatorForbidden, P
from bot.emulator.state import README_INVITE_PERMISSIONS
from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import answer_text, eventually, finished, make_settings

DAY = 24 * 3600
LONG_BODY = "\n\n".join(f"Paragraph {n}. " + "A sentence about the question. " * 40
                        for n in range(1, 9))  # ≈ 10,000 characters: posts inside the thread too


def emulated_now(emu):
    """The bot's clock for closing dates, moved by `emu.advance_time` like Discord's."""
    return lambda: datetime.fromtimestamp(emu.clock.now(), UTC)


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def timed_agenda(closes: datetime) -> bytes:
    return ('[consultation]\ntitle = "Timed"\n[[items]]\ntitle = "Open question"\n'
            'summation = "Stays open."\n'
            '[[items.items]]\ntitle = "A sub-question"\nsummation = "Closes later."\n'
            f'body = """{LONG_BODY}"""\ncloses_at = {stamp(closes)}\n').encode()


async def publish(emu, env, bot, agenda: bytes):
    general = emu.create_text_channel(env.guild.id, "general")
    await finished(emu, await emu.slash(env.alice.id, general.id, "agenda publish",
                                        {"file": emu.upload("timed.toml", agenda)}), "Published")
    return await bot.repo.agenda.guild_items(env.guild.id)


async def test_sub_item_closes_after_its_thread_auto_archived(emulator, start_client, tmp_path):
    emu, env = emulator.emu, emulator
    closes = emulated_now(emu)() + timedelta(days=8)
    bot = ConsultationBot(make_settings(tmp_path, env), clock=emulated_now(emu),
                          guild_ready_timeout=0.05)
    await start_client(bot, emu)
    _item, sub = await publish(emu, env, bot, timed_agenda(closes))
    assert len(sub.post_message_ids) > 1  # part of the article is inside the thread
    await emu.send_message(env.pat.id, sub.thread_id, "An early comment.")

    emu.advance_time(7 * DAY + 60)  # a quiet week: Discord archives the thread
    assert emu.channel(sub.thread_id).archived and not emu.channel(sub.thread_id).locked
    bot.get_cog("ModerationCog").close_due_items.change_interval(seconds=0.05)
    emu.advance_time(DAY)  # past the closing date

    async def closed():
        return (await bot.repo.agenda.item(sub.id)).locked
    await eventually(closed)
    thread = emu.channel(sub.thread_id)
    assert thread.locked
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(env.pat.id, sub.thread_id, "Too late.")
    # The thread says why it closed, and the article's head shows it (posted after the lock).
    await emu.wait_for(lambda: any(
        m.embeds and "closing date" in (m.embeds[0].get("description") or "")
        for m in emu.messages_in(sub.thread_id)))
    head = emu.get_message(sub.starter_message_id).embeds[0]
    assert "Locked" in head["footer"]["text"]


async def test_sub_item_threads_stay_a_week_in_the_channel_list(emulator, start_client, tmp_path):
    emu, env = emulator.emu, emulator
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    agenda = timed_agenda(datetime.now(UTC) + timedelta(days=30))
    _item, sub = await publish(emu, env, bot, agenda)
    assert emu.channel(sub.thread_id).auto_archive_duration == 10080
    # A thread opened by an older version (one day): the next publish gives it the week.
    emu.modify_channel(env.guild.owner_id, emu.channel(sub.thread_id), {"auto_archive_duration": 1440})
    general = emu.channel_named(env.guild.id, "general")
    await finished(emu, await emu.slash(env.alice.id, general.id, "agenda publish",
                                        {"file": emu.upload("timed.toml", agenda)}), "Published")
    assert emu.channel(sub.thread_id).auto_archive_duration == 10080


async def test_sub_item_article_edited_while_its_thread_is_archived(emulator, start_client, tmp_path):
    emu, env = emulator.emu, emulator
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    agenda = timed_agenda(datetime.now(UTC) + timedelta(days=30))
    _item, sub = await publish(emu, env, bot, agenda)
    emu.advance_time(7 * DAY + 60)
    assert emu.channel(sub.thread_id).archived
    general = emu.channel_named(env.guild.id, "general")
    edited = agenda.replace(b"Paragraph 8.", b"Paragraph 8 (revised).")
    result = await emu.slash(env.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("timed.toml", edited)})
    await finished(emu, result, "Published")
    assert "1 updated" in result.message.content
    sub = await bot.repo.agenda.item(sub.id)
    texts = " ".join(e.get("description") or "" for i in sub.post_message_ids[1:]
                     for e in emu.get_message(i).embeds)
    assert "Paragraph 8 (revised)." in texts
    assert emu.channel(sub.thread_id).archived  # put back as Discord had it


async def test_closing_retries_with_backoff_and_gives_up(emulator, start_client, tmp_path):
    import re

    from cogs.moderation import CLOSING_MAX_ATTEMPTS

    emu, env = emulator.emu, emulator
    start = emulated_now(emu)()
    agenda = ('[consultation]\ntitle = "Timed"\n[[items]]\ntitle = "Open question"\n'
              'summation = "Stays open."\n'
              '[[items.items]]\ntitle = "Stuck"\nsummation = "Cannot be locked."\n'
              f'closes_at = {stamp(start + timedelta(hours=1))}\n'
              '[[items.items]]\ntitle = "Later"\nsummation = "Closes a day later."\n'
              f'closes_at = {stamp(start + timedelta(hours=30))}\n').encode()
    bot = ConsultationBot(make_settings(tmp_path, env), clock=emulated_now(emu),
                          guild_ready_timeout=0.05)
    await start_client(bot, emu)
    _item, stuck, later = await publish(emu, env, bot, agenda)
    emu.fail_next("PATCH", re.compile(rf"/channels/{stuck.thread_id}"), status=403, count=10_000)
    bot.get_cog("ModerationCog").close_due_items.change_interval(seconds=0.02)

    def attempts() -> int:
        return len([r for r in emu.calls("PATCH") if r.path == f"/channels/{stuck.thread_id}"])

    for n in range(1, CLOSING_MAX_ATTEMPTS + 1):
        emu.advance_time(2 * 3600)  # past the closing date, then past each retry delay
        await emu.wait_for(lambda n=n: attempts() >= n, timeout=5)
    emu.advance_time(30 * 3600)  # past "Later"'s closing date: the loop still runs

    async def later_closed():
        return (await bot.repo.agenda.item(later.id)).locked
    await eventually(later_closed)
    assert attempts() == CLOSING_MAX_ATTEMPTS  # then no more: not every 30 s forever
    assert not (await bot.repo.agenda.item(stuck.id)).locked


async def test_a_lock_that_cannot_be_reapplied_does_not_stop_the_others(emulator, start_client, tmp_path):
    import re

    emu, env = emulator.emu, emulator
    first = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(first, emu)
    general = emu.create_text_channel(env.guild.id, "general")
    await finished(emu, await emu.slash(env.alice.id, general.id, "agenda publish"), "Published")
    subs = [i for i in await first.repo.agenda.guild_items(env.guild.id) if i.parent_id][:2]
    for sub in subs:
        await finished(emu, await emu.slash(env.mo.id, sub.thread_id, "lock", {"reason": "paused"}))
        assert emu.channel(sub.thread_id).locked
    await first.close()
    owner = env.guild.owner_id
    for sub in subs:  # an admin unlocked both while the bot was down
        emu.modify_channel(owner, emu.channel(sub.thread_id), {"locked": False})
    emu.fail_next("PATCH", re.compile(rf"/channels/{subs[0].thread_id}"), status=403, count=100)

    second = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(second, emu)
    await emu.wait_for(lambda: emu.channel(subs[1].thread_id).locked, timeout=10)
    assert not emu.channel(subs[0].thread_id).locked


# --- what a lock may set --------------------------------------------------------------------------

def two_level_agenda(*subs: str) -> bytes:
    text = ('[consultation]\ntitle = "Locks"\n[[items]]\ntitle = "Main question"\n'
            'summation = "The item that gets locked."\n')
    for title in subs:
        text += f'[[items.items]]\ntitle = "{title}"\nsummation = "A part of it."\n'
    return text.encode()


def overwrites_of(emu, channel_id):
    return {k: (o.type, o.allow, o.deny) for k, o in emu.channel(channel_id).overwrites.items()}


async def test_lock_with_the_readme_permissions_where_everyone_lacks_private_threads(
        emulator, start_client, tmp_path):
    emu, env, g = emulator.emu, emulator, emulator.guild
    assert env.bot_role.permissions == README_INVITE_PERMISSIONS
    assert not README_INVITE_PERMISSIONS & P.CREATE_PRIVATE_THREADS
    everyone = g.roles[g.id]
    emu.set_role_permissions(g.id, g.id, everyone.permissions & ~P.CREATE_PRIVATE_THREADS)
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    item, first = await publish(emu, env, bot, two_level_agenda("First part"))

    result = await finished(emu, await emu.slash(env.mo.id, item.channel_id, "lock",
                                                 {"reason": "closed for now"}))
    assert "Locked “" in answer_text(result)
    assert (await bot.repo.agenda.item(item.id)).locked
    for where in (item.channel_id, first.thread_id):
        with pytest.raises(EmulatorForbidden):
            await emu.send_message(env.pat.id, where, "Still open?")
    with pytest.raises(EmulatorForbidden):
        await emu.create_thread(env.pat.id, item.channel_id, "A side thread")

    # Publishing a new sub-item into the locked item still works: a starter post and its thread.
    general = emu.channel_named(g.id, "general")
    result = await emu.slash(env.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("locks.toml", two_level_agenda("First part",
                                                                                 "Second part"))})
    await finished(emu, result, "Published")
    assert "1 created" in result.message.content
    second = next(i for i in await bot.repo.agenda.guild_items(g.id) if i.title == "Second part")
    assert second.thread_id and emu.channel(second.thread_id).parent_id == item.channel_id
    with pytest.raises(EmulatorForbidden):  # the new thread is locked with its item
        await emu.send_message(env.pat.id, second.thread_id, "And here?")
    await finished(emu, await emu.slash(env.mo.id, item.channel_id, "unlock"))
    await emu.send_message(env.pat.id, second.thread_id, "Open again.")


async def test_lock_names_the_permission_the_bot_lacks_and_changes_nothing(
        emulator, start_client, tmp_path):
    emu, env, g = emulator.emu, emulator, emulator.guild
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    item, _first = await publish(emu, env, bot, two_level_agenda("First part"))
    before = overwrites_of(emu, item.channel_id)
    for role in (g.roles[g.id], env.bot_role):  # nobody may open public threads any more
        emu.set_role_permissions(g.id, role.id, role.permissions & ~P.CREATE_PUBLIC_THREADS)

    result = await finished(emu, await emu.slash(env.mo.id, item.channel_id, "lock"))
    text = answer_text(result)
    assert result.ephemeral and "Create Public Threads" in text and "Nothing was changed" in text
    assert overwrites_of(emu, item.channel_id) == before
    assert not (await bot.repo.agenda.item(item.id)).locked


async def test_no_starter_post_is_left_when_its_thread_cannot_be_opened(emulator, start_client, tmp_path):
    emu, env, g = emulator.emu, emulator, emulator.guild
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    item, _first = await publish(emu, env, bot, two_level_agenda("First part"))
    emu.fail_next("POST", "/channels/{channel_id}/messages/{message_id}/threads", status=403)
    general = emu.channel_named(g.id, "general")
    agenda = two_level_agenda("First part", "Second part")
    result = await emu.slash(env.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("locks.toml", agenda)})
    await finished(emu, result)

    def starters(title):
        return [m for m in emu.messages_in(item.channel_id)
                if m.embeds and m.embeds[0].get("title") == title]
    assert starters("Second part") == []  # no orphan post without its thread
    result = await emu.slash(env.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("locks.toml", agenda)})
    await finished(emu, result, "Published")
    (starter,) = starters("Second part")
    assert starter.thread_id is not None


# --- private threads ------------------------------------------------------------------------------

async def test_private_threads_are_not_recorded(emulator, start_client, tmp_path):
    import json

    emu, env = emulator.emu, emulator
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    item, _first = await publish(emu, env, bot, two_level_agenda("First part"))
    private = await emu.create_thread(env.pat.id, item.channel_id, "just us", private=True)
    await emu.send_message(env.pat.id, private.id, "secret-aside-zzqq between two people")
    public = await emu.create_thread(env.sam.id, item.channel_id, "open side thread")
    said = await emu.send_message(env.sam.id, public.id, "A public side remark.")
    await emu.send_message(env.pat.id, item.channel_id, "A comment in the channel.")
    await eventually(lambda: bot.repo.discussion.comment(said.id))
    await bot.get_cog("DiscussionCog").catchup.run()  # and history does not bring it in either

    result = await finished(emu, await emu.slash(env.alice.id, item.channel_id, "export",
                                                 {"format": "json"}))
    files = {n: d for m in [result.message, *result.followups] if m for n, d in m.files}
    comments = json.loads(next(d for n, d in files.items() if n.endswith("comments.json")))
    texts = [c["content"] for c in comments]
    assert "A public side remark." in texts and "A comment in the channel." in texts
    assert not any("secret-aside-zzqq" in t for t in texts)
    assert await bot.repo.discussion.cursor(private.id) is None  # not even followed
