"""The ``blocks`` style: one row of 3D boxes in the PlotNeuralNet manner."""
from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz import zoo
from netviz.scene import boxes_overlap
from netviz.styles.common import THEMES, Ids, category

SVG = "{http://www.w3.org/2000/svg}"
LEFT_OUT = {"act", "dropout", "flatten", "lrn", "batchnorm"}
MODELS = ["alexnet", "alexnet-torchvision", "lenet5", "vgg16", "examples/residual.yaml"]


def classes(el) -> list[str]:
    return (el.get("class") or "").split()


def render(model, **kw):
    fig = netviz.render(model, style="blocks", **kw)
    return fig, ET.fromstring(fig.svg().encode("utf-8"))


def groups(root, first: str) -> list:
    """Groups whose first class is ``first``, in document (painting) order."""
    return [el for el in root.iter(f"{SVG}g") if classes(el)[:1] == [first]]


def layer_of(el) -> str:
    (tok,) = [c[len("layer-"):] for c in classes(el) if c.startswith("layer-")]
    return tok


def points(poly) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in poly.get("points").split()]


def face(block, name: str):
    (poly,) = [p for p in block.iter(f"{SVG}polygon") if name in classes(p)]
    return points(poly)


def size(pts) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def expected_units(shaped) -> tuple[list[str], list[str]]:
    """What the spec says is drawn: a block per layer that is neither left out,
    nor a pooling right after a convolution (a slab at its end), nor a softmax
    right after the last dense layer (that layer is the output bar); and the slabs."""
    net = shaped.network
    blocks, slabs, last = [], [], None  # last: the category of the drawn layer before, through left-out ones
    for layer in net.layers:
        cat = category(layer)
        if cat in LEFT_OUT:
            continue
        after_conv = last == "conv" and len(net.consumers[layer.inputs[0]]) == 1 and len(layer.inputs) == 1
        if cat in ("maxpool", "avgpool") and after_conv:
            slabs.append(layer.name)
            last = "pool-slab"
            continue
        if cat == "softmax" and last == "fc" and layer is net.layers[-1]:
            continue
        blocks.append(layer.name)
        last = cat
    return [Ids.token(n) for n in blocks], [Ids.token(n) for n in slabs]


# --- what is drawn ----------------------------------------------------------------

def test_alexnet_units_are_the_papers_maps_and_layers():
    fig, root = render("alexnet")
    assert [layer_of(g) for g in groups(root, "block")] == \
        ["input", "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert [layer_of(g) for g in groups(root, "slab")] == ["pool1", "pool2", "pool5"]
    kinds = [classes(g)[1] for g in groups(root, "block")]
    assert kinds == ["input"] + ["conv"] * 5 + ["fc", "fc", "output"]
    # drawn single-stream with every channel (the spec has groups 2 and streams 2)
    texts = {(t.get("class"), t.text) for t in root.iter(f"{SVG}text")}
    for tok, c in [("conv1", 96), ("conv2", 256), ("conv3", 384), ("conv4", 384), ("conv5", 256)]:
        assert (f"label channels layer-{tok}", str(c)) in texts


@pytest.mark.parametrize("model", MODELS)
def test_box_count_follows_the_spec(model):
    fig, root = render(model)
    blocks, slabs = expected_units(fig.shaped)
    assert [layer_of(g) for g in groups(root, "block")] == blocks
    assert [layer_of(g) for g in groups(root, "slab")] == slabs
    for g in groups(root, "block") + groups(root, "slab"):
        if classes(g)[1] in ("add", "concat"):
            assert len(list(g.iter(f"{SVG}circle"))) == 1
            continue
        faces = [p for p in g.iter(f"{SVG}polygon")]
        assert [classes(p)[1] for p in faces] == ["top", "side", "front"], layer_of(g)
        # the three hidden back edges, dashed, painted before the faces
        children = list(g)
        dashed = [i for i, el in enumerate(children) if el.tag == f"{SVG}path" and el.get("stroke-dasharray")]
        assert len(dashed) == 3 and max(dashed) < min(children.index(p) for p in faces)


@pytest.mark.parametrize("model", MODELS)
def test_blocks_go_left_to_right_with_an_arrow_before_each(model):
    fig, root = render(model)
    blocks = groups(root, "block")
    lefts = []
    for g in blocks:
        circle = next(g.iter(f"{SVG}circle"), None)
        lefts.append(float(circle.get("cx")) if circle is not None else size(face(g, "front"))[0])
    if not groups(root, "frame"):  # a chain: one row
        assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts)
    else:  # modules: along every arrow, lane by lane (test_blocks_branches.py has the lanes)
        left = {layer_of(g): x for g, x in zip(blocks, lefts)}
        links = [g for kind in ("arrow", "lane-in", "lane-out", "shortcut") for g in groups(root, kind)]
        pairs = [([c[len("from-"):] for c in classes(g) if c.startswith("from-")], layer_of(g)) for g in links]
        assert pairs and all(left[src[0]] < left[dst] for src, dst in pairs if src)
    # painter's order: blocks, and every straight arrow just before the block it leads into
    row = [el for el in root.iter(f"{SVG}g") if classes(el)[:1] in (["block"], ["slab"], ["arrow"], ["lane-in"])]
    for i, el in enumerate(row):
        if classes(el)[0] in ("arrow", "lane-in"):
            nxt = row[i + 1]
            assert classes(nxt)[0] == "block" and layer_of(nxt) == layer_of(el)
            line = next(el.iter(f"{SVG}path"))
            x0, x1 = (float(p.split(",")[0]) for p in line.get("d")[1:].split(" L"))
            assert x0 < x1


def cut(pts, y: float) -> list[float]:
    """Where the horizontal line at y meets the sides of a polygon."""
    out = []
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
        if ay != by and min(ay, by) <= y <= max(ay, by):
            out.append(ax + (y - ay) / (by - ay) * (bx - ax))
    return out


def span(groups_, y: float) -> tuple[float, float]:
    """Where the line at y enters and leaves what the groups draw (faces or a marker)."""
    xs = []
    for g in groups_:
        for poly in g.iter(f"{SVG}polygon"):
            xs += cut(points(poly), y)
        for c in g.iter(f"{SVG}circle"):
            cx, cy, r = (float(c.get(k)) for k in ("cx", "cy", "r"))
            if abs(y - cy) < r:
                d = math.sqrt(r * r - (y - cy) ** 2)
                xs += [cx - d, cx + d]
    return min(xs), max(xs)


@pytest.mark.parametrize("model", MODELS + ["resnet50"])
def test_arrows_run_from_the_visible_right_edge_to_the_next_left_edge(model):
    """Not from inside a box's side face, nor on into the next box behind its front face."""
    fig, root = render(model)
    # each block with the slab painted right after it (a pooling at its end)
    drawn = []
    for el in root.iter(f"{SVG}g"):
        first = classes(el)[:1]
        if first == ["block"]:
            drawn.append([el])
        elif first == ["slab"]:
            drawn[-1].append(el)
    order = [layer_of(d[0]) for d in drawn]
    arrows = groups(root, "arrow")
    assert len(arrows) >= 4
    for a in arrows:
        line = next(a.iter(f"{SVG}path"))
        (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in line.get("d")[1:].split(" L"))
        k = order.index(layer_of(a))
        assert x0 == pytest.approx(span(drawn[k - 1], y0)[1], abs=0.05), "from the right edge of the block before"
        assert x1 == pytest.approx(span(drawn[k][:1], y0)[0], abs=0.05), "to the left edge of the next"
        tip = points(next(a.iter(f"{SVG}polygon")))[0]
        assert x0 + 8 < tip[0] < x1, "the head on the visible stretch"
        assert x1 - x0 >= 20


def test_chain_networks_have_an_arrow_between_every_two_blocks():
    for model in ("alexnet", "lenet5", "vgg16"):
        fig, root = render(model)
        assert len(groups(root, "arrow")) == len(groups(root, "block")) - 1
        assert not groups(root, "skip")


# --- scales ------------------------------------------------------------------------

def _boxes(model):
    fig, root = render(model)
    info = fig.shaped.info
    names = {Ids.token(n): n for n in info}
    out = []
    for g in groups(root, "block"):
        shape = info[names[layer_of(g)]].output
        if len(shape) == 3 and classes(g)[1] in ("input", "conv"):
            _, _, w, h = size(face(g, "front"))
            top = face(g, "top")
            depth = math.dist(top[1], top[2])  # the receding edge, foreshortened
            out.append((shape, w, h, depth))
    return out


@pytest.mark.parametrize("model", ["alexnet", "vgg16", "lenet5"])
def test_taller_for_larger_maps_wider_for_more_channels(model):
    boxes = _boxes(model)
    assert len(boxes) >= 4
    for (sa, wa, ha, da) in boxes:
        for (sb, wb, hb, db) in boxes:
            if sa[1] > sb[1]:
                assert ha > hb, (sa, sb)
            if sa[2] > sb[2]:
                assert da > db, (sa, sb)
            if sa[0] > sb[0] and wb > 5.01:  # 5 px is the thinnest box
                assert wa > wb, (sa, sb)
            if sa == sb:
                assert (wa, ha, da) == pytest.approx((wb, hb, db), abs=0.02)


def test_scales_are_compressed_so_input_and_small_maps_both_read():
    boxes = {s: (w, h) for s, w, h, _ in _boxes("alexnet")}
    (w_in, h_in), (w5, h5) = boxes[(3, 227, 227)], boxes[(256, 13, 13)]
    assert 2.5 < h_in / h5 < 6  # square root of 227/13 is 4.2; linear would be 17
    assert h5 >= 30 and w_in >= 5
    assert 4 < w5 / w_in < 12  # square root of 256/3 is 9.2; linear would be 85


def test_many_boxes_stay_in_a_bounded_width():
    fig, root = render("vgg16")
    net = netviz.load("vgg16")
    # a box per input, conv and fc; a pool right after a conv is a slab of that box, any other has its own
    kept = [l for l in net.layers if l.type in ("input", "conv", "fc")
            or ("pool" in l.type and net[l.inputs[0]].type not in ("conv", "relu"))]
    assert len(groups(root, "block")) == len(kept)
    assert fig.scene.width <= 1700
    assert min(size(face(g, "front"))[2] for g in groups(root, "block")) >= 5


def test_dense_bars_recede_longer_for_more_features():
    fig, root = render("alexnet")
    bars = {layer_of(g): face(g, "top") for g in groups(root, "block") if classes(g)[1] in ("fc", "output")}
    length = {k: math.dist(p[1], p[2]) for k, p in bars.items()}
    front = {k: size(face(g, "front")) for g in groups(root, "block") for k in [layer_of(g)] if k in bars}
    assert length["fc6"] == pytest.approx(length["fc7"]) and length["fc6"] > length["fc8"]
    for k in bars:  # long thin bars: far longer than their front face is wide
        assert length[k] > 3 * front[k][2]


# --- labels ---------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_labels_give_channels_and_sides(model):
    fig, root = render(model)
    info = fig.shaped.info
    names = {Ids.token(n): n for n in info}
    texts = {}
    for t in root.iter(f"{SVG}text"):
        if "label" in classes(t):
            texts.setdefault((classes(t)[1], layer_of(t)), []).append(t.text)
    for g in groups(root, "block"):
        tok, kind = layer_of(g), classes(g)[1]
        shape = info[names[tok]].output
        if kind in ("add", "concat"):
            continue
        if len(shape) == 3 and kind != "output":
            assert texts[("channels", tok)] == [str(shape[0])]
            assert texts[("side", tok)] == [str(shape[2])]
            assert texts.get(("side-h", tok), [str(shape[1])]) == [str(shape[1])]
        else:
            assert texts[("features", tok)] == [str(math.prod(shape))]
    outputs = [g for g in groups(root, "block") if classes(g)[1] == "output"]
    assert len(outputs) == 1 and texts[("kind", layer_of(outputs[0]))] == ["softmax"]


def test_non_square_map_gets_rows_and_columns():
    net = netviz.readers.parse_spec("input: 3x20x40\nlayers:\n  - conv: {name: c, out: 8, kernel: [3, 23]}\n")
    fig, root = render(net)
    texts = {(classes(t)[1], layer_of(t)): t.text for t in root.iter(f"{SVG}text")}
    assert texts[("side-h", "input")] == "20" and texts[("side", "input")] == "40"
    assert texts[("side", "c")] == "18" and ("side-h", "c") not in texts
    ratio = {}  # height over (foreshortened) depth
    for g in groups(root, "block"):
        top = face(g, "top")
        ratio[layer_of(g)] = size(face(g, "front"))[3] / math.dist(top[1], top[2])
    # the input has half as many rows as columns, the 18x18 map as many: on square-root scales
    # for both, the map's ratio is the input's times the square root of 2
    assert ratio["c"] / ratio["input"] == pytest.approx(math.sqrt(2), rel=0.02)


@pytest.mark.parametrize("model", zoo.names() + ["examples/residual.yaml", "examples/inception.yaml",
                                                  "torchvision:resnet18"])
@pytest.mark.parametrize("extras", [{}, {"legend": True, "title": "A long title for the figure"}])
def test_no_text_overlaps_or_leaves_canvas(model, extras):
    if ":" in model:  # traced on the meta device: shapes only, no weights
        pytest.importorskip("torchvision")
        extras = dict(extras, device="meta")
    scene = netviz.render(model, style="blocks", **extras).scene
    boxes = [(t.text, t.box, (t.cls or "").startswith("label")) for t in scene.texts()]
    for text, (x0, y0, x1, y1), _ in boxes:
        assert 0 <= x0 and x1 <= scene.width and 0 <= y0 and y1 <= scene.height, text
    for i, (ta, a, la) in enumerate(boxes):
        for tb, b, lb in boxes[i + 1:]:
            assert not boxes_overlap(a, b), f"{ta!r} overlaps {tb!r}"
            # two labels of the blocks do not crowd each other: a few px of air between them
            assert not (la and lb and boxes_overlap(a, b, gap=3)), f"{ta!r} crowds {tb!r}"


def test_options_labels_title_legend_theme():
    _, plain = render("lenet5", labels=False, title="")  # no title, no labels: no text
    assert not [t for t in plain.iter(f"{SVG}text")]
    fig, root = render("lenet5", title="LeNet", legend=True)
    assert [t.text for t in root.iter(f"{SVG}text") if classes(t) == ["title"]] == ["LeNet"]
    legend = [classes(g)[1] for g in groups(root, "legend-entry")]
    assert legend == ["input", "conv", "pool", "fc", "output"]

    def conv_fill(theme):
        _, r = render("lenet5", theme=theme)
        g = [g for g in groups(r, "block") if classes(g)[1] == "conv"][0]
        return [p.get("fill") for p in g.iter(f"{SVG}polygon") if "front" in classes(p)][0]
    assert len({conv_fill(t) for t in THEMES}) == len(THEMES)


def swatch(entry) -> tuple:
    """What a legend entry draws, apart from its text, relative to its first point."""
    shapes = []
    for el in entry.iter():
        if el.tag == f"{SVG}polygon":
            shapes.append(("polygon", el.get("fill"), tuple(points(el))))
        elif el.tag == f"{SVG}circle":
            shapes.append(("circle", el.get("fill"), ((float(el.get("cx")), float(el.get("cy"))),)))
        elif el.tag == f"{SVG}path":
            d = el.get("d")[1:].split(" L")
            shapes.append(("path", el.get("stroke"), tuple(tuple(map(float, p.split(","))) for p in d)))
    x0, y0 = shapes[0][2][0]
    return tuple((k, fill, tuple((round(x - x0, 2), round(y - y0, 2)) for x, y in pts)) for k, fill, pts in shapes)


@pytest.mark.parametrize("theme", sorted(THEMES))
@pytest.mark.parametrize("model", zoo.names() + ["examples/residual.yaml", "examples/inception.yaml"])
def test_no_two_legend_entries_look_alike(model, theme):
    _, root = render(model, legend=True, theme=theme)
    entries = groups(root, "legend-entry")
    names = [t.text for g in entries for t in g.iter(f"{SVG}text")]
    assert len(entries) >= 3 and len(names) == len(entries) == len(set(names))
    looks = [swatch(g) for g in entries]
    for i in range(len(looks)):
        for j in range(i + 1, len(looks)):
            assert looks[i] != looks[j], f"{names[i]!r} and {names[j]!r} draw the same swatch"


def test_max_and_average_pooling_are_one_legend_entry():
    """ResNet-50 has a max pooling (a slab after the stem) and an average
    pooling (a slab of its own): both are red slabs, named once."""
    _, root = render("resnet50", legend=True)
    names = [t.text for g in groups(root, "legend-entry") for t in g.iter(f"{SVG}text")]
    assert names.count("Pooling") == 1 and not [n for n in names if n.endswith(" pooling")]
    kinds = {classes(g)[1] for g in groups(root, "block") + groups(root, "slab")}
    assert {"pool", "maxpool"} <= kinds  # both drawn, as one kind of slab


# --- branches -----------------------------------------------------------------------

def test_branches_are_lanes_not_arcs():
    """The lanes themselves are tested in test_blocks_branches.py."""
    for model in ("examples/residual.yaml", "examples/inception.yaml"):
        fig, root = render(model)
        assert not groups(root, "skip") and groups(root, "frame") and groups(root, "lane-out")


def test_hostile_and_unicode_names_are_escaped():
    net = netviz.readers.parse_spec("""
input: 3x32x32
layers:
  - conv: {name: "<script>alert(1)</script>", out: 4, kernel: 3}
  - fc: {name: 卷积层, out: 10}
""")
    fig, root = render(net)
    assert "<script>" not in fig.svg()
    tips = [g.find(f"{SVG}title").text for g in groups(root, "block")]
    assert tips[1].startswith("<script>alert(1)</script> (conv)") and tips[2].startswith("卷积层 (fc)")
    assert len({g.get("id") for g in groups(root, "block")}) == 3


# --- output ---------------------------------------------------------------------------

def test_png_size_and_face_colour():
    from PIL import Image
    from netviz.styles.blocks_draw import OPACITY, PALETTES
    fig, root = render("alexnet")
    img = Image.open(io.BytesIO(fig.png())).convert("RGB")
    assert img.size == (round(fig.scene.width), round(fig.scene.height))
    conv3 = [g for g in groups(root, "block") if layer_of(g) == "conv3"][0]
    x, y, w, h = size(face(conv3, "front"))
    got = img.getpixel((int(x + w - 4), int(y + h - 4)))  # inside the front face, clear of every edge
    base = PALETTES["default"]["conv"]
    want = [round(int(base[i:i + 2], 16) * OPACITY + 255 * (1 - OPACITY)) for i in (1, 3, 5)]
    assert all(abs(a - b) <= 4 for a, b in zip(got, want)), (got, want)


def test_pdf_page_size():
    import pypdfium2 as pdfium
    fig = netviz.render("lenet5", style="blocks")
    data = fig.pdf()
    assert data.startswith(b"%PDF")
    w, h = pdfium.PdfDocument(data)[0].get_size()
    assert (w, h) == pytest.approx((fig.scene.width * 0.75, fig.scene.height * 0.75), abs=1)


def test_same_network_same_bytes():
    assert netviz.render("vgg16", style="blocks").svg() == netviz.render("vgg16", style="blocks").svg()


def test_cli_render_blocks(cli, tmp_path):
    out = tmp_path / "x.svg"
    r = cli("render", "alexnet", "--style", "blocks", "-o", out)
    assert r.returncode == 0, r.stderr
    root = ET.parse(out).getroot()
    assert len(groups(root, "block")) == 9 and len(groups(root, "slab")) == 3
    r = cli("render", "alexnet", "--style", "blocks", "--streams", "2", "-o", tmp_path / "y.svg")
    assert r.returncode == 2 and r.stderr.startswith("netviz: --streams") and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "y.svg").exists()
