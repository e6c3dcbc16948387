"""Where the ``blocks`` style puts its blocks along the row, and the lines
between them. A chain is one row. A branching network is split into the
modules of ``modules.py`` (a residual block, an Inception module): the
branches of a module are lanes stacked one under another inside a frame,
each fed from a split line at the frame's left edge and ending in an arrow
into a join line through the merge marker, so each branch has its own
arrow head and none meets another's; a shortcut is an empty lane over the
others. Identical modules in a row are drawn once, the frame marked "xN".

Blocks are shaped at the origin by ``blocks.py``; here they are only moved.
A unit is anything with ``marked``, ``box``, ``slab``, ``cx`` and ``cy``."""
from __future__ import annotations

from dataclasses import dataclass, field

from .modules import Cell, Module, Run

MARKER_R = 10.0
GAP = 28.0  # the visible stretch of an arrow between two blocks
FRONT_GAP = 26.0  # least room between two front faces, for the side label of the first
SPLIT = 24.0  # from the block before a module to its split line (two frames 8 px apart)
LANE_GAP = 16.0  # between one lane's labels and the next lane's top
LABEL_ROOM = 22.0  # kept under a lane's boxes for their labels
SHORTCUT_GAP = 14.0  # a shortcut's height over the lanes
FRAME_PAD = 8.0
WALL = 6.0  # least room between a frame and a block outside it
MARK_ROOM = 18.0  # under a frame's lanes, for its "xN"
HEAD_BACK = 5.5  # a head's tip is this far past the middle of its stretch


def entry(u) -> float:
    """Where the unit's axis first meets it on screen."""
    if u.marked:
        return u.cx - MARKER_R
    hit = u.box.span_y(u.cy)
    return hit[0] if hit else u.box.x


def leave(u) -> float:
    """Where the unit's axis last leaves it on screen: the visible right edge
    of its box or its slab, on a side face for a box centred in depth."""
    if u.marked:
        return u.cx + MARKER_R
    hits = [b.span_y(u.cy) for b in (u.box, u.slab) if b is not None]
    return max((h[1] for h in hits if h), default=u.end)


def front(u) -> float:
    """The right edge of the unit's front face (or its marker)."""
    return u.cx + MARKER_R if u.marked else (u.slab or u.box).front[2]


def bounds(u) -> tuple[float, float, float, float]:
    if u.marked:
        return (u.cx - MARKER_R, u.cy - MARKER_R, u.cx + MARKER_R, u.cy + MARKER_R)
    boxes = [b.bounds for b in (u.box, u.slab) if b is not None]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def move(u, dx: float, dy: float = 0.0) -> None:
    from .blocks_draw import Box
    u.cx += dx
    u.cy += dy
    if u.marked:
        return
    u.box = Box(u.box.fx + dx, u.box.fy + dy, u.box.d, u.box.h, u.box.l)
    if u.slab is not None:
        u.slab = Box(u.slab.fx + dx, u.slab.fy + dy, u.slab.d, u.slab.h, u.slab.l)


def _origin(u) -> float:
    return u.cx - MARKER_R if u.marked else u.box.x


@dataclass
class Link:
    """A line: ``kind`` arrow (block to block), lane-in (a split or join line
    to a block), lane-out (a lane's end to the join line), shortcut, split or
    join (the lines the lanes leave from and end on, without heads)."""

    points: list
    head: tuple | None  # (x, y) of the tip, pointing right; None for a line without one
    kind: str
    dst: int | None = None  # the unit it leads into
    src: int | None = None  # the unit it comes from

    def shift(self, dy: float) -> None:
        self.points = [(x, y + dy) for x, y in self.points]
        if self.head is not None:
            self.head = (self.head[0], self.head[1] + dy)


@dataclass
class Frame:
    """A module's frame (or a repeated run's); ``repeat`` > 1 is written "xN"
    at its lower right corner; ``cols`` are the columns of every copy."""

    box: list  # x0, y0, x1, y1
    repeat: int
    cols: list = field(default_factory=list)

    def shift(self, dy: float) -> None:
        self.box = [self.box[0], self.box[1] + dy, self.box[2], self.box[3] + dy]


@dataclass
class Part:
    """What a sequence drew, on an axis at y = 0 until it is stacked."""

    end: float | None  # where the next arrow starts (None before the first block)
    front: float | None
    last: int | None = None  # the unit the next arrow comes from (None after a split or join line)
    src: int | None = None  # the unit before the split, for a lane's first arrow
    right: float | None = None  # the right edge of the block drawn last, on screen (with its depth)
    wall: float | None = None  # the right edge of the frame drawn last, when nothing was drawn after it
    units: list = field(default_factory=list)
    links: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    top: float = 0.0
    bottom: float = 0.0


def _span(top: float, bottom: float, a: float, b: float) -> tuple[float, float]:
    return min(top, a), max(bottom, b)


def _arrow(a: float, b: float, y: float, kind: str, dst=None, src=None) -> Link:
    """From a to b along y, the head half way along."""
    return Link([(a, y), (b, y)], ((a + b) / 2 + HEAD_BACK, y), kind, dst, src)


class Lanes:
    """The arrangement of a branching network: ``items`` from ``modules.plan``
    (folded), ``units`` the blocks they name by column."""

    def __init__(self, units: list, items: list):
        self.units, self.items = units, items
        self.part: Part | None = None

    def arrange(self) -> float:
        """Lay out every unit; returns the width on screen."""
        for u in self.units:  # shape_units put every unit at the origin again
            u.cy = 0.0
        self.part = self.seq(Part(end=None, front=None), self.items)
        boxes = [bounds(self.units[j]) for j in self.part.units]
        boxes += [f.box for f in self.part.frames]
        return max(b[2] for b in boxes) - min(b[0] for b in boxes)

    def seq(self, part: Part, items: list) -> Part:
        for item in items:
            if isinstance(item, Cell):
                self.cell(part, item.col)
            elif isinstance(item, Run):
                self.run(part, item)
            else:
                self.module(part, item)
        return part

    def cell(self, part: Part, j: int) -> None:
        u = self.units[j]
        origin = _origin(u)
        start = origin
        if part.end is not None:
            start = part.end + GAP - (entry(u) - origin)
            if not u.marked and part.front is not None:
                start = max(start, part.front + FRONT_GAP - (u.box.fx - origin))
        move(u, start - origin)
        if part.wall is not None and bounds(u)[0] < part.wall + WALL:  # clear of the frame before
            move(u, part.wall + WALL - bounds(u)[0])
        if part.end is not None:
            kind = "arrow" if part.last is not None else "lane-in"
            part.links.append(_arrow(part.end, entry(u), 0.0, kind, j, part.last if part.last is not None else part.src))
        part.units.append(j)
        part.end, part.front, part.last = leave(u), front(u), j
        x0, y0, x1, y1 = bounds(u)
        part.right, part.wall = x1, None  # a block may recede past the next one's left edge
        part.top, part.bottom = _span(part.top, part.bottom, y0, y1 + (0 if u.marked else LABEL_ROOM))

    def run(self, part: Part, run: Run) -> None:
        first_unit, first_frame = len(part.units), len(part.frames)
        before = (part.top, part.bottom)
        part.top = part.bottom = 0.0  # the frame spans the run's own blocks, not those before it
        self.seq(part, run.items)
        boxes = [bounds(self.units[j]) for j in part.units[first_unit:]] + [f.box for f in part.frames[first_frame:]]
        x0 = min(b[0] for b in boxes) - FRAME_PAD
        x1 = max(b[2] for b in boxes) + FRAME_PAD
        frame = Frame([x0, part.top - FRAME_PAD, x1, part.bottom + MARK_ROOM], run.repeat,
                      [c for copy in run.copies for c in copy if c is not None])
        part.frames.insert(first_frame, frame)
        part.top, part.bottom = _span(*before, frame.box[1], frame.box[3])
        part.right = part.wall = x1

    def module(self, part: Part, m: Module) -> None:
        entry_unit = part.last if part.last is not None else part.src
        x_split = part.end + SPLIT
        if part.right is not None:  # the frame clear of the block before
            x_split = max(x_split, part.right + WALL + FRAME_PAD)
        part.links.append(Link([(part.end, 0.0), (x_split, 0.0)], None, "split", None, entry_unit))
        lanes = [self.seq(Part(end=x_split, front=x_split, src=entry_unit, wall=x_split), lane) for lane in m.lanes]
        merge = self.units[m.merge] if m.merge is not None else None
        x_join = max(p.end for p in lanes) + GAP
        if m.shortcut:
            x_join = max(x_join, x_split + 2 * GAP)
        # stack the lanes: the middle one (the upper of two middles) on the axis
        on_axis = (len(lanes) - 1) // 2
        if merge is not None:  # each lane's arrow into the join line, the one on the axis into the marker
            for k, p in enumerate(lanes):
                stop = x_join - (MARKER_R if merge.marked and k == on_axis else 0.0)
                p.links.append(Link([(p.end, 0.0), (stop, 0.0)], ((p.end + stop) / 2 + HEAD_BACK, 0.0),
                                    "lane-out", m.merge, p.last if p.last is not None else p.src))
        ys = [0.0] * len(lanes)
        for k in range(on_axis - 1, -1, -1):
            ys[k] = ys[k + 1] + lanes[k + 1].top - LANE_GAP - lanes[k].bottom
        for k in range(on_axis + 1, len(lanes)):
            ys[k] = ys[k - 1] + lanes[k - 1].bottom + LANE_GAP - lanes[k].top
        top, bottom = 0.0, 0.0
        for p, y in zip(lanes, ys):
            for j in p.units:
                move(self.units[j], 0.0, y)
            for item in p.links + p.frames:
                item.shift(y)
            part.units += p.units
            part.links += p.links
            part.frames += p.frames
            top, bottom = _span(top, bottom, p.top + y, p.bottom + y)
        axes = list(ys)
        if m.shortcut:
            y = top - SHORTCUT_GAP
            part.links.append(_arrow(x_split, x_join, y, "shortcut", m.merge, entry_unit))
            axes.append(y)
            top = y - 4.0
        if min(axes) < max(axes):
            part.links.append(Link([(x_split, min(axes)), (x_split, max(axes))], None, "split", None, entry_unit))
            gap = MARKER_R if merge is not None and merge.marked else 0.0  # the marker is not crossed
            if merge is not None and min(axes) < -gap:
                part.links.append(Link([(x_join, min(axes)), (x_join, -gap)], None, "join", m.merge))
            if merge is not None and max(axes) > gap:
                part.links.append(Link([(x_join, gap), (x_join, max(axes))], None, "join", m.merge))
        x1 = max(p.end for p in lanes)
        if merge is None:  # the branches end the network
            part.end, part.front, part.last = x1, max(p.front for p in lanes), None
        elif merge.marked:
            move(merge, x_join - merge.cx)
            part.units.append(m.merge)
            part.end = part.front = x1 = x_join + MARKER_R
            part.last = m.merge
        else:  # a block: drawn after the frame, an arrow into it from the join line
            part.end = part.front = x1 = x_join
            part.last = part.src = None
        frame = Frame([x_split - FRAME_PAD, top - FRAME_PAD, x1 + FRAME_PAD,
                       bottom + (MARK_ROOM if m.repeat > 1 else FRAME_PAD)], m.repeat,
                      [c for copy in m.copies for c in copy if c is not None])
        part.frames.insert(len(part.frames) - sum(len(p.frames) for p in lanes), frame)
        part.top, part.bottom = _span(part.top, part.bottom, frame.box[1], frame.box[3])
        part.right = part.wall = frame.box[2]
        if merge is not None and not merge.marked:
            self.cell(part, m.merge)
