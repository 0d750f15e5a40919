"""Discussion events beyond post/edit/delete: a moderator clearing reactions, forwards."""

from __future__ import annotations

from tests.e2e.conftest import eventually, item_by_key

MANAGE_MESSAGES = 1 << 13


async def test_a_moderator_clearing_reactions_clears_the_tally(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    emu.set_role_permissions(g.id, emulator.moderators.id,
                             emulator.moderators.permissions | MANAGE_MESSAGES)
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    post = await emu.send_message(emulator.pat.id, crime.channel_id, "Vote on this.")
    await emu.add_reaction(emulator.sam.id, post.id, "👍")
    await emu.add_reaction(emulator.alice.id, post.id, "👍")
    await emu.add_reaction(emulator.mo.id, post.id, "👎")
    repo = bot.repo.discussion

    async def tally(expected):
        comment = await repo.comment(post.id)
        counts = await repo.reaction_counts(crime.id, ["👍"], ["👎"])
        return comment and counts.get(comment.id, (0, 0)) == expected
    await eventually(lambda: tally((2, 1)))
    await emu.remove_all_reactions(emulator.mo.id, post.id, "👍")  # "remove emoji"
    await eventually(lambda: tally((0, 1)))
    await emu.remove_all_reactions(emulator.mo.id, post.id)  # "remove all reactions"
    await eventually(lambda: tally((0, 0)))
    assert await repo.reaction_tally([post.id]) == {}


async def test_a_forward_is_stored_as_the_forwarded_text_marked_forward(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    elsewhere = emu.create_text_channel(g.id, "news")
    original = await emu.send_message(emulator.sam.id, elsewhere.id,
                                      "Europol report: https://www.europol.europa.eu/iocta")
    fwd = await emu.forward_message(emulator.pat.id, original.id, crime.channel_id)
    comment = await eventually(lambda: bot.repo.discussion.comment(fwd.id))
    assert comment.forwarded and comment.kind == "message" and comment.author_id == emulator.pat.id
    assert comment.content == "Europol report: https://www.europol.europa.eu/iocta"
    assert await bot.repo.discussion.comment(original.id) is None  # not in the consultation
    cited = [c.normalized_url for c in await bot.repo.discussion.citations(crime.id)]
    assert cited == ["https://europol.europa.eu/iocta"]  # www. folds into one source
