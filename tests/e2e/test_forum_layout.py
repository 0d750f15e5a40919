"""The London agenda published with ``layout = "forum"``: one forum, a post per item and
sub-item, and the same comment, quote, cite, lock and summary behaviour as the channel
layout (tests/e2e/test_discussion.py, test_moderation.py, test_insight.py); the posts'
tags follow the item's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.emulator import EmulatorForbidden, P
from bot.emulator.state import FORUM, TEXT
from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import (
    LONDON,
    answer_files,
    answer_text,
    eventually,
    finished,
    item_by_key,
    make_settings,
)
from tests.e2e.test_insight import ARGUMENTS, assert_sane_png
from tests.e2e.test_outcomes import _set_outcome


def forum_agenda(text: str) -> str:
    return text.replace("[consultation]\n", '[consultation]\nlayout = "forum"\n', 1)


@pytest.fixture
async def forum_bot(emulator, start_client, tmp_path):
    """The London agenda with layout = "forum", published by the organiser alice."""
    bot = ConsultationBot(forum_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(bot, emulator.emu)
    general = emulator.emu.create_text_channel(emulator.guild.id, "general")
    result = await emulator.emu.slash(emulator.alice.id, general.id, "agenda publish")
    await finished(emulator.emu, result, "Published")
    return bot


def forum_settings(tmp_path, emulator):
    agenda = tmp_path / "london-forum.toml"
    agenda.write_text(forum_agenda(LONDON.read_text(encoding="utf-8")), encoding="utf-8")
    return make_settings(tmp_path, emulator, agenda_file=agenda)


async def run(emu, user_id, channel_id, command, options=None):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}))


async def comment_of(bot, message_id):
    return await bot.repo.discussion.comment(message_id)


async def test_one_forum_a_post_per_item_with_tags_and_related_links(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    items = await bot.repo.agenda.guild_items(g.id)
    channels = [c for c in emu.state.channels.values() if c.guild_id == g.id]
    (forum,) = [c for c in channels if c.type == FORUM]
    assert forum.name == "the-london-agenda"
    assert emu.channel(forum.parent_id).name == "The London Agenda"
    assert [c.name for c in channels if c.type == TEXT] == ["general"]  # no item channels
    assert [t["name"] for t in forum.available_tags] == ["open", "locked", "closed", "answered"]
    posts = emu.threads_of(forum.id)
    assert len(posts) == len(items)
    for item in items:  # each item and sub-item is a post; its place says so
        assert item.channel_id == forum.id and item.discord_id == item.thread_id
        post = emu.channel(item.thread_id)
        assert post.parent_id == forum.id and post.name == item.title
        assert emu.forum_tag_names(post.id) == ["open"]
        starter = emu.messages_in(post.id)[0]
        assert starter.id == post.id and starter.embeds[0]["title"] == item.title
        assert item.post_message_ids[0] == post.id
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    security = await item_by_key(bot, g.id, "international-security")
    budapest = await item_by_key(bot, g.id, "budapest-convention")
    # the long body goes on in the post; related articles are links to their posts
    assert len(crime.post_message_ids) >= 1
    body = "".join(e.get("description") or "" for m in crime.post_message_ids
                   for e in emu.get_message(m).embeds)
    assert "24/7 Network" in body
    assert f"<#{security.thread_id}>" in (emu.get_message(crime.thread_id).content or "")
    assert f"<#{crime.thread_id}>" in (emu.get_message(security.thread_id).content or "")
    sub_related = await item_by_key(bot, g.id, "willingness-to-act")
    assert f"<#{sub_related.thread_id}>" in (emu.get_message(budapest.thread_id).content or "")
    assert not any(m.would_ping.users or m.would_ping.everyone
                   for p in posts for m in emu.messages_in(p.id))

    # publishing again changes nothing
    general = next(c for c in channels if c.name == "general")
    again = await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish"),
                           "Published")
    assert "0 created" in answer_text(again) and "0 updated" in answer_text(again)
    assert len(emu.threads_of(forum.id)) == len(items)


async def test_comments_in_posts_are_recorded_and_other_posts_are_not(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    sub = await item_by_key(bot, g.id, "budapest-convention")
    first = await emu.send_message(emulator.pat.id, crime.thread_id, "Prevention matters most.")
    reply = await emu.send_message(emulator.sam.id, crime.thread_id, "Agreed, and industry too.",
                                   reply_to=first.id)
    stored = await eventually(lambda: comment_of(bot, reply.id))
    assert stored.item_id == crime.id and stored.thread_id == crime.thread_id
    assert stored.author_id == emulator.sam.id and stored.reply_to_message_id == first.id
    in_sub = await emu.send_message(emulator.pat.id, sub.thread_id, "The Convention works.")
    assert (await eventually(lambda: comment_of(bot, in_sub.id))).item_id == sub.id
    # every post is an agenda item: participants reply but open no posts of their own
    with pytest.raises(EmulatorForbidden):
        await emu.create_thread(emulator.sam.id, crime.channel_id, "my idea", content="Mine.")
    assert len(emu.threads_of(crime.channel_id)) == len(await bot.repo.agenda.guild_items(g.id))
    marker = await emu.send_message(emulator.pat.id, crime.thread_id, "marker")
    await eventually(lambda: comment_of(bot, marker.id))
    for message in emu.messages_in(crime.thread_id):  # the bot's article posts are not comments
        if message.author_id == bot.user.id:
            assert await comment_of(bot, message.id) is None

    await emu.edit_message(emulator.pat.id, first.id, "Prevention matters most of all.")
    async def edited():
        c = await comment_of(bot, first.id)
        return c if c and c.content == "Prevention matters most of all." else None
    await eventually(edited)
    await emu.delete_message(emulator.pat.id, first.id)
    async def tombstoned():
        c = await comment_of(bot, first.id)
        return c if c and c.deleted_at else None
    assert (await eventually(tombstoned)).content is None


async def test_quotes_and_the_quote_command_in_a_post(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    text = ("> what is unacceptable offline is also unacceptble online\n"
            "Yes, exactly.\n"
            "> the moon is made of cheese and everyone knows it\n"
            "Not in the article.")
    message = await emu.send_message(emulator.pat.id, crime.thread_id, text)
    await eventually(lambda: comment_of(bot, message.id))
    quotes = await bot.repo.discussion.quotes(crime.id)
    assert [q.state for q in quotes] == ["anchored", "unanchored"]
    assert quotes[0].exact.lower() == "what is unacceptable offline is also unacceptable online"

    choices = await emu.autocomplete(emulator.pat.id, crime.thread_id, "quote",
                                     {"passage": "24/7", "comment": "x"}, focused="passage")
    assert "24/7 Network" in choices[0]["name"]
    result = await run(emu, emulator.pat.id, crime.thread_id, "quote",
                       {"passage": choices[0]["value"],
                        "comment": "Every country should join @everyone <@&1>"})
    assert "Posted your quote" in answer_text(result)
    post = [m for m in emu.messages_in(crime.thread_id) if m.author_id == bot.user.id][-1]
    assert "24/7 Network" in post.embeds[0]["description"]
    assert not post.would_ping.everyone and not post.would_ping.roles and not post.would_ping.users
    stored = await comment_of(bot, post.id)
    assert stored.kind == "quote" and stored.item_id == crime.id
    assert stored.thread_id == crime.thread_id


async def test_cite_validates_and_records_in_a_post(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    result = await run(emu, emulator.pat.id, crime.thread_id, "cite", {"url": "javascript:alert(1)"})
    assert result.ephemeral and "cannot be cited" in answer_text(result)
    assert await bot.repo.discussion.sources(crime.id) == []
    result = await run(emu, emulator.pat.id, crime.thread_id, "cite",
                       {"url": "https://EXAMPLE.org:443/a?gclid=1", "note": "Key figures @here"})
    assert "Cited https://example.org/a" in answer_text(result)
    (source,) = await bot.repo.discussion.sources(crime.id)
    post = emu.get_message(source.citations[0].message_id)
    assert post.channel_id == crime.thread_id and not post.would_ping.here
    listing = await run(emu, emulator.pat.id, crime.thread_id, "citations")
    assert "example.org" in answer_text(listing)


async def test_lock_is_the_posts_thread_lock_and_tags_follow(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    security = await item_by_key(bot, g.id, "international-security")
    forum_overwrites = dict(emu.channel(crime.channel_id).overwrites)
    result = await run(emu, emulator.mo.id, crime.thread_id, "lock", {"reason": "consultation closed"})
    assert "Locked “4. Tackling cyber crime”" in answer_text(result)
    notice = emu.messages_in(crime.thread_id)[-1].embeds[0]["description"]
    assert "locked “4. Tackling cyber crime”" in notice and "consultation closed" in notice
    assert emu.channel(crime.thread_id).locked
    assert emu.channel(crime.channel_id).overwrites == forum_overwrites  # the forum is untouched
    with pytest.raises(EmulatorForbidden):
        await emu.send_message(emulator.pat.id, crime.thread_id, "Can I still post?")
    await emu.send_message(emulator.pat.id, security.thread_id, "Other items stay open.")
    locked = await bot.repo.agenda.item(crime.id)
    assert locked.locked and locked.lock_reason == "consultation closed"
    assert "Locked" in emu.get_message(crime.thread_id).embeds[0]["footer"]["text"]
    await emu.wait_for(lambda: emu.forum_tag_names(crime.thread_id) == ["locked"])
    assert emu.forum_tag_names(security.thread_id) == ["open"]
    for command, options in (("cite", {"url": "https://example.org/"}),
                             ("quote", {"passage": "s1", "comment": "late"})):
        refused = await run(emu, emulator.mo.id, crime.thread_id, command, options)
        assert refused.ephemeral and "is locked" in answer_text(refused)
    again = await run(emu, emulator.mo.id, crime.thread_id, "lock")
    assert "already locked" in answer_text(again)

    await run(emu, emulator.mo.id, crime.thread_id, "unlock")
    assert not emu.channel(crime.thread_id).locked
    assert emu.forum_tag_names(crime.thread_id) == ["open"]
    assert "Locked" not in emu.get_message(crime.thread_id).embeds[0]["footer"]["text"]
    await emu.send_message(emulator.pat.id, crime.thread_id, "Open again.")
    actions, _ = await bot.repo.moderation.actions(guild_id=g.id)
    assert [a.action for a in actions] == ["unlock", "lock"]


async def test_outcome_tags_the_post_answered(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    await _set_outcome(emu, emulator.alice.id, crime.thread_id, "accepted",
                       "We will fund a 24/7 contact point.")
    await emu.wait_for(lambda: emu.forum_tag_names(crime.thread_id) == ["open", "answered"])
    (posted,) = [m for m in emu.messages_in(crime.thread_id)
                 if m.author_id == bot.user.id and m.pinned]  # posted and pinned in the post
    assert "24/7 contact point" in str(posted.embeds) + (posted.content or "")
    await run(emu, emulator.mo.id, crime.thread_id, "lock")
    assert emu.forum_tag_names(crime.thread_id) == ["locked", "answered"]


async def test_closing_date_closes_the_post(emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    closes = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    agenda = ('[consultation]\ntitle = "Timed"\nlayout = "forum"\n[[items]]\ntitle = "Closing soon"\n'
              f'summation = "Comments close in an hour."\ncloses_at = {closes}\n'
              '[[items.items]]\ntitle = "A sub-question"\nsummation = "Also closing."\n'
              f'closes_at = {closes}\n[[items]]\ntitle = "Stays open"\nsummation = "No date."\n')
    general = emu.create_text_channel(g.id, "general")
    first = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu)
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish",
                                        {"file": emu.upload("timed.toml", agenda.encode())}),
                   "Published")
    item, sub, other = await first.repo.agenda.guild_items(g.id)
    assert emu.forum_tag_names(item.thread_id) == ["open"]
    await first.close()

    later = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731 - the bot was down 2 h
    second = ConsultationBot(make_settings(tmp_path, emulator), clock=later, guild_ready_timeout=0.05)
    await start_client(second, emu)

    async def locked():
        return all([(await second.repo.agenda.item(i.id)).locked for i in (item, sub)])
    await eventually(locked)
    for closed in (item, sub):
        assert emu.channel(closed.thread_id).locked
        await emu.wait_for(lambda c=closed: emu.forum_tag_names(c.thread_id) == ["closed"])
        with pytest.raises(EmulatorForbidden):
            await emu.send_message(emulator.pat.id, closed.thread_id, "too late")
    assert "closing date" in emu.messages_in(item.thread_id)[-1].embeds[0]["description"]
    # the forum is not locked by overwrites (that would close every item's post)
    assert not emu.channel(item.channel_id).overwrites[g.id].deny & P.SEND_MESSAGES_IN_THREADS
    assert emu.forum_tag_names(other.thread_id) == ["open"]
    await emu.send_message(emulator.pat.id, other.thread_id, "still open")


async def test_summary_and_map_in_a_post(emulator, forum_bot):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    people = [emulator.pat, emulator.sam, emulator.mo, emulator.alice]
    last = first = None
    for n in range(24):
        last = await emu.send_message(people[n % 4].id, crime.thread_id,
                                      f"{ARGUMENTS[n % 3]}, as I see it (point {n}).")
        first = first or last
    await eventually(lambda: bot.repo.discussion.comment(last.id))
    voters = [emu.add_member(g.id, f"voter{i}") for i in range(6)]
    for i, voter in enumerate(voters):
        await emu.add_reaction(voter.id, first.id, "👍" if i < 5 else "👎")

    async def counted():
        c = await bot.repo.discussion.comment(first.id)
        return c and (await bot.repo.discussion.reaction_counts(crime.id, ["👍"], ["👎"])).get(
            c.id) == (5, 1)
    await eventually(counted)
    summary = await run(emu, emulator.sam.id, crime.thread_id, "summary")
    assert "Summary" in answer_text(summary) and "24/7" in answer_text(summary)
    files = answer_files(summary)
    assert_sane_png(files["summary-tackling-cyber-crime.png"])
    (report,) = [d.decode() for n, d in files.items() if n.endswith(".md")]
    assert f"https://discord.com/channels/{g.id}/{crime.thread_id}/" in report

    whole = await finished(emu, await emu.slash(emulator.pat.id, crime.thread_id, "map"),
                           "Graph of this discussion")
    assert_sane_png(answer_files(whole)["map.png"])
    focused = await finished(emu, await emu.slash(emulator.pat.id, crime.thread_id, "map",
                                                  {"topic": str(crime.id)}), "Related topics of")
    assert "International security" in answer_text(focused)


async def test_restart_catches_up_comments_in_posts(emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    first = ConsultationBot(forum_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(first, emu)
    general = emu.create_text_channel(g.id, "general")
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish"),
                   "Published")
    crime = await item_by_key(first, g.id, "tackling-cyber-crime")
    sub = await item_by_key(first, g.id, "willingness-to-act")
    early = await emu.send_message(emulator.pat.id, crime.thread_id, "Posted while the bot ran.")
    await eventually(lambda: first.repo.discussion.comment(early.id))
    await first.close()

    # The bot is down: participants go on talking, and one post falls asleep after.
    await emu.edit_message(emulator.pat.id, early.id, "Posted while the bot ran, then edited.")
    missed = [await emu.send_message(emulator.sam.id, crime.thread_id, f"Missed comment {n}.")
              for n in range(30)]
    in_sub = await emu.send_message(emulator.pat.id, sub.thread_id, "Said, then the post slept.")
    emu.archive_thread(sub.thread_id)
    # a post someone an admin allowed to open is no agenda item: not recorded
    emu.set_overwrite(crime.channel_id, emulator.mo.id, allow=P.SEND_MESSAGES, type=1)
    own = await emu.create_thread(emulator.mo.id, crime.channel_id, "mo's post", content="Mine.")

    second = ConsultationBot(forum_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(second, emu)
    cog = second.get_cog("DiscussionCog")

    async def caught_up():
        return cog.catchup.runs >= 1
    await eventually(caught_up)
    repo = second.repo.discussion
    assert (await repo.comment(early.id)).content == "Posted while the bot ran, then edited."
    stored = [c.message_id for c in await repo.comments(crime.id)]
    assert [m.id for m in missed] == [i for i in stored if i in {m.id for m in missed}]
    assert (await repo.comment(in_sub.id)).item_id == sub.id
    assert await repo.comment(own.id) is None


async def test_reminders_arrive_in_the_post(emulator, start_client, tmp_path):
    from tests.e2e.test_reminders import CLOSES, _agenda, _publish, _reminders, _start

    emu = emulator.emu
    first = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(days=2))
    timed, endless = await _publish(emulator, first, forum_agenda(_agenda()))
    assert timed.discord_id == timed.thread_id and timed.channel_id == endless.channel_id
    await first.close()
    assert _reminders(emu, timed.thread_id) == []
    await _start(emulator, start_client, tmp_path, CLOSES - timedelta(hours=23))
    await emu.wait_for(lambda: len(_reminders(emu, timed.thread_id)) == 1)
    assert "Reminder 1 day before closing" in _reminders(emu, timed.thread_id)[0].embeds[0][
        "footer"]["text"]
    assert _reminders(emu, endless.thread_id) == []


async def test_an_archived_post_is_edited_and_archived_again(emulator, forum_bot, tmp_path):
    emu, bot, g = emulator.emu, forum_bot, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    emu.archive_thread(crime.thread_id)  # a quiet week: Discord archives the post
    text = forum_agenda(LONDON.read_text(encoding="utf-8")).replace(
        'title = "4. Tackling cyber crime"', 'title = "4. Tackling cyber crime, revised"', 1)
    general = next(c for c in emu.state.channels.values() if c.name == "general")
    result = await finished(emu, await emu.slash(
        emulator.alice.id, general.id, "agenda publish",
        {"file": emu.upload("london.toml", text.encode())}), "Published")
    assert "1 updated" in answer_text(result)
    assert emu.get_message(crime.thread_id).embeds[0]["title"] == "4. Tackling cyber crime, revised"
    assert emu.channel(crime.thread_id).name == "4. Tackling cyber crime, revised"
    assert emu.channel(crime.thread_id).archived  # put back to sleep as it was
    assert emu.forum_tag_names(crime.thread_id) == ["open"]


async def test_a_published_consultation_keeps_its_layout(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild  # published as channels
    before = await bot.repo.agenda.guild_items(g.id)
    general = next(c for c in emu.state.channels.values() if c.name == "general")
    text = forum_agenda(LONDON.read_text(encoding="utf-8"))
    result = await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish",
                                                 {"file": emu.upload("london.toml", text.encode())}))
    said = answer_text(result)
    assert result.ephemeral and 'published with layout = "channels"' in said
    assert "Nothing was stored" in said
    assert not [c for c in emu.state.channels.values() if c.type == FORUM]
    assert await bot.repo.agenda.guild_items(g.id) == before
    (consultation,) = await bot.repo.agenda.consultations(g.id)
    assert await bot.repo.forum.layout(consultation.id) == "channels"
