"""Statements, votes, theme stance, chatter, any-language tokens and labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from bot.core.summary import (
    SummaryComment,
    about_the_participant,
    is_chatter,
    render_summary_markdown,
    stance_for,
    summarise,
    tally,
)

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def c(i, text, author=None, votes=(), agree=0, disagree=0):
    return SummaryComment(i, author if author is not None else 1000 + i, text,
                          T0 + timedelta(minutes=i), f"https://discord.com/channels/1/2/{i}",
                          agree=agree, disagree=disagree, votes=tuple(votes))


def test_latest_vote_counts_and_own_votes_ignored():
    x = c(1, "Join the 24/7 Network", author=7,
          votes=[(1, 1), (1, -1), (2, 1), (7, 1), (3, 0)])
    assert tally(x) == (1, 1, 1)


def test_bands_are_contiguous():
    seen = [stance_for(a, 100 - a) for a in range(101)]
    order = ["little support", "broad opposition", "divided", "broad support",
             "very strong support"]
    idx = [order.index(s) for s in seen]
    assert idx == sorted(idx) and set(seen) == set(order)
    assert stance_for(64, 36) == "divided" and stance_for(66, 34) == "broad support"


def test_short_voted_statement_is_not_chatter():
    s = summarise([c(1, "Remain was right.", agree=155, disagree=6), c(2, "+1")])
    assert s.reactions_only == 1
    assert s.opinion.consensus[0].comment_id == 1
    assert is_chatter("+1")


def _theme_corpus():
    out = []
    for i in range(12):
        out.append(c(i, f"Countries should join the 24/7 Network of contact points, point {i}.",
                     agree=121 if i == 0 else 0, disagree=3 if i == 0 else 0))
    out.append(c(50, "Countries should not join the 24/7 Network of contact points, point 50.",
                 agree=4, disagree=157))
    for i in range(100, 112):
        out.append(c(i, f"The Budapest Convention should be ratified by every state, reason {i}."))
    for i in range(200, 212):
        out.append(c(i, f"Data retention for two years is far too long for privacy {i}."))
    return out


def test_supported_and_rejected_statement_in_one_theme():
    s = summarise(_theme_corpus())
    t = next(t for t in s.themes if 0 in t.comment_ids)
    assert 50 in t.comment_ids
    assert t.stance == "mixed", t.stance
    assert [r.comment_id for r in t.supported] == [0]
    assert [r.comment_id for r in t.rejected] == [50]
    md = render_summary_markdown("t", s)
    assert "support for" in md and "rejection of" in md
    assert "divided" not in md.split("### Themes of the discussion")[1].split("###")[0]


def test_labels_keep_24_7_and_budapest_convention():
    s = summarise(_theme_corpus())
    labels = " | ".join(t.label for t in s.themes)
    assert "24/7 Network" in labels and "Budapest Convention" in labels, labels
    assert "(unlabelled)" not in labels


def test_accented_and_cjk_text_is_clustered():
    fr = [c(i, f"La rétention des données est trop longue, exemple {i}.") for i in range(10)]
    de = [c(20 + i, f"Die Vorratsdatenspeicherung verletzt die Privatsphäre, Fall {i}.")
          for i in range(10)]
    zh = [c(40 + i, f"政府应该加强网络安全教育和培训{i}") for i in range(10)]
    ar = [c(60 + i, f"يجب على الحكومة حماية خصوصية البيانات الشخصية {i}") for i in range(10)]
    s = summarise(fr + de + zh + ar)
    assert s.reactions_only == 0 and not s.is_brief
    groups = [set(t.comment_ids) for t in s.themes]
    for block in (fr, de, zh, ar):
        ids = {x.comment_id for x in block}
        assert any(len(ids & g) >= 8 for g in groups), [t.label for t in s.themes]
    assert any("rétention" in t.label for t in s.themes)


def test_statements_about_the_voters_are_not_reported_as_opinions():
    """Pol.is conversations seed "I live in a town"-style statements to learn who voted: they
    go under "About the participants", never into "Opinion was divided on …"."""
    votes_town = [(100 + k, 1 if k % 2 else -1) for k in range(40)]
    votes_tax = [(100 + k, 1 if k % 3 else -1) for k in range(40)]
    s = summarise([c(1, "I live in a town", votes=votes_town),
                   c(2, "I am prepared to pay a higher tax rate to improve our public services",
                     votes=votes_tax)])
    o = s.opinion
    assert [v.comment_id for v in o.about_participants] == [1]
    assert all(v.comment_id != 1 for v in o.divisive + o.consensus + o.rejected)
    assert [v.comment_id for v in o.consensus] == [2]
    md = render_summary_markdown("t", s)
    head = md.split("###")[0]
    assert "I live in a town" not in head and "I am prepared to pay" in head
    about = md.split("### About the participants")[1].split("###")[0]
    # figures, not a grade: "divided" on where people live would read as an opinion
    assert "yes for 20 of the 40 voters who answered (50 %), 0 passed" in about
    assert "divided" not in about and "support" not in about


def test_which_first_person_statements_describe_the_voter():
    """Wordings from the real Pol.is conversations in tests/data/polis: facts about the voter
    (any verb, odd spacing, typographic apostrophes, long income brackets) against opinions
    in the first person, which stay statements."""
    about = ["I played football in high school", "I grew up watching football.",
             "I  am 55 years of age or older", "I\u2019m registered to vote in San Juan County.",
             "My highest qualification is from secondary school", "I volunteer with the Land Bank.",
             "My household income is above  $100,000 per year but less than or equal to "
             "$150,000 per year", "I live in a town", "I voted to Remain.",
             "I have personally experienced issues of water quality (eg a boil water notice, a "
             "polluted local waterway or water-related gastro infection in the family)"]
    opinions = ["I am grateful for the Land Bank.",
                "I'm okay with growth as long as it is not next to my neighborhood.",
                "I\u2019d love to see a place that\u2019s more focused on organic food",
                "My dream is to have an official Packer Backer Bar in BG.",
                "I envision a flat tax across the board", "I don't like using poisons",
                "I am prepared to pay a higher tax rate", "We need a Catholic high school",
                "My generation has been growing up watching things get worse and worse, but we "
                "are powerless to stop it"]
    assert [t for t in about if not about_the_participant(t)] == []
    assert [t for t in opinions if about_the_participant(t)] == []


def test_an_outlier_is_not_a_group_and_facts_about_voters_do_not_make_groups():
    """Two camps of 20 voters split on 8 statements, one voter against everything (even the
    4 goals both camps share, which sets them far apart), and a statement about the voters
    ("I live in a city") that cuts across the camps: two groups, the camps, with the outlier
    in one of them; the city statement does not split them, and neither it nor one that
    matches a camp ("I am a farmer") describes a group."""
    texts = [f"Policy option {j} should be adopted nationally." for j in range(8)]
    comments = []
    flip = np.random.default_rng(4).random((8, 40)) < 0.1
    for j, t in enumerate(texts):
        # each camp agrees with its own options and against the others, some votes
        # the other way (at random: a fixed pattern would make sub-camps of identical voters)
        votes = [(v, 1 if ((v < 20) == (j % 2 == 0)) != flip[j, v] else -1) for v in range(40)]
        comments.append(c(j, t, votes=[*votes, (99, -1)]))
    for j in range(10, 14):
        comments.append(c(j, f"Shared goal {j} matters to all of us.",
                          votes=[*[(v, 1) for v in range(40)], (99, -1)]))
    comments.append(c(8, "I live in a city", votes=[(v, 1 if v % 2 else -1) for v in range(40)]))
    comments.append(c(9, "I am a farmer", votes=[(v, 1 if v < 20 else -1) for v in range(40)]))
    o = summarise(comments).opinion
    assert [g.size for g in o.groups] == [21, 20]
    groups = dict(o.membership)
    assert len({groups[v] for v in range(20)}) == 1 and len({groups[v] for v in range(20, 40)}) == 1
    assert groups[0] != groups[20] and 99 in groups
    described = [v.comment_id for g in o.groups for v in [*g.agrees, *g.disagrees]]
    # told by their opinions, not by "I am a farmer", however much it sets one camp apart
    assert described and not {8, 9} & set(described)


def test_opinion_groups_are_recomputed_when_votes_change_and_kept_when_they_do_not():
    """The groups are remembered per vote set: the same votes give the same groups (the
    remembered arrays are not the caller's to change), and changed votes new ones."""
    from bot.core.summary import opinion_groups

    rng = np.random.default_rng(3)
    voters = np.repeat(np.arange(60), 10)
    stmts = np.tile(np.arange(10), 60)
    camp = voters < 30
    vals = np.where(camp == (stmts % 2 == 0), 1, -1) * np.where(rng.random(600) < 0.1, -1, 1)
    people, groups = opinion_groups(voters, stmts, vals, 10)
    assert len(set(groups[:30])) == 1 and len(set(groups[30:])) == 1 and len(set(groups)) == 2
    groups[:] = 7  # the caller's copy
    again_people, again = opinion_groups(voters, stmts, vals, 10)
    assert set(again.tolist()) == {0, 1} and (again_people == people).all()
    # the first ten voters join the other camp
    moved = np.where(voters < 10, -vals, vals)
    _, after = opinion_groups(voters, stmts, moved, 10)
    assert len({*after[:10].tolist(), *after[30:].tolist()}) == 1
    assert after[10] != after[30]


def test_label_background_sample_changes_by_at_most_one_comment_per_new_comment():
    """The comments a theme's label is contrasted with are sampled by a hash of their ids:
    one new comment changes at most one of them, so a warm request does not re-read a
    fresh background (a sample drawn by count changed nearly all 1,500)."""
    from bot.core.summary import _stable_sample

    ids = np.arange(10_000, 60_000, 3, dtype=np.int64)
    before = set(ids[_stable_sample(ids, 1500)].tolist())
    more = np.append(ids, 99_999)
    after = set(more[_stable_sample(more, 1500)].tolist())
    assert len(before) == len(after) == 1500 and len(before - after) <= 1
    picked = ids[_stable_sample(ids, 1500)]
    # spread over the whole discussion, not its oldest or newest comments
    assert picked.min() < ids[len(ids) // 10] and picked.max() > ids[-len(ids) // 10]
    assert (_stable_sample(ids[:100], 1500) == np.arange(100)).all()
