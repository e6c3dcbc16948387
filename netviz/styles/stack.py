"""``stack``: a vertical stack of labelled, rounded boxes, one per drawn unit,
top to bottom with arrows between them (../reference/alexnet-stack.png).

The units are those of the ``short`` style: a convolution merges with the
pooling after it ("11x11 conv, 96, /4, pool/2"); activations, LRN, batch
normalisation, dropout and flatten are left out. The input and the softmax
output are captions without a box. An element-wise sum is a small circle
with "+" in it, a product (a gate, a layer scale) one with a cross; a
concatenation is a box ("concat, 256"); attention a pale teal box with its
heads ("attention, 12 heads").

Boxes are filled by kind: convolutions with a pale tint per stage (one
tint per input map size, so each run of convolutions between two
downsamplings shares one; a residual block takes the tint of the maps it
gives, so it keeps one where it downsamples), pooling boxes pale yellow (grey in the
colorblind theme), fully connected boxes white. Edges that do not run from
one unit to the next (shortcuts, branches) leave the stack on the right and
come back as elbowed arrows, each in a lane of its own; edges from one
source (or into one target) share a lane as a bus, with a dot where they
part or meet. A box on a shortcut of its own (a ResNet's projection) stands
beside the column, in its lane, level with the block it bypasses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..ir import ShapedNetwork
from ..scene import Circle, Group, Path, Rect, Scene, Text, font_extent, text_width
from . import common
from .row import wrap
from .modules import Module
from .short import columns as short_columns
from .stack_lanes import assign_lanes, branches, buses, edges, junctions
from .stack_text import stage_of, unit_text

MARGIN = 16.0
FONT = 13.0  # text in the boxes and captions
LINE = 16.0  # line step of a box with more than one line
PAD_X = 16.0  # least space between a box's text and its sides
PAD_Y = 7.0
BOX_H = 28.0  # height of a one-line box
BOX_MIN_W = 120.0
TEXT_MAX = 320.0  # a box line wider than this wraps at its commas
GAP = 24.0  # between two units: the arrow's length
MERGE_R = 12.0  # radius of a "+" circle
RX = 4.0  # corner radius of the boxes
LANE_FIRST = 22.0  # from the right side of the boxes to the first lane
LANE_STEP = 18.0
SIDE_GAP = 24.0  # from the boxes (or the lane before) to a branch box beside the column
ARROW_W = 1.6
LINK_W = 1.3
STROKE = "#7F7F7F"  # box outlines
INK = "#000000"  # arrows and links
TEXT = "#262626"  # text in the boxes

# Pale tints, one per stage of convolutions, in order of first appearance.
# default: the reference figure's lavender, green and pink, then more of
# the same family; colorblind: the Okabe-Ito colours, one part to three of
# white (sky blue, bluish green, orange, vermillion, reddish purple, yellow).
TINTS = {
    "default": ("#EEEAF2", "#EBF1DE", "#F2DCDB", "#DBE5F1", "#FDE9D9", "#DBEEF3"),
    "colorblind": ("#D5ECFA", "#BFE7DC", "#F9E7BF", "#F4D7BF", "#F2DEE9", "#FBF8D0"),
}
FILLS = {"fc": "#FFFFFF", "concat": "#FFFFFF", "add": "#FFFFFF", "custom": "#F2F2F2",
         "deconv": "#BDCDEB", "upsample": "#E4EBF7",  # pale blues of the deconvolution cell
         "lstm": "#C7ECFB", "bilstm": "#C7ECFB", "gru": "#C7ECFB", "rnn": "#C7ECFB",  # memory cells
         "embedding": "#E4F2D6", "mul": "#FFFFFF",
         "attention": "#D5EFEE", "attention_window": "#D5EFEE"}  # pale teal of the attention cell
POOL = {"default": "#FFF2CC", "colorblind": "#E6E6E6"}  # a pooling box of its own
CONV_KINDS = ("conv", "conv_pool", "conv_1xn", "conv_nx1", "conv_dw", "conv_group")


@dataclass
class Unit:
    kind: str
    layers: tuple
    lines: list[str]
    shape: str  # "box", "circle" or "caption"
    fill: str | None = None
    stage: str | None = None  # conv units: the input map size, e.g. "27x27" (a block's: its output's)
    tooltip: str = ""
    top: float = 0.0
    h: float = 0.0
    sides: dict = field(default_factory=dict)  # "in"/"out" -> anchor point on the right

    @property
    def name(self) -> str:
        return self.layers[0].name


def blocks_of(shaped: ShapedNetwork, cols) -> dict[int, str]:
    """The stage of each unit inside a block of convolutions (a module with
    no module inside and only convolutions on its lanes: a residual block):
    the map size the block gives, so that a block keeps one tint even where
    it downsamples (ResNet's first block of a stage). A module that pools or
    upsamples on its lanes (a U-Net's levels) keeps a tint per map size."""
    from .modules import plan
    out: dict[int, str] = {}

    def visit(items) -> None:
        for item in items:
            if not isinstance(item, Module):
                continue
            inner = [x for lane in item.lanes for x in lane]
            if any(isinstance(x, Module) for x in inner):
                for lane in item.lanes:
                    visit(lane)
                continue
            size = shaped.info[cols[item.merge].layers[-1].name].output if item.merge is not None else ()
            if len(size) == 3 and all(cols[x.col].kind in CONV_KINDS for x in inner):
                for x in inner:
                    out[x.col] = f"{size[1]}x{size[2]}"

    visit(plan(shaped.network, cols, nested=True) or [])
    return out


def tints(theme: common.Theme) -> tuple[str, ...]:
    if theme.name in TINTS:
        return TINTS[theme.name]
    return tuple(_pale(theme[k]) for k in ("conv", "fc", "maxpool", "input", "output", "concat"))


def _pale(color: str, amount: float = 0.25) -> str:
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * amount):02X}" for c in rgb)


def units(shaped: ShapedNetwork, options: common.RenderOptions) -> list[Unit]:
    """The units top to bottom, with their text and fill."""
    palette = tints(options.theme)
    stages: dict[str, int] = {}
    out = []
    cols = short_columns(shaped)
    block = blocks_of(shaped, cols)
    for j, col in enumerate(cols):
        lines = unit_text(col.kind, col.layers, shaped, options.labels)
        lines = [part for line in lines for part in wrap(line, TEXT_MAX, FONT)]
        unit = Unit(kind=col.kind, layers=col.layers, lines=lines, shape="box", tooltip=col.tooltip)
        if col.kind in ("input", "output"):
            unit.shape = "caption"
        elif col.kind in ("add", "mul"):
            unit.shape, unit.fill = "circle", FILLS[col.kind]
        elif col.kind in CONV_KINDS:
            unit.stage = block[j] if j in block else stage_of(col.layers[0], shaped)
            index = stages.setdefault(unit.stage, len(stages))
            unit.fill = palette[index % len(palette)]
        elif col.kind in ("maxpool", "avgpool"):
            unit.fill = POOL.get(options.theme.name, POOL["default"])
        else:
            unit.fill = FILLS.get(col.kind, FILLS["custom"])
        out.append(unit)
    return out


# --- layout -------------------------------------------------------------------

def text_items(lines: list[str], cx: float, cy: float, color: str, cls: str, size: float = FONT) -> list[Text]:
    y0 = cy - (len(lines) - 1) * LINE / 2 + size * 0.36
    return [Text(cx, y0 + k * LINE, s, size=size, color=color, cls=cls) for k, s in enumerate(lines)]


def _height(u: Unit) -> float:
    if u.shape == "circle":
        return 2 * MERGE_R
    if u.shape == "caption":
        asc, desc = font_extent(FONT)
        return (len(u.lines) - 1) * LINE + asc + desc + 6  # arrows stop 2 px clear of the text
    return max(BOX_H, (len(u.lines) - 1) * LINE + FONT + 2 * PAD_Y + 2)


def _anchors(u: Unit, cx: float, half_w: float, has_in: bool, has_out: bool) -> None:
    """Where links leave (out) and enter (in) a unit on its right."""
    cy = u.top + u.h / 2
    both = has_in and has_out
    if u.shape == "circle":
        dx, dy = (MERGE_R * math.cos(math.pi / 6), MERGE_R / 2) if both else (MERGE_R, 0.0)
        u.sides = {"in": (cx + dx, cy - dy), "out": (cx + dx, cy + dy)}
        return
    if u.shape == "caption":
        right = cx + max(text_width(s, FONT) for s in u.lines) / 2 + 5
    else:
        right = cx + half_w
    dy = u.h / 4 if both else 0.0
    u.sides = {"in": (right, cy - dy), "out": (right, cy + dy)}


def build(shaped: ShapedNetwork, options: common.RenderOptions) -> Scene:
    theme = options.theme
    us = units(shaped, options)
    ids = common.Ids()
    all_edges = edges(shaped, us)
    beside = branches(us, all_edges)  # branch unit -> (its input, its sum)
    main = [k for k in range(len(us)) if k not in beside]
    pos = {k: n for n, k in enumerate(main)}
    widest_box = max((text_width(s, FONT) for k in main if us[k].shape == "box" for s in us[k].lines), default=0.0)
    box_w = max(BOX_MIN_W, math.ceil(widest_box + 2 * PAD_X))
    widest = max([box_w] + [text_width(s, FONT) for u in us if u.shape == "caption" for s in u.lines])
    cx = MARGIN + widest / 2

    items, title_h = common.title_items(options.title, MARGIN, MARGIN, theme)
    y = MARGIN + title_h
    for k in main:
        us[k].top, us[k].h = y, _height(us[k])
        y += us[k].h + GAP
    bottom = y - GAP

    # links on the right, in main-column positions; a branch is one path from its input to its sum
    side = [e for e in all_edges if e[0] in pos and e[1] in pos and pos[e[1]] > pos[e[0]] + 1]
    groups = buses([(pos[i], pos[j]) for i, j in side]) + [[(pos[i], pos[k])] for i, k in beside.values()]
    groups.sort(key=lambda g: (max(e[1] for e in g) - min(e[0] for e in g), min(g)))
    lanes = assign_lanes(groups)
    lane_of = {e: lane for g, lane in zip(groups, lanes) for e in g}
    ends = side + list(beside.values())
    for k in main:
        _anchors(us[k], cx, box_w / 2, any(e[1] == k for e in ends), any(e[0] == k for e in ends))

    # lane positions: a lane that carries branch boxes is as wide as the widest of them
    half = [0.0] * (max(lanes) + 1 if lanes else 0)
    widths = {}
    for b, (i, k) in beside.items():
        widths[b] = max(BOX_MIN_W / 2, math.ceil(max(text_width(s, FONT) for s in us[b].lines) + 2 * PAD_X))
        lane = lane_of[(pos[i], pos[k])]
        half[lane] = max(half[lane], widths[b] / 2)
    lane_x, edge = [], cx + box_w / 2
    for n, h in enumerate(half):
        gap = SIDE_GAP if h or (n and half[n - 1]) else LANE_STEP if n else LANE_FIRST
        lane_x.append(edge + gap + h)
        edge = lane_x[-1] + h
    at = {}  # a branch box's centre and width: in its lane, half way between its input and its sum
    for b, (i, k) in beside.items():
        us[b].h = _height(us[b])
        us[b].top = (us[i].sides["out"][1] + us[k].sides["in"][1] - us[b].h) / 2
        at[b] = (lane_x[lane_of[(pos[i], pos[k])]], widths[b])

    boxes = []
    for k, u in enumerate(us):
        tokens = [f"layer-{ids.token(layer.name)}" for layer in u.layers]
        cls = " ".join(["unit", u.kind.replace("_", "-")] + tokens + (["branch"] if k in beside else []))
        ux, uw = at.get(k, (cx, box_w))
        cy = u.top + u.h / 2
        if u.shape == "box":
            prims = [Rect(ux - uw / 2, u.top, uw, u.h, fill=u.fill, stroke=STROKE, stroke_width=1.0,
                          rx=RX, cls="box")]
            prims += text_items(u.lines, ux, cy, TEXT, "box-text")
        elif u.shape == "circle":
            prims = [Circle(cx, cy, MERGE_R, fill=u.fill, stroke=INK, stroke_width=ARROW_W, cls="merge"),
                     Text(cx, cy + 5.8, u.lines[0], size=16, color=INK, cls="merge-text")]  # 2 px clear of the arrows
        else:
            prims = text_items(u.lines, cx, cy, theme["label"], "caption")
        boxes.append(Group(tuple(prims), cls=cls, id=ids.make("unit", u.name), title=u.tooltip))

    def link(a: Unit, b: Unit, pts) -> Path:
        cls = f"from-{ids.token(a.layers[-1].name)} to-{ids.token(b.name)}"
        return Path(tuple(pts), stroke=INK, stroke_width=LINK_W, arrow=True, cls=f"link {cls}")

    arrows, links, into = [], [], []
    for i, j in all_edges:
        a, b = us[i], us[j]
        if i in beside or j in beside:
            continue
        if pos[j] == pos[i] + 1:
            cls = f"from-{ids.token(a.layers[-1].name)} to-{ids.token(b.name)}"
            arrows.append(Path(((cx, a.top + a.h + 1), (cx, b.top - 1)), stroke=INK, stroke_width=ARROW_W,
                               arrow=True, cls=f"arrow {cls}"))
            continue
        x = lane_x[lane_of[(pos[i], pos[j])]]
        (x0, y0), (x1, y1) = a.sides["out"], b.sides["in"]
        pts = ((x0, y0), (x, y0), (x, y1), (x1 + 1, y1))
        links.append((i, j, pts, link(a, b, pts)))
    for b, (i, k) in sorted(beside.items()):  # down the branch's lane, through its box
        x, u = at[b][0], us[b]
        (x0, y0), (x1, y1) = us[i].sides["out"], us[k].sides["in"]
        into += [link(us[i], u, ((x0, y0), (x, y0), (x, u.top - 1))),
                 link(u, us[k], ((x, u.top + u.h), (x, y1), (x1 + 1, y1)))]
    dots = [Circle(x, y, 2.6, fill=INK, cls="junction")
            for x, y in junctions([(i, j, pts) for i, j, pts, _ in links])]

    items.append(Group(tuple(arrows), cls="arrows", id="arrows"))
    if links or into:
        items.append(Group(tuple(p for *_, p in links) + tuple(into) + tuple(dots), cls="links", id="links"))
    items.append(Group(tuple(boxes), cls="units", id="units"))

    right = cx + max(widest, box_w) / 2
    if lane_x:
        right = max(right, lane_x[-1] + half[-1] + 4)
    width = right + MARGIN
    if options.title:
        width = max(width, 2 * MARGIN + common.title_width(options.title))
    if options.legend:
        legend, width, bottom = common.place_legend(lambda x, y, _w: legend_items(us, x, y), width, bottom,
                                                    MARGIN)
        items += legend
    name = shaped.network.title or shaped.network.name
    return Scene(width=math.ceil(width), height=math.ceil(bottom + MARGIN), children=tuple(items),
                 title=f"{name} (stack)", desc=common.network_desc(shaped), background=theme["background"])


# The legend's order after the convolutions (in order of their stages):
# the other kinds in a fixed order, anything else last.
LEGEND_ORDER = ("deconv", "upsample", "maxpool", "avgpool", "attention", "attention_window", "add",
                "mul", "concat", "fc", "custom")


def legend_rows(us: list[Unit]) -> list[tuple[str, str, str]]:
    """(fill, shape, text) per look drawn: the convolutions' stages first, in
    order of appearance, then the other kinds in LEGEND_ORDER. Units drawn
    alike share a row that names them all: max and average pooling are
    "Pooling", concatenation and fully connected boxes (both white)
    "Concatenation, fully connected", and stages whose tints come round again
    "Convolution on 56x56, 3x3 maps"."""
    looks: dict[tuple[str, str], tuple[list, dict]] = {}
    for u in us:
        if u.shape == "caption":
            continue
        stages, names = looks.setdefault((u.fill, u.shape), ([], {}))
        if u.kind in CONV_KINDS:
            if u.stage not in stages:
                stages.append(u.stage)
            continue
        name = "Pooling" if u.kind in ("maxpool", "avgpool") else common.LEGEND_NAMES.get(u.kind, "Other module")
        rank = LEGEND_ORDER.index(u.kind) if u.kind in LEGEND_ORDER else len(LEGEND_ORDER)
        names[name] = min(rank, names.get(name, rank))
    rows = []
    for (fill, shape), (stages, names) in looks.items():
        sizes = [s for s in stages if s is not None]
        parts = ([f"Convolution on {', '.join(sizes)} maps"] if sizes else ["Convolution"] if stages else [])
        parts += sorted(names, key=names.get)
        rank = -1 if stages else min(names.values())
        rows.append((rank, fill, shape, parts[0] + "".join(", " + _lower_first(p) for p in parts[1:])))
    return [row[1:] for row in sorted(rows, key=lambda row: row[0])]


def _lower_first(name: str) -> str:
    """A legend name inside a line: 'Embedding' -> 'embedding'; acronyms (LSTM, GRU) kept."""
    return name if name[1:2].isupper() else name[0].lower() + name[1:]


def legend_items(us: list[Unit], x: float, y: float) -> tuple[list, float, float]:
    """One row per look used: a swatch and what it stands for."""
    rows = legend_rows(us)
    items, widest, step, sw, sh = [], 0.0, 22.0, 26.0, 14.0
    for k, (fill, shape, text) in enumerate(rows):
        top = y + k * step
        if shape == "circle":
            swatch = Circle(x + sw / 2, top + sh / 2, sh / 2, fill=fill, stroke=INK, stroke_width=1.0,
                            cls="legend-swatch")
        else:
            swatch = Rect(x, top, sw, sh, fill=fill, stroke=STROKE, stroke_width=1.0, rx=3, cls="legend-swatch")
        label = Text(x + sw + 8, top + sh / 2 + 12 * 0.36, text, size=12, color="#404040", anchor="start",
                     cls="legend-text")
        items.append(Group((swatch, label), cls="legend-item"))
        widest = max(widest, sw + 8 + text_width(text, 12))
    height = len(rows) * step - (step - sh) if rows else 0.0
    return ([Group(tuple(items), cls="legend", id="legend")] if items else []), widest, height
