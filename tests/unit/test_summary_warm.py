"""The warm /summary path (features cached at catch-up, inputs kept in memory and brought
up to date incrementally, per-comment flags computed once) gives exactly the summary that
summarise() computes from scratch on the same comments."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from bench.corpus import make_corpus
from bot.core.insight import InsightService
from bot.core.summary import summarise
from bot.storage.models import IncomingMessage

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
AGREE, DISAGREE, PASS = "👍", "👎", "🤷"


def msg(mid, text, author, minutes):
    return IncomingMessage(message_id=mid, channel_id=500, author_id=author, content=text,
                           created_at=T0 + timedelta(minutes=minutes))


def dumped(summary):
    """Everything the summary says, with each theme's member comments (not serialised)."""
    return summary.model_dump_json(), [sorted(t.comment_ids) for t in summary.themes]


async def test_warm_summary_equals_a_from_scratch_summarise(repo):
    consultation = await repo.agenda.upsert_consultation(1, "c", "C", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                            title="Tackling cyber crime", summation="s", body="b")
    await repo.agenda.save_place(item.id, channel_id=500)
    corpus = make_corpus(600, 3)
    texts = [c.text for c in corpus.comments]
    # statements about the voters themselves, and short ones people voted on
    texts[::50] = ["I live in a rural area."] * len(texts[::50])
    texts[7::60] = ["I voted to Remain."] * len(texts[7::60])
    await repo.discussion.record_new(item.id, [
        (msg(1000 + i, t, 10 + i % 97, i), [], []) for i, t in enumerate(texts)])
    rng = random.Random(5)
    for i in range(len(texts)):
        for voter in rng.sample(range(2000, 2120), rng.randint(0, 14)):
            emoji = rng.choice((AGREE, AGREE, DISAGREE, PASS))
            await repo.discussion.set_reaction(1000 + i, voter, emoji, True)

    warm = InsightService(repo, [AGREE], [DISAGREE], [PASS])
    item = await repo.agenda.item(item.id)
    assert await warm.warm([item]) == len(texts)
    first = await warm.summary(item)

    # the discussion moves on: new comments, an edit that makes a comment "about the
    # participant", changed and withdrawn votes, a deletion
    await repo.discussion.record(item.id, msg(1, "One more comment arrives: the 24/7 Network "
                                              "should answer at night.", 3, 2000))
    await repo.discussion.record(item.id, msg(2, "I work in a small business.", 4, 2001))
    await repo.discussion.record(item.id, msg(1003, "I have two children.", 10 + 3 % 97, 3)
                                 .model_copy(update={"edited_at": T0 + timedelta(days=3)}))
    for voter in range(2000, 2030):
        await repo.discussion.set_reaction(2, voter, AGREE, True)
        await repo.discussion.set_reaction(1003, voter, DISAGREE, True)
    await repo.discussion.set_reaction(1004, 2050, DISAGREE, True)
    await repo.discussion.set_reaction(1004, 2050, DISAGREE, False)
    await repo.discussion.delete_messages([1005])
    item = await repo.agenda.item(item.id)

    again = await warm.summary(item, curated=False)
    assert not again.from_cache and not first.from_cache
    comments = await InsightService(repo, [AGREE], [DISAGREE], [PASS]).summary_comments(item)
    scratch = summarise(comments)  # no cache: every feature and flag computed afresh
    assert dumped(again.summary) == dumped(scratch)
    about = [v.excerpt for v in again.summary.opinion.about_participants]
    assert "I work in a small business." in about and "I have two children." in about


def test_the_garbage_collector_is_back_after_a_summary_even_a_failing_one():
    import gc

    from bot.core.summary import SummaryComment

    comments = [SummaryComment(i, i, f"Point number {i} about the 24/7 Network and data.", T0, "u")
                for i in range(30)]
    assert gc.isenabled()
    summarise(comments)
    assert gc.isenabled()
    with pytest.raises(AttributeError):
        summarise([*comments, None])  # type: ignore[list-item]
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        summarise(comments)
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_priming_runs_the_engine_once_on_the_biggest_topics_and_keeps_what_is_current(repo):
    """After warm-up the bot runs the engine once on its biggest topics (so that the first
    /summary after a start finds what the engine remembers), within a budget of comments.
    A current stored summary is left as it is, a stale one is stored anew, a topic is
    primed once, the empty one never."""
    consultation = await repo.agenda.upsert_consultation(1, "c", "C", "")
    items = []
    for n, size in enumerate((120, 300, 0)):
        item, _ = await repo.agenda.upsert_item(consultation.id, f"t{n}", parent_id=None,
                                                position=n, title=f"Topic {n}", summation="s",
                                                body="b")
        await repo.agenda.save_place(item.id, channel_id=500 + n)
        texts = [c.text for c in make_corpus(size, 3 + n).comments] if size else []
        await repo.discussion.record_new(item.id, [
            (msg(10_000 * (n + 1) + i, t, 10 + i % 50, i), [], []) for i, t in enumerate(texts)])
        items.append(item)
    small, big, empty = items
    service = InsightService(repo, [AGREE], [DISAGREE], [PASS])
    items = [await repo.agenda.item(i.id) for i in items]
    await service.warm(items)
    await service.summary(items[1])  # the big topic's summary: stored and current
    await service.summary(items[0])  # the small one's, then a new comment makes it stale
    await repo.discussion.record(small.id, msg(1, "A late comment on the 24/7 Network.", 3, 500))
    big_computed = await repo.insight.summary_computed_at(big.id)
    small_item = await repo.agenda.item(small.id)
    assert await repo.insight.cached_summary(small.id, small_item.discussion_version) is None

    fresh = InsightService(repo, [AGREE], [DISAGREE], [PASS])  # a restarted process
    items = [await repo.agenda.item(i.id) for i in items]
    await fresh.warm(items)
    assert await fresh.prime(items) == 0  # by default: topics this small are fast anyway
    assert await fresh.prime(items, smallest=1, all_max=420) == 0  # 421 comments: too many
    assert await fresh.prime(items, smallest=1, budget=200) == 1  # the big one is too big
    assert await repo.insight.summary_computed_at(big.id) == big_computed
    assert await repo.insight.cached_summary(small.id, small_item.discussion_version) is not None
    assert await fresh.prime(items, smallest=1, topics=1) == 1  # the big one now
    assert await repo.insight.summary_computed_at(big.id) == big_computed  # left as it was
    assert await fresh.prime(items, smallest=1) == 0  # once per topic; the empty one never
    assert await repo.insight.last_summary(empty.id) is None  # never computed

    # what the engine remembers changes no figure: a summary after one more comment is the
    # one summarise computes from scratch
    await repo.discussion.record(big.id, msg(2, "And the Budapest Convention first.", 4, 900))
    big_item = await repo.agenda.item(big.id)
    after = await fresh.summary(big_item, curated=False)
    comments = await InsightService(repo, [AGREE], [DISAGREE], [PASS]).summary_comments(big_item)
    assert dumped(after.summary) == dumped(summarise(comments))


async def test_stored_inputs_read_as_the_messages_they_were_stored_from(repo):
    """Storage's inputs keep no datetime and no link per comment (StoredComment): read
    through their fields, each comment's time and link are those of its own message, in
    its own channel, and a summary's links lead to them."""
    consultation = await repo.agenda.upsert_consultation(77, "c", "C", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                            title="Tackling cyber crime", summation="s", body="b")
    await repo.agenda.save_place(item.id, channel_id=500)
    sent = [msg(9000 + i, f"Comment {i}: the police should answer reports of fraud.", 20 + i, i)
            for i in range(5)]
    sent.append(sent[0].model_copy(update={"message_id": 9100, "channel_id": 501,
                                           "thread_id": 501, "content": "From a thread."}))
    await repo.discussion.record_new(item.id, [(m, [], []) for m in sent])
    item = await repo.agenda.item(item.id)

    comments = await InsightService(repo, [AGREE], [DISAGREE], [PASS]).summary_comments(item)
    stored = {(await repo.discussion.comment(m.message_id)).id: m for m in sent}
    assert sorted(c.comment_id for c in comments) == sorted(stored)
    for c in comments:
        m = stored[c.comment_id]
        assert (c.created_at, c.jump_url, c.text, c.author_id) == (
            m.created_at, f"https://discord.com/channels/77/{m.channel_id}/{m.message_id}",
            m.content, m.author_id)
    links = {c.jump_url for c in comments}
    shown = re.findall(r'"jump_url":"([^"]+)"', summarise(comments).model_dump_json())
    assert shown and set(shown) <= links
