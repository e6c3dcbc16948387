"""The bars and short styles: structure, labels, bars, goldens, raster output,
escaping, determinism and bad input."""
import io
import re
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz import zoo
from netviz.scene import boxes_overlap
from netviz.styles.common import THEMES, Ids

SVG = "{http://www.w3.org/2000/svg}"
STYLES = ["bars", "short"]


def parse(svg: str):
    return ET.fromstring(svg.encode("utf-8"))


def groups(root, cls):
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def cells(root):
    return groups(root, "cell")


def cell_kinds(root):
    return [(g.get("class").split()[1]) for g in cells(root)]


def texts(el, cls=None):
    return ["".join(t.itertext()) for t in el.iter(f"{SVG}text")
            if cls is None or cls in (t.get("class") or "").split()]


# --- structure --------------------------------------------------------------

def test_alexnet_bars_cells_follow_the_layers():
    root = parse(netviz.render("alexnet", style="bars").svg())
    assert cell_kinds(root) == ["input", "conv", "lrn", "maxpool", "conv-group", "lrn", "maxpool",
                                "conv", "conv-group", "conv-group", "maxpool", "fc", "fc", "fc", "output"]
    # every cell names its layers; relu, dropout and flatten are no cells
    names = [c.get("class").split()[2] for c in cells(root)]
    assert names == ["layer-input", "layer-conv1", "layer-norm1", "layer-pool1", "layer-conv2", "layer-norm2",
                     "layer-pool2", "layer-conv3", "layer-conv4", "layer-conv5", "layer-pool5", "layer-fc6",
                     "layer-fc7", "layer-fc8", "layer-prob"]


def test_alexnet_short_merges_conv_and_pool():
    root = parse(netviz.render("alexnet", style="short").svg())
    assert cell_kinds(root) == ["input", "conv-pool", "conv-pool", "conv", "conv", "conv-pool",
                                "fc", "fc", "fc", "output"]
    merged = [c.get("class") for c in cells(root) if "conv-pool" in c.get("class")]
    assert merged[0].endswith("layer-conv1 layer-pool1")
    inner = [texts(c, "cell-text") for c in cells(root)]
    assert inner == [[], ["11*11", "96"], ["5*5", "256"], ["3*3", "384"], ["3*3", "384"], ["3*3", "256"],
                     ["4096"], ["4096"], ["1000"], []]
    assert not groups(root, "bars"), "short has no bar chart"


def test_lenet_short_matches_reference_sequence():
    root = parse(netviz.render("lenet5", style="short").svg())
    assert cell_kinds(root) == ["input", "conv-pool", "conv-pool", "conv", "fc", "fc", "output"]
    assert [texts(c, "cell-text") for c in cells(root)][1:4] == [["5*5", "6"], ["5*5", "16"], ["5*5", "120"]]


@pytest.mark.parametrize("model", zoo.names())
def test_cell_count_matches_spec_for_every_zoo_model(model):
    net = netviz.load(model)
    hidden = {"relu", "dropout", "flatten"}

    def shares_conv_cell(layer):  # a batchnorm that only normalises a conv
        src = layer.inputs[0] if len(layer.inputs) == 1 else None
        return (layer.type == "batchnorm" and src is not None and net[src].type == "conv"
                and len(net.consumers[src]) == 1)

    expected_bars = [l.name for l in net.layers if l.type not in hidden and not shares_conv_cell(l)]
    root = parse(netviz.render(model, style="bars", expand=True).svg())
    token = Ids.token
    drawn = [c.get("class").split()[2] for c in cells(root)]
    assert sorted(drawn) == sorted(f"layer-{token(n)}" for n in expected_bars)
    folded = [l.name for l in net.layers if shares_conv_cell(l)]
    classes = " ".join(c.get("class") for c in cells(root)).split()
    assert all(f"layer-{token(n)}" in classes for n in folded)
    if all(len(l.inputs) <= 1 for l in net.layers):  # a chain: cells in the spec's order
        assert drawn == [f"layer-{token(n)}" for n in expected_bars]
    # short: every pool right after a conv (through relu/lrn) is merged into it
    root = parse(netviz.render(model, style="short", expand=True).svg())
    merged = sum(1 for c in cells(root) if "conv-pool" in c.get("class"))
    n_short = len([l for l in net.layers if l.type not in hidden | {"lrn", "batchnorm"}]) - merged
    assert len(cells(root)) == n_short


def test_alexnet_labels_under_cells():
    root = parse(netviz.render("alexnet", style="bars").svg())
    labels = [texts(g) for g in groups(root, "label-group")]
    assert labels == [["11*11,96,stride=4"], ["5*5,256", "pad=2"], ["3*3,384", "pad=1"], ["3*3,384", "pad=1"],
                      ["3*3,256", "pad=1"], ["4096"], ["4096"], ["1000"]]


def bar_rects(root):
    out = []
    for g in groups(root, "bar"):
        rect = next(g.iter(f"{SVG}rect"))
        out.append((float(rect.get("x")), float(rect.get("height")), texts(g, "bar-label")[0]))
    return out


def test_alexnet_bars_order_and_heights():
    shaped = netviz.shaped("alexnet")
    root = parse(netviz.render(shaped, style="bars").svg())
    bars = bar_rects(root)
    assert [b[2] for b in bars] == ["3*227*227", "96*55*55", "96*27*27", "256*27*27", "256*13*13",
                                    "384*13*13", "384*13*13", "256*13*13", "256*6*6", "4096", "4096", "1000"]
    xs = [b[0] for b in bars]
    assert xs == sorted(xs)
    heights = {b[2]: b[1] for b in bars}
    assert heights["96*55*55"] / heights["3*227*227"] == pytest.approx(55 / 227, rel=0.02)
    assert heights["256*6*6"] / heights["3*227*227"] == pytest.approx(6 / 227, rel=0.05)
    # each bar sits under its own cell
    cell_x = {}
    for c in cells(root):
        circle = next(c.iter(f"{SVG}circle"))
        cell_x[c.get("class").split()[2]] = float(circle.get("cx"))
    for g in groups(root, "bar"):
        layer = g.get("class").split()[1]
        rect = next(g.iter(f"{SVG}rect"))
        assert float(rect.get("x")) + float(rect.get("width")) / 2 == pytest.approx(cell_x[layer], abs=0.02)


def test_input_option_changes_the_figure():
    root = parse(netviz.render("alexnet", style="bars", input="3x224x224").svg())
    assert bar_rects(root)[0][2] == "3*224*224"
    assert bar_rects(root)[1][2] == "96*54*54"


def test_bar_metric_params():
    root = parse(netviz.render("lenet5", style="bars", bar_metric="params").svg())
    bars = bar_rects(root)
    tallest = max(bars, key=lambda b: b[1])
    assert tallest[2] == "48.12k"  # c5 has the most parameters: 120*16*25+120


# --- goldens and determinism --------------------------------------------------

@pytest.mark.parametrize("model", ["alexnet", "alexnet-torchvision", "lenet5", "vgg16"])
@pytest.mark.parametrize("style", STYLES)
def test_golden_svg(model, style, golden):
    svg = netviz.render(model, style=style).svg()
    golden(f"render/{model}-{style}.svg", svg)


def test_same_input_same_bytes(tmp_path, cli):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    for out in (a, b):
        r = cli("render", "alexnet", "--style", "short", "-o", out)
        assert r.returncode == 0, r.stderr
    assert a.read_bytes() == b.read_bytes()


# --- layout: nothing overlaps, nothing leaves the canvas -----------------------

@pytest.mark.parametrize("model", zoo.names())
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("extras", [{}, {"legend": True, "title": "A long title for the figure"}])
def test_no_text_overlaps_or_leaves_canvas(model, style, extras):
    scene = netviz.render(model, style=style, **extras).scene
    boxes = [(t.text, t.box) for t in scene.texts()]
    assert boxes
    for text, (x0, y0, x1, y1) in boxes:
        assert 0 <= x0 and x1 <= scene.width and 0 <= y0 and y1 <= scene.height, text
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            assert not boxes_overlap(a, b), f"{ta!r} overlaps {tb!r}"


def test_long_labels_widen_their_column():
    spec = """
input: 3x64x64
layers:
  - conv: {out: 8, kernel: 3, label: "a very long label that needs a lot of room"}
  - conv: {out: 8, kernel: 3}
"""
    net = netviz.readers.parse_spec(spec)
    scene = netviz.render(net, style="bars").scene
    boxes = [t.box for t in scene.texts()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not boxes_overlap(a, b)


# --- raster output ------------------------------------------------------------

def _cell_centres(fig):
    """(kind, x, y, expected colour) for each cell, from the scene."""
    out = []
    for item in fig.scene.children:
        if getattr(item, "id", None) != "cells":
            continue
        for g in item.children:
            kind = g.cls.split()[1]
            circle = g.children[0]
            inner = g.children[1] if len(g.children) > 1 and hasattr(g.children[1], "r") else circle
            # a point inside the inner disc, clear of a 'G' mark and of the softmax triangle
            out.append((kind, circle.cx - 0.5 * circle.r, circle.cy - 0.45 * circle.r, inner.fill))
    return out


def _hex(rgb):
    return "#%02X%02X%02X" % tuple(rgb[:3])


@pytest.mark.parametrize("theme", list(THEMES))
def test_png_size_and_cell_colours(theme):
    from PIL import Image
    fig = netviz.render("alexnet", style="bars", theme=theme)
    img = Image.open(io.BytesIO(fig.png())).convert("RGB")
    assert img.size == (round(fig.scene.width), round(fig.scene.height))
    centres = _cell_centres(fig)
    assert len(centres) == 15
    for kind, x, y, colour in centres:
        got = _hex(img.getpixel((int(x), int(y))))
        assert got.upper() == colour.upper(), f"{kind} cell at ({x:.0f},{y:.0f}) is {got}, want {colour}"


def test_png_scale_doubles_size():
    from PIL import Image
    fig = netviz.render("lenet5", style="short", scale=2)
    img = Image.open(io.BytesIO(fig.png()))
    assert img.size == (round(fig.scene.width * 2), round(fig.scene.height * 2))


def test_pdf_page_size_and_cell_colours():
    import pypdfium2 as pdfium
    fig = netviz.render("lenet5", style="bars")
    data = fig.pdf()
    assert data.startswith(b"%PDF")
    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    w, h = page.get_size()  # points
    assert (w, h) == pytest.approx((fig.scene.width * 0.75, fig.scene.height * 0.75), abs=1)
    img = page.render(scale=96 / 72).to_pil().convert("RGB")
    for kind, x, y, colour in _cell_centres(fig):
        got = img.getpixel((int(x), int(y)))
        want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert all(abs(a - b) <= 3 for a, b in zip(got, want)), (kind, got, colour)


# --- escaping -------------------------------------------------------------------

def test_hostile_and_unicode_labels_are_escaped():
    spec = """
input: 3x32x32
layers:
  - conv: {name: "<script>alert(1)</script>", out: 4, kernel: 3, label: "a & b < c > d \\" ' e"}
  - fc: {name: 卷积层, out: 10, label: 卷积层}
"""
    net = netviz.readers.parse_spec(spec)
    for style in STYLES:
        svg = netviz.render(net, style=style).svg()
        root = parse(svg)  # well-formed XML
        assert "<script" not in svg
        assert not list(root.iter(f"{SVG}script"))
        all_text = texts(root) + ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
        assert any("卷积层" in t for t in all_text)
        if style == "bars":
            assert "a & b < c > d \" ' e" in texts(root)
        assert any("<script>alert(1)</script>" in t for t in all_text)


# --- the API and the command line ---------------------------------------------

def test_figure_api(tmp_path):
    fig = netviz.render("lenet5", style="short")
    assert fig._repr_svg_() == fig.svg()
    assert fig.svg().startswith("<?xml")
    for ext in ("svg", "png", "pdf"):
        path = fig.save(tmp_path / f"x.{ext}")
        assert os.path.getsize(path) > 100
    root = parse(fig.svg())
    assert root.find(f"{SVG}title").text == "LeNet-5 (LeCun et al., 1998) (short)"
    assert "61,706 parameters" in root.find(f"{SVG}desc").text


def test_cli_render_formats(tmp_path, cli):
    for ext in ("svg", "png", "pdf"):
        out = tmp_path / f"a.{ext}"
        r = cli("render", "lenet5", "-o", out)
        assert r.returncode == 0, r.stderr
        head = out.read_bytes()[:8]
        assert head.startswith({"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}[ext])


def test_cli_render_stdout(cli):
    r = cli("render", "lenet5", "--style", "short", "-o", "-")
    assert r.returncode == 0
    parse(r.stdout)


def test_cli_width_sets_output_width(cli, tmp_path):
    r = cli("render", "lenet5", "-o", "-", "--width", "400")
    root = parse(r.stdout)
    assert root.get("width") == "400"


@pytest.mark.parametrize("args, message", [
    (["render", "alexnet", "--style", "shrot", "-o", "x.svg"], "unknown style 'shrot' (did you mean 'short'?)"),
    (["render", "alexnett", "-o", "x.svg"], "unknown model 'alexnett' (did you mean 'alexnet'?)"),
    (["render", "alexnet", "-o", "x.bmp"], "'.bmp' is not a supported format"),
    (["render", "alexnet", "-o", "no/such/dir/x.svg"], "folder no/such/dir does not exist"),
    (["render", "alexnet", "--theme", "dark", "-o", "x.svg"], "unknown theme 'dark'"),
])
def test_cli_bad_input_one_line(cli, tmp_path, args, message):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not (tmp_path / "x.svg").exists() and not (tmp_path / "x.bmp").exists()


def test_unwritable_output_leaves_nothing(tmp_path, cli):
    if os.geteuid() == 0:
        ro = "/sys"  # root may write to any ordinary folder, but not here
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
    before = set(os.listdir(ro))
    r = cli("render", "alexnet", "-o", os.path.join(ro, "x.svg"))
    # as root, /sys refuses new files: "permission denied", or "read-only file system" where mounted so
    assert r.returncode == 2 and ("permission denied" in r.stderr or "read-only file system" in r.stderr), \
        r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert set(os.listdir(ro)) == before


def test_error_while_drawing_leaves_no_file(tmp_path, cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: 3x8x8\nlayers:\n  - conv: {out: 4, kernel: 11}\n")
    out = tmp_path / "x.svg"
    out.write_text("old")
    r = cli("render", bad, "-o", out)
    assert r.returncode == 2 and "kernel 11x11 is larger than the padded input" in r.stderr
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "x.svg"]


def test_svg_path_imports_neither_torch_nor_matplotlib(tmp_path):
    code = ("import sys, netviz; netviz.render('alexnet', style='short').save(sys.argv[1]);"
            "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.svg")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_dollar_signs_are_text_in_every_format():
    net = netviz.readers.parse_spec('input: 3x8x8\nlayers:\n  - conv: {out: 4, kernel: 3, label: "$\\\\frac$ cost"}\n')
    fig = netviz.render(net, style="bars")
    assert "$\\frac$ cost" in texts(parse(fig.svg()))
    assert fig.png().startswith(b"\x89PNG") and fig.pdf().startswith(b"%PDF")


@pytest.mark.parametrize("model, name", [
    ("alexnet", "alexnet-short.svg"), ("specs/net.yaml", "net-short.svg"),
    ("torchvision:alexnet", "torchvision-alexnet-short.svg"), ("pkg.models:Net", "pkg.models-Net-short.svg"),
    ("dir/file.py:make", "file-make-short.svg")])
def test_default_output_names_keep_targets_apart(model, name):
    from netviz.figure import default_name
    assert default_name(model, "short") == name


def test_bare_netviz_prints_help(cli):
    r = cli()
    assert r.returncode == 0 and r.stdout.startswith("Usage: netviz") and r.stderr == ""


def test_misspelt_keyword_is_an_error_not_ignored():
    with pytest.raises(TypeError, match="lable"):
        netviz.render("alexnet", lable=False)


def test_legend_marks_group_convolutions():
    root = parse(netviz.render("alexnet", style="bars", legend=True).svg())
    (item,) = [g for g in groups(root, "legend-item") if "conv_group" in g.get("class")]
    assert "G" in texts(item)


def test_short_merges_through_batchnorm():
    net = netviz.readers.parse_spec("input: 3x32x32\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - batchnorm\n"
                                 "  - relu\n  - maxpool: 2\n  - conv: {out: 8, kernel: 3}\n  - batchnorm\n")
    root = parse(netviz.render(net, style="short").svg())
    assert cell_kinds(root) == ["input", "conv-pool", "conv"]


def test_labels_spread_evenly_and_long_ones_wrap():
    scene = netviz.render("alexnet", style="bars").scene
    xs = [g.children[0].cx for g in next(i for i in scene.children if getattr(i, "id", "") == "cells").children]
    steps = {round(b - a, 2) for a, b in zip(xs, xs[1:])}
    assert len(steps) == 1, steps  # conv1's long label reaches over its unlabelled neighbours
    net = netviz.readers.parse_spec("input: 3x8x8\nlayers:\n  - conv: {out: 4, kernel: 3, label: "
                                 "\"one, two, three, four, five, six, seven, eight, nine, ten\"}\n")
    label = [t.text for t in netviz.render(net, style="bars").scene.texts() if t.cls == "label"]
    assert len(label) > 1 and " ".join(label).replace(", ", ",") == \
        "one, two, three, four, five, six, seven, eight, nine, ten".replace(", ", ",")
    inner = [t for t in netviz.render(net, style="short").scene.texts() if t.cls == "cell-text"]
    assert inner and all(t.size >= 9 for t in inner) and inner[-1].text.endswith("…")


def test_text_no_font_can_draw_is_one_warning_line(tmp_path, cli):
    from netviz.backends.raster import FALLBACK_FONTS
    from matplotlib import font_manager
    if any(f.name in FALLBACK_FONTS[:-2] for f in font_manager.fontManager.ttflist):
        pytest.skip("a CJK font is installed here: PNG draws the label")
    spec = tmp_path / "cjk.yaml"
    spec.write_text("input: 3x8x8\nlayers:\n  - conv: {name: 卷积层, out: 4, kernel: 3, label: 卷积层}\n",
                    encoding="utf-8")
    r = cli("render", spec, "-o", tmp_path / "c.png")
    assert r.returncode == 0
    warnings = [line for line in r.stderr.splitlines() if "warning" in line.lower()]
    assert warnings == ["netviz: warning: no installed font can draw '卷积层' in PNG or PDF (SVG shows it); "
                        "install a font that has it, such as Debian's fonts-noto-cjk"]


@pytest.mark.parametrize("args, message", [
    (["shapes", "alexnet", "--input", "1x3x227x227"],
     "netviz: --input 1x3x227x227 (leave out the batch dimension): conv1: conv needs a CxHxW input"),
    (["render", "lenet5", "--input", "1x28x28", "-o", "x.svg"],
     "netviz: --input 1x28x28: c5: kernel 5x5 is larger than the padded input height 4+2*0=4"),
    (["render", "lenet5", "--style", "short", "--streams", "2", "-o", "x.svg"],
     "netviz: --streams splits the org style's figure; the short style has no streams"),
    (["render", "lenet5", "--style", "short", "--bar-metric", "params", "-o", "x.svg"],
     "netviz: --bar-metric sets what the bars style's bars show; the short style has none"),
    (["render", "lenet5", "--style", "org", "--legend", "-o", "x.svg"], "netviz: the org style draws"),
    (["render", "lenet5", "--profile", "-o", "x.svg"], "netviz: --profile applies to PyTorch models"),
    (["render", "lenet5", "--bar-metric", "time", "-o", "x.svg"],
     "netviz: --bar-metric time needs per-layer measurements: give a PyTorch model"),
    (["render", "lenet5", "-o", "."], "netviz: cannot write .: it is a folder"),
])
def test_options_that_cannot_apply_are_refused(cli, tmp_path, args, message):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith(message) and len(r.stderr.splitlines()) == 1, r.stderr
    assert not (tmp_path / "x.svg").exists()


def test_render_prints_the_engine_warnings(cli, tmp_path):
    r = cli("render", "alexnet", "--input", "3x224x224", "-o", tmp_path / "a.svg")
    assert r.returncode == 0
    assert r.stderr.splitlines()[0].startswith("warning: conv1: 11x11 kernel with stride 4 does not tile")


def test_vgg_stages_share_one_label_under_a_bracket():
    net = netviz.load("vgg16")
    stages, run = [], []
    for layer in net.layers:  # runs of convolutions between the pools, from the spec
        if layer.type == "conv":
            run.append(layer)
        elif layer.type not in ("relu", "dropout", "flatten") and run:
            stages.append(run)
            run = []
    root = parse(netviz.render(net, style="bars").svg())
    drawn = [texts(g) for g in groups(root, "stage")]
    assert drawn == [[f"3*3,{s[0].attrs['out']}", "pad=1", f"stage {k}"] for k, s in enumerate(stages, 1)]
    assert all(len(s) >= 2 for s in stages)
    # the convolutions of a stage carry no label of their own
    assert not [g for g in groups(root, "label-group") if "stage" not in g.get("class")
                and any(f"layer-{c.name}" in g.get("class").split() for s in stages for c in s)]


def test_stages_are_bracketed_only_where_every_cell_reads_the_same():
    root = parse(netviz.render("alexnet", style="bars").svg())
    assert not groups(root, "stage")  # conv3..conv5 differ: each keeps its own label
    root = parse(netviz.render("vgg16", style="bars", labels=False, title="").svg())
    assert not groups(root, "stage") and not list(root.iter(f"{SVG}text"))


def test_png_too_large_to_draw_is_refused(cli, tmp_path):
    out = tmp_path / "w.png"
    r = cli("render", "lenet5", "--width", "100000", "-o", out)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "megapixels" in r.stderr and "--width" in r.stderr and not out.exists()
    r = cli("render", "lenet5", "--width", "100000", "-o", tmp_path / "w.svg")  # SVG stays vector
    assert r.returncode == 0, r.stderr


def test_sequence_bars_stand_by_length_and_handles_stay_on_the_canvas():
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "lstm.yaml")
    shaped = netviz.shaped(path)
    root = parse(netviz.render(shaped, style="bars").svg())
    heights = {g.get("class").split()[1][len("layer-"):]: float(next(g.iter(f"{SVG}rect")).get("height"))
               for g in groups(root, "bar")}
    steps = shaped.input_shape[0]
    tall = [n for n, h in heights.items() if h == max(heights.values())]
    # the token ids and their embedding run over the steps; the last step and the classes are one deep
    assert sorted(tall) == sorted(l.name for l in shaped.layers if len(shaped[l.name].output) == 2
                                  or l.type == "input") and steps > 1
    assert all(h < max(heights.values()) / steps * 1.5 for n, h in heights.items() if n not in tall)
    handles = [p for p in root.iter(f"{SVG}path") if p.get("class") == "handle"]
    assert handles
    for p in handles:
        ys = [float(v) for v in re.findall(r"[-\d.]+", p.get("d"))[1::2]]
        assert min(ys) > 2
