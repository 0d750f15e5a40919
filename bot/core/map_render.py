"""Drawing the related-topics map (pure core: matplotlib, no Discord, no storage).

The picture is laid out in points (1/72 inch), the unit of text and line widths, so the
layout knows how big each label is before it places anything:

1. each connected group of topics gets an abstract layout (Kamada-Kawai; the focus map a
   spring layout around its centre; the overview one node per community), turned so its
   long side lies flat;
2. each topic is a box holding its disc and its wrapped title beside it (a list entry);
   in groups of four or more the boxes are set on a table, each topic in the free cell
   nearest its place in the layout (an optimal assignment), so neighbours stay
   neighbours; smaller groups keep their layout and overlapping boxes are pushed apart
   along the line between them;
3. each label takes the free spot around its disc (beside, above, below, diagonal) that
   crosses the fewest lines; no label ever covers another label or another topic's disc;
4. the groups are packed side by side (largest first, the lowest free spot on a
   skyline), then the slack is taken out: every topic (disc and label together) slides
   left and up as far as it can without coming nearer another topic's marks than
   ``_NEED`` allows (a constraint-graph compaction that keeps the order of every two
   marks facing each other, so no overlap appears); labels then move to a free spot
   fewer lines run under (their own lines counting double) and the compaction runs
   again; the title (top left) and the legend (bottom left) are compacted with the
   drawing, so topics rise beside a short title and the legend rises into a ragged
   bottom edge.  The focus map keeps its star (no compaction);
5. a line that would pass under a topic it does not join is bent (the least bent arc
   that clears every other disc, preferring arcs that pass no label and stay inside
   the drawing), so it never seems to end there;
6. of the packing widths, the unlinked-topics block's column counts and the largest
   group's best table shapes, the arrangement with the largest canvas share wins: the
   union of the marks' bounding boxes (labels, discs, title, legend entries) and the
   lines' ribbons over the figure's area (:meth:`MapFigure.ink_mask`; estimated from
   the boxes, then measured on the best candidates' own geometry, lines routed), the
   figure sized to the drawing and at least as wide as Discord's preview.

Status is shown by colour and by a glyph in the disc: none for open, a padlock for
locked, a bar (as on a no-entry sign) for closed, so it reads without colour vision.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from bot.core.arrays import distinct

STATUS_COLOURS = {"open": "#2e9d57", "locked": "#d08c1a", "closed": "#8a8f98"}
STATUS_GLYPH_NAMES = {"locked": "padlock", "closed": "bar"}
GLYPH_COLOUR = "#1f1f1f"
KIND_STYLES = {  # colour, linestyle
    "hierarchy": ("#3b3b3b", "solid"),
    "agenda": ("#6b4fb3", "solid"),
    "cross-reference": ("#2f6fd0", "dashed"),
    "shared sources": ("#1d9a8a", "dotted"),
    "shared quotes": ("#c2571a", "dashdot"),
    "similar discussion": ("#b0b4bb", "solid"),
    "links between groups": ("#7d8591", "solid"),
}

#: What each kind of line means, in the legend's words.
KIND_LEGEND = {
    "hierarchy": "sub-topic of an item",
    "agenda": "related, says the agenda",
    "cross-reference": "discussions link each other",
    "shared sources": "cite the same sources",
    "shared quotes": "one quotes the other",
    "similar discussion": "similar words in comments",
    "links between groups": "links between groups",
}

DPI = 100
#: Labels: a white halo around the letters and a box that lets lines show through
#: faintly, so a line passing a label (a hub's) can be followed and the text still reads.
LABEL_BOX_ALPHA = 0.72
MIN_WIDTH_PX = 560  # never narrower than Discord's preview (~550 px): small maps are centred
GAP = 3.0  # points between a disc and its label, and around every label
CLEAR = 10.0  # points at least between a label and any other topic's disc (so it is clear
#              which disc a label names: its own is GAP away)
GROUP_MARGIN = 14.0  # points between packed groups
TARGET_ASPECT = 1.45  # width / height the packing aims for (Discord previews landscape)
KK_MAX = 25  # larger groups get a spring layout (fast), smaller ones Kamada-Kawai
SHAPE = 0.5  # cost of a table shape unlike the layout's (log of the aspect ratios)
MOVED = 1.5  # cost of moving nodes from their layout places (in cells), against the shape
SLACK = 0.5  # cost of an empty table cell, against the table's shape
RMIN, RMAX = 8.0, 22.0  # disc radii (points) of maps of up to 20 topics
TITLE_PT = 18.0  # the title, a size above the labels
SHAPES_TRIED = 4  # table shapes tried for the largest group of a small map
#: maps of up to RENDER_TRIED_NODES topics compact and measure up to SMALL_TRIED candidate
#: arrangements (all, in practice); larger ones compact the COMPACTED best estimates and
#: route and measure the RENDERS_TRIED best of those
RENDER_TRIED_NODES, RENDERS_TRIED = 20, 3
MAX_TRIED_NODES = 80  # maps this small try several arrangements and keep the fullest
FRAME_CLEAR = 8.0  # points between the title or the legend and the drawing
SMALL_TRIED = 40
COMPACTED = 4
SPREAD = 0.9  # nearest-neighbour distance, in typical node boxes, before overlap removal


@dataclass
class MapNode:
    """One disc of the picture: a topic, or a community in the overview."""

    label: str
    size: float  # activity (comments)
    status: str = "open"
    focus: bool = False


@dataclass
class MapFigure:
    """The laid-out figure before it is saved: its label texts and node discs, for
    whoever wants to measure it (``node_circles`` is in display pixels)."""

    figure: object
    ax: object
    labels: dict = field(default_factory=dict)  # node -> matplotlib Text
    discs: dict = field(default_factory=dict)  # node -> matplotlib Circle
    edges: list = field(default_factory=list)  # (a, b) per edge, as drawn
    lines: list = field(default_factory=list)  # (polyline in data units, width in points)
    glyphs: dict = field(default_factory=dict)  # status -> (nodes, their glyphs' collection)
    message: object = None  # the Text saying there is nothing to draw, if so

    def ink_mask(self) -> np.ndarray:
        """The canvas share's ink (rows x columns of the PNG, True where a mark is): the
        union of the bounding boxes of every label (``Text.get_window_extent``), every
        disc (outline included), the title, each legend entry (its text and its handle)
        and the "nothing to draw" message, and each line's own ribbon (the drawn path,
        as wide as its stroke).  A line's ribbon and not its bounding box: a diagonal
        line's box is mostly empty paper."""
        from PIL import Image, ImageDraw

        self.figure.draw_without_rendering()  # lays out the legend; no pixels
        renderer = self.figure.canvas.get_renderer()
        w, h = self.figure.canvas.get_width_height()
        img = Image.new("1", (w, h), 0)
        draw = ImageDraw.Draw(img)

        def box(x0, y0, x1, y1):  # display pixels, y up
            draw.rectangle((x0, h - y1, x1 - 1, h - y0 - 1), fill=1)

        texts = [*self.labels.values(), *self.figure.texts]
        for t in texts:
            if t.get_visible() and t.get_text():
                box(*t.get_window_extent(renderer).extents)
        for x, y, r in self.node_circles().values():
            box(x - r, y - r, x + r, y + r)
        for leg in self.figure.legends:
            fs = leg._fontsize * DPI / 72
            lead = (leg.handlelength + leg.handletextpad) * fs
            for t in leg.get_texts():
                x0, y0, x1, y1 = t.get_window_extent(renderer).extents
                box(x0 - lead, y0, x1, y1)
        for path, lw in self.lines:
            xy = self.ax.transData.transform(path)
            draw.line([(float(x), float(h - y)) for x, y in xy],
                      fill=1, width=max(1, round(lw * DPI / 72)), joint="curve")
        return np.asarray(img, dtype=bool)

    def canvas_share(self) -> float:
        """Share of the canvas the drawing uses: :meth:`ink_mask` over the figure's area."""
        return float(self.ink_mask().mean())

    def node_circles(self) -> dict:
        """node -> (x, y, radius) of its disc, outline included, in display pixels."""
        out = {}
        to_px = self.ax.transData
        for v, c in self.discs.items():
            cx, cy = to_px.transform(c.center)
            ex, _ = to_px.transform((c.center[0] + c.radius, c.center[1]))
            out[v] = (float(cx), float(cy), float(ex - cx) + c.get_linewidth() * DPI / 144)
        return out

    def png(self) -> bytes:
        buf = io.BytesIO()
        # the figure is already sized to the drawing, title and legend: no crop pass
        self.figure.savefig(buf, format="png", dpi=DPI)
        return buf.getvalue()


# --------------------------------------------------------------------------- glyphs


def _glyph_paths() -> dict:
    from matplotlib.path import Path

    t = np.linspace(0, math.pi, 16)
    outer = np.c_[0.30 * np.cos(t), 0.12 + 0.30 * np.sin(t)]
    inner = np.c_[0.17 * np.cos(t[::-1]), 0.12 + 0.17 * np.sin(t[::-1])]
    shackle = np.vstack([outer, [[-0.30, 0.0], [-0.17, 0.0]], inner, [[0.17, 0.0], [0.30, 0.0]],
                         outer[:1]])
    body = np.array([[-0.45, -0.5], [0.45, -0.5], [0.45, 0.12], [-0.45, 0.12], [-0.45, -0.5]])
    padlock = Path.make_compound_path(Path(shackle, closed=True), Path(body, closed=True))
    bar = Path(np.array([[-0.5, -0.16], [0.5, -0.16], [0.5, 0.16], [-0.5, 0.16], [-0.5, -0.16]]),
               closed=True)
    return {"locked": padlock, "closed": bar}


# --------------------------------------------------------------------------- layout


def abstract_layout(G: nx.Graph, center=None, seed: int = 0) -> list[dict]:
    """One position dict per connected group (the focus map is one group)."""
    if center is not None:
        others = [n for n in G.nodes if n != center]
        if not others:
            return [{center: np.zeros(2)}]
        pos = nx.shell_layout(G, nlist=[[center], others])
        pos = nx.spring_layout(G, pos=pos, fixed=[center], seed=seed,
                               k=1.6 / math.sqrt(len(G)), iterations=40, weight=None)
        return [pos]
    groups = []
    comps = sorted((sorted(c) for c in nx.connected_components(G)), key=lambda c: (-len(c), c))
    for comp in comps:
        if len(comp) == 1:
            groups.append({comp[0]: np.zeros(2)})
        elif len(comp) == 2:
            groups.append({comp[0]: np.array([-0.5, 0.0]), comp[1]: np.array([0.5, 0.0])})
        elif len(comp) <= KK_MAX:
            groups.append(nx.kamada_kawai_layout(G.subgraph(comp), weight=None))
        else:  # Kamada-Kawai's O(n²) solver takes seconds here; the table needs rough places
            sub = G.subgraph(comp)
            groups.append(nx.spring_layout(sub, seed=seed, iterations=80, weight=None,
                                           k=2.0 / math.sqrt(len(comp))))
    return groups


def _flatten(xy: np.ndarray) -> np.ndarray:
    """Turn a layout so its long side is horizontal (principal axes)."""
    c = xy - xy.mean(axis=0)
    if len(c) < 2:
        return c
    _, vecs = np.linalg.eigh(np.cov(c.T))
    out = c @ vecs[:, ::-1]
    if np.ptp(out[:, 0]) < np.ptp(out[:, 1]):
        out = out[:, ::-1]
    return out


def _separate(centres: np.ndarray, half: np.ndarray, iterations: int = 400) -> bool:
    """Push overlapping boxes (centre ± half) apart along the line between their centres,
    just as far as it takes for them to touch (as Graphviz's overlap removal does), so the
    layout keeps its shape; ``centres`` moves in place.  True when no overlap is left."""
    n = len(centres)
    if n < 2:
        return True
    idx = np.arange(n)
    tie = np.sign(idx[:, None] - idx[None, :]).astype(float)
    for _ in range(iterations):
        dx = centres[:, 0][:, None] - centres[:, 0][None, :]
        dy = centres[:, 1][:, None] - centres[:, 1][None, :]
        wx = half[:, 0][:, None] + half[:, 0][None, :]
        wy = half[:, 1][:, None] + half[:, 1][None, :]
        hit = (wx - np.abs(dx) > 1e-6) & (wy - np.abs(dy) > 1e-6)
        np.fill_diagonal(hit, False)
        if not hit.any():
            return True
        same = hit & (np.abs(dx) < 1e-9) & (np.abs(dy) < 1e-9)
        dx = np.where(same, tie * 1e-3, dx)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.minimum(wx / np.abs(dx), wy / np.abs(dy))
        t = np.where(hit, np.minimum(t, 50.0) - 1.0, 0.0) * 0.5 * 1.02
        centres[:, 0] += (t * dx).sum(axis=1) / np.maximum(1, hit.sum(axis=1)) ** 0.5
        centres[:, 1] += (t * dy).sum(axis=1) / np.maximum(1, hit.sum(axis=1)) ** 0.5
    return False


def _grid(xy: np.ndarray, half: np.ndarray, weight: np.ndarray, rank: int = 0) -> np.ndarray | None:
    """Box centres on a table: each node takes the free cell nearest its place in the
    layout (an optimal assignment), each column as wide as its widest box, each row as
    tall as its tallest.  Of the table shapes near the layout's own aspect, the one whose
    assignment moves the nodes least wins; ``weight`` (1 + degree) makes moving a hub
    cost more, so a star's hub keeps the middle.  ``rank``: the table shape that many
    places down that order instead (None when there is none)."""
    from scipy.optimize import linear_sum_assignment

    n = len(xy)
    span = np.maximum(np.ptp(xy, axis=0), 1e-9)
    unit = (xy - xy.min(axis=0)) / span
    unit[:, 1] = 1 - unit[:, 1]  # row 0 at the top
    bw, bh = float(np.mean(2 * half[:, 0])), float(np.mean(2 * half[:, 1]))
    want = min(max(span[0] / span[1], 0.8), 2.0)  # neither a long strip nor a tower
    tried = []
    for cols in range(1, n + 1):
        rows = -(-n // cols)
        if cols * rows - n >= max(cols, rows):
            continue
        shape = abs(math.log(cols * bw / (rows * bh) / want))
        if shape > 0.9:
            continue
        cx = np.tile(np.arange(cols), rows)
        cy = np.repeat(np.arange(rows), cols)
        cells_xy = np.c_[(cx + 0.5) / cols, (cy + 0.5) / rows]
        cost = ((unit[:, None, :] - cells_xy[None, :, :]) ** 2).sum(-1) * weight[:, None]
        nodes, cells = linear_sum_assignment(cost)
        moved = math.sqrt(float(cost[nodes, cells].sum() / weight.sum()) * n)
        score = SHAPE * shape + SLACK * (cols * rows - n) / n + MOVED * moved
        tried.append((score, cols, nodes, cx[cells], cy[cells], rows))
    tried.sort(key=lambda t: (t[0], t[1]))
    if rank and rank >= len(tried):
        return None
    if not tried:  # no shape near the layout's: one row
        return np.c_[np.cumsum(2 * half[:, 0]) - half[:, 0], np.zeros(n)]
    best = tried[rank]
    best = (best[0], best[2], best[3], best[4], best[1], best[5])
    _, nodes, ccol, crow, cols, rows = best
    col_of, row_of = np.empty(n, int), np.empty(n, int)
    col_of[nodes], row_of[nodes] = ccol, crow
    colw = np.zeros(cols)
    rowh = np.zeros(rows)
    np.maximum.at(colw, col_of, 2 * half[:, 0])
    np.maximum.at(rowh, row_of, 2 * half[:, 1])
    colx = np.cumsum(colw) - colw / 2
    rowy = -(np.cumsum(rowh) - rowh / 2)
    return np.c_[colx[col_of], rowy[row_of]]


_BENDS = (0.0, 0.2, -0.2, 0.4, -0.4, 0.6, -0.6)


def _route(p: np.ndarray, q: np.ndarray, centres: np.ndarray, radii: np.ndarray,
           boxes: np.ndarray | None = None, extent: tuple | None = None,
           own: np.ndarray | None = None) -> np.ndarray:
    """The edge p→q as a polyline: straight when it passes no other disc, else the
    least bent arc (quadratic Bézier) that clears them, so a line never seems to run
    into a topic it does not join.  ``centres``/``radii``: the discs to keep clear of;
    ``boxes`` (k, 4: x0 y0 x1 y1): labels it had better not run under (a quarter of a
    disc's cost each; ``own``: the two ends' own labels, a disc's cost each, as a line
    through its own topic's label strikes it out); ``extent`` (X0, X1, Y0, Y1): an arc
    bulging out of it costs two discs and a half (it would make the picture bigger, not
    clearer)."""
    d = q - p
    length = float(np.hypot(*d)) or 1.0
    normal = np.array([-d[1], d[0]]) / length
    t = np.linspace(0.0, 1.0, 17)[None, :, None]
    bends = np.array(_BENDS)[:, None, None]
    ctrl = (p + q) / 2 + normal * bends * length  # (bends, 1, 2)
    pts = (1 - t) ** 2 * p + 2 * (1 - t) * t * ctrl + t**2 * q  # (bends, 17, 2)
    cost = np.zeros(len(_BENDS))
    if len(centres):
        a, b = pts[:, :-1], pts[:, 1:]
        ab = b - a
        ll = np.maximum((ab * ab).sum(-1), 1e-9)  # (bends, 16)
        rel = centres[None, :, None, :] - a[:, None]  # (bends, k, 16, 2)
        w = np.clip((rel * ab[:, None]).sum(-1) / ll[:, None], 0, 1)
        near = a[:, None] + w[..., None] * ab[:, None]
        dist = np.sqrt(((centres[None, :, None, :] - near) ** 2).sum(-1)).min(axis=2)
        cost += (dist < radii[None] + 2.0).sum(axis=1)
    inner = pts[:, 2:-2]
    for bx, weight in ((boxes, 0.25), (own, 1.0)):
        if bx is not None and len(bx):
            x, y = inner[:, None, :, 0], inner[:, None, :, 1]
            under = ((x > bx[None, :, None, 0]) & (x < bx[None, :, None, 2])
                     & (y > bx[None, :, None, 1]) & (y < bx[None, :, None, 3])).any(axis=2)
            cost += weight * under.sum(axis=1)
    if extent is not None:
        X0, X1, Y0, Y1 = extent
        out = ((pts[..., 0].min(axis=1) < X0) | (pts[..., 0].max(axis=1) > X1)
               | (pts[..., 1].min(axis=1) < Y0) | (pts[..., 1].max(axis=1) > Y1))
        out[np.array(_BENDS) == 0] = False
        cost += 2.5 * out
    return pts[int(np.argmin(cost))]  # the first of the cheapest: the least bent


def _segments_hit_box(seg: np.ndarray, box: tuple) -> int:
    """How many segments (k, 4: x1 y1 x2 y2) cross the box (x0, y0, x1, y1)."""
    if not len(seg):
        return 0
    x0, y0, x1, y1 = box
    px, py = seg[:, 0], seg[:, 1]
    dx, dy = seg[:, 2] - px, seg[:, 3] - py
    t0 = np.zeros(len(seg))
    t1 = np.ones(len(seg))
    ok = np.ones(len(seg), dtype=bool)
    for p, q in ((-dx, px - x0), (dx, x1 - px), (-dy, py - y0), (dy, y1 - py)):
        par = p == 0
        ok &= ~(par & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(par, 0.0, q / np.where(par, 1.0, p))
        t0 = np.where(~par & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~par & (p > 0), np.minimum(t1, r), t1)
    return int((ok & (t0 <= t1)).sum())


# Spots around a disc: (unit direction, horizontal and vertical alignment, preference cost)
_SPOTS_RIGHT = [
    ((1.0, 0.0), "left", "center", 0.0),
    ((-1.0, 0.0), "right", "center", 0.4),
    ((0.0, -1.0), "center", "top", 0.6),
    ((0.0, 1.0), "center", "bottom", 0.6),
    ((0.71, -0.71), "left", "top", 0.8),
    ((-0.71, -0.71), "right", "top", 0.8),
    ((0.71, 0.71), "left", "bottom", 0.9),
    ((-0.71, 0.71), "right", "bottom", 0.9),
]


def _spot_box(p, r: float, wh, spot) -> tuple:
    (ux, uy), ha, va, _ = spot
    ax_, ay = p[0] + (r + GAP) * ux, p[1] + (r + GAP) * uy
    w, h = wh
    x0 = ax_ if ha == "left" else ax_ - w if ha == "right" else ax_ - w / 2
    y0 = ay if va == "bottom" else ay - h if va == "top" else ay - h / 2
    return (x0, y0, x0 + w, y0 + h)


def _boxes_overlap(a, b, pad: float = GAP) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _box_hits_disc(b, p, r: float, pad: float = GAP) -> bool:
    dx = max(b[0] - p[0], 0.0, p[0] - b[2])
    dy = max(b[1] - p[1], 0.0, p[1] - b[3])
    return dx * dx + dy * dy < (r + pad) ** 2


def _place_group(nodes: list, xy: np.ndarray, radius: np.ndarray, wh: np.ndarray,
                 edges: list[tuple[int, int]], table: bool = True,
                 rank: int = 0) -> tuple[np.ndarray, list] | None:
    """Positions (points) and one label spot per node for one connected group; ``table``:
    set groups of 4+ on a table (else keep the layout's own shape); ``rank``: the table
    shape that many places down the preference order (None when there is none)."""
    n = len(nodes)
    xy = _flatten(xy)
    if n > 1:
        d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        nn = float(np.median(d.min(axis=1))) or 1.0
        cell = math.sqrt(float(np.mean((np.maximum(2 * radius, wh[:, 0]) + 2 * GAP)
                                       * (2 * radius + wh[:, 1] + 3 * GAP))))
        xy = xy * (SPREAD * cell / nn)
    # each node's box: its disc and its label beside it, a compact box that reads as a
    # list entry (labels below their discs leave the width of the label empty beside
    # each disc)
    half = np.c_[(2 * radius + GAP + wh[:, 0]) / 2, np.maximum(radius, wh[:, 1] / 2)] + CLEAR / 2
    shift = np.c_[(GAP + wh[:, 0]) / 2, np.zeros(n)]
    centres = xy + shift
    deg = np.bincount(np.array(edges, dtype=int).ravel(), minlength=n) if edges else np.zeros(n)
    if table and n >= 4:
        centres = _grid(centres, half, 1.0 + deg, rank)
        if centres is None:
            return None
    elif rank:
        return None
    for _ in range(8):
        if _separate(centres, half):
            break
        centres *= 1.15
    xy = centres - shift
    spot_list = _SPOTS_RIGHT
    seg = np.array([[*xy[a], *xy[b]] for a, b in edges]) if edges else np.zeros((0, 4))
    reserved = [_spot_box(xy[i], radius[i], wh[i], spot_list[0]) for i in range(n)]
    placed: dict[int, tuple] = {}
    spots: list = [None] * n
    # the most connected first: they have the most lines to avoid
    for i in sorted(range(n), key=lambda i: (-deg[i], -radius[i], i)):
        best = None
        for k, spot in enumerate(spot_list):
            box = reserved[i] if k == 0 else _spot_box(xy[i], radius[i], wh[i], spot)
            if any(_box_hits_disc(box, xy[j], radius[j], CLEAR - 0.5) for j in range(n) if j != i):
                continue
            if any(_boxes_overlap(box, b) for b in placed.values()):
                continue
            if k and any(_boxes_overlap(box, reserved[j]) for j in range(n)
                         if j != i and j not in placed):
                continue
            near = (box[0] - GAP, box[1] - GAP, box[2] + GAP, box[3] + GAP)
            cost = spot[3] + 1.5 * _segments_hit_box(seg, near)
            if best is None or cost < best[0]:
                best = (cost, k, box)
        if best is None:  # cannot happen once boxes are apart; keep the reserved spot
            best = (0.0, 0, reserved[i])
        placed[i] = best[2]
        spots[i] = (spot_list[best[1]], best[2])
    return xy, spots


def _list_block(laid: list, cols: int | None = None) -> list:
    """The topics linked to nothing, as one block of list entries in aligned columns,
    as wide as the widest group of linked topics (or near the target aspect when there
    is none), instead of loose pieces for the packing to scatter.  ``cols``: that many
    columns instead (a candidate arrangement); when the block is narrower than the
    widest group, its columns are spread out to the group's width."""
    lone = [g for g in laid if len(g[0]) == 1]
    if len(lone) < 2:
        return laid
    rest = [g for g in laid if len(g[0]) > 1]
    sizes = [(b[2] - b[0] + GROUP_MARGIN, b[3] - b[1] + GROUP_MARGIN) for *_, b in lone]
    widest = max((b[2] - b[0] for *_, b in rest), default=0.0)
    best = None
    for ncols in [cols] if cols else range(1, len(lone) + 1):
        colw = [max(w for w, _ in sizes[c::ncols]) for c in range(ncols)]
        rows = -(-len(lone) // ncols)
        rowh = [max(h for _, h in sizes[r * ncols:(r + 1) * ncols]) for r in range(rows)]
        width, height = sum(colw), sum(rowh)
        if widest:
            if width > widest + GROUP_MARGIN and best is not None:
                break
            score = width  # as wide as the groups above it, no wider
        else:
            score = -abs(math.log(width / height / TARGET_ASPECT))
        if best is None or score > best[0]:
            best = (score, ncols, colw, rowh)
    _, cols, colw, rowh = best
    spare = widest - (sum(colw) - GROUP_MARGIN)
    if cols > 1 and 0 < spare < 0.5 * widest:  # spread the columns to the groups' width
        colw = [w + spare / (cols - 1) for w in colw[:-1]] + colw[-1:]
    order, xys, spots = [], [], []
    for k, (o, xy, sp, (x0, _y0, _x1, y1)) in enumerate(lone):
        c, r = k % cols, k // cols
        shift = np.array([sum(colw[:c]) - x0, -sum(rowh[:r]) - y1])
        order += o
        xys.append(xy + shift)
        spots += [(spot, (box[0] + shift[0], box[1] + shift[1], box[2] + shift[0],
                          box[3] + shift[1])) for spot, box in sp]
    block = (0.0, -sum(rowh) + GROUP_MARGIN, sum(colw) - GROUP_MARGIN, 0.0)
    return [*rest, (order, np.vstack(xys), spots, block)]


def _skyline_pack(sizes: list[tuple[float, float]], width: float) -> tuple[list, float, float]:
    """Place boxes (w, h), in the order given, each at the lowest spot of a skyline of the
    given width (y grows downwards).  Returns offsets, used width and height."""
    sky = [(0.0, width, 0.0)]  # (x, width, top)
    out = []
    for w, h in sizes:
        best = None
        xs = sorted({s[0] for s in sky})
        for x in xs:
            if x + w > width + 1e-6 and x > 0:
                continue
            top = max((t for sx, sw, t in sky if sx < x + w - 1e-9 and sx + sw > x + 1e-9),
                      default=0.0)
            if best is None or (top, x) < (best[1], best[0]):
                best = (x, top)
        x, top = best
        out.append((x, top))
        new = []
        for sx, sw, t in sky:  # cut the covered span out of the skyline
            if sx < x:
                new.append((sx, min(sw, x - sx), t))
            if sx + sw > x + w:
                start = max(sx, x + w)
                new.append((start, sx + sw - start, t))
        new.append((x, w, top + h))
        sky = sorted(new)
    used_w = max((x + w for (x, _), (w, _) in zip(out, sizes, strict=True)), default=0.0)
    used_h = max((y + h for (_, y), (_, h) in zip(out, sizes, strict=True)), default=0.0)
    return out, used_w, used_h


def _pack(boxes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Offsets for the groups' boxes: the densest packing near the target aspect."""
    return _pack_options(boxes)[0]


def _pack_options(boxes: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Offsets for the groups' boxes, one list per packing width tried: the densest
    packing near the target aspect first, then the others (distinct ones only)."""
    if len(boxes) == 1:
        return [[(0.0, 0.0)]]
    sizes = [(w + GROUP_MARGIN, h + GROUP_MARGIN) for w, h in boxes]
    area = sum(w * h for w, h in sizes)
    lo = max(w for w, _ in sizes)
    hi = max(lo, sum(w for w, _ in sizes))
    scored = []
    for width in distinct(np.r_[np.linspace(lo, hi, 24), math.sqrt(area * TARGET_ASPECT)]):
        if width < lo:
            continue
        offs, uw, uh = _skyline_pack(sizes, float(width))
        fill = area / (uw * uh)
        aspect = uw / uh
        score = fill - 0.35 * abs(math.log(aspect / TARGET_ASPECT))
        if all(o != offs for _, o in scored):
            scored.append((score, offs))
    scored.sort(key=lambda so: -so[0])
    return [o for _, o in scored]


def _placed(laid: list, offsets: list) -> tuple[dict, dict]:
    """node -> centre, and node -> (label spot, label box's lower-left corner), for the
    groups moved to their packing offsets."""
    pos, spot_of = {}, {}
    for (order, xy, spots, (x0, _y0, _x1, y1)), (ox, oy) in zip(laid, offsets, strict=True):
        shift = np.array([ox - x0, -oy - y1])  # packing grows downwards
        for i, v in enumerate(order):
            pos[v] = xy[i] + shift
            spot, box = spots[i]
            spot_of[v] = (spot, (box[0] + shift[0], box[1] + shift[1]))
    return pos, spot_of


#: Least distance (points) the compaction keeps between marks of different units, by kind
_NEED = {("label", "label"): 4.0, ("disc", "disc"): 8.0, ("disc", "label"): 7.0,
         ("frame", "frame"): FRAME_CLEAR, ("disc", "frame"): FRAME_CLEAR,
         ("frame", "label"): FRAME_CLEAR}


def _compact_units(units: list[list[tuple]], rounds: int = 2) -> np.ndarray:
    """Take the slack out of an arrangement: each unit (a list of (x0, y0, x1, y1, kind)
    boxes that move together: a topic's disc and label, the title, the legend) slides
    left, then up, as far as it can without coming nearer any other unit's boxes than
    ``_NEED`` says (or than they are now, if nearer).  A constraint-graph compaction,
    one axis at a time: the left-right and top-bottom order of every two boxes that
    face each other is kept, so no overlap can appear.  Returns each unit's shift."""
    n = len(units)
    shift = np.zeros((n, 2))
    if n < 2:
        return shift
    node = np.array([k for k, u in enumerate(units) for _ in u])
    base = np.array([b[:4] for u in units for b in u], dtype=float)
    kinds = [b[4] for u in units for b in u]
    names = sorted(set(kinds))
    need_of = np.array([[_NEED[tuple(sorted((p, q)))] for q in names] for p in names])
    kid = np.array([names.index(k) for k in kinds])
    need = need_of[kid][:, kid]
    other = node[:, None] != node[None, :]
    for _ in range(rounds):
        for axis in (0, 1):
            it = base + np.c_[shift[node], shift[node]]
            o = 1 - axis
            lo, hi = it[:, o], it[:, o + 2]
            face = (lo[:, None] < hi[None, :] + need) & (lo[None, :] < hi[:, None] + need)
            if axis == 0:  # [i, j]: how far j's left edge is right of i's right edge
                start, end = it[:, 0], it[:, 2]
            else:  # measured downwards: [i, j]: how far j's top is below i's bottom
                start, end = -it[:, 3], -it[:, 1]
            sep = start[None, :] - end[:, None]
            before = face & other & (sep >= -1e-6)
            ii, jj = np.nonzero(before)
            if not len(ii):
                continue
            ref = np.full(n, np.inf)
            np.minimum.at(ref, node, start)
            w = (end[ii] - ref[node[ii]]) + np.minimum(need[ii, jj], np.maximum(sep[ii, jj], 0.0)) \
                - (start[jj] - ref[node[jj]])
            src, dst = node[ii], node[jj]
            new = np.full(n, float(ref.min()))
            for _k in range(n + 1):  # Bellman-Ford, longest paths (no positive cycles)
                cand = np.full(n, -np.inf)
                np.maximum.at(cand, dst, new[src] + w)
                nxt = np.maximum(new, cand)
                if np.allclose(nxt, new):
                    break
                new = nxt
            shift[:, axis] += (new - ref) if axis == 0 else -(new - ref)
    return shift


def _node_units(pos: dict, spot_of: dict, radius: dict, wh: dict) -> list[list[tuple]]:
    out = []
    for v in pos:
        (x, y), r = pos[v], radius[v]
        bx, by = spot_of[v][1]
        out.append([(x - r, y - r, x + r, y + r, "disc"),
                    (bx, by, bx + wh[v][0], by + wh[v][1], "label")])
    return out


def _shifted(pos: dict, spot_of: dict, shift: np.ndarray) -> tuple[dict, dict]:
    pos2, spot2 = {}, {}
    for (v, p), d in zip(pos.items(), shift, strict=False):
        pos2[v] = np.asarray(p, dtype=float) + d
        spot, (bx, by) = spot_of[v]
        spot2[v] = (spot, (bx + float(d[0]), by + float(d[1])))
    return pos2, spot2


def _compact(pos: dict, spot_of: dict, radius: dict, wh: dict) -> tuple[dict, dict]:
    """The topics' arrangement with its slack taken out (see :func:`_compact_units`)."""
    return _shifted(pos, spot_of, _compact_units(_node_units(pos, spot_of, radius, wh)))


def _relabel(pos: dict, spot_of: dict, radius: dict, wh: dict, edge_styles: list) -> dict:
    """After the compaction: each label moved to the free spot around its disc (beside,
    above, below, diagonal) that the fewest lines run under, its own topic's lines
    counting double (a line through its own label seems to end there), and that does
    not widen the drawing; a spot is free when it keeps the compaction's distances from
    every other label and disc.  Returns the new label spots."""
    order = list(pos)
    X0, X1, Y0, Y1 = _extent(pos, spot_of, radius, wh)
    seg = np.array([[*pos[a], *pos[b]] for a, b, *_ in edge_styles]) if edge_styles \
        else np.zeros((0, 4))
    mine = {v: [k for k, (a, b, *_) in enumerate(edge_styles) if v in (a, b)] for v in order}
    boxes = {v: (bx, by, bx + wh[v][0], by + wh[v][1]) for v, (_, (bx, by)) in spot_of.items()}
    out = dict(spot_of)
    ll = _NEED[("label", "label")]
    for v in sorted(order, key=lambda v: (-len(mine[v]), str(v))):
        best = None
        for spot in _SPOTS_RIGHT:
            box = _spot_box(pos[v], radius[v], wh[v], spot)
            if box[0] < X0 - 1e-6 or box[2] > X1 + 1e-6 or box[1] < Y0 - 1e-6 \
                    or box[3] > Y1 + 1e-6:
                continue
            if any(_boxes_overlap(box, boxes[u], ll) for u in order if u != v):
                continue
            if any(_box_hits_disc(box, pos[u], radius[u], _NEED[("disc", "label")])
                   for u in order if u != v):
                continue
            own = _segments_hit_box(seg[mine[v]], box) if mine[v] else 0
            cost = spot[3] + 1.5 * _segments_hit_box(seg, box) + 1.5 * own
            if best is None or cost < best[0] - 1e-9:
                best = (cost, spot, box)
        if best is None:
            continue
        _, spot, box = best
        boxes[v] = box
        out[v] = (spot, (box[0], box[1]))
    return out


def _framed(pos: dict, spot_of: dict, radius: dict, wh: dict, frame: _Frame,
            compact: bool = True) -> tuple:
    """The title set above the drawing's top-left corner and the legend below its
    bottom-left corner (in as few rows as fit the drawing's width), then everything
    compacted together, so the drawing's topics rise beside a short title and the
    legend rises into a ragged bottom edge.  Returns positions, label spots, the title's
    lower-left corner, and the legend's upper-left corner and its column count."""
    X0, X1, Y0, Y1 = _extent(pos, spot_of, radius, wh)
    ncol, lw, lh = frame.legend_for(X1 - X0)
    title = (X0, Y1 + FRAME_CLEAR, X0 + frame.tw, Y1 + FRAME_CLEAR + frame.th, "frame")
    legend = (X0, Y0 - FRAME_CLEAR - lh, X0 + lw, Y0 - FRAME_CLEAR, "frame")
    units = [*_node_units(pos, spot_of, radius, wh), [title], [legend]]
    shift = _compact_units(units) if compact else np.zeros((len(units), 2))
    pos, spot_of = _shifted(pos, spot_of, shift[:-2])
    (tdx, tdy), (ldx, ldy) = shift[-2], shift[-1]
    return pos, spot_of, (title[0] + tdx, title[1] + tdy), (legend[0] + ldx, legend[3] + ldy,
                                                             ncol, lw, lh)


def _extent(pos: dict, spot_of: dict, radius: dict, wh: dict) -> tuple:
    """(X0, X1, Y0, Y1): the discs' and labels' extent, in points."""
    xs = [c for v in pos for c in (pos[v][0] - radius[v], pos[v][0] + radius[v])]
    ys = [c for v in pos for c in (pos[v][1] - radius[v], pos[v][1] + radius[v])]
    for v, (_spot, (bx, by)) in spot_of.items():
        xs += [bx, bx + wh[v][0]]
        ys += [by, by + wh[v][1]]
    return min(xs), max(xs), min(ys), max(ys)


def _arrange(variants: list, nodes: dict, radius: dict, wh: dict, edge_styles: list,
             frame: _Frame, compact: bool = True) -> list[tuple]:
    """Pack the groups (and the block of unlinked topics) so the picture fills its
    canvas: of the groups' ``variants`` (each a list of laid-out groups; the first is
    the preferred one), the block's column counts and the packing widths, the
    arrangement whose whole figure (title and legend included) has the largest canvas
    share (:meth:`MapFigure.ink_mask`, estimated from the boxes) once its slack is taken
    out (:func:`_compact`, :func:`_framed`); the figure stays landscape-ish.  Returns
    the COMPACTED best, best first: (positions, label spots, title's and legend's
    places)."""
    lone = sum(1 for g in variants[0] if len(g[0]) == 1)
    blocks = [_list_block(laid) for laid in variants]
    if lone >= 2 and len(nodes) <= MAX_TRIED_NODES:
        blocks += [_list_block(laid, cols) for laid in variants
                   for cols in range(1, min(lone, 8) + 1)]
    rough = []
    for block in blocks:
        options = _pack_options([(b[2] - b[0], b[3] - b[1]) for *_, b in block])
        if len(nodes) > MAX_TRIED_NODES:
            options = options[:1]
        for offsets in options:
            pos, spot_of = _placed(block, offsets)
            X0, X1, Y0, Y1 = _extent(pos, spot_of, radius, wh)
            ncol, lw, lh = frame.legend_for(X1 - X0)
            ink = (_drawing_ink(_ink_rects(pos, spot_of, nodes, radius, wh), pos, edge_styles,
                                (X0, X1, Y0, Y1))
                   + frame.tw * frame.th + frame.legend_ink(X1 - X0))
            fw = max(X1 - X0, lw, frame.tw) + 2 * frame.pad
            fh = Y1 - Y0 + frame.th + lh + 2 * FRAME_CLEAR + 2 * frame.pad
            rough.append((_score(ink, fw, fh), len(rough), pos, spot_of))
    rough.sort(key=lambda c: (-round(c[0], 3), c[1]))
    cands = []
    for _, k, pos, spot_of in rough[:COMPACTED if len(nodes) > RENDER_TRIED_NODES else SMALL_TRIED]:
        if compact:
            pos, spot_of = _compact(pos, spot_of, radius, wh)
            pos, spot_of = _compact(pos, _relabel(pos, spot_of, radius, wh, edge_styles),
                                    radius, wh)
        else:
            spot_of = _relabel(pos, spot_of, radius, wh, edge_styles)
        pos, spot_of, title, legend = _framed(pos, spot_of, radius, wh, frame, compact)
        X0, X1, Y0, Y1 = _figure_extent(pos, spot_of, radius, wh, title, legend, frame)
        ink = (_drawing_ink(_ink_rects(pos, spot_of, nodes, radius, wh), pos, edge_styles,
                            (X0, X1, Y0, Y1))
               + frame.tw * frame.th + frame.legend_ink_cols(legend[2]))
        cands.append((_score(ink, X1 - X0, Y1 - Y0), k, pos, spot_of, title, legend))
    # the packing's own first choice wins ties
    cands.sort(key=lambda c: (-round(c[0], 3), c[1]))
    return [c[2:] for c in cands]


def _score(ink: float, fw: float, fh: float) -> float:
    """The canvas share, less a penalty for a tall or a very long figure (it shows small
    in Discord's preview); a figure narrower than the preview is widened."""
    fw = max(fw, MIN_WIDTH_PX * 72 / DPI)
    aspect = fw / fh
    return ink / (fw * fh) - 0.3 * max(0.0, math.log(0.9 / aspect), math.log(aspect / 2.3))


def _figure_extent(pos: dict, spot_of: dict, radius: dict, wh: dict, title: tuple,
                   legend: tuple, frame: _Frame, lines: list = ()) -> tuple:
    """(X0, X1, Y0, Y1) of the whole figure in points: the drawing, its lines, the title
    and the legend, a margin around, and at least as wide as Discord's preview."""
    X0, X1, Y0, Y1 = _extent(pos, spot_of, radius, wh)
    tx, ty = title
    lx, ly, _ncol, lw, lh = legend
    X0, X1 = min(X0, tx, lx), max(X1, tx + frame.tw, lx + lw)
    Y0, Y1 = min(Y0, ly - lh), max(Y1, ty + frame.th)
    for path in lines:
        X0, X1 = min(X0, float(path[:, 0].min())), max(X1, float(path[:, 0].max()))
        Y0, Y1 = min(Y0, float(path[:, 1].min())), max(Y1, float(path[:, 1].max()))
    p = frame.pad
    X0, X1, Y0, Y1 = X0 - p, X1 + p, Y0 - p, Y1 + p
    spare = MIN_WIDTH_PX * 72 / DPI - (X1 - X0)
    if spare > 0:  # small maps: centred on a canvas as wide as the preview
        X0, X1 = X0 - spare / 2, X1 + spare / 2
    return X0, X1, Y0, Y1


RES = 2.0  # points per cell of the estimate's grid


def _routed(pos: dict, spot_of: dict, radius: dict, wh: dict, edge_styles: list) -> dict:
    """kind -> [(polyline, width in points)]: each line routed (see :func:`_route`)."""
    wmax = max([w for *_, w in edge_styles], default=1.0) or 1.0
    by_kind: dict[str, list] = {}
    order = list(pos)
    centres = np.array([pos[v] for v in order])
    radii = np.array([radius[v] for v in order])
    at = {v: i for i, v in enumerate(order)}
    boxes = np.array([(bx, by, bx + wh[v][0], by + wh[v][1])
                      for v, (_, (bx, by)) in ((v, spot_of[v]) for v in order)])
    extent = _extent(pos, spot_of, radius, wh)
    for a, b, kind, w in edge_styles:
        others = np.ones(len(order), dtype=bool)
        others[[at[a], at[b]]] = False
        path = _route(np.asarray(pos[a]), np.asarray(pos[b]), centres[others], radii[others],
                      boxes[others], extent, boxes[~others])
        by_kind.setdefault(kind, []).append((path, 0.8 + 4.0 * w / wmax))
    return by_kind


def _share_of(pos: dict, spot_of: dict, radius: dict, wh: dict, by_kind: dict, title: tuple,
              legend: tuple, frame: _Frame, extent: tuple, focus: dict) -> float:
    """The canvas share :meth:`MapFigure.ink_mask` would measure, from the arrangement's
    own geometry (points), without drawing it."""
    from PIL import Image, ImageDraw

    X0, X1, Y0, Y1 = extent
    k = DPI / 72
    w, h = max(1, round((X1 - X0) * k)), max(1, round((Y1 - Y0) * k))
    img = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(img)

    def box(x0, y0, x1, y1):  # points, y up
        draw.rectangle(((x0 - X0) * k, (Y1 - y1) * k, (x1 - X0) * k - 1, (Y1 - y0) * k - 1),
                       fill=1)

    for v, (_, (bx, by)) in spot_of.items():
        box(bx, by, bx + wh[v][0], by + wh[v][1])
    for v, (x, y) in pos.items():
        r = radius[v] + (3.5 if focus.get(v) else 1.5) / 2
        box(x - r, y - r, x + r, y + r)
    tx, ty = title
    box(tx, ty, tx + frame.tw, ty + frame.th)
    lx, ly, ncol, _lw, _lh = legend
    for ex0, ey0, ex1, ey1 in frame.measure(ncol)[4]:
        box(lx + ex0, ly - ey1, lx + ex1, ly - ey0)
    for lines in by_kind.values():
        for path, lw in lines:
            draw.line([((x - X0) * k, (Y1 - y) * k) for x, y in path], fill=1,
                      width=max(1, round(lw * k)), joint="curve")
    return float(np.asarray(img, dtype=bool).mean())


def _clear_of_lines(title: tuple, legend: tuple, lines: list, frame: _Frame) -> tuple:
    """Move the title up and the legend down, if need be, so no (bent) line comes
    within GAP of them: the compaction measured straight lines."""
    tx, ty = title
    lx, ly, ncol, lw, lh = legend
    for path in lines:
        t = np.linspace(0.0, 1.0, 8)[:, None]
        pts = np.vstack([(1 - t) * a + t * b for a, b in zip(path[:-1], path[1:], strict=True)])
        over = (pts[:, 0] > tx - GAP) & (pts[:, 0] < tx + frame.tw + GAP)
        if over.any():
            ty = max(ty, float(pts[over, 1].max()) + 3.0 + GAP)
        under = (pts[:, 0] > lx - GAP) & (pts[:, 0] < lx + lw + GAP)
        if under.any():
            ly = min(ly, float(pts[under, 1].min()) - 3.0 - GAP)
    return (tx, ty), (lx, ly, ncol, lw, lh)


def _drawing_ink(rects: list, pos: dict, edge_styles: list, extent: tuple) -> float:
    """Area (points²) of the union of the rectangles and the straight lines' ribbons."""
    X0, X1, Y0, Y1 = extent
    cols, rows = math.ceil((X1 - X0) / RES) + 1, math.ceil((Y1 - Y0) / RES) + 1
    ink = np.zeros((rows, cols), dtype=bool)
    for x0, y0, x1, y1 in rects:
        ink[max(0, round((y0 - Y0) / RES)):max(0, round((y1 - Y0) / RES)),
            max(0, round((x0 - X0) / RES)):max(0, round((x1 - X0) / RES))] = True
    if edge_styles:
        wmax = max(w for *_, w in edge_styles) or 1.0
        for a, b, _k, w in edge_styles:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            steps = max(2, int(math.hypot(xb - xa, yb - ya) / RES * 1.5))
            t = np.linspace(0.0, 1.0, steps)
            r_ = np.clip(((ya + (yb - ya) * t - Y0) / RES).astype(int), 0, rows - 1)
            c_ = np.clip(((xa + (xb - xa) * t - X0) / RES).astype(int), 0, cols - 1)
            ink[r_, c_] = True
            if 0.8 + 4.0 * w / wmax > 1.5 * RES:  # thick lines: a second cell across
                horiz = abs(xb - xa) > abs(yb - ya)
                ink[np.clip(r_ + horiz, 0, rows - 1), np.clip(c_ + (not horiz), 0, cols - 1)] = True
    return float(ink.sum()) * RES * RES


def _ink_rects(pos: dict, spot_of: dict, nodes: dict, radius: dict, wh: dict) -> list:
    """(x0, y0, x1, y1) in points of every disc and label."""
    out = [(pos[v][0] - radius[v], pos[v][1] - radius[v], pos[v][0] + radius[v],
            pos[v][1] + radius[v]) for v in nodes]
    out += [(bx, by, bx + wh[v][0], by + wh[v][1]) for v, (_, (bx, by)) in spot_of.items()]
    return out


#: (legend names, columns) -> (columns, width, height, its entries' area, the entries'
#: boxes (x0, y0, x1, y1) down from its top-left corner) in points: measured once
_LEGEND_SIZES: dict[tuple, tuple] = {}


class _Frame:
    """The title and the legend (in as few rows as fit the drawing's width), measured
    once, so arrangements can be compared cheaply."""

    pad = 4.0  # points of paper around everything

    def __init__(self, fig, renderer, title: str, legend: tuple[list, list]) -> None:
        from matplotlib.legend_handler import HandlerTuple

        self.fig, self.handles, self.names = fig, *legend
        self.kw = {"fontsize": 11, "frameon": False, "columnspacing": 1.0, "borderaxespad": 0,
                   "labelspacing": 0.3, "handlelength": 1.6, "borderpad": 0.1,
                   "handler_map": {tuple: HandlerTuple(ndivide=1)}}
        pt = 72 / DPI
        self.renderer = renderer
        self.title = fig.text(0.5, 1.0, textwrap.shorten(title, 90), ha="center", va="top",
                              fontsize=TITLE_PT)
        tb = self.title.get_window_extent(renderer)
        self.tw, self.th = tb.width * pt, tb.height * pt

    def measure(self, ncol: int) -> tuple:
        """The legend's size in ``ncol`` columns and the area of its entries' boxes
        (text and handle, as :meth:`MapFigure.ink_mask` counts them), measured once."""
        key = (tuple(self.names), ncol)  # the names say which handles they go with
        size = _LEGEND_SIZES.get(key)  # renders run in worker threads: no check-then-read
        if size is None:
            leg = self.fig.legend(self.handles, self.names, loc="upper center", ncol=ncol,
                                  **self.kw)
            bb = leg.get_window_extent(self.renderer)
            with self.renderer._draw_disabled():  # lays the entries out, draws nothing
                leg.draw(self.renderer)
            lead = (leg.handlelength + leg.handletextpad) * leg._fontsize
            pt = 72 / DPI
            entries = tuple(((e.x0 - bb.x0) * pt - lead, (bb.y1 - e.y1) * pt,
                             (e.x1 - bb.x0) * pt, (bb.y1 - e.y0) * pt)
                            for e in (t.get_window_extent(self.renderer) for t in leg.get_texts()))
            ink = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in entries)
            leg.remove()
            size = (ncol, bb.width * pt, bb.height * pt, ink, entries)
            if len(_LEGEND_SIZES) > 512:
                _LEGEND_SIZES.clear()
            _LEGEND_SIZES[key] = size
        return size

    def legend_for(self, W: float) -> tuple[int, float, float]:
        return self._legend_for(W)[:3]

    def legend_ink(self, W: float) -> float:
        return self._legend_for(W)[3]

    def _legend_for(self, W: float) -> tuple:
        """The legend in the most columns that fit the width (one column when none
        fits); a binary search, as a legend widens with its columns."""
        limit = max(W * 1.1, 420.0)
        lo, hi = 1, len(self.handles)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.measure(mid)[1] <= limit:
                lo = mid
            else:
                hi = mid - 1
        return self.measure(lo)

    def legend_ink_cols(self, ncol: int) -> float:
        return self.measure(ncol)[3]

    def place(self, ax, title: tuple, legend: tuple) -> None:
        """The title with its lower-left corner at ``title``, the legend with its upper
        left corner at ``legend`` (points: the drawing's data units)."""
        lx, ly, ncol, _lw, _lh = legend
        self.title.set_transform(ax.transData)
        self.title.set_position(title)
        self.title.set_ha("left")
        self.title.set_va("bottom")
        self.fig.legend(self.handles, self.names, loc="upper left", bbox_to_anchor=(lx, ly),
                        bbox_transform=ax.transData, ncol=ncol, **self.kw)


# --------------------------------------------------------------------------- drawing


def compose(
    G: nx.Graph,
    groups: list[dict],
    nodes: dict,
    edge_styles: list[tuple],
    title: str,
    *,
    size_unit: str = "comments",
    fontsize: float | None = None,
    table: bool = True,
    tries: int | None = None,
) -> MapFigure:
    """Lay out and draw the map.  ``groups``: abstract positions per connected group;
    ``nodes``: node -> MapNode; ``edge_styles``: (a, b, kind, weight); ``table``: set the
    groups on tables (the focus map keeps its focus in the middle instead).  Of the
    arrangements the estimate ranks best (``tries`` of them; by default SMALL_TRIED
    for maps of up to RENDER_TRIED_NODES topics, else RENDERS_TRIED), each has its lines
    routed and its canvas share measured on its own geometry (as
    :meth:`MapFigure.ink_mask` would, without drawing), and the fullest is drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle
    from matplotlib.patheffects import withStroke

    n = len(nodes)
    fs = fontsize or (15.0 if n <= 20 else 11.0)
    rmin, rmax = (RMIN, RMAX) if n <= 20 else (6.5, 16.0)
    fig = Figure(figsize=(8, 6), dpi=DPI)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    if not nodes:  # nothing to draw: say so, in the picture's own words
        fig.set_size_inches(6, 1.6)
        fig.text(0.5, 0.72, textwrap.shorten(title, 90), ha="center", va="center", fontsize=16)
        empty = fig.text(0.5, 0.32, "No topics yet.", ha="center", va="center", fontsize=12)
        return MapFigure(figure=fig, ax=ax, message=empty)
    texts, wh = {}, {}
    for v, node in nodes.items():
        t = ax.text(0, 0, node.label, fontsize=fs, linespacing=1.1, zorder=4,
                    fontweight="bold" if node.focus else "normal",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": LABEL_BOX_ALPHA},
                    path_effects=[withStroke(linewidth=3.5, foreground="white")])
        bb = t.get_window_extent(renderer)
        texts[v] = t
        wh[v] = (bb.width * 72 / DPI, bb.height * 72 / DPI)
    smax = max((nd.size for nd in nodes.values()), default=1) or 1
    radius = {v: rmin + (rmax - rmin) * math.sqrt(max(nd.size, 0) / smax) for v, nd in nodes.items()}

    # lay out each group, then pack the groups
    def lay(g: dict, rank: int = 0):
        order = sorted(g)
        idx = {v: i for i, v in enumerate(order)}
        gedges = [(idx[a], idx[b]) for a, b, *_ in edge_styles if a in idx and b in idx]
        placed = _place_group(order, np.array([g[v] for v in order], dtype=float),
                              np.array([radius[v] for v in order]),
                              np.array([wh[v] for v in order]), gedges, table, rank)
        if placed is None:
            return None
        xy, spots = placed
        boxes = [s[1] for s in spots]
        x0 = min(min(b[0] for b in boxes), float(np.min(xy[:, 0] - [radius[v] for v in order])))
        x1 = max(max(b[2] for b in boxes), float(np.max(xy[:, 0] + [radius[v] for v in order])))
        y0 = min(min(b[1] for b in boxes), float(np.min(xy[:, 1] - [radius[v] for v in order])))
        y1 = max(max(b[3] for b in boxes), float(np.max(xy[:, 1] + [radius[v] for v in order])))
        return (order, xy, spots, (x0, y0, x1, y1))

    laid = [lay(g) for g in groups]
    # small maps also try the largest group's next-best table shapes
    variants = [laid]
    if table and n <= MAX_TRIED_NODES and groups and len(groups[0]) >= 4:
        for rank in range(1, SHAPES_TRIED):
            other = lay(groups[0], rank)
            if other is not None:
                variants.append([other, *laid[1:]])
    paths = _glyph_paths()
    legend = _legend_entries(nodes, paths, {k for _, _, k, _ in edge_styles}, bool(edge_styles),
                             size_unit)
    frame = _Frame(fig, renderer, title, legend)
    # the focus map keeps its star's shape (its focus in the middle): no compaction
    ranked = _arrange(variants, nodes, radius, wh, edge_styles, frame, compact=table)
    if tries is None:
        tries = SMALL_TRIED if n <= RENDER_TRIED_NODES else RENDERS_TRIED
    best = None
    for pos, spot_of, title_at, legend_at in ranked[:max(1, tries)]:
        by_kind = _routed(pos, spot_of, radius, wh, edge_styles)
        paths_drawn = [p for lines in by_kind.values() for p, _ in lines]
        title_at, legend_at = _clear_of_lines(title_at, legend_at, paths_drawn, frame)
        # the figure's extent in points (one data unit is one point), bent lines included
        extent = _figure_extent(pos, spot_of, radius, wh, title_at, legend_at, frame,
                                paths_drawn)
        share = _share_of(pos, spot_of, radius, wh, by_kind, title_at, legend_at, frame,
                          extent, {v: nd.focus for v, nd in nodes.items()})
        if best is None or share > best[0] + 1e-9:
            best = (share, pos, spot_of, title_at, legend_at, by_kind, extent)
    _, pos, spot_of, title_at, legend_at, by_kind, (X0, X1, Y0, Y1) = best
    fig.set_size_inches((X1 - X0) / 72, (Y1 - Y0) / 72)
    ax.set_xlim(X0, X1)
    ax.set_ylim(Y0, Y1)
    for kind, lines in by_kind.items():
        colour, ls = KIND_STYLES[kind]
        ax.add_collection(LineCollection([p for p, _ in lines], colors=colour, linestyles=ls,
                                         linewidths=[lw for _, lw in lines], alpha=0.8,
                                         zorder=1, capstyle="butt"))
    discs = {}
    for v, nd in nodes.items():
        c = Circle(tuple(pos[v]), radius[v], facecolor=STATUS_COLOURS[nd.status],
                   edgecolor="#111111" if nd.focus else "white",
                   linewidth=3.5 if nd.focus else 1.5, zorder=2)
        ax.add_patch(c)
        discs[v] = c
    glyphs = {}
    for st, path in paths.items():
        vs = [v for v, nd in nodes.items() if nd.status == st]
        if vs:
            glyphs[st] = vs, ax.scatter([pos[v][0] for v in vs], [pos[v][1] for v in vs], marker=path,
                       s=[(1.05 * radius[v]) ** 2 for v in vs], c=GLYPH_COLOUR, linewidths=0,
                       zorder=3)
    for v, ((_, ha, va, _), (bx, by)) in spot_of.items():
        x = bx if ha == "left" else bx + wh[v][0] if ha == "right" else bx + wh[v][0] / 2
        y = by if va == "bottom" else by + wh[v][1] if va == "top" else by + wh[v][1] / 2
        texts[v].set_position((x, y))
        texts[v].set_ha(ha)
        texts[v].set_va(va)
    frame.place(ax, title_at, legend_at)
    return MapFigure(figure=fig, ax=ax, labels=texts, discs=discs,
                     edges=[(a, b) for a, b, *_ in edge_styles], glyphs=glyphs,
                     lines=[ln for lines in by_kind.values() for ln in lines])


def _legend_entries(nodes: dict, paths: dict, used_kinds: set, has_edges: bool,
                    size_unit: str) -> tuple[list, list]:
    """Only what the picture contains, and what size and width mean."""
    from matplotlib.lines import Line2D

    handles, names = [], []
    present = {nd.status for nd in nodes.values()}
    for st, colour in STATUS_COLOURS.items():
        if st not in present:
            continue
        disc = Line2D([], [], marker="o", ls="", color=colour, markeredgecolor="white",
                      markersize=15)
        if st in paths:
            glyph = Line2D([], [], marker=paths[st], ls="", color=GLYPH_COLOUR, markersize=9)
            handles.append((disc, glyph))
            names.append(f"{st} ({STATUS_GLYPH_NAMES[st]})")
        else:
            handles.append(disc)
            names.append(st)
    if any(nd.focus for nd in nodes.values()):
        handles.append(Line2D([], [], marker="o", ls="", color="white", markeredgecolor="#111111",
                              markeredgewidth=3, markersize=14))
        names.append("focus topic")
    handles.append(Line2D([], [], marker="o", ls="", color="#c8c8c8", markersize=15))
    names.append(f"circle size: {size_unit}")
    if has_edges:
        handles.append(Line2D([], [], color="#555555", lw=4))
        names.append("line width: strength of evidence")
    for k in KIND_STYLES:
        if k in used_kinds:
            handles.append(Line2D([], [], color=KIND_STYLES[k][0], ls=KIND_STYLES[k][1], lw=2.5))
            names.append(KIND_LEGEND[k])
    return handles, names


_warm = False


def warm_up() -> None:
    """Import matplotlib's drawing code and load its fonts (about a second, holding the
    GIL, once per process), so that the first /map after a start costs what later ones do."""
    global _warm
    if _warm:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "Aa 1 %", fontsize=10)
    fig.text(0.1, 0.2, "Aa 1 %", fontsize=10, fontweight="bold")
    fig.canvas.draw()
    _warm = True
