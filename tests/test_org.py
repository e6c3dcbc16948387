"""The ``org`` style: the 2012 AlexNet paper's figure, from any chain network."""
from __future__ import annotations

import functools
import io
import itertools
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import netviz
from netviz.errors import UsageError
from netviz.ir import Layer, Network
from netviz.scene import Path, Polygon, Text, boxes_overlap
from netviz.styles.common import Ids, category

SVG = "{http://www.w3.org/2000/svg}"
ZOO = ["alexnet", "alexnet-torchvision", "lenet5", "zfnet", "vgg16"]
# every zoo model as it is, and some split into other numbers of streams
CASES = [(m, None) for m in ZOO] + [("alexnet-torchvision", 2), ("lenet5", 3), ("vgg16", 2),
                                     ("alexnet", 1), ("zfnet", 4)]


def classes(el) -> set[str]:
    """The classes of an SVG element, or of a scene group's class string."""
    return set(((el if isinstance(el, str) else el.get("class")) or "").split())


def tagged(root, *names):
    """Elements whose class list holds all of ``names``."""
    return [el for el in root.iter() if set(names) <= classes(el)]


def cls_value(el, prefix: str) -> str:
    (value,) = [c[len(prefix):] for c in classes(el) if c.startswith(prefix)]
    return value


def svg_root(model, streams=None, **kw):
    fig = netviz.render(model, style="org", streams=streams, **kw)
    return fig, ET.fromstring(fig.svg().encode("utf-8"))


def drawn_convs(shaped):
    return [l for l in shaped.network.layers if category(l) == "conv"]


def drawn_fcs(shaped):
    return [l for l in shaped.network.layers if category(l) == "fc"]


def expected_parts(total: int, streams: int) -> list[int]:
    """What each stream should hold: all of it, evenly, first streams taking any rest."""
    parts = [total // streams + (1 if i < total % streams else 0) for i in range(streams)]
    assert sum(parts) == total
    return parts


def texts_of(root, *names):
    return [el.text for el in tagged(root, *names) if el.tag == SVG + "text"]


# --- the paper's AlexNet ------------------------------------------------------

def test_alexnet_two_streams_of_five_conv_boxes_plus_input():
    fig, root = svg_root("alexnet")
    assert fig.shaped.network.streams == 2
    for s in (0, 1):
        boxes = [el for el in tagged(root, "box", "conv", f"stream-{s}") if el.tag == SVG + "g"]
        assert [cls_value(b, "layer-") for b in boxes] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    inputs = tagged(root, "box", "input")
    assert len(inputs) == 1 and "stream-all" in classes(inputs[0])
    assert len(tagged(root, "box")) == 11
    dense = tagged(root, "bar", "dense")
    assert sorted((cls_value(b, "layer-"), cls_value(b, "stream-")) for b in dense) == [
        ("fc6", "0"), ("fc6", "1"), ("fc7", "0"), ("fc7", "1")]
    output = tagged(root, "bar", "output")
    assert len(output) == 1 and classes(output[0]) >= {"layer-fc8", "stream-all"}


def test_alexnet_crosses_streams_exactly_where_groups_are_one():
    fig, root = svg_root("alexnet")
    net = fig.shaped.network
    conns = tagged(root, "conn")
    kinds: dict[str, set] = {}
    for el in conns:
        kinds.setdefault(cls_value(el, "layer-"), set()).add("cross" if "cross" in classes(el) else "own")
    # from the network: a conv whose groups split the two streams keeps to its own
    for layer in drawn_convs(fig.shaped):
        assert kinds[layer.name] == ({"own"} if layer.attrs["groups"] == 2 else {"cross"}), layer.name
    for layer in drawn_fcs(fig.shaped):
        assert kinds[layer.name] == {"cross"}
    # and as the paper has it
    assert {k for k, v in kinds.items() if v == {"cross"}} == {"conv1", "conv3", "fc6", "fc7", "fc8"}
    assert {k for k, v in kinds.items() if v == {"own"}} == {"conv2", "conv4", "conv5"}
    assert net.streams == 2
    count = Counter(cls_value(el, "layer-") for el in conns)
    # own: each stream to itself; cross: every stream to every stream
    assert count == {"conv1": 2, "conv2": 2, "conv3": 4, "conv4": 2, "conv5": 2,
                     "fc6": 4, "fc7": 4, "fc8": 2}
    for el in tagged(root, "conn", "own"):
        assert cls_value(el, "from-") == cls_value(el, "to-")
    pairs = {(cls_value(el, "from-"), cls_value(el, "to-")) for el in tagged(root, "conn", "layer-conv3")}
    assert pairs == {("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")}


def test_alexnet_notes_follow_the_network():
    fig, root = svg_root("alexnet")
    layers = fig.shaped.network.layers
    pools = sum(1 for l in layers if l.type == "maxpool")
    strides = [l.attrs["stride"][0] for l in layers if l.type == "conv" and l.attrs["stride"] != (1, 1)]
    notes = [" ".join(el.text for el in g) for g in _note_blocks(root, "pool")]
    assert notes == ["Max pooling"] * pools
    assert [" ".join(el.text for el in g) for g in _note_blocks(root, "stride")] == [
        f"Stride of {s}" for s in strides] == ["Stride of 4"]
    assert len(texts_of(root, "note", "dense")) == len(drawn_fcs(fig.shaped))


def _note_blocks(root, kind):
    """Consecutive note lines of one kind, grouped by their x (one block per gap)."""
    els = [el for el in tagged(root, "note", kind) if el.tag == SVG + "text"]
    blocks: dict[str, list] = {}
    for el in els:
        blocks.setdefault(el.get("x"), []).append(el)
    return list(blocks.values())


# --- labels, for every model -------------------------------------------------

@pytest.mark.parametrize("model,streams", CASES)
def test_labels_match_the_shape_engine(model, streams):
    fig, root = svg_root(model, streams)
    shaped = fig.shaped
    n = streams or shaped.network.streams
    ids = Ids()
    checked = 0
    for layer in shaped.network.layers:
        out = shaped.info[layer.name].output
        cat = category(layer)
        tok = f"layer-{ids.token(layer.name)}"
        if cat == "input" or cat == "conv":
            c, h, w = out
            parts = [c] if cat == "input" else expected_parts(c, n)
            streams_cls = ["stream-all"] if cat == "input" else [f"stream-{s}" for s in range(n)]
            for part, scls in zip(parts, streams_cls):
                assert len(tagged(root, "box", tok, scls)) == 1, (layer.name, scls)
                assert texts_of(root, "label", "channels", tok, scls) == [str(part)]
                assert texts_of(root, "label", "side", tok, scls) == [str(h)]
                assert texts_of(root, "label", "side-w", tok, scls) == ([] if w == h else [str(w)])
                checked += 1
        elif cat == "fc":
            last = layer is drawn_fcs(shaped)[-1]
            parts = [out[0]] if last else expected_parts(out[0], n)
            streams_cls = ["stream-all"] if last else [f"stream-{s}" for s in range(n)]
            for part, scls in zip(parts, streams_cls):
                assert len(tagged(root, "bar", "output" if last else "dense", tok, scls)) == 1
                assert texts_of(root, "label", "width", tok, scls) == [str(part)]
                checked += 1
    assert checked == len(tagged(root, "box")) + len(tagged(root, "bar"))


@pytest.mark.parametrize("model,streams", CASES)
def test_no_text_overlaps_or_leaves_the_canvas(model, streams):
    fig = netviz.render(model, style="org", streams=streams, title=f"{model} in the org style")
    scene = fig.scene
    texts = scene.texts()
    assert len(texts) > 10
    for t in texts:
        x0, y0, x1, y1 = t.box
        assert 0 <= x0 and x1 <= scene.width and 0 <= y0 and y1 <= scene.height, t
    for a, b in itertools.combinations(texts, 2):
        assert not boxes_overlap(a.box, b.box), (a, b)


def _segment_meets_box(a, b, box) -> bool:
    """Whether the segment a-b passes through the rectangle (x0, y0, x1, y1)."""
    (ax, ay), (bx, by) = a, b
    lo, hi = 0.0, 1.0
    for d, p0, m0, m1 in ((bx - ax, ax, box[0], box[2]), (by - ay, ay, box[1], box[3])):
        if d == 0:
            if not m0 <= p0 <= m1:
                return False
            continue
        t0, t1 = sorted(((m0 - p0) / d, (m1 - p0) / d))
        lo, hi = max(lo, t0), min(hi, t1)
    return lo <= hi


@pytest.mark.parametrize("model", ZOO)
def test_no_line_runs_through_a_label(model):
    """Box and window edges, dotted lines and arrows all keep at least 1 px
    clear of every text (the kernel sizes beside the windows' edges, the side
    lengths where the dotted lines converge, the notes over the arrows)."""
    fig = netviz.render(model, style="org")
    lines, texts = [], []
    for item, _ in fig.scene.walk():
        if isinstance(item, Polygon):
            lines += zip(item.points, item.points[1:] + item.points[:1])
        elif isinstance(item, Path):
            lines += zip(item.points, item.points[1:])
        elif isinstance(item, Text):
            texts.append(item)
    assert len(lines) > 50 and len(texts) > 10
    for t in texts:
        x0, y0, x1, y1 = t.box
        grown = (x0 - 1, y0 - 1, x1 + 1, y1 + 1)
        hit = [(a, b) for a, b in lines if _segment_meets_box(a, b, grown)]
        assert not hit, (t.text, t.cls, hit[:3])


def test_paper_alexnet_labels_every_kernel_window_with_both_sizes():
    fig, root = svg_root("alexnet")
    ids = Ids()
    kernels = {ids.token(l.name): l.attrs["kernel"] for l in drawn_convs(fig.shaped)}
    windows = Counter()
    for g, _ in _groups(fig.scene):
        if any(isinstance(c, Polygon) and c.cls == "window" for c in g.children):
            windows[cls_value(g.cls, "layer-")] += 1
    assert sum(windows.values()) == 12  # 2 in the input, 1 in each conv1, 2 in each conv2, 1 in each conv3 and conv4
    labels = Counter()
    for el in tagged(root, "label", "kernel"):
        tok = cls_value(el, "layer-")
        assert el.text == str(kernels[tok][0])  # square kernels: both labels say the same
        labels[tok] += 1
    assert labels == {tok: 2 * n for tok, n in windows.items()}


@pytest.mark.parametrize("model,streams", CASES)
def test_kernel_windows_sit_in_their_map_and_match_the_kernel(model, streams):
    fig = netviz.render(model, style="org", streams=streams)
    ids = Ids()
    by_tok = {ids.token(l.name): l for l in fig.shaped.network.layers}
    boxes = {}
    for item, parents in fig.scene.walk():
        if parents and "box" in (parents[-1].cls or "").split():
            boxes.setdefault(parents[-1].cls, []).append(item)
    convs = drawn_convs(fig.shaped)
    windows = 0
    for item, parents in fig.scene.walk():
        if not isinstance(item, Polygon) or item.cls != "window":
            continue
        group = parents[-1].cls.split()
        layer = by_tok[[c for c in group if c.startswith("layer-")][0][6:]]
        assert layer in convs
        windows += 1
        # inside the bounding box of some box of the layer before
        xs, ys = [p[0] for p in item.points], [p[1] for p in item.points]
        inside = False
        for polys in boxes.values():
            px = [p[0] for poly in polys for p in poly.points]
            py = [p[1] for poly in polys for p in poly.points]
            if min(px) - 0.01 <= min(xs) and max(xs) <= max(px) + 0.01 and \
                    min(py) - 0.01 <= min(ys) and max(ys) <= max(py) + 0.01:
                inside = True
        assert inside, layer.name
    # three faces per window, one window per connection into a conv
    conv_conns = [g for g, _ in _groups(fig.scene) if "conn" in g.cls.split()
                  and by_tok[[c for c in g.cls.split() if c.startswith("layer-")][0][6:]] in convs]
    assert windows == 3 * len(conv_conns) > 0
    svg = ET.fromstring(fig.svg().encode())
    for el in tagged(svg, "label", "kernel"):
        layer = by_tok[cls_value(el, "layer-")]
        assert el.text in {str(k) for k in layer.attrs["kernel"]}


def _rect(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def _windows_by_box(scene):
    """The screen rectangle of each kernel window, with the classes of its
    connection, listed under the box (group classes) it sits in."""
    boxes = {g.cls: _rect([p for face in g.children for p in face.points])
             for g, _ in _groups(scene) if "box" in g.cls.split()}
    out = {cls: [] for cls in boxes}
    for g, _ in _groups(scene):
        faces = [c for c in g.children if isinstance(c, Polygon) and c.cls == "window"]
        if not faces:
            continue
        rect = _rect([p for f in faces for p in f.points])
        cx, cy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
        (home,) = [cls for cls, (x0, y0, x1, y1) in boxes.items() if x0 <= cx <= x1 and y0 <= cy <= y1]
        out[home].append((rect, g.cls))
    return out


SPLITS = [(m, s) for m in ZOO for s in (1, 2, 3, 4)]


@functools.lru_cache(maxsize=None)
def _figure(model, streams):
    return netviz.render(model, style="org", streams=streams)


@pytest.mark.parametrize("model,streams", SPLITS)
def test_kernel_windows_in_one_box_never_overlap(model, streams):
    fig = _figure(model, streams)
    by_box = _windows_by_box(fig.scene)
    # the input feeds the first convolution in every stream: one window for each
    (inp,) = [cls for cls in by_box if " input " in f" {cls} "]
    assert len(by_box[inp]) == streams
    for cls, wins in by_box.items():
        for (a, ca), (b, cb) in itertools.combinations(wins, 2):
            assert not boxes_overlap(a, b), (cls, ca, cb)


@pytest.mark.parametrize("model,streams", SPLITS)
def test_two_distinct_projection_lines_per_window(model, streams):
    fig = _figure(model, streams)
    count = 0
    for g, _ in _groups(fig.scene):
        faces = [c for c in g.children if isinstance(c, Polygon) and c.cls == "window"]
        if not faces:
            continue
        corners = {p for f in faces for p in f.points}
        lines = [c for c in g.children if isinstance(c, Path) and c.dash]
        assert len(lines) == 2, g.cls
        (a0, a1), (b0, b1) = (ln.points for ln in lines)
        assert a1 == b1  # one landing point in the next map
        assert a0 in corners and b0 in corners and a0 != b0
        # apart where they leave the window: b0's distance from the line a0-a1
        (ax, ay), (bx, by), (tx, ty) = a0, b0, a1
        dist = abs((tx - ax) * (by - ay) - (ty - ay) * (bx - ax)) / math.hypot(tx - ax, ty - ay)
        assert dist >= 4.0, (g.cls, a0, b0, a1)
        count += 1
    assert count > 0


def test_paper_alexnet_windows_lie_on_the_front_face_one_per_stream_top_to_bottom():
    fig = netviz.render("alexnet", style="org")
    by_box = _windows_by_box(fig.scene)
    fronts = {g.cls: _rect(g.children[-1].points) for g, _ in _groups(fig.scene) if "box" in g.cls.split()}
    checked = 0
    for cls, wins in by_box.items():
        if "conv" not in cls.split() or not wins:
            continue
        x0, y0, x1, y1 = fronts[cls]
        for (a, _) in wins:
            assert x0 < a[0] and a[2] < x1 and y0 < a[1] and a[3] < y1, cls
        if len(wins) == 2:  # conv2 feeds conv3 in both streams: stream 0's window high, stream 1's low
            (top, _), (low, _) = sorted(wins, key=lambda w: cls_value(w[1], "to-"))
            assert top[1] < (y0 + y1) / 2 < low[3] and top[3] < low[3]
            checked += 1
        checked += 1
    assert checked == 2 * 4 + 2  # conv1..conv4 in two streams; conv2 twice


def _groups(scene):
    def rec(items, parents):
        for item in items:
            if hasattr(item, "children"):
                yield item, parents
                yield from rec(item.children, parents + (item,))
    yield from rec(scene.children, ())


# --- one stream, and other splits --------------------------------------------

@pytest.mark.parametrize("model", ["lenet5", "zfnet", "vgg16", "alexnet-torchvision"])
def test_one_stream_networks_draw_as_one_row(model):
    fig, root = svg_root(model)
    assert fig.shaped.network.streams == 1
    convs = drawn_convs(fig.shaped)
    boxes = tagged(root, "box", "conv")
    assert len(boxes) == len(convs)
    assert {cls_value(b, "stream-") for b in boxes} == {"0"}
    assert tagged(root, "conn", "cross") == []
    assert len(tagged(root, "bar", "dense")) == len(drawn_fcs(fig.shaped)) - 1


def test_streams_option_splits_torchvision_alexnet_into_two_rows():
    fig, root = svg_root("alexnet-torchvision", streams=2)
    shaped = fig.shaped
    for layer in drawn_convs(shaped):
        c = shaped.info[layer.name].output[0]
        tok = f"layer-{layer.name}"
        for s in (0, 1):
            assert texts_of(root, "label", "channels", tok, f"stream-{s}") == [str(c // 2)]
        # torchvision's convs have groups 1: every one reads from both streams
        assert layer.attrs["groups"] == 1
        kinds = {("cross" if "cross" in classes(el) else "own") for el in tagged(root, "conn", tok)}
        assert kinds == {"cross"}
    assert [texts_of(root, "label", "channels", f"layer-{l.name}", "stream-0")[0]
            for l in drawn_convs(shaped)] == ["32", "96", "192", "128", "128"]
    # the two rows lie one above the other
    tops = {}
    for s in (0, 1):
        ys = [float(p.split(",")[1]) for b in tagged(root, "box", "conv", f"stream-{s}")
              for poly in b.iter(SVG + "polygon") for p in poly.get("points").split()]
        tops[s] = (min(ys), max(ys))
    assert tops[0][1] < tops[1][0]


def test_uneven_split_shares_out_the_rest():
    fig, root = svg_root("lenet5", streams=4)  # c1 has 6 channels: 2, 2, 1, 1
    got = [texts_of(root, "label", "channels", "layer-c1", f"stream-{s}")[0] for s in range(4)]
    assert got == ["2", "2", "1", "1"]


def _front_heights(fig):
    """Each box's front-face height, with the rows of its map."""
    ids = Ids()
    rows = {ids.token(l.name): fig.shaped.info[l.name].output[1] for l in fig.shaped.network.layers
            if len(fig.shaped.info[l.name].output) == 3}
    out = []
    for g, _ in _groups(fig.scene):
        if "box" in g.cls.split():
            (_, y0, _, y1) = _rect(g.children[-1].points)
            out.append((y1 - y0, rows[cls_value(g.cls, "layer-")]))
    return out


def test_small_network_is_drawn_large_enough_to_read():
    lenet, alexnet = netviz.render("lenet5", style="org"), netviz.render("alexnet", style="org")
    heights = _front_heights(lenet)
    # LeNet-5 ends in a 1x1 map: even that box is a readable size at scale 1
    assert min(rows for _, rows in heights) == 1
    assert min(h for h, _ in heights) >= 20
    # on the same square-root scale as ever, only a larger unit
    units = [h / math.sqrt(rows) for h, rows in heights]
    assert max(units) == pytest.approx(min(units), rel=1e-3)
    paper = [h / math.sqrt(rows) for h, rows in _front_heights(alexnet)]
    assert units[0] > 1.5 * paper[0]
    # the text is not enlarged with it
    assert {t.size for t in lenet.scene.texts()} <= {t.size for t in alexnet.scene.texts()}
    assert lenet.scene.width > 600


def test_too_many_streams_is_refused():
    with pytest.raises(UsageError, match="c1's 6 channels; use at most 6"):
        netviz.render("lenet5", style="org", streams=7)
    with pytest.raises(UsageError, match="at most 8 streams"):
        netviz.render("alexnet", style="org", streams=9)


# --- other networks ------------------------------------------------------------

def _conv(name, out, kernel, src, stride=1, pad=0, groups=1):
    return Layer(name, "conv", {"out": out, "kernel": (kernel, kernel), "stride": (stride, stride),
                                "pad": (pad, pad), "dilation": (1, 1), "groups": groups, "bias": True}, (src,))


def test_non_square_maps_label_rows_and_columns():
    net = Network("wide", (Layer("input", "input", {"shape": (3, 40, 90)}),
                           _conv("conv1", 8, 3, "input", pad=1),
                           Layer("flat", "flatten", {}, ("conv1",)),
                           Layer("fc", "fc", {"out": 5, "bias": True}, ("flat",))))
    fig, root = svg_root(net)
    assert texts_of(root, "label", "side", "layer-conv1", "stream-0") == ["40"]
    assert texts_of(root, "label", "side-w", "layer-conv1", "stream-0") == ["90"]
    assert texts_of(root, "label", "side-w", "layer-input", "stream-all") == ["90"]


def test_vector_input_draws_bars_only():
    net = Network("mlp", (Layer("input", "input", {"shape": (784,)}),
                          Layer("fc1", "fc", {"out": 100, "bias": True}, ("input",)),
                          Layer("fc2", "fc", {"out": 10, "bias": True}, ("fc1",))), streams=2)
    fig, root = svg_root(net)
    assert tagged(root, "box") == []
    assert texts_of(root, "label", "width", "layer-input", "stream-all") == ["784"]
    assert [texts_of(root, "label", "width", "layer-fc1", f"stream-{s}")[0] for s in (0, 1)] == ["50", "50"]
    assert len(tagged(root, "bar", "output", "layer-fc2")) == 1


def test_output_with_fewer_classes_than_streams_is_one_bar():
    net = Network("tiny", (Layer("input", "input", {"shape": (4, 8, 8)}),
                           _conv("c", 8, 3, "input", pad=1, groups=4),
                           Layer("x", "custom", {"output": (8, 4, 4)}, ("c",)),
                           Layer("flat", "flatten", {}, ("x",)),
                           Layer("fc", "fc", {"out": 2, "bias": True}, ("flat",))))
    _, root = svg_root(net, streams=4)
    assert texts_of(root, "label", "width", "layer-fc", "stream-all") == ["2"]
    assert [texts_of(root, "label", "channels", "layer-x", f"stream-{s}")[0] for s in range(4)] == ["2"] * 4
    # groups 4 in 4 streams keep to their own; a custom layer is taken to read everything
    assert sorted(cls_value(el, "to-") for el in tagged(root, "conn", "own", "layer-c")) == ["0", "1", "2", "3"]
    assert tagged(root, "conn", "cross", "layer-c") == []
    assert len(tagged(root, "conn", "own", "layer-x")) == 0
    assert len(tagged(root, "conn", "cross", "layer-x")) == 16
    assert len(tagged(root, "box", "custom", "layer-x")) == 4


def test_branching_network_is_refused_with_the_way_out():
    net = Network("res", (Layer("input", "input", {"shape": (4, 8, 8)}),
                          _conv("a", 4, 3, "input", pad=1),
                          Layer("sum", "add", {}, ("a", "input"))))
    with pytest.raises(UsageError, match="branches at input; use --style bars, short, stack, blocks or graph$"):
        netviz.render(net, style="org")


def test_no_labels_draws_no_text():
    _, root = svg_root("alexnet", labels=False, title="")  # no title, no labels: no text
    assert list(root.iter(SVG + "text")) == []
    assert len(tagged(root, "box")) == 11


# --- output formats, determinism, CLI ------------------------------------------

def test_png_and_pdf_render_the_boxes():
    from PIL import Image
    import pypdfium2 as pdfium
    fig = netviz.render("alexnet", style="org", scale=2)
    img = Image.open(io.BytesIO(fig.png())).convert("L")
    assert img.size == (round(fig.scene.width * 2), round(fig.scene.height * 2))
    # the left edge of every box's front face is drawn dark
    for item, parents in fig.scene.walk():
        if isinstance(item, Polygon) and parents and "box" in (parents[-1].cls or "").split():
            front = parents[-1].children[-1]
            (x0, y0), _, _, (_, y1) = front.points
            x, y = round(x0 * 2), round((y0 + y1))
            darkest = min(img.getpixel((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1))
            assert darkest < 110, parents[-1].cls
    # and between the rows, under the input, the page is white
    assert img.getpixel((img.size[0] - 3, 3)) == 255
    data = fig.pdf()
    assert data.startswith(b"%PDF")
    page = pdfium.PdfDocument(data)[0]
    assert page.get_size() == pytest.approx((fig.scene.width * 1.5, fig.scene.height * 1.5), abs=1)


def test_cli_writes_the_svg_and_is_byte_identical_across_runs(cli, tmp_path):
    outs = []
    for name in ("a.svg", "b.svg"):
        r = cli("render", "alexnet", "--style", "org", "-o", tmp_path / name)
        assert r.returncode == 0, r.stderr
        assert "org" in r.stderr
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    root = ET.fromstring(outs[0])
    assert len(tagged(root, "box", "conv")) == 10
    assert netviz.render("alexnet", style="org").svg().encode() == outs[0]


def test_cli_streams_option_and_bad_streams(cli, tmp_path):
    r = cli("render", "alexnet-torchvision", "--style", "org", "--streams", "2", "-o", tmp_path / "t.svg")
    assert r.returncode == 0, r.stderr
    root = ET.fromstring((tmp_path / "t.svg").read_bytes())
    assert len(tagged(root, "box", "conv", "stream-1")) == 5
    r = cli("render", "lenet5", "--style", "org", "--streams", "7", "-o", tmp_path / "bad.svg")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "use at most 6" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad.svg").exists()
    assert [p for p in os.listdir(tmp_path) if p != "t.svg"] == []


def test_svg_path_imports_neither_torch_nor_matplotlib():
    code = ("import sys, netviz; netviz.render('alexnet', style='org').svg(); "
            "bad = [m for m in ('torch', 'matplotlib') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_box_classes_name_kind_layer_and_stream():
    _, root = svg_root("alexnet")
    pattern = re.compile(r"^box (input|conv|custom) layer-[A-Za-z][\w-]* stream-(\d+|all)$")
    groups = [el for el in root.iter(SVG + "g") if "box" in classes(el)]
    assert groups and all(pattern.match(el.get("class")) for el in groups)
    assert any(el.get("class") == "box conv layer-conv2 stream-1" for el in groups)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))


def test_legend_is_refused_alike_by_the_api_and_the_command_line(cli, tmp_path):
    with pytest.raises(UsageError, match="has no legend"):
        netviz.render("alexnet", style="org", legend=True)
    r = cli("render", "alexnet", "--style", "org", "--legend", "-o", tmp_path / "x.svg")
    assert r.returncode == 2 and "has no legend" in r.stderr and not (tmp_path / "x.svg").exists()
