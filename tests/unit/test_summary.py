"""Summary engine on generated corpora with planted themes and known agreement."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.corpus import ARGUMENTS, make_corpus
from bot.core.summary import (
    FeatureCache,
    SummaryComment,
    is_chatter,
    render_summary_markdown,
    stance_for,
    summarise,
    summary_embed_fields,
)


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(1500, seed=1)


@pytest.fixture(scope="module")
def summary(corpus):
    return summarise(corpus.comments)


def _majority(corpus, theme):
    label_of = {c.comment_id: lab for c, lab in zip(corpus.comments, corpus.labels, strict=True)}
    cnt = Counter(label_of[i] for i in theme.comment_ids)
    arg, n = cnt.most_common(1)[0]
    return arg, n / sum(cnt.values())


def test_finds_planted_themes(corpus, summary):
    assert not summary.is_brief
    found = set()
    for t in summary.themes:
        arg, share = _majority(corpus, t)
        if share > 0.5:
            found.add(arg)
    top = corpus.top_arguments(8)
    assert set(top[:4]) <= found
    assert len(found & set(top)) >= 5


def test_paraphrases_of_one_argument_are_one_theme(corpus, summary):
    """Near-duplicate themes merge: the four wordings of the encryption argument (which share
    only the word "encryption") make one theme."""
    led = [t for t in summary.themes if _majority(corpus, t)[0] == 1]
    assert len(led) == 1, [t.label for t in summary.themes]
    (encryption,) = led
    label_of = {c.comment_id: lab for c, lab in zip(corpus.comments, corpus.labels, strict=True)}
    planted = corpus.labels.count(1)
    assert sum(label_of[i] == 1 for i in encryption.comment_ids) >= 0.9 * planted


def test_representatives_belong_to_the_theme_argument(corpus, summary):
    by_url = {c.jump_url: lab for c, lab in zip(corpus.comments, corpus.labels, strict=True)}
    checked = 0
    for t in summary.themes:
        arg, share = _majority(corpus, t)
        assert 1 <= len(t.representatives) <= 3
        assert all(len(r.excerpt) <= 200 for r in t.representatives)
        if share >= 0.8:
            assert all(by_url[r.jump_url] == arg for r in t.representatives), t.label
            checked += 1
    assert checked >= 3


def test_stance_from_planted_agreement(corpus, summary):
    assert ARGUMENTS[0].agree_share == 0.90 and ARGUMENTS[1].agree_share == 0.50
    stances = {}
    for t in summary.themes:
        arg, share = _majority(corpus, t)
        if share > 0.8:
            stances.setdefault(arg, t.stance)
    assert stances[0] == "very strong support"  # planted 90 % agree: the >=85 % band
    assert stances[1] == "divided"


def test_stance_rule():
    assert stance_for(2, 0) == "no clear signal"
    assert stance_for(9, 1) == "very strong support"
    assert stance_for(1, 9) == "little support"
    assert stance_for(5, 5) == "divided"
    assert stance_for(67, 33) == "broad support"  # bands are contiguous


def test_chatter_is_reactions_not_themes(corpus, summary):
    assert summary.reactions_only == corpus.labels.count(-1)
    assert summary.substantive == len(corpus.comments) - summary.reactions_only
    assert is_chatter("+1") and is_chatter("thanks!") and is_chatter("Agreed, well said")
    assert not is_chatter("Ban encryption backdoors outright")
    assert summary.participation.comments == len(corpus.comments)
    assert sum(n for _, n in summary.participation.per_day) == len(corpus.comments)
    shown = sum(t.comments for t in summary.themes)
    assert summary.other + shown + summary.more_themes_comments == summary.substantive


def test_minority_theme_kept():
    weights = [0.0] * len(ARGUMENTS)
    weights[0], weights[3], weights[5], weights[12] = 30, 30, 30, 3
    c = make_corpus(1000, seed=2, weights=weights)
    s = summarise(c.comments)
    minority = [t for t in s.themes if t.small]
    assert minority, [t.label for t in s.themes]
    assert any(_majority(c, t)[0] == 12 for t in minority)


def test_few_comments_are_listed_not_themed():
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    comments = [
        # "+1" nobody voted on is chatter; a short comment people voted on is a statement
        SummaryComment(i, 100 + i, text, t0, f"https://discord.com/channels/1/2/{i}",
                       agree=0 if text == "+1" else 3)
        for i, text in enumerate(
            [
                "The Budapest Convention is the right framework for this bill.",
                "Encryption backdoors would make us all less safe.",
                "Police need money for digital forensics.",
                "+1",
            ],
            1,
        )
    ]
    s = summarise(comments)
    assert s.is_brief and s.themes == []
    assert [r.jump_url for r in s.listed] == [c.jump_url for c in comments[:3]]
    assert s.reactions_only == 1
    md = render_summary_markdown("4. Tackling cyber crime", s)
    assert "too few to identify themes" in md
    assert "https://discord.com/channels/1/2/4" not in md
    assert summarise([]).is_brief


def test_warm_cache_is_deterministic(corpus, summary):
    cache = FeatureCache()
    cache.add((c.comment_id, c.text) for c in corpus.comments)
    warm = summarise(corpus.comments, cache=cache)
    assert warm.model_dump() == summary.model_dump()
    assert [t.comment_ids for t in warm.themes] == [t.comment_ids for t in summary.themes]


def test_render_markdown_and_embed(corpus, summary):
    quotes = [("Communications data shall be retained for a period of two years.", 12)]
    sources = [("https://www.coe.int/en/web/cybercrime", "Budapest Convention", 5)]
    md = render_summary_markdown(
        "4. Tackling cyber crime", summary, quotes=quotes, sources=sources,
        status_line="Open · last comment 14 May",
    )
    for section in ("### Participation", "### Themes of the discussion",
                    "### Consensus statements", "### Divisive statements",
                    "### Broadly rejected statements", "### Method",
                    "### Most-quoted passages", "### Most-cited sources", "### Status"):
        assert section in md
    assert "There was very strong support for" in md
    assert "Opinion was divided on" in md
    assert "[1](https://discord.com/channels/1/2/" in md
    e = summary_embed_fields("4. Tackling cyber crime", summary, quotes=quotes, sources=sources,
                             status_line="Open")
    assert len(e.title) <= 256 and len(e.description) <= 4096 and len(e.fields) <= 25
    assert all(len(f.name) <= 256 and len(f.value) <= 1024 for f in e.fields)
    assert e.total_chars() <= 6000
    units = len([ln for ln in e.description.split("\n") if ln.strip()]) + sum(
        len([ln for ln in f.value.split("\n") if ln.strip()]) for f in e.fields)
    assert units <= 40


def test_excerpts_never_ping():
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    comments = [
        SummaryComment(1, 1, "@everyone the data retention clause is far too long " * 10, t0,
                       "https://discord.com/channels/1/2/1")
    ]
    s = summarise(comments)
    assert "@everyone" not in s.listed[0].excerpt and len(s.listed[0].excerpt) <= 200


def test_a_theme_near_the_size_of_a_related_one_is_still_shown():
    """At 400 comments the breach-reporting argument (18 comments) forms a pure theme of
    13; one paraphrase ("report data breaches and ransomware attacks") sits in the
    ransomware theme, so the two share a word.  A theme that large is another argument,
    not a leftover wording: it is shown ahead of smaller unrelated themes."""
    c = make_corpus(400, seed=0)
    label_of = dict(zip((x.comment_id for x in c.comments), c.labels, strict=True))
    s = summarise(c.comments)
    majority = []
    for t in s.themes:
        arg, n = Counter(label_of[i] for i in t.comment_ids).most_common(1)[0]
        if 2 * n > len(t.comment_ids):
            majority.append(arg)
    assert 6 in majority, [t.label for t in s.themes]
    assert len(majority) == len(set(majority))  # no argument shown twice
