"""Geometry for the ``org`` style: oblique boxes, kernel windows, a greedy
label placer, and moving a finished drawing onto its canvas."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

from ..scene import Group, Path, Polygon, Rect, Text, boxes_overlap, font_extent, text_width

ANGLE = math.radians(62.0)  # the receding axis goes up and to the left, as in the paper
COS, SIN = math.cos(ANGLE), math.sin(ANGLE)
EDGE = "#000000"
EDGE_WIDTH = 0.9
FILL = "#ffffff"


@dataclass(frozen=True)
class Cuboid:
    """A box seen in oblique projection: the front face's top-left corner at
    (x, y), ``d`` wide (channels), ``h`` high (rows) and ``l`` deep along the
    receding axis (columns)."""

    x: float
    y: float
    d: float
    h: float
    l: float

    def at(self, u: float, v: float, w: float) -> tuple[float, float]:
        """The screen point of box-local (across, down, back)."""
        return (self.x + u - w * COS, self.y + v - w * SIN)

    @property
    def right(self) -> float:
        return self.x + self.d

    @property
    def left(self) -> float:
        return self.x - self.l * COS

    @property
    def top(self) -> float:
        return self.y - self.l * SIN

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def front(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.d, self.y + self.h)

    def faces(self, cls: str | None = None, width: float = EDGE_WIDTH) -> list:
        p = self.at
        d, h, l = self.d, self.h, self.l
        left = (p(0, 0, 0), p(0, 0, l), p(0, h, l), p(0, h, 0))
        top = (p(0, 0, 0), p(d, 0, 0), p(d, 0, l), p(0, 0, l))
        front = (p(0, 0, 0), p(d, 0, 0), p(d, h, 0), p(0, h, 0))
        return [Polygon(tuple(_r(q) for q in face), fill=FILL, stroke=EDGE, stroke_width=width, cls=cls)
                for face in (left, top, front)]

    def landing(self) -> tuple[float, float]:
        """Where projection lines from the layer before end: mid left face."""
        return self.at(0.0, self.h / 2, self.l / 2)


WIN_GAP = 2.0  # least room between two windows, and between a window and its box's edges
WIN_MIN = 8.0  # least width of a window's front face when the windows lie on the box's front face


def bbox(box: Cuboid) -> tuple[float, float, float, float]:
    """The screen rectangle a box covers."""
    return (box.left, box.top, box.right, box.bottom)


def apart(rects, gap: float = WIN_GAP) -> bool:
    """Whether no two rectangles come within ``gap`` of each other."""
    return not any(boxes_overlap(a, b, gap - 1e-6) for i, a in enumerate(rects) for b in rects[i + 1:])


def windows(box: Cuboid, hk: float, lk: float, count: int, room: float = 0.0,
            above: float = 0.0) -> list[Cuboid]:
    """``count`` kernel windows of ``hk`` rows by ``lk`` columns inside ``box``,
    the first highest, none overlapping another. They lie on the box's front
    face, stacked as in the paper (drawn up to a fifth smaller where that makes
    a stack fit), or in a staircase or grid; in a box too thin
    for that, along its receding side from high and far back to low and in
    front, leaving ``room`` px beside the first one's back edge for its labels
    where the box is deep enough. A lone window on the front face sits low
    enough to leave ``above`` px over it for a label where the box is tall
    enough. Where even that cannot keep them apart, they are drawn smaller."""
    hk, lk = max(1.0, min(hk, box.h - 2 * WIN_GAP)), max(1.0, min(lk, box.l - 2 * WIN_GAP))
    for f in (1.0, 0.9, 0.8):
        wins = _front(box, hk * f, lk * f, count, count, above)
        if wins and apart([bbox(w) for w in wins]):
            return wins
    f = 1.0
    while True:
        for rows in range(count, 0, -1):
            wins = _front(box, hk * f, lk * f, count, rows, above)
            if wins and apart([bbox(w) for w in wins]):
                return wins
        for r in (room, 0.0):
            wins = _side(box, hk * f, lk * f, count, r)
            if apart([bbox(w) for w in wins]) or f < 0.05:
                return wins
        f *= 0.9


def _front(box: Cuboid, hk: float, lk: float, count: int, rows: int, above: float) -> list[Cuboid] | None:
    """Windows on the front face in ``rows`` rows (a window's back edges on the face too)."""
    g = WIN_GAP
    cols = -(-count // rows)
    back_x, back_y = lk * COS, lk * SIN
    wide = (box.d - 2 * g - (cols - 1) * g) / cols  # each column's room
    dk = min(wide, 0.55 * box.d + back_x) - back_x
    tall = hk + back_y
    if dk < WIN_MIN or rows * tall + (rows - 1) * g > box.h - 2 * g + 1e-9:
        return None
    w = dk + back_x
    # clear of the box's right side, as in the paper, where there is room
    right = min(max(g, min(0.15 * box.d, 8.0)), box.d - g - cols * w - (cols - 1) * g)
    out = []
    for i in range(count):
        r, c = divmod(i, cols) if rows > 1 else (0, i)
        if count == 1:
            top = max((box.h - tall) / 2, min(above, box.h - g - tall))
        elif rows == 1:  # one row of columns: a staircase, first high, last low
            top = g + (box.h - 2 * g - tall) * i / (count - 1)
        else:
            top = g + (box.h - 2 * g - tall) * r / (rows - 1)
        if cols == 1:
            left = box.d - right - w
        else:
            left = g + (box.d - right - g - w) * c / (cols - 1)
        out.append(Cuboid(box.x + left + back_x, box.y + top + back_y, dk, hk, lk))
    return out


def _side(box: Cuboid, hk: float, lk: float, count: int, room: float) -> list[Cuboid]:
    """Windows along the box's receding side, for a box too thin to hold them
    on its front face: the first high and far back, the last low and in front,
    clear of the box's edges (and of its front face where the box is deep enough)."""
    dk = max(2.0, min(box.d * 0.45, box.d - 2.0)) if box.d > 4 else box.d * 0.6
    u0 = box.d - dk - min(box.d * 0.2, 12.0)
    mv = max(WIN_GAP, min(0.08 * box.h, (box.h - hk) / 2))
    mw = max(WIN_GAP, min(0.1 * box.l, (box.l - lk) / 2))
    # deep enough to be clear of the front face, where that leaves the room
    behind = (u0 + dk + WIN_GAP) / COS
    if behind <= box.l - lk - max(mw, room / COS):
        mw = max(mw, behind)
    # room on the left of the first window (it is far back) and of the last one
    # (it is low: going left on the side face goes down it)
    far = max(mw, min(box.l - lk - mw, box.l - lk - room / COS))
    low = box.h - hk - max(mv, min(room * SIN / COS + 6.0 - hk / 2, (box.h - hk) / 2))
    out = []
    for i in range(count):
        t = i / (count - 1) if count > 1 else 0.5
        v0 = mv + (low - mv) * t
        w0 = mw + (far - mw) * (1.0 - t)
        x, y = box.at(u0, v0, w0)
        out.append(Cuboid(x, y, dk, hk, lk))
    return out


def _r(p):
    return (round(p[0], 3), round(p[1], 3))


def projection(win: Cuboid, target: tuple[float, float], cls: str | None = None) -> list:
    """Two dotted lines to the point the window lands on in the next map, from
    the two corners of its outline that are farthest apart as seen from that
    point (the edges of the cone it projects), so that the two never run
    together, however steeply they go."""
    d, h, l = win.d, win.h, win.l
    outline = [win.at(*c) for c in ((0, h, 0), (d, h, 0), (d, 0, 0), (d, 0, l), (0, 0, l), (0, h, l))]
    tx, ty = target
    bearing = [math.atan2(ty - y, tx - x) for x, y in outline]
    ends = (outline[bearing.index(min(bearing))], outline[bearing.index(max(bearing))])
    return [Path((_r(c), _r(target)), stroke=EDGE, stroke_width=0.8, dash=(1.5, 2.0), cls=cls)
            for c in ends]


def arrow(a: tuple[float, float], b: tuple[float, float], cls: str | None = None) -> Path:
    return Path((_r(a), _r(b)), stroke=EDGE, stroke_width=1.0, arrow=True, cls=cls)


def bar(x: float, y: float, w: float, h: float, cls: str | None = None) -> Rect:
    return Rect(round(x, 3), round(y, 3), round(w, 3), round(h, 3), fill=FILL, stroke=EDGE,
                stroke_width=EDGE_WIDTH, cls=cls)


# --- labels -------------------------------------------------------------

def baseline(top: float, size: float) -> float:
    """The baseline that puts a line's ink top at ``top``."""
    return top + font_extent(size)[0]


def beside(text: str, size: float, point, normal, clear: float = 2.5, cls: str | None = None) -> Text:
    """``text`` set beside a line through ``point`` whose unit normal is
    ``normal``, on that side, its ink box ``clear`` away from the line."""
    nx, ny = normal
    w = text_width(text, size)
    asc, desc = font_extent(size)
    reach = clear + w / 2 * abs(nx) + (asc + desc) / 2 * abs(ny)
    cx, cy = point[0] + nx * reach, point[1] + ny * reach
    return Text(round(cx, 3), round(cy + (asc - desc) / 2, 3), text, size, anchor="middle", cls=cls)


CELL = 32.0  # the line index's cell side


class Placer:
    """Greedy label placement: each label tries its candidate spots in order and
    takes the first that overlaps no label placed before it, is crossed by no
    line of the drawing (box and window edges, dotted lines, arrows) and,
    unless told otherwise, covers no obstacle such as a box's front face or a
    bar. Lines, obstacles and placed labels are kept in grids of cells, so
    that a spot is checked against the few things near it."""

    def __init__(self, obstacles=(), segments=(), gap: float = 2.0):
        self.segments = _Grid()
        for a, b in segments:
            self.segments.add_segment(a, b)
        self.obstacles = _Grid()
        for o in obstacles:
            self.obstacles.add(o, o)
        self.labels = _Grid()
        self.gap = gap

    @property
    def placed(self) -> list:
        return self.labels.items

    def _take(self, box):
        self.labels.add(box, box)

    def crossed(self, box) -> bool:
        """Whether a line runs through the box or within 2 px of it (from the
        edge of its stroke, 1 px at the widest)."""
        grown = (box[0] - 2.5, box[1] - 2.5, box[2] + 2.5, box[3] + 2.5)  # 2 px from the stroke's edge
        return any(crosses(a, b, grown) for a, b in self.segments.near(grown))

    def free(self, box, obstacles: bool = True, lines: bool = True) -> bool:
        g = self.gap
        if any(boxes_overlap(box, b, g) for b in self.labels.near((box[0] - g, box[1] - g, box[2] + g, box[3] + g))):
            return False
        if obstacles and any(boxes_overlap(box, o) for o in self.obstacles.near(box)):
            return False
        return not (lines and self.crossed(box))

    def place(self, candidates: list[Text], obstacles: bool = True, required: bool = True,
              near: float = 0.0, step: float = 3.0) -> Text | None:
        """The first free candidate; else the free spot nearest the first
        candidate within ``near`` px. A required label that finds none takes
        the first candidate that only lines cross (a label near its box reads
        better than one far from it), else the first candidate moved down until
        it is free: it always ends up placed."""
        if not candidates:
            return None
        t = candidates[0]
        x0, y0, x1, y1 = t.box
        spots = [(c, c.box) for c in candidates]
        spots += [((dx, dy), (x0 + dx, y0 + dy, x1 + dx, y1 + dy)) for dx, dy in _around(near, step)]
        if required:  # farther out, still clear of every line, before one that a line crosses
            spots += [((dx, dy), (x0 + dx, y0 + dy, x1 + dx, y1 + dy))
                      for dx, dy in _around(max(2 * near, 24.0), step)[len(_around(near, step)):]]
        for lines in (True, False) if required else (True,):
            for c, box in spots:
                if self.free(box, obstacles, lines):
                    self._take(box)
                    return c if isinstance(c, Text) else replace(t, x=round(t.x + c[0], 3), y=round(t.y + c[1], 3))
        if not required:
            return None
        for i in range(1, 2000):
            moved = replace(t, y=t.y + i * step)
            if self.free(moved.box, obstacles):
                self._take(moved.box)
                return moved
        raise RuntimeError(f"no room for label {t.text!r}")  # pragma: no cover (unbounded space below)

    def place_block(self, lines: list[tuple[str, float]], x: float, top: float, size: float,
                    line: float, anchor: str = "start", cls: str | None = None,
                    step: float = 3.0) -> list[Text]:
        """Several lines kept together (a note such as "Max" / "pooling"),
        moved down as one until all of them are free."""
        for i in range(0, 2000):
            y0 = top + i * step
            texts = [Text(round(x + dx, 3), round(baseline(y0 + k * line, size), 3), s, size=size,
                          anchor=anchor, cls=cls)
                     for k, (s, dx) in enumerate(lines)]
            if all(self.free(t.box) for t in texts):
                for t in texts:
                    self._take(t.box)
                return texts
        raise RuntimeError("no room for a note")  # pragma: no cover


class _Grid:
    """Things with a bounding box, found by the cells of a grid that box covers."""

    def __init__(self):
        self.cells: dict[tuple[int, int], list[int]] = {}
        self.items: list = []

    def add(self, box, item):
        for cell in _cells(*box):
            self.cells.setdefault(cell, []).append(item)
        self.items.append(item)

    def add_segment(self, a, b):
        """The segment a-b, in the cells it passes through (not all its bounding box's)."""
        (ax, ay), (bx, by) = sorted((a, b))
        item = (a, b)
        for i in range(math.floor(ax / CELL), math.floor(bx / CELL) + 1):
            if bx == ax:
                y0, y1 = ay, by
            else:  # the segment's heights where it crosses this column
                x0, x1 = max(ax, i * CELL), min(bx, (i + 1) * CELL)
                y0, y1 = (ay + (by - ay) * (x - ax) / (bx - ax) for x in (x0, x1))
            for j in range(math.floor(min(y0, y1) / CELL), math.floor(max(y0, y1) / CELL) + 1):
                self.cells.setdefault((i, j), []).append(item)
        self.items.append(item)

    def near(self, box):
        """The things in the cells the box meets (one may come more than once)."""
        for cell in _cells(*box):
            yield from self.cells.get(cell, ())


def _cells(x0, y0, x1, y1):
    i0, i1, j0, j1 = math.floor(x0 / CELL), math.floor(x1 / CELL), math.floor(y0 / CELL), math.floor(y1 / CELL)
    return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]


@functools.lru_cache(maxsize=None)
def _around(radius: float, step: float) -> tuple:
    """Offsets in rings of ``step`` px out to ``radius``, nearest first, in a fixed order."""
    out = []
    for r in range(1, int(radius / step) + 1):
        for k in range(8 * r):
            a = 2 * math.pi * k / (8 * r)
            out.append((round(r * step * math.cos(a), 3), round(r * step * math.sin(a), 3)))
    return tuple(out)


def edges(items):
    """Every straight line drawn in ``items``: the sides of polygons, the paths."""
    out = []

    def rec(item):
        if isinstance(item, Group):
            for c in item.children:
                rec(c)
        elif isinstance(item, Polygon):
            pts = item.points
            out.extend(zip(pts, pts[1:] + pts[:1]))
        elif isinstance(item, Path):
            out.extend(zip(item.points, item.points[1:]))

    for item in items:
        rec(item)
    return out


def crosses(a, b, box) -> bool:
    """Whether the segment a-b meets the box (x0, y0, x1, y1) (Liang-Barsky clipping)."""
    (ax, ay), (bx, by) = a, b
    if (ax < box[0] and bx < box[0]) or (ax > box[2] and bx > box[2]) or \
            (ay < box[1] and by < box[1]) or (ay > box[3] and by > box[3]):
        return False  # wholly to one side
    dx, dy = bx - ax, by - ay
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, ax - box[0]), (dx, box[2] - ax), (-dy, ay - box[1]), (dy, box[3] - ay)):
        if p == 0:
            if q < 0:
                return False
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return False
    return True


# --- the canvas -------------------------------------------------------------

ARROW_PAD = 6.0


def extent(items) -> tuple[float, float, float, float]:
    """The bounding box of scene items (text by its ink, arrows with their heads)."""
    xs0, ys0, xs1, ys1 = [], [], [], []

    def add(x0, y0, x1, y1):
        xs0.append(x0), ys0.append(y0), xs1.append(x1), ys1.append(y1)

    def rec(item):
        if isinstance(item, Group):
            for c in item.children:
                rec(c)
        elif isinstance(item, Text):
            add(*item.box)
        elif isinstance(item, Rect):
            add(item.x, item.y, item.x + item.w, item.y + item.h)
        elif isinstance(item, (Polygon, Path)):
            pad = ARROW_PAD if isinstance(item, Path) and item.arrow else item.stroke_width
            xs = [p[0] for p in item.points]
            ys = [p[1] for p in item.points]
            add(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
        else:  # pragma: no cover
            raise TypeError(f"not an org scene item: {item!r}")

    for item in items:
        rec(item)
    return min(xs0), min(ys0), max(xs1), max(ys1)


def shift(item, dx: float, dy: float):
    """The item moved by (dx, dy)."""
    def pts(points):
        return tuple((round(x + dx, 2), round(y + dy, 2)) for x, y in points)

    if isinstance(item, Group):
        return replace(item, children=tuple(shift(c, dx, dy) for c in item.children))
    if isinstance(item, Text):
        return replace(item, x=round(item.x + dx, 2), y=round(item.y + dy, 2))
    if isinstance(item, Rect):
        return replace(item, x=round(item.x + dx, 2), y=round(item.y + dy, 2))
    if isinstance(item, (Polygon, Path)):
        return replace(item, points=pts(item.points))
    raise TypeError(f"not an org scene item: {item!r}")  # pragma: no cover
