"""The legend figure: every cell kind once, with its name, grouped; and the
legends under the figures: swatches of one size, a readable group mark."""
import math
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz.styles.common import LEGEND_NAMES, THEMES

SVG = "{http://www.w3.org/2000/svg}"


def items(root):
    return [g for g in root.iter(f"{SVG}g") if "legend-item" in (g.get("class") or "").split()]


@pytest.mark.parametrize("theme", list(THEMES))
def test_every_kind_once_with_its_name_and_colours(theme):
    fig = netviz.legend(theme=theme)
    root = ET.fromstring(fig.svg())
    kinds = [g.get("class").split()[1] for g in items(root)]
    assert sorted(kinds) == sorted(LEGEND_NAMES)
    for g in items(root):
        kind = g.get("class").split()[1]
        assert [t.text for t in g.iter(f"{SVG}text") if t.get("class") == "legend-text"] == [LEGEND_NAMES[kind]]
    fills = {c.get("fill") for c in root.iter() if c.tag in (f"{SVG}circle", f"{SVG}ellipse")}
    assert {THEMES[theme]["conv"], THEMES[theme]["maxpool"], THEMES[theme]["fc"]} <= fills
    # nothing overlaps, nothing leaves the canvas
    texts = fig.scene.texts()
    for i, a in enumerate(texts):
        x0, y0, x1, y1 = a.box
        assert 0 <= x0 and x1 <= fig.scene.width and 0 <= y0 and y1 <= fig.scene.height, a.text
        for b in texts[i + 1:]:
            assert a.box[2] <= b.box[0] or b.box[2] <= a.box[0] or a.box[3] <= b.box[1] or b.box[3] <= a.box[1]


def test_columns_change_the_shape():
    wide, tall = netviz.legend(columns=4).scene, netviz.legend(columns=1).scene
    assert tall.height > 2 * wide.height and wide.width > 2 * tall.width


def test_cli_writes_the_legend_and_refuses_bad_input(cli, tmp_path):
    r = cli("legend", "-o", tmp_path / "key.png", "--scale", "2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "key.png").read_bytes().startswith(b"\x89PNG") and "wrote" in r.stderr
    for args, message in [(("--theme", "nope"), "unknown theme 'nope'"),
                          (("-o", tmp_path / "no" / "k.svg"), "does not exist"),
                          (("-o", tmp_path / "k.gif"), "gif")]:
        r = cli("legend", *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1


# --- the legends drawn under the figures --------------------------------------

PT = 25.4 / 72  # mm per point


def classes(el) -> list[str]:
    return (el.get("class") or "").split()


def entries(root) -> list:
    """The legend's entries: the cell styles' legend items, the blocks style's entries."""
    return [g for g in root.iter(f"{SVG}g") if {"legend-item", "legend-entry"} & set(classes(g))]


def ink_inside(text, cx: float, cy: float, r: float) -> bool:
    """Whether a centred capital's ink (its advance wide, 0.73 em high above
    the baseline: DejaVu Sans' capital height) lies within the circle."""
    from netviz.scene import text_width
    size, x, y = float(text.get("font-size")), float(text.get("x")), float(text.get("y"))
    half = text_width(text.text, size) / 2
    return all(math.hypot(px - cx, py - cy) <= r for px in (x - half, x + half) for py in (y - 0.73 * size, y))


def group_entry(root):
    (entry,) = [g for g in entries(root) if "conv_group" in classes(g)]
    (mark,) = [t for t in entry.iter(f"{SVG}text") if classes(t) == ["mark"]]
    (words,) = [t for t in entry.iter(f"{SVG}text") if classes(t) == ["legend-text"]]
    inner = min((c for c in entry.iter(f"{SVG}circle")), key=lambda c: float(c.get("r")))
    return mark, words, inner


@pytest.mark.parametrize("fit", [None, "column", "page"])
def test_group_mark_reads_in_a_figure_legend(fit):
    """AlexNet's group convolutions: the legend's 'G' is as large as the
    words beside it, inside its cell's inner disc, and printed at 6 pt or
    more where the figure is fitted to a page."""
    fig = netviz.render("alexnet", style="bars", legend=True, fit=fit)
    root = ET.fromstring(fig.svg())
    mark, words, inner = group_entry(root)
    size = float(mark.get("font-size"))
    assert mark.text == "G" and size >= float(words.get("font-size"))
    assert ink_inside(mark, float(inner.get("cx")), float(inner.get("cy")), float(inner.get("r")))
    if fit is not None:
        mm, px = float(root.get("width").removesuffix("mm")), float(root.get("viewBox").split()[2])
        assert size * mm / px / PT >= 6.0, f"the legend's G prints at {size * mm / px / PT:.1f} pt"
        assert not fig.notes, fig.notes


def test_group_mark_inside_its_cell_in_the_legend_figure():
    mark, _, inner = group_entry(ET.fromstring(netviz.legend().svg()))
    assert ink_inside(mark, float(inner.get("cx")), float(inner.get("cy")), float(inner.get("r")))


def swatch(entry) -> tuple[str, tuple]:
    """What an entry's swatch measures: ("box", (w, h)) for a box (the stack
    style's rect, the front face of a blocks box), ("disc", (d, d)) for a
    cell or marker (its widest reach)."""
    for el in entry:
        if el.tag == f"{SVG}rect" and "legend-swatch" in classes(el):
            return "box", (float(el.get("width")), float(el.get("height")))
        if el.tag == f"{SVG}polygon" and {"swatch", "front"} <= set(classes(el)):
            pts = [tuple(map(float, p.split(","))) for p in el.get("points").split()]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            return "box", (round(max(xs) - min(xs), 2), round(max(ys) - min(ys), 2))
    reach = max(float(el.get(a)) for el in entry for a in ("r", "rx", "ry")
                if el.tag in (f"{SVG}circle", f"{SVG}ellipse") and el.get(a) is not None)
    return "disc", (round(2 * reach, 2), round(2 * reach, 2))


FIGURES = [("alexnet", "bars"), ("resnet18", "bars"), ("googlenet", "short"), ("resnet18", "stack"),
           ("googlenet", "stack"), ("resnet18", "blocks"), ("googlenet", "blocks"), ("lenet5", "blocks"),
           (("vgg11", "vgg16"), "bars")]


@pytest.mark.parametrize("model,style", FIGURES + [("googlenet", "graph"), ("legend", None)])
def test_every_swatch_one_size(model, style):
    """Every entry of a legend has a swatch of one size: boxes equal, and
    discs (cells, merge dots, markers) as wide as a box is high."""
    if style == "graph":
        pytest.importorskip("graphviz")
        from netviz.layout.dot import find_dot
        find_dot()
    fig = netviz.legend() if model == "legend" else netviz.render(list(model) if isinstance(model, tuple)
                                                                 else model, style=style, legend=True)
    found = [swatch(e) for e in entries(ET.fromstring(fig.svg()))]
    assert len(found) >= 5
    boxes = {size for shape, size in found if shape == "box"}
    discs = {size for shape, size in found if shape == "disc"}
    assert len(boxes) <= 1 and len(discs) <= 1, found
    if boxes and discs:
        assert next(iter(discs))[1] == next(iter(boxes))[1], found


def norm_entries(root) -> list:
    return [g for g in entries(root) if {"layernorm", "groupnorm", "rmsnorm"} & set(classes(g))]


@pytest.mark.parametrize("model", ["examples/transformer.yaml", "torchvision:vit_b_16", "legend"])
def test_norm_letters_read_in_a_legend(model):
    """The letters of the normalisation cells (LN, GN, RMS) are written in a
    legend as large as its words, beside the swatch and before the words,
    overlapping neither; and a transformer's figure fitted to a column with
    its legend prints its text at 6 pt or more, the legend's letters too."""
    if model.startswith("torchvision:"):
        pytest.importorskip("torchvision")
    from netviz.scene import text_width
    from netviz.styles.common import NORM_MARKS
    fit = None if model == "legend" else "column"
    fig = netviz.legend() if model == "legend" else netviz.render(model, style="bars", legend=True, fit=fit)
    root = ET.fromstring(fig.svg())
    found = norm_entries(root)
    assert found
    for entry in found:
        kind = next(k for k in NORM_MARKS if k in classes(entry))
        (mark,) = [t for t in entry.iter(f"{SVG}text") if classes(t) == ["mark"]]
        (words,) = [t for t in entry.iter(f"{SVG}text") if classes(t) == ["legend-text"]]
        assert mark.text == NORM_MARKS[kind]
        size = float(mark.get("font-size"))
        assert size >= float(words.get("font-size"))
        reach = max(float(c.get("cx")) + float(c.get("r")) for c in entry.iter(f"{SVG}circle"))
        x = float(mark.get("x"))
        assert reach < x and x + text_width(mark.text, size, "bold") < float(words.get("x")), kind
        if fit is not None:
            mm, px = float(root.get("width").removesuffix("mm")), float(root.get("viewBox").split()[2])
            assert size * mm / px / PT >= 6.0, f"the legend's {mark.text} prints at {size * mm / px / PT:.1f} pt"
    if fit is not None:
        assert not fig.notes, fig.notes
