"""A part of a branching row that does not split into lanes (modules.Tangle:
a branch feeding two merges, a searched cell), laid out by Graphviz's dot
inside a frame in the row: its cells where dot puts them, left to right,
each with its label under it, and its edges as dot's splines.

dot is handed one box per cell, as wide as the cell's slot in the row and
as tall as the part's tallest disc and label, the disc above the box's
centre by the same length in each; edges run between the boxes' centres,
and are moved here onto the discs' centres and cut at the discs. The cell
before the part is a point at the frame's left, where the row's line comes
in (the lines from it are bent onto the row's line where dot put it above
or below); the merge cell after it is the part's last cell, on the row's
line, and carries its one bar; a part that ends the network gives each
of its cells its bar. A row style never needs dot: where it is
not installed, row.py does not ask for tangles at all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..layout.dot import Edge, Graph, Node, lay_out
from .modules import Tangle

PAD = 12.0  # inside the frame, around what is drawn (as modrow.PAD)
EDGE = 6.0  # from the part's slot to its frame (as modrow.EDGE)
RANK_GAP = 16.0  # between dot's ranks: room for the lines to bend
NODE_GAP = 10.0  # between two boxes of one rank (the labels are inside the boxes)
ENTRY = "in"
MAX_CELLS = 120  # cells and edges in one part: dot takes seconds for more, and it reads no better
MODES = ("graph", "brackets")  # --tangles


@dataclass
class Placement:
    """Where a tangle's parts go, from the left of its slot (x) and the row's
    line (y)."""

    w: float  # the slot's width
    up: float  # reach above the line
    down: float  # reach below it
    frame: tuple[float, float, float, float]  # x0, y0, x1, y1
    cells: dict  # column -> (x, y)
    entry: tuple[float, float]  # where the edges from the cell before start
    edges: list  # (src column, dst column, polyline); src is tangle.entry for the lines from the point
    bars: dict  # column -> x of its bar, for a part that ends the network (each cell has its bar)


def limit(options) -> int:
    """The most cells and edges a part laid out by dot may have (the lower
    of MAX_CELLS and --max-nodes); 0 where parts keep the bracketed row:
    asked for, or dot or the graphviz package missing."""
    if getattr(options, "tangles", "graph") != "graph" or not available():
        return 0
    return min(MAX_CELLS, getattr(options, "max_nodes", MAX_CELLS))


def available() -> bool:
    """Whether dot and the graphviz package are there to lay out tangles."""
    import shutil
    if shutil.which("dot") is None:
        return False
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return True


def place(tangle: Tangle, radius, reach, half_width, slot, bar_room=lambda c: 0.0) -> Placement:
    """Lay TANGLE out with dot. RADIUS(c): a cell's disc; REACH(c): (up, down)
    of its icon and label from its centre; HALF_WIDTH(c): half of what is
    drawn of it across (disc or label); SLOT(c): its width in a row;
    BAR_ROOM(c): the width its bar and the bar's label need (0: no bar).

    A part that ends the network has no merge to carry its bar, so each of
    its cells carries its own: under the cell, or, where dot puts several
    barred cells one above another (one rank), side by side under them, the
    top cell's first; such a rank is laid out again, wide enough for them."""
    ends = tangle.cols + ([tangle.merge] if tangle.merge is not None else [])
    # every box as tall as the tallest cell and label, each disc as far above
    # its box's centre: the discs of a chain stay on one line
    up = max(reach(c)[0] for c in ends)
    down = max(reach(c)[1] for c in ends)
    edges = tuple(Edge(f"e{k}", ENTRY if a == tangle.entry else f"n{a}", f"n{b}")
                  for k, (a, b) in enumerate(tangle.edges))
    widths = {c: max(slot(c), bar_room(c)) for c in ends}
    for _ in range(2):
        nodes = [Node(ENTRY, 2.0, up + down)] + [Node(f"n{c}", widths[c], up + down) for c in ends]
        placed = lay_out(Graph(tuple(nodes), edges, (), "LR", node_gap=NODE_GAP, rank_gap=RANK_GAP, clip=False))
        ranks = _ranks({c: placed.nodes[f"n{c}"] for c in ends if bar_room(c) > 0})
        wider = {c: sum(bar_room(d) for d in rank) for rank in ranks for c in rank}
        if all(wider[c] <= widths[c] + 0.01 for c in wider):
            break
        widths.update({c: max(widths[c], w) for c, w in wider.items()})
    lift = {n.id: (down - up) / 2 for n in nodes}  # from a box's centre up to its disc's
    discs = {n: (x, y - lift[n]) for n, (x, y) in placed.nodes.items()}
    ex, ey = discs[ENTRY]
    ax, ay = ex, discs[f"n{tangle.merge}"][1] if tangle.merge is not None else ey

    def rel(p):
        return p[0] - ax, p[1] - ay

    cells = {c: rel(discs[f"n{c}"]) for c in ends}
    lines = []
    for (a, b), e in zip(tangle.edges, edges):
        parts, _ = placed.edges[e.id]
        # a line from the point starts on the row's line, wherever dot put the point
        start = lift[e.src] + (ey - ay if e.src == ENTRY else 0.0)
        pts = _lifted([p for part in parts for p in part], start, lift[e.dst])
        pts = [rel(p) for p in pts]
        if a != tangle.entry:
            pts = _cut(pts, cells[a], radius(a) + 1)
        else:  # from the point itself, where the row's line comes in
            pts = [(0.0, 0.0)] + pts[1:]
        pts = _cut(pts[::-1], cells[b], radius(b) + 1)[::-1]
        lines.append((a, b, tuple(pts)))
    xs, ys = [0.0], [0.0]
    for c, (x, y) in cells.items():
        hw = half_width(c)
        xs += [x - hw, x + hw]
        ys += [y - reach(c)[0], y + reach(c)[1]]
    for _, _, pts in lines:
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
    x0, x1 = -PAD, max(xs) + PAD
    y0, y1 = min(ys) - PAD, max(ys) + PAD
    shift = EDGE - x0  # the frame starts EDGE into the slot
    w = x1 + shift + EDGE
    if tangle.merge is not None:  # the merge's bar label may reach past the frame
        w = max(w, cells[tangle.merge][0] + shift + slot(tangle.merge) / 2)
    bars = {}
    for rank in _ranks({c: cells[c] for c in ends if bar_room(c) > 0}):
        left = sum(cells[c][0] for c in rank) / len(rank) - sum(bar_room(c) for c in rank) / 2
        for c in rank:
            bars[c] = round(left + bar_room(c) / 2 + shift, 3)
            left += bar_room(c)
            w = max(w, bars[c] + bar_room(c) / 2)
    return Placement(
        w=w, up=-y0, down=y1, frame=(x0 + shift, y0, x1 + shift, y1),
        cells={c: (x + shift, y) for c, (x, y) in cells.items()}, entry=(shift, 0.0),
        edges=[(a, b, tuple((x + shift, y) for x, y in pts)) for a, b, pts in lines], bars=bars)


def _ranks(at: dict) -> list[list]:
    """The cells of AT (column -> (x, y)) in groups of one x (a rank of dot's
    left-to-right layout), left to right, each top to bottom."""
    ranks: list[list] = []
    for c in sorted(at, key=lambda c: (at[c][0], at[c][1], c)):
        if ranks and abs(at[ranks[-1][0]][0] - at[c][0]) < 1.0:
            ranks[-1].append(c)
        else:
            ranks.append([c])
    return ranks


def _lifted(points: list, a: float, b: float) -> list:
    """POINTS (a line from one box's centre to another's) moved up by A at
    the start and B at the end, in between in proportion to the length run:
    from disc to disc."""
    run = [0.0]
    for p, q in zip(points, points[1:]):
        run.append(run[-1] + math.hypot(q[0] - p[0], q[1] - p[1]))
    total = run[-1] or 1.0
    return [(x, y - a - (b - a) * r / total) for (x, y), r in zip(points, run)]


def _cut(points: list, centre: tuple[float, float], r: float) -> list:
    """POINTS from where they leave the circle of R around CENTRE."""
    cx, cy = centre

    def inside(p):
        return math.hypot(p[0] - cx, p[1] - cy) < r

    k = 0
    while k < len(points) - 1 and inside(points[k + 1]):
        k += 1
    if k >= len(points) - 1:
        return points
    p, q = points[k], points[k + 1]
    if not inside(p):
        return points[k:]
    # the point between p (inside) and q (outside) at distance r from the centre
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        m = (p[0] + (q[0] - p[0]) * mid, p[1] + (q[1] - p[1]) * mid)
        lo, hi = (mid, hi) if inside(m) else (lo, mid)
    t = hi
    return [(round(p[0] + (q[0] - p[0]) * t, 3), round(p[1] + (q[1] - p[1]) * t, 3))] + points[k + 1:]
