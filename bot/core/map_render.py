"""Drawing the related-topics map (pure core: matplotlib, no Discord, no storage).

The picture is laid out in points (1/72 inch), the unit of text and line widths, so the
layout knows how big each label is before it places anything:

1. each connected group of topics gets an abstract layout (Kamada-Kawai; the focus map a
   spring layout around its centre; the overview one node per community), turned so its
   long side lies flat;
2. each topic is a box holding its disc and its wrapped title below the disc; in groups
   of four or more the boxes are set on a table, each topic in the free cell nearest its
   place in the layout (an optimal assignment), each column as wide as its widest box,
   so neighbours stay neighbours and the canvas is filled; smaller groups keep their
   layout and overlapping boxes are pushed apart along the line between them;
3. each label takes the free spot around its disc (below, above, beside, diagonal) that
   crosses the fewest lines; a spot reserved for a label not placed yet is off limits,
   so the spot below is always left, and no label ever covers another label or another
   topic's disc;
4. a line that would pass under a topic it does not join is bent (the least bent arc
   that clears every other disc), so it never seems to end there;
5. the groups are packed side by side (largest first, the lowest free spot on a
   skyline), and the figure is sized to the drawing, title above, legend below.  Of the
   packing widths, the unlinked-topics block's column counts, the largest group's best
   table shapes (maps of up to 80 topics) and the title's places (centred or at an edge,
   lowered into the drawing's empty top band), the arrangement whose figure has the
   most 32-px squares with ink wins (estimated from the boxes; maps of up to 20 topics
   draw the 3 best estimates and count the pixels); a linked group with its packing rows
   to itself is widened sideways to the packing's width.

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
TITLE_CLEAR = 12.0  # points between the title's ends and ink beside it
SHAPES_TRIED = 4  # table shapes tried for the largest group of a small map
RENDER_TRIED_NODES, RENDERS_TRIED = 20, 3  # maps this small draw the 3 best estimates
MAX_TRIED_NODES = 80  # maps this small try several arrangements and keep the fullest
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

        self.figure.canvas.draw()
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


def _route(p: np.ndarray, q: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """The edge p→q as a polyline: straight when it passes no other disc, else the
    least bent arc (quadratic Bézier) that clears them, so a line never seems to run
    into a topic it does not join.  ``centres``/``radii``: the discs to keep clear of."""
    d = q - p
    length = float(np.hypot(*d)) or 1.0
    normal = np.array([-d[1], d[0]]) / length
    t = np.linspace(0.0, 1.0, 17)[:, None]
    best = None
    for bend in _BENDS:
        ctrl = (p + q) / 2 + normal * bend * length
        pts = (1 - t) ** 2 * p + 2 * (1 - t) * t * ctrl + t**2 * q
        if not len(centres):
            return pts
        a, b = pts[:-1], pts[1:]
        ab = b - a
        ll = np.maximum((ab * ab).sum(axis=1), 1e-9)
        w = np.clip(((centres[:, None, :] - a[None]) * ab[None]).sum(-1) / ll[None], 0, 1)
        near = a[None] + w[..., None] * ab[None]
        dist = np.sqrt(((centres[:, None, :] - near) ** 2).sum(-1)).min(axis=1)
        hits = int((dist < radii + 2.0).sum())
        if hits == 0:
            return pts
        if best is None or hits < best[0]:
            best = (hits, pts)
    return best[1]


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
_SPOTS_BELOW = [
    ((0.0, -1.0), "center", "top", 0.0),
    ((0.0, 1.0), "center", "bottom", 0.4),
    ((1.0, 0.0), "left", "center", 0.6),
    ((-1.0, 0.0), "right", "center", 0.6),
    ((0.71, -0.71), "left", "top", 0.8),
    ((-0.71, -0.71), "right", "top", 0.8),
    ((0.71, 0.71), "left", "bottom", 0.9),
    ((-0.71, 0.71), "right", "bottom", 0.9),
]
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
    # each node's box: its disc and its label below it
    side = "right" if n == 1 else "below"  # a lone topic reads as a list entry
    if side == "right":
        half = np.c_[(2 * radius + GAP + wh[:, 0]) / 2, np.maximum(radius, wh[:, 1] / 2)] + CLEAR / 2
        shift = np.c_[(GAP + wh[:, 0]) / 2, np.zeros(n)]
    else:
        half = np.c_[np.maximum(radius, wh[:, 0] / 2), (2 * radius + wh[:, 1] + GAP) / 2] + CLEAR / 2
        shift = np.c_[np.zeros(n), -(wh[:, 1] + GAP) / 2]  # box centre below the disc's
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
    spot_list = _SPOTS_RIGHT if side == "right" else _SPOTS_BELOW
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
    for width in np.unique(np.r_[np.linspace(lo, hi, 24), math.sqrt(area * TARGET_ASPECT)]):
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


def _stretched(laid: list, offsets: list, linked: set, most: float = 1.6) -> list:
    """Groups of linked topics that have their rows of the packing to themselves,
    widened (their discs moved apart sideways, labels with their discs, at most
    ``most`` times) to the packing's width, so no empty band is left beside them.
    Only horizontal gaps grow, so no label comes nearer another disc or label."""
    spans = [(ox, oy, b[2] - b[0], b[3] - b[1]) for (*_, b), (ox, oy) in zip(laid, offsets,
                                                                              strict=True)]
    total = max(ox + w for ox, _, w, _ in spans)
    out = []
    for k, ((order, xy, spots, (x0, y0, x1, y1)), (ox, oy, w, h)) in enumerate(
            zip(laid, spans, strict=True)):
        alone = not any(j != k and oy2 < oy + h - 1e-6 and oy < oy2 + h2 - 1e-6
                        for j, (_, oy2, _, h2) in enumerate(spans))
        room = total - ox - GROUP_MARGIN
        if not alone or len(order) < 2 or not linked.intersection(order) or room <= w + 1:
            out.append((order, xy, spots, (x0, y0, x1, y1)))
            continue
        f = min(most, 1.0 + (room - w) / max(1.0, float(np.ptp(xy[:, 0]))))
        new = xy.copy()
        new[:, 0] = xy[:, 0].min() + (xy[:, 0] - xy[:, 0].min()) * f
        dx = new[:, 0] - xy[:, 0]
        spots = [(spot, (box[0] + d, box[1], box[2] + d, box[3]))
                 for (spot, box), d in zip(spots, dx, strict=True)]
        bx0 = min(x0, min(b[0] for _, b in spots))
        bx1 = max(x1 + float(dx.max()), max(b[2] for _, b in spots))
        if bx1 - bx0 > room + 1e-6:  # labels at the edge stick out: keep the group as it was
            out.append((order, xy, [(sp, (b[0] - d, b[1], b[2] - d, b[3]))
                                    for (sp, b), d in zip(spots, dx, strict=True)],
                        (x0, y0, x1, y1)))
            continue
        out.append((order, new, spots, (bx0, y0, bx1, y1)))
    return out


def _arrange(variants: list, nodes: dict, radius: dict, wh: dict, edge_styles: list,
             frame: _Frame, pick: int = 0) -> tuple[dict, dict, tuple] | None:
    """Pack the groups (and the block of unlinked topics) so the picture fills its
    canvas: of the groups' ``variants`` (each a list of laid-out groups; the first is
    the preferred one), the block's column counts and the packing widths, the arrangement whose
    whole figure (title and legend included) has the largest share of 32-px squares
    with ink, as a reader sees empty space; the figure stays landscape-ish.  ``pick``:
    the arrangement that many places down that order (None when there is none)."""
    lone = sum(1 for g in variants[0] if len(g[0]) == 1)
    linked = {v for a, b, *_ in edge_styles for v in (a, b)}
    blocks = [_list_block(laid) for laid in variants]
    if lone >= 2 and len(nodes) <= MAX_TRIED_NODES:
        blocks += [_list_block(laid, cols) for laid in variants
                   for cols in range(1, min(lone, 8) + 1)]
    cands = []
    for block in blocks:
        options = _pack_options([(b[2] - b[0], b[3] - b[1]) for *_, b in block])
        if len(nodes) > MAX_TRIED_NODES:
            options = options[:1]
        for offsets in options:
            pos, spot_of = _placed(_stretched(block, offsets, linked), offsets)
            for fill, aspect, title in _ink_share(pos, spot_of, nodes, radius, wh,
                                                  edge_styles, frame):
                # the packing's own first choice wins ties; a tall or very long figure
                # shows small in Discord's preview
                score = fill - (0.0 if 0.9 <= aspect <= 2.3 else 1.0)
                cands.append((score, len(cands), pos, spot_of, title))
    # the packing's own first choice wins ties
    cands.sort(key=lambda c: (-round(c[0], 3), c[1]))
    if pick >= len(cands):
        return None
    return cands[pick][2:]


def _ink_share(pos: dict, spot_of: dict, nodes: dict, radius: dict, wh: dict,
               edge_styles: list, frame: _Frame) -> list[tuple[float, float, tuple]]:
    """Estimated share of the figure's 32-px squares holding ink (discs, label boxes,
    straight edges, the title's and the legend's boxes), the figure's aspect, and the
    title's place (how far it sits in the drawing's top band, and where), for each of
    the title's places (centred above the drawing first)."""
    xs = [c for v in nodes for c in (pos[v][0] - radius[v], pos[v][0] + radius[v])]
    ys = [c for v in nodes for c in (pos[v][1] - radius[v], pos[v][1] + radius[v])]
    for v, (_spot, (bx, by)) in spot_of.items():
        xs += [bx, bx + wh[v][0]]
        ys += [by, by + wh[v][1]]
    X0, X1, Y0, Y1 = min(xs) - 4.0, max(xs) + 4.0, min(ys) - 4.0, max(ys) + 4.0
    lines = [np.array([pos[a], pos[b]]) for a, b, *_ in edge_styles]
    titles = [(0.0, "center"), *_free_above(_ink_rects(pos, spot_of, nodes, radius, wh), lines,
                                            (X0, X1, Y1), frame.tw)]
    return [(*_ink_share_for(pos, spot_of, nodes, radius, wh, edge_styles, frame,
                             (X0, X1, Y0, Y1), title), title) for title in titles]


def _ink_share_for(pos: dict, spot_of: dict, nodes: dict, radius: dict, wh: dict,
                   edge_styles: list, frame: _Frame, extent: tuple,
                   title: tuple) -> tuple[float, float]:
    X0, X1, Y0, Y1 = extent
    free, where = title
    fw, fh, ax0, ay0, (lw, lh), (tw, th) = frame.size(X1 - X0, Y1 - Y0, free)
    tx = (fw - tw) / 2 if where == "center" else ax0 if where == "left" else ax0 + X1 - X0 - tw
    k = DPI / 72 / 32  # points -> squares
    cols, rows = math.ceil(fw * k), math.ceil(fh * k)
    ink = np.zeros((rows, cols), dtype=bool)

    def mark(x0, y0, x1, y1):  # figure points, y down from the top
        ink[max(0, int(y0 * k)):max(0, math.ceil(y1 * k)),
            max(0, int(x0 * k)):max(0, math.ceil(x1 * k))] = True

    def to_fig(x, y):
        return ax0 + x - X0, ay0 + Y1 - y

    inset = 4.4  # the legend's border padding (0.4 of its font size), and about the
    #             title's: blank inside their boxes
    mark(tx + 2, frame.pad + 2, tx + tw - 2, frame.pad + th - 2)
    mark((fw - lw) / 2 + inset, fh - frame.pad - lh + inset, (fw + lw) / 2 - inset,
         fh - frame.pad - inset)
    for v in nodes:
        (x, y), r = to_fig(*pos[v]), radius[v]
        mark(x - r, y - r, x + r, y + r)
        (_, ha, _, _), corner = spot_of[v]
        bx, by = to_fig(*corner)
        w, h = wh[v]
        lines = nodes[v].label.split("\n")
        longest = max(len(line) for line in lines) or 1
        for j, line in enumerate(lines):  # each line as wide as its share of letters
            lw_ = w * len(line) / longest
            lx = bx if ha == "left" else bx + w - lw_ if ha == "right" else bx + (w - lw_) / 2
            mark(lx, by - h + h * j / len(lines), lx + lw_, by - h + h * (j + 1) / len(lines))
    for a, b, *_ in edge_styles:
        (xa, ya), (xb, yb) = to_fig(*pos[a]), to_fig(*pos[b])
        steps = max(2, int(math.hypot(xb - xa, yb - ya) * k * 3))
        t = np.linspace(0.0, 1.0, steps)
        r_ = np.clip(((ya + (yb - ya) * t) * k).astype(int), 0, rows - 1)
        c_ = np.clip(((xa + (xb - xa) * t) * k).astype(int), 0, cols - 1)
        ink[r_, c_] = True
    return float(ink.mean()), fw / fh


def _squares_share(fig) -> float:
    """Share of the drawn figure's 32 x 32 px squares holding a pixel that is not white
    (a small tolerance for anti-aliasing), as ``bench/map.py`` measures the PNG."""
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(np.int16)
    ink = (np.abs(img - 255) > 12).any(axis=2)
    h, w = ink.shape
    rows, cols = -(-h // 32), -(-w // 32)
    padded = np.zeros((rows * 32, cols * 32), dtype=bool)
    padded[:h, :w] = ink
    return float(padded.reshape(rows, 32, cols, 32).any(axis=(1, 3)).mean())


def _ink_rects(pos: dict, spot_of: dict, nodes: dict, radius: dict, wh: dict) -> list:
    """(x0, y0, x1, y1) in points of every disc and label."""
    out = [(pos[v][0] - radius[v], pos[v][1] - radius[v], pos[v][0] + radius[v],
            pos[v][1] + radius[v]) for v in nodes]
    out += [(bx, by, bx + wh[v][0], by + wh[v][1]) for v, (_, (bx, by)) in spot_of.items()]
    return out


def _free_above(rects: list, lines: list, extent: tuple, tw: float) -> list[tuple[float, str]]:
    """For the title centred over the drawing, or at its left or right edge: how far
    (points) the drawing's top edge is above any ink under it (plus a margin each side),
    and where.  The title may sit that much lower, in the drawing's empty top band, and
    the figure be that much shorter."""
    X0, X1, Y1 = extent
    mid = (X0 + X1) / 2
    out = []
    for where, (xa, xb) in (("center", (mid - tw / 2, mid + tw / 2)), ("left", (X0, X0 + tw)),
                            ("right", (X1 - tw, X1))):
        xa, xb = xa - TITLE_CLEAR, xb + TITLE_CLEAR
        top = max((r[3] for r in rects if r[0] < xb and r[2] > xa), default=-math.inf)
        for path in lines:  # sample each polyline finely
            t = np.linspace(0.0, 1.0, 8)[:, None]
            pts = np.vstack([(1 - t) * a + t * b for a, b in zip(path[:-1], path[1:],
                                                                  strict=True)])
            inside = (pts[:, 0] > xa) & (pts[:, 0] < xb)
            if inside.any():
                top = max(top, float(pts[inside, 1].max()) + 3.0)  # line half-width
        free = max(0.0, Y1 - top - GAP) if top > -math.inf else math.inf
        out.append((free, where))
    return out


#: (legend names, columns) -> (columns, width, height) in points: legends measured once
_LEGEND_SIZES: dict[tuple, tuple[int, float, float]] = {}


class _Frame:
    """The figure around the drawing: title above, legend below in as few rows as fit
    the drawing's width; measured once, so arrangements can be compared cheaply."""

    pad, gap = 6.0, 10.0

    def __init__(self, fig, renderer, title: str, legend: tuple[list, list]) -> None:
        from matplotlib.legend_handler import HandlerTuple

        self.fig, self.handles, self.names = fig, *legend
        self.kw = {"fontsize": 11, "frameon": False, "columnspacing": 1.6, "borderaxespad": 0,
                   "handler_map": {tuple: HandlerTuple(ndivide=1)}}
        pt = 72 / DPI
        self.renderer = renderer
        self.title = fig.text(0.5, 1.0, textwrap.shorten(title, 90), ha="center", va="top",
                              fontsize=16)
        tb = self.title.get_window_extent(renderer)
        self.tw, self.th = tb.width * pt, tb.height * pt

    def measure(self, ncol: int) -> tuple[int, float, float]:
        """The legend's size in ``ncol`` columns (measured once)."""
        key = (tuple(self.names), ncol)  # the names say which handles they go with
        size = _LEGEND_SIZES.get(key)  # renders run in worker threads: no check-then-read
        if size is None:
            leg = self.fig.legend(self.handles, self.names, loc="upper center", ncol=ncol,
                                  **self.kw)
            bb = leg.get_window_extent(self.renderer)
            leg.remove()
            size = (ncol, bb.width * 72 / DPI, bb.height * 72 / DPI)
            if len(_LEGEND_SIZES) > 512:
                _LEGEND_SIZES.clear()
            _LEGEND_SIZES[key] = size
        return size

    def legend_for(self, W: float) -> tuple[int, float, float]:
        best = None
        for ncol in range(len(self.handles), 0, -1):
            _, lw, lh = self.measure(ncol)
            if best is None or lw <= max(W * 1.1, 420.0) or lw < best[1]:
                best = (ncol, lw, lh)
            if lw <= max(W * 1.1, 420.0):
                break
        return best

    def size(self, W: float, H: float, free: float = 0.0) -> tuple:
        """Figure width and height, the drawing's top-left corner (points, y down), the
        legend's and the title's sizes, for a drawing W x H points whose top ``free``
        points are empty under the title (the title then sits in them)."""
        _, lw, lh = self.legend_for(W)
        pad, gap = self.pad, self.gap
        up = min(free, self.th + gap)
        fw = max(W + 2 * pad, lw + 2 * pad, self.tw + 2 * pad, MIN_WIDTH_PX * 72 / DPI)
        fh = pad + self.th + gap - up + H + gap + lh + pad
        return fw, fh, (fw - W) / 2, pad + self.th + gap - up, (lw, lh), (self.tw, self.th)

    def apply(self, ax, extent: tuple, free: float = 0.0, where: str = "center") -> None:
        """Size the figure to the drawing (one data unit = one point), the title centred
        or at the drawing's ``where`` edge."""
        X0, X1, Y0, Y1 = extent
        W, H = X1 - X0, Y1 - Y0
        ncol, _, lh = self.legend_for(W)
        fw, fh, *_ = self.size(W, H, free)
        pad, gap = self.pad, self.gap
        self.fig.set_size_inches(fw / 72, fh / 72)
        ax.set_position(((fw - W) / 2 / fw, (pad + lh + gap) / fh, W / fw, H / fh))
        x0 = (fw - W) / 2
        self.title.set_ha(where)
        self.title.set_position(({"center": 0.5, "left": x0 / fw, "right": (x0 + W) / fw}[where],
                                 1 - pad / fh))
        self.fig.legend(self.handles, self.names, loc="upper center",
                        bbox_to_anchor=(0.5, (pad + lh) / fh), ncol=ncol, **self.kw)


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
    pick: int | None = None,
) -> MapFigure | None:
    """Lay out and draw the map.  ``groups``: abstract positions per connected group;
    ``nodes``: node -> MapNode; ``edge_styles``: (a, b, kind, weight); ``table``: set the
    groups on tables (the focus map keeps its focus in the middle instead).  Maps of up
    to RENDER_TRIED_NODES topics draw the arrangements the estimate ranks best and keep
    the one whose picture has the most 32-px squares with ink; ``pick``: draw only the
    arrangement that many places down the estimate's order (None when there is none)."""
    if pick is None and table and 0 < len(nodes) <= RENDER_TRIED_NODES:
        best = None
        for k in range(RENDERS_TRIED):
            mf = compose(G, groups, nodes, edge_styles, title, size_unit=size_unit,
                         fontsize=fontsize, table=table, pick=k)
            if mf is None:
                break
            share = _squares_share(mf.figure)
            if best is None or share > best[0] + 1e-9:
                best = (share, mf)
        return best[1]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle
    from matplotlib.patheffects import withStroke

    n = len(nodes)
    fs = fontsize or (12.0 if n <= 20 else 10.0)
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
    arranged = _arrange(variants, nodes, radius, wh, edge_styles, frame, pick or 0)
    if arranged is None:
        return None
    pos, spot_of, (free, where) = arranged
    wmax = max([w for *_, w in edge_styles], default=1.0) or 1.0
    by_kind: dict[str, list] = {}
    order = list(nodes)
    centres = np.array([pos[v] for v in order])
    radii = np.array([radius[v] for v in order])
    at = {v: i for i, v in enumerate(order)}
    for a, b, kind, w in edge_styles:
        others = np.ones(len(order), dtype=bool)
        others[[at[a], at[b]]] = False
        path = _route(np.asarray(pos[a]), np.asarray(pos[b]), centres[others], radii[others])
        by_kind.setdefault(kind, []).append((path, 0.8 + 4.0 * w / wmax))
    # the drawing's extent in points (one data unit is one point), bent lines included
    xs = [c for v in nodes for c in (pos[v][0] - radius[v], pos[v][0] + radius[v])]
    ys = [c for v in nodes for c in (pos[v][1] - radius[v], pos[v][1] + radius[v])]
    for v, (_spot, (bx, by)) in spot_of.items():
        xs += [bx, bx + wh[v][0]]
        ys += [by, by + wh[v][1]]
    for lines in by_kind.values():
        for path, _ in lines:
            xs += [float(path[:, 0].min()), float(path[:, 0].max())]
            ys += [float(path[:, 1].min()), float(path[:, 1].max())]
    pad = 4.0
    X0, X1, Y0, Y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
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
    if free:  # bent lines may rise nearer the title than straight ones
        free = min(free, dict((w, f) for f, w in _free_above(
            _ink_rects(pos, spot_of, nodes, radius, wh),
            [p for lines in by_kind.values() for p, _ in lines], (X0, X1, Y1), frame.tw))[where])
    frame.apply(ax, (X0, X1, Y0, Y1), free, where)
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
