"""Pictures of a summary: how people voted on its top statements, and activity per day.

Two of them: the full chart (below), attached beside the report; and the overview (at the
end of this module), the embed's image, drawn for the ~400 x 300 px box Discord shows it in.

Pure core (matplotlib's object API on the Agg canvas, no pyplot, no Discord), so it is
safe to run in a worker thread.

* **Statements.** The summary's top consensus, divisive and rejected statements, each as
  diverging horizontal bars: the share of the people who voted on it that *disagree*
  grows to the left of the centre line, the share that *agree* to the right, and the
  share that *passed* sits in its own column on the right (so both sides start at zero
  and stay comparable). When the summary has opinion groups, each statement has one bar
  for everyone and one per group (Pol.is' report layout); otherwise one bar.
* **Activity.** Comments per day.

Colours are from Okabe & Ito's colour-blind-safe palette: agree blue ``#0072B2``,
disagree vermillion ``#D55E00``, pass grey ``#BBBBBB``, activity sky blue ``#56B4E9``.
Blue against vermillion stays distinct under protanopia, deuteranopia and tritanopia,
and the direction of a bar (left/right) says the same thing as its colour.

The figure is 6 inches wide at 160 dpi (960 px): at Discord's preview width (~550 px)
the 10-point labels are about 13 px high.
"""

from __future__ import annotations

import io
import math
import textwrap
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import date

from bot.core.summary import DiscussionSummary, StatementView

__all__ = [
    "AGREE",
    "DISAGREE",
    "PASS",
    "ChartBlock",
    "ChartRow",
    "ChartSection",
    "chart_alt_text",
    "chart_sections",
    "overview_layout",
    "overview_rows",
    "render_summary_chart",
    "render_summary_overview",
    "summary_figure",
    "warm_up",
]

AGREE = "#0072B2"  # Okabe-Ito blue
DISAGREE = "#D55E00"  # Okabe-Ito vermillion
PASS = "#BBBBBB"  # neutral grey
ACTIVITY = "#56B4E9"  # Okabe-Ito sky blue
INK = "#222222"
MUTED = "#555555"

WIDTH_IN = 6.0
DPI = 160
PER_SECTION = 3  # statements per section (2 when there are opinion groups)
PER_SECTION_GROUPS = 2
TEXT_WIDTH = 66  # characters per line of a statement's text
TEXT_LINES = 2
MAX_GROUPS = 5

# vertical layout, in inches
LINE_H = 0.19
BAR_H = 0.21
BLOCK_GAP = 0.14
SECTION_H = 0.36
HEADER_H = 0.32
ACTIVITY_TITLE_H = 0.42
ACTIVITY_AX_H = 1.15
ACTIVITY_TICKS_H = 0.42
LEFT_IN = 1.05  # margin for the row labels ("Group A (120)")
PASS_IN = 0.8  # the pass column
RIGHT_IN = 0.12


FEW_VOTERS = 5  # rows with fewer voters are drawn pale, with counts instead of shares
FOOTNOTE = ("Bars: share of the (n) people who voted on each statement{passed}.{few}"
            "\nConsensus: \u2265 65 % of the agree/disagree votes agree; "
            "divisive: 35\u201365 %; rejected: \u2264 35 %.")


@dataclass(frozen=True)
class ChartRow:
    label: str  # "All (53)", "Group A (20)", "53 voted"
    agree: int
    disagree: int
    passes: int

    @property
    def voters(self) -> int:
        return self.agree + self.disagree + self.passes


@dataclass(frozen=True)
class ChartBlock:
    text: str  # the statement, wrapped and shortened
    rows: list[ChartRow]


@dataclass(frozen=True)
class ChartSection:
    title: str
    blocks: list[ChartBlock] = field(default_factory=list)


def _columns(text: str, width: int) -> int:
    """How many characters of ``text`` fit in ``width`` columns: half as many when it is
    mostly wide (CJK) characters, which take two."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    return max(8, width // 2) if wide > len(text) * 0.3 else width


def _label_text(excerpt: str) -> str:
    """A statement as at most ``TEXT_LINES`` lines of ``TEXT_WIDTH`` characters, in quotes;
    cut at a word with an ellipsis when longer. (The zero-width space the text reports put
    after "@" to stop pings has no use in a picture.)"""
    text = " ".join(excerpt.replace("\u200b", "").split())
    width = _columns(text, TEXT_WIDTH)
    lines = textwrap.wrap(f"\u201c{text}\u201d", width, break_long_words=True)
    if len(lines) > TEXT_LINES:
        lines = lines[:TEXT_LINES]
        last = textwrap.shorten(lines[-1], width - 2, placeholder="")
        lines[-1] = (last or lines[-1][: width - 2]).rstrip(" ,;:.\u201d") + "…\u201d"
    return "\n".join(lines)


def _rows(v: StatementView, group_labels: list[str]) -> list[ChartRow]:
    n = v.agree + v.disagree + v.passes
    if not group_labels or len(v.by_group) != len(group_labels):
        return [ChartRow(f"{n} voted", v.agree, v.disagree, v.passes)]
    rows = [ChartRow(f"All ({n})", v.agree, v.disagree, v.passes)]
    for label, (a, d, p) in zip(group_labels, v.by_group, strict=True):
        rows.append(ChartRow(f"{label} ({a + d + p})", a, d, p))
    return rows


def chart_sections(summary: DiscussionSummary, per_section: int | None = None) -> list[ChartSection]:
    """What the statements part of the chart shows: the summary's own top consensus,
    divisive and rejected statements (its ranking, not a new one), with per-group rows
    when it has opinion groups. Empty sections are left out."""
    o = summary.opinion
    if o is None:
        return []
    groups = [g.label for g in o.groups[:MAX_GROUPS]] if len(o.groups) <= MAX_GROUPS else []
    n = per_section or (PER_SECTION_GROUPS if groups else PER_SECTION)
    out = []
    for title, views in (("Most agreed (consensus)", o.consensus),
                         ("Most divisive", o.divisive),
                         ("Most rejected", o.rejected)):
        blocks = [ChartBlock(_label_text(v.excerpt), _rows(v, groups)) for v in views[:n]]
        if blocks:
            out.append(ChartSection(title, blocks))
    return out


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


ALT_MAX = 1024  # Discord's limit on an attachment's description (its alt text)


def chart_alt_text(topic_title: str, summary: DiscussionSummary, *,
                   overview: bool = False) -> str:
    """What the chart shows, in words, for screen readers (the attachment's description
    in Discord, the image's alt text in report.html); at most 1024 characters.
    ``overview``: the embed's overview (everyone's votes, no activity) instead."""
    title = textwrap.shorten(" ".join(topic_title.split()), 100, placeholder="…")
    bits = [f"{'Overview' if overview else 'Chart'} for \u201c{title}\u201d."]
    o = summary.opinion
    sections = chart_sections(summary)
    if o is not None and sections:
        groups = " for everyone and for each opinion group" if o.groups and not overview else ""
        bits.append(f"{_n(o.votes, 'vote')} on {_n(o.statements, 'statement')}. Bars show the share "
                    f"of voters who agree (blue, to the right) and disagree (orange, to the "
                    f"left){groups}.")
        for sec in sections:
            first = sec.blocks[0]
            r = first.rows[0]
            text = textwrap.shorten(first.text.replace("\n", " ").strip("\u201c\u201d"), 90,
                                    placeholder="…")
            bits.append(f"{sec.title}: \u201c{text}\u201d ({_pct(r.agree, r.voters):.0f} % "
                        f"agree, {_pct(r.disagree, r.voters):.0f} % disagree).")
    per_day = [] if overview else summary.participation.per_day
    if len(per_day) == 1:
        (day, n), = per_day
        bits.append(f"Comments: {n:,} on {day.day} {day:%B %Y}.")
    elif per_day:
        (d0, _), (d1, _) = per_day[0], per_day[-1]
        day, n = max(per_day, key=lambda dn: (dn[1], dn[0]))
        bits.append(f"Comments per day from {d0.day} {d0:%B %Y} to {d1.day} {d1:%B %Y}; "
                    f"busiest {day.day} {day:%B} ({n:,}).")
    alt = " ".join(bits)
    return alt if len(alt) <= ALT_MAX else alt[: ALT_MAX - 1] + "…"


def _block_height(b: ChartBlock) -> float:
    return b.text.count("\n") * LINE_H + LINE_H + len(b.rows) * BAR_H + BLOCK_GAP


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def render_summary_chart(topic_title: str, summary: DiscussionSummary) -> bytes | None:
    """The PNG for a summary, or None when a picture would show nothing the text does not:
    no statement with enough votes to judge, and comments on one day at most."""
    with warnings.catch_warnings():
        # glyphs DejaVu Sans lacks (CJK, emoji) are drawn as boxes: fine, no warning each
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        fig = summary_figure(topic_title, summary)
        if fig is None:
            return None
        fig.canvas.draw()
    return _png(fig)


_warm = False


def warm_up() -> None:
    """Import the drawing code and load the fonts (about a second, once per process), so
    that the first chart after a start costs what every later one does."""
    global _warm
    if _warm:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "Aa 1 %", fontsize=10)
    fig.text(0.1, 0.2, "Aa 1 %", fontsize=10, fontweight="bold")
    fig.canvas.draw()
    _png(fig)
    _warm = True


def _png(fig) -> bytes:
    """The drawn canvas as an indexed-colour PNG: one draw (``savefig`` would draw again),
    a 128-colour palette (Pillow's fast octree), which is ~4x smaller than RGBA and
    looks the same for flat colours and anti-aliased text."""
    from PIL import Image

    w, h = fig.canvas.get_width_height()
    image = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    image.convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(
        buf, format="PNG", compress_level=6)
    return buf.getvalue()


def summary_figure(topic_title: str, summary: DiscussionSummary):
    """The chart as a matplotlib ``Figure`` (on an Agg canvas), or None when there is
    nothing to draw. :func:`render_summary_chart` saves it as PNG."""
    sections = chart_sections(summary)
    per_day = summary.participation.per_day
    if not sections and len(per_day) < 2:
        return None  # no judged statement and at most one day: the text says it all
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    o = summary.opinion
    title_lines = textwrap.wrap(" ".join(topic_title.split()), 52) or [""]
    if len(title_lines) > 2:
        title_lines = [title_lines[0], textwrap.shorten(" ".join(title_lines[1:]), 50,
                                                        placeholder="…")]
    title = "\n".join(title_lines)
    sub = []
    if o is not None:
        # the number of people is known only from per-person votes (then there are groups);
        # from reaction counts alone it would be a guess
        people = f" from {o.voters:,} people" if o.groups else ""
        sub.append(f"{_n(o.votes, 'vote')}{people} on {_n(o.statements, 'statement')}")
        if o.groups and len(o.groups) <= MAX_GROUPS:
            sub.append(f"{len(o.groups)} opinion groups of people who voted alike "
                       f"({o.clustered:,} people placed)")
    elif per_day:
        sub.append("No votes on statements yet")
    title_h = 0.28 * len(title_lines)
    top_h = 0.22 + title_h + 0.2 * len(sub) + 0.08
    stmt_h = (HEADER_H + sum(SECTION_H + sum(_block_height(b) for b in s.blocks)
                             for s in sections)) if sections else 0.0
    with_pass = any(r.passes for s in sections for b in s.blocks for r in b.rows)
    one_day = len(per_day) == 1  # a bar chart of one bar says less than a sentence
    act_h = (0.0 if not per_day else ACTIVITY_TITLE_H if one_day
             else ACTIVITY_TITLE_H + ACTIVITY_AX_H + ACTIVITY_TICKS_H)
    foot_h = 0.4 if sections else 0.1
    height = top_h + stmt_h + act_h + foot_h

    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    fx = lambda inches: inches / WIDTH_IN  # noqa: E731  (inches → figure fraction)
    fy = lambda inches: inches / height  # noqa: E731
    fig.text(fx(0.12), 1 - fy(0.14), title, fontsize=13, fontweight="bold", color=INK,
             va="top", ha="left", parse_math=False)
    for i, line in enumerate(sub):
        fig.text(fx(0.12), 1 - fy(0.2 + title_h + 0.2 * i), line, fontsize=9.5, color=MUTED,
                 va="top", ha="left", parse_math=False)

    if sections:
        _draw_statements(fig, sections, top_h, stmt_h, height, fx, fy, blended_transform_factory,
                         with_pass)
    if one_day:
        (day, n), = per_day
        fig.text(fx(0.12), 1 - fy(top_h + stmt_h + ACTIVITY_TITLE_H * 0.45),
                 f"Comments: {'all ' if n > 1 else ''}{n:,} on {day.day} {day:%B %Y}.",
                 fontsize=10.5, color=INK, ha="left", va="center")
    elif per_day:
        _draw_activity(fig, per_day, top_h + stmt_h, height, fx, fy, MaxNLocator)
    if sections:
        few = any(0 < r.voters < FEW_VOTERS for s in sections for b in s.blocks for r in b.rows)
        note = FOOTNOTE.format(passed="; the pass column: those who passed" if with_pass else "",
                               few=f" Pale: fewer than {FEW_VOTERS} voters, shown as counts."
                               if few else "")
        fig.text(fx(0.12), fy(0.1), note, fontsize=7.5, color=MUTED, ha="left", va="bottom",
                 linespacing=1.3)
    return fig


def _draw_statements(fig, sections, top_h, stmt_h, height, fx, fy, blended,
                     with_pass: bool = True) -> None:
    """The statements part; without any pass vote among them (Discord reactions have no
    "pass"), no pass column: a column of zeros would be noise."""
    left, right = LEFT_IN, WIDTH_IN - RIGHT_IN - (PASS_IN if with_pass else 0.3)
    bottom = height - top_h - stmt_h
    ax = fig.add_axes((fx(left), fy(bottom), fx(right - left), fy(stmt_h)))
    ax.set_xlim(-128, 128)
    ax.set_ylim(stmt_h, 0)
    ax.set_axis_off()
    pax = None
    if with_pass:
        pax = fig.add_axes((fx(right + 0.08), fy(bottom), fx(PASS_IN - 0.08), fy(stmt_h)),
                           sharey=ax)
        pax.set_xlim(0, 150)
        pax.set_axis_off()
    at_fig_x = blended(fig.transFigure, ax.transData)

    # header: the colours are the legend
    y = HEADER_H * 0.55
    ax.text(-6, y, "\u25c0 disagree", color=DISAGREE, fontsize=10, fontweight="bold",
            ha="right", va="center")
    ax.text(6, y, "agree \u25b6", color=AGREE, fontsize=10, fontweight="bold",
            ha="left", va="center")
    if pax is not None:
        pax.text(4, y, "pass", color=MUTED, fontsize=10, fontweight="bold", ha="left",
                 va="center")
    from matplotlib.colors import to_rgba

    bars: dict[str, list] = {"y": [], "agree": [], "disagree": [], "pass": [], "alpha": []}
    centre: list[tuple[float, float]] = []  # (top, bottom) of each statement's bars
    y = HEADER_H
    for s in sections:
        ax.text(fx(0.12), y + SECTION_H * 0.55, s.title, transform=at_fig_x, fontsize=11,
                fontweight="bold", color=INK, ha="left", va="center")
        ax.plot([fx(0.12), 1 - fx(0.12)], [y + SECTION_H * 0.95] * 2, color="#DDDDDD",
                lw=0.8, transform=at_fig_x, clip_on=False)
        y += SECTION_H
        for b in s.blocks:
            ax.text(fx(0.2), y + 0.02, b.text, transform=at_fig_x, fontsize=9.5, color=INK,
                    ha="left", va="top", linespacing=1.15, parse_math=False)
            y += b.text.count("\n") * LINE_H + LINE_H
            top_of_bars = y
            for r in b.rows:
                mid = y + BAR_H / 2
                y += BAR_H
                n = r.voters
                a, d, p = _pct(r.agree, n), _pct(r.disagree, n), _pct(r.passes, n)
                ax.text(fx(LEFT_IN - 0.06), mid, r.label, transform=at_fig_x, fontsize=9,
                        color=MUTED, ha="right", va="center", parse_math=False)
                # a share of a handful of people says little: pale bars, counts not shares
                few = 0 < n < FEW_VOTERS
                for key, value in (("y", mid), ("agree", a), ("disagree", -d), ("pass", p),
                                   ("alpha", 0.35 if few else 1.0)):
                    bars[key].append(value)
                if n == 0:
                    ax.text(3, mid, "no votes", fontsize=9, color=MUTED, va="center")
                    continue

                def label(share: float, count: int, n: int = n, few: bool = few) -> str:
                    return f"{count} of {n}" if few else f"{share:.0f} %"

                if a >= 0.5:
                    ax.text(a + 2, mid, label(a, r.agree), fontsize=9, color=INK, ha="left",
                            va="center")
                if d >= 0.5:
                    ax.text(-d - 2, mid, label(d, r.disagree), fontsize=9, color=INK,
                            ha="right", va="center")
                if pax is not None:
                    pax.text(p + 4, mid, label(p, r.passes), fontsize=9, color=INK, ha="left",
                             va="center")
            centre.append((top_of_bars, y))
            y += BLOCK_GAP
    # one call per kind of mark (a call per bar made the chart ~30 % slower)
    h = BAR_H * 0.78
    for key, colour, axis in (("agree", AGREE, ax), ("disagree", DISAGREE, ax),
                              ("pass", PASS, pax)):
        if axis is not None:
            axis.barh(bars["y"], bars[key], left=0, height=h,
                      color=[to_rgba(colour, alpha) for alpha in bars["alpha"]])
    tops, bottoms = [t for t, _ in centre], [b for _, b in centre]
    for x in (-100, -50, 50, 100):
        ax.vlines([x] * len(centre), tops, bottoms, color="#E6E6E6", lw=0.6, zorder=0)
    ax.vlines([0] * len(centre), tops, bottoms, color=INK, lw=1.0)
    if pax is not None:
        pax.vlines([0] * len(centre), tops, bottoms, color=INK, lw=1.0)


def _draw_activity(fig, per_day: list[tuple[date, int]], top: float, height, fx, fy,
                   MaxNLocator) -> None:
    import matplotlib.dates as mdates

    bottom = height - top - ACTIVITY_TITLE_H - ACTIVITY_AX_H
    fig.text(fx(0.12), 1 - fy(top + ACTIVITY_TITLE_H * 0.45), "Comments per day", fontsize=11,
             fontweight="bold", color=INK, ha="left", va="center")
    ax = fig.add_axes((fx(0.62), fy(bottom), fx(WIDTH_IN - 0.62 - 0.3), fy(ACTIVITY_AX_H)))
    days = [d for d, _ in per_day]
    counts = [n for _, n in per_day]
    span = (days[-1] - days[0]).days + 1
    ax.bar(days, counts, width=0.8 if span <= 60 else 1.0, color=ACTIVITY,
           edgecolor="none", align="center")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    # at most 6 ticks on whole days, "2 Nov"; the year on the first and where it changes
    step = max(1, math.ceil(span / 6))
    ticks = [date.fromordinal(o) for o in range(days[0].toordinal(), days[-1].toordinal() + 1,
                                                 step)]
    ax.set_xticks([mdates.date2num(d) for d in ticks])
    ax.set_xticklabels([f"{d.day} {d:%b}" + (f" {d.year}" if i == 0 or d.year != ticks[i - 1].year
                                             else "") for i, d in enumerate(ticks)])
    pad = max(1.0, span * 0.02)
    ax.set_xlim(mdates.date2num(days[0]) - pad, mdates.date2num(days[-1]) + pad)
    ax.set_ylim(0, max(counts) * 1.18 + 0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5, colors=MUTED)
    ax.grid(axis="y", color="#E6E6E6", lw=0.6)
    ax.set_axisbelow(True)
    peak = max(range(len(counts)), key=lambda i: (counts[i], days[i]))
    ax.annotate(f"busiest: {days[peak].day} {days[peak]:%b} ({counts[peak]:,})",
                (mdates.date2num(days[peak]), counts[peak]), xytext=(0, 3),
                textcoords="offset points", ha="center" if 0.15 < peak / max(1, len(days) - 1) < 0.85
                else ("left" if peak / max(1, len(days) - 1) <= 0.15 else "right"),
                va="bottom", fontsize=9, color=INK)


# --- the overview: what an embed shows in place --------------------------------------------
#
# Discord draws an embed's image at most about 400 x 300 px on desktop. The full chart
# (tall, with a row per opinion group) is a thumbnail there; the overview is drawn for
# that box: 4:3, three times its size, one row per statement, its text 7-13 px there.
# Drawn with Pillow (shapes and text only): a tenth of the time matplotlib takes for it,
# in the same font (DejaVu Sans, from matplotlib's own files).

OVERVIEW_SIZE = (1200, 900)  # px
OVERVIEW_SECTIONS = (("Most agreed", "consensus"), ("Most divisive", "divisive"),
                     ("Most rejected", "rejected"))
_PX = DPI / 72  # points to pixels, as the full chart sizes its text


@dataclass(frozen=True)
class OverviewText:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in px
    xy: tuple[float, float]
    anchor: str
    size: int
    bold: bool
    colour: str


@dataclass
class OverviewLayout:
    """What the overview draws, where: texts with their boxes, and bars."""

    texts: list[OverviewText] = field(default_factory=list)
    rects: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)
    lines: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)


def overview_rows(summary: DiscussionSummary, per_section: int = 2
                  ) -> list[tuple[str, list[StatementView]]]:
    """The overview's sections: the summary's own top statements of each kind, everyone's
    votes only (the groups are in the full chart). Empty sections are left out."""
    o = summary.opinion
    if o is None:
        return []
    return [(title, views[:per_section]) for title, attr in OVERVIEW_SECTIONS
            if (views := getattr(o, attr))]


def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    return _fonts(size, bold, ImageFont)


_FONT_CACHE: dict[tuple[int, bool], object] = {}


def _fonts(size: int, bold: bool, ImageFont):  # noqa: N803  (the module, passed in)
    key = (size, bold)
    if key not in _FONT_CACHE:
        from pathlib import Path

        import matplotlib

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        _FONT_CACHE[key] = ImageFont.truetype(
            str(folder / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)
    return _FONT_CACHE[key]


def _fit_lines(text: str, font, width: float, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines no wider than ``width`` px, cut at a word (at a
    character for text without spaces, like Chinese) with an ellipsis on the last."""
    words = " ".join(text.replace("\u200b", "").split())
    spaced = " " in words
    joiner = " " if spaced else ""
    out: list[str] = []
    current = ""
    for token in words.split(" ") if spaced else list(words):
        trial = f"{current}{joiner}{token}" if current else token
        if font.getlength(trial) <= width:
            current = trial
            continue
        if current:
            out.append(current)
        while len(token) > 1 and font.getlength(token) > width:  # wider than a line
            cut = len(token) - 1
            while cut > 1 and font.getlength(token[:cut]) > width:
                cut -= 1
            out.append(token[:cut])
            token = token[cut:]
        current = token
    if current:
        out.append(current)
    if len(out) <= lines:
        return out
    kept = out[:lines]
    last = kept[-1].rstrip(" ,;:.")
    while last and font.getlength(last + "…") > width:  # a word less (a character)
        last = (last.rsplit(" ", 1)[0] if spaced and " " in last else last[:-1]).rstrip(" ,;:.")
    kept[-1] = last + "…"
    return kept


def overview_layout(topic_title: str, summary: DiscussionSummary) -> OverviewLayout | None:
    """Where everything goes (None when no statement has votes to show): the topic, its
    totals, then for each kind of statement (agreed, divisive, rejected) up to two, each
    a line or two of text beside a bar of how its voters split (disagree on the left,
    pass, agree on the right, as in the full chart)."""
    sections = overview_rows(summary)
    o = summary.opinion
    if not sections or o is None:
        return None
    from PIL import Image, ImageDraw

    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    out = OverviewLayout()

    def text(xy, value, size_pt, *, bold=False, colour=INK, anchor="lm"):
        size = round(size_pt * _PX)
        font = _font(size, bold)
        box = measure.textbbox(xy, value, font=font, anchor=anchor)
        out.texts.append(OverviewText(value, tuple(round(v) for v in box), xy, anchor, size,
                                      bold, colour))

    W, H = OVERVIEW_SIZE
    margin = 35
    title_font = _font(round(17 * _PX), True)
    title = (_fit_lines(topic_title, title_font, W - 2 * margin, lines=1) or [""])[0]
    text((margin, 48), title, 17, bold=True)
    people = f" · {o.voters:,} people" if o.groups else ""
    groups = f" · {len(o.groups)} opinion groups" if o.groups else ""
    text((margin, 109), f"{_n(o.votes, 'vote')}{people} · {_n(o.statements, 'statement')}"
         f"{groups}", 12.5, colour=MUTED)

    bar_left, bar_right = 712, W - margin  # the bars' column
    span = bar_right - bar_left
    passed = any(v.passes for _, views in sections for v in views)  # "pass" only then
    legend = [((bar_left, 173), "\u25c0 disagree", DISAGREE, "lm"),
              ((bar_left + span / 2, 173), "pass", MUTED, "mm"),
              ((bar_right, 173), "agree \u25b6", AGREE, "rm")]
    for xy, value, colour, anchor in legend if passed else legend[::2]:
        text(xy, value, 12.5, bold=True, colour=colour, anchor=anchor)

    rows = sum(len(views) for _, views in sections)
    top, header_h = 216, 67
    row_h = min(125, (H - top - 24 - header_h * len(sections)) / max(rows, 1))
    bar_h = min(54, row_h * 0.5)
    statement_font = _font(round(12.5 * _PX))
    column = bar_left - 20 - (margin + 8)
    y = top
    for title_text, views in sections:
        text((margin, y + header_h * 0.5), title_text, 14, bold=True)
        out.lines.append(((margin, y + header_h * 0.92, W - margin, y + header_h * 0.92),
                          "#DDDDDD"))
        y += header_h
        for v in views:
            mid = y + row_h / 2
            lines = _fit_lines(v.excerpt, statement_font, column)
            step = statement_font.size * 1.15
            for k, line in enumerate(lines):
                text((margin + 8, mid + (k - (len(lines) - 1) / 2) * step), line, 12.5)
            n = v.agree + v.disagree + v.passes
            pale = 0 < n < FEW_VOTERS  # a share of a handful says little: pale bars
            d, p, a = _pct(v.disagree, n), _pct(v.passes, n), _pct(v.agree, n)
            bar_mid = mid - 6
            x = bar_left
            for share, colour in ((d, DISAGREE), (p, PASS), (a, AGREE)):
                w = span * share / 100
                if w > 0:
                    out.rects.append(((x, bar_mid - bar_h / 2, x + w, bar_mid + bar_h / 2),
                                      _paler(colour) if pale else colour))
                if share >= 14 and colour != PASS:
                    text((x + w / 2, bar_mid), f"{share:.0f} %", 12.5, bold=True,
                         colour="#FFFFFF", anchor="mm")
                x += w
            text((bar_right, mid + row_h * 0.36), f"{n:,} voted", 10, colour=MUTED,
                 anchor="rm")
            y += row_h
    return out


def _paler(colour: str) -> str:
    """``colour`` at 35 % over white."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - 0.35 * (255 - c)):02X}" for c in (r, g, b))


def render_summary_overview(topic_title: str, summary: DiscussionSummary) -> bytes | None:
    """The overview PNG (1200 x 900), or None when no statement has votes to show."""
    layout = overview_layout(topic_title, summary)
    if layout is None:
        return None
    from PIL import Image, ImageDraw

    image = Image.new("RGB", OVERVIEW_SIZE, "white")
    draw = ImageDraw.Draw(image)
    for box, colour in layout.lines:
        draw.line(box, fill=colour, width=1)
    for box, colour in layout.rects:
        draw.rectangle(box, fill=colour)
    for t in layout.texts:
        draw.text(t.xy, t.text, font=_font(t.size, t.bold), fill=t.colour, anchor=t.anchor)
    buf = io.BytesIO()
    image.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(
        buf, format="PNG", compress_level=6)
    return buf.getvalue()
