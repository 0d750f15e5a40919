"""Pictures of a summary: how people voted on its top statements, and activity per day.

Two of them: the full chart (below), attached beside the report; and the overview (at the
end of this module), the embed's image, drawn for the ~400 x 300 px box Discord shows it in.

Pure core (laid out here, painted with Pillow; no Discord), so it is safe to run in a
worker thread.

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

The full chart is 6 inches wide at 160 dpi (960 px), the layout's unit; text sizes are in
points at that density (10 pt = 22 px).
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
import unicodedata
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
    "Drawing",
    "DrawnText",
    "chart_layout",
    "overview_layout",
    "overview_rows",
    "render_summary_chart",
    "render_summary_overview",
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


# --- drawing: what goes where, then painted with Pillow ------------------------------------
#
# Both pictures are shapes and text only, so they are laid out first (every text with its
# box, every bar and line: what the tests check) and then painted with Pillow, in DejaVu
# Sans from matplotlib's own files. matplotlib drew the full chart in ~0.5 s, most of it
# rendering its 107 texts glyph by glyph; Pillow paints it in a tenth of that.

_PX = DPI / 72  # points to pixels: text sizes are given in points at DPI


@dataclass(frozen=True)
class DrawnText:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in px
    xy: tuple[float, float]
    anchor: str  # Pillow's: "lm" = left, middle; "rt" = right, top; ...
    size: int  # px
    bold: bool
    colour: str
    kind: str = ""  # "xtick" for the activity's day labels (tests read them)


@dataclass
class Drawing:
    """What a picture draws, where (px from the top left): lines under the bars, bars,
    lines over them, texts."""

    size: tuple[int, int]
    texts: list[DrawnText] = field(default_factory=list)
    rects: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)
    lines: list[tuple[tuple[float, float, float, float], str, int]] = field(default_factory=list)
    over: list[tuple[tuple[float, float, float, float], str, int]] = field(default_factory=list)

    def text(self, xy: tuple[float, float], value: str, size_pt: float, *, bold: bool = False,
             colour: str = "", anchor: str = "lm", kind: str = "") -> DrawnText:
        size = round(size_pt * _PX)
        box = _measure().textbbox(xy, value, font=_font(size, bold), anchor=anchor)
        drawn = DrawnText(value, tuple(round(v) for v in box), xy, anchor, size, bold,
                          colour or INK, kind)
        self.texts.append(drawn)
        return drawn

    def png(self) -> bytes:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", self.size, "white")
        draw = ImageDraw.Draw(image)
        for xy, colour, width in self.lines:
            draw.line(xy, fill=colour, width=width)
        for box, colour in self.rects:
            if box[2] - box[0] >= 0.5:
                draw.rectangle(box, fill=colour)
        for xy, colour, width in self.over:
            draw.line(xy, fill=colour, width=width)
        for t in self.texts:
            draw.text(t.xy, t.text, font=_font(t.size, t.bold), fill=t.colour, anchor=t.anchor)
        buf = io.BytesIO()
        # a 128-colour palette (Pillow's fast octree): ~4x smaller than RGB, the same look
        # for flat colours and anti-aliased text
        image.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(
            buf, format="PNG", compress_level=6)
        return buf.getvalue()


@functools.cache
def _font(size: int, bold: bool = False):
    """DejaVu Sans (bold) at ``size`` px, from matplotlib's files (loaded once)."""
    from pathlib import Path

    import matplotlib
    from PIL import ImageFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return ImageFont.truetype(str(folder / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")),
                              size)


@functools.lru_cache(maxsize=1)
def _measure():
    """A scratch canvas whose only use is measuring text."""
    from PIL import Image, ImageDraw

    return ImageDraw.Draw(Image.new("RGB", (1, 1)))


def _in(inches: float) -> float:
    """Inches of the layout constants → px at DPI."""
    return inches * DPI


def _paler(colour: str) -> str:
    """``colour`` at 35 % over white (a share of a handful of voters says little)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - 0.35 * (255 - c)):02X}" for c in (r, g, b))


def render_summary_chart(topic_title: str, summary: DiscussionSummary) -> bytes | None:
    """The PNG for a summary, or None when a picture would show nothing the text does not:
    no statement with enough votes to judge, and comments on one day at most."""
    drawing = chart_layout(topic_title, summary)
    return drawing.png() if drawing is not None else None


_warm = False


def warm_up() -> None:
    """Load the drawing code and the fonts once per process (the map's matplotlib too),
    so that the first picture after a start costs what every later one does."""
    global _warm
    if _warm:
        return
    from bot.core import map_render

    map_render.warm_up()
    d = Drawing((40, 20))
    for size in (7.5, 8.5, 9, 9.5, 10, 10.5, 11, 12.5, 13, 14, 17):
        d.text((1, 10), "Aa 1 %", size)
        d.text((1, 10), "Aa 1 %", size, bold=True)
    d.png()
    _warm = True


# --- the full chart (attached beside the report) ------------------------------------------


def chart_layout(topic_title: str, summary: DiscussionSummary) -> Drawing | None:
    """The full chart, laid out (None when there is nothing to draw): the topic and its
    totals, the statements' bars, the activity per day and the footnote. Inches of the
    layout constants are converted at DPI."""
    sections = chart_sections(summary)
    per_day = summary.participation.per_day
    if not sections and len(per_day) < 2:
        return None  # no judged statement and at most one day: the text says it all
    o = summary.opinion
    title_lines = textwrap.wrap(" ".join(topic_title.split()), 52) or [""]
    if len(title_lines) > 2:
        title_lines = [title_lines[0], textwrap.shorten(" ".join(title_lines[1:]), 50,
                                                        placeholder="…")]
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

    d = Drawing((round(_in(WIDTH_IN)), round(_in(height))))
    for n, line in enumerate(title_lines):
        d.text((_in(0.12), _in(0.14 + 0.25 * n)), line, 13, bold=True, anchor="lt")
    for n, line in enumerate(sub):
        d.text((_in(0.12), _in(0.2 + title_h + 0.2 * n)), line, 9.5, colour=MUTED, anchor="lt")
    if sections:
        _lay_statements(d, sections, top_h, with_pass)
    if one_day:
        (day, n), = per_day
        d.text((_in(0.12), _in(top_h + stmt_h + ACTIVITY_TITLE_H * 0.45)),
               f"Comments: {'all ' if n > 1 else ''}{n:,} on {day.day} {day:%B %Y}.", 10.5)
    elif per_day:
        _lay_activity(d, per_day, top_h + stmt_h)
    if sections:
        few = any(0 < r.voters < FEW_VOTERS for s in sections for b in s.blocks for r in b.rows)
        note = FOOTNOTE.format(passed="; the pass column: those who passed" if with_pass else "",
                               few=f" Pale: fewer than {FEW_VOTERS} voters, shown as counts."
                               if few else "")
        first, second = note.split("\n")
        step = 7.5 * _PX * 1.3
        d.text((_in(0.12), d.size[1] - _in(0.1) - step), first, 7.5, colour=MUTED, anchor="ls")
        d.text((_in(0.12), d.size[1] - _in(0.1)), second, 7.5, colour=MUTED, anchor="ls")
    return d


def _lay_statements(d: Drawing, sections: list[ChartSection], top_h: float,
                    with_pass: bool) -> None:
    """The statements part: diverging bars (disagree to the left of the centre line, agree
    to the right) and, when someone passed, a pass column; without any pass vote among
    them (Discord reactions have no "pass") no such column: a column of zeros is noise."""
    left, right = LEFT_IN, WIDTH_IN - RIGHT_IN - (PASS_IN if with_pass else 0.3)
    x = lambda v: _in(left + (v + 128) / 256 * (right - left))  # noqa: E731  (share → px)
    px = lambda v: _in(right + 0.08 + v / 150 * (PASS_IN - 0.08))  # noqa: E731
    top = lambda y: _in(top_h + y)  # noqa: E731  (inches below the statements' top → px)
    y = HEADER_H * 0.55  # the header: the colours are the legend
    d.text((x(-6), top(y)), "\u25c0 disagree", 10, bold=True, colour=DISAGREE, anchor="rm")
    d.text((x(6), top(y)), "agree \u25b6", 10, bold=True, colour=AGREE, anchor="lm")
    if with_pass:
        d.text((px(4), top(y)), "pass", 10, bold=True, colour=MUTED, anchor="lm")
    y = HEADER_H
    for s in sections:
        d.text((_in(0.12), top(y + SECTION_H * 0.55)), s.title, 11, bold=True)
        d.lines.append(((_in(0.12), top(y + SECTION_H * 0.95), _in(WIDTH_IN - 0.12),
                         top(y + SECTION_H * 0.95)), "#DDDDDD", 1))
        y += SECTION_H
        for b in s.blocks:
            for n, line in enumerate(b.text.split("\n")):
                d.text((_in(0.2), top(y + 0.02 + n * LINE_H)), line, 9.5, anchor="lt")
            y += b.text.count("\n") * LINE_H + LINE_H
            first = y
            for r in b.rows:
                mid = y + BAR_H / 2
                y += BAR_H
                n = r.voters
                a, dis, p = _pct(r.agree, n), _pct(r.disagree, n), _pct(r.passes, n)
                d.text((_in(LEFT_IN - 0.06), top(mid)), r.label, 9, colour=MUTED, anchor="rm")
                few = 0 < n < FEW_VOTERS  # a share of a handful: pale, counts not shares
                h = _in(BAR_H * 0.78) / 2
                for x0, x1, colour in ((x(0), x(a), AGREE), (x(-dis), x(0), DISAGREE),
                                       *(((px(0), px(p), PASS),) if with_pass else ())):
                    d.rects.append(((x0, top(mid) - h, x1, top(mid) + h),
                                    _paler(colour) if few else colour))
                if n == 0:
                    d.text((x(3), top(mid)), "no votes", 9, colour=MUTED)
                    continue

                def label(share: float, count: int, n: int = n, few: bool = few) -> str:
                    return f"{count} of {n}" if few else f"{share:.0f} %"

                if a >= 0.5:
                    d.text((x(a + 2), top(mid)), label(a, r.agree), 9)
                if dis >= 0.5:
                    d.text((x(-dis - 2), top(mid)), label(dis, r.disagree), 9, anchor="rm")
                if with_pass:
                    d.text((px(p + 4), top(mid)), label(p, r.passes), 9)
            for v in (-100, -50, 50, 100):
                d.lines.append(((x(v), top(first), x(v), top(y)), "#E6E6E6", 1))
            d.over.append(((x(0), top(first), x(0), top(y)), INK, 2))
            if with_pass:
                d.over.append(((px(0), top(first), px(0), top(y)), INK, 2))
            y += BLOCK_GAP


def _nice_step(top: float, bins: int = 4) -> int:
    """A whole step of 1, 2 or 5 times a power of ten with at most ``bins`` steps to
    ``top`` (the y axis' ticks)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if math.ceil(top / (step * m)) <= bins:
                return step * m
        step *= 10


def _lay_activity(d: Drawing, per_day: list[tuple[date, int]], top_in: float) -> None:
    """Comments per day: a bar per day, at most 6 day labels ("2 Nov", the year on the
    first and where it changes), whole-number counts, the busiest day named."""
    d.text((_in(0.12), _in(top_in + ACTIVITY_TITLE_H * 0.45)), "Comments per day", 11, bold=True)
    x0, x1 = _in(0.62), _in(WIDTH_IN - 0.3)
    y0 = _in(top_in + ACTIVITY_TITLE_H)
    y1 = y0 + _in(ACTIVITY_AX_H)
    days = [day.toordinal() for day, _ in per_day]
    counts = [n for _, n in per_day]
    span = days[-1] - days[0] + 1
    pad = max(1.0, span * 0.02)
    lo, hi = days[0] - pad, days[-1] + pad
    ymax = max(counts) * 1.18 + 0.5
    x = lambda o: x0 + (o - lo) / (hi - lo) * (x1 - x0)  # noqa: E731
    y = lambda v: y1 - v / ymax * (y1 - y0)  # noqa: E731
    step = _nice_step(max(counts))
    for v in range(0, int(ymax) + 1, step):
        d.lines.append(((x0, y(v), x1, y(v)), "#E6E6E6", 1))
        d.lines.append(((x0 - 6, y(v), x0, y(v)), INK, 1))
        d.text((x0 - 10, y(v)), f"{v:,}", 8.5, colour=MUTED, anchor="rm")
    width = 0.8 if span <= 60 else 1.0
    for o, n in zip(days, counts, strict=True):
        d.rects.append(((x(o - width / 2), y(n), x(o + width / 2), y1), ACTIVITY))
    d.over.append(((x0, y0, x0, y1), INK, 1))  # the axes: left and bottom
    d.over.append(((x0, y1, x1, y1), INK, 1))
    every = max(1, math.ceil(span / 6))
    ticks = [date.fromordinal(o) for o in range(days[0], days[-1] + 1, every)]
    for n, day in enumerate(ticks):
        label = f"{day.day} {day:%b}" + (f" {day.year}" if n == 0 or day.year != ticks[n - 1].year
                                         else "")
        d.over.append(((x(day.toordinal()), y1, x(day.toordinal()), y1 + 6), INK, 1))
        d.text((x(day.toordinal()), y1 + 10), label, 8.5, colour=MUTED, anchor="mt",
               kind="xtick")
    peak = max(range(len(counts)), key=lambda k: (counts[k], days[k]))
    where = peak / max(1, len(days) - 1)
    anchor = "mb" if 0.15 < where < 0.85 else ("lb" if where <= 0.15 else "rb")
    d.text((x(days[peak]), y(counts[peak]) - 6),
           f"busiest: {per_day[peak][0].day} {per_day[peak][0]:%b} ({counts[peak]:,})", 9,
           anchor=anchor)


# --- the overview: what an embed shows in place --------------------------------------------
#
# Discord draws an embed's image at most about 400 x 300 px on desktop. The full chart
# (tall, with a row per opinion group) is a thumbnail there; the overview is drawn for
# that box: 4:3, three times its size, one row per statement, its text 7-13 px there.

OVERVIEW_SIZE = (1200, 900)  # px
OVERVIEW_SECTIONS = (("Most agreed", "consensus"), ("Most divisive", "divisive"),
                     ("Most rejected", "rejected"))


def overview_rows(summary: DiscussionSummary, per_section: int = 2
                  ) -> list[tuple[str, list[StatementView]]]:
    """The overview's sections: the summary's own top statements of each kind, everyone's
    votes only (the groups are in the full chart). Empty sections are left out."""
    o = summary.opinion
    if o is None:
        return []
    return [(title, views[:per_section]) for title, attr in OVERVIEW_SECTIONS
            if (views := getattr(o, attr))]


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


def overview_layout(topic_title: str, summary: DiscussionSummary) -> Drawing | None:
    """Where everything goes (None when no statement has votes to show): the topic, its
    totals, then for each kind of statement (agreed, divisive, rejected) up to two, each
    a line or two of text beside a bar of how its voters split (disagree on the left,
    pass, agree on the right, as in the full chart)."""
    sections = overview_rows(summary)
    o = summary.opinion
    if not sections or o is None:
        return None
    out = Drawing(OVERVIEW_SIZE)
    text = out.text
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
                          "#DDDDDD", 1))
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


def render_summary_overview(topic_title: str, summary: DiscussionSummary) -> bytes | None:
    """The overview PNG (1200 x 900), or None when no statement has votes to show."""
    drawing = overview_layout(topic_title, summary)
    return drawing.png() if drawing is not None else None
