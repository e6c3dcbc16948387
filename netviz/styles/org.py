"""``org``: the figure of the 2012 AlexNet paper (its Figure 2,
../reference/alexnet-org.png), drawn from any chain network.

Every feature map a layer with weights makes (the input and each
convolution's output) is a box in oblique projection: rows vertical, columns
along the receding axis, channels across; sides on a square-root scale so
that 227 and 6 are both readable. The network is split into ``streams`` rows
(the paper's two GPUs); each layer's channels are shared out among them. A
convolution whose groups are a multiple of the streams reads only from its own
stream; any other layer reads from every stream, and its connections cross.
Inside each box the next convolution's kernel is a small box with dotted
lines to where it lands; pooling and strides are noted between the maps.
Dense layers are tall bars, one per stream, and the output one bar.
ReLU, LRN, batch norm, dropout and flatten are not drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import UsageError
from ..ir import Layer, ShapedNetwork, format_shape
from ..scene import Group, Scene, Text, font_extent, text_width
from . import common
from .org_draw import (COS, SIN, Cuboid, Placer, arrow, bar, baseline, beside, edges, extent, projection, shift,
                       windows)

SIDE = 10.0  # pixels per sqrt(side length)
DEPTH = 5.5  # pixels per sqrt(channels), shrunk to keep wide networks in WIDTH_BUDGET
DEPTH_MIN = 1.6
RECEDE = 0.5  # foreshortening of the receding axis
WIDTH_BUDGET = 1500.0
GAP_BOX = 40.0  # least gap between two maps
GAP_DENSE = 62.0  # gap before a dense layer (room for the arrows and "dense")
BAR_W = 16.0
ROW_GAP = 18.0
MARGIN = 12.0
LABEL = 11.0  # box and bar labels
KERNEL = 9.0  # kernel window labels
NOTE = 11.5  # "Max pooling", "Stride of 4", "dense"
LINE = 1.25  # line height, in font sizes
MAX_STREAMS = 8
MIN_SIDE = 25.0  # a small network is drawn larger, until the shortest side of its maps is this long,
MAX_SIDE = 160.0  # as long as the longest stays within this
POOL_NOTE = {"maxpool": "Max pooling", "avgpool": "Avg pooling"}
NOT_DRAWN = frozenset({"act", "dropout", "flatten", "lrn", "batchnorm", "norm", "softmax"})


def side(s: int, zoom: float = 1.0) -> float:
    return common.capped(SIDE * zoom * math.sqrt(max(s, 1)))


def zoom_of(cols: list[Col]) -> float:
    """How much larger than the usual scale to draw the maps (and kernels and
    channels) of a network whose maps are all small (LeNet-5: 32 down to 1),
    so that its smallest map stays readable; the text stays the same size."""
    sides = [s for col in cols if col.boxed for s in col.shape[1:]]
    if not sides:
        return 1.0
    return max(1.0, min(MIN_SIDE / side(min(sides)), MAX_SIDE / side(max(sides))))


def split(total: int, streams: int) -> tuple[int, ...]:
    """``total`` shared out among ``streams`` as evenly as it goes, first ones first."""
    q, r = divmod(total, streams)
    return tuple(q + (1 if i < r else 0) for i in range(streams))


@dataclass
class Col:
    """One column of the figure: a map drawn as boxes or a vector drawn as bars."""

    kind: str  # input | conv | custom | dense | output
    layer: Layer
    shape: tuple
    parts: tuple[int, ...]  # channels (boxes) or features (bars), one per drawn unit
    notes: list[str] = field(default_factory=list)  # in the gap before this column
    cross: bool = False  # its connections from the column before cross streams
    units: list = field(default_factory=list)  # Cuboid or bar rect (x, y, w, h), one per part
    right: float = 0.0

    @property
    def single(self) -> bool:
        """One unit for all streams: the input and the output."""
        return self.kind in ("input", "output")

    @property
    def boxed(self) -> bool:
        return len(self.shape) == 3 and self.kind in ("input", "conv", "custom")

    def stream_cls(self, i: int) -> str:
        return "stream-all" if self.single else f"stream-{i}"


def plan(shaped: ShapedNetwork, streams: int) -> tuple[list[Col], list[str]]:
    """The columns to draw, and the notes after the last one."""
    net = shaped.network
    if not net.is_chain:
        branch = next(l for l in net.layers if len(l.inputs) > 1 or len(net.consumers[l.name]) > 1)
        raise UsageError(f"the org style draws a chain of layers, and {net.name} branches at "
                         f"{branch.name}; use --style bars, short, stack, blocks or graph")
    cols: list[Col] = []
    notes: list[str] = []
    for layer in net.layers:
        cat = common.category(layer)
        out = tuple(shaped.info[layer.name].output)
        if cat in NOT_DRAWN:
            continue
        if cat in POOL_NOTE:
            if not notes or notes[-1] != POOL_NOTE[cat]:
                notes.append(POOL_NOTE[cat])
            continue
        if cat == "input":
            cols.append(Col("input", layer, out, (out[0],)))
            continue
        if cat == "conv":
            stride = layer.attrs["stride"]
            if stride != (1, 1):
                notes.append(f"Stride of {common.pair_text(stride)}")
            kind, cross = "conv", layer.attrs["groups"] % streams != 0
        elif cat == "fc":
            kind, cross = "dense", streams > 1
        else:  # custom, and anything a later layer table adds
            kind, cross = "custom", streams > 1
        if len(out) not in (1, 3):
            raise UsageError(f"the org style draws maps (CxHxW) and vectors; {layer.name} makes "
                             f"{format_shape(out)}; use --style bars")
        cols.append(Col(kind, layer, out, split(out[0], streams), notes, cross))
        notes = []
    if cols and cols[-1].kind == "dense" and len(cols) > 1:
        last = cols[-1]
        last.kind, last.parts = "output", (last.shape[0],)
    for col in cols:
        if not col.single and col.shape[0] < streams:
            n = col.shape[0]
            raise UsageError(f"--streams {streams} is more than {col.layer.name}'s {n} "
                             f"{'channels' if len(col.shape) == 3 else 'features'}; use at most {n}")
    return cols, notes


def _tip(col: Col, i: int) -> str:
    name, out = col.layer.name, format_shape(col.shape)
    if col.single:
        return f"{name} ({col.layer.type}): {out}" + common.uncut(col.layer)
    part = format_shape((col.parts[i],) + tuple(col.shape[1:]))
    return f"{name} ({col.layer.type}), stream {i}: {part} of {out}" + common.uncut(col.layer)


def _depth_scale(cols: list[Col], closing: list[str], zoom: float) -> float:
    """The channel scale that keeps the figure inside WIDTH_BUDGET."""
    fixed, per = 0.0, 0.0
    for k, col in enumerate(cols):
        fixed += gap_before(col, cols[k - 1] if k else None)
        if col.boxed:
            fixed += RECEDE * side(col.shape[2], zoom) * COS
            per += max(math.sqrt(p) for p in col.parts)
        else:
            fixed += BAR_W
    fixed += note_width(closing)
    if per == 0 or fixed + DEPTH * zoom * per <= WIDTH_BUDGET:
        return DEPTH * zoom
    return max(DEPTH_MIN * zoom, (WIDTH_BUDGET - fixed) / per)


def note_width(notes: list[str]) -> float:
    return max((text_width(w, NOTE) for n in notes for w in n.split()), default=0.0)


def gap_before(col: Col, prev: Col | None) -> float:
    if prev is None:
        return 0.0
    gap = GAP_DENSE if not col.boxed else GAP_BOX
    return max(gap, note_width(col.notes) + 12.0)


def wrap(notes: list[str], width: float) -> list[str]:
    lines = []
    for note in notes:
        cur = ""
        for word in note.split():
            trial = f"{cur} {word}".strip()
            if cur and text_width(trial, NOTE) > width:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        lines.append(cur)
    return lines


def build(shaped: ShapedNetwork, options: common.RenderOptions) -> Scene:
    streams = options.streams or shaped.network.streams or 1
    if streams > MAX_STREAMS:
        raise UsageError(f"the org style draws at most {MAX_STREAMS} streams, not {streams}")
    cols, closing = plan(shaped, streams)
    zoom = zoom_of(cols)
    depth = _depth_scale(cols, closing, zoom)

    # --- vertical: one row per stream, the single units centred between them
    pitch = 0.0
    last_box_h = 0.0
    for col in cols:
        if col.boxed:
            h = side(col.shape[1], zoom)
            last_box_h = h
            if not col.single:
                up = h / 2 + RECEDE * side(col.shape[2], zoom) * SIN
                pitch = max(pitch, up + h / 2 + LABEL * LINE + 4)
    bar_h = common.capped(max(60.0 * zoom, 2.0 * last_box_h))
    pitch = max(pitch, bar_h + LABEL * LINE + 4) + ROW_GAP
    axes = [s * pitch for s in range(streams)]
    mid = (axes[0] + axes[-1]) / 2

    # --- horizontal: columns left to right
    x = 0.0
    for k, col in enumerate(cols):
        x += gap_before(col, cols[k - 1] if k else None)
        rows = [mid] if col.single else axes
        if col.boxed:
            h, l = side(col.shape[1], zoom), RECEDE * side(col.shape[2], zoom)
            x0 = x + l * COS
            col.units = [Cuboid(x0, cy - h / 2, common.capped(max(1.5, depth * math.sqrt(p))), h, l)
                         for p, cy in zip(col.parts, rows)]
            col.right = max(u.right for u in col.units)
        else:
            h = bar_h * (0.6 if col.kind == "output" else 1.0)
            col.units = [(x, cy - h / 2, BAR_W, h) for cy in rows]
            col.right = x + BAR_W
        x = col.right

    ids = common.Ids()
    boxes, bars, conns, kernel_wins = [], [], [], []
    for col in cols:
        tok = ids.token(col.layer.name)
        for i, unit in enumerate(col.units):
            cls = f"{col.kind} layer-{tok} {col.stream_cls(i)}"
            gid = ids.make("box" if col.boxed else "bar", col.layer.name + ("" if col.single else f"-{i}"))
            if col.boxed:
                boxes.append(Group(tuple(unit.faces()), cls=f"box {cls}", id=gid, title=_tip(col, i)))
            else:
                bars.append(Group((bar(*unit),), cls=f"bar {cls}", id=gid, title=_tip(col, i)))

    # --- connections
    for k in range(1, len(cols)):
        src, dst = cols[k - 1], cols[k]
        tok = ids.token(dst.layer.name)
        kind = "cross" if dst.cross else "own"
        if dst.cross or src.single or dst.single:
            pairs = [(i, j) for i in range(len(src.units)) for j in range(len(dst.units))]
        else:
            pairs = [(i, i) for i in range(len(src.units))]
        wins = {}
        if src.boxed and dst.boxed and dst.kind == "conv":
            kh, kw = dst.layer.attrs["kernel"]
            # room for the kernel labels beside a window, and over a lone one
            room, above = text_width(str(max(kh, kw)), KERNEL) + 6, sum(font_extent(KERNEL)) + 5.5
            for i, unit in enumerate(src.units):
                js = [b for a, b in pairs if a == i]
                made = windows(unit, side(kh, zoom), RECEDE * side(kw, zoom), len(js), room, above)
                wins.update(zip(((i, j) for j in js), made))
        for i, j in pairs:
            cls = (f"conn {kind} layer-{tok} from-{'all' if src.single else i} "
                   f"to-{'all' if dst.single else j}")
            if wins:
                win = wins[i, j]
                items = win.faces(cls="window", width=0.8) + projection(win, dst.units[j].landing())
                conns.append(Group(tuple(items), cls=cls))
                kernel_wins.append((win, kh, kw, dst, src.stream_cls(i)))
            else:
                if src.single or dst.single:
                    a = _out_point(src, i, _frac(j, len(dst.units)))
                    b = _in_point(dst, j, _frac(i, len(src.units)))
                else:  # level within a row, as in the paper; across rows by the shortest way
                    a = _out_point(src, i, _lean(j - i, streams))
                    b = _in_point(dst, j, _lean(i - j, streams))
                conns.append(Group((arrow(a, b),), cls=cls))

    labels = _labels(cols, closing, kernel_wins, boxes + bars + conns, conns, ids) if options.labels else []

    items = [Group(tuple(boxes), cls="boxes", id="boxes"),
             Group(tuple(bars), cls="bars", id="bars"),
             Group(tuple(conns), cls="connections", id="connections")]
    if labels:
        items.append(Group(tuple(labels), cls="labels", id="labels"))
    x0, y0, x1, y1 = extent(items)
    theme = options.theme
    title, title_h = common.title_items(options.title, MARGIN, MARGIN, theme)
    dx, dy = MARGIN - x0, MARGIN + title_h - y0
    items = title + [shift(item, dx, dy) for item in items]
    width = x1 - x0 + 2 * MARGIN
    if options.title:
        width = max(width, 2 * MARGIN + common.title_width(options.title))
    name = shaped.network.title or shaped.network.name
    # whole pixels, so that a PNG is exactly width x height at scale 1
    return Scene(width=math.ceil(width), height=math.ceil(y1 - y0 + 2 * MARGIN + title_h),
                 children=tuple(items), title=f"{name} (org)",
                 desc=common.network_desc(shaped) + f"; drawn in {streams} stream{'s' * (streams > 1)}",
                 background=theme["background"],
                 meta={"cuts": [round(col.right + dx + 10, 3) for col in cols[:-1]]})  # past a map's notes


def _frac(index: int, count: int) -> float:
    return (index + 1) / (count + 1)


def _lean(rows: int, streams: int) -> float:
    """How far down its unit an arrow leaves or arrives that goes ``rows`` rows down."""
    return 0.5 + 0.35 * rows / max(1, streams - 1)


def _out_point(col: Col, i: int, frac: float) -> tuple[float, float]:
    """Where an arrow leaves unit i of ``col``, ``frac`` of the way down."""
    unit = col.units[i]
    if col.boxed:
        return unit.right, unit.y + unit.h * frac
    x, y, w, h = unit
    return x + w, y + h * frac


def _in_point(col: Col, j: int, frac: float) -> tuple[float, float]:
    unit = col.units[j]
    if col.boxed:
        return unit.landing()
    x, y, w, h = unit
    return x, y + h * frac


def _at_x(points, x: float) -> float:
    """The height of the segment points[0]-points[1] at x."""
    (x0, y0), (x1, y1) = points[0], points[-1]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


LEFT_DOWN = (-SIN, COS)  # the normal of a receding edge that points left and down
RIGHT_UP = (SIN, -COS)


def _labels(cols: list[Col], closing: list[str], kernel_wins, drawn, conns, ids: common.Ids) -> list[Text]:
    obstacles = []
    for col in cols:
        for u in col.units:
            obstacles.append(u.front if col.boxed else (u[0], u[1], u[0] + u[2], u[1] + u[3]))
    placer = Placer(obstacles, edges(drawn))
    asc = lambda size: baseline(0, size)  # noqa: E731
    out: list[Text] = []

    # sides and channels of the maps, widths of the bars
    for col in cols:
        tok = ids.token(col.layer.name)
        for i, u in enumerate(col.units):
            tail = f"layer-{tok} {col.stream_cls(i)}"
            if col.boxed:
                c, h, w = col.parts[i], col.shape[1], col.shape[2]

                def along_bottom(text, cls):  # beside the lower receding edge: columns
                    return [beside(text, LABEL, u.at(0, u.h, f * u.l), LEFT_DOWN, 3, cls) for f in (0.5, 0.3, 0.7)]

                def along_back(text, cls):  # beside the back vertical edge: rows
                    return [beside(text, LABEL, u.at(0, f * u.h, u.l), (-1, 0), 3, cls) for f in (0.5, 0.3, 0.7)]

                if w == h:
                    out.append(placer.place(along_bottom(str(h), f"label side {tail}") +
                                            along_back(str(h), f"label side {tail}"), near=15))
                else:
                    out.append(placer.place(along_back(str(h), f"label side {tail}"), near=15))
                    out.append(placer.place(along_bottom(str(w), f"label side-w {tail}"), near=15))
                out.append(placer.place([beside(str(c), LABEL, (u.x + f * u.d, u.bottom), (0, 1), 3,
                                                f"label channels {tail}") for f in (0.5, 0.3, 0.7, 0.15, 0.85)],
                                        near=12))
            else:
                x, y, bw, bh = u
                out.append(placer.place([Text(x + bw / 2, y + bh + 3 + asc(LABEL), str(col.parts[i]), LABEL,
                                              cls=f"label width {tail}")], near=6))

    # kernel sizes beside the windows' edges, where there is room: rows by the
    # front face's right edge (inside it, as in the paper, where it is wide
    # enough), columns by the receding edge; a thin box's window has both on
    # its left, on the box's side face
    for win, kh, kw, dst, stream in kernel_wins:
        cls = f"label kernel layer-{ids.token(dst.layer.name)} {stream}"
        rows, columns = str(kh), str(kw)
        right = (win.right, win.y + win.h / 2)
        left_rows = [beside(rows, KERNEL, win.at(0, f * win.h, win.l), (-1, 0), 3.2, cls) for f in (0.75, 0.5)]
        left_cols = [beside(columns, KERNEL, win.at(0, f * win.h, win.l), (-1, 0), 3.2, cls) for f in (0.25, 0.5)]
        right_rows = [beside(rows, KERNEL, (win.right, win.y + f * win.h), (1, 0), 3.2, cls) for f in (0.5, 0.75, 0.25)]
        right_cols = [beside(columns, KERNEL, win.at(win.d, 0, win.l / 2), RIGHT_UP, 3.2, cls),
                      beside(columns, KERNEL, (win.right, win.y + KERNEL / 2), (1, 0), 3.2, cls),
                      *(beside(columns, KERNEL, win.at(f * win.d, 0, win.l), (0, -1), 3.2, cls) for f in (0.5, 0, 1))]
        if win.d >= text_width(rows, KERNEL) + 7:
            order = ([beside(rows, KERNEL, right, (-1, 0), 3.2, cls)] + right_rows + left_rows,
                     right_cols + left_cols)
        else:
            order = (left_rows + right_rows, left_cols + right_cols)
        for cands in order:
            t = placer.place(cands, obstacles=False, required=False, near=6)
            for c in cands[1:] if t is None else ():  # near each of the others in turn
                t = t or placer.place([c], obstacles=False, required=False, near=6)
            if t:
                out.append(t)
    # "dense" over the arrows into each dense layer
    for k, col in enumerate(cols):
        if k == 0 or col.kind not in ("dense", "output"):
            continue
        prev = cols[k - 1]
        cx = (prev.right + min(u[0] for u in col.units)) / 2
        tok = ids.token(col.layer.name)
        arrows = sorted(((_at_x(p, cx), p) for g in conns if f" layer-{tok} " in f" {g.cls} "
                         for p in (g.children[0].points,)), key=lambda a: a[0])
        cands = []
        for (y, ((x0, y0), (x1, y1))), down in ((arrows[-1], 1), (arrows[0], -1)):  # under the lowest, over the highest
            n = math.hypot(x1 - x0, y1 - y0)
            nx, ny = -(y1 - y0) / n, (x1 - x0) / n
            if ny * down < 0:
                nx, ny = -nx, -ny
            cands.append(beside("dense", NOTE, (cx, y), (nx, ny), 3, f"note dense layer-{tok}"))
        out.append(placer.place(cands, near=15))

    # pooling and stride notes, under the map before the gap they describe
    for k, col in enumerate(cols + [None]):
        notes = closing if col is None else col.notes
        if not notes or k == 0:
            continue
        prev = cols[k - 1]
        room = (gap_before(col, prev) if col is not None else note_width(closing) + 12) - 10
        line = NOTE * LINE
        bottom = max(u.bottom if prev.boxed else u[1] + u[3] for u in prev.units)
        top = bottom + 3 if col is not None and not col.boxed else bottom - len(wrap(notes, room)) * line + 2
        for note in notes:
            kind = "stride" if note.startswith("Stride") else "pool"
            block = placer.place_block([(s, 0.0) for s in wrap([note], room)], prev.right + 5, top,
                                       NOTE, line, cls=f"note {kind}")
            out += block
            top = block[-1].box[3] + 2

    return out
