"""Branching networks drawn as modules (framed lanes, merge cells, shortcuts,
repeats): the plan of the graph and the figure, parsed."""
import itertools
import os
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netviz
from netviz.readers import parse_spec
from netviz.styles import bars
from netviz.styles.modules import Cell, plan

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def the_plan(model):
    shaped = netviz.shaped(model)
    cols = bars.columns(shaped)
    return plan(shaped.network, cols), cols


def names(items, cols):
    out = []
    for item in items:
        if isinstance(item, Cell):
            out.append(cols[item.col].layers[0].name)
        else:
            out.append(("module", [names(lane, cols) for lane in item.lanes],
                        cols[item.merge].layers[0].name if item.merge is not None else None, item.shortcut))
    return out


def block(i, src, out=8):
    """A residual block reading SRC: two 3x3 convs with batchnorm, summed with SRC."""
    return (f"  - conv: {{name: c{i}a, out: {out}, kernel: 3, pad: 1, inputs: {src}}}\n"
            f"  - batchnorm: {{name: n{i}a}}\n  - relu\n"
            f"  - conv: {{name: c{i}b, out: {out}, kernel: 3, pad: 1}}\n"
            f"  - batchnorm: {{name: n{i}b}}\n"
            f"  - add: {{name: s{i}, inputs: [n{i}b, {src}]}}\n  - relu: {{name: r{i}}}\n")


def blocks_spec(n):
    text = "name: blocks\ninput: 8x16x16\nlayers:\n"
    src = "input"
    for i in range(n):
        text += block(i, src)
        src = f"r{i}"
    return parse_spec(text + "  - global_avgpool\n  - flatten\n  - fc: 4\n")


def parse(svg):
    return ET.fromstring(svg)


def groups(root, cls):
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def frames(root):
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "module-frame"]


def test_residual_example_is_two_modules():
    items, cols = the_plan(os.path.join(EXAMPLES, "residual.yaml"))
    assert names(items, cols) == [
        "input", "stem",
        ("module", [["b1_conv1", "b1_conv2"]], "b1_add", True),  # identity shortcut, batchnorms in the conv cells
        ("module", [["b2_conv1", "b2_conv2"], ["b2_down"]], "b2_add", False),  # projection: a second lane
        "global_avgpool1", "fc1", "softmax1"]


def test_inception_module_has_four_lanes_into_the_concat():
    items, cols = the_plan(os.path.join(EXAMPLES, "inception.yaml"))
    assert names(items, cols) == [
        "input", ("module", [["b1"], ["b2_reduce", "b2"], ["b3_reduce", "b3"], ["b4_pool", "b4"]], "output", False)]


def test_nested_modules_and_branches_that_end_the_network():
    net = parse_spec("input: 4x8x8\nlayers:\n"
                     "  - conv: {name: a, out: 4, kernel: 1}\n"
                     "  - conv: {name: b, out: 4, kernel: 1}\n"
                     "  - conv: {name: c, out: 4, kernel: 1}\n"
                     "  - add: {name: inner, inputs: [c, b]}\n"
                     "  - add: {name: outer, inputs: [inner, a]}\n"
                     "  - conv: {name: head1, out: 2, kernel: 1}\n"
                     "  - conv: {name: head2, out: 3, kernel: 1, inputs: outer}\n")
    items, cols = the_plan(net)
    assert names(items, cols) == [
        "input", "a",
        ("module", [["b", ("module", [["c"]], "inner", True)]], "outer", True),
        ("module", [["head1"], ["head2"]], None, False)]
    root = parse(netviz.render(net).svg())
    assert len(frames(root)) == 3


@pytest.mark.parametrize("spec", [
    # crossing skips: a -> p jumps over b, b -> q jumps over p
    "  - conv: {name: a, out: 4, kernel: 1}\n  - conv: {name: b, out: 4, kernel: 1}\n"
    "  - conv: {name: c, out: 4, kernel: 1}\n  - add: {name: p, inputs: [c, a]}\n"
    "  - add: {name: q, inputs: [p, b]}\n",
    # a dense block: every layer reads all before it
    "  - conv: {name: a, out: 4, kernel: 1}\n  - conv: {name: b, out: 4, kernel: 1}\n"
    "  - concat: {name: ab, inputs: [a, b]}\n  - conv: {name: c, out: 4, kernel: 1}\n"
    "  - concat: {name: abc, inputs: [a, b, c]}\n",
])
def test_graphs_that_do_not_split_into_modules_keep_the_bracket_row(spec):
    net = parse_spec("input: 4x8x8\nlayers:\n" + spec)
    items, _ = the_plan(net)
    assert items is None
    # by structure, a dense block is modules; asked for, the part that does not split keeps the row
    root = parse(netviz.render(net, fold="exact", tangles="brackets").svg())
    assert not frames(root)
    assert any("skip" in (p.get("class") or "") for p in root.iter(f"{SVG}path"))
    if shutil.which("dot") is not None:  # by default, the part is laid out by Graphviz in a frame
        root = parse(netviz.render(net, fold="exact").svg())
        assert not any("skip" in (p.get("class") or "") for p in root.iter(f"{SVG}path"))
        assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "tangle-frame"]) == 1


def test_identical_modules_are_drawn_once_marked_with_their_count():
    net = blocks_spec(3)
    root = parse(netviz.render(net, fold="exact").svg())
    assert len(frames(root)) == 1
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "repeat"] == ["x3"]
    module = groups(root, "module")[0]
    assert "3 identical modules" in module.find(f"{SVG}title").text
    cells = [g.get("class") for g in groups(root, "cell")]
    assert sum("layer-c0a" in c for c in cells) == 1 and not any("layer-c1a" in c for c in cells)
    root = parse(netviz.render(net, expand=True).svg())
    assert len(frames(root)) == 3 and not any(t.get("class") == "repeat" for t in root.iter(f"{SVG}text"))
    assert any("layer-c2a" in g.get("class") for g in groups(root, "cell"))


def test_modules_that_differ_are_not_merged():
    text = "input: 8x16x16\nlayers:\n" + block(0, "input") + block(1, "r0", out=8).replace("kernel: 3, pad: 1", "kernel: 5, pad: 2")
    root = parse(netviz.render(parse_spec(text)).svg())
    assert len(frames(root)) == 2 and not any(t.get("class") == "repeat" for t in root.iter(f"{SVG}text"))


def circles(group):
    return [(float(c.get("cx")), float(c.get("cy")), float(c.get("r") or c.get("rx")))
            for c in group.iter() if c.tag in (f"{SVG}circle", f"{SVG}ellipse")]


def inside(rect, circle):
    x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
    cx, cy, r = circle
    return x <= cx - r and cx + r <= x + w and y <= cy - r and cy + r <= y + h


@pytest.mark.parametrize("model", ["resnet50", "googlenet", os.path.join(EXAMPLES, "residual.yaml")])
def test_figures_of_branching_zoo_models_are_tidy(model):
    fig = netviz.render(model)
    root = parse(fig.svg())
    # every cell of a module lies inside its frame; cells never overlap
    cells = groups(root, "cell")
    discs = [circles(c)[0] for c in cells]
    for a, b in itertools.combinations(discs, 2):
        assert (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 >= (a[2] + b[2]) ** 2, (a, b)
    rects = frames(root)
    assert rects
    for rect in rects:
        x, w = float(rect.get("x")), float(rect.get("width"))
        within = [d for d in discs if x <= d[0] <= x + w]
        assert within and all(inside(rect, d) for d in within)
    # frames side by side, never overlapping
    spans = sorted((float(r.get("x")), float(r.get("x")) + float(r.get("width"))) for r in rects)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    # no two texts meet
    texts = [t for t in fig.scene.texts()]
    for a, b in itertools.combinations(texts, 2):
        ax0, ay0, ax1, ay1 = a.box
        bx0, by0, bx1, by1 = b.box
        assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a.text, b.text)


def test_a_module_gets_one_bar_at_its_merge():
    shaped = netviz.shaped(os.path.join(EXAMPLES, "inception.yaml"))
    root = parse(netviz.render(shaped).svg())
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "bar-label"]
    info = shaped.info
    size = "*".join
    # the input and the concat: the branches inside the module get none
    assert labels == [size(str(d) for d in info[n].output) for n in ("input", "output")]
    bars_x = [float(g.find(f"{SVG}rect").get("x")) for g in groups(root, "bar")]
    assert bars_x == sorted(bars_x)


@pytest.mark.parametrize("model", ["resnet18", "torchvision:resnet18"])
def test_resnet_is_drawn_in_stages_of_blocks(model):
    if ":" in model:
        pytest.importorskip("torchvision")
    options = {"device": "meta"} if ":" in model else {}
    root = parse(netviz.render(model, input="3x64x64", fold="exact", **options).svg())
    # stage 1: two identity blocks (x2); stages 2-4: a projection block, then an identity block
    assert len(frames(root)) == 7
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "repeat"] == ["x2"]
    adds = [g for g in groups(root, "cell") if "add" in g.get("class").split()]
    assert len(adds) == 7


def test_expand_is_refused_by_styles_without_repeats(cli):
    r = cli("render", "resnet18", "--style", "org", "--expand", "-o", "x.svg")
    assert r.returncode == 2 and "--expand" in r.stderr and "Traceback" not in r.stderr


def test_edges_from_one_cell_share_a_bracket_lane():
    # a dense block: each conv reads the concatenation of everything before it
    text, prev = "input: 4x8x8\nlayers:\n", ["input"]
    for i in range(5):
        src = prev[0] if len(prev) == 1 else f"cat{i}"
        if len(prev) > 1:
            text += f"  - concat: {{name: cat{i}, inputs: [{', '.join(prev)}]}}\n"
        text += f"  - conv: {{name: d{i}, out: 4, kernel: 3, pad: 1, inputs: {src}}}\n"
        prev.append(f"d{i}")
    net = parse_spec(text)
    assert the_plan(net)[0] is None
    root = parse(netviz.render(net, fold="exact", tangles="brackets").svg())
    skips = [p for p in root.iter(f"{SVG}path") if "skip" in (p.get("class") or "").split()]
    lane_y = {}
    for p in skips:
        pts = [tuple(map(float, xy.split(","))) for xy in p.get("d")[1:].replace("L", " ").split()]
        source = p.get("class").split()[1]
        lane_y.setdefault(source, set()).add(pts[1][1])
    assert len(skips) > len(lane_y) > 1  # more edges than sources
    assert all(len(ys) == 1 for ys in lane_y.values())  # one lane per source
    assert len({y for ys in lane_y.values() for y in ys}) == len(lane_y)  # sources apart


def test_a_repeating_sequence_of_modules_is_drawn_once_in_a_dashed_frame():
    # a transformer-like stack: blocks A (3x3) and B (1x1) alternate, three times
    text, src = "input: 8x16x16\nlayers:\n", "input"
    for i in range(6):
        b = block(i, src)
        text += b if i % 2 == 0 else b.replace("kernel: 3, pad: 1", "kernel: 1, pad: 0")
        src = f"r{i}"
    net = parse_spec(text + "  - global_avgpool\n  - flatten\n  - fc: 4\n")
    root = parse(netviz.render(net).svg())
    runs = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "run-frame"]
    assert len(runs) == 1 and runs[0].get("stroke-dasharray")
    assert len(frames(root)) == 2  # one block A and one block B, inside the run
    x, w = float(runs[0].get("x")), float(runs[0].get("width"))
    assert all(x < float(f.get("x")) and float(f.get("x")) + float(f.get("width")) < x + w for f in frames(root))
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "repeat"] == ["x3"]
    run = next(g for g in groups(root, "run"))
    assert "starting at c0a, c2a, c4a" in run.find(f"{SVG}title").text
    root = parse(netviz.render(net, expand=True).svg())
    assert len(frames(root)) == 6 and not [r for r in root.iter(f"{SVG}rect") if r.get("class") == "run-frame"]


def test_traced_plumbing_has_no_cell_and_other_modules_say_what_they_are():
    net = parse_spec("input: 8x4x4\nlayers:\n"
                     "  - conv: {name: a, out: 8, kernel: 1}\n"
                     "  - custom: {name: v, kind: view, output: 8x16}\n"
                     "  - custom: {name: t, kind: transpose, output: 16x8}\n"
                     "  - custom: {name: drop, kind: StochasticDepth, output: 16x8}\n"
                     "  - custom: {name: norm, kind: LayerNorm, output: 16x8, params: 16}\n"
                     "  - custom: {name: one, kind: cat, output: 16x8}\n"
                     "  - custom: {name: sl, kind: slice, output: 16x8}\n"
                     "  - flatten\n  - fc: 4\n")
    for style in ("bars", "short"):
        root = parse(netviz.render(net, style=style).svg())
        drawn = [g.get("class").split()[2] for g in groups(root, "cell")]
        assert drawn == ["layer-input", "layer-a", "layer-norm", "layer-fc1"], style
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert "LayerNorm" in texts, style
        assert not {"view", "transpose", "StochasticDepth", "cat", "slice"} & set(texts), style


@pytest.mark.parametrize("metric", ["params", "macs"])
def test_bars_of_a_per_layer_metric_cover_every_layer(metric):
    shaped = netviz.shaped("resnet18")
    root = parse(netviz.render(shaped, bar_metric=metric).svg())
    assert not frames(root)  # one row: lanes would leave cells without bars, repeats would hide some
    barred = {g.get("class").split()[1] for g in groups(root, "bar")}
    convs = {f"layer-{l.name}" for l in shaped.layers if l.type == "conv"}
    assert convs <= barred  # the projection convs of the shortcuts too


def test_a_branching_row_numbers_no_stages():
    root = parse(netviz.render("resnet18", bar_metric="params").svg())
    assert not groups(root, "stage")  # runs between pools mean stages along a chain only


def residual_stack(pattern):
    """Residual blocks after the input: A a 3x3 block, B a 1x1 block, C a 5x5 block."""
    text, src = "input: 8x16x16\nlayers:\n", "input"
    for i, kind in enumerate(pattern):
        b = block(i, src)
        text += {"A": b, "B": b.replace("kernel: 3, pad: 1", "kernel: 1, pad: 0"),
                 "C": b.replace("kernel: 3, pad: 1", "kernel: 5, pad: 2")}[kind]
        src = f"r{i}"
    return parse_spec(text + "  - global_avgpool\n  - flatten\n  - fc: 4\n")


def test_runs_whose_inner_counts_differ_are_not_merged():
    net = residual_stack("AABAAAB")  # (A x2, B) then (A x3, B): not the same run twice
    root = parse(netviz.render(net).svg())
    drawn = {g.get("class").split()[2] for g in groups(root, "cell")}
    marks = sorted(t.text for t in root.iter(f"{SVG}text") if t.get("class") == "repeat")
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("class") == "run-frame"]
    assert marks == ["x2", "x3"]
    # every block is drawn or counted: 2 + 1 + 3 + 1
    shown = {"layer-c0a", "layer-c2a", "layer-c3a", "layer-c6a"}
    assert shown <= drawn


def test_a_cell_less_layer_with_two_inputs_keeps_both_edges():
    net = parse_spec("input: 4x8x8\nlayers:\n"
                     "  - conv: {name: a, out: 4, kernel: 1}\n"
                     "  - conv: {name: b, out: 4, kernel: 1, inputs: input}\n"
                     "  - custom: {name: both, kind: expand, output: 4x8x8, inputs: [a, b]}\n"
                     "  - conv: {name: f, out: 4, kernel: 1}\n")
    items, cols = the_plan(net)
    assert names(items, cols) == ["input", ("module", [["a"], ["b"]], "f", False)]


def test_a_merge_label_stays_in_its_frame_clear_of_the_repeat_mark():
    text, src = "input: 8x16x16\nlayers:\n", "input"
    for i in range(3):
        text += block(i, src).replace(f"name: s{i},", f"name: s{i}, label: \"sum of both\\nand more\",")
        src = f"r{i}"
    fig = netviz.render(parse_spec(text))
    root = parse(fig.svg())
    (frame,) = frames(root)
    x, y, w, h = (float(frame.get(k)) for k in ("x", "y", "width", "height"))
    texts = fig.scene.texts()
    inside = [t for t in texts if t.text in ("sum of both", "and more", "x3")]
    assert len(inside) == 3
    for t in inside:
        x0, y0, x1, y1 = t.box
        assert x <= x0 and x1 <= x + w and y <= y0 and y1 <= y + h, t.text
    for a, b in itertools.combinations(inside, 2):
        assert a.box[3] <= b.box[1] or b.box[3] <= a.box[1] or a.box[2] <= b.box[0] or b.box[2] <= a.box[0]


def test_the_axis_ends_at_the_last_cell_when_branches_end_the_network():
    net = parse_spec("input: 4x8x8\nlayers:\n"
                     "  - conv: {name: a, out: 4, kernel: 1}\n"
                     "  - conv: {name: head1, out: 2, kernel: 1}\n"
                     "  - conv: {name: head2, out: 3, kernel: 1, inputs: a}\n")
    root = parse(netviz.render(net).svg())
    axis = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "axis")
    end = max(float(v) for v in re.findall(r"[-\d.]+", axis.get("d"))[0::2])
    head = next(g for g in groups(root, "cell") if "layer-head1" in g.get("class"))
    assert end == pytest.approx(circles(head)[0][0], abs=0.01)


@st.composite
def random_dags(draw):
    """Small networks of 1x1 convs and sums (every map 4x8x8), each layer reading
    one or more layers before it: chains, modules, nests, crossings, several outputs."""
    n = draw(st.integers(2, 14))
    lines = []
    for i in range(n):
        before = ["input"] + [f"l{j}" for j in range(i)]
        if i >= 2 and draw(st.booleans()):
            srcs = draw(st.lists(st.sampled_from(before[-4:]), min_size=2, max_size=3, unique=True))
            lines.append(f"  - add: {{name: l{i}, inputs: [{', '.join(srcs)}]}}\n")
        else:
            src = draw(st.sampled_from(before[-3:]))
            lines.append(f"  - conv: {{name: l{i}, out: 4, kernel: 1, inputs: {src}}}\n")
    return parse_spec("input: 4x8x8\nlayers:\n" + "".join(lines))


@st.composite
def series_parallel(draw):
    """Networks built only by putting pieces in series or in parallel (joined by
    a sum, with or without a shortcut): every one of them splits into modules."""
    lines, count = [], [0]

    def conv(src):
        count[0] += 1
        lines.append(f"  - conv: {{name: c{count[0]}, out: 4, kernel: 1, inputs: {src}}}\n")
        return f"c{count[0]}"

    def piece(src, depth):
        kind = draw(st.sampled_from(["conv", "series", "parallel"] if depth < 3 else ["conv"]))
        if kind == "conv":
            return conv(src)
        if kind == "series":
            return piece(piece(src, depth + 1), depth + 1)
        ends = [piece(src, depth + 1) for _ in range(draw(st.integers(1, 3)))]
        if draw(st.booleans()) or len(ends) == 1:
            ends.append(src)  # a shortcut
        count[0] += 1
        lines.append(f"  - add: {{name: s{count[0]}, inputs: [{', '.join(dict.fromkeys(ends))}]}}\n")
        return f"s{count[0]}"

    piece(conv("input"), 0)
    return parse_spec("input: 4x8x8\nlayers:\n" + "".join(lines))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_parallel())
def test_series_parallel_graphs_always_split_into_modules(net):
    items, _ = the_plan(net)
    assert items is not None or net.is_chain
    drawn_whole(net)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dags())
def test_any_graph_is_drawn_whole(net):
    drawn_whole(net)


def drawn_whole(net):
    """Every layer has its cell, no two cells on one spot, every frame holds a
    cell, and the collapsed figure is drawn too."""
    for style in ("bars", "short"):
        root = parse(netviz.render(net, style=style, expand=True).svg())
        drawn = sorted(g.get("class").split()[2] for g in groups(root, "cell"))
        assert drawn == sorted(f"layer-{l.name}" for l in net.layers)
        discs = [circles(g)[0] for g in groups(root, "cell")]
        assert len({(round(x, 2), round(y, 2)) for x, y, _ in discs}) == len(discs)  # no two cells on one spot
        for rect in frames(root):
            x, w = float(rect.get("x")), float(rect.get("width"))
            assert any(x <= d[0] <= x + w for d in discs)
        netviz.render(net, style=style).svg()  # repeats collapsed: drawn without error


def test_runs_are_chosen_so_that_the_fewest_modules_are_drawn():
    root = parse(netviz.render(residual_stack("ABABCABC"), fold="exact").svg())  # A, B, then (A B C) x2
    runs = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "run-frame"]
    assert len(runs) == 1
    run = next(g for g in groups(root, "run"))
    assert "2 identical runs of 3" in run.find(f"{SVG}title").text
    assert len(frames(root)) == 2 + 3


HEADS = """name: heads
input: 3x32x32
layers:
  - conv: {name: stem, out: 16, kernel: 3, pad: 1}
  - global_avgpool: {name: gap}
  - flatten: {name: flat}
  - fc: {name: cls, out: 1000, inputs: flat}
  - fc: {name: box, out: 4, inputs: flat}
  - fc: {name: mask, out: 4096, inputs: flat}
  - fc: {name: mask2, out: 64}
"""


def test_lanes_that_end_the_network_give_each_cell_its_bar():
    """Three heads from one trunk: lanes with no merge to carry their bar.
    Each of their cells has its own, read from the SVG: two heads' cells
    stand one above another, so the bars stand side by side in the order of
    their cells (the upper first), as a group centred under them; none
    overlaps another, and the figure is wide enough for them."""
    from netviz.scene import text_width
    from netviz.styles.common import Ids
    net = parse_spec(HEADS)
    root = ET.fromstring(netviz.render(net, style="bars").svg())

    def token(g):
        return next(c[len("layer-"):] for c in g.get("class").split() if c.startswith("layer-"))

    drawn, found = {}, {}
    for g in root.iter(f"{SVG}g"):
        first = (g.get("class") or "").split()[:1]
        if first == ["cell"]:
            c = next(g.iter(f"{SVG}circle"))
            drawn[token(g)] = (float(c.get("cx")), float(c.get("cy")))
        elif first == ["bar"]:
            rect, label = next(g.iter(f"{SVG}rect")), next(g.iter(f"{SVG}text"))
            x, w = float(rect.get("x")), float(rect.get("width"))
            half = max(w, text_width(label.text, float(label.get("font-size")))) / 2
            assert token(g) not in found
            found[token(g)] = (x + w / 2, half)
    want = {Ids.token(c.layers[0].name) for c in bars.columns(netviz.shaped(net)) if c.bar is not None}
    assert {"cls", "box", "mask", "mask2"} <= set(found) and set(found) == want
    assert round(drawn["cls"][0]) == round(drawn["box"][0])  # one above another
    ends = sorted(["cls", "box", "mask", "mask2"], key=lambda t: (round(drawn[t][0]), drawn[t][1]))
    xs = [found[t][0] for t in ends]
    assert xs == sorted(xs)  # in the order of their cells, the upper first
    # too close to stand each under its cell: one group, centred where the cells are
    centre = (xs[0] - found[ends[0]][1] + xs[-1] + found[ends[-1]][1]) / 2
    assert centre == pytest.approx(sum(drawn[t][0] for t in ends) / len(ends), abs=0.01)
    spans = sorted((cx - half, cx + half, t) for t, (cx, half) in found.items())
    for (_, right, a), (left, _, b) in zip(spans, spans[1:]):
        assert right <= left + 0.01, f"the bars of {a} and {b} overlap"
    assert spans[-1][1] <= float(root.get("viewBox").split()[2])
