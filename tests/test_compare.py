"""Several models in one figure, one row each, aligned on their map sizes."""
import itertools
import xml.etree.ElementTree as ET

import pytest

import netviz

SVG = "{http://www.w3.org/2000/svg}"
VGGS = ["vgg11", "vgg13", "vgg16", "vgg19"]


def parse(svg):
    return ET.fromstring(svg)


def cells(root):
    return [g for g in root.iter(f"{SVG}g") if "cell" in (g.get("class") or "").split()]


def cell_x(group):
    c = next(e for e in group.iter() if e.tag in (f"{SVG}circle", f"{SVG}ellipse"))
    return float(c.get("cx")), float(c.get("cy"))


def test_vgg_rows_align_on_map_sizes():
    root = parse(netviz.render(VGGS, style="bars").svg())
    names = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "model-name"]
    assert names == ["VGG-11", "VGG-13", "VGG-16", "VGG-19"]  # as the models name themselves
    by_layer = {}  # (model row, layer) -> x
    rows = sorted({cell_x(g)[1] for g in cells(root)})
    assert len(rows) == 4
    for g in cells(root):
        x, y = cell_x(g)
        by_layer[(rows.index(y), g.get("class").split()[2][len("layer-"):])] = x
    for k, model in enumerate(VGGS):  # each row has every layer of its model that has a cell
        net = netviz.load(model)
        drawn = [l.name for l in net.layers if l.type not in ("relu", "dropout", "flatten")]
        assert sorted(n for (r, n) in by_layer if r == k) == sorted(drawn)
    # the pools (first layer on each smaller map) and the first conv of each stage stand under one another
    for name in ["pool1", "pool2", "pool3", "pool4", "pool5", "conv3_1", "conv5_1", "fc6", "fc8"]:
        xs = {round(by_layer[(k, name)], 3) for k in range(4)}
        assert len(xs) == 1, (name, xs)
    # and each row goes left to right in the order of its spec
    for k, model in enumerate(VGGS):
        net = netviz.load(model)
        order = [by_layer[(k, l.name)] for l in net.layers if (k, l.name) in by_layer]
        assert order == sorted(order)


def test_bars_are_drawn_once_under_the_last_row():
    root = parse(netviz.render(["vgg11", "vgg19"], style="bars").svg())
    bars = [g for g in root.iter(f"{SVG}g") if "bar" in (g.get("class") or "").split()]
    shaped = netviz.shaped("vgg19")
    barred = [l for l in shaped.layers if l.type in ("input", "conv", "maxpool", "adaptive_avgpool", "fc")]
    assert len(bars) == len(barred)
    assert all(g.get("class").split()[1] in {f"layer-{l.name}" for l in barred} for g in bars)


def test_rows_of_different_networks_keep_their_texts_apart():
    fig = netviz.render(["lenet5", "alexnet", "vgg16"], style="bars", legend=True, title="Three networks")
    texts = fig.scene.texts()
    for a, b in itertools.combinations(texts, 2):
        ax0, ay0, ax1, ay1 = a.box
        bx0, by0, bx1, by1 = b.box
        assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a.text, b.text)
    root = parse(fig.svg())
    discs = [cell_x(g) for g in cells(root)]
    assert len(discs) == len(set(discs))


def test_short_style_compares_too_and_one_model_is_the_plain_figure():
    root = parse(netviz.render(["alexnet", "zfnet"], style="short").svg())
    assert len({cell_x(g)[1] for g in cells(root)}) == 2
    assert netviz.render(["alexnet"]).svg() == netviz.render("alexnet").svg()


@pytest.mark.parametrize("models, style, message", [
    (["vgg11", "resnet18"], "bars", "resnet18 branches at"),
    (["vgg11", "vgg13"], "org", "draws one model at a time"),
    ([], "bars", "no model to draw"),
])
def test_what_cannot_be_compared_is_refused(models, style, message):
    with pytest.raises(netviz.NetvizError, match=message):
        netviz.render(models, style=style)


def test_cli_draws_several_models(cli, tmp_path):
    r = cli("render", "vgg11", "vgg13", "--style", "short", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "vgg11-vgg13-short.svg"
    assert out.exists() and "wrote vgg11-vgg13-short.svg" in r.stderr
    assert [t.text for t in parse(out.read_text()).iter(f"{SVG}text")
            if t.get("class") == "model-name"] == ["VGG-11", "VGG-13"]
    r = cli("render", "vgg11", "resnet18", "-o", tmp_path / "x.svg")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.svg").exists()


def test_rows_that_meet_sizes_in_different_orders_keep_their_own_order():
    from netviz.readers import parse_spec
    down_up = parse_spec("name: ae\ninput: 1x28x28\nlayers:\n  - conv: {name: e1, out: 4, kernel: 3, pad: 1}\n"
                         "  - maxpool: 2\n  - conv: {name: e2, out: 4, kernel: 3, pad: 1}\n"
                         "  - upsample: {name: u, scale: 2}\n  - conv: {name: d1, out: 1, kernel: 3, pad: 1}\n")
    up = parse_spec("name: up\ninput: 1x14x14\nlayers:\n  - conv: {name: c1, out: 4, kernel: 3, pad: 1}\n"
                    "  - upsample: {name: v, scale: 2}\n  - conv: {name: c2, out: 1, kernel: 3, pad: 1}\n")
    root = parse(netviz.render([down_up, up], style="short").svg())
    rows = {}
    for g in cells(root):
        x, y = cell_x(g)
        rows.setdefault(y, []).append((g.get("class").split()[2], x))
    for net, (y, drawn) in zip((down_up, up), sorted(rows.items())):
        order = [f"layer-{l.name}" for l in net.layers if l.type not in ("relu",)]
        assert [n for n, _ in sorted(drawn, key=lambda p: p[1])] == [n for n in order if n in dict(drawn)]


def test_a_row_without_a_title_is_named_by_its_name():
    from netviz.styles.compare import row_name
    spec = "name: small\ninput: 3x32x32\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - fc: 10\n"
    shaped = netviz.shaped(netviz.readers.parse_spec(spec))
    assert row_name(shaped, "small") == "small"
    assert row_name(netviz.shaped("vgg16"), "vgg16") == "VGG-16"


# --- stages: bracketed, labelled once ------------------------------------------

def stage_groups(root) -> list:
    return [g for g in root.iter(f"{SVG}g") if "stage" in (g.get("class") or "").split()]


def stage_name(group) -> str:
    (t,) = [t for t in group.iter(f"{SVG}text") if t.get("class") == "stage-name"]
    return t.text


def bracket(group) -> tuple[float, float, float]:
    """A stage bracket's left and right ends and its lowest point."""
    (p,) = [p for p in group.iter(f"{SVG}path") if p.get("class") == "stage-bracket"]
    pts = [tuple(map(float, q.split(","))) for q in p.get("d")[1:].split(" L")]
    return min(x for x, _ in pts), max(x for x, _ in pts), max(y for _, y in pts)


@pytest.mark.parametrize("models", [VGGS, ["vgg13", "vgg11"], ["vgg19", "vgg11"]])
def test_stage_labels_are_written_once_under_the_last_row(models):
    """The stage labels (kernel, padding, stage N) of rows that share them are
    written once, under the last row, each over that row's cells of the stage
    (a one-cell stage included): ../reference/vgg.png."""
    root = parse(netviz.render(models, style="bars").svg())
    groups = stage_groups(root)
    assert sorted(stage_name(g) for g in groups) == [f"stage {n}" for n in range(1, 6)]
    last = netviz.load(models[-1])
    rows = sorted({cell_x(g)[1] for g in cells(root)})
    at = {g.get("class").split()[2][len("layer-"):]: cell_x(g)[0] for g in cells(root) if cell_x(g)[1] == rows[-1]}
    convs = [l.name for l in last.layers if l.type == "conv"]
    for g in groups:
        x0, x1, y = bracket(g)
        assert y > rows[-1]  # under the last row
        under = [n for n in convs if x0 - 1 <= at[n] <= x1 + 1]
        first = g.get("class").split()[-1][len("layer-"):]
        assert first in under and all(n.split("_")[0] == first.split("_")[0] for n in under), (first, under)
        assert x1 - x0 >= 20  # a bracket, even over one cell


def test_a_one_conv_stage_is_bracketed_like_the_others():
    """VGG-11 on its own: its first two stages (one convolution each) are
    stages 1 and 2, bracketed as stages 3 to 5 are; AlexNet and LeNet-5,
    whose lone convolutions form no stage of several cells, draw none."""
    root = parse(netviz.render("vgg11", style="bars").svg())
    groups = stage_groups(root)
    assert [stage_name(g) for g in groups] == [f"stage {n}" for n in range(1, 6)]
    assert [g.get("class").split()[-1] for g in groups] == [
        "layer-conv1_1", "layer-conv2_1", "layer-conv3_1", "layer-conv4_1", "layer-conv5_1"]
    for g in groups[:2]:
        x0, x1, _ = bracket(g)
        assert x1 - x0 >= 20
    for model in ("alexnet", "lenet5"):
        assert not stage_groups(parse(netviz.render(model, style="bars").svg()))
