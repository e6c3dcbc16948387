"""The graph style: cells laid out by Graphviz's dot, edges labelled with the
tensors they carry, modules as clusters; checked from the scene's geometry."""
from __future__ import annotations

import math
import os
import re
import shutil
import sys
import textwrap

import pytest

import netviz
from netviz.errors import UsageError
from netviz.scene import Circle, Group, Path, Rect, Text, boxes_overlap
from netviz.styles import bars, graph, modules
from netviz.styles.common import HIDDEN, Ids, category

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="the graph style needs Graphviz's dot")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
TWO_HEADS = os.path.join(EXAMPLES, "two_heads.yaml")
UNET = os.path.join(EXAMPLES, "unet.yaml")


# --- reading the scene ---------------------------------------------------------

def groups(scene, prefix: str) -> list[Group]:
    """Every group whose class list starts with PREFIX, depth first."""
    out = []

    def rec(items):
        for item in items:
            if isinstance(item, Group):
                if (item.cls or "").split()[:1] == [prefix]:
                    out.append(item)
                rec(item.children)
    rec(scene.children)
    return out


def layer_names(group: Group) -> set[str]:
    return {c[len("layer-"):] for c in group.cls.split() if c.startswith("layer-")}


def disc(cell: Group) -> tuple[float, float, float]:
    """Centre and radius of a cell's icon."""
    circles = [c for c in cell.children if isinstance(c, Circle)]
    r = max(max(c.r, c.rx or 0, c.ry or 0) for c in circles)
    return circles[0].cx, circles[0].cy, r


def edge_parts(edge: Group) -> tuple[str, str, list[Path], Text | None]:
    """Source and destination (by layer token), the lines (two where the
    label sits between them; the last with the arrow head) and the label."""
    cls = edge.cls.split()
    src = next(c[len("from-"):] for c in cls if c.startswith("from-"))
    dst = next((c[len("to-"):] for c in cls if c.startswith("to-")), "output")
    paths = [c for c in edge.children if isinstance(c, Path)]
    label = next((c for c in edge.children if isinstance(c, Text)), None)
    return src, dst, paths, label


def shape_text(shape) -> str:
    return "*".join(map(str, shape))


def reads(shaped, reader: str, source: str) -> set[str]:
    """The shapes layer READER (by id token) takes from SOURCE's cell: the
    source's output, or what it becomes through layers without a cell."""
    net = shaped.network
    tok = {Ids.token(layer.name): layer for layer in net.layers}
    src = tok[source]

    def leads_from(name: str) -> bool:  # name is SOURCE, or a cell-less layer after it
        if name == src.name:
            return True
        layer = net[name]
        return category(layer) in HIDDEN and any(leads_from(i) for i in layer.inputs)

    return {shape_text(shaped.info[i].output) for i in tok[reader].inputs if leads_from(i)}


def render(model, **kw):
    return netviz.render(model, style="graph", **kw)


# --- what is drawn ---------------------------------------------------------------

def test_one_node_per_bars_cell_with_the_text_of_short():
    fig = render("alexnet")
    cells = groups(fig.scene, "cell")
    columns = bars.columns(netviz.shaped("alexnet"))
    assert [layer_names(c) for c in cells] == [{Ids.token(l.name) for l in col.layers} for col in columns]
    conv1 = next(c for c in cells if "conv1" in layer_names(c))
    assert [t.text for t in conv1.children if isinstance(t, Text)] == ["11*11", "96"]
    assert all(c.title for c in cells)  # tooltips


@pytest.mark.parametrize("model", ["alexnet", "googlenet", TWO_HEADS, UNET])
def test_every_edge_is_labelled_with_the_tensor_it_carries(model):
    shaped = netviz.shaped(model)
    fig = render(model, expand=True)
    edges = groups(fig.scene, "edge")
    assert edges
    for edge in edges:
        src, dst, _, label = edge_parts(edge)
        assert label is not None
        if dst == "output":
            assert label.text == shape_text(shaped.info[_layer(shaped, src).name].output) or label.text in {
                shape_text(shaped.info[l.name].output) for l in shaped.network.layers
                if not shaped.network.consumers[l.name]}
            continue
        assert label.text in reads(shaped, dst, src), (src, dst, label.text)


def _layer(shaped, token):
    return next(l for l in shaped.network.layers if Ids.token(l.name) == token)


def test_a_network_that_does_not_split_into_modules():
    """Branch b feeds both sums: no plan of modules, every cell and both
    outputs drawn, each edge with its shape, nothing overlapping."""
    shaped = netviz.shaped(TWO_HEADS)
    assert modules.plan(shaped.network, graph.units(shaped)) is None
    fig = render(TWO_HEADS)
    cells = groups(fig.scene, "cell")
    drawn = set().union(*(layer_names(c) for c in cells))
    assert drawn == {l.name for l in shaped.network.layers if category(l) not in HIDDEN}
    assert not groups(fig.scene, "module")

    pairs = {(s, d): lab.text for s, d, _, lab in map(edge_parts, groups(fig.scene, "edge"))}
    assert pairs[("b", "sum1")] == pairs[("b", "sum2")] == "16*32*32"
    assert pairs[("pool", "d")] == "16*16*16"
    assert pairs[("global_avgpool1", "classes")] == "32"  # through the flatten
    assert pairs[("scores", "output")] == "10" and pairs[("seg", "output")] == "2*32*32"
    captions = sorted(t.text for g in groups(fig.scene, "output-caption") for t in g.children)
    assert captions == ["output 1", "output 2"]
    _assert_nothing_overlaps(fig.scene)


def _assert_nothing_overlaps(scene):
    cells = groups(scene, "cell")
    discs = [disc(c) for c in cells]
    for i, (x, y, r) in enumerate(discs):  # cells apart
        for x2, y2, r2 in discs[i + 1:]:
            assert math.hypot(x - x2, y - y2) > r + r2
    texts = [t for e in groups(scene, "edge") for t in e.children if isinstance(t, Text)]
    texts += [t for g in groups(scene, "output-caption") for t in g.children]
    names = [t for g in groups(scene, "frame-label") for t in g.children if isinstance(t, Text)]
    texts += names
    boxes = [t.box for t in texts]
    for i, a in enumerate(boxes):  # labels apart, and off the cells
        assert all(not boxes_overlap(a, b) for b in boxes[i + 1:]), texts[i].text
        for x, y, r in discs:
            assert not boxes_overlap(a, (x - r, y - r, x + r, y + r)), texts[i].text
    by_token = {}
    for cell, d in zip(cells, discs):
        for name in layer_names(cell):
            by_token[name] = d
    for edge in groups(scene, "edge"):  # lines run between cells, never through one
        src, dst, paths, _ = edge_parts(edge)
        assert [p.arrow for p in paths] == [False] * (len(paths) - 1) + [True]
        points = [p for path in paths for p in path.points]
        ends = {by_token[src], by_token.get(dst)}
        for px, py in points:
            for d in discs:
                if d not in ends:
                    assert math.hypot(px - d[0], py - d[1]) > d[2], (src, dst)
        for px, py in points:  # nor through an edge's label (its own sits between its halves)
            for t in texts:
                if t not in edge.children and t not in names:
                    x0, y0, x1, y1 = t.box
                    assert not (x0 < px < x1 and y0 < py < y1), (src, dst, t.text)
        x, y, r = by_token[src]  # it leaves its source at the disc's edge
        assert abs(math.hypot(points[0][0] - x, points[0][1] - y) - r) < r * 0.35 + 4
    w, h = scene.width, scene.height
    for item, _ in scene.walk():  # and everything inside the figure
        if isinstance(item, Circle):
            assert 0 <= item.cx - item.r and item.cx + item.r <= w and item.cy + item.r <= h
        elif isinstance(item, Text):
            x0, y0, x1, y1 = item.box
            assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h, item.text


@pytest.mark.parametrize("model", ["googlenet", UNET, "resnet50"])
def test_nothing_overlaps_in_branching_networks(model):
    _assert_nothing_overlaps(render(model).scene)


# --- modules ---------------------------------------------------------------------

def _rect(group: Group) -> tuple[float, float, float, float]:
    r = next(c for c in group.children if isinstance(c, Rect))
    return r.x, r.y, r.x + r.w, r.y + r.h


def test_modules_are_named_frames_folded_as_in_the_row_styles():
    fig = render("resnet50")
    names = [next(t.text for t in g.children if isinstance(t, Text))
             for g in groups(fig.scene, "frame-label")]
    assert names == ["layer1_0", "layer1 x2", "layer2_0", "layer2 x3", "layer3_0", "layer3 x5",
                     "layer4_0", "layer4 x2"]
    folded = len(groups(fig.scene, "cell"))
    every = render("resnet50", expand=True)
    assert len(groups(every.scene, "cell")) == len(bars.columns(netviz.shaped("resnet50"))) > folded
    names = [t.text for g in groups(every.scene, "frame-label") for t in g.children if isinstance(t, Text)]
    assert len(names) == 16 and not any(re.search(r" x\d+$", n) for n in names)
    for cell in groups(fig.scene, "cell"):  # each cell in the frame of its block
        x, y, _ = disc(cell)
        name = next(iter(layer_names(cell)))
        if name.startswith("layer"):
            assert any(_inside((x, y), _rect(g)) for g in groups(fig.scene, "module"))


def _inside(p, box) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


def test_the_folded_walk_has_the_graphs_own_edges():
    """Unfolded, the edges read from the modules are exactly the graph's."""
    for model in ("resnet50", "googlenet", UNET):
        shaped = netviz.shaped(model)
        cols = graph.units(shaped)
        walk = graph._Walk(cols)
        walk.seq(modules.plan(shaped.network, cols), None, [], [])
        succ, _ = modules.column_edges(shaped.network, cols)
        assert sorted(walk.edges) == sorted((i, j) for i in range(len(cols)) for j in succ[i]), model
        assert sorted(walk.cells) == list(range(len(cols)))


def test_nested_modules_nest():
    fig = render(UNET)
    frames = [_rect(g) for g in groups(fig.scene, "module")]
    assert len(frames) == 2
    outer, inner = sorted(frames, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    assert outer[0] < inner[0] and outer[1] < inner[1] and inner[2] < outer[2] and inner[3] < outer[3]


def test_a_run_of_modules_is_one_dashed_frame():
    fig = render("torchvision:vit_b_16", device="meta")
    runs = groups(fig.scene, "run")
    assert len(runs) == 1
    assert [t.text for g in groups(fig.scene, "frame-label") for t in g.children
            if isinstance(t, Text) and "run" in g.cls] == ["encoder.layers.encoder_layer x12"]
    assert next(c for c in runs[0].children if isinstance(c, Rect)).dash
    inside = [g for g in groups(fig.scene, "module") if _inside(_rect(g)[:2], _rect(runs[0]))]
    assert len(inside) == 2  # attention, then the MLP


# --- options and formats ---------------------------------------------------------

def test_left_to_right():
    tb, lr = render("alexnet").scene, render("alexnet", direction="lr").scene
    first, last = (disc(c) for c in (groups(lr, "cell")[0], groups(lr, "cell")[-1]))
    assert last[0] - first[0] > 10 * first[2] and abs(last[1] - first[1]) < 1
    first, last = (disc(c) for c in (groups(tb, "cell")[0], groups(tb, "cell")[-1]))
    assert last[1] - first[1] > 10 * first[2] and abs(last[0] - first[0]) < 1
    assert lr.width > lr.height and tb.height > tb.width


def test_options_refused_where_they_mean_nothing():
    with pytest.raises(UsageError, match="--direction"):
        netviz.render("alexnet", style="bars", direction="LR")
    with pytest.raises(UsageError, match="TB .*LR"):
        render("alexnet", direction="up")
    with pytest.raises(UsageError, match="--max-nodes"):
        netviz.render("alexnet", style="org", max_nodes=10)


def test_same_bytes_every_time_and_every_format():
    a, b = render("googlenet", legend=True), render("googlenet", legend=True)
    assert a.svg() == b.svg()
    assert a.png().startswith(b"\x89PNG") and a.pdf().startswith(b"%PDF")
    svg = a.svg()
    assert svg.count("<title>") >= len(groups(a.scene, "cell")) + len(groups(a.scene, "edge"))
    assert 'id="legend"' in svg


def test_theme_and_title():
    fig = render("alexnet", theme="colorblind", title="AlexNet")
    fills = {c.fill for g in groups(fig.scene, "cell") for c in g.children if isinstance(c, Circle)}
    assert "#CC79A7" in fills and "#DD53B7" not in fills
    assert any(t.text == "AlexNet" for t in fig.scene.texts())


def test_max_nodes_refuses_in_one_line(cli, tmp_path):
    out = tmp_path / "g.svg"
    r = cli("render", "resnet50", "--style", "graph", "--expand", "--max-nodes", "50", "-o", out)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--max-nodes 50" in r.stderr and "cells and" in r.stderr
    assert not out.exists()
    r = cli("render", "resnet50", "--style", "graph", "--max-nodes", "100", "-o", out)  # folded: fits
    assert r.returncode == 0, r.stderr
    assert out.exists()


def test_without_dot_one_line_and_no_file(cli, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    out = tmp_path / "g.svg"
    r = cli("render", "alexnet", "--style", "graph", "-o", out, env=env)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "dot" in lines[0] and "apt install graphviz" in lines[0], r.stderr
    assert "brew" in lines[0] and "conda" in lines[0] and "winget" in lines[0]
    assert not out.exists() and not os.listdir(tmp_path / "bin")
    r = cli("render", "alexnet", "--style", "bars", "-o", tmp_path / "b.svg", env=env)
    assert r.returncode == 0 and (tmp_path / "b.svg").exists(), r.stderr


# --- every input -----------------------------------------------------------------

def test_prototxt():
    fig = render(os.path.join(EXAMPLES, "caffe", "lenet.prototxt"))
    assert len(groups(fig.scene, "cell")) >= 5 and groups(fig.scene, "edge")


def test_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def weight(name, dims):
        return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.0] * math.prod(dims))

    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], name="stem", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="act"),
             helper.make_node("Conv", ["r", "w2"], ["a"], name="left", kernel_shape=[1, 1]),
             helper.make_node("MaxPool", ["r"], ["p"], name="right", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              strides=[1, 1]),
             helper.make_node("Concat", ["a", "p"], ["y"], name="join", axis=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[weight("w1", [4, 3, 3, 3]), weight("w2", [6, 4, 1, 1])])
    path = tmp_path / "branch.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    fig = render(str(path))
    pairs = {(s, d): lab.text for s, d, _, lab in map(edge_parts, groups(fig.scene, "edge"))}
    assert pairs[("stem", "left")] == pairs[("stem", "right")] == "4*8*8"
    assert pairs[("left", "join")] == "6*8*8" and pairs[("join", "output")] == "10*8*8"
    assert len(groups(fig.scene, "module")) == 1


TWO_OUTPUT_NET = textwrap.dedent("""
    import torch
    from torch import nn

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.left = nn.Conv2d(8, 8, 3, padding=1)
            self.right = nn.Conv2d(8, 8, 1)
            self.classes = nn.Linear(8, 10)
            self.mask = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            a, b = self.left(x), self.right(x)
            s = a + b
            t = self.left(s) + b
            return self.classes(t.mean((2, 3))), self.mask(s)
    """)


def test_traced_two_output_model(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "two_heads_net.py").write_text(TWO_OUTPUT_NET)
    fig = render(f"{tmp_path / 'two_heads_net.py'}:TwoHeads", input="3x16x16", device="cpu")
    captions = sorted(t.text for g in groups(fig.scene, "output-caption") for t in g.children)
    assert captions == ["output 1", "output 2"]
    labels = {lab.text for s, d, _, lab in map(edge_parts, groups(fig.scene, "edge")) if d == "output"}
    assert labels == {"10", "2*16*16"}
    _assert_nothing_overlaps(fig.scene)
