"""The summary engine on real Pol.is conversations (tests/data/polis, CC BY 4.0 — see its
README): statements and per-person votes are built straight from the exported CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from bench.summary_quality import load_polis
from bot.core.summary import (
    OPPOSED,
    SUPPORTIVE,
    SummaryComment,
    render_summary_markdown,
    stance_for,
    statement_score,
    summarise,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "polis"
# every conversation stored there (the nine of the development set): the engine is judged on
# other, unseen conversations, so each check runs on all of them, not on hand-picked ones
CONVERSATIONS = sorted(p.name for p in DATA.iterdir() if (p / "comments.csv").exists())
WITH_POLIS_GROUPS = [n for n in CONVERSATIONS if (DATA / n / "participants-votes.csv").exists()]


def test_the_development_set_is_all_there():
    assert len(CONVERSATIONS) == 9 and len(WITH_POLIS_GROUPS) == 7


def load(name: str) -> list[SummaryComment]:
    return load_polis(DATA / name)


def real_tallies(comments):
    out = {}
    for c in comments:
        latest = {}
        for voter, v in c.votes:
            if voter != c.author_id:
                latest[voter] = v
        vals = list(latest.values())
        out[c.comment_id] = (vals.count(1), vals.count(-1))
    return out


@pytest.fixture(scope="module", params=CONVERSATIONS)
def conv(request):
    comments = load(request.param)
    return request.param, comments, summarise(comments)


def test_every_label_fits_the_real_votes(conv):
    _name, comments, s = conv
    real = real_tallies(comments)
    o = s.opinion
    assert o is not None
    for v in [*o.consensus, *o.divisive, *o.rejected]:
        a, d = real[v.comment_id]
        assert (v.agree, v.disagree) == (a, d)
        assert v.stance == stance_for(a, d, o.min_votes)
    assert all(v.stance in SUPPORTIVE for v in o.consensus)
    assert all(v.stance == "divided" for v in o.divisive)
    assert all(v.stance in OPPOSED for v in o.rejected)
    for t in s.themes:  # every example fits its theme's label
        for r in t.supported:
            assert stance_for(*real[r.comment_id], o.min_votes) in SUPPORTIVE
        for r in t.rejected:
            assert stance_for(*real[r.comment_id], o.min_votes) in OPPOSED
        if t.stance in SUPPORTIVE and t.supported:
            assert all(r in t.supported for r in t.representatives)
        if t.stance in OPPOSED and t.rejected:
            assert all(r in t.rejected for r in t.representatives)
        assert t.label and t.label != "(unlabelled)"


def test_top_consensus_and_divisive_are_named(conv):
    _name, comments, s = conv
    real = real_tallies(comments)
    md = render_summary_markdown("t", s)
    judged = [c for c, (a, d) in real.items() if a + d >= s.opinion.min_votes]
    top_cons = sorted((c for c in judged if real[c][0] / sum(real[c]) >= 0.65),
                      key=lambda c: -statement_score(*real[c]))[:10]
    top_div = sorted((c for c in judged if 0.35 < real[c][0] / sum(real[c]) < 0.65),
                     key=lambda c: -min(real[c]))[:10]
    named = lambda ids: sum(f"/1/2/{c})" in md for c in ids)  # noqa: E731
    assert named(top_cons) >= min(6, len(top_cons))
    assert named(top_div) >= min(5, len(top_div))


@pytest.mark.parametrize("name", WITH_POLIS_GROUPS)
def test_opinion_groups_match_polis_groups(name):
    comments = load(name)
    s = summarise(comments)
    assert s.opinion.groups and s.opinion.clustered >= 10
    polis = {}
    with open(DATA / name / "participants-votes.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["group-id"] != "":
                polis[int(row["participant"])] = int(row["group-id"])
    ours = dict(s.opinion.membership)  # the groups the summary itself reports
    both = sorted(set(polis) & set(ours))
    assert len(both) >= 20
    truth, mine = [polis[p] for p in both], [ours[p] for p in both]
    ari = adjusted_rand_score(truth, mine)
    # above chance: ARI is 0 for chance; beat 95 % of 200 random relabellings
    rng = np.random.default_rng(0)
    chance = float(np.percentile(
        [adjusted_rand_score(truth, rng.permutation(mine)) for _ in range(200)], 95))
    assert ari > 0.05 and ari > chance, (ari, chance)


def test_german_conversation_is_themed_with_accents_kept():
    s = summarise(load("austria-climate.5twd2jsnkf.2022-08-08"))
    assert not s.is_brief and s.themes
    assert s.reactions_only < 0.2 * s.participation.comments
