"""Curating a summary: renames, merges and headline prose, checked and applied."""

from __future__ import annotations

import pytest

from bot.core.curation import (
    Curation,
    Merge,
    apply_curation,
    form_defaults,
    moved_since,
    parse_form,
    unapplied,
)
from bot.core.errors import BadInput
from bot.core.summary import render_summary_markdown, summarise
from tests.unit.test_statements import _theme_corpus, c


@pytest.fixture(scope="module")
def summary():
    s = summarise(_theme_corpus())
    assert len(s.themes) >= 3
    return s


def test_form_renames_and_merges_apply_and_examples_fit(summary):
    labels = [t.label for t in summary.themes]
    defaults = form_defaults(summary, None)
    assert defaults["renames"].splitlines() == [f"{x} => {x}" for x in labels]
    network = next(x for x in labels if "24/7" in x)
    budapest = next(x for x in labels if "Budapest" in x)
    retention = next(x for x in labels if x not in (network, budapest))
    cur = parse_form(summary, headline_text=defaults["headline"],
                     renames_text=f"{retention} => Data retention",
                     merges_text=f"{network} + {budapest} => Treaties and networks")
    assert cur.headline == []  # unchanged headline: the generated one stays live
    assert cur.merges == [Merge(labels=[network, budapest], into="Treaties and networks")]
    shown = apply_curation(summary, cur)
    merged = next(t for t in shown.themes if t.label == "Treaties and networks")
    assert merged.comments == sum(t.comments for t in summary.themes
                                  if t.label in (network, budapest))
    # the 24/7 theme held a supported and a rejected statement; merged, it says both
    assert merged.stance == "mixed"
    assert {r.comment_id for r in merged.representatives} <= {
        r.comment_id for r in merged.supported + merged.rejected}
    assert len(shown.themes) == len(summary.themes) - 1
    assert "Data retention" in [t.label for t in shown.themes]


def test_rename_is_kept_against_the_engine_label_and_headline_replaced(summary):
    network = next(t.label for t in summary.themes if "24/7" in t.label)
    first = parse_form(summary, headline_text="Support for the 24/7 Network was very strong.",
                       renames_text=f"{network} => The 24/7 Network", merges_text="")
    assert first.renames == {network: "The 24/7 Network"}
    md = render_summary_markdown("t", apply_curation(summary, first))
    assert md.split("\n")[2] == "Support for the 24/7 Network was very strong."
    assert "**The 24/7 Network**" in md
    # the form reopens showing the new name; renaming it again keeps the engine's label
    again = parse_form(summary, headline_text="", previous=first, merges_text="",
                       renames_text="The 24/7 Network => 24/7 contact points")
    assert again.renames == {network: "24/7 contact points"} and again.headline == []


@pytest.mark.parametrize("field,text,message", [
    ("merges_text", "Only one theme => X", "write it as"),
    ("merges_text", "No such + Other => X", "no theme called “No such”"),
    ("renames_text", "just a label", "write it as"),
    ("renames_text", "Nope => New", "no theme called “Nope”"),
    ("headline_text", "\n".join(f"Sentence {i}." for i in range(7)), "at most 6 sentences"),
])
def test_bad_form_lines_say_what_to_fix(summary, field, text, message):
    args = {"headline_text": "", "renames_text": "", "merges_text": ""} | {field: text}
    with pytest.raises(BadInput) as err:
        parse_form(summary, **args)
    assert message in str(err.value) and "Nothing was saved" in str(err.value)


def test_unapplied_names_themes_that_are_gone(summary):
    cur = Curation(renames={"A theme that left": "X"},
                   merges=[Merge(labels=["Gone one", summary.themes[0].label], into="Y")])
    assert unapplied(summary, cur) == ["Gone one", "A theme that left"]
    assert apply_curation(summary, cur).themes == summary.themes


def test_moved_since_says_what_changed():
    before = summarise([c(1, "Join the 24/7 Network now", agree=9, disagree=1),
                        c(2, "Keep two year data retention", agree=2, disagree=8)])
    after = summarise([c(1, "Join the 24/7 Network now", agree=9, disagree=9),
                       c(2, "Keep two year data retention", agree=2, disagree=8),
                       c(3, "A new point on capacity building")])
    lines = moved_since(before, after)
    assert lines[0] == "The discussion has moved since: 3 comments (+1) and 28 votes (+8)."
    assert any("“Join the 24/7 Network now” is now divided (9 agree, 9 disagree); it was "
               "very strong support (9 agree, 1 disagree)" in x for x in lines)
    assert moved_since(after, after) == []


def test_form_without_a_computed_summary_shows_the_curation_and_parses_later(summary):
    """/summary-edit never waits for a cold summary: with none computed yet the form opens
    with what the organiser curated, and that form still parses against the summary."""
    network = next(t.label for t in summary.themes if "24/7" in t.label)
    budapest = next(t.label for t in summary.themes if "Budapest" in t.label)
    cur = Curation(renames={network: "The 24/7 Network"},
                   merges=[Merge(labels=[budapest, "Gone theme"], into="Treaties")],
                   headline=["There was very strong support for the 24/7 Network."])
    d = form_defaults(None, cur)
    assert d == {"headline": "There was very strong support for the 24/7 Network.",
                 "renames": "The 24/7 Network => The 24/7 Network",
                 "merges": f"{budapest} + Gone theme => Treaties"}
    assert form_defaults(None, None) == {"headline": "", "renames": "", "merges": ""}
    again = parse_form(summary, headline_text=d["headline"], renames_text=d["renames"],
                       merges_text="", previous=cur)
    assert again.renames == {network: "The 24/7 Network"}
