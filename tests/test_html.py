"""The interactive figure (-o FILE.html): one self-contained page, checked as
text, then driven in headless Chromium (Playwright with the system browser):
the figure appears, hover shows a layer, a click unfolds a frame, search
highlights, the table links to the cells, downloads work, nothing errs."""
from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz.backends.html import json_block
from netviz.safetext import visible

from pagecheck import CHROMIUM, check_html, inline_svgs

HOSTILE = [
    "</script><script>window.pwned=1</script>",
    "<!--<script>window.pwned=2</script>",
    '<img src=x onerror="window.pwned=3">',
    "a\"b'c&amp;d`e\u2028f",
    "ctl\x01\x1b[31m\x7f",
    "bidi\u202egnp.exe\u2066x\u2069",
    "{{ 7*7 }}{% raw %}",
    "卷积层 ]]> &lt;",
]


def _yaml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def hostile_spec(tmp_path) -> str:
    kinds = ["conv: {out: 4, kernel: 3, ", "relu: {", "conv: {out: 4, kernel: 3, ", "maxpool: {kernel: 2, ",
             "conv: {out: 4, kernel: 1, ", "conv: {out: 4, kernel: 1, ", "flatten: {", "fc: {out: 2, "]
    lines = [f"name: {_yaml_str(HOSTILE[0])}", "input: 3x16x16", "layers:"]
    lines += [f"  - {k}name: {_yaml_str(n)}}}" for k, n in zip(kinds, HOSTILE)]
    path = tmp_path / "hostile.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="nv-data">(.*?)</script>', text, re.DOTALL)
    assert m, "no data block"
    return json.loads(m.group(1))


# --- the file ---------------------------------------------------------------------

def test_resnet50_page_is_one_small_self_contained_file(tmp_path):
    fig = netviz.render("resnet50")
    path = fig.save(tmp_path / "r50.html")
    text = open(path, encoding="utf-8").read()
    assert os.path.getsize(path) < 1_000_000
    check_html(text)
    assert "<link" not in text and "@import" not in text and "@font-face" not in text
    assert not re.search(r'\b(?:src|href)="(?:[a-z]+:)?//', text), "something is fetched"
    assert not re.search(r"url\((?!#)", text)
    assert len(re.findall(r"<script\b", text)) == 2  # the data block and the page's own script
    svgs = inline_svgs(text)
    assert len(svgs) == 2  # folded and expanded
    cells = [len([g for g in svg.iter("{http://www.w3.org/2000/svg}g")
                  if (g.get("class") or "").startswith("cell ")]) for svg in svgs]
    assert cells[1] > cells[0]
    data = page_data(text)
    shaped = fig.shaped
    assert [d["name"] for d in data["layers"]] == [l.name for l in shaped.layers]
    for d in data["layers"]:
        info = shaped.info[d["name"]]
        assert (d["params"], d["macs"]) == (info.params, info.macs)
    assert sum(d["params"] for d in data["layers"]) == shaped.total_params == 25_557_032
    assert [(s["style"], s["expanded"]) for s in data["scenes"]] == [("bars", False), ("bars", True)]
    assert fig.html() == text  # deterministic


def test_chain_without_repeats_has_one_scene_and_every_style_writes_html(tmp_path):
    for style in netviz.styles.STYLES:
        text = netviz.render("alexnet", style=style).html()
        data = page_data(text)
        assert [s["style"] for s in data["scenes"]] == [style]
        assert len(inline_svgs(text)) == 1


TWO_HEADS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "two_heads.yaml")


def _drawn_titles(root) -> list:
    return [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "title"]


@pytest.mark.parametrize("styles", [None, ["bars", "short", "stack"]])
def test_the_title_shows_once_in_the_page(styles):
    """The page's heading says the figure's title, so the figure's own drawn
    title (a spec's title: examples/two_heads.yaml) is left out of the
    page's view: each scene's view starts under it (the margin above it
    kept), and the page's style sheet hides it; it stays in the SVG for
    the downloads. A figure that draws no title keeps its whole view."""
    fig = netviz.render(TWO_HEADS)
    text = fig.html(styles=styles)
    (heading,) = re.findall(r"<h1[^>]*>(.*?)</h1>", text)
    assert heading.startswith("Two heads on a crossed trunk")
    assert re.search(r"\.nv-scene\[data-drawn-top\] > text\.title \{ display: none; \}", text)
    for root in inline_svgs(text):
        (title,) = _drawn_titles(root)
        assert title.text == "Two heads on a crossed trunk"
        x, y, w, h = map(float, root.get("viewBox").split())
        assert float(root.get("data-drawn-top")) == 0.0 and y > 0
        assert y > float(title.get("y")) - float(title.get("font-size"))  # the room over the title left out
        below = [float(c.get("cy")) - float(c.get("r")) for c in root.iter("{http://www.w3.org/2000/svg}circle")]
        below += [float(r.get("y")) for r in root.iter("{http://www.w3.org/2000/svg}rect")
                  if r.get("class") != "background"]
        assert min(below) - y >= float(title.get("y")) - float(title.get("font-size"))  # the margin kept
    plain = netviz.render(TWO_HEADS, title="").html()
    for root in inline_svgs(plain):
        assert not _drawn_titles(root) and root.get("data-drawn-top") is None
        assert root.get("viewBox").split()[:2] == ["0", "0"]


def test_traced_resnet152_is_under_3_mb(tmp_path):
    pytest.importorskip("torchvision")
    fig = netviz.render("torchvision:resnet152", device="meta")
    data = fig.data("html")
    assert len(data) < 3_000_000
    layers = page_data(data.decode("utf-8"))["layers"]
    assert any(d["source"] == "layer3.4.conv2" for d in layers)  # the module path of a traced layer


def test_json_block_cannot_be_closed_by_a_name():
    for name in HOSTILE:
        text = json_block({"n": name})
        assert "<" not in text and ">" not in text and "&" not in text
        assert all(32 <= ord(c) < 127 for c in text)
        assert json.loads(text) == {"n": name}


def test_hostile_names_are_escaped_in_the_file(tmp_path):
    spec = hostile_spec(tmp_path)
    text = netviz.render(spec).html()
    check_html(text)
    assert len(re.findall(r"<script\b", text)) == 2 and len(re.findall(r"</script", text)) == 2
    assert "<!--" not in text and "<img" not in text
    data = page_data(text)
    assert [d["name"] for d in data["layers"]][1:] == HOSTILE
    title = re.search(r"<title>(.*?)</title>", text).group(1)
    assert "<" not in title


def test_output_in_a_missing_folder_is_one_line_and_exit_2(cli, tmp_path):
    out = tmp_path / "nope" / "x.html"
    res = cli("render", "alexnet", "-o", out)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "x.html" in lines[0] and "does not exist" in lines[0]
    assert not (tmp_path / "nope").exists()


def test_cli_writes_html(cli, tmp_path):
    res = cli("render", "lenet5", "-s", "short", "-o", tmp_path / "l.html")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "l.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and page_data(text)["scenes"][0]["style"] == "short"


# --- in the browser ----------------------------------------------------------------

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(.ci/run installs Debian's package)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VISIBLE = ".nv-stage:not([hidden])"
# a point of the screen where SELECTOR's element itself is hit (not a cell drawn on top of it)
FREE_POINT = """(sel) => {
  const el = document.querySelector(sel); if (!el) return null;
  const r = el.getBoundingClientRect();
  for (let fy = 0.95; fy > 0.04; fy -= 0.03) for (let fx = 0.04; fx < 0.96; fx += 0.03) {
    const x = r.left + r.width * fx, y = r.top + r.height * fy, hit = document.elementFromPoint(x, y);
    if (hit && (hit === el || el.contains(hit))) return [x, y];
  }
  return null; }"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's package)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page open in the browser, collecting console errors and page errors."""

    def __init__(self, browser, path, width=1400, height=800):
        self.page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
        self.errors = []
        self.dialogs = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append("failed " + r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.requests = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto("file://" + os.path.abspath(path))

    def count(self, selector):
        return self.page.locator(selector).count()

    def point(self, selector):
        xy = self.page.evaluate(FREE_POINT, selector)
        assert xy, f"nothing of {selector} can be pointed at"
        return xy

    def details(self):
        return self.page.locator("#nv-details").inner_text()


@pytest.fixture(scope="module")
def resnet50_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "resnet50.html"
    netviz.render("resnet50", fold="exact").save(path)  # identical blocks folded: runs of x2, x3, x5
    return str(path)


@needs_chromium
def test_figure_appears_and_hover_shows_a_layer(browser, resnet50_page):
    pg = Page(browser, resnet50_page)
    box = pg.page.locator(f"{VISIBLE} svg").bounding_box()
    assert box["width"] > 500 and box["height"] > 300
    cells = pg.count(f"{VISIBLE} g.cell")
    assert cells > 30
    shaped = netviz.shaped("resnet50")
    pg.page.mouse.move(*pg.point(f"{VISIBLE} g.cell.layer-layer2_0_conv2"))
    text = pg.details()
    info = shaped.info["layer2_0_conv2"]
    assert "layer2_0_conv2" in text and f"{info.params:,}" in text and f"{info.macs:,}" in text
    assert "128x28x28" in text and "resnet50.yaml:" in text  # output shape, where it was written
    assert pg.count("#nv-table tr.nv-hover") >= 1  # the row of the cell pointed at
    assert pg.errors == [] and pg.requests == ["file://" + os.path.abspath(resnet50_page)]
    pg.page.close()


@needs_chromium
def test_click_unfolds_a_frame_and_folds_it_back(browser, resnet50_page):
    pg = Page(browser, resnet50_page)
    folded = pg.count(f"{VISIBLE} g.cell")
    assert "x5" in pg.page.locator(f"{VISIBLE} .repeats").text_content()
    pg.page.mouse.click(*pg.point(f"{VISIBLE} g.module.repeated"))
    unfolded = pg.count(f"{VISIBLE} g.cell")
    assert unfolded > folded
    assert pg.page.evaluate("netviz.scene().expanded") is True
    assert pg.count(f"{VISIBLE} .nv-flash") == 2  # the frame's two copies, shown
    pg.page.mouse.click(*pg.point(f"{VISIBLE} g.module"))
    assert pg.count(f"{VISIBLE} g.cell") == folded
    assert pg.errors == []
    pg.page.close()


@needs_chromium
def test_search_highlights_and_unfolds_to_a_copy(browser, resnet50_page):
    pg = Page(browser, resnet50_page)
    pg.page.fill("#nv-search", "batchnorm")
    shaped = netviz.shaped("resnet50")
    bns = sum(1 for l in shaped.layers if l.type == "batchnorm")
    assert pg.count("#nv-table tr.nv-hit") == bns
    assert pg.count(f"{VISIBLE} g.cell.nv-hit") > 10
    assert pg.page.locator("#nv-found").inner_text().startswith(f"{bns} layers")
    pg.page.fill("#nv-search", "layer3_4_conv2")  # in a copy of a folded module: not drawn folded
    assert pg.count("#nv-table tr.nv-hit") == 1 and pg.count(f"{VISIBLE} .nv-hit") == 0
    pg.page.press("#nv-search", "Enter")
    assert pg.page.evaluate("netviz.scene().expanded") is True
    assert pg.count(f"{VISIBLE} g.cell.nv-hit.layer-layer3_4_conv2") == 1
    assert "layer3_4_conv2" in pg.details()
    assert pg.errors == []
    pg.page.close()


@needs_chromium
def test_table_rows_and_cells_are_linked_both_ways(browser, resnet50_page):
    pg = Page(browser, resnet50_page)
    names = [l.name for l in netviz.shaped("resnet50").layers]
    i = names.index("layer4_0_conv1")
    pg.page.locator(f'#nv-table tbody tr[data-i="{i}"]').click()
    assert pg.count(f"{VISIBLE} g.cell.nv-selected.layer-layer4_0_conv1") == 1
    cell = pg.page.locator(f"{VISIBLE} g.cell.layer-layer4_0_conv1").bounding_box()
    view = pg.page.locator("#nv-view").bounding_box()
    assert view["x"] <= cell["x"] and cell["x"] + cell["width"] <= view["x"] + view["width"]
    pg.page.mouse.click(*pg.point(f"{VISIBLE} g.cell.layer-conv1"))
    assert pg.count("#nv-table tr.nv-selected") == 2  # conv1 and bn1, drawn as one cell
    assert pg.page.locator("#nv-table tr.nv-selected").first.get_attribute("data-i") == str(names.index("conv1"))
    assert pg.errors == []
    pg.page.close()


@needs_chromium
def test_pan_zoom_and_fit(browser, resnet50_page):
    pg = Page(browser, resnet50_page)
    first = pg.page.evaluate("netviz.scene().box")
    view = pg.page.locator("#nv-view").bounding_box()
    cx, cy = view["x"] + view["width"] / 2, view["y"] + view["height"] / 2
    pg.page.mouse.move(cx, cy)
    pg.page.mouse.wheel(0, -500)
    zoomed = pg.page.evaluate("netviz.scene().box")
    assert zoomed["w"] < first["w"] * 0.8
    pg.page.mouse.move(cx, cy)
    pg.page.mouse.down()
    pg.page.mouse.move(cx + 200, cy + 30, steps=5)
    pg.page.mouse.up()
    panned = pg.page.evaluate("netviz.scene().box")
    assert panned["x"] < zoomed["x"] and panned["w"] == pytest.approx(zoomed["w"])
    pg.page.click("#nv-fit")
    assert pg.page.evaluate("netviz.scene().box") == pytest.approx(first)
    assert pg.errors == []
    pg.page.close()


@needs_chromium
def test_style_switch_and_downloads(browser, tmp_path):
    from PIL import Image
    path = tmp_path / "alexnet.html"
    path.write_text(netviz.render("alexnet").html(styles=["bars", "short", "stack"]), encoding="utf-8")
    pg = Page(browser, path)
    assert pg.page.locator(f"{VISIBLE}").get_attribute("data-style") == "bars"
    pg.page.select_option("#nv-style", "stack")
    assert pg.page.locator(f"{VISIBLE}").get_attribute("data-style") == "stack"
    with pg.page.expect_download() as dl:
        pg.page.click("#nv-svg")
    root = ET.parse(dl.value.path()).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and float(root.get("width")) > 50
    assert dl.value.suggested_filename.endswith("-stack.svg")
    with pg.page.expect_download() as dl:
        pg.page.click("#nv-png")
    with Image.open(io.BytesIO(open(dl.value.path(), "rb").read())) as im:
        assert im.format == "PNG" and im.width > 100
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20)) > 4  # not blank
    assert pg.errors == []
    pg.page.close()


@needs_chromium
def test_the_drawn_title_is_hidden_in_the_page_and_kept_in_downloads(browser, tmp_path):
    path = tmp_path / "two_heads.html"
    path.write_text(netviz.render(TWO_HEADS).html(), encoding="utf-8")
    pg = Page(browser, path)
    assert pg.page.locator("h1.nv-title").inner_text().startswith("Two heads on a crossed trunk")
    assert not pg.page.locator(f"{VISIBLE} svg > text.title").is_visible()
    with pg.page.expect_download() as dl:
        pg.page.click("#nv-svg")
    root = ET.parse(dl.value.path()).getroot()
    (title,) = _drawn_titles(root)
    x, y, w, h = map(float, root.get("viewBox").split())
    assert y <= float(title.get("y")) - float(title.get("font-size"))  # the title inside the view
    assert root.get("data-drawn-top") is None
    assert pg.errors == []
    pg.page.close()


@needs_chromium
def test_hostile_names_run_nothing_and_show_as_text(browser, tmp_path):
    spec = hostile_spec(tmp_path)
    path = tmp_path / "hostile.html"
    netviz.render(spec).save(path)
    pg = Page(browser, path)
    assert pg.page.evaluate("window.pwned === undefined") and pg.dialogs == []
    assert pg.count("img") == 0 and pg.count("script") == 2
    shown = pg.page.locator("#nv-table tbody tr td:first-child").all_text_contents()
    assert shown[1:] == [visible(n) for n in HOSTILE]  # as the figure shows them: no raw control character
    for i, name in enumerate(HOSTILE, start=1):
        pg.page.locator(f'#nv-table tbody tr[data-i="{i}"]').click()
        assert pg.page.locator("#nv-details h2").first.text_content() == name
    pg.page.fill("#nv-search", "</script>")
    assert pg.count("#nv-table tr.nv-hit") == 2
    pg.page.fill("#nv-search", "\u202e")
    assert pg.count("#nv-table tr.nv-hit") == 1
    assert pg.errors == [] and pg.dialogs == []
    pg.page.close()


# --- pages that use it: gallery, report, the Sphinx directive ----------------------------

def test_gallery_and_report_write_and_link_the_interactive_page(tmp_path):
    from netviz.reports import gallery, report
    from netviz.styles import STYLES
    index = gallery(["alexnet", "resnet18"], str(tmp_path / "g"), interactive=True)
    assert sorted(os.listdir(tmp_path / "g")) == ["alexnet-interactive.html", "index.html",
                                                  "resnet18-interactive.html"]
    text = open(index, encoding="utf-8").read()
    assert 'href="alexnet-interactive.html"' in text and 'href="resnet18-interactive.html"' in text
    assert "<script" not in text  # the gallery itself stays static
    page = (tmp_path / "g" / "resnet18-interactive.html").read_text(encoding="utf-8")
    check_html(page)
    scenes = page_data(page)["scenes"]
    assert [s["style"] for s in scenes if not s["expanded"]] == [s for s in STYLES if s != "org"]
    assert ("bars", True) in [(s["style"], s["expanded"]) for s in scenes]
    assert '<select id="nv-style"' in page
    written = report("lenet5", str(tmp_path / "r" / "l.md"), styles=["short"], interactive=True)
    assert sorted(os.path.basename(p) for p in written) == ["l-interactive.html", "l-short.svg", "l.md"]
    assert "](l-interactive.html)" in (tmp_path / "r" / "l.md").read_text()
    report("lenet5", str(tmp_path / "h.html"), styles=["short"], interactive=True)
    assert 'href="h-interactive.html"' in (tmp_path / "h.html").read_text()
    assert (tmp_path / "h-interactive.html").exists()


def test_figures_without_one_network_still_make_a_page(tmp_path):
    for fig in (netviz.legend(), netviz.render(["vgg11", "vgg13"])):
        text = fig.html()
        check_html(text)
        assert len(inline_svgs(text)) == 1 and 'id="nv-search"' not in text
        assert page_data(text)["layers"] == []


def test_expanded_figure_opens_expanded():
    data = page_data(netviz.render("resnet18", expand=True).html())
    assert [s["expanded"] for s in data["scenes"]] == [True, False]


def test_sphinx_directive_interactive_option(tmp_path):
    import subprocess
    import sys
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["netviz.sphinxext"]\n')
    (src / "index.rst").write_text("T\n=\n\n.. netviz:: resnet18\n   :interactive:\n   :caption: R18.\n\n"
                                   ".. netviz:: lenet5\n")
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    frames = re.findall(r'<iframe class="netviz-interactive" src="(_images/netviz-[0-9a-f]+\.html)"', index)
    assert len(frames) == 1 and f'<a href="{frames[0]}">' in index
    page = (out / frames[0]).read_text(encoding="utf-8")
    assert page_data(page)["layers"][0]["name"] == "input"
    assert len(inline_svgs(index)) == 1  # lenet5 stays a static figure
