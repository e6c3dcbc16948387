"""--fit: a figure laid out for its printed width (netviz.pagefit)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz import pagefit, zoo
from netviz.errors import UsageError
from netviz.scene import Circle, Group, Path, Rect
from netviz.styles import STYLES

from test_text_clearance import problems

PT_MM = 25.4 / 72
SVG = "{http://www.w3.org/2000/svg}"


def _fit(model, style="bars", fit="column", **kw):
    try:
        return netviz.render(model, style=style, fit=fit, **kw)
    except UsageError as exc:  # org draws chains only
        pytest.skip(str(exc))


def smallest_pt(fig) -> float:
    scene = fig.scene
    return min(t.size for t in scene.texts()) * scene.print_width / scene.width / PT_MM


# --- the width ---------------------------------------------------------------

@pytest.mark.parametrize("value,mm", [("column", 85.0), ("page", 178.0), ("120mm", 120.0), ("Column", 85.0),
                                      ("20mm", 20.0), ("85.5 mm", 85.5), (90, 90.0)])
def test_widths_it_understands(value, mm):
    assert pagefit.parse(value) == mm


@pytest.mark.parametrize("value,words", [("wide", "give column (85 mm), page (178 mm) or a width in mm"),
                                         ("120", "a width in mm such as 120mm"),
                                         ("12cm", "a width in mm"),
                                         ("19mm", "under 20 mm"), ("0mm", "under 20 mm"), (5, "under 20 mm")])
def test_widths_it_refuses(value, words):
    with pytest.raises(UsageError, match=re.escape(words)):
        pagefit.parse(value)


@pytest.mark.parametrize("value,words", [("12mm", "under 20 mm"), ("narrow", "give column (85 mm)")])
def test_cli_refuses_a_bad_fit_in_one_line(cli, tmp_path, value, words):
    out = tmp_path / "a.svg"
    r = cli("render", "alexnet", "--fit", value, "-o", out)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


# --- the physical size ----------------------------------------------------------

def test_svg_says_its_printed_width_in_mm(tmp_path, cli):
    out = tmp_path / "a.svg"
    r = cli("render", "alexnet", "--fit", "column", "-o", out)
    assert r.returncode == 0, r.stderr
    root = ET.parse(out).getroot()
    assert root.get("width") == "85mm"
    w, h = (float(v) for v in root.get("viewBox").split()[2:])
    height = float(root.get("height").removesuffix("mm"))
    assert height == pytest.approx(85 * h / w, abs=0.01)
    fig = netviz.render("alexnet", fit="page")
    root = ET.fromstring(fig.svg())
    assert root.get("width") == "178mm"
    assert root.get("viewBox") == f"0 0 {fig.scene.width} {fig.scene.height}"


def test_without_fit_the_svg_is_in_pixels():
    root = ET.fromstring(netviz.render("alexnet").svg())
    assert not root.get("width").endswith("mm")


@pytest.mark.parametrize("fit,mm", [("column", 85.0), ("page", 178.0)])
def test_pdf_page_has_the_printed_size(fit, mm):
    pdfium = pytest.importorskip("pypdfium2")
    fig = netviz.render("vgg16", style="short", fit=fit)
    pdf = pdfium.PdfDocument(fig.pdf())
    w, h = pdf[0].get_size()  # points
    assert w == pytest.approx(mm / PT_MM, abs=0.5)
    assert h == pytest.approx(mm * fig.scene.height / fig.scene.width / PT_MM, abs=0.5)


def test_png_keeps_its_pixels_and_says_its_resolution():
    from io import BytesIO

    from PIL import Image
    fig = netviz.render("alexnet", style="short", fit="column", scale=2)
    im = Image.open(BytesIO(fig.png()))
    assert im.size == (round(fig.scene.width * 2), round(fig.scene.height * 2))
    dpi = im.info["dpi"][0]
    assert im.size[0] / dpi * 25.4 == pytest.approx(85, abs=0.5)


# --- text size ----------------------------------------------------------------

@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("model", zoo.names())
@pytest.mark.parametrize("fit", ["column", "page"])
def test_every_zoo_figure_prints_its_text_at_6pt(model, style, fit):
    fig = _fit(model, style, fit)
    assert not fig.notes
    assert smallest_pt(fig) >= 6.0 - 1e-6
    found = problems(fig.scene)  # wrapping keeps every text clear of the rest
    assert not found, "; ".join(found[:5])


def test_before_fitting_the_text_is_too_small():
    """What the wrapping is for: the plain figure prints at about 2 pt at 85 mm."""
    scene = netviz.render("alexnet").scene
    assert pagefit.printed_pt(scene, 85) < 3


def test_a_figure_that_cannot_reach_6pt_says_which_width_would():
    spec = """
input: 3x32x32
layers:
  - conv: {out: 8, kernel: 3, label: "an_unbreakable_label_far_wider_than_a_column_can_hold_at_six_points_in_print"}
  - fc: 10
"""
    net = netviz.readers.parse_spec(spec)
    fig = netviz.render(net, fit="column")
    assert len(fig.notes) == 1
    note = fig.notes[0]
    need = int(re.search(r"--fit (\d+)mm", note).group(1))
    assert need > 85 and "under 6 pt" in note
    assert smallest_pt(fig) < 6
    wider = netviz.render(net, fit=f"{need}mm")
    assert not wider.notes and smallest_pt(wider) >= 6.0 - 1e-6


def test_cli_prints_the_warning_once(cli, tmp_path):
    spec = tmp_path / "wide.yaml"
    spec.write_text("input: 3x32x32\nlayers:\n  - conv: {out: 8, kernel: 3, label: "
                    "\"an_unbreakable_label_far_wider_than_a_column_can_hold_at_six_points_in_print\"}\n")
    r = cli("render", spec, "--fit", "column", "-o", tmp_path / "w.svg")
    assert r.returncode == 0, r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning:")]
    assert len(warnings) == 1 and "--fit" in warnings[0]


# --- wrapping geometry ------------------------------------------------------------

def _cells(scene):
    """(layer class token, centre) of every cell, in drawing order."""
    out = []
    for item, parents in scene.walk():
        if isinstance(item, Circle) and parents and "cell" in (parents[-1].cls or "").split():
            if parents[-1].children[0] is item:
                out.append((parents[-1].id, (item.cx, item.cy)))
    return out


def test_a_long_row_wraps_in_reading_order():
    plain = netviz.render("alexnet").scene
    fig = netviz.render("alexnet", fit="column")
    scene = fig.scene
    assert scene.width < plain.width / 2 and scene.meta["rows"] >= 2
    cells = _cells(scene)
    assert [i for i, _ in cells] == [i for i, _ in _cells(plain)]  # every cell, none twice
    ys = sorted({round(c[1]) for _, c in cells})
    assert len(ys) == scene.meta["rows"]
    # left to right within a row, rows top to bottom
    for (_, a), (_, b) in zip(cells, cells[1:]):
        assert (a[1] < b[1]) or (a[1] == b[1] and a[0] < b[0])
    # everything inside the figure
    for t in scene.texts():
        x0, y0, x1, y1 = t.box
        assert 0 <= x0 and x1 <= scene.width and 0 <= y0 and y1 <= scene.height, t


def test_bars_wrap_with_their_cells():
    scene = netviz.render("vgg16", fit="column").scene
    cells = {i.removeprefix("cell-"): c for i, c in _cells(scene)}
    bars = [(g.id.removeprefix("bar-"), g.children[0]) for g, _ in _groups(scene) if (g.cls or "").startswith("bar ")]
    assert len(bars) > 10
    row_tops = sorted({c[1] for c in cells.values()})
    for name, rect in bars:
        cx, cy = cells[name]
        assert rect.x + rect.w / 2 == pytest.approx(cx, abs=0.01)
        below = [y for y in row_tops if y > cy]
        assert cy < rect.y and (not below or rect.y + rect.h < below[0])  # under its cell, above the next row


def _groups(scene):
    def rec(items):
        for item in items:
            if isinstance(item, Group):
                yield item, None
                yield from rec(item.children)
    return list(rec(scene.children))


def test_the_line_runs_on_from_one_row_to_the_next():
    scene = netviz.render("resnet50", style="short", fit="column").scene
    axis = scene.meta["axis"][0]
    links = [p for g, _ in _groups(scene) if g.id == "wrap-links" for p in g.children]
    assert len(links) == scene.meta["rows"] - 1
    for link in links:
        (x0, y0), (x1, y1) = link.points[0], link.points[-1]
        assert x0 > x1 and y1 > y0  # from the right end of a row to the left end of a row below
        assert link.points[1][0] > x0 and link.points[-2][0] < x1  # out past the row's ends
    assert axis  # the style said where its line runs
    # the line of the module row reaches the connectors: an axis piece ends where each begins
    axis_ends = {p.points[-1] for g, _ in _groups(scene) if g.cls == "links" for p in g.children
                 if p.cls == "axis"}
    for link in links:
        assert link.points[0] in axis_ends


def _run_spec(pairs: int = 3) -> str:
    """Residual blocks of two kinds, alternating: a run of two modules, x3."""
    lines = ["input: 16x32x32", "layers:", "  - conv: {name: stem, out: 16, kernel: 3, pad: 1}"]
    prev = "stem"
    for k in range(2 * pairs):
        kernel = 3 if k % 2 == 0 else 1
        lines += [f"  - conv: {{name: a{k}, out: 16, kernel: {kernel}, pad: {kernel // 2}, inputs: [{prev}]}}",
                  f"  - conv: {{name: b{k}, out: 16, kernel: 3, pad: 1}}",
                  f"  - add: {{name: s{k}, inputs: [{prev}, b{k}]}}"]
        prev = f"s{k}"
    return "\n".join(lines + ["  - fc: 10"]) + "\n"


def test_a_repeated_run_is_cut_between_its_modules():
    """A run of modules wider than the column is cut between two modules;
    its dashed frame stays open at the cut, and the x3 goes with its end."""
    net = netviz.readers.parse_spec(_run_spec())
    plain = netviz.render(net).scene
    assert [t.text for t in plain.texts() if t.cls == "repeat"] == ["x3"]
    scene = netviz.render(net, fit="column").scene
    assert scene.meta["rows"] == 2
    frames = [i for i, _ in scene.walk() if (getattr(i, "cls", None) or "") == "run-frame"]
    assert len(frames) == 2 and all(isinstance(f, Path) and f.points[0] != f.points[-1] for f in frames)
    left, right = sorted(frames, key=lambda f: f.points[0][1])
    assert left.points[0][0] > left.points[1][0]  # opens to the right, where the row was cut
    assert right.points[0][0] < right.points[1][0]  # opens to the left
    mark = [t for t in scene.texts() if t.cls == "repeat"][0]
    assert mark.y > right.points[0][1] and mark.y < right.points[-1][1]
    assert not problems(scene)


def test_fit_is_deterministic():
    a = netviz.render("googlenet", fit="column").svg()
    b = netviz.render("googlenet", fit="column").svg()
    assert a == b


def test_the_legend_flows_into_the_narrower_figure():
    fig = netviz.render("googlenet", fit="column", legend=True, title="GoogLeNet, fitted to one column")
    scene = fig.scene
    legend = [g for g in scene.children if isinstance(g, Group) and g.id == "legend"][0]
    for t in [t for t, _ in scene.walk() if hasattr(t, "box")]:
        assert t.box[2] <= scene.width
    assert all(isinstance(e, Group) for e in legend.children)
    assert smallest_pt(fig) >= 6 - 1e-6
    assert not problems(scene)


def test_a_narrow_figure_is_not_wrapped():
    plain = netviz.render("alexnet", style="stack").scene
    fitted = netviz.render("alexnet", style="stack", fit="column").scene
    assert (fitted.width, fitted.height, fitted.children) == (plain.width, plain.height, plain.children)
    assert fitted.print_width == 85


def test_compare_rows_wrap_together():
    fig = netviz.render(["vgg11", "vgg16"], fit="column")
    names = [t for t in fig.scene.texts() if t.cls == "model-name"]
    assert len(names) == 2 and fig.scene.meta["rows"] >= 2
    assert smallest_pt(fig) >= 6 - 1e-6
    assert not problems(fig.scene)


def _spans(root) -> list[tuple[float, float, str]]:
    """(top, bottom, class) of every drawn element of an SVG, from its
    attributes: circles, rects, lines' points, texts' font boxes (DejaVu
    Sans: 0.93 em above the baseline, 0.24 em below)."""
    defs = {id(e) for d in root.iter(f"{SVG}defs") for e in d.iter()}
    out = []
    for el in root.iter():
        if id(el) in defs:
            continue
        tag, cls = el.tag.removeprefix(SVG), el.get("class") or ""
        if tag == "circle" or tag == "ellipse":
            cy, r = float(el.get("cy")), float(el.get("r") or el.get("ry"))
            out.append((cy - r, cy + r, cls))
        elif tag == "rect":
            y = float(el.get("y", 0))
            out.append((y, y + float(el.get("height")), cls))
        elif tag == "text":
            y, size = float(el.get("y")), float(el.get("font-size"))
            out.append((y - 0.93 * size, y + 0.24 * size, cls))
        elif tag in ("path", "polygon", "polyline"):
            nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", el.get("d") or el.get("points"))]
            ys = nums[1::2]
            out.append((min(ys), max(ys), cls))
    return out


def test_wrapped_compared_rows_sit_without_gaps():
    """VGG-11 to -19 compared and fitted to a page: the bars stood on the
    baseline of the whole figure's tallest bar, so a wrapped row whose bars
    are short stood far above them. Each row of bars now stands close under
    its row's cells and labels (as in the unwrapped figure, or half the gap
    between wrapped rows), and the next row follows its bars' labels at the wrapped rows' gap."""
    models = ["vgg11", "vgg13", "vgg16", "vgg19"]

    def bar_rows(root):
        spans = _spans(root)
        bars = sorted((s for s in spans if "bar-rect" in s[2]), key=lambda s: s[1])
        rows: list[list] = []
        for bar in bars:
            if rows and abs(rows[-1][0][1] - bar[1]) < 1:
                rows[-1].append(bar)
            else:
                rows.append([bar])
        out = []
        for row in rows:
            top, base = min(b[0] for b in row), row[0][1]
            above = max(s[1] for s in spans if s[1] <= top + 0.01 and "bar" not in s[2])
            labels = max(s[1] for s in spans if "bar-label" in s[2] and base < s[0] < base + 20)
            below = min((s[0] for s in spans if s[0] > labels), default=None)
            out.append((top - above, None if below is None else below - labels))
        return out

    (natural, _), = bar_rows(ET.fromstring(netviz.render(models).svg()))
    fig = netviz.render(models, fit="page")
    rows = bar_rows(ET.fromstring(fig.svg()))
    assert fig.scene.meta["rows"] >= 3 and len(rows) == fig.scene.meta["rows"]
    for k, (over, under) in enumerate(rows):
        assert over <= max(natural, pagefit.ROW_GAP / 2), \
            f"row {k + 1}'s bars stand {over:.0f} px under its cells ({natural:.0f} unwrapped)"
        if k < len(rows) - 1:
            assert under <= pagefit.ROW_GAP + 1, f"{under:.0f} px between row {k + 1}'s bars and the next row"
