"""Organisers curate a summary (/summary-edit), publish it (/summary-publish), and the report
uses the published version, saying where the live figures moved since."""

from __future__ import annotations

from tests.e2e.conftest import answer_files, answer_text, eventually, finished, item_by_key

ARGUMENTS = [
    "Every country should join the 24/7 Network so urgent requests get answered quickly",
    "Industry must make devices and services secure by default instead of blaming users",
    "Cross-border access to data must respect the privacy of ordinary citizens everywhere",
]
HEADLINE = "There was very strong support for joining the 24/7 Network of contact points."


def form_values(modal) -> dict[str, tuple[str, str]]:
    """custom_id -> (label, prefilled value) of each input of the form."""
    return {c["custom_id"]: (c.get("label", ""), c.get("value") or "") for c in modal.inputs}


def field(values, word: str) -> str:
    return next(cid for cid, (label, _v) in values.items() if word in label)


async def test_organiser_curates_publishes_and_the_report_follows(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    people = [emulator.pat, emulator.sam, emulator.mo, emulator.alice]
    voters = [emu.add_member(g.id, f"voter-{n}").user.id for n in range(8)]
    messages = []
    for n in range(24):
        m = await emu.send_message(people[n % 4].id, crime.channel_id,
                                   f"{ARGUMENTS[n % 3]}, as I see it (point {n}).")
        messages.append(m)
    await eventually(lambda: bot.repo.discussion.comment(messages[-1].id))
    for m in messages[:3]:
        for v in voters:
            await emu.add_reaction(v, m.id, "👍")
    await eventually(lambda: _votes_stored(bot, messages[:3], 24))

    refused = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id,
                                                  "summary-edit"))
    assert "Only organisers" in answer_text(refused) and refused.modal is None

    opened = await emu.slash(emulator.alice.id, crime.channel_id, "summary-edit")
    assert opened.modal is not None
    values = form_values(opened.modal)
    renames_id, headline_id = field(values, "Rename"), field(values, "Headline")
    merges_id = field(values, "Merge")
    lines = values[renames_id][1].splitlines()
    assert len(lines) >= 2 and all(" => " in ln for ln in lines)
    network = next(ln for ln in lines if "24/7" in ln).split(" => ")[0]
    other = next(ln for ln in lines if "24/7" not in ln).split(" => ")[0]
    assert values[headline_id][1].startswith("There was")  # the generated sentences

    # a merge naming a theme that does not exist: a clear error, nothing saved
    bad = await emu.submit_modal(emulator.alice.id, opened.modal, {
        headline_id: HEADLINE, renames_id: values[renames_id][1],
        merges_id: f"{network} + No such theme => Together"})
    await finished(emu, bad)
    assert "no theme called “No such theme”" in answer_text(bad)
    assert "Nothing was saved" in answer_text(bad)
    assert await bot.repo.insight.curation(crime.id) is None

    renamed = "\n".join(f"{network} => The 24/7 Network" if ln.startswith(network) else ln
                        for ln in lines)
    saved = await emu.submit_modal(emulator.alice.id, opened.modal, {
        headline_id: HEADLINE, renames_id: renamed, merges_id: ""})
    await finished(emu, saved)
    assert "Saved" in answer_text(saved) and "“The 24/7 Network”" in answer_text(saved)

    shown = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "summary"))
    text = answer_text(shown)
    assert HEADLINE in text and "**The 24/7 Network**" in text and f"**{network}**" not in text
    assert f"**{other}**" in text

    refused = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id,
                                                  "summary-publish"))
    assert "Only organisers" in answer_text(refused)
    before = len(emu.messages_in(crime.channel_id))
    done = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id,
                                               "summary-publish"))
    assert "Published revision 1" in answer_text(done) and done.ephemeral
    posted = emu.messages_in(crime.channel_id)[before:]
    (post,) = [m for m in posted if m.embeds]
    assert post.pinned and post.author_id == emu.bot_user.id
    assert HEADLINE in post.embeds[0]["description"]
    assert "revision 1" in post.embeds[0]["footer"]["text"]

    # the discussion moves on; the report keeps the published version and says what moved
    late = await emu.send_message(emulator.sam.id, crime.channel_id,
                                  "A late point: capacity building for poorer countries matters.")
    await eventually(lambda: bot.repo.discussion.comment(late.id))
    export = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id, "export",
                                                 {"format": "md"}))
    report = next(d.decode() for n, d in answer_files(export).items() if n.endswith(".md"))
    section = report.split("## 4. Tackling cyber crime")[1].split("\n## ")[0]
    assert "As published by the organisers" in section and "revision 1" in section
    assert "The discussion has moved since: 25 comments (+1)" in section
    assert HEADLINE in report.split("## Executive summary")[1].split("\n## ")[0]

    second = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id,
                                                 "summary-publish"))
    assert "Published revision 2" in answer_text(second)


async def _votes_stored(bot, messages, n):
    tally = await bot.repo.discussion.reaction_tally([m.id for m in messages])
    return sum(c for t in tally.values() for c in t.values()) == n


async def test_form_opens_at_once_when_the_summary_is_cold_on_a_big_discussion(emulator,
                                                                               published):
    """The edit form is the command's first answer, so it must reach Discord within 3 s. A
    big discussion's summary takes longer than that to compute cold: the form opens with the
    last summary computed and never waits for a new one beyond a short bound, even while the
    summary engine is busy (here: with another item's summary, which holds it)."""
    from bot.emulator.interactions import INITIAL_RESPONSE_DEADLINE

    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    people = [emulator.pat, emulator.sam, emulator.mo, emulator.alice]
    last = None
    for n in range(240):
        last = await emu.send_message(people[n % 4].id, crime.channel_id,
                                      f"{ARGUMENTS[n % 3]}, as I see it (point {n}).")
    await eventually(lambda: bot.repo.discussion.comment(last.id), timeout=60)
    shown = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id, "summary"))
    assert "24/7" in answer_text(shown)  # computed once, at this discussion version
    late = await emu.send_message(emulator.sam.id, crime.channel_id,
                                  "A late point: capacity building for poorer countries matters.")
    await eventually(lambda: bot.repo.discussion.comment(late.id))  # the cached one is stale

    insight = bot.get_cog("InsightCog").insight
    async with insight._lock:  # the engine is busy computing another big summary
        opened = await emu.start_slash(emulator.alice.id, crime.channel_id, "summary-edit")
        try:
            await emu.wait_for(lambda: opened.type is not None or opened.errors, timeout=10)
        except TimeoutError:  # still computing: Discord stops waiting after 3 s
            emu.advance_time(INITIAL_RESPONSE_DEADLINE + 1)
    await emu.interactions.wait_answer(opened, 60)
    assert opened.error is None, opened.error
    assert opened.modal is not None
    values = form_values(opened.modal)
    renames_id, headline_id = field(values, "Rename"), field(values, "Headline")
    lines = values[renames_id][1].splitlines()
    network = next(ln for ln in lines if "24/7" in ln).split(" => ")[0]  # the last summary's
    assert values[headline_id][1]

    # the form comes back checked against the live summary (computed after deferring)
    renamed = "\n".join(f"{network} => The 24/7 Network" if ln.startswith(network) else ln
                        for ln in lines)
    saved = await finished(emu, await emu.submit_modal(emulator.alice.id, opened.modal, {
        headline_id: values[headline_id][1], renames_id: renamed}), timeout=60)
    assert "Saved" in answer_text(saved) and "“The 24/7 Network”" in answer_text(saved)
    assert await bot.repo.insight.curation(crime.id) is not None
