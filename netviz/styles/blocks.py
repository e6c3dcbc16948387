"""``blocks``: the network as a row of 3D boxes in the PlotNeuralNet manner
(../reference/alexnet-3d-boxes.png). Each feature map is a box, its height
and depth from its rows and columns and its width from its channels, on
square-root scales; a pooling is a thin red slab at the end of the
convolution it follows; dense layers are long thin bars in perspective and
the softmax output a coloured one; arrows run along the axis between them.
A branching network is drawn in modules (``blocks_lanes.py``): the branches
of each stacked as lanes in a frame, into a sum or concatenation marker;
one that does not split into modules is refused.
Activations, dropout, LRN and batch normalisation are left out."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..errors import UsageError
from ..ir import Layer, ShapedNetwork, format_shape
from ..scene import Group, Polygon, Scene, Text
from . import common, modules
from .blocks_draw import C, EDGE_WIDTH, S, Box, legend, line, marker, palette, shift
from .blocks_draw import extent as scene_extent
from .blocks_lanes import MARKER_R, Lanes
from .org_draw import Placer, beside, edges
from .short import LEFT_OUT, pool_after

MARKERS = ("add", "concat", "mul")  # merges drawn as a marker on the axis, not a block

SIDE = 12.0  # px per sqrt(rows) for a box's height, and per sqrt(columns) for its depth
MAX_SIDE = 300.0  # the tallest box, for very large inputs
MIN_TALL = 130.0  # the tallest box, for networks of small maps
MAX_ZOOM = 2.5
CHANNEL = 4.0  # px per sqrt(channels) for a box's width, shrunk to keep the figure in WIDTH_BUDGET
CHANNEL_MIN = 1.2
MIN_WIDTH = 5.0  # the thinnest box
WIDTH_BUDGET = 1600.0
FEATURE = 3.0  # px per sqrt(features) for a dense bar's length
BAR_MIN = 24.0
BAR_SIDE = 9.0  # a dense bar's front face
OUT_SIDE = 15.0  # the output bar's front face
SLAB_MIN, SLAB_MAX = 5.0, 12.0  # a pooling slab's width
LINE_WIDTH = 2.0
LABEL = 12.0
LABEL_GAP = 5.0  # least room between two labels
KIND = 12.5  # "softmax" under the output
MARGIN = 14.0
MARK = 14.0  # a frame's "xN"
POOLS = ("maxpool", "avgpool")


@dataclass
class Unit:
    """One block of the figure: a box, a bar or a marker, and the layers it stands for."""

    kind: str  # input | conv | pool | fc | output | add | concat | custom
    layer: Layer
    shape: tuple
    pool: Layer | None = None  # drawn as a slab at the end of the box
    pool_shape: tuple = ()
    layers: list = field(default_factory=list)  # every layer it stands for
    box: Box | None = None
    slab: Box | None = None
    cx: float = 0.0  # a marker's centre
    cy: float = 0.0  # the unit's axis

    @property
    def boxed(self) -> bool:
        """A map is a box, a fully connected layer's too where it is applied at
        each position of a map (ConvNeXt's and Swin's MLPs on channels-last
        maps); a vector or a sequence is a bar."""
        return self.kind not in ("output", *MARKERS) and len(self.shape) == 3

    @property
    def marked(self) -> bool:
        return self.kind in MARKERS

    @property
    def end(self) -> float:
        if self.marked:
            return self.cx + MARKER_R
        return (self.slab or self.box).end


def plan(shaped: ShapedNetwork) -> tuple[list[Unit], list[tuple[int, int]]]:
    """The blocks in topological order, and the edges between them."""
    net = shaped.network
    from .tensors import HWC, layouts
    units: list[Unit] = []
    owner: dict[str, int] = {}
    layout = layouts(shaped)
    for layer in net.layers:
        if layer.name in owner:  # a pooling merged into its convolution
            units[owner[layer.name]].layers.append(layer)
            continue
        cat = common.category(layer)
        out = tuple(shaped.info[layer.name].output)
        if layout[layer.name] == HWC:  # a channels-last map is drawn as the others: C, H, W
            out = (out[2], out[0], out[1])
        src = owner.get(layer.inputs[0]) if layer.inputs else None
        if cat in LEFT_OUT:
            if src is not None:
                owner[layer.name] = src
                units[src].layers.append(layer)
            continue
        if cat == "softmax" and src is not None and units[src].kind == "fc" and src == len(units) - 1 \
                and len(net.consumers[units[src].layer.name]) <= 1:
            units[src].kind = "output"  # the last dense layer is the output bar
            units[src].layers.append(layer)
            owner[layer.name] = src
            continue
        kind = {"input": "input", "conv": "conv", "fc": "fc", "softmax": "output", "add": "add",
                "concat": "concat", "maxpool": "pool", "avgpool": "pool", "deconv": "deconv",
                "upsample": "upsample", "recurrent": "recurrent", "embedding": "embedding",
                "attention": "attention", "mul": "mul"}.get(cat, "custom")
        unit = Unit(kind, layer, out, layers=[layer])
        owner[layer.name] = len(units)
        if cat == "conv":
            found = pool_after(shaped, layer)
            if found is not None and len(shaped.info[found[1].name].output) == 3:  # a map: its slab
                unit.pool = found[1]
                owner[unit.pool.name] = len(units)
        units.append(unit)
    edges = []
    for j, unit in enumerate(units):
        for name in unit.layer.inputs:
            i = owner.get(name)
            if i is not None and i != j and (i, j) not in edges:
                edges.append((i, j))
    return units, sorted(edges)


def side(n: int, k: float) -> float:
    return common.capped(k * math.sqrt(max(n, 1)))


def _features(shape) -> int:
    return math.prod(shape) if shape else 1


def shape_units(units: list[Unit], side_k: float, channel_k: float, zoom: float = 1.0) -> None:
    """Each unit's box (or marker) at x = 0 along the axis, before placing."""
    for u in units:
        if u.marked:
            u.cx = MARKER_R
            continue
        if u.boxed:
            c, h, w = u.shape
            width = SLAB_MAX if u.kind == "pool" else common.capped(max(MIN_WIDTH, channel_k * math.sqrt(c)))
            u.box = Box.centred(0.0, width, side(h, side_k), side(w, side_k))
            if u.pool is not None:
                pc, ph, pw = u.pool_shape
                u.slab = Box.centred(u.box.end, min(SLAB_MAX, max(SLAB_MIN, u.box.d * 0.25)),
                                     side(ph, side_k), side(pw, side_k))
        else:
            face = OUT_SIDE if u.kind == "output" else BAR_SIDE
            length = max(BAR_MIN, zoom * FEATURE * math.sqrt(_features(u.shape)))
            u.box = Box.centred(0.0, face, face, common.capped(length))


def layout(units: list[Unit], arrange) -> None:
    """Scales and positions. A network whose maps are all small (LeNet-5) is
    drawn larger, until its tallest box is MIN_TALL high; a very large input
    is drawn smaller, until its box is MAX_SIDE high; the channel scale
    shrinks until the row fits WIDTH_BUDGET. ARRANGE moves the shaped units
    into place and returns the width on screen."""
    sides = [s for u in units if u.boxed for s in u.shape[1:]]
    zoom = 1.0
    if sides:
        tallest = SIDE * math.sqrt(max(sides))
        zoom = min(MAX_ZOOM, MAX_SIDE / tallest, max(1.0, MIN_TALL / tallest))
    side_k, channel_k = SIDE * zoom, CHANNEL * max(1.0, zoom)
    shape_units(units, side_k, channel_k, max(1.0, zoom))
    width = arrange()
    if width > WIDTH_BUDGET:
        shape_units(units, side_k, 0.0, max(1.0, zoom))
        bare = arrange()
        k = channel_k * (WIDTH_BUDGET - bare) / (width - bare) if width > bare else channel_k
        shape_units(units, side_k, max(CHANNEL_MIN, k), max(1.0, zoom))
        arrange()


def _tip(u: Unit, shaped: ShapedNetwork) -> str:
    return "; ".join(f"{l.name} ({l.type}): {format_shape(shaped.info[l.name].output)}, "
                     f"{shaped.info[l.name].params:,} params{common.uncut(l)}" for l in u.layers)


def _same(u: Unit) -> tuple:
    """What makes two blocks the same, for folding identical modules: what
    is drawn, and every layer's type and settings (a dropout's probability
    aside: stochastic depth grows block by block, and is not drawn)."""
    return (u.kind, u.shape, u.pool_shape,
            tuple((l.type, "" if l.type == "dropout" else repr(sorted(l.attrs.items()))) for l in u.layers))


def modules_of(shaped: ShapedNetwork, units: list[Unit]) -> list:
    """The items to draw: each unit in a row for a chain; for a branching
    network its modules (identical ones in a row kept once, with a count).
    A network that branches but does not split into modules is refused."""
    net = shaped.network
    succ, pred = modules.column_edges(net, units)
    if all(len(s) <= 1 for s in succ) and all(len(p) <= 1 for p in pred):
        return [modules.Cell(j) for j in range(len(units))]
    items = modules.plan(net, units, nested=True)
    if items is None or _ends_early(items):
        at = next(units[j].layer.name for j in range(len(units)) if len(succ[j]) > 1 or len(pred[j]) > 1)
        raise UsageError(f"the blocks style draws branches as lanes of modules, and {net.name} branches at "
                         f"{at} in a way that does not split into modules; use --style graph, bars or short")
    return modules.collapse(items, units, key=_same)


def _ends_early(items: list, last: bool = True) -> bool:
    """Whether branches that end the network (a module without a merge) come
    before its end, inside a lane or before other items: the lane would go on
    from the end of a branch that does not feed it."""
    for k, item in enumerate(items):
        inner = item.items if isinstance(item, modules.Run) else None
        if isinstance(item, modules.Module):
            if item.merge is None and not (last and k == len(items) - 1):
                return True
            if any(_ends_early(lane, False) for lane in item.lanes):
                return True
        elif inner is not None and _ends_early(inner, False):
            return True
    return False


def build(shaped: ShapedNetwork, options: common.RenderOptions) -> Scene:
    units, links = plan(shaped)
    for u in units:
        if u.pool is not None:
            u.pool_shape = tuple(shaped.info[u.pool.name].output)
    lanes = Lanes(units, modules_of(shaped, units))
    layout(units, lanes.arrange)
    part = lanes.part
    colours = palette(options.theme)
    ids = common.Ids()
    drawn = [units[j] for j in part.units]
    edges_ = set(links)
    arrows = [k for k in part.links if k.kind != "arrow" or (k.src, k.dst) in edges_]

    def cls(k) -> str:
        out = k.kind
        if k.dst is not None:
            out += f" layer-{ids.token(units[k.dst].layer.name)}"
        if k.src is not None:
            out += f" from-{ids.token(units[k.src].layer.name)}"
        return out

    def link(k):
        return line(k.points, k.head, colours["arrow"], LINE_WIDTH, cls(k))

    # painter's order: the frames, the lines between lanes, then along each
    # lane each arrow before the block it leads into
    frames, marks = _frames(part.frames, units, options.theme)
    into = {}
    for k in arrows:
        if k.kind in ("arrow", "lane-in"):
            into.setdefault(k.dst, []).append(k)
    buses = [link(k) for k in arrows if k.kind not in ("arrow", "lane-in")]
    blocks = []
    for j in part.units:
        u = units[j]
        tok = ids.token(u.layer.name)
        blocks += [link(k) for k in into.get(j, [])]
        if u.marked:
            prims = marker(u.cx, MARKER_R, u.kind, colours[u.kind], u.cy)
        else:
            fill = colours["pool" if u.kind == "pool" else u.kind]
            prims = u.box.faces(fill)
        blocks.append(Group(tuple(prims), cls=f"block {u.kind} layer-{tok}", id=ids.make("block", u.layer.name),
                            title=_tip(u, shaped)))
        if u.slab is not None:
            blocks.append(Group(tuple(u.slab.faces(colours["pool"])), cls=f"slab {common.category(u.pool)} "
                                f"layer-{ids.token(u.pool.name)}", id=ids.make("slab", u.pool.name),
                                title=f"{u.pool.name} ({u.pool.type}): {format_shape(u.pool_shape)}"))

    items = []
    if frames:
        items.append(Group(tuple(frames), cls="frames", id="frames"))
    if buses:
        items.append(Group(tuple(buses), cls="lanes", id="lanes"))
    items.append(Group(tuple(blocks), cls="blocks", id="blocks"))
    if options.labels:
        items.append(Group(tuple(_labels(drawn, items, colours, ids, marks)), cls="labels", id="labels"))

    x0, y0, x1, y1 = scene_extent(items)
    theme = options.theme
    title, title_h = common.title_items(options.title, MARGIN, MARGIN, theme)
    dx, dy = MARGIN - x0, MARGIN + title_h - y0
    items = title + [shift(item, dx, dy) for item in items]
    width = x1 - x0 + 2 * MARGIN
    height = y1 - y0 + 2 * MARGIN + title_h
    if options.title:
        width = max(width, 2 * MARGIN + common.title_width(options.title))
    if options.legend:
        kinds = list(dict.fromkeys(k for u in drawn for k in _legend_kinds(u)))
        entries, lw, lh = legend(kinds, colours, MARGIN, height - MARGIN + 8, max(width - 2 * MARGIN, 320), LABEL)
        items += entries
        width = max(width, lw + 2 * MARGIN)
        height += 8 + lh
    name = shaped.network.title or shaped.network.name
    return Scene(width=math.ceil(width), height=math.ceil(height), children=tuple(items),
                 title=f"{name} (blocks)", desc=common.network_desc(shaped), background=theme["background"],
                 meta=dict(zip(("cuts", "inner_cuts"), _cuts(items)), axis=(dy, colours["arrow"], LINE_WIDTH)))


def _gaps(spans, least: float) -> list[float]:
    cuts, right = [], None
    for x0, x1 in sorted(spans):
        if right is not None and x0 > right + least:
            cuts.append(round((right + x0) / 2, 3))
        right = x1 if right is None else max(right, x1)
    return cuts


def _cuts(items) -> tuple[list[float], list[float]]:
    """Where the row may be cut when it wraps (netviz.pagefit): between two
    top-level modules or blocks, where no block, label or frame is; and,
    used only inside a module wider than the printed row, between the
    blocks of its lanes, never inside the modules and runs nested in it,
    whose frames stay whole."""
    from ..scene import bounds
    frames, spans = [], []

    def walk(group_items):
        for item in group_items:
            if isinstance(item, Group) and item.cls in ("frame", "frame folded"):
                frames.append(bounds(item))
            elif isinstance(item, Group) and (item.cls or "").split()[0] in ("block", "slab"):
                b = bounds(item)
                spans.append((b[0], b[2]))
            elif isinstance(item, Group):
                walk(item.children)
            elif isinstance(item, Text) and item.cls != "title":
                b = bounds(item)
                spans.append((b[0], b[2]))
    walk(items)

    def inside(a, b) -> bool:
        return a != b and b[0] <= a[0] and a[2] <= b[2] and b[1] <= a[1] and a[3] <= b[3]
    top = [(f[0], f[2]) for f in frames if not any(inside(f, g) for g in frames)]
    nested = [(f[0], f[2]) for f in frames if any(inside(f, g) for g in frames)]

    def between_blocks(c) -> bool:  # of one top-level frame, not in its margin
        for f0, f1 in top:
            held = [sp for sp in spans + nested if f0 <= sp[0] and sp[1] <= f1]
            if f0 < c < f1:
                return any(sp[1] < c for sp in held) and any(sp[0] > c for sp in held)
        return False
    return _gaps(spans + top, 0.0), [c for c in _gaps(spans + nested, 4.0) if between_blocks(c)]


def _frames(frames, units: list[Unit], theme) -> tuple[list, list]:
    """Each module's frame, in the theme's colours for the other styles'
    frames, its "xN" at the lower right inside it, its tooltip naming the
    layers of every copy; and the boxes of the marks."""
    out, marks = [], []
    for f in frames:
        x0, y0, x1, y1 = f.box
        prims = [Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), fill=theme["frame"], stroke=theme["label"],
                         stroke_width=EDGE_WIDTH, cls="frame-box")]
        title = None
        if f.repeat > 1:
            t = Text(x1 - 5, y1 - 5, f"x{f.repeat}", MARK, color=theme["label"], anchor="end", cls="repeat")
            prims.append(t)
            marks.append(t.box)
            names = [l.name for c in f.cols for l in units[c].layers]
            title = f"x{f.repeat}: " + ", ".join(names)
        out.append(Group(tuple(prims), cls="frame" + (" folded" if f.repeat > 1 else ""), title=title))
    return out, marks


def _legend_kinds(u: Unit) -> list[str]:
    """The legend entries a unit needs: every pooling, max or average, is one
    red slab, so it is one entry, "pool"."""
    return [u.kind] + (["pool"] if u.pool is not None else [])


def _labels(units: list[Unit], drawn, colours: dict, ids: common.Ids, marks=()) -> list[Text]:
    """Channels under each box, its side along its lower receding edge (rows
    by its front left edge where they differ), features by a bar's, and
    "softmax" under the output; each kept clear of the lines and of the other labels."""
    obstacles = [u.box.front for u in units if not u.marked]
    obstacles += [(u.cx - MARKER_R, u.cy - MARKER_R, u.cx + MARKER_R, u.cy + MARKER_R) for u in units if u.marked]
    obstacles += list(marks)
    placer = Placer(obstacles, edges(drawn), gap=LABEL_GAP)
    n = math.hypot(S, C)
    down_right = (S / n, C / n)  # the normal of a receding edge, away from the box
    out = []
    colour = colours["label"]

    def put(cands, near=14.0):
        t = placer.place([replace(c, color=colour) for c in cands], near=near)
        out.append(t)

    for u in units:
        if u.marked:
            continue
        tail = f"layer-{ids.token(u.layer.name)}"
        b, p = u.box, u.box.at
        if u.boxed:
            c, h, w = u.shape
            put([beside(str(c), LABEL, (b.fx + f * b.d, b.fy + b.h), (0, 1), 3, f"label channels {tail}")
                 for f in (0.5, 0.3, 0.7)])
            put([beside(str(w), LABEL, p(b.d, b.h, f * b.l), down_right, 2.5, f"label side {tail}")
                 for f in (0.5, 0.3, 0.7, 0.15)])
            if h != w:
                put([beside(str(h), LABEL, p(0, f * b.h, 0), (-1, 0), 3, f"label side-h {tail}")
                     for f in (0.75, 0.5, 0.9)])
        else:
            text = str(_features(u.shape)) if len(u.shape) < 2 else format_shape(u.shape)  # a sequence: TxF
            put([beside(text, LABEL, p(b.d, b.h, f * b.l), down_right, 2.5, f"label features {tail}")
                 for f in (0.15, 0.3, 0.05)])
            if u.kind == "output":
                x0, _, x1, y1 = b.bounds
                name = "softmax" if any(common.category(l) == "softmax" for l in u.layers) else "output"
                put([Text(b.fx + b.d / 2, y1 + 6 + KIND * 0.75, name, KIND, weight="bold", cls=f"label kind {tail}")],
                    near=20)
    return [t for t in out if t is not None]
