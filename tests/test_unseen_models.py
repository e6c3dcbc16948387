"""torchvision models no other test was written for, drawn as a new user
would draw them: what they show, and how they fit a printed column."""
from __future__ import annotations

import pytest

import netviz
from netviz.scene import Circle, Group, Rect, Text

pytest.importorskip("torchvision")

PT_MM = 25.4 / 72


def _flat(items):
    for item in items:
        if isinstance(item, Group):
            yield from _flat(item.children)
        else:
            yield item


def _smallest_pt(scene) -> float:
    return min(t.size for t in scene.texts()) * scene.print_width / scene.width / PT_MM


@pytest.mark.parametrize("style,least", [("bars", 6.0), ("short", 5.0)])
def test_a_segmentation_head_wider_than_a_column_wraps_inside_its_module(style, least):
    """LR-ASPP's head reads the backbone at 1/8 and at 1/16 of the image: one
    module spans most of the network, a skip under the backbone's blocks. At
    85 mm the row is cut inside that module, between the blocks on its line,
    so the text prints at 6 pt (short: 5 pt, where one block with its table
    is wider than the column; uncut, 1.1 pt); the blocks inside it stay whole."""
    model = "torchvision:lraspp_mobilenet_v3_large"
    plain = netviz.render(model, style=style, device="meta")
    fig = netviz.render(model, style=style, fit="column", device="meta")
    assert _smallest_pt(fig.scene) >= least - 1e-6
    assert bool(fig.notes) == (least < 6.0), fig.notes
    assert fig.scene.meta["rows"] >= 3
    items = list(_flat(fig.scene.children))
    before = list(_flat(plain.scene.children))
    # every cell, label and repeat mark once, none cut in two
    assert sorted(c.r for c in items if isinstance(c, Circle)) == \
        sorted(c.r for c in before if isinstance(c, Circle))
    assert sorted(t.text for t in items if isinstance(t, Text) and t.cls != "title") == \
        sorted(t.text for t in before if isinstance(t, Text) and t.cls != "title")
    # the frames of the repeated blocks inside the head's module are not cut
    assert sum(isinstance(r, Rect) and r.cls == "run-frame" for r in items) == \
        sum(isinstance(r, Rect) and r.cls == "run-frame" for r in before)


# --- stochastic depth: EfficientNet, ConvNeXt, Swin, MaxViT -------------------

@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s", "convnext_tiny", "swin_t"])
def test_stochastic_depth_is_traced_as_dropout_of_samples_not_custom(name):
    """torchvision.ops.StochasticDepth is a standard layer: traced as dropout
    of whole samples with its own probability, never a custom layer."""
    import torchvision
    from torchvision.ops import StochasticDepth

    from netviz.models import shaped
    import torch
    with torch.device("meta"):
        model = getattr(torchvision.models, name)().eval()
    want = {}  # those the forward pass runs (a block without a shortcut has one it never calls)
    for n, m in model.named_modules():
        if isinstance(m, StochasticDepth):
            m.register_forward_hook(lambda mod, i, o, n=n: want.setdefault(n, mod.p))
    model(torch.empty(1, 3, 224, 224, device="meta"))
    assert want
    s = shaped(f"torchvision:{name}", device="meta")
    got = {l.name: l for l in s.layers if l.name in want}
    assert set(got) == set(want)
    for n, layer in got.items():
        assert layer.type == "dropout" and layer.attrs["drops"] == "samples"
        assert layer.attrs["p"] == pytest.approx(want[n])
    assert not [l for l in s.layers if l.type == "custom" and l.attrs["kind"] == "StochasticDepth"]


@pytest.mark.parametrize("drops,mode", [("samples", "row"), ("batch", "batch")])
def test_built_stochastic_depth_drops_what_torchvision_drops(drops, mode):
    """A spec's dropout of samples (or of the batch) builds into a module that
    drops, keeps and scales as torchvision's StochasticDepth, draw for draw, and
    traces back to the same layer."""
    import torch
    from torchvision.ops import StochasticDepth

    from netviz.build import build
    from netviz.readers import parse_spec
    from netviz.trace import trace_module
    net = parse_spec(f"input: 4x3x3\nlayers:\n  - dropout: {{name: sd, p: 0.4, drops: {drops}}}\n")
    built = build(net)
    ours, theirs = built.sd, StochasticDepth(0.4, mode)
    x = torch.randn(64, 4, 3, 3)
    for seed in range(3):
        torch.manual_seed(seed)
        got = ours.train()(x)
        torch.manual_seed(seed)
        assert torch.equal(got, theirs.train()(x))
    kept = (got != 0).flatten(1).any(1)
    assert 0 < int(kept.sum()) < 64 if drops == "samples" else True
    assert torch.equal(ours.eval()(x), x)
    traced = trace_module(built.eval(), (4, 3, 3))
    layer = next(l for l in traced.layers if l.type == "dropout")
    assert dict(layer.attrs) == {"p": 0.4, "drops": drops}


def test_dropout_refuses_an_unknown_drops_in_one_line():
    from netviz.errors import NetvizError
    from netviz.readers import parse_spec
    from netviz.shapes import infer
    net = parse_spec("input: 8\nlayers:\n  - dropout: {p: 0.1, drops: rows}\n", file="net.yaml")
    with pytest.raises(NetvizError, match=r"net.yaml:3:\d+: .*unknown dropout drops 'rows': "
                                          r"use elements, samples, batch"):
        infer(net)


# --- repeats longer than a transformer block's two modules --------------------

def test_maxvit_layers_that_repeat_are_drawn_once_with_their_count():
    """A MaxViT layer is eleven items in the row (the MBConv block, window
    attention and its MLP, grid attention and its MLP, the partitions
    between): the identical layers of a stage after its first are one run,
    drawn once and marked with their count, as a transformer's blocks are.
    The partitions move data and compute nothing: no cells of their own (so
    a layer's window and grid attention, alike, fold too)."""
    import torch
    import torchvision
    with torch.device("meta"):
        model = torchvision.models.maxvit_t()
    depths = [len(stage.layers) for stage in model.blocks]
    moves = {type(m).__name__ for m in model.modules()} & {"WindowPartition", "WindowDepartition", "SwapAxes"}
    assert len(moves) == 3
    fig = netviz.render("torchvision:maxvit_t", style="bars", device="meta")
    marks = [t.text for t in fig.scene.texts() if t.cls == "repeat"]
    assert sorted(m for m in marks if m != "x2") == sorted(f"x{d - 1}" for d in depths if d > 2)
    texts = {t.text for t in fig.scene.texts()}
    assert not texts & moves
    # a stage's first layer and the run are drawn, each layer's two attentions at most
    drawn = sum(min(d, 2) for d in depths)
    softmax = [t for t in fig.scene.texts() if t.text == "softmax"]
    assert drawn <= len(softmax) < 2 * drawn


def test_fold_table_rows_of_hyphenated_block_names_read_as_ranges():
    """RegNet names its blocks block2-0, block2-1, ...: a folded stage's table
    names its rows by the number that tells the copies apart, and a range of
    copies as first-last ("1-2", not "2-1-2-2")."""
    import re

    import torchvision
    depths = [len(stage) for stage in torchvision.models.regnet_y_400mf().trunk_output]
    fig = netviz.render("torchvision:regnet_y_400mf", style="bars", device="meta")
    tables = []

    def walk(items):
        for item in items:
            if isinstance(item, Group):
                if item.cls == "fold-table":
                    tables.append([t.text for t in _flat(item.children)
                                   if isinstance(t, Text) and t.cls == "table-copy"])
                else:
                    walk(item.children)
    walk(fig.scene.children)
    assert len(tables) == sum(d > 1 for d in depths)
    for rows, depth in zip(tables, [d for d in depths if d > 1]):
        covered = []
        for row in rows:
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", row)
            assert m, rows
            first, last = int(m.group(1)), int(m.group(2) or m.group(1))
            covered += range(first, last + 1)
        assert covered == list(range(depth)), rows


# --- video: 5-D tensors ---------------------------------------------------------

def test_a_video_networks_bars_stand_for_the_height_of_its_frames():
    """r3d_18's maps are C x T x H x W: each bar is the frames' height, on
    one scale with the class vector's (1), as a 2-D network's bars are the
    maps' side; before, every 4-D output was a bar of 1 and all bars stood
    equally tall."""
    from netviz.models import shaped
    s = shaped("torchvision:r3d_18", device="meta")
    fig = netviz.render(s, style="bars")
    bars = {}
    for g in _groups(fig.scene.children):
        if g.cls.startswith("bar layer-"):
            rect = next(r for r in g.children if isinstance(r, Rect))
            bars[g.title.split(": ")[0]] = rect.h
    assert len(bars) > 10
    height = {n: (s.info[n].output[-2] if len(s.info[n].output) > 3 else 1) for n in bars}
    tallest = max(height.values())
    assert tallest == s.info["input"].output[-2] == 112
    for n, h in bars.items():
        assert h == pytest.approx(max(1.0, bars["input"] * height[n] / tallest)), n
    assert not any(t.cls and "bar-scale" in t.cls for t in fig.scene.texts())  # one scale


def _groups(items):
    for item in items:
        if isinstance(item, Group):
            yield item
            yield from _groups(item.children)


@pytest.mark.parametrize("model", ["torchvision:regnet_y_400mf", "torchvision:lraspp_mobilenet_v3_large"])
def test_wrapped_rows_keep_their_bars_just_under_their_cells(model):
    """Wrapped for a column, each row's bars stand just under the row's own
    cells, labels, frames and tables, not under the tallest module of the
    whole figure with a gap that row does not need."""
    from netviz.scene import bounds
    fig = netviz.render(model, style="bars", fit="column", device="meta")
    scene = fig.scene
    links = [p for g in _groups(scene.children) if g.id == "wrap-links" for p in g.children]
    assert len(links) == scene.meta["rows"] - 1 >= 2
    mids = [link.points[2][1] for link in links]  # halfway between two rows
    edges = [0.0] + mids + [scene.height]
    flat = []

    def walk(items, in_bars):
        for item in items:
            if isinstance(item, Group):
                if item.id != "wrap-links":
                    walk(item.children, in_bars or item.cls == "bars")
            elif not (isinstance(item, Text) and item.cls == "title"):
                flat.append((bounds(item), in_bars))
    walk(scene.children, False)
    checked = 0
    for top, bottom in zip(edges, edges[1:]):
        here = [(b, bar) for b, bar in flat if top <= (b[1] + b[3]) / 2 <= bottom]
        bars = [b for b, bar in here if bar]
        rest = [b for b, bar in here if not bar]
        if not bars or not rest:
            continue
        gap = min(b[1] for b in bars) - max(b[3] for b in rest)
        assert 0 < gap <= scene.meta["bars"][1] + 0.5, (top, gap)  # the least gap the style asks for
        checked += 1
    assert checked >= 2


# --- x.mean((2, 3)): global average pooling without the 1x1 ---------------------

def test_mean_over_height_and_width_is_global_average_pooling():
    """MNASNet (and ShuffleNet, and many a user's model) pools with
    x.mean([2, 3]): traced as global_avgpool with keepdim: false, C features,
    not a custom "mean"; the spec builds, computes the same mean, and draws in
    every style (blocks draws the vector as a bar, not a pooled map's slab)."""
    import torch

    from netviz.build import build
    from netviz.models import shaped
    from netviz.readers import parse_spec
    s = shaped("torchvision:mnasnet0_5", device="meta")
    means = [l for l in s.layers if l.name == "mean"]
    assert len(means) == 1 and means[0].type == "global_avgpool" and means[0].attrs["keepdim"] is False
    assert s.info["mean"].output == (1280,)
    assert not [l for l in s.layers if l.type == "custom"]
    for style in ("bars", "short", "stack", "blocks", "graph"):
        netviz.render(s, style=style)
    net = parse_spec("input: 4x5x6\nlayers:\n  - global_avgpool: {name: gap, keepdim: false}\n  - fc: 3\n")
    m = build(net).eval()
    x = torch.randn(2, 4, 5, 6)
    with torch.no_grad():
        assert torch.allclose(m.gap(x), x.mean((2, 3)))
        assert m(x).shape == (2, 3)


# --- the blocks style on ConvNeXt: MLPs on channels-last maps, stochastic depth ------

def test_blocks_draws_an_mlp_on_a_map_as_boxes_and_folds_blocks_alike():
    """ConvNeXt's MLP is nn.Linear on each position of a channels-last map:
    blocks draws it as a box (C x H x W, as a 1x1 convolution), not as a bar
    of C*H*W features (capped at the longest bar, 384x56x56 as long as the
    classifier's 1000); the blocks of a stage, alike but for their stochastic
    depth's probability, fold into one frame marked with their count; and
    the figure fits a column at 6 pt."""
    import torch
    import torchvision

    from netviz.models import shaped
    from netviz.styles import blocks
    s = shaped("torchvision:convnext_tiny", device="meta")
    units, _ = blocks.plan(s)
    mlp = [u for u in units if u.kind == "fc" and len(u.shape) == 3]
    assert len(mlp) == 2 * 18 and all(u.boxed for u in mlp)
    assert not [u for u in units if u.kind == "fc" and len(u.shape) == 1 and u.boxed]
    with torch.device("meta"):
        model = torchvision.models.convnext_tiny()
    stages = [m for m in model.features if isinstance(m, torch.nn.Sequential) and
              type(m[0]).__name__ == "CNBlock"]
    fig = netviz.render(s, style="blocks")
    folded = [g for g in _groups(fig.scene.children) if g.cls == "frame folded"]
    whole = [g for g in _groups(fig.scene.children) if g.cls == "frame"]
    marks = [int(t.text[1:]) for t in fig.scene.texts() if t.cls == "repeat"]
    assert len(folded) == len(marks) >= len(stages)
    assert len(whole) + sum(marks) == sum(len(st) for st in stages)
    col = netviz.render(s, style="blocks", fit="column")
    assert not col.notes and _smallest_pt(col.scene) >= 6.0 - 1e-6


def test_blocks_frames_reach_no_lower_than_their_own_blocks():
    """Swin-T in blocks: a repeated run's frame (stage 3's blocks, x2) spans
    its own blocks and their labels, not the tallest block drawn before it
    in the row (stage 1's 56x56 maps), which left a tall empty frame."""
    from netviz.scene import bounds
    from netviz.styles import blocks_lanes as L
    fig = netviz.render("torchvision:swin_t", style="blocks", device="meta")
    frames, boxes = [], []

    def walk(items):
        for item in items:
            if isinstance(item, Group):
                if item.cls in ("frame", "frame folded"):
                    frames.append((item.cls, bounds(item)))
                elif (item.cls or "").startswith("block "):
                    boxes.append(bounds(item))
                else:
                    walk(item.children)
    walk(fig.scene.children)
    assert any(cls == "frame folded" for cls, _ in frames)
    for cls, f in frames:
        inside = [b for b in boxes if b[0] >= f[0] and b[2] <= f[2]]
        assert inside
        below = f[3] - max(b[3] for b in inside)
        assert below <= L.LABEL_ROOM + L.FRAME_PAD + L.MARK_ROOM + 0.5, (cls, below)


# --- ViT's position embedding: x + a learned parameter ----------------------------

def test_a_learned_position_embedding_is_an_add_with_its_bias_not_custom():
    """ViT adds a learned position embedding to its tokens: traced as add with
    bias: 197x768 (its parameters counted), no custom layer; drawn as the
    add dot labelled bias; a spec's add with a bias builds, computes
    x + bias, and traces back to the same layer."""
    import torch
    import torchvision

    from netviz.build import build
    from netviz.models import shaped
    from netviz.readers import parse_spec
    from netviz.trace import trace_module
    with torch.device("meta"):
        model = torchvision.models.vit_b_16()
    pos = model.encoder.pos_embedding
    s = shaped("torchvision:vit_b_16", device="meta")
    adds = [l for l in s.layers if l.type == "add" and l.attrs.get("bias") is not None]
    assert [(l.attrs["bias"], s.info[l.name].params) for l in adds] == [(tuple(pos.shape[1:]), pos.numel())]
    assert not [l for l in s.layers if l.type == "custom" and l.attrs["kind"] == "add"]
    assert s.total_params == sum(p.numel() for p in model.parameters())
    fig = netviz.render(s, style="bars")
    assert "bias" in {t.text for t in fig.scene.texts()}

    net = parse_spec("input: 5x4\nlayers:\n  - add: {name: pos, bias: 5x4}\n  - fc: 3\n")
    built = build(net).eval()
    assert sum(p.numel() for p in built.pos.parameters()) == 20
    with torch.no_grad():
        built.pos.bias.copy_(torch.randn(5, 4))
        x = torch.randn(2, 5, 4)
        assert torch.equal(built.pos(x), x + built.pos.bias)
    traced = trace_module(built, (5, 4))
    layer = next(l for l in traced.layers if l.type == "add")
    assert dict(layer.attrs) == {"bias": (5, 4)} and traced.info[layer.name].params == 20


@pytest.mark.parametrize("spec,words", [
    ("  - add: {name: a}\n", r"add with one input adds a learned addend: give its shape, e.g. bias: 5x4"),
    ("  - add: {name: a, bias: 3x4}\n", r"the learned addend 3x4 does not broadcast over 5x4"),
    ("  - fc: {name: f, out: 4}\n  - add: {name: a, inputs: [f, input], bias: 4}\n",
     r"add with two or more inputs sums them: leave 'bias' out"),
])
def test_add_refuses_a_bias_that_does_not_fit_in_one_line(spec, words):
    from netviz.errors import NetvizError
    from netviz.readers import parse_spec
    from netviz.shapes import infer
    net = parse_spec("input: 5x4\nlayers:\n" + spec, file="net.yaml")
    with pytest.raises(NetvizError, match=r"net.yaml:\d+:\d+: .*" + words):
        infer(net)


@pytest.mark.parametrize("model", ["torchvision:swin_t", "torchvision:deeplabv3_mobilenet_v3_large"])
def test_blocks_wrap_for_a_column_inside_modules_too_wide_for_it(model):
    """The blocks style says where its row may be cut (between top-level
    modules and blocks; inside a module only where it is wider than the
    column, never inside the modules nested in it), its frames (polygons)
    are cut there, and the line runs on from row to row: Swin-T and
    DeepLabv3 print at 6 pt in 85 mm (before, 2.2 and 4.9 pt)."""
    fig = netviz.render(model, style="blocks", fit="column", device="meta")
    assert not fig.notes, fig.notes
    assert _smallest_pt(fig.scene) >= 6.0 - 1e-6
    links = [p for g in _groups(fig.scene.children) if g.id == "wrap-links" for p in g.children]
    assert len(links) == fig.scene.meta["rows"] - 1 >= 2
    plain = netviz.render(model, style="blocks", device="meta")
    # every block drawn once, whole
    assert sorted(g.id for g in _groups(fig.scene.children) if (g.cls or "").startswith("block ")) == \
        sorted(g.id for g in _groups(plain.scene.children) if (g.cls or "").startswith("block "))


def test_an_upright_polygon_frame_is_cut_like_a_rectangle():
    from netviz import pagefit
    from netviz.scene import Path, Polygon
    frame = Polygon(((0, 0), (100, 0), (100, 40), (0, 40)), fill="#eee", stroke="#00f", stroke_width=1.0,
                    cls="frame-box")
    parts = pagefit.split(frame, [30.0, 70.0])
    assert sorted({k for k, _ in parts}) == [0, 1, 2]
    fills = [p for _, p in parts if isinstance(p, Rect)]
    assert [(r.x, r.w) for r in fills] == [(0, 30.0), (30.0, 40.0), (70.0, 30.0)]
    assert all(isinstance(p, (Rect, Path)) for _, p in parts)
    slanted = Polygon(((0, 0), (100, 10), (100, 40), (0, 40)), fill="#eee")
    assert pagefit.split(slanted, [30.0]) == [(1, slanted)]  # a box's face: moved whole


def test_blocks_wrapped_rows_each_hold_a_block():
    """A module cut for a column is cut between its blocks, never in its
    margin: no row holds only a sliver of a frame and the lines beside it."""
    from netviz.scene import bounds
    fig = netviz.render("torchvision:lraspp_mobilenet_v3_large", style="blocks", fit="column", device="meta")
    scene = fig.scene
    links = [p for g in _groups(scene.children) if g.id == "wrap-links" for p in g.children]
    edges = [0.0] + [link.points[2][1] for link in links] + [scene.height]
    centres = [(lambda b: (b[1] + b[3]) / 2)(bounds(g)) for g in _groups(scene.children)
               if (g.cls or "").startswith("block ")]
    assert len(edges) - 1 == scene.meta["rows"] >= 5
    for top, bottom in zip(edges, edges[1:]):
        assert any(top <= c <= bottom for c in centres), (top, bottom)
