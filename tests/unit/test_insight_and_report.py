"""Summaries cached against the discussion, the map's evidence from storage, the report files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.discussion import DiscussionService
from bot.core.insight import InsightService
from bot.core.report import ReportBuilder
from bot.storage import Repository
from bot.storage.models import IncomingMessage
from tests.pg import database_env

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
THEMES = {
    "network": "Every country should join the 24/7 Network of law enforcement contact points",
    "industry": "Industry must ship secure devices and software by default to prevent crime",
    "privacy": "Cross-border access to data threatens the privacy of ordinary citizens",
}


async def seed(repo: Repository):
    consultation = await repo.agenda.upsert_consultation(7, "london", "The London Agenda", "")
    items = []
    for n, key in enumerate(("crime", "security")):
        item, _ = await repo.agenda.upsert_item(
            consultation.id, key, parent_id=None, position=n, title=f"Item {key}",
            summation="Summation.", body="What is unacceptable offline is also unacceptable online.",
        )
        await repo.agenda.save_place(item.id, channel_id=100 + n)
        items.append(await repo.agenda.item(item.id))
    return consultation, items


def msg(mid, text, channel_id, author, minutes=0):
    return IncomingMessage(message_id=mid, channel_id=channel_id, author_id=author, content=text,
                           created_at=T0 + timedelta(minutes=minutes))



def assert_same_topics(built, fresh, topic_ids) -> None:
    """Two maps hold the same evidence for these topics: activity and summed term counts."""
    for topic_id in topic_ids:
        mine, theirs = built.topics[topic_id], fresh.topics[topic_id]
        assert mine.activity == theirs.activity
        assert mine.term_vector.indices.tolist() == theirs.term_vector.indices.tolist()
        assert mine.term_vector.counts.tolist() == theirs.term_vector.counts.tolist()

async def test_summary_is_cached_until_the_discussion_changes(repo):
    _, (crime, _security) = await seed(repo)
    insight = InsightService(repo, ["👍"], ["👎"])
    mid = 1
    for theme, sentence in THEMES.items():
        for k in range(6):
            await repo.discussion.record(crime.id, msg(mid, f"{sentence}, variant {k} {theme}.", 100, mid))
            mid += 1
    first = await insight.summary(crime)
    assert not first.from_cache and len(first.summary.themes) >= 2
    again = await insight.summary(crime)
    assert again.from_cache and again.markdown == first.markdown
    await repo.discussion.record(crime.id, msg(mid, "A brand new point about capacity building.", 100, 99))
    fresh = await insight.summary(crime)
    assert not fresh.from_cache
    assert fresh.summary.participation.comments == first.summary.participation.comments + 1


async def test_three_comments_get_a_brief_factual_summary(repo):
    _, (crime, _) = await seed(repo)
    for n in range(3):
        await repo.discussion.record(crime.id, msg(n + 1, f"Point number {n}: prevention should come before any new legislation.", 100, n))
    result = await InsightService(repo, [], []).summary(crime)
    assert result.summary.is_brief and result.summary.themes == []
    assert result.markdown.count("https://discord.com/channels/7/100/") == 3


async def test_map_evidence_cross_references_and_shared_sources(repo):
    _, (crime, security) = await seed(repo)
    await repo.discussion.record(crime.id, msg(1, "See also <#101> on this.", 100, 5))
    await repo.discussion.record(
        security.id, msg(2, "Source https://example.org/report", 101, 6),
        citations=[],
    )
    insight = InsightService(repo, [], [])
    related = await insight.related(crime)
    assert related and related[0][0].id == security.id
    assert any("link to each other" in reason for reason in related[0][2]), related


async def test_report_files_exclude_hidden_and_deleted_and_respect_consent(repo):
    consultation, (crime, _) = await seed(repo)
    await repo.privacy.save_profile(11, display_name="Named Person", affiliation="academia",
                                    consent_named=True)
    await repo.privacy.save_profile(12, display_name="Secret Name", affiliation="government",
                                    consent_named=False)
    await DiscussionService(repo).record(
        msg(1, "> unacceptable offline is also unacceptable online\nYes.", 100, 11))
    await repo.discussion.record(crime.id, msg(2, "A visible comment.", 100, 12))
    await repo.discussion.record(crime.id, msg(3, "A hidden comment.", 100, 13))
    await repo.discussion.record(crime.id, msg(4, "A deleted comment.", 100, 13))
    await repo.discussion.set_hidden(3, True, "spam")
    await repo.discussion.delete_messages([4])
    files = await ReportBuilder(repo, InsightService(repo, [], [])).build(consultation, "all")
    rows = list(csv.DictReader(io.StringIO(files["comments.csv"].decode())))
    assert [r["content"] for r in rows] == [
        "> unacceptable offline is also unacceptable online\nYes.", "A visible comment."
    ]
    assert rows[0]["author"] == "Named Person" and rows[0]["affiliation"] == "academia"
    assert rows[1]["author"].startswith("Participant ") and "Secret" not in files["comments.json"].decode()
    annotations = json.loads(files["quotes.annotations.json"])
    assert annotations[0]["type"] == "Annotation"
    selectors = {s["type"]: s for s in annotations[0]["target"]["selector"]}
    assert selectors["TextQuoteSelector"]["exact"].startswith("unacceptable offline")
    assert "# The London Agenda" in files["report.md"].decode()
    hidden = await ReportBuilder(repo, InsightService(repo, [], [])).build(
        consultation, "json", include_hidden=True)
    assert "A hidden comment." in hidden["comments.json"].decode()
    assert "A deleted comment." not in hidden["comments.json"].decode()


async def test_export_cli_writes_the_files(repo, tmp_path):
    consultation, (crime, _) = await seed(repo)
    await repo.discussion.record(crime.id, msg(1, "Exported words.", 100, 5))
    await repo.db.checkpoint()
    out = tmp_path / "out"
    env = {**database_env(repo.db), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "export", "--format", "csv", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (out / "comments.csv").read_text().count("Exported words.") == 1
    assert {p.name for p in out.iterdir()} == {"comments.csv", "quotes.csv", "citations.csv",
                                               "moderation.csv", "opinion_groups.csv", "outcomes.csv"}


async def test_warming_fills_the_feature_cache_for_every_comment(repo):
    _, (crime, security) = await seed(repo)
    for n in range(5):
        await repo.discussion.record(crime.id, msg(n + 1, f"Comment {n} on crime prevention today.", 100, n))
    await repo.discussion.record(security.id, msg(9, "A comment on international security norms.", 101, 9))
    insight = InsightService(repo, [], [])
    assert await insight.warm([crime, security]) == 6
    assert len(insight.features) == 6
    assert await insight.warm([crime, security]) == 0


async def test_topic_counts_after_warm_up_are_those_a_scan_of_the_topic_reads(repo):
    """The warm-up takes /about's counts from the summary inputs it loaded; they must be what
    the store reads from the comments themselves, and follow the next change."""
    from bot.storage.discussion_store import DiscussionStore

    _, (crime, security) = await seed(repo)
    for n in range(8):  # four authors, one of them twice in a row; then one deleted, one hidden
        await repo.discussion.record(crime.id, msg(n + 1, f"Comment {n} on crime.", 100, n // 2,
                                                   minutes=10 * n))
    await repo.discussion.delete_messages([8], channel_id=100)
    await repo.discussion.set_hidden((await repo.discussion.comment(1)).id, True, "spam")
    crime = await repo.agenda.item(crime.id)
    await InsightService(repo, [], []).warm([crime, security])

    def scanned():  # a store with nothing kept: it reads the comments
        return DiscussionStore(repo.db).counts(crime.id)

    warm = await repo.discussion.counts(crime.id)
    assert warm == await scanned()
    assert (warm.comments, warm.participants) == (6, 4)
    assert (warm.first_activity, warm.last_activity) == (T0 + timedelta(minutes=10),
                                                         T0 + timedelta(minutes=60))
    assert await repo.discussion.counts(security.id) == await DiscussionStore(repo.db).counts(
        security.id)
    await repo.discussion.record(crime.id, msg(20, "A late comment.", 100, 9, minutes=90))
    later = await repo.discussion.counts(crime.id)
    assert later == await scanned() and later.comments == 7 and later.participants == 5


async def test_summary_inputs_follow_every_change_incrementally(repo):
    _, (crime, _) = await seed(repo)
    for n in range(1, 7):
        await repo.discussion.record(crime.id, msg(n, f"Comment number {n} on prevention policy.", 100, n))
    warm = InsightService(repo, ["👍"], ["👎"])
    assert len(await warm.summary_comments(crime)) == 6

    await repo.discussion.record(crime.id, msg(1, "Comment number 1, edited.", 100, 1).model_copy(
        update={"edited_at": T0 + timedelta(hours=1)}))
    await repo.discussion.delete_messages([2])
    await repo.discussion.set_hidden(3, True, "spam")
    await repo.discussion.set_reaction(4, 77, "👍", True)
    await repo.discussion.record(crime.id, msg(7, "A seventh comment arrives later on.", 100, 7))
    await repo.privacy.erase(5)

    def view(comments):
        return sorted((c.comment_id, c.text, c.agree, c.disagree) for c in comments)

    incremental = view(await warm.summary_comments(crime))
    from_scratch = view(await InsightService(repo, ["👍"], ["👎"]).summary_comments(crime))
    assert incremental == from_scratch
    texts = {text for _, text, _, _ in incremental}
    assert "Comment number 1, edited." in texts and len(incremental) == 4
    assert not any("number 2" in t or "number 3" in t or "number 5" in t for t in texts)
    assert (4, "Comment number 4 on prevention policy.", 1, 0) in incremental


async def test_each_participants_latest_reaction_is_their_vote(repo):
    """Per-person votes reach the engine: the latest of a person's 👍/👎/🤷 counts (live or
    reconciled at catch-up), removing it brings the earlier one back, the author's own
    reaction and other emoji are ignored."""
    _, (crime, _) = await seed(repo)
    await repo.discussion.record(crime.id, msg(1, "Join the 24/7 Network of contact points.", 100, 50))
    await repo.discussion.record(crime.id, msg(2, "Keep retention to six months at most.", 100, 51))
    rd = repo.discussion
    await rd.set_reaction(1, 60, "👍", True)
    await rd.set_reaction(1, 60, "👎", True)  # changed their mind: disagree is the vote
    await rd.set_reaction(1, 61, "👎", True)
    await rd.set_reaction(1, 61, "👍", True)  # …and this one now agrees
    await rd.set_reaction(1, 62, "🤷", True)
    await rd.set_reaction(1, 63, "🎉", True)  # not a vote
    await rd.set_reaction(1, 50, "👍", True)  # the author's own
    await rd.set_reaction(2, 60, "👍", True)
    await rd.set_reaction(2, 60, "👎", True)
    await rd.set_reaction(2, 60, "👎", False)  # withdrawn: the 👍 is their vote again
    insight = InsightService(repo, ["👍"], ["👎"], ["🤷"])
    by_id = {c.comment_id: c for c in await insight.summary_comments(crime)}
    first = next(c for c in by_id.values() if c.text.startswith("Join"))
    second = next(c for c in by_id.values() if c.text.startswith("Keep"))
    assert dict(first.votes) == {60: -1, 61: 1, 62: 0}
    assert (first.agree, first.disagree, first.passes) == (1, 1, 1)
    assert dict(second.votes) == {60: 1} and (second.agree, second.disagree) == (1, 0)

    # catch-up sees a 👍 by 62 beside the stored 🤷 (added later, so it is the vote) and
    # 61's 👍 gone (their 👎 counts again)
    await rd.replace_reactions(1, [(60, "👍"), (60, "👎"), (61, "👎"), (62, "🤷"), (62, "👍")])
    again = {c.comment_id: c for c in await insight.summary_comments(crime)}
    assert dict(again[first.comment_id].votes) == {60: -1, 61: -1, 62: 1}
    fresh = {c.comment_id: c for c in
             await InsightService(repo, ["👍"], ["👎"], ["🤷"]).summary_comments(crime)}
    assert fresh[first.comment_id] == again[first.comment_id]


async def test_report_opens_with_an_executive_summary_and_quotes_under_pseudonyms(repo):
    """For readers outside the server: totals, dates and each item's headline first; the
    evidence quoted with the author's pseudonym (or consented name) beside the link; one
    method appendix at the end."""
    from bot.storage.privacy_store import pseudonym_for

    consultation, (crime, _security) = await seed(repo)
    await repo.privacy.save_profile(21, display_name="Dana Named", affiliation="",
                                    consent_named=True)
    statements = {1: ("Every country should join the 24/7 Network of contact points.", 21),
                  2: ("Retention of all traffic data for two years is a good idea.", 22)}
    for mid, (text, author) in statements.items():
        await repo.discussion.record(crime.id, msg(mid, text, 100, author, minutes=mid))
    for voter in range(100, 110):
        await repo.discussion.set_reaction(1, voter, "👍", True)
        await repo.discussion.set_reaction(2, voter, "👎", True)
    report = (await ReportBuilder(repo, InsightService(repo, ["👍"], ["👎"], ["🤷"]))
              .markdown(consultation, await repo.agenda.items(consultation.id)))
    head, rest = report.split("## Executive summary", 1)
    assert "## Item" not in head
    brief = rest.split("\n## ", 1)[0]
    assert "2 agenda items, 1 discussed: 2 comments and 20 votes on 1 November 2026." in brief
    assert ("There was very strong support for “Every country should join the 24/7 Network of "
            "contact points.” (proposed by Dana Named) (10 of 10 votes agree") in brief
    assert "There was little support for “Retention of all traffic data" in brief
    assert f"(proposed by {pseudonym_for(22)})" in report
    assert "**Item security**: no comments yet." in brief
    assert report.count("Method") == 1 and report.rstrip().split("\n## ")[-1].startswith("Method")


async def test_map_vectors_follow_each_change_and_a_new_comment_is_only_added(repo):
    """The map's topic vectors after changes equal a fresh build's; a new comment (or a
    reaction) is added to its topic's vector without the topic's comments being hashed again;
    an edit, deletion or hiding of a counted comment re-reads only that topic."""
    from bot.core.discussion import article_text
    from bot.core.topic_map import hashed_vector

    consultation, (crime, security) = await seed(repo)
    for n in range(1, 9):
        await repo.discussion.record(crime.id, msg(n, f"{THEMES['network']} ({n}).", 100, n))
        await repo.discussion.record(security.id, msg(100 + n, f"{THEMES['privacy']} ({n}).", 101, n))
    await repo.discussion.record_new(security.id, [  # enough to come from the feature cache
        (msg(200 + n, f"{THEMES['industry']} number {n}", 101, n), [], []) for n in range(70)])
    warm = InsightService(repo, ["👍"], ["👎"])
    await warm.topic_map(consultation.id)
    assert sorted(warm.last_map_full) == sorted([crime.id, security.id])  # first build
    built, _ = await warm.topic_map(consultation.id)
    texts = [c.content for c in await repo.discussion.comments(security.id)]
    hashed = hashed_vector([article_text(security), *texts])  # the same counts, hashed here
    assert built.topics[security.id].term_vector.indices.tolist() == hashed.indices.tolist()
    assert built.topics[security.id].term_vector.counts.tolist() == hashed.counts.tolist()

    async def same_as_fresh() -> None:
        built, _ = await warm.topic_map(consultation.id)
        fresh, _ = await InsightService(repo, ["👍"], ["👎"]).topic_map(consultation.id)
        assert_same_topics(built, fresh, (crime.id, security.id))
        assert [(e.a, e.b, e.weight) for e in built.edges] == [
            (e.a, e.b, e.weight) for e in fresh.edges]

    await repo.discussion.record(crime.id, msg(50, f"{THEMES['industry']}, see <#101>.", 100, 9))
    await same_as_fresh()
    assert warm.last_map_reread == [crime.id] and warm.last_map_full == []
    built, _ = await warm.topic_map(consultation.id)
    assert built.topics[crime.id].activity == 9
    assert any("link to each other" in r for e in built.edges for r in e.reasons)

    await repo.discussion.set_reaction(3, 77, "👍", True)  # no text changed
    await same_as_fresh()
    assert warm.last_map_reread == [crime.id] and warm.last_map_full == []

    await repo.discussion.record(crime.id, msg(2, "Edited: nothing to do with it.", 100, 2).model_copy(
        update={"edited_at": T0 + timedelta(hours=1)}))
    await same_as_fresh()
    assert warm.last_map_full == [crime.id]

    await repo.discussion.delete_messages([50])  # the mention goes with it
    await repo.discussion.set_hidden(104, True, "spam")
    await same_as_fresh()
    assert sorted(warm.last_map_full) == sorted([crime.id, security.id])
    built, _ = await warm.topic_map(consultation.id)
    assert built.topics[crime.id].activity == 8 and built.topics[security.id].activity == 77
    assert not any("link to each other" in r for e in built.edges for r in e.reasons)

    await repo.discussion.set_hidden(104, False, None)  # back: counted again, only added
    await same_as_fresh()
    assert warm.last_map_full == []


async def test_a_map_after_warm_up_takes_the_summaries_texts_and_equals_a_fresh_one(repo):
    """After warm-up the first map takes each topic's comments from the summaries' inputs
    (not read and kept a second time): the same vectors, mentions, activity and edges as a
    map built from storage; a topic changed since its inputs were read is read as usual."""
    consultation, (crime, security) = await seed(repo)
    await repo.discussion.record_new(crime.id, [
        (msg(n, f"{THEMES['network']} ({n}), see <#101>.", 100, n), [], []) for n in range(1, 80)])
    await repo.discussion.record_new(security.id, [
        (msg(200 + n, f"{THEMES['privacy']} and https://discord.com/channels/7/100/{n}", 101,
             n), [], []) for n in range(70)])
    await repo.discussion.record(crime.id, msg(99, "Hidden words, see <#101>.", 100, 9))
    await repo.discussion.set_hidden(99, True, "spam")
    warm = InsightService(repo, ["👍"], ["👎"])
    items = [await repo.agenda.item(i.id) for i in (crime, security)]
    await warm.warm(items)
    await repo.discussion.record(security.id, msg(300, "After the warm-up <#100>.", 101, 5))
    built, _ = await warm.topic_map(consultation.id)
    assert warm.last_map_held == [crime.id]  # security changed after warm-up: read
    fresh, _ = await InsightService(repo, ["👍"], ["👎"]).topic_map(consultation.id)
    assert_same_topics(built, fresh, (crime.id, security.id))
    assert built.topics[crime.id].activity == 79
    assert [(e.a, e.b, e.weight, e.reasons) for e in built.edges] == [
        (e.a, e.b, e.weight, e.reasons) for e in fresh.edges]
    assert any("link to each other" in r for e in built.edges for r in e.reasons)
    assert warm._evidence[crime.id].mentions == (101,) * 79


async def test_related_topics_do_not_wait_for_a_map_built_from_the_start(repo):
    """/about's related topics: with a bounded wait, a map that must be built from every
    comment (after a start or an erasure) is left building in the background; the next
    request gets it, and later ones only see what changed."""
    consultation, (crime, security) = await seed(repo)
    await repo.discussion.record(crime.id, msg(1, "See also <#101> on this.", 100, 5))
    insight = InsightService(repo, [], [])
    assert await insight.related(crime, wait=0) is None
    built, _ = await insight.topic_map(consultation.id)  # the build it left running
    assert insight.map_builds == 1
    related = await insight.related(crime, wait=0)
    assert related and related[0][0].id == security.id and insight.map_builds == 1
    await repo.discussion.record(security.id, msg(2, "And back to <#100>.", 101, 6))
    related = await insight.related(crime, wait=5)
    assert related[0][0].id == security.id and insight.map_builds == 2
    assert any("link to each other 2×" in r for r in related[0][2])
