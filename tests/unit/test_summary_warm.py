"""The warm /summary path (features cached at catch-up, inputs kept in memory and brought
up to date incrementally, per-comment flags computed once) gives exactly the summary that
summarise() computes from scratch on the same comments."""

from __future__ import annotations

import random
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
