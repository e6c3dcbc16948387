"""The row of a branching network, drawn as the reference figures draw
GoogLeNet and ResNet-50: each module framed, its branches as lanes stacked
one above the other that meet at the merge cell (a purple concat dot, a
brown sum dot), a shortcut as a line over the lanes into the sum, a run of
identical modules drawn once and marked x3; a thin line joins the cells.

The lane whose cells are widest sits on the row's axis; its cells (and the
merge cells) get bars in the chart, the other lanes' cells do not (their
sizes are in the tooltips). Every cell has a slot wide enough for its
labels, so no two texts meet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..ir import ShapedNetwork
from ..scene import Group, Path, Rect, Scene, Text, text_width
from . import common
from .modules import Cell, Module, Run, cells_of, collapse
from .row import (BAR_MAX, GAP, LABEL_LINE, LABEL_SIZE, MARGIN, TEXT_GAP, R, Column, bar_group,
                  cell_group, label_group, label_width)

DOT = R * 0.38  # radius of a merge cell
EDGE = 6.0  # from a module's slot to its frame
IN = 30.0  # from a module's slot to its lanes (room for the branching lines)
OUT = 14.0  # from the lanes to the merge cell's slot
PAD = 12.0  # inside a frame, around the lanes
LANE_GAP = 14.0  # between two lanes
SHORTCUT = 14.0  # room for the shortcut line above the lanes
BEND = 6.0  # the cut corner of a branching line
LINE = 1.2
REPEAT_SIZE = 20.0
RUN_PAD = 8.0  # inside the dashed frame of a repeated run of modules


@dataclass
class Box:
    w: float
    up: float  # reach above the axis
    down: float  # reach below it


class _Row:
    def __init__(self, columns: list[Column], options: common.RenderOptions, with_bars: bool, style: str):
        self.columns = columns
        self.options = options
        self.with_bars = with_bars
        self.style = style
        self.ids = common.Ids()
        self.boxes: dict[int, Box] = {}
        self.frames: list = []
        self.links: list = []
        self.cells: list = []
        self.labels: list = []
        self.marks: list = []
        self.barred: list[tuple[Column, float]] = []

    # measuring -----------------------------------------------------------
    def radius(self, col: Column) -> float:
        return DOT if col.kind in ("add", "concat") else R

    def slot(self, col: Column) -> float:
        r = self.radius(col)
        widths = [2 * r + GAP]
        if self.options.labels:
            widths.append(label_width(col.label) + TEXT_GAP)
            if self.with_bars and col.bar is not None:
                widths.append(text_width(col.bar[1], LABEL_SIZE) + TEXT_GAP)
        return max(widths)

    def cell_box(self, col: Column) -> Box:
        r = self.radius(col)
        lines = len(col.label) if self.options.labels else 0
        up = r * 1.45 if col.kind in common.RECURRENT_KINDS else r  # the loop handle
        return Box(self.slot(col), up, (R + 8 + lines * LABEL_LINE) if lines else r)

    def measure(self, item) -> Box:
        key = id(item)
        if key not in self.boxes:
            if isinstance(item, Cell):
                self.boxes[key] = self.cell_box(self.columns[item.col])
            elif isinstance(item, Run):
                inner = self.measure_seq(item.items)
                self.boxes[key] = Box(inner.w + 2 * (EDGE + RUN_PAD), inner.up + RUN_PAD + EDGE,
                                      inner.down + RUN_PAD + REPEAT_SIZE + 7 + EDGE)
            else:
                self.boxes[key] = self._module_box(item)
        return self.boxes[key]

    def measure_seq(self, items) -> Box:
        boxes = [self.measure(x) for x in items]
        return Box(sum(b.w for b in boxes), max(b.up for b in boxes), max(b.down for b in boxes))

    def lanes(self, module: Module) -> tuple[list[Box], list[float], int]:
        """Each lane's box, its offset from the axis, and which lane is on it."""
        boxes = [self.measure_seq(lane) for lane in module.lanes]
        cells = [sum(len(cells_of(x)) for x in lane) for lane in module.lanes]
        main = max(range(len(boxes)), key=lambda i: (cells[i], boxes[i].w, -i))  # the most cells
        offsets = [0.0] * len(boxes)
        for i in range(main - 1, -1, -1):
            offsets[i] = offsets[i + 1] - boxes[i + 1].up - LANE_GAP - boxes[i].down
        for i in range(main + 1, len(boxes)):
            offsets[i] = offsets[i - 1] + boxes[i - 1].down + LANE_GAP + boxes[i].up
        return boxes, offsets, main

    def _frame(self, module: Module) -> tuple[float, float, float, float, float]:
        """(lanes width, frame top, frame bottom, merge centre, frame right),
        all relative to the module's slot (x from its left edge, y from the axis)."""
        boxes, offsets, _ = self.lanes(module)
        width = max(b.w for b in boxes)
        top = min(o - b.up for o, b in zip(offsets, boxes)) - (SHORTCUT if module.shortcut else 0) - PAD
        bottom = max(o + b.down for o, b in zip(offsets, boxes)) + PAD
        if module.merge is None:
            return width, top, bottom, IN + width, IN + width + PAD
        merge = self.columns[module.merge]
        dslot = self.slot(merge)
        mx = IN + width + OUT + dslot / 2
        right = mx + DOT + PAD
        if self.options.labels and merge.label:  # the merge cell's own label stays in the frame
            right = max(right, mx + label_width(merge.label) / 2 + PAD)
        if module.repeat > 1:  # the mark goes under the merge cell (and its label), at the right
            mark = text_width(f"x{module.repeat}", REPEAT_SIZE)
            right = max(right, IN + width + mark + 2 * BEND)
            bottom = max(bottom, self.cell_box(merge).down + REPEAT_SIZE + 2 * BEND)
        return width, top, bottom, mx, right

    def _module_box(self, module: Module) -> Box:
        width, top, bottom, mx, right = self._frame(module)
        w = right + EDGE
        if module.merge is not None:
            w = max(w, mx + self.slot(self.columns[module.merge]) / 2)
        return Box(w, -top, bottom)

    # drawing --------------------------------------------------------------
    def draw_cell(self, col_index: int, cx: float, cy: float, on_axis: bool) -> None:
        col = self.columns[col_index]
        self.cells.append(cell_group(col, cx, cy, self.options, self.ids, self.style))
        if self.options.labels and col.label:
            self.labels.append(label_group(col, cx, cy + R + 8, self.options.theme, self.ids))
        if on_axis and self.with_bars and col.bar is not None:
            self.barred.append((col, cx))

    def draw_seq(self, items, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        """Draw ITEMS from X along the line at Y; the centres of the first and last."""
        centres = []
        for item in items:
            box = self.measure(item)
            if isinstance(item, Cell):
                cx = x + box.w / 2
                self.draw_cell(item.col, cx, y, on_axis)
                centres.append((cx, cx))
            elif isinstance(item, Run):
                centres.append(self.draw_run(item, x, y, on_axis))
            else:
                centres.append(self.draw_module(item, x, y, on_axis))
            x += box.w
        return centres[0][0], centres[-1][1]

    def link(self, points, cls: str) -> None:
        self.links.append(Path(tuple(points), stroke=self.options.theme["label"], stroke_width=LINE, cls=cls))

    def draw_run(self, run: Run, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        """A repeated sequence of modules in a dashed frame, marked with its count."""
        theme = self.options.theme
        box, inner = self.measure(run), self.measure_seq(run.items)
        ends = self.draw_seq(run.items, x + EDGE + RUN_PAD, y, on_axis)
        top, bottom = y - inner.up - RUN_PAD, y + box.down - EDGE
        names = [self.columns[c].layers[0].name for c in run.first_cols]
        frame = Rect(x + EDGE, top, box.w - 2 * EDGE, bottom - top, fill=None, stroke=theme["label"],
                     stroke_width=1.0, rx=6.0, dash=(5.0, 3.0), cls="run-frame")
        self.frames.append(Group((frame,), cls="run repeated", id=self.ids.make("run", names[0]),
                                 title=f"{run.repeat} identical runs of {len(run.items)} modules and cells, "
                                       f"starting at {', '.join(names)}"))
        self.marks.append(Text(x + box.w - EDGE - BEND, bottom - BEND - 3, f"x{run.repeat}", size=REPEAT_SIZE,
                               color=theme["label"], anchor="end", cls="repeat"))
        return ends

    def draw_module(self, module: Module, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        theme = self.options.theme
        width, top, bottom, mx, right = self._frame(module)
        boxes, offsets, main = self.lanes(module)
        names = [self.columns[c].layers[0].name for c in module.first_cols]
        end = (f", merging at {self.columns[module.merge].layers[0].name}" if module.merge is not None
               else ", ending the network")
        title = (f"{module.repeat} identical modules, starting at {', '.join(names)}"
                 if module.repeat > 1 else f"module starting at {names[0]}{end}")
        cls = "module" + (" repeated" if module.repeat > 1 else "")
        frame = Rect(x + EDGE, y + top, right - EDGE, bottom - top, fill=theme["frame"],
                     stroke=theme["label"], stroke_width=1.0, rx=4.0, cls="module-frame")
        self.frames.append(Group((frame,), cls=cls, id=self.ids.make("module", names[0]), title=title))
        split = x + EDGE + PAD
        join = x + mx if module.merge is not None else None
        for i, (lane, box, off) in enumerate(zip(module.lanes, boxes, offsets)):
            ly = y + off
            lx = x + IN + (width - box.w) / 2
            first, last = self.draw_seq(lane, lx, ly, on_axis and i == main)
            if i == main:
                ends = (first, last)
            if off == 0:
                continue  # the axis, drawn by what holds this module
            turn = BEND if off > 0 else -BEND
            pts = [(split, y), (split, ly - turn), (split + BEND, ly)]
            if join is None:
                pts.append((last, ly))
            else:
                pts += [(join - BEND, ly), (join, ly - turn), (join, y)]
            self.link(pts, "branch")
        if module.shortcut:
            sy = y + min(o - b.up for o, b in zip(offsets, boxes)) - SHORTCUT / 2 - 2
            self.link([(split, y), (split, sy + BEND), (split + BEND, sy), (join - BEND, sy),
                       (join, sy + BEND), (join, y - DOT)], "shortcut")
        if join is not None:
            self.draw_cell(module.merge, join, y, on_axis)
        if module.repeat > 1:
            self.marks.append(Text(x + right - BEND, y + bottom - BEND, f"x{module.repeat}", size=REPEAT_SIZE,
                                   color=theme["label"], anchor="end", cls="repeat"))
        return ends[0], join if join is not None else ends[1]


def layout(shaped: ShapedNetwork, columns: list[Column], items: list, options: common.RenderOptions,
           with_bars: bool, style: str) -> Scene:
    theme = options.theme
    if not options.expand:
        items = collapse(items, columns)
    row = _Row(columns, options, with_bars, style)
    title_text = options.title
    head: list = []
    title, title_h = common.title_items(title_text, MARGIN, MARGIN, theme)
    head += title
    box = row.measure_seq(items)
    cy = MARGIN + title_h + box.up + 2
    first, last = row.draw_seq(items, MARGIN, cy, True)
    row.links.insert(0, Path(((first, cy), (last, cy)), stroke=theme["label"], stroke_width=LINE, cls="axis"))
    bottom = cy + box.down
    width = MARGIN + box.w + MARGIN
    body = head + [Group(tuple(row.frames), cls="modules", id="modules"),
                   Group(tuple(row.links), cls="links", id="links"),
                   Group(tuple(row.cells), cls="cells", id="cells")]
    if row.labels:
        body.append(Group(tuple(row.labels), cls="labels", id="labels"))
    if row.marks:
        body.append(Group(tuple(row.marks), cls="repeats", id="repeats"))
    if with_bars:
        bar_base = bottom + 12 + BAR_MAX
        vmax = max((c.bar[0] for c, _ in row.barred), default=0) or 1
        body.append(Group(tuple(bar_group(c, cx, bar_base, vmax, options, row.ids) for c, cx in row.barred),
                          cls="bars", id="bars"))
        bottom = bar_base + (6 + LABEL_SIZE + 5 if options.labels else 0)
    if title_text:
        width = max(width, MARGIN * 2 + text_width(title_text, 18, "bold"))
    if options.legend:
        kinds = list(dict.fromkeys(columns[i].kind for i in _drawn(items)))
        legend, lw, lh = common.legend_items(kinds, MARGIN, bottom + 20, max(width - 2 * MARGIN, 300), theme)
        body += legend
        width = max(width, MARGIN * 2 + lw)
        bottom += 20 + lh
    name = shaped.network.title or shaped.network.name
    return Scene(width=math.ceil(width), height=math.ceil(bottom + MARGIN), children=tuple(body),
                 title=f"{name} ({style})", desc=common.network_desc(shaped), background=theme["background"],
                 meta={"cuts": _cuts(row, items), "axis": (cy, theme["label"], LINE)})


def _cuts(row: _Row, items) -> list[float]:
    """Where the row may be cut when it wraps (netviz.pagefit): between two
    top-level modules or cells, and between the modules of a repeated run."""
    cuts, x = [], MARGIN
    for item in items:
        if isinstance(item, Run):
            inner = x + EDGE + RUN_PAD
            for sub in item.items[:-1]:
                inner += row.measure(sub).w
                cuts.append(inner)
        x += row.measure(item).w
        cuts.append(x)
    return cuts[:-1]


def _drawn(items) -> list[int]:
    from .modules import cells_of
    return [c for item in items for c in cells_of(item)]
