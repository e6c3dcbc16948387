"""A row of cells with labels under them and, optionally, a bar chart: the
layout that the ``bars`` and ``short`` styles share."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..ir import Layer, ShapedNetwork
from ..scene import Group, Path, Rect, Scene, Text, fit_size, text_width
from . import common

R = 36.0  # cell radius
GAP = 14.0  # least space between two cells
MARGIN = 16.0
LABEL_SIZE = 13.0
LABEL_LINE = 16.0
BAR_MAX = 160.0
BAR_WIDTH = 22.0
INNER_SIZE = 14.0


@dataclass
class Column:
    kind: str
    layers: tuple[Layer, ...]
    label: list[str] = field(default_factory=list)  # blue lines under the cell
    inner: list[str] = field(default_factory=list)  # white lines inside the cell
    bar: tuple[float, str] | None = None  # (value, label)
    tooltip: str = ""
    scale: str = "image"  # the bars' scale: map sides ("image") or sequence lengths ("seq")

    @property
    def cls_kind(self) -> str:
        return self.kind.replace("_", "-")


LABEL_MAX = 150.0  # a label line wider than this wraps at its commas and spaces
TEXT_GAP = 10.0  # least space between two labels on one line of text
INNER_MIN = 9.0  # smallest font inside a cell before its text is cut short


def label_width(lines) -> float:
    return max((text_width(s, LABEL_SIZE) for s in lines), default=0.0)


def wrap(line: str, max_width: float, size: float) -> list[str]:
    """Break LINE at commas and spaces into lines no wider than MAX_WIDTH
    (a single word wider than that stays whole)."""
    if text_width(line, size) <= max_width:
        return [line]
    words = [w for w in re.split(r"(?<=,)|(?<= )", line) if w]
    lines, cur = [], ""
    for w in words:
        if cur and text_width((cur + w).rstrip(), size) > max_width:
            lines.append(cur.rstrip())
            cur = w.lstrip()
        else:
            cur += w
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def wrap_label(lines: list[str]) -> list[str]:
    return [part for line in lines for part in wrap(line, LABEL_MAX, LABEL_SIZE)]


def fit_inner(lines: list[str], width: float) -> tuple[list[str], float]:
    """Lines and font size for text inside a cell of WIDTH: shrink down to
    INNER_MIN, then wrap (three lines at most), then cut with an ellipsis."""
    size = min((fit_size(s, INNER_SIZE, width) for s in lines), default=INNER_SIZE)
    if size >= INNER_MIN:
        return lines, size
    parts = [part for line in lines for part in wrap(line, width, INNER_MIN)]
    lines = parts[:3]
    if len(parts) > 3:
        lines[-1] += "…"  # more follows than fits
    return [_cut_to(line, width, INNER_MIN) for line in lines], INNER_MIN


def _cut_to(line: str, width: float, size: float) -> str:
    """LINE, or its longest prefix (at most len-2 characters) with an ellipsis
    that fits WIDTH: found by bisection, so a label of 100,000 characters
    costs a few measurements, not one per character."""
    if text_width(line, size) <= width or len(line) <= 1:
        return line
    lo, hi = 0, len(line) - 2  # the prefix line[:k] + "…", k in [lo, hi]
    if text_width(line[:hi] + "…", size) <= width:
        return line[:hi] + "…"
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(line[:mid] + "…", size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo] + "…"


def place(columns: list[Column], labels: bool, with_bars: bool) -> list[float]:
    """Cell centres: evenly spaced, except where a label or bar label needs
    more room than the space between cells; labels may reach over the
    neighbouring cells as long as no two texts meet."""
    xs: list[float] = []
    right = {"label": -1e9, "bar": -1e9}  # right edge of the last text on each text line
    step = 2 * R + GAP
    for col in columns:
        x = MARGIN + step / 2 if not xs else xs[-1] + step
        widths = {"label": label_width(col.label) if labels else 0.0,
                  "bar": text_width(col.bar[1], LABEL_SIZE) if labels and with_bars and col.bar else 0.0}
        for key, w in widths.items():
            if w:
                x = max(x, right[key] + TEXT_GAP + w / 2, MARGIN + w / 2)
        for key, w in widths.items():
            if w:
                right[key] = x + w / 2
        xs.append(x)
    return xs


def icon_top(col: Column, cy: float) -> float:
    """Where an edge meets a cell from above."""
    return cy - (R * 0.38 if col.kind in common.DOTS else R) - 1


def layout(shaped: ShapedNetwork, columns: list[Column], options: common.RenderOptions,
           with_bars: bool, style: str) -> Scene:
    theme = options.theme
    for col in columns:
        col.label = wrap_label(col.label)
    from .modules import plan
    # bars of parameters, MACs, time or memory belong to every layer: modules
    # would stack some cells in lanes without bars, and repeats hide others
    items = None
    if not with_bars or options.bar_metric == "size":
        nested = options.fold != "exact"
        items = plan(shaped.network, columns, nested=nested)
        if items is None and not shaped.network.is_chain:  # parts that do not split: dot, where it is there
            from .tangle import limit
            most = limit(options)
            items = plan(shaped.network, columns, nested=nested, tangles=most) if most else None
    if items is not None:
        from .modrow import layout as module_layout
        return module_layout(shaped, columns, items, options, with_bars, style)
    ids = common.Ids()
    # stages are runs between pools along a chain; in a branching row they would mislead
    stages = stage_runs(columns) if with_bars and options.labels and shaped.network.is_chain else []
    shared = {}
    for number, i, j in stages:  # the run's one label, drawn under a bracket
        shared[(number, i, j)] = columns[i].label
        for col in columns[i:j]:
            col.label = []
    xs = place(columns, options.labels, with_bars)

    title_text = options.title
    items: list = []
    title, title_h = common.title_items(title_text, MARGIN, MARGIN, theme)
    items += title
    top = MARGIN + title_h
    skips = skip_edges(shaped, columns)
    lanes = source_lanes(skips)
    n_lanes = max(lanes, default=-1) + 1
    top += n_lanes * LANE + (6 if n_lanes else 0)
    cy = top + R + 2 + head_room(columns)
    label_lines = max((len(c.label) for c in columns), default=0) if options.labels else 0
    if stages:
        label_lines = max(label_lines, max(len(t) for t in shared.values()) + 2)
    label_top = cy + R + 8
    bars_top = label_top + label_lines * LABEL_LINE + (12 if label_lines else 4)
    barred = [(c, x) for c, x in zip(columns, xs) if c.bar is not None] if with_bars else []
    bars_band = bars_top
    if len(scales(barred)) > 1 and options.labels:
        bars_top += SCALE_ROOM
    bar_base = bars_top + BAR_MAX
    vmax = scales(barred)

    cells, labels, bars = [], [], []
    right_edge = 0.0
    for col, cx in zip(columns, xs):
        cells.append(cell_group(col, cx, cy, options, ids, style))
        right_edge = max(right_edge, cx + R + GAP / 2)
        if options.labels and col.label:
            labels.append(label_group(col, cx, label_top, theme, ids))
            right_edge = max(right_edge, cx + label_width(col.label) / 2)
        if with_bars and col.bar is not None:
            bars.append(bar_group(col, cx, bar_base, vmax[col.scale], options, ids, len(vmax) > 1))
            if options.labels:
                right_edge = max(right_edge, cx + text_width(col.bar[1], LABEL_SIZE) / 2)
    if skips:
        paths = []
        for (i, j), lane in zip(skips, lanes):
            y = cy - R - 6 - (lane + 1) * LANE + LANE / 2
            x0, x1 = xs[i] + 6, xs[j] - 6
            paths.append(Path(((x0, icon_top(columns[i], cy)), (x0, y), (x1, y), (x1, icon_top(columns[j], cy))),
                              stroke=theme["label"], stroke_width=1.2, arrow=True,
                              cls=f"skip layer-{ids.token(columns[i].layers[-1].name)} "
                                  f"to-{ids.token(columns[j].layers[0].name)}"))
        items.append(Group(tuple(paths), cls="skips", id="skips"))
    items.append(Group(tuple(cells), cls="cells", id="cells"))
    for (number, i, j), text in shared.items():
        labels.append(stage_group(text, number, xs[i], xs[j - 1], cy, label_top, theme, ids, columns[i]))
    if labels:
        items.append(Group(tuple(labels), cls="labels", id="labels"))
    bottom = label_top + label_lines * LABEL_LINE if label_lines else cy + R
    if with_bars:
        named = scale_labels(barred, bar_base, options)
        bars += named
        bars_band = min([bars_band] + [t.box[1] for t in named])
        items.append(Group(tuple(bars), cls="bars", id="bars"))
        bottom = bar_base + (6 + LABEL_SIZE + 5 if options.labels else 0)
    width = right_edge + MARGIN
    if title_text:
        width = max(width, MARGIN * 2 + common.title_width(title_text))
    if options.legend:
        kinds = list(dict.fromkeys(c.kind for c in columns))
        legend, width, bottom = common.place_legend(
            lambda x, y, w: common.legend_items(kinds, x, y, w, theme), width, bottom, MARGIN)
        items += legend
    height = bottom + MARGIN
    name = shaped.network.title or shaped.network.name
    return Scene(width=math.ceil(width), height=math.ceil(height), children=tuple(items),
                 title=f"{name} ({style})", desc=common.network_desc(shaped),
                 background=theme["background"],
                 meta={"cuts": cuts_between(xs, [(i, j - 1) for _, i, j in stages]),
                       "axis": (cy, theme["label"], 1.2),
                       **({"bars": (bars_band, bars_band - (label_top + label_lines * LABEL_LINE if label_lines
                                                             else cy + R))} if with_bars else {})})


def cuts_between(xs: list[float], spans: list[tuple[int, int]]) -> list[float]:
    """Where the row may be cut when it wraps (netviz.pagefit): half-way
    between two cells, unless a stage's bracket (from cell i to cell j) runs
    over that gap (a shortcut's line is cut, and goes on in the next row)."""
    held = set()
    for i, j in spans:
        held.update(range(i, j))
    return [round((a + b) / 2, 3) for k, (a, b) in enumerate(zip(xs, xs[1:])) if k not in held]


def cell_group(col: Column, cx: float, cy: float, options, ids, style: str, r: float = R) -> Group:
    """A cell's icon (of radius R) and the text inside it."""
    theme = options.theme
    first = col.layers[0]
    classes = " ".join(["cell", col.cls_kind] + [f"layer-{ids.token(l.name)}" for l in col.layers])
    prims = common.draw_cell(col.kind, cx, cy, r, theme)
    prims += common.group_mark(col.kind, cx, cy, r, theme, show=(style == "bars"))
    if col.inner and options.labels:
        lines, size = fit_inner(col.inner, 2 * r * 0.72)
        step = size * 1.2
        y0 = cy - (len(lines) - 1) * step / 2 + size * 0.36
        prims += [Text(cx, y0 + i * step, s, size=size, color=theme["cell_text"], cls="cell-text")
                  for i, s in enumerate(lines)]
    return Group(tuple(prims), cls=classes, id=ids.make("cell", first.name), title=col.tooltip)


def label_group(col: Column, cx: float, top: float, theme, ids) -> Group:
    """The blue lines under a cell, from TOP down."""
    texts = tuple(Text(cx, top + LABEL_SIZE + i * LABEL_LINE, s, size=LABEL_SIZE,
                       color=theme["label"], cls="label") for i, s in enumerate(col.label))
    return Group(texts, cls=f"label-group layer-{ids.token(col.layers[0].name)}")


SCALE_ROOM = 16.0  # above the bars, for the names of their scales
SCALE_SIZE = 11.0


def scales(barred) -> dict[str, float]:
    """The largest bar value of each scale among (column, x) pairs."""
    out: dict[str, float] = {}
    for col, _ in barred:
        out[col.scale] = max(out.get(col.scale, 0.0), col.bar[0])
    return {k: v or 1.0 for k, v in out.items()}


def scale_labels(barred, bar_base: float, options) -> list:
    """Where a figure's bars stand on two scales (map sides and sequence
    lengths), each part's scale named over its first bar; none otherwise."""
    from .tensors import SCALE_NAMES
    if len(scales(barred)) < 2 or not options.labels:
        return []
    items, seen = [], set()
    for col, cx in barred:
        if col.scale in seen:
            continue
        seen.add(col.scale)
        items.append(Text(cx - BAR_WIDTH / 2, bar_base - BAR_MAX - 6, SCALE_NAMES[col.scale],
                          size=SCALE_SIZE, color=options.theme["label"], anchor="start",
                          cls=f"bar-scale scale-{col.scale}"))
    return items


def bar_group(col: Column, cx: float, bar_base: float, vmax: float, options, ids,
              mixed: bool = False) -> Group:
    """A cell's bar in the chart, standing on BAR_BASE, with its label under it
    (classed with its scale where the figure has two)."""
    first = col.layers[0]
    value, text = col.bar
    h = max(1.0, BAR_MAX * value / vmax) if value > 0 else 1.0
    prims = [Rect(cx - BAR_WIDTH / 2, bar_base - h, BAR_WIDTH, h, fill=options.theme["bar"], cls="bar-rect")]
    if options.labels:
        prims.append(Text(cx, bar_base + 6 + LABEL_SIZE, text, size=LABEL_SIZE, color=options.theme["label"],
                          cls="bar-label"))
    scale = f" scale-{col.scale}" if mixed else ""
    return Group(tuple(prims), cls=f"bar layer-{ids.token(first.name)}{scale}",
                 id=ids.make("bar", first.name), title=f"{first.name}: {text}")


def stage_runs(columns: list[Column], singles: bool | None = None) -> list[tuple[int, int, int]]:
    """Stages: runs of convolution cells between other cells, numbered from 1,
    whose cells all read the same, as (number, first, end)
    (../reference/vgg.png brackets them under one label). A run of one cell
    is a stage too where SINGLES says so, or (SINGLES None) where a run of
    several cells is one: VGG-11's first two stages are bracketed as its
    others are, while LeNet's and AlexNet's lone convolutions keep their labels."""
    runs, number, i = [], 0, 0
    while i < len(columns):
        if common.category(columns[i].layers[0]) != "conv":
            i += 1
            continue
        number += 1
        j = i
        while j < len(columns) and common.category(columns[j].layers[0]) == "conv":
            j += 1
        first = columns[i]
        if first.label and all(c.label == first.label and c.kind == first.kind for c in columns[i:j]):
            runs.append((number, i, j))
        i = j
    if singles is None:
        singles = any(j - i >= 2 for _, i, j in runs)
    return [run for run in runs if singles or run[2] - run[1] >= 2]


def stage_group(text: list[str], number: int, x0: float, x1: float, cy: float, top: float, theme, ids,
                first: Column) -> Group:
    """A bracket under a stage's cells, an arrow down to their shared label,
    and the stage's number under that."""
    yb = top + 4
    xm = (x0 + x1) / 2
    if x1 - x0 < R:  # one cell: a bracket as wide as its inner disc
        x0, x1 = xm - R * 0.5, xm + R * 0.5
    prims = [Path(((x0, cy + R + 3), (x0, yb), (x1, yb), (x1, cy + R + 3)), stroke=theme["label"],
                  stroke_width=1.2, cls="stage-bracket"),
             Path(((xm, yb), (xm, yb + LABEL_LINE - 4)), stroke=theme["label"], stroke_width=1.2, arrow=True,
                  cls="stage-arrow")]
    y = yb + LABEL_LINE + LABEL_SIZE
    prims += [Text(xm, y + k * LABEL_LINE, s, size=LABEL_SIZE, color=theme["label"], cls="label")
              for k, s in enumerate(text)]
    prims.append(Text(xm, y + len(text) * LABEL_LINE, f"stage {number}", size=LABEL_SIZE,
                      color=theme["label"], cls="stage-name"))
    return Group(tuple(prims), cls=f"label-group stage layer-{ids.token(first.layers[0].name)}")


LANE = 10.0


def skip_edges(shaped: ShapedNetwork, columns: list[Column]) -> list[tuple[int, int]]:
    """Edges of the DAG that do not run from one cell to the next (shortcuts,
    branches), as (from column, to column) pairs."""
    from .modules import owners
    owner = owners(shaped.network, columns)
    edges = []
    for j, col in enumerate(columns):
        for src in col.layers[0].inputs:
            for i in owner.get(src, ()):
                if i < j - 1 and (i, j) not in edges:
                    edges.append((i, j))
    return sorted(edges)


def source_lanes(edges: list[tuple[int, int]]) -> list[int]:
    """A lane per edge; the edges from one cell share a lane (a line out to
    the furthest of them, dropping into each), so a DenseNet block, where
    every layer feeds all after it, needs a lane per layer, not per edge."""
    furthest: dict[int, int] = {}
    for i, j in edges:
        furthest[i] = max(furthest.get(i, j), j)
    spans = sorted(furthest.items())
    lane_of = dict(zip((i for i, _ in spans), assign_lanes(spans)))
    return [lane_of[i] for i, _ in edges]


def assign_lanes(edges: list[tuple[int, int]]) -> list[int]:
    """A lane per edge so that edges sharing a lane never overlap."""
    lanes, ends = [], []  # ends[lane] = last column used by that lane
    for i, j in edges:
        for lane, end in enumerate(ends):
            if end <= i:
                ends[lane] = j
                lanes.append(lane)
                break
        else:
            ends.append(j)
            lanes.append(len(ends) - 1)
    return lanes


def head_room(columns) -> float:
    """What a cell's icon reaches above its disc: the loop handle of the
    recurrent cells."""
    return R * 0.45 if any(c.kind in common.RECURRENT_KINDS for c in columns) else 0.0


def bar_for(layer: Layer, shaped: ShapedNetwork, metric: str,
            layout: str | None = None) -> tuple[float, str] | None:
    """The bar under a layer's cell: its feature-map side (a sequence's
    length), or a measured metric. ``layout`` is the output's (see
    tensors.layouts; by its rank where not given)."""
    from ..table import short_count
    from . import tensors
    info = shaped.info[layer.name]
    if metric == "size":
        out = info.output
        if layout is None:
            layout = tensors.CHW if len(out) > 3 else {3: tensors.CHW, 2: tensors.SEQ}.get(len(out), tensors.VEC)
        side = tensors.side(out, layout)
        if layer.type == "input" and len(out) == 1 and any(
                shaped.network[c].type == "embedding" for c in shaped.network.consumers[layer.name]):
            side = out[0]  # token ids
        return float(side), tensors.shape_text(out, layout)
    if metric == "params":
        return float(info.params), short_count(info.params)
    if metric == "macs":
        return float(info.macs), short_count(info.macs)
    key = {"time": "time_ms", "memory": "memory_mb"}[metric]
    value = shaped.metrics.get(layer.name, {}).get(key)
    if value is None:
        return 0.0, "-"
    return float(value), f"{value:.2f} {'ms' if metric == 'time' else 'MB'}"


def tooltip(layers, shaped: ShapedNetwork) -> str:
    return "; ".join(common.layer_tooltip(l, shaped) for l in layers)


