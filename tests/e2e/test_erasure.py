"""/mydata delete erases everything a person gave: citation links and titles, and the posts
the bot made for them (/quote, /cite), which they cannot delete themselves."""

from __future__ import annotations

from tests import pg
from tests.e2e.conftest import answer_text, eventually, finished, item_by_key


async def run(emu, user_id, channel_id, command, options=None):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}))


async def database_bytes(bot) -> bytes:
    return await pg.database_bytes(bot.repo.db)


async def test_mydata_delete_erases_citations_titles_and_the_bots_posts(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    linked = "https://pat-only-source.org/paper"
    said = await emu.send_message(emulator.pat.id, crime.channel_id, f"Read {linked}")
    await eventually(lambda: bot.repo.discussion.comment(said.id))
    await emu.link_preview(said.id, linked, "Pats Secret Paper Title")

    cited = await run(emu, emulator.pat.id, crime.channel_id, "cite",
                      {"url": "https://pat-cited.org/report", "note": "pat-note-words"})
    assert "Cited" in answer_text(cited)
    choices = await emu.autocomplete(emulator.pat.id, crime.channel_id, "quote",
                                     {"passage": "24/7", "comment": "x"}, focused="passage")
    quoted = await run(emu, emulator.pat.id, crime.channel_id, "quote",
                       {"passage": choices[0]["value"], "comment": "pat-quote-words"})
    assert "Posted your quote" in answer_text(quoted)
    sams = await emu.send_message(emulator.sam.id, crime.channel_id, "sam cites https://sam-source.org/")

    async def all_stored():
        sources = {s.normalized_url: s for s in await bot.repo.discussion.sources(crime.id)}
        return (len(sources) == 3 and sources["https://pat-only-source.org/paper"].title
                and await bot.repo.discussion.comment(sams.id))
    await eventually(all_stored)
    bot_posts = [m.id for m in emu.messages_in(crime.channel_id)
                 if m.author_id == bot.user.id and m.embeds
                 and "pat-" in (m.content or "") + (m.embeds[0].get("description") or "")]
    assert len(bot_posts) == 2

    ask = await emu.slash(emulator.pat.id, crime.channel_id, "mydata delete")
    assert "posts" in answer_text(ask)  # the warning says the bot's posts go too
    done = await emu.press_button(emulator.pat.id, ask.message, f"mydata:erase:{emulator.pat.id}")
    await finished(emu, done, "Erased")
    text = answer_text(done)
    assert "2 post" in text and "citation" in text, text

    remaining = {m.id for m in emu.messages_in(crime.channel_id)}
    assert not remaining & set(bot_posts)  # the bot's /quote and /cite posts are gone
    assert said.id in remaining  # pat's own message is theirs to delete
    await bot.repo.db.checkpoint()
    blob = await database_bytes(bot)
    for secret in (b"pat-only-source", b"pat-cited.org", b"Pats Secret Paper Title",
                   b"pat-note-words", b"pat-quote-words"):
        assert secret not in blob, secret
    assert b"sam-source.org" in blob
    assert [s.normalized_url for s in await bot.repo.discussion.sources(crime.id)] == [
        "https://sam-source.org/"]
