"""A big topic's themes are kept between requests (summary._themes): while the discussion
changes by less than THEMES_DRIFT, a new comment joins the theme nearest to it and the
others stay as they were; past it, or after an erasure, the themes are found again.

The size from which themes are kept is lowered here to a corpus of 2,000 comments (the
bot keeps them from 20,000 distinct comments, where finding them costs most of a warm
/summary)."""

from __future__ import annotations

import pytest

from bench.corpus import make_corpus
from bot.core import summary as S
from bot.core.insight import InsightService


@pytest.fixture(autouse=True)
def kept_from_small_topics(monkeypatch):
    monkeypatch.setattr(S, "THEMES_KEEP_MIN", 100)
    S.forget_themes()
    yield
    S.forget_themes()


def members(summary):
    return {t.label: set(t.comment_ids) for t in summary.themes}


def test_an_unchanged_topic_keeps_exactly_the_themes_found():
    comments = make_corpus(2000, seed=4).comments
    fresh = S.summarise(comments)
    assert len(S._THEMES_KEPT) == 1
    again = S.summarise(comments)
    assert again == fresh
    assert len(S._THEMES_KEPT) == 1  # the same clustering, not a second one


def test_a_new_comment_joins_the_theme_it_repeats_and_the_rest_stays():
    comments = make_corpus(2000, seed=4).comments
    before = S.summarise(comments)
    theme = before.themes[0]
    rep = theme.representatives[0]
    source = next(c for c in comments if c.comment_id == rep.comment_id)
    new = source._replace(comment_id=max(c.comment_id for c in comments) + 1,
                          text=source.text + " That is the whole point for me.",
                          agree=0, disagree=0, passes=0, votes=())
    after = S.summarise([*comments, new])
    assert len(S._THEMES_KEPT) == 1  # kept, not found again
    old, now = members(before), members(after)
    assert now.keys() == old.keys()  # the same themes, labelled the same
    assert now[theme.label] == old[theme.label] | {new.comment_id}
    assert all(now[label] == old[label] for label in old if label != theme.label)


def test_past_the_drift_the_themes_are_found_again():
    corpus = make_corpus(2400, seed=4).comments
    first, rest = corpus[:2000], corpus[2000:]  # 20 % more: far past THEMES_DRIFT
    S.summarise(first)
    grown = S.summarise(first + rest)
    assert len(S._THEMES_KEPT) == 2  # a second clustering, of the grown topic
    S.forget_themes()
    assert S.summarise(first + rest) == grown  # as from scratch


async def test_an_erasure_forgets_the_kept_themes(repo):
    """Kept centroids are sums of comments' words: drop_derived_data (run on an erasure)
    drops them with the rest of what was derived from text."""
    S.summarise(make_corpus(2000, seed=4).comments)
    assert S._THEMES_KEPT
    service = InsightService(repo, ["👍"], ["👎"])
    await service.drop_derived_data(user_id=12345)
    assert not S._THEMES_KEPT
    await service.close()


def test_each_topic_keeps_its_own_themes():
    one = make_corpus(2000, seed=4).comments
    other = [c._replace(comment_id=c.comment_id + 10**7)
             for c in make_corpus(2000, seed=9).comments]
    first = S.summarise(one)
    S.summarise(other)
    S.summarise(one[:-1])  # the first topic's, not the other's (kept after it)
    assert len(S._THEMES_KEPT) == 2
    assert S.summarise(one) == first
