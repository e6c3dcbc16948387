"""``graph``: any network as a graph laid out by Graphviz's dot, drawn in the
cells of the bars and short styles, each edge labelled with the tensor it
carries (256*13*13), modules framed and named, repeats folded.

One node per cell of the ``bars`` style (a batch normalisation shares its
convolution's cell; activations, dropout and flatten have none), with the
kernel and channels written in the cell as in ``short``. Modules (found by
``modules.py``, as for the row styles) become Graphviz clusters: framed,
named after the layers in them, a run of identical ones drawn once and
marked xN unless ``--expand``. Each output of the network ends in an
"output" caption, its edge labelled with the output's shape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import UsageError
from ..ir import ShapedNetwork
from ..safetext import cut_label
from . import common
from .modules import Cell, Module, Run, collapse, column_edges, owners
from .modules import plan as module_plan
from .row import Column, tooltip

MAX_NODES = 1000  # cells and edges: dot takes seconds below, minutes for DenseNet-121's 1028


@dataclass
class Frame:
    """A cluster: a module (framed, filled) or a run of repeated items (dashed)."""

    id: str
    kind: str  # "module" | "run"
    name: str
    repeat: int
    title: str
    cells: list[int] = field(default_factory=list)
    frames: list["Frame"] = field(default_factory=list)

    @property
    def label(self) -> str:
        name = cut_label(self.name)  # whole in the frame's tooltip
        return f"{name} x{self.repeat}" if self.repeat > 1 else name


@dataclass
class Structure:
    """What the graph style draws: cells (column numbers), edges between them
    (src, dst) and the frames they sit in."""

    cells: list[int]
    edges: list[tuple[int, int]]
    frames: list[Frame]


def units(shaped: ShapedNetwork) -> list[Column]:
    """The bars style's cells, with the short style's text inside them."""
    from .bars import columns
    from .short import inner_for
    cols = columns(shaped)
    for col in cols:
        col.label, col.bar = [], None
        col.inner = inner_for(col.layers[0])
        if col.kind == "conv_group":
            col.kind = "conv"  # the cell's text leaves no room for the 'G' mark
        col.tooltip = tooltip(col.layers, shaped)
    return cols


_SEP = re.compile(r"([._/-])")


def common_name(names: list[str]) -> str:
    """The longest run of whole name parts (split at . _ / -) every name
    starts with: layer1.0.conv1, layer1.0.add -> layer1.0."""
    if not names:
        return ""
    split = [_SEP.split(n) for n in names]
    out = []
    for parts in zip(*split):
        if any(p != parts[0] for p in parts):
            break
        out.append(parts[0])
    while out and (not out[-1] or _SEP.fullmatch(out[-1])):
        out.pop()
    return "".join(out)


def structure(shaped: ShapedNetwork, columns: list[Column], expand: bool = False) -> Structure:
    """Cells, edges and frames: from the modules where the graph splits into
    them (folded unless EXPAND), else every cell and edge as it is."""
    net = shaped.network
    items = module_plan(net, columns)
    succ, _ = column_edges(net, columns)
    raw = sorted((i, j) for i in range(len(columns)) for j in succ[i])
    if items is None:
        return Structure(list(range(len(columns))), raw, [])
    if not expand:
        items = collapse(items, columns)
    walk = _Walk(columns)
    top: list[Frame] = []
    cells: list[int] = []
    walk.seq(items, None, top, cells)
    return Structure(walk.cells, walk.edges if not expand else raw, top)


class _Walk:
    """Cells, edges and frames from the plan's items, in drawing order."""

    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.cells: list[int] = []
        self.edges: list[tuple[int, int]] = []
        self.count = 0

    def seq(self, items, entry, frames, cells):
        for item in items:
            entry = self.item(item, entry, frames, cells)
        return entry

    def edge(self, src, dst):
        if src is not None and (src, dst) not in self.edges:
            self.edges.append((src, dst))

    def frame(self, kind, item, frames) -> Frame:
        from .modules import cells_of
        drawn = cells_of(item)
        firsts = list(getattr(item, "first_cols", []))
        names = [l.name for c in drawn for l in self.columns[c].layers]
        names += [self.columns[c].layers[0].name for c in firsts]
        name = common_name(names)
        if not name:  # names with nothing in common: the first and the merge
            first = self.columns[drawn[0]].layers[0].name
            merge = getattr(item, "merge", None)
            name = f"{first} to {self.columns[merge].layers[0].name}" if merge is not None else first
        repeat = getattr(item, "repeat", 1)
        starts = ", ".join(self.columns[c].layers[0].name for c in firsts)
        if repeat > 1:
            title = f"{repeat} identical {'modules' if kind == 'module' else 'runs'}, starting at {starts}"
        else:
            title = f"module {name}, starting at {self.columns[drawn[0]].layers[0].name}"
        self.count += 1
        f = Frame(id=f"f{self.count}", kind=kind, name=name, repeat=repeat, title=title)
        frames.append(f)
        return f

    def item(self, item, entry, frames, cells):
        if isinstance(item, Cell):
            cells.append(item.col)
            self.cells.append(item.col)
            self.edge(entry, item.col)
            return item.col
        if isinstance(item, Run):
            f = self.frame("run", item, frames)
            return self.seq(item.items, entry, f.frames, f.cells)
        assert isinstance(item, Module)
        f = self.frame("module", item, frames)
        ends = [self.seq(lane, entry, f.frames, f.cells) for lane in item.lanes]
        if item.merge is None:
            return None  # the lanes end the network
        f.cells.append(item.merge)
        self.cells.append(item.merge)
        for end in ends:
            self.edge(end, item.merge)
        if item.shortcut:
            self.edge(entry, item.merge)
        return item.merge


def shape_text(shape) -> str:
    return "*".join(str(d) for d in shape)


def edge_shape(shaped: ShapedNetwork, columns: list[Column], owner: dict, src: int, dst: int):
    """The tensor an edge from column SRC into column DST carries: what
    DST's layers read from SRC (through any layers without a cell)."""
    for layer in columns[dst].layers:
        for name in layer.inputs:
            if src in owner.get(name, ()):
                return shaped.info[name].output
    return shaped.info[columns[src].layers[-1].name].output  # a folded repeat: the same tensor


def outputs(shaped: ShapedNetwork, owner: dict) -> list[tuple[str, tuple[int, ...]]]:
    """The network's outputs (layers nothing reads), with the columns each stands for."""
    net = shaped.network
    return [(layer.name, owner.get(layer.name, ())) for layer in net.layers if not net.consumers[layer.name]]


def build(shaped: ShapedNetwork, options: common.RenderOptions):
    from .graph_draw import draw
    columns = units(shaped)
    found = structure(shaped, columns, options.expand)
    limit = getattr(options, "max_nodes", MAX_NODES)
    # dot places every cell and every edge's label: both count
    n = len(found.cells) + len(found.edges)
    if n > limit:
        raise UsageError(f"{shaped.network.name}: {len(found.cells)} cells and {len(found.edges)} edges to lay "
                         f"out, more than --max-nodes {limit}; dot would take minutes: raise --max-nodes, "
                         f"or draw it with --style bars")
    return draw(shaped, columns, found, options)
