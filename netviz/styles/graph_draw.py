"""The graph style's drawing: hand the cells, edges and frames to dot (sized
in this style's pixels), then draw what comes back through the scene."""
from __future__ import annotations

import math
from dataclasses import replace

from ..ir import ShapedNetwork
from ..layout.dot import Cluster, Edge, Graph, Node, Placed, lay_out
from ..scene import Group, Path, Rect, Scene, Text, text_width
from . import common
from .modrow import DOT
from .row import MARGIN, Column, R, cell_group

EDGE_SIZE = 11.0  # an edge's shape label
FRAME_SIZE = 12.0  # a frame's name
CAPTION_SIZE = 12.0  # "output" under an output's last edge
LINE = 1.2
INK = "#000000"  # edges and their arrow heads, as in the stack style
NEST_INSET = 10.0  # less than the clusters' margin in dot
HANDLE = R * 0.45  # what a recurrent cell's loop handle adds above its disc


def node_size(col: Column) -> tuple[float, float, float]:
    """(width, height, offset of the disc's centre below the node's centre)."""
    if col.kind in ("add", "concat"):
        return 2 * DOT + 4, 2 * DOT + 4, 0.0
    if col.kind in common.RECURRENT_KINDS:
        return 2 * R, 2 * R + HANDLE, HANDLE / 2
    return 2 * R, 2 * R, 0.0


def label_box(text: str, size: float) -> tuple[float, float]:
    return text_width(text, size) + 8, size * 1.3


def edge_label_box(text: str) -> tuple[float, float]:
    """An edge's label is a node on the edge: room for the text, and a
    little above and below it so that the line does not touch it."""
    return text_width(text, EDGE_SIZE) + 10, EDGE_SIZE + 10


def graph_of(shaped: ShapedNetwork, columns: list[Column], found, direction: str, labels: bool):
    """The dot graph, the edge texts by edge id and the output captions."""
    from .graph import edge_shape, outputs, shape_text
    from .modules import owners
    owner = owners(shaped.network, columns)
    drawn = set(found.cells)
    nodes = [Node(f"n{c}", *node_size(columns[c])[:2]) for c in found.cells]
    edges, texts = [], {}
    for k, (i, j) in enumerate(found.edges):
        text = shape_text(edge_shape(shaped, columns, owner, i, j))
        eid = f"e{k}"
        texts[eid] = (i, j, text)
        edges.append(Edge(eid, f"n{i}", f"n{j}", edge_label_box(text) if labels else None))
    captions = {}
    outs = [(name, cols) for name, cols in outputs(shaped, owner) if any(c in drawn for c in cols)]
    for k, (name, cols) in enumerate(outs):
        word = "output" if len(outs) == 1 else f"output {k + 1}"
        nid = f"out{k}"
        captions[nid] = (name, word)
        nodes.append(Node(nid, text_width(word, CAPTION_SIZE) + 8, CAPTION_SIZE * 1.3 + 8))
        text = shape_text(shaped.info[name].output)
        for c in cols:
            if c in drawn:
                eid = f"o{k}-{c}"
                texts[eid] = (c, nid, text)
                edges.append(Edge(eid, f"n{c}", nid, edge_label_box(text) if labels else None))

    def cluster(frame) -> Cluster:
        return Cluster(frame.id, label_box(frame.label, FRAME_SIZE),
                       [f"n{c}" for c in frame.cells], [cluster(f) for f in frame.frames])

    graph = Graph(tuple(nodes), tuple(edges), tuple(cluster(f) for f in found.frames), direction,
                  rank_gap=10.0 if labels else 24.0)  # a labelled edge has its label's rank between
    return graph, texts, captions


# Where the figure's text would print under 6 pt at the width it is fitted
# to (--fit), dot lays it out again, tighter at each step, until it fits:
# each edge's label kept just after its source (a long edge, such as the
# one into an Inception module's lone 1*1 lane, then runs down inside the
# module instead of round it, its label beside its source), then the cells
# of a rank closer together.
TIGHTER = ({"label_weight": 4}, {"label_weight": 4, "node_gap": 6.0})


def draw(shaped: ShapedNetwork, columns: list[Column], found, options: common.RenderOptions) -> Scene:
    graph, texts, captions = graph_of(shaped, columns, found, getattr(options, "direction", "TB"),
                                      options.labels)
    scene = _scene(shaped, columns, found, graph, texts, captions, options)
    width_mm = getattr(options, "fit_mm", None)
    if width_mm is None:
        return scene
    from .. import pagefit
    best, best_pt = scene, pagefit.fitted_pt(scene, width_mm)
    for tighter in TIGHTER:
        if best_pt >= pagefit.MIN_PT - 1e-6:
            break
        again = _scene(shaped, columns, found, replace(graph, **tighter), texts, captions, options)
        pt = pagefit.fitted_pt(again, width_mm)
        if pt > best_pt:
            best, best_pt = again, pt
    return best


def _scene(shaped, columns, found, graph: Graph, texts, captions, options: common.RenderOptions) -> Scene:
    theme = options.theme
    placed = lay_out(graph)
    title, title_h = common.title_items(options.title, MARGIN, MARGIN, theme)
    ox, oy = MARGIN, MARGIN + title_h
    body = list(title) + figure_items(shaped, columns, found, placed, texts, captions, options, ox, oy)
    width = placed.width + 2 * MARGIN
    bottom = oy + placed.height
    if options.title:
        width = max(width, MARGIN * 2 + common.title_width(options.title))
    if options.legend:
        kinds = list(dict.fromkeys(columns[c].kind for c in found.cells))
        legend, width, bottom = common.place_legend(
            lambda x, y, w: common.legend_items(kinds, x, y, w, theme), width, bottom, MARGIN)
        body += legend
    name = shaped.network.title or shaped.network.name
    # cut at an x, a top-down graph would set the lanes right of the cut under
    # those left of it, and cut the edges between them: --fit does not wrap it
    return Scene(width=math.ceil(width), height=math.ceil(bottom + MARGIN), children=tuple(body),
                 title=f"{name} (graph)", desc=common.network_desc(shaped), background=theme["background"],
                 meta={"whole": graph.direction == "TB"})


def figure_items(shaped, columns, found, placed: Placed, texts, captions, options, ox: float, oy: float,
                 ids: common.Ids | None = None, style: str = "graph") -> list:
    """Frames, edges with their labels, cells and captions, moved by (OX, OY)."""
    theme = options.theme
    ids = ids or common.Ids()
    frames: list = []
    names: list = []

    def add_frames(frame_list, depth=0):
        for f in frame_list:
            (x0, y0, x1, y1), lp = placed.clusters[f.id]
            # dot lets a cluster's box touch the box of the cluster it sits in;
            # each level is drawn a little inside the one around it
            inset = 4 + NEST_INSET * (1 - 0.5 ** depth)
            x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
            lp = (lp[0] + inset, lp[1] + inset) if lp is not None else None
            run = f.kind == "run"
            rect = Rect(ox + x0, oy + y0, x1 - x0, y1 - y0, fill=None if run else theme["frame"],
                        stroke=theme["label"], stroke_width=1.0, rx=6.0 if run else 4.0,
                        dash=(5.0, 3.0) if run else None, cls="run-frame" if run else "module-frame")
            cls = ("run" if run else "module") + (" repeated" if f.repeat > 1 else "")
            frames.append(Group((rect,), cls=cls, id=ids.make(cls.split()[0], f.name), title=f.title))
            if lp is not None:  # over the edges, on its own ground: an edge into the frame may pass under it
                w, h = label_box(f.label, FRAME_SIZE)
                names.append(Group((Rect(ox + lp[0] - w / 2, oy + lp[1] - h / 2, w, h,
                                         fill=theme["background"] if run else theme["frame"], cls="frame-ground"),
                                    Text(ox + lp[0], oy + lp[1] + FRAME_SIZE * 0.36, f.label, size=FRAME_SIZE,
                                         color=theme["label"], cls="frame-name")),
                                   cls=f"frame-label {cls.split()[0]}", title=f.title))
            add_frames(f.frames, depth + 1)

    add_frames(found.frames)
    edges: list = []
    for eid, (src, dst, text) in texts.items():
        lines, lp = placed.edges[eid]
        a = columns[src].layers[-1].name
        b = captions[dst][0] if isinstance(dst, str) else columns[dst].layers[0].name
        prims = [Path(tuple((ox + x, oy + y) for x, y in points), stroke=INK, stroke_width=LINE,
                      arrow=k == len(lines) - 1, cls="edge-line") for k, points in enumerate(lines)]
        if lp is not None and options.labels:
            prims.append(Text(ox + lp[0], oy + lp[1] + EDGE_SIZE * 0.36, text, size=EDGE_SIZE,
                              color=theme["label"], cls="edge-label"))
        dst_cls = "output" if isinstance(dst, str) else f"to-{ids.token(b)}"
        edges.append(Group(tuple(prims), cls=f"edge from-{ids.token(a)} {dst_cls}",
                           title=f"{a} -> {b}: {text}"))
    cells: list = []
    for c in found.cells:
        cx, cy = placed.nodes[f"n{c}"]
        cells.append(cell_group(columns[c], ox + cx, oy + cy + node_size(columns[c])[2], options, ids, style))
    for nid, (name, word) in captions.items():
        cx, cy = placed.nodes[nid]
        cells.append(Group((Text(ox + cx, oy + cy + CAPTION_SIZE * 0.36, word, size=CAPTION_SIZE,
                                 color=theme["label"], cls="caption"),),
                           cls="output-caption", title=f"{name}: {texts and _output_text(texts, nid)}"))
    out = []
    if frames:
        out.append(Group(tuple(frames), cls="modules", id="modules"))
    out.append(Group(tuple(edges), cls="edges", id="edges"))
    if names:
        out.append(Group(tuple(names), cls="frame-labels", id="frame-labels"))
    out.append(Group(tuple(cells), cls="cells", id="cells"))
    return out


def _output_text(texts, nid) -> str:
    return next((t for _, dst, t in texts.values() if dst == nid), "")
