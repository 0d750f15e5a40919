"""`[topic]` honours the member's permissions in the item's channel or thread (issue 11, item 10).

A member is denied View Channel (or Send Messages) on an agenda item with a channel
overwrite, as a server admin would; from another channel she names the item.
"""

from __future__ import annotations

from bot.emulator import P
from tests.e2e.conftest import answer_files, answer_text, eventually, finished, item_by_key


async def run(emu, user_id, channel_id, command, options=None, marker=""):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}),
                          marker)


async def setup_place(emulator, bot, deny: int):
    """#lobby (visible to all) and the cyber-crime item with `deny` for pat."""
    emu, g = emulator.emu, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    lobby = emu.create_text_channel(g.id, "lobby")
    emu.set_overwrite(crime.channel_id, emulator.pat.id, deny=deny)
    await emu.wait_for(lambda: bot.get_channel(lobby.id) is not None and any(
        t.id == emulator.pat.id for t in bot.get_channel(crime.channel_id).overwrites))
    return crime, lobby


async def a_passage(emu, user_id, channel_id):
    choices = await emu.autocomplete(user_id, channel_id, "quote", {"passage": "24/7", "comment": "x"},
                                     focused="passage")
    return choices[0]["value"]


def bot_posts(emu, bot, channel_id):
    return [m.id for m in emu.messages_in(channel_id) if m.author_id == bot.user.id]


async def test_member_without_view_channel_cannot_read_or_post_through_topic(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    sub = await item_by_key(bot, g.id, "budapest-convention")
    crime, lobby = await setup_place(emulator, bot, deny=P.VIEW_CHANNEL)
    secret = await emu.send_message(emulator.sam.id, crime.channel_id,
                                    "Private-plan-xyz: see https://example.org/private-source")
    await eventually(lambda: bot.repo.discussion.comment(secret.id))
    passage = await a_passage(emu, emulator.sam.id, crime.channel_id)
    pat, sam = emulator.pat.id, emulator.sam.id

    for command in ("summary", "about", "citations"):
        for item in (crime, sub):  # the item and its sub-item's thread (inherits the channel)
            result = await run(emu, pat, lobby.id, command, {"topic": str(item.id)})
            text = answer_text(result)
            assert result.ephemeral and "cannot read" in text, (command, text)
            assert answer_files(result) == {}  # no chart, no report of what they cannot read
            assert item.title not in text and "Private-plan-xyz" not in text
            assert "example.org/private-source" not in text

    visible = await emu.autocomplete(sam, lobby.id, "about", {"topic": "c"}, focused="topic")
    hidden = await emu.autocomplete(pat, lobby.id, "about", {"topic": "c"}, focused="topic")
    assert str(crime.id) in {c["value"] for c in visible}
    assert {str(crime.id), str(sub.id)}.isdisjoint({c["value"] for c in hidden})
    assert hidden  # other items are still offered

    # /map's picture comes as a public follow-up after its private "thinking…"
    for command, marker in (("map", "Graph of this discussion"), ("agenda list", "")):
        theirs = answer_text(await run(emu, sam, lobby.id, command, marker=marker))
        mine = answer_text(await run(emu, pat, lobby.id, command, marker=marker))
        assert crime.title in theirs and crime.title not in mine, command
        assert sub.title not in mine

    before = bot_posts(emu, bot, crime.channel_id)
    for command, options in (("quote", {"passage": passage, "comment": "Posted for me?"}),
                             ("cite", {"url": "https://example.org/mine"})):
        result = await run(emu, pat, lobby.id, command, {**options, "topic": str(crime.id)})
        assert result.ephemeral and "cannot read" in answer_text(result), command
    assert bot_posts(emu, bot, crime.channel_id) == before
    assert all("mine" not in s.url for s in await bot.repo.discussion.sources(crime.id))


async def test_member_denied_send_messages_cannot_post_through_quote_or_cite(emulator, published):
    emu, bot = emulator.emu, published
    crime, lobby = await setup_place(emulator, bot, deny=P.SEND_MESSAGES)
    passage = await a_passage(emu, emulator.pat.id, crime.channel_id)  # she can still read it
    before = bot_posts(emu, bot, crime.channel_id)
    for where in (lobby.id, crime.channel_id):
        for command, options in (("quote", {"passage": passage, "comment": "Posted for me?"}),
                                 ("cite", {"url": "https://example.org/mine"})):
            result = await run(emu, emulator.pat.id, where, command, {**options, "topic": str(crime.id)})
            text = answer_text(result)
            assert result.ephemeral and "Send Messages" in text and "Nothing was posted" in text
    assert bot_posts(emu, bot, crime.channel_id) == before
    assert await bot.repo.discussion.sources(crime.id) == []
    about = await run(emu, emulator.pat.id, lobby.id, "about", {"topic": str(crime.id)})
    assert crime.title in answer_text(about)  # reading is still allowed


async def test_quote_and_cite_from_a_locked_thread_do_not_post_to_its_channel(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    thread = await emu.create_thread(emulator.sam.id, crime.channel_id, "side talk")
    await emu.send_message(emulator.sam.id, thread.id, "A side point.")
    passage = await a_passage(emu, emulator.pat.id, crime.channel_id)
    locked = await run(emu, emulator.mo.id, thread.id, "lock", {"reason": "off track"})
    assert "Locked" in answer_text(locked)
    await emu.wait_for(lambda: bot.get_channel(thread.id) is not None and bot.get_channel(thread.id).locked)
    before = bot_posts(emu, bot, crime.channel_id)
    for command, options in (("quote", {"passage": passage, "comment": "Around the lock"}),
                             ("cite", {"url": "https://example.org/around"})):
        result = await run(emu, emulator.pat.id, thread.id, command, options)
        assert result.ephemeral and "locked" in answer_text(result), command
    assert bot_posts(emu, bot, crime.channel_id) == before
    assert await bot.repo.discussion.sources(crime.id) == []
