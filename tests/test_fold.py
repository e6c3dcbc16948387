"""Folding by structure: modules that differ only in channels, strides or
their first shortcut drawn once, marked xN, with a table of what differs;
one bar per module. The figures are parsed and checked."""
import os
import re
import xml.etree.ElementTree as ET

import pytest
import netviz
from netviz.readers import parse_spec

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def parse(svg):
    return ET.fromstring(svg)


def marks(root):
    return [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "repeat"]


def frames(root):
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "module-frame"]


def tables(root):
    """Each table under a frame: its keys, and its rows as (copies, values)."""
    out = []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "fold-table":
            continue
        texts = list(g.iter(f"{SVG}text"))
        keys = [t.text for t in texts if t.get("class") == "table-key"]
        rows, row = [], None
        for t in texts:
            if t.get("class") == "table-copy":
                row = (t.text, [])
                rows.append(row)
            elif t.get("class") == "table-value":
                row[1].append(t.text)
        out.append((keys, rows))
    return out


def width(root):
    return float(root.get("width").rstrip("px"))


def titles(root, cls):
    return [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")
            if cls in (g.get("class") or "").split() and g.find(f"{SVG}title") is not None]


@pytest.mark.parametrize("style", ["bars", "short"])
def test_resnet50_folds_into_four_stages(style):
    root = parse(netviz.render("resnet50", style=style).svg())
    assert marks(root) == ["x3", "x4", "x6", "x3"]
    assert len(frames(root)) == 4
    assert width(root) <= 2000  # the hand-drawn figure is 1,888 px wide
    # the first block's projection: a dashed line inside the frame
    dashed = [p for p in root.iter(f"{SVG}path") if "projection" in (p.get("class") or "").split()]
    assert len(dashed) == 4 and all(p.get("stroke-dasharray") for p in dashed)


def test_resnet50_table_gives_the_first_blocks_projection_and_stride():
    root = parse(netviz.render("resnet50").svg())
    found = tables(root)
    assert len(found) == 4
    keys, rows = found[1]  # stage 2: layer2_0 strides and projects, layer2_1-3 do not
    assert keys == ["a", "shortcut"]
    assert rows == [("0", ["stride=2", "1*1,512,stride=2"]), ("1-3", ["-", "identity"])]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert "3*3,128 (a)" in labels  # the key beside the cell whose text differs
    keys, rows = found[0]  # stage 1 strides nowhere: only the shortcut differs
    assert keys == ["shortcut"] and rows == [("0", ["1*1,256"]), ("1-2", ["identity"])]


def test_resnet18_folds_two_blocks_per_stage():
    root = parse(netviz.render("resnet18").svg())
    assert marks(root) == ["x2", "x2", "x2", "x2"]


@pytest.mark.parametrize("style", ["bars", "short"])
def test_googlenet_folds_like_the_reference(style):
    root = parse(netviz.render("googlenet", style=style).svg())
    assert marks(root) == ["x2", "x5", "x2"]
    assert len(frames(root)) == 3
    assert width(root) <= 2041  # the hand-drawn figure's width
    # the pools between the frames stay
    cells = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("cell maxpool")]
    assert len(cells) >= 4


def test_googlenet_table_lists_each_inception_module():
    shaped = netviz.shaped("googlenet")
    root = parse(netviz.render(shaped).svg())
    keys, rows = tables(root)[1]
    assert [name for name, _ in rows] == ["4a", "4b", "4c", "4d", "4e"]
    assert len(keys) == 6  # the six convolutions' widths differ
    # every value is the out channels of that copy's convolution, as the spec gives it
    outs = [shaped.network[f"inception4{c}_branch1_conv"].attrs["out"] for c in "abcde"]
    assert [int(values[0]) for _, values in rows] == outs


def test_tooltips_name_every_copy():
    root = parse(netviz.render("resnet50").svg())
    cell = next(g for g in root.iter(f"{SVG}g") if "layer-layer3_0_conv1" in (g.get("class") or "").split())
    title = cell.find(f"{SVG}title").text
    assert "stands for 6 layers" in title
    assert all(f"layer3_{k}_conv1" in title for k in range(6))
    frame_titles = titles(root, "module")
    assert any("6 modules of one structure" in t and "layer3_5_conv1" in t for t in frame_titles)


def test_one_bar_per_module_output():
    shaped = netviz.shaped("googlenet")
    root = parse(netviz.render(shaped).svg())
    bar_labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "bar-label"]
    size = lambda name: "*".join(map(str, shaped.info[name].output))  # noqa: E731
    # a folded module's bar is the map it gives on: its last copy's merge
    assert size("inception3b_cat") in bar_labels
    assert size("inception4e_cat") in bar_labels
    assert size("inception3a_cat") not in bar_labels
    # no bar for a cell inside a module
    assert size("inception3a_branch2_0_conv") not in bar_labels
    bars = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("bar ")]
    merges = [g for g in bars if "_cat" in g.get("class")]
    assert len(merges) == 3


def test_fold_exact_keeps_identical_copies_only():
    root = parse(netviz.render("resnet50", fold="exact").svg())
    assert marks(root) == ["x2", "x3", "x5", "x2"]  # the projection blocks drawn apart
    assert len(frames(root)) == 8
    assert not tables(root)
    root = parse(netviz.render("googlenet", style="short", fold="exact").svg())
    assert marks(root) == [] and len(frames(root)) == 9


def test_expand_draws_every_module():
    root = parse(netviz.render("resnet50", expand=True).svg())
    assert marks(root) == [] and len(frames(root)) == 16


def test_a_plain_block_before_blocks_with_a_sum_is_their_first_copy():
    # MobileNet's stage: the first block has no sum (it changes the width), the next ones do
    block = ("  - conv: {{name: e{i}, out: 24, kernel: 1{src}}}\n"
             "  - conv: {{name: d{i}, out: 24, kernel: 3, pad: 1, groups: 24}}\n"
             "  - conv: {{name: p{i}, out: 16, kernel: 1}}\n")
    text = "input: 8x16x16\nlayers:\n" + block.format(i=0, src="")
    text += block.format(i=1, src=", inputs: p0") + "  - add: {name: s1, inputs: [p0, p1]}\n"
    text += block.format(i=2, src=", inputs: s1") + "  - add: {name: s2, inputs: [s1, p2]}\n"
    root = parse(netviz.render(parse_spec(text)).svg())
    assert marks(root) == ["x3"]
    shortcut = next(p for p in root.iter(f"{SVG}path") if "shortcut" in (p.get("class") or "").split())
    assert shortcut.get("stroke-dasharray")  # not every copy has it
    keys, rows = tables(root)[0]
    assert keys[-1] == "shortcut" and rows[0][1][-1] == "none" and rows[-1][1][-1] == "identity"


def test_dense_block_folds():
    # each layer reads the concatenation of everything before it, written flat
    text, prev = "input: 4x8x8\nlayers:\n  - conv: {name: stem, out: 8, kernel: 1}\n", ["stem"]
    for i in range(4):
        src = prev[0] if len(prev) == 1 else f"cat{i}"
        if len(prev) > 1:
            text += f"  - concat: {{name: cat{i}, inputs: [{', '.join(prev)}]}}\n"
        text += (f"  - conv: {{name: b{i}, out: 8, kernel: 1, inputs: {src}}}\n"
                 f"  - conv: {{name: d{i}, out: 4, kernel: 3, pad: 1}}\n")
        prev.append(f"d{i}")
    text += f"  - concat: {{name: out, inputs: [{', '.join(prev)}]}}\n"
    net = parse_spec(text)
    root = parse(netviz.render(net).svg())
    assert marks(root) == ["x4"]
    assert len(frames(root)) == 1
    assert not frames(parse(netviz.render(net, fold="exact", tangles="brackets").svg()))  # the bracket row


def test_fold_option_on_the_command_line(tmp_path, cli):
    out = str(tmp_path / "r.svg")
    r = cli("render", "resnet50", "--fold", "exact", "-o", out)
    assert r.returncode == 0, r.stderr
    assert marks(parse(open(out).read())) == ["x2", "x3", "x5", "x2"]
    r = cli("render", "resnet50", "--fold", "loose", "-o", out)
    assert r.returncode == 2 and "loose" in r.stderr
    os.remove(out)
    for bad in (["-s", "org", "--fold", "exact"], ["--fold", "exact", "--expand"]):
        r = cli("render", "resnet50", *bad, "-o", out)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--fold" in r.stderr
        assert "Traceback" not in r.stderr and not os.path.exists(out)


def test_folding_is_deterministic():
    assert netviz.render("googlenet").svg() == netviz.render("googlenet").svg()


@pytest.mark.parametrize("model,expected", [
    ("torchvision:densenet121", ["x6", "x12", "x24", "x16"]),
    ("torchvision:mobilenet_v2", ["x2", "x3", "x4", "x3", "x3"]),
    ("torchvision:efficientnet_b0", ["x2", "x2", "x3", "x3", "x4"]),
])
def test_traced_networks_fold_by_stage(model, expected):
    pytest.importorskip("torchvision")
    shaped = netviz.shaped(model, device="meta")
    for style in ("bars", "short"):
        root = parse(netviz.render(shaped, style=style).svg())
        assert marks(root) == expected
        assert width(root) < 3000
    assert re.search(r"x\d", netviz.render(shaped, style="bars").svg())


def test_squeeze_and_excite_is_one_small_cell():
    pytest.importorskip("torchvision")
    root = parse(netviz.render("torchvision:efficientnet_b0", device="meta").svg())
    # stage 2: the first block has no sum, so the second is the one drawn
    gates = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("cell ")
             and "layer-features_2_1_block_2_mul" in g.get("class").split()]
    assert len(gates) == 1
    title = gates[0].find(f"{SVG}title").text
    assert title.startswith("squeeze-and-excite") and "features.2.1.block.2.fc1" in title
    assert "features.2.0.block.2.mul" in title  # the copy it stands for
    r = float(gates[0].find(f"{SVG}circle").get("r"))
    assert r < 36
    # the gate's own cells are not drawn
    assert not [g for g in root.iter(f"{SVG}g") if "layer-features_2_1_block_2_fc1" in (g.get("class") or "").split()]


def test_sphinx_directive_takes_fold():
    from netviz import sphinxext
    assert sphinxext.NetvizDirective.option_spec["fold"]("exact") == "exact"
    fig = sphinxext._draw("resnet50", {"legend": False, "fold": "exact"})
    assert marks(parse(fig.svg())) == ["x2", "x3", "x5", "x2"]
    fig = sphinxext._draw("resnet50", {"legend": False})
    assert marks(parse(fig.svg())) == ["x3", "x4", "x6", "x3"]
