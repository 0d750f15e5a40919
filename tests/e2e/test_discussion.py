"""Discussion capture end to end: comments, edits, deletions, quotes, citations, no pings."""

from __future__ import annotations

from tests.e2e.conftest import answer_text, eventually, finished, item_by_key


async def comment_of(bot, message_id):
    return await bot.repo.discussion.comment(message_id)


async def test_messages_edits_and_deletions_are_recorded(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    first = await emu.send_message(emulator.pat.id, crime.channel_id, "Prevention matters most.")
    reply = await emu.send_message(emulator.sam.id, crime.channel_id, "Agreed, and industry too.",
                                   reply_to=first.id)
    stored = await eventually(lambda: comment_of(bot, reply.id))
    assert stored.author_id == emulator.sam.id and stored.reply_to_message_id == first.id
    assert stored.item_id == crime.id

    await emu.edit_message(emulator.pat.id, first.id, "Prevention matters most of all.")
    async def edited():
        c = await comment_of(bot, first.id)
        return c if c and c.content == "Prevention matters most of all." else None
    comment = await eventually(edited)
    assert [r.content for r in await bot.repo.discussion.revisions(comment.id)] == [
        "Prevention matters most."
    ]

    await emu.delete_message(emulator.pat.id, first.id)
    async def tombstoned():
        c = await comment_of(bot, first.id)
        return c if c and c.deleted_at else None
    gone = await eventually(tombstoned)
    assert gone.content is None
    assert all(r.content is None for r in await bot.repo.discussion.revisions(gone.id))
    if bot.repo.db.backend == "sqlite":
        # (SQLite's secure_delete zeroes a deleted message's text at once; PostgreSQL keeps it
        # in a dead row version until VACUUM and page reuse: only an erasure scrubs it there)
        on_disk = b"".join(p.read_bytes() for p in bot.settings.database_path.parent.glob("*.db*"))
        assert b"Prevention matters most" not in on_disk  # erased from the file and its WAL
        assert b"Agreed, and industry too." in on_disk


async def test_threads_attachments_bulk_delete_and_what_is_not_stored(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    sub = await item_by_key(bot, g.id, "budapest-convention")
    in_sub = await emu.send_message(emulator.pat.id, sub.thread_id, "The Convention works.",
                                    attachments=[("brief.pdf", b"%PDF-1.4")])
    thread = await emu.create_thread(emulator.sam.id, crime.channel_id, "side talk")
    in_thread = await emu.send_message(emulator.sam.id, thread.id, "A side point.")
    outside = emu.create_text_channel(g.id, "off-topic")
    stray = await emu.send_message(emulator.pat.id, outside.id, "Not part of the consultation.")
    marker = await emu.send_message(emulator.pat.id, crime.channel_id, "last")
    await eventually(lambda: comment_of(bot, marker.id))

    c_sub = await comment_of(bot, in_sub.id)
    assert c_sub.item_id == sub.id and c_sub.thread_id == sub.thread_id
    exported = await bot.repo.privacy.export(emulator.pat.id)
    assert exported["comments"][0]["attachments"][0]["filename"] == "brief.pdf"
    c_thread = await comment_of(bot, in_thread.id)
    assert c_thread.item_id == crime.id and c_thread.thread_id == thread.id
    assert await comment_of(bot, stray.id) is None
    bot_message_ids = [m.id for m in emu.messages_in(crime.channel_id) if m.author_id == bot.user.id]
    for message_id in bot_message_ids:
        assert await comment_of(bot, message_id) is None

    await emu.bulk_delete(crime.channel_id, [marker.id])
    async def deleted():
        c = await comment_of(bot, marker.id)
        return c and c.deleted_at
    await eventually(deleted)


async def test_replayed_events_do_not_duplicate(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    message = await emu.send_message(emulator.pat.id, crime.channel_id, "Once only.")
    await eventually(lambda: comment_of(bot, message.id))
    await emu.close_gateway(4000)  # discord.py resumes: Discord replays what was missed
    await emu.wait_connected()
    after = await emu.send_message(emulator.sam.id, crime.channel_id, "After the resume.")
    await eventually(lambda: comment_of(bot, after.id))
    comments = await bot.repo.discussion.comments(crime.id)
    assert [c.content for c in comments].count("Once only.") == 1


async def test_quoted_lines_are_anchored_or_kept_unanchored(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    text = ("> what is unacceptable offline is also unacceptble online\n"
            "Yes, exactly.\n"
            "> the moon is made of cheese and everyone knows it\n"
            "Not in the article.")
    message = await emu.send_message(emulator.pat.id, crime.channel_id, text)
    await eventually(lambda: comment_of(bot, message.id))
    quotes = await bot.repo.discussion.quotes(crime.id)
    assert [q.state for q in quotes] == ["anchored", "unanchored"]
    q = quotes[0]
    assert q.exact.lower() == "what is unacceptable offline is also unacceptable online"
    assert crime.summation + "\n\n" + crime.body
    article = f"{crime.summation}\n\n{crime.body}"
    assert article[q.start:q.end] == q.exact and len(q.prefix) == 32


async def test_quote_command_with_autocomplete_posts_without_pings(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    choices = await emu.autocomplete(emulator.pat.id, crime.channel_id, "quote",
                                     {"passage": "24/7", "comment": "x"}, focused="passage")
    assert 1 <= len(choices) <= 25 and all(len(c["name"]) <= 100 for c in choices)
    assert "24/7 Network" in choices[0]["name"]
    result = await emu.slash(emulator.pat.id, crime.channel_id, "quote",
                             {"passage": choices[0]["value"],
                              "comment": "Every country should join @everyone <@&1>"})
    await finished(emu, result)
    assert "Posted your quote" in answer_text(result)
    post = [m for m in emu.messages_in(crime.channel_id) if m.author_id == bot.user.id][-1]
    assert "24/7 Network" in post.embeds[0]["description"]
    assert not post.would_ping.everyone and not post.would_ping.roles and not post.would_ping.users
    stored = await comment_of(bot, post.id)
    assert stored.author_id == emulator.pat.id and stored.kind == "quote"
    quotes = [q for q in await bot.repo.discussion.quotes(crime.id) if q.message_id == post.id]
    assert quotes[0].state == "anchored" and "24/7 Network" in quotes[0].exact


async def test_links_are_cited_and_titled_by_discord_preview(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    url = "https://www.coe.int/en/web/cybercrime/the-budapest-convention"
    a = await emu.send_message(emulator.pat.id, crime.channel_id, f"See {url}?utm_source=x#part")
    b = await emu.send_message(emulator.sam.id, crime.channel_id, f"Also <{url}>")
    c = await emu.send_message(emulator.sam.id, crime.channel_id, "And https://example.org/report")
    await eventually(lambda: comment_of(bot, c.id))
    await emu.link_preview(a.id, f"{url}?utm_source=x#part", "The Budapest Convention")
    async def titled():
        sources = await bot.repo.discussion.sources(crime.id)
        return sources if sources and sources[0].title else None
    sources = await eventually(titled)
    assert [(s.normalized_url, s.citer_count) for s in sources] == [
        (url.replace("www.", ""), 2), ("https://example.org/report", 1)
    ]
    assert sources[0].title == "The Budapest Convention"
    assert b.id in {cit.message_id for cit in sources[0].citations}
    listing = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "citations"))
    text = answer_text(listing)
    assert text.index("The Budapest Convention") < text.index("example.org")
    assert "2 people" in text


async def test_cite_validates_and_records(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    for bad, says in (("javascript:alert(1)", "http"), ("https://user:pw@example.org/", "password"),
                      ("not a url", "spaces"), ("https://example.org/" + "a" * 2080, "2048")):
        result = await emu.slash(emulator.pat.id, crime.channel_id, "cite", {"url": bad[:2100]})
        await finished(emu, result)
        text = answer_text(result)
        assert result.ephemeral and "cannot be cited" in text and says in text, text
    assert await bot.repo.discussion.sources(crime.id) == []
    result = await emu.slash(emulator.pat.id, crime.channel_id, "cite",
                             {"url": "https://EXAMPLE.org:443/a?gclid=1", "note": "Key figures @here"})
    await finished(emu, result)
    assert "Cited https://example.org/a" in answer_text(result)
    (source,) = await bot.repo.discussion.sources(crime.id)
    assert source.citations[0].note == "Key figures @here"
    post = emu.get_message(source.citations[0].message_id)
    assert not post.would_ping.everyone and not post.would_ping.here


async def test_locked_item_refuses_quote_and_cite(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    lock = await emu.slash(emulator.mo.id, crime.channel_id, "lock", {"reason": "closed for review"})
    await finished(emu, lock)
    for command, options in (("cite", {"url": "https://example.org/"}),
                             ("quote", {"passage": "s1", "comment": "late"})):
        result = await emu.slash(emulator.mo.id, crime.channel_id, command, options)
        await finished(emu, result)
        assert result.ephemeral and "is locked" in answer_text(result)


async def test_reactions_and_deletions_right_after_posting_are_not_lost(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    liked = await emu.send_message(emulator.pat.id, crime.channel_id, "React to me at once.")
    await emu.add_reaction(emulator.sam.id, liked.id, "👍")
    await emu.add_reaction(emulator.mo.id, liked.id, "👎")
    regret = await emu.send_message(emulator.sam.id, crime.channel_id, "regret-this-xyz at once")
    await emu.delete_message(emulator.sam.id, regret.id)
    marker = await emu.send_message(emulator.pat.id, crime.channel_id, "marker")

    async def settled():
        counts = await bot.repo.discussion.reaction_counts(crime.id, ["👍"], ["👎"])
        c = await comment_of(bot, liked.id)
        return c and counts.get(c.id) == (1, 1) and await comment_of(bot, marker.id)
    await eventually(settled)
    stored = await comment_of(bot, regret.id)
    assert stored is None or stored.content is None
