"""The summary chart: what it shows (the summary's own statements, per opinion group),
that it is a legible PNG (every label inside the picture, no two labels overlapping, from
the renderer's own text boxes), and that user text is drawn as text."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.core.charts import (
    DPI,
    OVERVIEW_SIZE,
    TEXT_LINES,
    TEXT_WIDTH,
    WIDTH_IN,
    chart_layout,
    chart_sections,
    overview_layout,
    overview_rows,
    render_summary_chart,
    render_summary_overview,
)
from bot.core.summary import SummaryComment, summarise
from tests.unit.test_polis_real import load

T0 = datetime(2011, 11, 1, 9, tzinfo=UTC)


def counted(n: int = 30, texts: tuple[str, ...] = ("Every country should join the 24/7 Network",)):
    """Comments with reaction counts only (what the bot stores today): no opinion groups."""
    out = []
    for i in range(n):
        agree, disagree = (12, 1) if i % 3 == 0 else (6, 6) if i % 3 == 1 else (1, 11)
        out.append(SummaryComment(i + 1, 100 + i % 7, f"{texts[i % len(texts)]} (point {i})",
                                  T0 + timedelta(hours=7 * i), f"https://discord.com/channels/1/2/{i}",
                                  agree, disagree, i % 2))
    return out


@pytest.fixture(scope="module")
def polis():
    return summarise(load("scoop-hivemind.ubi"))


def texts_of(drawing):
    """Every label the picture draws, with its box in pixels (from Pillow's own measure of
    the text in its font)."""
    return [(t.text, t.box) for t in drawing.texts if t.text.strip()]


def assert_legible(drawing):
    """Every label inside the picture, and no two overlapping."""
    width, height = drawing.size
    boxes = texts_of(drawing)
    assert boxes
    for text, (x0, y0, x1, y1) in boxes:
        assert x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height, (
            f"label outside the picture: {text!r} {(x0, y0, x1, y1)}")
    overlapping = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
                   if min(ba[2], bb[2]) - max(ba[0], bb[0]) > 1
                   and min(ba[3], bb[3]) - max(ba[1], bb[1]) > 1]
    assert overlapping == []


def test_group_chart_shows_the_summary_statements_per_group(polis):
    o = polis.opinion
    assert o is not None and len(o.groups) >= 2
    sections = chart_sections(polis)
    assert [s.title for s in sections] == ["Most agreed (consensus)", "Most divisive",
                                           "Most rejected"]
    picked = {"Most agreed (consensus)": o.consensus, "Most divisive": o.divisive,
              "Most rejected": o.rejected}
    for s in sections:
        for block, view in zip(s.blocks, picked[s.title], strict=False):
            everyone, *groups = block.rows
            assert (everyone.agree, everyone.disagree, everyone.passes) == (
                view.agree, view.disagree, view.passes)
            assert [r.label.split(" (")[0] for r in groups] == [g.label for g in o.groups]
            # people placed in a group are some of those who voted
            assert sum(r.agree for r in groups) <= view.agree
            assert sum(r.disagree for r in groups) <= view.disagree
            assert sum(r.voters for r in groups) <= everyone.voters
            lines = block.text.split("\n")
            assert len(lines) <= TEXT_LINES and all(len(x) <= TEXT_WIDTH for x in lines)


def test_group_tallies_match_the_votes(polis):
    """by_group is each group's latest votes on the statement (recounted from the CSVs
    would need the grouping; here: the groups' sums never exceed the statement's own)."""
    for v in [*polis.opinion.consensus, *polis.opinion.rejected]:
        assert len(v.by_group) == len(polis.opinion.groups)
        assert all(min(t) >= 0 for t in v.by_group)


def test_polis_chart_is_a_legible_png(polis):
    fig = chart_layout("Universal basic income in Aotearoa New Zealand", polis)
    assert_legible(fig)
    png = render_summary_chart("Universal basic income in Aotearoa New Zealand", polis)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == fig.size
    assert image.size[0] == round(WIDTH_IN * DPI)
    assert 600 <= image.size[1] <= 2400
    assert len(png) < 1_000_000


def test_counts_only_chart_has_one_bar_per_statement_and_activity():
    s = summarise(counted())
    sections = chart_sections(s)
    assert sections and all(len(b.rows) == 1 for sec in sections for b in sec.blocks)
    assert sections[0].blocks[0].rows[0].label.endswith("voted")
    fig = chart_layout("Tackling cyber crime: what should governments do together about "
                         "it in the next decade, and who pays?", s)
    assert_legible(fig)
    drawn = [t for t, _ in texts_of(fig)]
    assert "Comments per day" in drawn
    assert any(t.startswith("busiest:") for t in drawn)


def test_user_text_is_drawn_as_written():
    """Dollar signs are not maths, the anti-ping zero-width space is not drawn, and a very
    long statement is cut at a word with an ellipsis."""
    long = "word " * 80
    s = summarise(counted(texts=("It costs $5 and $10 a month for @\u200beveryone", long)))
    fig = chart_layout("Costs", s)
    drawn = [t for t, _ in texts_of(fig)]
    assert any("$5 and $10" in t and "\u200b" not in t for t in drawn)
    assert any(t.rstrip().endswith("…\u201d") for t in drawn)
    assert_legible(fig)


def test_without_votes_only_activity_and_without_comments_nothing():
    plain = [SummaryComment(i, i, f"A point about the network number {i}", T0 + timedelta(days=i),
                            "https://x") for i in range(4)]
    s = summarise(plain)
    assert chart_sections(s) == []
    fig = chart_layout("International security", s)
    drawn = [t for t, _ in texts_of(fig)]
    assert "No votes on statements yet" in drawn and "Comments per day" in drawn
    assert_legible(fig)
    assert render_summary_chart("Empty", summarise([])) is None


def test_days_are_labelled_in_words_and_one_day_is_a_sentence():
    one = summarise(counted(3))
    fig = chart_layout("Days", one)
    drawn = [t for t, _ in texts_of(fig)]
    assert "Comments: all 3 on 1 November 2011." in drawn
    assert "Comments per day" not in drawn
    long = summarise([SummaryComment(i, i % 5, f"Point number {i} about data",
                                     T0 + timedelta(days=3 * i), "https://x", 3, 1)
                      for i in range(200)])
    fig = chart_layout("Days", long)
    assert_legible(fig)
    labels = [t.text for t in fig.texts if t.kind == "xtick"]
    assert labels[0] == "1 Nov 2011" and len(labels) <= 7
    assert any(x.endswith("2012") for x in labels)  # the year where it changes


def test_pass_column_only_when_someone_passed(polis):
    """Discord reactions have no "pass": a column of zeros would be noise. Votes from
    Pol.is have passes, and their column."""
    no_pass = [SummaryComment(c.comment_id, c.author_id, c.text, c.created_at, c.jump_url,
                              c.agree, c.disagree, 0) for c in counted()]
    drawn = [t for t, _ in texts_of(chart_layout("Reactions", summarise(no_pass)))]
    assert "pass" not in drawn and not any("pass column" in t for t in drawn)
    drawn = [t for t, _ in texts_of(chart_layout("Pol.is", polis))]
    assert "pass" in drawn and any("pass column" in t for t in drawn)
    # the number of people is stated only when it is known (per-person votes)
    assert any(" votes from " in t for t in drawn)
    drawn = [t for t, _ in texts_of(chart_layout("Reactions", summarise(no_pass)))]
    assert any(t.endswith("statements") and " from " not in t for t in drawn)


def test_agree_and_disagree_stay_apart_for_colour_blind_readers():
    """Machado et al. (2009) simulations of protanopia, deuteranopia and tritanopia at
    full severity: agree and disagree stay far apart (a red/green pair would not)."""
    import numpy as np

    from bot.core.charts import AGREE, DISAGREE

    sims = {
        "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                   [-0.011820, 0.042940, 0.968881]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
    }

    def seen(colour: str, m) -> np.ndarray:
        c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        s = np.clip(np.array(m) @ lin, 0, 1)
        return 255 * np.where(s <= 0.0031308, s * 12.92, 1.055 * s ** (1 / 2.4) - 0.055)

    for name, m in sims.items():
        gap = float(np.linalg.norm(seen(AGREE, m) - seen(DISAGREE, m)))
        assert gap > 100, (name, gap)
    red, green = "#D62728", "#2CA02C"  # what the test guards against
    assert float(np.linalg.norm(seen(red, sims["deutan"]) - seen(green, sims["deutan"]))) < 100


def test_alt_text_says_what_the_chart_shows_within_discords_limit(polis):
    from bot.core.charts import chart_alt_text

    alt = chart_alt_text("Universal basic income", polis)
    assert "for each opinion group" in alt
    top = polis.opinion.consensus[0]
    share = round(100 * top.agree / (top.agree + top.disagree + top.passes))
    assert f"Most agreed (consensus): \u201c{top.excerpt[:40]}" in alt and f"({share} % agree" in alt
    assert "Comments per day from 13 August 2017" in alt
    long = summarise(counted(texts=("word " * 300,)))
    assert len(chart_alt_text("T" * 5000, long)) <= 1024


def two_camps() -> list[SummaryComment]:
    """Two opinion camps (20 and 12 people) on ten statements; only 3 of the smaller camp
    voted on the first, most agreed statement (the Pol.is sets in tests/data have no group
    that small on a charted statement)."""
    out = []
    for j in range(10):
        side = 1 if j < 5 else -1
        votes = [(1000 + p, side) for p in range(20)]
        if j == 0:  # the first statement: everyone agrees, only 3 of the smaller camp voted
            votes += [(2000 + p, 1) for p in range(3)]
        else:
            votes += [(2000 + p, -side) for p in range(12)]
        out.append(SummaryComment(j, 1 + j, f"Statement number {j} about the 24/7 Network",
                                  T0 + timedelta(hours=j), f"https://discord.com/channels/1/2/{j}",
                                  votes=tuple(votes)))
    return out


def test_a_handful_of_voters_is_shown_as_counts_not_shares():
    """A group row with fewer than 5 voters reads "3 of 4", not "75 %", and the footnote
    says why; rows with enough voters keep their shares."""
    from bot.core.charts import FEW_VOTERS

    s = summarise(two_camps())
    rows = [r for sec in chart_sections(s) for b in sec.blocks for r in b.rows]
    few = [r for r in rows if 0 < r.voters < FEW_VOTERS]
    assert few, "the smaller camp has only 3 voters on the top statement"
    drawn = [t for t, _ in texts_of(chart_layout("Freshwater", s))]
    for r in few:
        assert f"{r.agree} of {r.voters}" in drawn
    assert any("Pale: fewer than 5 voters" in t for t in drawn)
    assert any(t.endswith(" %") for t in drawn)


# --- the overview (the embed's image) -------------------------------------------------------


def overview_texts(title, summary):
    """The overview's texts, after checking each is inside the picture, no two overlap,
    none is wider than its column or runs into the bars' column (a statement's text)."""
    layout = overview_layout(title, summary)
    width, height = OVERVIEW_SIZE
    for t in layout.texts:
        x0, y0, x1, y1 = t.box
        assert 0 <= x0 and 0 <= y0 and x1 <= width and y1 <= height, f"outside: {t}"
    overlapping = [(a.text, b.text) for a, b in itertools.combinations(layout.texts, 2)
                   if min(a.box[2], b.box[2]) - max(a.box[0], b.box[0]) > 1
                   and min(a.box[3], b.box[3]) - max(a.box[1], b.box[1]) > 1]
    assert overlapping == []
    bars_from = min(box[0] for box, _ in layout.rects)
    statements = [t for t in layout.texts if t.colour != "#FFFFFF" and t.xy[0] < bars_from
                  and t.size == round(12.5 * 160 / 72) and not t.bold and t.xy[1] > 200]
    assert statements and all(t.box[2] < bars_from for t in statements)
    return [t.text for t in layout.texts]


def test_overview_shows_the_summarys_own_top_statements_with_everyones_shares(polis):
    o = polis.opinion
    sections = overview_rows(polis)
    assert [(t, [v.comment_id for v in views]) for t, views in sections] == [
        ("Most agreed", [v.comment_id for v in o.consensus[:2]]),
        ("Most divisive", [v.comment_id for v in o.divisive[:2]]),
        ("Most rejected", [v.comment_id for v in o.rejected[:2]])]
    drawn = overview_texts("Universal basic income in Aotearoa New Zealand", polis)
    top = o.consensus[0]
    n = top.agree + top.disagree + top.passes
    assert f"{100 * top.agree / n:.0f} %" in drawn and f"{n:,} voted" in drawn
    assert f"{o.voters:,} people" in drawn[1]
    assert "pass" in drawn  # people passed on some of them


def test_overview_has_no_pass_legend_when_nobody_passed():
    s = summarise([c for c in counted() if not c.passes])
    assert overview_rows(s) and not any(v.passes for _, vs in overview_rows(s) for v in vs)
    drawn = overview_texts("Tackling cyber crime", s)
    assert "pass" not in drawn and "agree \u25b6" in drawn


def test_overview_is_drawn_for_discords_embed_box(polis):
    """Discord shows an embed's image within about 400 x 300 px: the overview is 4:3 at
    three times that, so its smallest text (22 px) is 7 px there and its statements
    (28 px) 9 px; the full chart, 960 px wide and tall, would be a thumbnail."""
    png = render_summary_overview("Universal basic income", polis)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1200, 900)
    assert len(png) < 300_000


def test_overview_of_reaction_counts_and_of_wide_scripts_stays_legible():
    s = summarise(counted(texts=("各国应当加入二十四小时网络以便在夜间回应紧急请求并分享证据"
                                 "这是我们的共同责任也是合作的基础",
                                 "Jedes Land sollte dem 24/7-Netzwerk beitreten, auch Österreich")))
    drawn = overview_texts("跨境合作", s)
    assert "people" not in drawn[1]  # no per-person votes: no count
    cut = [t for t in drawn if t.startswith("各国") or t.endswith("…")]
    assert cut, drawn  # the Chinese statement is wrapped at characters, not dropped


def test_no_overview_without_voted_statements():
    plain = [SummaryComment(i, i, f"A point about the network number {i}", T0 + timedelta(days=i),
                            "https://x") for i in range(4)]
    assert overview_rows(summarise(plain)) == []
    assert render_summary_overview("International security", summarise(plain)) is None
    assert render_summary_overview("Empty", summarise([])) is None
