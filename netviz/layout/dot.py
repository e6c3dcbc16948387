"""Lay out a graph with Graphviz's ``dot``: nodes, labelled edges and nested
clusters, each sized by the caller, placed top-down or left to right.

The ``graphviz`` Python package writes the graph and runs ``dot`` once
(``-Tjson0``); positions come back in points, which are taken as the
caller's pixels, with y turned to grow downwards. Edge splines (cubic
Béziers) come back as polylines. Every label is handed to ``dot`` as an
empty box of the size the caller measured, so ``dot`` makes room for
exactly the text netviz draws, whatever fonts ``dot`` itself would use.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field

from ..errors import UsageError

INSTALL = ("install Graphviz (apt install graphviz, brew install graphviz, "
           "conda install -c conda-forge graphviz, or winget install graphviz)")


class GraphvizMissing(UsageError):
    """Graphviz's ``dot`` program or its Python package is not installed."""


def find_dot() -> str:
    """The path of ``dot``, or a one-line error saying how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizMissing(f"the graph style needs Graphviz's dot program, which is not on PATH: "
                              f"{INSTALL}, then try again")
    return path


def graphviz_package():
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissing("the graph style needs the graphviz Python package: "
                              "pip install 'netviz[graph]'") from None
    return graphviz


@dataclass(frozen=True)
class Node:
    id: str
    w: float
    h: float


@dataclass(frozen=True)
class Edge:
    id: str
    src: str
    dst: str
    label: tuple[float, float] | None = None  # (width, height) of the label's box


@dataclass
class Cluster:
    id: str
    label: tuple[float, float] | None = None
    nodes: list[str] = field(default_factory=list)
    clusters: list["Cluster"] = field(default_factory=list)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...] = ()
    direction: str = "TB"
    node_gap: float = 18.0  # between nodes of one rank
    rank_gap: float = 22.0  # between ranks
    cluster_margin: float = 14.0  # from a cluster's nodes to its box
    clip: bool = True  # edges end at the nodes' boxes; False: at their centres
    label_weight: int = 1  # more than 1: each edge's label kept next to the edge's source


@dataclass(frozen=True)
class Placed:
    """Where dot put everything, in the caller's units, y down, from (0, 0)."""

    width: float
    height: float
    nodes: dict  # id -> (cx, cy)
    edges: dict  # id -> (polylines, the last ending at the head; label centre or None)
    clusters: dict  # id -> ((x0, y0, x1, y1), label centre or None)


def _inches(px: float) -> str:
    return f"{px / 72:.4f}"


def _box(size: tuple[float, float]) -> str:
    """An HTML-like label that is an empty box of SIZE points."""
    w, h = size
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
            f'<TD FIXEDSIZE="TRUE" WIDTH="{max(1, round(w))}" HEIGHT="{max(1, round(h))}"></TD>'
            f'</TR></TABLE>>')


def _homes(graph: Graph) -> dict[str, str | None]:
    """The innermost cluster holding both ends of each labelled edge: where
    its label's node goes (None: at the top level)."""
    chain: dict[str, tuple[str, ...]] = {}

    def rec(cluster: Cluster, above: tuple[str, ...]):
        here = above + (cluster.id,)
        for nid in cluster.nodes:
            chain[nid] = here
        for child in cluster.clusters:
            rec(child, here)

    for cluster in graph.clusters:
        rec(cluster, ())
    homes = {}
    for edge in graph.edges:
        if edge.label is None:
            continue
        a, b = chain.get(edge.src, ()), chain.get(edge.dst, ())
        common = [x for x, y in zip(a, b) if x == y]
        homes[edge.id] = common[-1] if common else None
    return homes


def label_node(edge_id: str) -> str:
    return f"label_{edge_id}"


def source(graph: Graph) -> str:
    """The graph in dot's language, written by the graphviz package. An
    edge's label is a node of its own on the edge (src -> label -> dst), so
    dot keeps it clear of everything else and the edge runs straight through.
    With a LABEL_WEIGHT over 1, dot shortens the half into the label before
    the half out of it: the label sits just after the edge's source, and a
    long edge runs on from there, instead of dot choosing any rank between."""
    gv = graphviz_package()
    g = gv.Digraph(graph_attr={"rankdir": graph.direction, "nodesep": _inches(graph.node_gap),
                               "ranksep": _inches(graph.rank_gap), "margin": "0", "pad": "0",
                               "labeljust": "l", "labelloc": "t"},
                   node_attr={"shape": "box", "fixedsize": "true", "label": "", "margin": "0"},
                   edge_attr={"arrowsize": "0.8"} if graph.clip else
                   {"arrowsize": "0.8", "headclip": "false", "tailclip": "false"})
    homes = _homes(graph)
    labels_in: dict[str | None, list[Edge]] = {}
    for edge in graph.edges:
        if edge.label is not None:
            labels_in.setdefault(homes[edge.id], []).append(edge)

    def add_labels(target, home):
        for edge in labels_in.get(home, []):
            target.node(label_node(edge.id), width=_inches(edge.label[0]), height=_inches(edge.label[1]))

    def add_cluster(parent, cluster: Cluster):
        with parent.subgraph(name=f"cluster_{cluster.id}") as sub:
            sub.attr(margin=f"{graph.cluster_margin:g}")
            if cluster.label is not None:
                sub.attr(label=_box(cluster.label))
            for child in cluster.clusters:
                add_cluster(sub, child)
            for nid in cluster.nodes:
                sub.node(nid)
            add_labels(sub, cluster.id)

    for cluster in graph.clusters:
        add_cluster(g, cluster)
    add_labels(g, None)
    for node in graph.nodes:  # after the clusters: a node's attributes, wherever it sits
        g.node(node.id, width=_inches(node.w), height=_inches(node.h))
    for edge in graph.edges:
        if edge.label is None:
            g.edge(edge.src, edge.dst, id=edge.id)
        else:
            extra = {"weight": str(graph.label_weight)} if graph.label_weight != 1 else {}
            g.edge(edge.src, label_node(edge.id), id=f"{edge.id}:in", arrowhead="none", **extra)
            g.edge(label_node(edge.id), edge.dst, id=f"{edge.id}:out")
    return g.source


def lay_out(graph: Graph) -> Placed:
    """Run dot once on GRAPH and read back every position."""
    dot = find_dot()
    gv = graphviz_package()
    text = source(graph)
    try:
        out = gv.pipe("dot", "json0", text.encode("utf-8"), quiet=True)
    except gv.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"Graphviz's dot ({dot}) failed: {detail[0] if detail else exc}") from None
    except gv.ExecutableNotFound:
        find_dot()
        raise
    return read(json.loads(out))


def _pair(text: str) -> tuple[float, float]:
    x, y = text.split(",")
    return float(x), float(y)


def _bezier(points: list[tuple[float, float]], steps: int = 6) -> list[tuple[float, float]]:
    """A piecewise cubic Bézier (p0, c1, c2, p1, c1, c2, p2, ...) as a polyline."""
    out = [points[0]]
    for k in range(1, len(points) - 2, 3):
        p0, c1, c2, p1 = points[k - 1], points[k], points[k + 1], points[k + 2]
        for s in range(1, steps + 1):
            t = s / steps
            u = 1 - t
            out.append((u * u * u * p0[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t * t * t * p1[0],
                        u * u * u * p0[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t * t * t * p1[1]))
    return out


def read(data: dict) -> Placed:
    """Positions from dot's json0 output, y turned downwards."""
    x0, y0, x1, y1 = (float(v) for v in data["bb"].split(","))

    def flip(p):
        return p[0] - x0, y1 - p[1]

    nodes, clusters, names = {}, {}, {}
    for obj in data.get("objects", []):
        names[obj["_gvid"]] = obj["name"]
        if "nodes" in obj or obj["name"].startswith("cluster_"):
            if "bb" in obj:
                a, b, c, d = (float(v) for v in obj["bb"].split(","))
                (ax, ay), (cx, cy) = flip((a, d)), flip((c, b))
                lp = flip(_pair(obj["lp"])) if "lp" in obj else None
                clusters[obj["name"][len("cluster_"):]] = ((ax, ay, cx, cy), lp)
        elif "pos" in obj:
            nodes[obj["name"]] = flip(_pair(obj["pos"]))
    lines: dict[str, tuple] = {}  # dot's edge id -> its polyline
    for e in data.get("edges", []):
        start = end = None
        pts = []
        for part in e["pos"].split():
            if part.startswith("e,"):
                end = _pair(part[2:])
            elif part.startswith("s,"):
                start = _pair(part[2:])
            else:
                pts.append(_pair(part))
        line = _bezier(pts)
        if start is not None:
            line.insert(0, start)
        if end is not None:
            line.append(end)
        lines[e.get("id") or f"{names[e['tail']]}->{names[e['head']]}"] = tuple(flip(p) for p in line)
    edges = {}
    for eid in lines:
        base, _, half = eid.partition(":")
        if base not in edges:  # an edge through its label's node comes in two halves
            parts = (lines[f"{base}:in"], lines[f"{base}:out"]) if half else (lines[eid],)
            edges[base] = (parts, nodes.get(label_node(base)))
    return Placed(width=x1 - x0, height=y1 - y0, nodes=nodes, edges=edges, clusters=clusters)
