"""The stack style: one rounded box per drawn unit, top to bottom, arrows
between them, shortcuts and branches as links on the right."""
import io
import os
import re
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz import zoo
from netviz.scene import Text, boxes_overlap
from netviz.styles import common
from netviz.styles.common import Ids

SVG = "{http://www.w3.org/2000/svg}"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
SKIPPED = {"relu", "lrn", "batchnorm", "dropout", "flatten"}  # drawn as part of the unit before
POOLS = {"maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool"}


def parse(svg: str):
    return ET.fromstring(svg.encode("utf-8"))


def classes(el) -> list[str]:
    return (el.get("class") or "").split()


def units(root):
    return [g for g in root.iter(f"{SVG}g") if "unit" in classes(g)]


def box_of(unit):
    rects = [r for r in unit.iter(f"{SVG}rect") if "box" in classes(r)]
    return rects[0] if rects else None


def rect(el) -> tuple[float, float, float, float]:
    x, y, w, h = (float(el.get(k)) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def text_of(el) -> str:
    return "".join(el.itertext())


def texts(el, cls):
    return [t for t in el.iter(f"{SVG}text") if cls in classes(t)]


def ink(t) -> tuple[float, float, float, float]:
    """The ink box of an SVG text, measured as the layout measures it."""
    return Text(float(t.get("x")), float(t.get("y")), text_of(t), size=float(t.get("font-size")),
                anchor=t.get("text-anchor") or "start").box


def points(path) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in re.findall(r"-?[\d.]+,-?[\d.]+", path.get("d"))]


def paths(root, cls):
    return [p for p in root.iter(f"{SVG}path") if cls in classes(p)]


def ends(path) -> tuple[str, str]:
    c = classes(path)
    return (next(x[5:] for x in c if x.startswith("from-")), next(x[3:] for x in c if x.startswith("to-")))


def merged_pool(net, conv):
    """The pooling a convolution runs into, through skipped layers on a plain path."""
    users = {l.name: [u for u in net.layers if l.name in u.inputs] for l in net.layers}
    name = conv.name
    while len(users[name]) == 1 and len(users[name][0].inputs) == 1:
        nxt = users[name][0]
        if nxt.type in POOLS:
            return nxt
        if nxt.type not in SKIPPED:
            return None
        name = nxt.name
    return None


def expected_boxes(net) -> list[str]:
    """The text of every box, from the spec's layers: a convolution takes the
    pooling after it (through skipped layers) into its box; a pooling box
    of its own and a concatenation are only counted."""
    out, merged = [], set()
    for l in net.layers:
        a = l.attrs
        if l.type == "conv":
            text = f"{a['kernel'][0]}x{a['kernel'][1]} conv, {a['out']}"
            if a["stride"][0] > 1:
                text += f", /{a['stride'][0]}"
            pool = merged_pool(net, l)
            if pool is not None and pool.type == "maxpool":
                text += f", pool/{pool.attrs['stride'][0]}"
                merged.add(pool.name)
            out.append(text)
        elif l.type == "fc":
            out.append(f"fc, {a['out']}")
        elif l.type in POOLS and l.name not in merged or l.type == "concat":
            out.append(l.type)
    return out


@pytest.fixture(scope="module")
def alexnet():
    return parse(netviz.render("alexnet", style="stack").svg())


# --- the chain: boxes, text, order, arrows -----------------------------------

def test_alexnet_boxes_and_their_text_follow_the_spec(alexnet):
    boxes = [u for u in units(alexnet) if box_of(u) is not None]
    got = [" ".join(text_of(t) for t in texts(u, "box-text")) for u in boxes]
    assert got == expected_boxes(netviz.load("alexnet"))
    assert got[0] == "11x11 conv, 96, /4, pool/2"  # as in the reference figure
    assert len(boxes) == 8
    # the input and the output are captions, not boxes
    captions = [text_of(t) for t in texts(alexnet, "caption")]
    assert captions == ["input, 3x227x227", "softmax"]
    # LRN, relu and dropout have no unit; each merged unit names its conv and its pool
    names = [c for u in units(alexnet) for c in classes(u) if c.startswith("layer-")]
    assert "layer-norm1" not in names and "layer-relu1" not in names and "layer-drop6" not in names
    assert ["layer-conv1", "layer-pool1"] == [c for c in classes(boxes[0]) if c.startswith("layer-")]


def test_alexnet_boxes_stack_top_to_bottom_equal_and_apart(alexnet):
    rects = [rect(box_of(u)) for u in units(alexnet) if box_of(u) is not None]
    tops = [r[1] for r in rects]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    assert len({(r[0], r[2]) for r in rects}) == 1, "every box has the same left and right side"
    for a in range(len(rects)):
        for b in range(a + 1, len(rects)):
            assert not boxes_overlap(rects[a], rects[b], gap=10), (a, b)
    for r in rects:  # the whole figure, with margins
        assert r[0] >= 10 and r[1] >= 10
    width, height = float(alexnet.get("width")), float(alexnet.get("height"))
    assert max(r[2] for r in rects) <= width - 10 and max(r[3] for r in rects) <= height - 10


def test_alexnet_text_fits_inside_its_box_and_is_centred(alexnet):
    for u in units(alexnet):
        box = box_of(u)
        if box is None:
            continue
        x0, y0, x1, y1 = rect(box)
        for t in texts(u, "box-text"):
            tx0, ty0, tx1, ty1 = ink(t)
            assert x0 + 4 <= tx0 and tx1 <= x1 - 4 and y0 + 2 <= ty0 and ty1 <= y1 - 2, text_of(t)
            assert t.get("text-anchor") == "middle" and abs(float(t.get("x")) - (x0 + x1) / 2) < 0.01
    # the box fits the longest text, with room on both sides and no more than that
    widest = max(ink(t)[2] - ink(t)[0] for t in texts(alexnet, "box-text"))
    box_w = rect(box_of(units(alexnet)[1]))[2] - rect(box_of(units(alexnet)[1]))[0]
    assert widest + 16 <= box_w <= widest + 60


def test_alexnet_arrows_run_from_each_unit_to_the_next(alexnet):
    arrows = paths(alexnet, "arrow")
    us = units(alexnet)
    assert len(arrows) == len(us) - 1 == 9
    assert all(a.get("marker-end") == "url(#arrow)" for a in arrows)
    assert alexnet.find(f"{SVG}defs/{SVG}marker") is not None, "the arrow head is defined"
    rects = {id(u): rect(box_of(u)) for u in us if box_of(u) is not None}
    for arrow, (a, b) in zip(arrows, zip(us, us[1:])):
        (x0, y0), (x1, y1) = points(arrow)[0], points(arrow)[-1]
        assert x0 == x1 and y1 - y0 >= 15, "a vertical arrow down the stack"
        if id(a) in rects:
            assert y0 >= rects[id(a)][3]
        if id(b) in rects:
            assert y1 <= rects[id(b)][1]
            assert rects[id(b)][0] < x1 < rects[id(b)][2]
    assert not paths(alexnet, "link"), "a chain has no links on the side"


def test_alexnet_fills_by_stage(alexnet):
    fill = {c: box_of(u).get("fill") for u in units(alexnet) if box_of(u) is not None
            for c in classes(u) if c.startswith("layer-conv") or c.startswith("layer-fc")}
    # conv1 reads 227x227 maps, conv2 27x27, conv3-5 13x13: three stages
    assert fill["layer-conv3"] == fill["layer-conv4"] == fill["layer-conv5"]
    assert len({fill["layer-conv1"], fill["layer-conv2"], fill["layer-conv3"]}) == 3
    assert {fill["layer-fc6"], fill["layer-fc7"], fill["layer-fc8"]} == {"#FFFFFF"}
    for c in ("layer-conv1", "layer-conv2", "layer-conv3"):  # pale: every channel well above mid grey
        rgb = [int(fill[c][k:k + 2], 16) for k in (1, 3, 5)]
        assert min(rgb) >= 0xC0 and fill[c] != "#FFFFFF"


# --- every zoo model --------------------------------------------------------

@pytest.mark.parametrize("model", zoo.names())
def test_every_zoo_model_has_one_box_per_unit_inside_the_figure(model):
    root = parse(netviz.render(model, style="stack").svg())
    boxes = [u for u in units(root) if box_of(u) is not None]
    expected = expected_boxes(netviz.load(model))
    assert len(boxes) == len(expected)
    for u, want in zip(boxes, expected):
        got = " ".join(text_of(t) for t in texts(u, "box-text"))
        assert got == want or want in POOLS and "pool" in got or want == "concat" and got.startswith("concat, ")
        x0, y0, x1, y1 = rect(box_of(u))
        for t in texts(u, "box-text"):
            tx0, ty0, tx1, ty1 = ink(t)
            assert x0 < tx0 and tx1 < x1 and y0 < ty0 and ty1 < y1
    tops = [rect(box_of(u))[1] for u in boxes if "branch" not in classes(u)]
    assert tops == sorted(tops), "the column, top to bottom (branches stand beside it)"


# --- branching networks -------------------------------------------------------

def links(root) -> set[tuple[str, str]]:
    return {ends(p) for p in paths(root, "link")}


def vertical(path) -> tuple[float, float, float]:
    """(x, top, bottom) of a link's run down its lane."""
    pts = points(path)
    (x, y0), (_, y1) = next((a, b) for a, b in zip(pts, pts[1:]) if a[0] == b[0])
    return x, min(y0, y1), max(y0, y1)


def column_right(root) -> float:
    return max(rect(box_of(u))[2] for u in units(root) if box_of(u) is not None and "branch" not in classes(u))


def test_residual_shortcuts_are_links_on_the_right_into_plus_circles():
    root = parse(netviz.render(os.path.join(EXAMPLES, "residual.yaml"), style="stack").svg())
    net = netviz.load(os.path.join(EXAMPLES, "residual.yaml"))
    adds = [l.name for l in net.layers if l.type == "add"]
    merges = [u for u in units(root) if "add" in classes(u)]
    assert [c for u in merges for c in classes(u) if c.startswith("layer-")] == [f"layer-{a}" for a in adds]
    assert [text_of(t) for u in merges for t in texts(u, "merge-text")] == ["+", "+"]
    # the shortcut of block 1 (from the stem) and block 2's 1x1 projection (from
    # block 1's sum, beside block 2, into its sum) leave the stack; block 2's main
    # path runs down it into its sum
    assert links(root) == {("stem", "b1_add"), ("b1_add", "b2_down"), ("b2_down", "b2_add")}
    assert ("b2_conv2", "b2_add") in {ends(p) for p in paths(root, "arrow")}
    assert not [p for p in paths(root, "arrow") if "b2_down" in ends(p)]
    right = column_right(root)
    centre = {c[6:]: u for u in units(root) for c in classes(u) if c.startswith("layer-")}
    for p in paths(root, "link"):
        pts = points(p)
        src, dst = ends(p)
        assert p.get("marker-end") == "url(#arrow)"
        x, top, bottom = vertical(p)
        assert x > right + 10, "in a lane right of the boxes"
        assert pts[0][1] < pts[-1][1], "links run down"
        target = centre[dst]
        circle = next(target.iter(f"{SVG}circle"), None)
        x0, y0, x1, y1 = rect(box_of(target)) if circle is None else (0, 0, 0, 0)
        if circle is not None:  # into the circle's right side
            cx, cy, r = (float(circle.get(k)) for k in ("cx", "cy", "r"))
            assert abs(((pts[-1][0] - cx) ** 2 + (pts[-1][1] - cy) ** 2) ** 0.5 - r) < 1.5
        elif "branch" in classes(target):  # down into the middle of the branch box's top
            assert len(pts) == 3 and pts[-1][0] == pts[-2][0] == pytest.approx((x0 + x1) / 2)
            assert y0 - 2 < pts[-1][1] <= y0
        else:
            assert len(pts) == 4 and abs(pts[-1][0] - x1) < 1.5 and y0 < pts[-1][1] < y1
    # two links that share a lane never run alongside each other
    for a in paths(root, "link"):
        for b in paths(root, "link"):
            (xa, a0, a1), (xb, b0, b1) = vertical(a), vertical(b)
            if a is not b and xa == xb:
                assert a1 < b0 or b1 < a0


def projections(net) -> set[str]:
    """The convolutions of the shortcut paths: a conv whose input also feeds
    another layer, whose output (through batchnorm) goes only into a sum that
    also takes a longer path from that input."""
    consumers = {l.name: [u for u in net.layers if l.name in u.inputs] for l in net.layers}
    prev = {l.name: (net.layers[k - 1].name if k else None) for k, l in enumerate(net.layers)}
    found = set()
    for l in net.layers:
        if l.type != "conv":
            continue
        src = l.inputs[0] if l.inputs else prev[l.name]
        out = l.name
        while len(consumers[out]) == 1 and consumers[out][0].type == "batchnorm":
            out = consumers[out][0].name
        users = consumers[out]
        if len(users) == 1 and users[0].type == "add" and len(consumers[src]) > 1 and src not in users[0].inputs:
            found.add(l.name)
    return found


@pytest.mark.parametrize("model", ["examples/residual.yaml", "resnet18", "resnet50"])
def test_projection_shortcut_is_a_branch_beside_the_column(model):
    spec = os.path.join(ROOT, model) if model.endswith(".yaml") else model
    net = netviz.load(spec)
    root = parse(netviz.render(spec, style="stack").svg())
    want = projections(net)
    assert want == ({"b2_down"} if model.endswith(".yaml") else
                    {l.name for l in net.layers if l.name.endswith("downsample_0")})
    branch = [u for u in units(root) if "branch" in classes(u)]
    assert {c[6:] for u in branch for c in classes(u) if c.startswith("layer-")} & {n for n in want} == want
    assert len(branch) == len(want)
    right = column_right(root)
    column = [u for u in units(root) if "branch" not in classes(u)]
    by_name = {c[6:]: u for u in units(root) for c in classes(u) if c.startswith("layer-")}
    arrows = {ends(p) for p in paths(root, "arrow")}
    links_ = {ends(p): p for p in paths(root, "link")}
    for u in branch:
        layers = {c[6:] for c in classes(u) if c.startswith("layer-")}
        name = next(c[6:] for c in classes(u) if c.startswith("layer-"))
        x0, y0, x1, y1 = rect(box_of(u))
        assert x0 >= right + 20, "beside the column, apart from it"
        assert not [e for e in arrows if set(e) & layers], "no arrow down the column into or out of it"
        (into,) = [p for e, p in links_.items() if e[1] in layers]
        (out,) = [p for e, p in links_.items() if e[0] in layers]
        dst = ends(out)[1]
        assert points(into)[-1] == pytest.approx(((x0 + x1) / 2, y0 - 1), abs=0.01), "into the middle of its top"
        assert points(out)[0] == pytest.approx(((x0 + x1) / 2, y1), abs=0.01), "out of the middle of its bottom"
        # level with the block it stands beside: below its input, above its sum, beside a box of the column
        assert points(into)[0][1] < y0 and y1 < points(out)[-1][1]
        beside = [v for v in column if box_of(v) is not None and rect(box_of(v))[1] < y1 and y0 < rect(box_of(v))[3]]
        assert beside, "level with a box of the column"
        assert "add" in classes(by_name[dst])
        # no line crosses it
        for p in paths(root, "link") + paths(root, "arrow"):
            pts = points(p)
            for (ax, ay), (bx, by) in zip(pts, pts[1:]):
                inside_x = max(min(ax, bx), x0 + 1) < min(max(ax, bx), x1 - 1)
                inside_y = max(min(ay, by), y0 + 1) < min(max(ay, by), y1 - 1)
                assert not (inside_x and inside_y), (ends(p), name)
    if model == "resnet18":  # every shortcut, plain or through a projection, in one lane
        assert len({vertical(p)[0] for p in paths(root, "link")}) == 1


def test_inception_branches_leave_the_input_and_meet_at_the_concat():
    spec = os.path.join(EXAMPLES, "inception.yaml")
    net = netviz.load(spec)
    root = parse(netviz.render(spec, style="stack").svg())
    order = [l.name for l in net.layers if l.type != "input"]
    drawn = {(src, l.name) for l in net.layers for src in l.inputs}
    down = {ends(p) for p in paths(root, "arrow")}
    side = links(root)
    assert down | side == drawn and not down & side, "every edge of the spec is drawn once"
    # an edge from one unit to the next runs down the stack; the others go round
    units_order = ["input"] + order
    for src, dst in drawn:
        assert ((src, dst) in down) == (units_order.index(dst) == units_order.index(src) + 1)
    assert len(side) == 6
    # the input's three side branches share one lane, the three into the concat another
    lane = {ends(p): points(p)[1][0] for p in paths(root, "link")}
    assert len({x for (s, _), x in lane.items() if s == "input"}) == 1
    assert len({x for (_, d), x in lane.items() if d == "output"}) == 1
    assert len(set(lane.values())) == 2
    dots = [c for c in root.iter(f"{SVG}circle") if "junction" in classes(c)]
    assert len(dots) == 4, "a dot where each bus parts or meets, none where lines only cross"
    concat = next(u for u in units(root) if "concat" in classes(u))
    assert [text_of(t) for t in texts(concat, "box-text")] == ["concat, 256"]


# --- layers of other types -------------------------------------------------------

def test_custom_layers_say_their_kind_not_their_name():
    net = netviz.readers.parse_spec(
        "input: 3x32x32\nlayers:\n"
        "  - conv: {name: features.0.conv, out: 8, kernel: 3, pad: 1}\n"
        "  - custom: {name: features.1.0.block.1.mul, kind: mul, output: 8x32x32}\n"
        "  - custom: {name: encoder.layers.encoder_layer_0.ln_1, kind: LayerNorm, output: 8x32x32}\n"
        "  - fc: 10\n")
    for labels, want in ((True, ["mul, 8x32x32", "LayerNorm, 8x32x32"]), (False, ["mul", "LayerNorm"])):
        root = parse(netviz.render(net, style="stack", labels=labels).svg())
        custom = [u for u in units(root) if "custom" in classes(u)]
        assert [" ".join(text_of(t) for t in texts(u, "box-text")) for u in custom] == want
        # the name is still there, in the tooltip and the classes
        assert "features.1.0.block.1.mul" in custom[0].find(f"{SVG}title").text
        assert f"layer-{Ids.token('features.1.0.block.1.mul')}" in classes(custom[0])


def test_traced_efficientnet_custom_boxes_are_short():
    pytest.importorskip("torchvision")
    fig = netviz.render("torchvision:efficientnet_b0", style="stack", device="meta")
    net = fig.shaped.network
    kinds = {l.attrs["kind"] for l in net.layers if l.type == "custom"}
    root = parse(fig.svg())
    custom = [u for u in units(root) if "custom" in classes(u)]
    assert len(custom) == len([l for l in net.layers if l.type == "custom"
                               and common.category(l) == "custom"])
    for u in custom:
        text = " ".join(text_of(t) for t in texts(u, "box-text"))
        kind, shape = text.split(", ")
        assert kind in kinds and "." not in text and re.fullmatch(r"\d+(x\d+)*", shape), text
    assert all(len(list(texts(u, "box-text"))) == 1 for u in custom), "one line each"
    # squeeze-and-excitation's products are gates: a circle with a cross, one per block
    gates = [u for u in units(root) if "mul" in classes(u)]
    assert len(gates) == sum(l.type == "mul" for l in net.layers) == 16
    assert all([text_of(t) for t in texts(u, "merge-text")] == ["\u00d7"] for u in gates)


# --- the legend -------------------------------------------------------------------

def legend_rows(root) -> list[tuple[tuple, str]]:
    """(what the swatch draws, its text) per legend row, in order."""
    rows = []
    for g in root.iter(f"{SVG}g"):
        if "legend-item" not in classes(g):
            continue
        (sw,) = [el for el in g if "legend-swatch" in classes(el)]
        look = (sw.tag[len(SVG):], sw.get("fill"), sw.get("width"), sw.get("height"), sw.get("r"))
        rows.append((look, " ".join(text_of(t) for t in texts(g, "legend-text"))))
    return rows


@pytest.mark.parametrize("theme", ["default", "colorblind"])
@pytest.mark.parametrize("model", zoo.names() + ["examples/residual.yaml", "examples/inception.yaml"])
def test_no_two_legend_rows_look_alike_and_every_fill_has_one(model, theme):
    root = parse(netviz.render(model, style="stack", legend=True, theme=theme).svg())
    rows = legend_rows(root)
    looks, names = [look for look, _ in rows], [name for _, name in rows]
    assert len(set(looks)) == len(looks), f"two rows draw the same swatch: {rows}"
    assert len(set(names)) == len(names)
    drawn = {("rect", box_of(u).get("fill")) for u in units(root) if box_of(u) is not None}
    drawn |= {("circle", c.get("fill")) for u in units(root) for c in u.iter(f"{SVG}circle")}
    assert {look[:2] for look in looks} == drawn, "a row per look drawn, and none for a look not drawn"


def test_googlenet_legend_names_pooling_once_and_white_boxes_once():
    root = parse(netviz.render("googlenet", style="stack", legend=True).svg())
    names = [name for _, name in legend_rows(root)]
    assert "Pooling" in names and "Max pooling" not in names and "Average pooling" not in names
    white = [name for (tag, fill, *_), name in legend_rows(root) if fill == "#FFFFFF" and tag == "rect"]
    assert len(white) == 1 and "oncatenation" in white[0] and "ully connected" in white[0]


FIXED_ORDER = ["Deconvolution", "Upsampling", "Pooling", "Element-wise sum", "Concatenation", "Fully connected"]


@pytest.mark.parametrize("model", ["resnet50", "googlenet", "resnet18", "examples/unet.yaml"])
def test_legend_lists_the_stages_in_order_then_the_other_kinds(model):
    root = parse(netviz.render(model, style="stack", legend=True, theme="colorblind").svg())
    rows = [(look[1], name) for look, name in legend_rows(root)]
    conv = [box_of(u).get("fill") for u in units(root) if box_of(u) is not None
            and {"conv", "conv-pool"} & set(classes(u))]
    stages = list(dict.fromkeys(conv))  # the tints in order of first appearance down the stack
    assert len(stages) >= 3
    assert [fill for fill, _ in rows[:len(stages)]] == stages, "the stages first, in order, together"
    assert all(name.startswith("Convolution on ") for _, name in rows[:len(stages)])
    rest = [name.split(", ")[0] for _, name in rows[len(stages):]]
    assert rest and not [n for n in rest if n.startswith("Convolution")]
    assert rest == sorted(rest, key=FIXED_ORDER.index), rest
    if model == "resnet50":
        assert rest == ["Pooling", "Element-wise sum", "Fully connected"]


def test_stages_that_share_a_tint_share_a_legend_row():
    """Seven map sizes, six tints: the first and the seventh stage look alike."""
    spec = "input: 3x128x128\nlayers:\n" + "  - conv: {out: 8, kernel: 3, stride: 2, pad: 1}\n" * 7
    root = parse(netviz.render(netviz.readers.parse_spec(spec), style="stack", legend=True).svg())
    rows = legend_rows(root)
    assert len(rows) == 6 and len({look for look, _ in rows}) == 6
    assert rows[0][1] == "Convolution on 128x128, 2x2 maps"
    assert [name for _, name in rows[1:]] == [f"Convolution on {n}x{n} maps" for n in (64, 32, 16, 8, 4)]


# --- options and output formats ---------------------------------------------

def test_options_title_labels_legend_theme_width():
    plain = netviz.render("lenet5", style="stack", title="")  # the spec's title left out
    root = parse(plain.svg())
    titled = parse(netviz.render("lenet5", style="stack", title="LeNet-5").svg())
    assert [text_of(t) for t in texts(titled, "title")] == ["LeNet-5"]
    assert float(titled.get("height")) > float(root.get("height"))
    bare = parse(netviz.render("lenet5", style="stack", labels=False, title="").svg())
    bare_text = [text_of(t) for t in bare.iter(f"{SVG}text")]
    assert len(units(bare)) == len(units(root)) and not any(ch.isdigit() for s in bare_text for ch in s)
    legend = parse(netviz.render("lenet5", style="stack", legend=True).svg())
    fills = {box_of(u).get("fill") for u in units(legend) if box_of(u) is not None}
    items = [g for g in legend.iter(f"{SVG}g") if "legend-item" in classes(g)]
    assert len(items) == len(fills)
    assert "Fully connected" in [text_of(t) for t in texts(legend, "legend-text")]
    cb = parse(netviz.render("lenet5", style="stack", theme="colorblind").svg())
    conv = lambda r: [box_of(u).get("fill") for u in units(r) if "conv-pool" in classes(u)]
    assert conv(cb) != conv(root) and len(set(conv(cb))) == 2
    wide = parse(netviz.render("lenet5", style="stack", width=600, title="").svg())
    assert float(wide.get("width")) == 600 and wide.get("viewBox") == root.get("viewBox")
    with pytest.raises(netviz.NetvizError, match="streams"):
        netviz.render("lenet5", style="stack", streams=2)


def test_png_and_pdf():
    from PIL import Image
    fig = netviz.render("lenet5", style="stack")
    img = Image.open(io.BytesIO(fig.png())).convert("RGB")
    assert img.size == (round(fig.scene.width), round(fig.scene.height))
    root = parse(fig.svg())
    for u in units(root):
        box = box_of(u)
        if box is not None:  # the box's fill, just inside its left side
            x0, y0, x1, y1 = rect(box)
            px = img.getpixel((int(x0 + 5), int((y0 + y1) / 2)))
            want = tuple(int(box.get("fill")[k:k + 2], 16) for k in (1, 3, 5))
            assert max(abs(a - b) for a, b in zip(px, want)) <= 3, (classes(u), px, want)
    pdf = fig.pdf()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF") and b"/Type /Page" in pdf


def test_cli_render_stack(cli, tmp_path):
    out = tmp_path / "x.svg"
    r = cli("render", "alexnet", "--style", "stack", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "stack" in r.stderr
    root = parse(out.read_text(encoding="utf-8"))
    assert len([u for u in units(root) if box_of(u) is not None]) == 8
    r = cli("render", "alexnet", "--style", "stak", "-o", tmp_path / "y.svg")
    assert r.returncode == 2 and "did you mean 'stack'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "y.svg").exists()


def test_a_residual_block_keeps_one_tint_where_it_downsamples():
    root = parse(netviz.render("resnet50", style="stack").svg())
    fill = {}
    for u in units(root):
        box = box_of(u)
        if box is not None:
            for c in classes(u):
                fill[c] = box.get("fill")
    # stage 2's first block: 1x1 on 56x56, the strided 3x3, the 1x1 on 28x28, the projection
    first = [fill[f"layer-layer2_0_{n}"] for n in ("conv1", "conv2", "conv3", "downsample_0")]
    assert len(set(first)) == 1
    assert first[0] == fill["layer-layer2_1_conv1"]  # the tint of the blocks after it
    assert first[0] != fill["layer-layer1_2_conv1"]
