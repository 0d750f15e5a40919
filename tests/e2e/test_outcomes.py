"""Closing the loop, end to end: an organiser records an outcome; it is posted, pinned, shown in
the article footer, `/about`, `/agenda list`, `/outcome show`, the report and every export
format; the authors it answers are told once, only if they opted in."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import (
    answer_files,
    answer_text,
    eventually,
    finished,
    item_by_key,
    make_settings,
)

STATEMENT = "Every country should fund a 24/7 contact point for cyber crime reports."


async def _discussion(emu, g, channel_id, bot, authors, voters):
    """A statement by ``authors[0]`` with enough 👍 votes to count, and some other comments."""
    statement = await emu.send_message(authors[0].id, channel_id, STATEMENT)
    others = [await emu.send_message(a.id, channel_id, text) for a, text in zip(authors[1:], [
        "Small firms need plain advice on reporting attacks, not more forms.",
        "Police forces lack trained staff to follow up online fraud reports."], strict=False)]
    for v in voters:
        await emu.add_reaction(v.id, statement.id, "👍")
    await eventually(lambda: bot.repo.discussion.comment(statement.id))
    for m in others:
        await eventually(lambda m=m: bot.repo.discussion.comment(m.id))
    return statement


async def _set_outcome(emu, user_id, channel_id, status, text, **options):
    result = await emu.slash(user_id, channel_id, "outcome set", {"status": status, **options})
    assert result.modal is not None, answer_text(result)
    (text_id,) = [c["custom_id"] for c in result.modal.inputs]
    return await finished(emu, await emu.submit_modal(user_id, result.modal, {text_id: text}))


async def test_outcome_is_posted_pinned_shown_exported_and_told_once(emulator, published, tmp_path,
                                                                     start_client):
    emu, bot, g = emulator.emu, published, emulator.guild
    pat, sam, alice = emulator.pat, emulator.sam, emulator.alice
    carol = emu.add_member(g.id, "carol")  # opted in, but her DMs are closed
    emu.dms.close(carol.id)
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    general = emu.create_text_channel(g.id, "lobby")
    for who in (pat, carol):
        await finished(emu, await emu.slash(who.id, general.id, "profile", {"notify": True}))

    voters = [emu.add_member(g.id, f"voter{n}") for n in range(6)]
    await _discussion(emu, g, crime.channel_id, bot, [pat, sam, carol], voters)
    carol_msg = await emu.send_message(carol.id, crime.channel_id,
                                       "Any contact point must also answer small businesses quickly.")
    for v in voters:
        await emu.add_reaction(v.id, carol_msg.id, "👍")

    # The organiser picks the statement from the autocomplete, as in Discord.
    async def statement_offered():
        choices = await emu.autocomplete(alice.id, crime.channel_id, "outcome set",
                                         {"status": "accepted", "responds_to": "24/7"},
                                         focused="responds_to")
        return [c for c in choices if "24/7 contact point for cyber crime" in c["name"]]
    picked = await eventually(statement_offered)  # once the six votes are stored

    async def carol_offered():
        choices = await emu.autocomplete(alice.id, crime.channel_id, "outcome set",
                                         {"status": "accepted", "responds_to": "small businesses"},
                                         focused="responds_to")
        return [c for c in choices if "answer small businesses" in c["name"]]
    carols = await eventually(carol_offered)
    assert picked[0]["name"].startswith("Statement (agreed)")

    # Participants cannot record outcomes.
    refused = await emu.slash(pat.id, crime.channel_id, "outcome set", {"status": "accepted"})
    assert refused.modal is None and "Only organisers" in answer_text(refused)

    text = "The ministry will fund a 24/7 contact point from April, run with the police."
    done = await _set_outcome(emu, alice.id, crime.channel_id, "accepted", text,
                              responds_to=picked[0]["value"], also_responds_to=carols[0]["value"])
    assert "Recorded the outcome" in answer_text(done) and done.ephemeral
    outcome = await bot.repo.outcomes.latest(crime.id)
    assert outcome.status == "accepted" and outcome.revision == 1

    posted = [m for m in emu.messages_in(crime.channel_id)
              if m.embeds and "Outcome: Accepted" in (m.embeds[0].get("title") or "")]
    assert len(posted) == 1 and text in posted[0].embeds[0]["description"]
    assert STATEMENT[:40] in posted[0].embeds[0]["description"]
    assert posted[0].pinned

    article = emu.state.messages[(await bot.repo.agenda.item(crime.id)).post_message_ids[0]]
    assert "Outcome: Accepted" in article.embeds[0]["footer"]["text"]

    about = await finished(emu, await emu.slash(sam.id, crime.channel_id, "about"))
    assert "Outcome: Accepted" in answer_text(about) and text in answer_text(about)
    listing = await finished(emu, await emu.slash(alice.id, general.id, "agenda list"))
    assert "Outcome: Accepted" in answer_text(listing) and "no outcome yet" in answer_text(listing)

    # Told once: pat by DM; sam (not opted in) never; carol (DMs closed) in the channel.
    await emu.wait_for(lambda: len(emu.dms.messages_to(pat.id)) == 1)
    dm = emu.dms.messages_to(pat.id)[0]
    assert text in dm.content and "Accepted" in dm.content
    assert emu.dms.messages_to(sam.id) == []

    await emu.wait_for(lambda: any(carol.id in m.would_ping.users
                                   for m in emu.messages_in(crime.channel_id)))
    for m in emu.messages_in(crime.channel_id):
        assert sam.id not in m.would_ping.users
        if carol.id in m.would_ping.users:
            assert m.would_ping.users == [carol.id] and not m.would_ping.everyone

    # A revision keeps the earlier one; nobody is told twice.
    await _set_outcome(emu, alice.id, crime.channel_id, "done",
                       "The contact point opened on 1 April.", responds_to=picked[0]["value"])
    revisions = await bot.repo.outcomes.revisions(crime.id)
    assert [o.status for o in revisions] == ["accepted", "done"]
    shown = await finished(emu, await emu.slash(sam.id, crime.channel_id, "outcome show"))
    assert "Outcome: Done" in answer_text(shown) and "Earlier revisions" in answer_text(shown)
    pins = [m for m in emu.pins(crime.channel_id) if m.embeds and "Outcome" in (m.embeds[0].get("title") or "")]
    assert len(pins) == 1 and "Done" in pins[0].embeds[0]["title"]

    export = await finished(emu, await emu.slash(alice.id, crime.channel_id, "export", {"format": "all"}))
    await emu.wait_for(lambda: "the-london-agenda-outcomes.json" in answer_files(export))
    files = answer_files(export)
    assert "Outcome: Done" in files["the-london-agenda-report.md"].decode()
    rows = list(csv.DictReader(io.StringIO(files["the-london-agenda-outcomes.csv"].decode())))
    assert [(r["item_key"], r["revision"], r["current"], r["status"]) for r in rows] == [
        ("tackling-cyber-crime", "1", "False", "accepted"),
        ("tackling-cyber-crime", "2", "True", "done")]
    assert json.loads(files["the-london-agenda-outcomes.json"])[1]["text"] == "The contact point opened on 1 April."

    mine = await finished(emu, await emu.slash(pat.id, general.id, "mydata export"))
    data = json.loads(next(iter(answer_files(mine).values())))
    assert data["profile"]["notify_outcomes"] is True
    assert data["outcome_notices"] == [{"item_id": crime.id, "state": "dm",
                                        "sent_at": data["outcome_notices"][0]["sent_at"]}]

    # A restart that finds a notice still marked pending (killed after sending) sends nothing.
    async with bot.repo.db.transaction() as tx:
        await tx.execute("UPDATE outcome_notices SET state = 'pending' WHERE user_id = ?", (pat.id,))
    await bot.close()
    again = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(again, emu)

    async def delivered():
        return (await again.repo.outcomes.notices_of(crime.id)).get(pat.id) == "dm"
    await eventually(delivered)
    assert len(emu.dms.messages_to(pat.id)) == 1


async def test_outcome_text_and_choices_are_checked(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    blank = await _set_outcome(emu, emulator.alice.id, crime.channel_id, "accepted", "   \n ")
    assert "empty" in answer_text(blank) and blank.ephemeral
    stale = await emu.slash(emulator.alice.id, crime.channel_id, "outcome set",
                            {"status": "accepted", "responds_to": "s:999999"})
    assert stale.modal is None and "no longer in the summary" in answer_text(stale)
    assert await bot.repo.outcomes.latest(crime.id) is None


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_a_notice_is_sent_once_across_kill_9(phase, emulator, published, tmp_path,
                                                   start_client):
    """The bot is killed (kill -9) at the DM that tells a participant, before Discord sends
    it or after (the bot never hears it was sent); restarted, it sends it exactly once."""
    emu, bot, g = emulator.emu, published, emulator.guild
    pat, alice = emulator.pat, emulator.alice
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    general = emu.create_text_channel(g.id, "lobby")
    await finished(emu, await emu.slash(pat.id, general.id, "profile", {"notify": True}))
    voters = [emu.add_member(g.id, f"voter{n}") for n in range(6)]
    statement = await _discussion(emu, g, crime.channel_id, bot, [pat], voters)

    async def offered():
        choices = await emu.autocomplete(alice.id, crime.channel_id, "outcome set",
                                         {"status": "accepted", "responds_to": "24/7"},
                                         focused="responds_to")
        return [c for c in choices if "24/7 contact point" in c["name"]]
    picked = await eventually(offered)
    assert statement is not None

    def at_the_dm(record):
        m = re.fullmatch(r"/channels/(\d+)/messages", record.path)
        return phase if record.method == "POST" and m and emu.dms.is_dm(int(m.group(1))) else None
    emu.kill_bot_on(at_the_dm)
    await _set_outcome(emu, alice.id, crime.channel_id, "accepted", "Funded from April.",
                       responds_to=picked[0]["value"])
    await emu.wait_for(lambda: emu.dead_auth, timeout=20)
    assert (await bot.repo.outcomes.notices_of(crime.id)) == {pat.id: "pending"}
    assert len(emu.dms.messages_to(pat.id)) == (1 if phase == "after" else 0)

    restarted = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(restarted, emu)

    async def delivered():
        return (await restarted.repo.outcomes.notices_of(crime.id)).get(pat.id) == "dm"
    await eventually(delivered, timeout=20)
    assert len(emu.dms.messages_to(pat.id)) == 1
