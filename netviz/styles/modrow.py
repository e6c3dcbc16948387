"""The row of a branching network, drawn as the reference figures draw
GoogLeNet and ResNet-50: each module framed, its branches as lanes stacked
one above the other that meet at the merge cell (a purple concat dot, a
brown sum dot), a shortcut as a line over the lanes into the sum, a run of
identical modules drawn once and marked x3; a thin line joins the cells.

The lane with the most cells sits on the row's axis. A module gets one bar
in the chart, at its merge, for the map it gives; the cells on its lanes
get none (their sizes are in the tooltips). Modules of one structure are
folded (fold.py): drawn once, each cell whose text differs between copies
keyed by a letter, and a table under the frame gives every copy's values;
a shortcut that only some copies have is dashed. Every cell has a slot
wide enough for its labels, so no two texts meet. A part that does not
split into lanes (a tangle) is framed with its cells where Graphviz's dot
put them (tangle.py), drawn over the row's line, one bar at its merge; a
part that ends the network has no merge, and each of its cells has its bar.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..ir import ShapedNetwork
from ..scene import Group, Path, Rect, Scene, Text, text_width
from . import common
from . import endbars, fold
from .modules import Cell, Module, Run, Tangle, cells_of, collapse, projection
from .row import (BAR_MAX, BAR_WIDTH, LABEL_LINE, LABEL_SIZE, MARGIN, SCALE_ROOM, TEXT_GAP, R, Column,
                  bar_group, cell_group, label_group, label_width, scale_labels, scales)

DOT = R * 0.38  # radius of a merge cell
GATE = R * 0.5  # radius of a squeeze-and-excite gate
CELL_GAP = 10.0  # least space between two cells (the lines between them are short)
EDGE = 6.0  # from a module's slot to its frame
IN = 22.0  # from a module's slot to its lanes (room for the branching lines)
OUT = 10.0  # from the lanes to the merge cell's slot
PAD = 12.0  # inside a frame, around the lanes
LANE_GAP = 14.0  # between two lanes
SHORTCUT = 14.0  # room for the shortcut line above the lanes
BEND = 6.0  # the cut corner of a branching line
LINE = 1.2
REPEAT_SIZE = 20.0
RUN_PAD = 8.0  # inside the dashed frame of a repeated run of modules
TABLE_GAP = 6.0  # from a frame to the table under it
TABLE_LINE = LABEL_LINE + 2.0  # rows of a table: 2 px between the lines' text
DASH = (5.0, 3.0)


@dataclass
class Box:
    w: float
    up: float  # reach above the axis
    down: float  # reach below it


class _Row:
    def __init__(self, columns: list[Column], items: list, options: common.RenderOptions, with_bars: bool,
                 style: str):
        self.columns = list(columns)  # as drawn: a folded cell's text carries its key
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
        self.tangles: list = []  # frames laid out by dot, over the row's line
        self.seams: list[tuple[float, float, int]] = []  # (x, y, depth of nesting) between two items
        self.depth = 0
        self.placed: dict = {}  # id(tangle) -> tangle.Placement
        self.barred: list[tuple[Column, float]] = []
        self.tables: dict[int, fold.Table] = {}
        self.with_bar: set[int] = set()  # columns that get a bar: the row's cells, modules' merges
        self.gates: set[int] = set()  # squeeze-and-excite gates, drawn small
        self.centres: dict[int, tuple[float, float]] = {}  # each drawn cell's centre
        self.bars_right = 0.0  # how far right the bars of lanes that end the network reach
        self._fold(items, columns)
        self._bars(items)

    def _fold(self, items, columns) -> None:
        """Each folded item's table, and its cells' text and tooltips."""
        for item in items:
            if isinstance(item, (Cell, Tangle)):
                continue
            if item.copies:
                t = fold.table(item, columns)
                self.tables[id(item)] = t
                last = {c: [copy[p] for copy in item.copies if p < len(copy) and copy[p] is not None][-1]
                        for p, c in enumerate(fold.drawn_cols(item))}
                for c, names in t.names.items():
                    col = self.columns[c]
                    bar = columns[last[c]].bar if col.bar is not None else None
                    self.columns[c] = replace(col, label=t.label.get(c, col.label), inner=t.inner.get(c, col.inner),
                                              bar=bar, tooltip=f"{col.tooltip}\nstands for {len(names)} layers: "
                                                               f"{', '.join(names)}")
            for lane in (item.lanes if isinstance(item, Module) else [item.items]):
                self._fold(lane, columns)

    def _bars(self, items, top: bool = True) -> None:
        for item in items:
            if isinstance(item, fold.Gate):
                self.gates.add(item.col)
            if isinstance(item, Cell):
                if top:
                    self.with_bar.add(item.col)
            elif isinstance(item, Run):
                self._bars(item.items, top)
            elif isinstance(item, Tangle):
                if top and item.merge is not None:
                    self.with_bar.add(item.merge)
                elif top:  # no merge to carry its bar: each cell has its own (tangle.place)
                    self.with_bar.update(item.cols)
            else:
                if top and item.merge is not None:
                    self.with_bar.add(item.merge)
                elif top:  # lanes that end the network: each of their cells has its bar (endbars.py)
                    self.with_bar.update(endbars.lane_cells(item.lanes))
                for lane in item.lanes:
                    self._bars(lane, False)

    # measuring -----------------------------------------------------------
    def radius(self, i: int) -> float:
        return DOT if self.columns[i].kind in common.DOTS else GATE if i in self.gates else R

    def barred_here(self, i: int) -> bool:
        return self.with_bars and i in self.with_bar and self.columns[i].bar is not None

    def slot(self, i: int, bar: bool = True) -> float:
        """A cell's width in the row: its icon, its label, and (BAR) its bar's label."""
        col = self.columns[i]
        r = self.radius(i)
        widths = [2 * r + CELL_GAP]
        if self.options.labels:
            widths.append(label_width(col.label) + TEXT_GAP)
            if bar and self.barred_here(i):
                widths.append(text_width(col.bar[1], LABEL_SIZE) + TEXT_GAP)
        return max(widths)

    def bar_room(self, i: int) -> float:
        """The width a cell's bar and its label need side by side with others (0: no bar)."""
        if not self.barred_here(i):
            return 0.0
        return max(BAR_WIDTH, text_width(self.columns[i].bar[1], LABEL_SIZE) if self.options.labels else 0) + TEXT_GAP

    def cell_box(self, i: int) -> Box:
        col = self.columns[i]
        r = self.radius(i)
        lines = len(col.label) if self.options.labels else 0
        up = r * 1.45 if col.kind in common.RECURRENT_KINDS else r  # the loop handle
        return Box(self.slot(i), up, (R + 8 + lines * LABEL_LINE) if lines else r)

    def measure(self, item) -> Box:
        key = id(item)
        if key not in self.boxes:
            if isinstance(item, Cell):
                self.boxes[key] = self.cell_box(item.col)
            elif isinstance(item, Run):
                inner = self.measure_seq(item.items)
                tw, th = self.table_size(item)
                self.boxes[key] = Box(max(inner.w + 2 * (EDGE + RUN_PAD), tw + 2 * EDGE), inner.up + RUN_PAD + EDGE,
                                      inner.down + RUN_PAD + REPEAT_SIZE + 7 + EDGE + th)
            elif isinstance(item, Tangle):
                p = self.place_tangle(item)
                self.boxes[key] = Box(p.w, p.up, p.down)
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

    # tables -------------------------------------------------------------
    def table_cols(self, t: fold.Table) -> list[float]:
        """Widths of the table's columns: the copies' names, then one per key."""
        cols = [max(text_width(name, LABEL_SIZE) for name, _ in t.rows)]
        for k, key in enumerate(t.keys):
            cols.append(max([text_width(key, LABEL_SIZE)] + [text_width(v[k], LABEL_SIZE) for _, v in t.rows]))
        return cols

    def table_size(self, item) -> tuple[float, float]:
        t = self.tables.get(id(item))
        if t is None or not t.keys or not self.options.labels:
            return 0.0, 0.0
        cols = self.table_cols(t)
        return sum(cols) + TEXT_GAP * (len(cols) - 1), TABLE_GAP + (len(t.rows) + 1) * TABLE_LINE + 10

    def draw_table(self, item, cx: float, top: float) -> None:
        """The table of a folded item, centred on CX, from TOP down: a header
        of keys, then a row per run of copies that agree."""
        t = self.tables.get(id(item))
        w, _ = self.table_size(item)
        if not w:
            return
        theme = self.options.theme
        cols = self.table_cols(t)
        x = cx - w / 2
        lefts = []
        for c in cols:
            lefts.append(x)
            x += c + TEXT_GAP
        y = top + TABLE_GAP + LABEL_SIZE
        prims = [Text(lefts[k + 1] + cols[k + 1] / 2, y, key, size=LABEL_SIZE, color=theme["label"],
                      weight="bold", cls="table-key") for k, key in enumerate(t.keys)]
        rule = y + 5.5
        prims.append(Path(((cx - w / 2, rule), (cx + w / 2, rule)), stroke=theme["label"], stroke_width=0.6,
                          cls="table-rule"))
        for r, (name, values) in enumerate(t.rows):
            ry = y + (r + 1) * TABLE_LINE + 4
            prims.append(Text(lefts[0] + cols[0], ry, name, size=LABEL_SIZE, color=theme["label"], anchor="end",
                              cls="table-copy"))
            prims += [Text(lefts[k + 1] + cols[k + 1] / 2, ry, v, size=LABEL_SIZE, color=theme["label"],
                           cls="table-value") for k, v in enumerate(values)]
        self.labels.append(Group(tuple(prims), cls="fold-table"))

    def _frame(self, module: Module) -> tuple[float, float, float, float, float]:
        """(lanes width, frame top, frame bottom, merge centre, frame right),
        all relative to the module's slot (x from its left edge, y from the axis)."""
        boxes, offsets, _ = self.lanes(module)
        width = max(b.w for b in boxes)
        top = min(o - b.up for o, b in zip(offsets, boxes)) - (SHORTCUT if module.shortcut else 0) - PAD
        bottom = max(o + b.down for o, b in zip(offsets, boxes)) + PAD
        if projection(module) is not None:
            bottom += SHORTCUT + (REPEAT_SIZE if module.repeat > 1 else 0)  # the xN under the line
        if module.merge is None:
            return width, top, bottom, IN + width, IN + width + PAD
        merge = self.columns[module.merge]
        dslot = self.slot(module.merge, bar=False)  # its bar's label may reach over the lanes: they have none
        mx = IN + width + OUT + dslot / 2
        right = mx + DOT + PAD
        if self.options.labels and merge.label:  # the merge cell's own label stays in the frame
            right = max(right, mx + label_width(merge.label) / 2 + PAD)
        if module.repeat > 1:  # the mark goes under the merge cell (and its label), at the right
            mark = text_width(f"x{module.repeat}", REPEAT_SIZE)
            right = max(right, IN + width + mark + 2 * BEND)
            bottom = max(bottom, self.cell_box(module.merge).down + REPEAT_SIZE + 2 * BEND)
        return width, top, bottom, mx, right

    def _lead(self, module: Module) -> float:
        """How far the frame moves right so that a wider table is centred under it."""
        _, _, _, _, right = self._frame(module)
        tw, _ = self.table_size(module)
        return max(0.0, tw / 2 - (EDGE + right) / 2)

    def _module_box(self, module: Module) -> Box:
        width, top, bottom, mx, right = self._frame(module)
        lead = self._lead(module)
        w = right + EDGE
        if module.merge is not None:
            w = max(w, mx + self.slot(module.merge) / 2)
        tw, th = self.table_size(module)
        return Box(max(w + lead, lead + (EDGE + right + tw) / 2 + EDGE), -top, bottom + th)

    # drawing --------------------------------------------------------------
    def draw_cell(self, col_index: int, cx: float, cy: float, on_axis: bool) -> None:
        col = self.columns[col_index]
        r = GATE if col_index in self.gates else R  # a merge cell's icon is drawn small by itself
        self.cells.append(cell_group(col, cx, cy, self.options, self.ids, self.style, r))
        self.centres[col_index] = (cx, cy)
        if self.options.labels and col.label:
            self.labels.append(label_group(col, cx, cy + R + 8, self.options.theme, self.ids))
        if on_axis and self.barred_here(col_index):
            self.barred.append((col, cx))

    def draw_seq(self, items, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        """Draw ITEMS from X along the line at Y; the centres of the first and last."""
        centres = []
        self.depth += 1
        for k, item in enumerate(items):
            box = self.measure(item)
            if isinstance(item, Cell):
                cx = x + box.w / 2
                self.draw_cell(item.col, cx, y, on_axis)
                centres.append((cx, cx))
            elif isinstance(item, Run):
                centres.append(self.draw_run(item, x, y, on_axis))
            elif isinstance(item, Tangle):
                centres.append(self.draw_tangle(item, x, y, on_axis))
            else:
                centres.append(self.draw_module(item, x, y, on_axis))
            x += box.w
            if k < len(items) - 1:
                self.seams.append((x, y, self.depth))
        self.depth -= 1
        return centres[0][0], centres[-1][1]

    def link(self, points, cls: str, dash=None) -> None:
        self.links.append(Path(tuple(points), stroke=self.options.theme["label"], stroke_width=LINE, cls=cls,
                               dash=dash))

    def copies_title(self, item, what: str) -> str:
        names = fold.all_names(item, self.columns)
        if self.options.fold == "exact":
            return f"{item.repeat} identical {what}, starting at {', '.join(names)}"
        return f"{item.repeat} {what} of one structure, starting at {', '.join(names)}"

    def draw_run(self, run: Run, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        """A repeated sequence of modules in a dashed frame, marked with its count."""
        theme = self.options.theme
        box, inner = self.measure(run), self.measure_seq(run.items)
        fw = inner.w + 2 * (EDGE + RUN_PAD)
        lead = (box.w - fw) / 2
        ends = self.draw_seq(run.items, x + lead + EDGE + RUN_PAD, y, on_axis)
        _, th = self.table_size(run)
        top, bottom = y - inner.up - RUN_PAD, y + box.down - EDGE - th
        names = [self.columns[c].layers[0].name for c in run.first_cols]
        frame = Rect(x + lead + EDGE, top, fw - 2 * EDGE, bottom - top, fill=None, stroke=theme["label"],
                     stroke_width=1.0, rx=6.0, dash=DASH, cls="run-frame")
        what = f"runs of {len(run.items)} modules and cells"
        self.frames.append(Group((frame,), cls="run repeated", id=self.ids.make("run", names[0]),
                                 title=self.copies_title(run, what)))
        self.marks.append(Text(x + lead + fw - EDGE - BEND, bottom - BEND - 3, f"x{run.repeat}", size=REPEAT_SIZE,
                               color=theme["label"], anchor="end", cls="repeat"))
        self.draw_table(run, x + box.w / 2, bottom)
        return ends

    def place_tangle(self, item: Tangle):
        from .tangle import place
        if id(item) not in self.placed:
            labels = self.options.labels

            def half_width(c):
                return max(self.radius(c), label_width(self.columns[c].label) / 2 if labels else 0.0)

            self.placed[id(item)] = place(  # a part that ends the network: a bar for each cell
                item, self.radius, lambda c: (self.cell_box(c).up, self.cell_box(c).down), half_width,
                lambda c: self.slot(c, bar=False), lambda c: self.bar_room(c) if item.merge is None else 0.0)
        return self.placed[id(item)]

    def draw_tangle(self, item: Tangle, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        """A part that does not split, in a frame drawn over the row's line:
        its cells where dot put them, its edges as dot's lines."""
        theme = self.options.theme
        p = self.place_tangle(item)
        x0, y0, x1, y1 = p.frame
        first = self.columns[item.cols[0]].layers[0].name
        end = (f", merging at {self.columns[item.merge].layers[0].name}" if item.merge is not None
               else ", ending the network")
        prims = [Rect(x + x0, y + y0, x1 - x0, y1 - y0, fill=theme["frame"], stroke=theme["label"],
                      stroke_width=1.0, rx=4.0, cls="tangle-frame"),
                 Path(((x + x0, y), (x + p.entry[0], y + p.entry[1])),
                      stroke=theme["label"], stroke_width=LINE, cls="axis-in")]
        token = self.ids.token
        for a, b, pts in p.edges:
            src = "entry" if a == item.entry else token(self.columns[a].layers[-1].name)
            prims.append(Path(tuple((x + px, y + py) for px, py in pts), stroke=theme["label"], stroke_width=LINE,
                              arrow=True, cls=f"tangle-edge from-{src} to-{token(self.columns[b].layers[0].name)}"))
        if item.merge is not None:
            mx = x + p.cells[item.merge][0]
            prims.append(Path(((mx, y), (x + x1, y)), stroke=theme["label"], stroke_width=LINE, cls="axis-out"))
        self.tangles.append(Group(tuple(prims), cls="tangle", id=self.ids.make("tangle", first),
                                  title=f"part starting at {first}{end}, laid out by Graphviz"))
        for c in item.cols:
            cx, cy = p.cells[c]
            self.draw_cell(c, x + cx, y + cy, False)
        if on_axis:
            self.barred += [(self.columns[c], x + bx) for c, bx in sorted(p.bars.items(), key=lambda b: b[1])]
        if item.merge is not None:
            self.draw_cell(item.merge, x + p.cells[item.merge][0], y, on_axis)
            return x + x0, x + p.cells[item.merge][0]
        return x + x0, x + x1

    def draw_module(self, module: Module, x: float, y: float, on_axis: bool) -> tuple[float, float]:
        theme = self.options.theme
        x += self._lead(module)
        width, top, bottom, mx, right = self._frame(module)
        boxes, offsets, main = self.lanes(module)
        names = [self.columns[c].layers[0].name for c in module.first_cols]
        end = (f", merging at {self.columns[module.merge].layers[0].name}" if module.merge is not None
               else ", ending the network")
        title = (self.copies_title(module, "modules") if module.repeat > 1
                 else f"module starting at {names[0]}{end}")
        cls = "module" + (" repeated" if module.repeat > 1 else "")
        gate = module.merge is not None and self.columns[module.merge].kind == "mul"
        if gate:  # a gate scales what it reads, unlike a residual sum: a frame of its own
            cls += " gate"
            title = title.replace("module", "gate", 1)
            frame = Rect(x + EDGE, y + top, right - EDGE, bottom - top, fill=None,
                         stroke=theme["gate_frame"], stroke_width=1.2, rx=10.0, dash=(2.0, 2.5),
                         cls="module-frame gate-frame")
        else:
            frame = Rect(x + EDGE, y + top, right - EDGE, bottom - top, fill=theme["frame"],
                         stroke=theme["label"], stroke_width=1.0, rx=4.0, cls="module-frame")
        self.frames.append(Group((frame,), cls=cls, id=self.ids.make("module", names[0]), title=title))
        split = x + EDGE + PAD
        join = x + mx if module.merge is not None else None
        for i, (lane, box, off) in enumerate(zip(module.lanes, boxes, offsets)):
            ly = y + off
            lx = x + IN + (width - box.w) / 2
            first, last = self.draw_seq(lane, lx, ly, False)
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
            dash = DASH if "none" in module.shortcuts else None  # some copies have none
            self.link([(split, y), (split, sy + BEND), (split + BEND, sy), (join - BEND, sy),
                       (join, sy + BEND), (join, y - DOT)], "shortcut", dash)
        if projection(module) is not None:  # the first copy's projection, under the lanes
            py = y + max(o + b.down for o, b in zip(offsets, boxes)) + SHORTCUT / 2 + 2
            self.link([(split, y), (split, py - BEND), (split + BEND, py), (join - BEND, py),
                       (join, py - BEND), (join, y + DOT)], "shortcut projection", DASH)
        if join is not None:
            self.draw_cell(module.merge, join, y, on_axis)
        elif on_axis:  # no merge to carry the bar: each lane's cells have theirs
            for c, bx in endbars.side_by_side([(c, *self.centres[c], self.bar_room(c)) for c in
                                               endbars.lane_cells(module.lanes) if self.barred_here(c)], x + EDGE):
                self.barred.append((self.columns[c], bx))
                self.bars_right = max(self.bars_right, bx + self.bar_room(c) / 2)
        if module.repeat > 1:
            self.marks.append(Text(x + right - BEND, y + bottom - BEND, f"x{module.repeat}", size=REPEAT_SIZE,
                                   color=theme["label"], anchor="end", cls="repeat"))
        self.draw_table(module, x + (EDGE + right) / 2, y + bottom)
        return ends[0], join if join is not None else ends[1]


def layout(shaped: ShapedNetwork, columns: list[Column], items: list, options: common.RenderOptions,
           with_bars: bool, style: str) -> Scene:
    theme = options.theme
    if not options.expand:
        items = collapse(items, columns) if options.fold == "exact" else fold.collapse(items, columns)
    row = _Row(columns, items, options, with_bars, style)
    title_text = options.title
    head: list = []
    title, title_h = common.title_items(title_text, MARGIN, MARGIN, theme)
    head += title
    box = row.measure_seq(items)
    cy = MARGIN + title_h + box.up + 2
    first, last = row.draw_seq(items, MARGIN, cy, True)
    row.links.insert(0, Path(((first, cy), (last, cy)), stroke=theme["label"], stroke_width=LINE, cls="axis"))
    bottom = cy + box.down
    width = max(MARGIN + box.w, row.bars_right) + MARGIN
    body = head + [Group(tuple(row.frames), cls="modules", id="modules"),
                   Group(tuple(row.links), cls="links", id="links")]
    if row.tangles:  # over the row's line, which runs under them
        body.append(Group(tuple(row.tangles), cls="tangles", id="tangles"))
    body.append(Group(tuple(row.cells), cls="cells", id="cells"))
    if row.labels:
        body.append(Group(tuple(row.labels), cls="labels", id="labels"))
    if row.marks:
        body.append(Group(tuple(row.marks), cls="repeats", id="repeats"))
    if with_bars:
        vmax = scales(row.barred)
        bars_band = bottom + 12
        bar_base = bars_band + BAR_MAX + (SCALE_ROOM if len(vmax) > 1 and options.labels else 0)
        mixed = len(vmax) > 1
        named = scale_labels(row.barred, bar_base, options)
        bars_band = min([bars_band] + [t.box[1] for t in named])
        body.append(Group(tuple(bar_group(c, cx, bar_base, vmax[c.scale], options, row.ids, mixed)
                                for c, cx in row.barred) + tuple(named), cls="bars", id="bars"))
        bottom = bar_base + (6 + LABEL_SIZE + 5 if options.labels else 0)
    if title_text:
        width = max(width, MARGIN * 2 + common.title_width(title_text))
    if options.legend:
        kinds = list(dict.fromkeys(columns[i].kind for item in items for i in cells_of(item)))
        legend, width, bottom = common.place_legend(
            lambda x, y, w: common.legend_items(kinds, x, y, w, theme), width, bottom, MARGIN)
        body += legend
    name = shaped.network.title or shaped.network.name
    return Scene(width=math.ceil(width), height=math.ceil(bottom + MARGIN), children=tuple(body),
                 title=f"{name} ({style})", desc=common.network_desc(shaped), background=theme["background"],
                 meta={"cuts": _cuts(row, items), "inner_cuts": _inner_cuts(row, cy),
                       "axis": (cy, theme["label"], LINE),
                       **({"bars": (bars_band, 12.0)} if with_bars else {})})


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


def _inner_cuts(row: _Row, cy: float) -> list[float]:
    """Cuts for a module wider than the printed row (netviz.pagefit): between
    the items of a top-level module's lane on the row's line, not inside the
    modules and runs of that lane (their frames and tables stay whole)."""
    return sorted({round(x, 3) for x, y, depth in row.seams if depth == 2 and abs(y - cy) < 1e-6})
