"""netviz gallery and netviz report: pages parsed and checked, the gallery
opened in headless Chromium, bad input refused with nothing written."""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz import zoo
from netviz.styles import STYLES
from netviz.reports import gallery, inline_svg, report

from pagecheck import (CHROMIUM, assert_offline, check_html, inline_svgs, open_in_chromium,
                       region_ink)

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def zoo_gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery") / "site"
    path = gallery(None, str(out))
    with open(path, encoding="utf-8") as fh:
        return path, fh.read()


def _sections(text):
    """{model section id: its HTML} from the gallery page."""
    parts = re.split(r'(<section class="model" id="[^"]+">)', text)
    out = {}
    for head, body in zip(parts[1::2], parts[2::2]):
        out[re.search(r'id="([^"]+)"', head).group(1)] = body.split("</section>")[0]
    return out


def _zoo_styles(model):
    """The styles the gallery draws a zoo model in: org draws chains only, so a
    branching network (ResNet, GoogLeNet) is left out of it."""
    net = netviz.load(model)
    branches = any(len(readers) > 1 for readers in net.consumers.values())
    return [s for s in STYLES if not (s == "org" and branches)]


def test_gallery_has_every_zoo_model_in_every_style(zoo_gallery):
    path, text = zoo_gallery
    assert os.path.basename(path) == "index.html"
    assert os.listdir(os.path.dirname(path)) == ["index.html"], "only the page, no stray files"
    check_html(text)
    assert_offline(text)
    sections = _sections(text)
    assert sorted(sections) == sorted(zoo.names())
    for name, body in sections.items():
        styles = re.findall(r'<figure class="netviz-figure"[^>]*data-style="([^"]+)"', body)
        assert styles == _zoo_styles(name), name
        if len(styles) < len(STYLES):
            assert "not drawn in the org style: the org style draws a chain of layers" in body, name
        svgs = inline_svgs(body)
        assert len(svgs) == len(styles)
        for svg in svgs:  # the legend explains every kind of cell the figure draws
            cells = {(el.get("class") or "").split()[1].replace("-", "_")
                     for el in svg.iter(f"{SVG_NS}g") if (el.get("class") or "").startswith("cell ")}
            legend = {(el.get("class") or "").split()[1] for el in svg.iter(f"{SVG_NS}g")
                      if (el.get("class") or "").startswith("legend-item ")}
            assert cells == legend, f"{name}: cells {sorted(cells)}, legend {sorted(legend)}"
        assert any("legend-item" in ET.tostring(svg, encoding="unicode") for svg in svgs)


def test_gallery_tables_match_the_shape_engine(zoo_gallery):
    _, text = zoo_gallery
    for name, body in _sections(text).items():
        shaped = netviz.shaped(name)
        table = body[body.index('<table class="shapes">'):body.index("</table>")]
        rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1].split("</tbody>")[0], re.DOTALL)
        assert len(rows) == len(shaped.layers)
        for layer, row in zip(shaped.layers, rows):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
            info = shaped.info[layer.name]
            assert cells[0] == layer.name
            assert int(cells[3].replace(",", "")) == info.params
            assert int(cells[4].replace(",", "")) == info.macs
        foot = re.findall(r"<td[^>]*>(.*?)</td>", table.split("<tfoot>")[1])
        assert int(foot[3].replace(",", "")) == shaped.total_params
        assert int(foot[4].replace(",", "")) == shaped.total_macs
        # column sums equal the totals
        assert sum(int(re.findall(r"<td[^>]*>(.*?)</td>", r)[3].replace(",", "")) for r in rows) \
            == shaped.total_params
        for w in shaped.warnings:
            assert f"warning: {w}".replace("'", "&#39;") in body or f"warning: {w}" in body


def test_inline_figures_keep_unique_ids_and_working_references():
    svg = netviz.render("alexnet", style="short", legend=True).svg()
    a, b = inline_svg(svg, "one"), inline_svg(svg, "two")
    assert not a.startswith("<?xml")
    ids_a = set(re.findall(r'id="([^"]+)"', a))
    ids_b = set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b
    fake = '<svg xmlns="http://www.w3.org/2000/svg"><defs><marker id="arrow"/></defs>' \
           '<path marker-end="url(#arrow)"/><use href="#arrow"/></svg>'
    page = "<html>" + inline_svg(fake, "p1") + inline_svg(fake, "p2") + "</html>"
    assert len(inline_svgs(page)) == 2  # every reference still finds its target
    assert 'url(#p1-arrow)' in page and 'href="#p2-arrow"' in page


def test_gallery_of_given_models_and_styles(tmp_path):
    spec = tmp_path / "mine.yaml"
    spec.write_text("name: tiny\ninput: 1x8x8\nlayers:\n  - conv: {out: 4, kernel: 3}\n"
                    "  - flatten\n  - fc: 2\n")
    out = tmp_path / "deep" / "er" / "g"
    path = gallery([str(spec), "lenet5", "lenet5"], str(out), styles=["short"], title="Mine")
    text = open(path, encoding="utf-8").read()
    check_html(text)
    assert list(_sections(text)) == ["mine", "lenet5", "lenet5-2"]
    assert "<title>Mine</title>" in text
    assert set(re.findall(r'data-style="([^"]+)"', text)) == {"short"}


def test_markdown_report_writes_figures_beside_it(tmp_path):
    out = tmp_path / "alexnet.md"
    written = report("alexnet", str(out))
    names = sorted(os.path.basename(p) for p in written)
    assert names == sorted(["alexnet.md"] + [f"alexnet-{s}.svg" for s in STYLES])
    assert sorted(os.listdir(tmp_path)) == names
    text = out.read_text()
    shaped = netviz.shaped("alexnet")
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        ET.parse(tmp_path / link)  # every linked figure exists and is well-formed
    assert len(re.findall(r"!\[", text)) == len(STYLES)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| ---")]
    assert len(rows) == 1 + len(shaped.layers) + 1  # header, layers, total
    assert sum(ln.startswith("| ---") for ln in text.splitlines()) == 1
    assert f"**{shaped.total_params:,}**" in rows[-1]
    for layer, row in zip(shaped.layers, rows[1:-1]):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == layer.name and int(cells[3].replace(",", "")) == shaped.info[layer.name].params


def test_markdown_report_with_png_figures(tmp_path):
    from PIL import Image
    report("lenet5", str(tmp_path / "l.md"), styles=["short"], figure_format="png")
    assert sorted(os.listdir(tmp_path)) == ["l-short.png", "l.md"]
    with Image.open(tmp_path / "l-short.png") as im:
        assert im.format == "PNG" and im.width > 100
    assert "(l-short.png)" in (tmp_path / "l.md").read_text()


def test_html_report_is_one_self_contained_file(tmp_path):
    out = tmp_path / "t.html"
    report("alexnet", str(out), input="3x224x224")
    assert os.listdir(tmp_path) == ["t.html"]
    text = out.read_text()
    check_html(text)
    assert_offline(text)
    assert len(inline_svgs(text)) == len(STYLES)
    assert "warning: conv1" in text  # the 224 tiling warning reaches the page


# --- bad input: one line, exit 2, nothing written --------------------------------

def _one_line_error(res, *needles):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def test_branching_networks_get_the_styles_that_can_draw_them(tmp_path, cli):
    spec = os.path.join(EXAMPLES, "residual.yaml")
    out = tmp_path / "r.md"
    written = report(spec, str(out))
    names = sorted(os.path.basename(p) for p in written)
    assert names == sorted([f"r-{s}.svg" for s in STYLES if s != "org"] + ["r.md"])  # org draws chains only
    text = out.read_text()
    assert "not drawn in the org style: the org style draws a chain of layers" in text
    page = gallery([spec, "alexnet"], str(tmp_path / "g"))
    html = open(page, encoding="utf-8").read()
    assert len(inline_svgs(html)) == len(STYLES) + len(STYLES) - 1
    # asked for by name, a style that cannot draw the model is still an error
    r = cli("report", spec, "--style", "org", "-o", tmp_path / "x.md")
    assert r.returncode == 2 and "use --style bars" in r.stderr and not (tmp_path / "x.md").exists()


def test_gallery_unknown_model_writes_nothing(cli, tmp_path):
    res = cli("gallery", "alexnet", "alexnett", "-o", tmp_path / "g")
    _one_line_error(res, "unknown model 'alexnett'", "did you mean 'alexnet'")
    assert os.listdir(tmp_path) == []


def test_template_errors(cli, tmp_path):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "gallery.html.j2").write_text("<html>\n{% for m in models %}\n{{ m.title }\n</html>\n")
    res = cli("gallery", "lenet5", "-o", tmp_path / "g", "--template-dir", tpl)
    _one_line_error(res, "gallery.html.j2:3:")
    (tpl / "gallery.html.j2").write_text("<html>{{ no_such_thing.x }}</html>\n")
    res = cli("gallery", "lenet5", "-o", tmp_path / "g", "--template-dir", tpl)
    _one_line_error(res, "template gallery.html.j2", "no_such_thing")
    assert sorted(os.listdir(tmp_path)) == ["tpl"]


def test_report_keeps_the_old_files_when_it_fails(cli, tmp_path):
    old = tmp_path / "net.md"
    old.write_text("old report\n")
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "report.md.j2").write_text("{{ model.nope }}\n")
    res = cli("report", "lenet5", "-o", old, "--template-dir", tpl)
    _one_line_error(res, "report.md.j2", "nope")
    assert old.read_text() == "old report\n"
    assert sorted(os.listdir(tmp_path)) == ["net.md", "tpl"]
    res = cli("report", "lenet5", "-o", tmp_path / "net.txt")
    _one_line_error(res, "net.txt", ".md or .html")


def test_output_folder_that_cannot_be_written(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = cli("gallery", "lenet5", "-o", blocker / "g")
    _one_line_error(res, "cannot write into")
    res = cli("report", "lenet5", "-o", blocker / "r.md")
    _one_line_error(res, "cannot write into")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_commands_report_what_they_wrote(cli, tmp_path):
    res = cli("gallery", "lenet5", "-s", "short", "-o", "g", cwd=tmp_path)
    assert res.returncode == 0 and "wrote g/index.html" in res.stderr
    res = cli("report", "lenet5", "-o", "r.md", cwd=tmp_path)
    assert res.returncode == 0 and "r.md" in res.stderr
    assert os.path.exists(tmp_path / "g" / "index.html") and os.path.exists(tmp_path / "r.md")


# --- the gallery in a real browser ------------------------------------------------

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(.ci/run installs Debian's package)")


BROWSER_MODELS = ["alexnet", "lenet5", "resnet18"]  # a chain, a small chain, a branching network


@needs_chromium
def test_gallery_renders_in_headless_chromium(tmp_path):
    path = gallery(BROWSER_MODELS, str(tmp_path / "site"))
    probe, console, shot = open_in_chromium(path, str(tmp_path))
    assert probe["errors"] == [] and console == [], (probe["errors"], console)
    figs = probe["figures"]
    expected = {(m, s) for m in BROWSER_MODELS for s in _zoo_styles(m)}
    assert len(figs) == len(expected)
    assert {(f["model"], f["style"]) for f in figs} == expected
    for f in figs:
        assert f["w"] > 100 and f["h"] > 40 and f["shapes"] > 5, f
        assert f["y"] + f["h"] <= shot.height, f"{f['id']} is below the screenshot"
        ink, colours = region_ink(shot, (f["x"], f["y"], f["w"], f["h"]))
        assert ink > 0.02 and colours > 4, f"{f['id']} looks blank: ink {ink:.3f}, {colours} colours"


@needs_chromium
def test_browser_check_catches_blank_figures_and_errors(tmp_path):
    """The check above can fail: a blank figure and a missing image are caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>'
        '<figure class="netviz-figure" id="blank" data-model="m" data-style="s">'
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100"></svg></figure>'
        '<figure class="netviz-figure" id="missing" data-model="m" data-style="s">'
        '<img src="nowhere.png" width="300" height="100" alt="x"></figure></body></html>')
    probe, console, shot = open_in_chromium(str(page), str(tmp_path))
    assert probe["errors"], "a missing image must be reported"
    blank = probe["figures"][0]
    ink, colours = region_ink(shot, (blank["x"], blank["y"], blank["w"], blank["h"]))
    assert ink <= 0.02 and blank["shapes"] == 0


def test_help_and_light_imports(cli):
    for cmd, needle in (("gallery", "-o, --output DIR"), ("report", "-o, --output FILE")):
        res = cli(cmd, "--help")
        assert res.returncode == 0 and needle in res.stdout and "--template-dir" in res.stdout
    import subprocess
    import sys
    code = ("import sys, netviz.commands.docs, netviz.reports\n"
            "heavy = [m for m in ('torch', 'matplotlib', 'jinja2', 'sphinx') if m in sys.modules]\n"
            "assert not heavy, heavy")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
