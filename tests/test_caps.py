"""Time, memory and drawn sizes bounded by the size of the input.

A spec of a few hundred bytes whose numbers are as large as the bounds let
through (a map of 10^12 elements, a billion channels, a deconvolution that
grows the map a thousandfold), or whose text is long (a kind or a name of
5,000 characters, a label of many lines, a long title), is drawn in every
style and into a report in a few seconds and a few hundred MB; every box
and bar is at most MAX_DRAWN long and the figure stays small; text from the
input is cut on the figure and whole in a tooltip. Numbers past the bounds
are refused as quickly.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys

import pytest

from fuzzkit import check_error, check_html, check_png, check_svg, run
from netviz import styles as style_table
from netviz.safetext import ELLIPSIS, LABEL_CHARS, TITLE_CHARS, cut_label
from netviz.styles.common import LABEL_LINES, MAX_DRAWN

SVG = "{http://www.w3.org/2000/svg}"
STYLES = [s for s in style_table.STYLES if s != "graph" or shutil.which("dot")]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = 10.0  # each command (measured well under 1 s; the test machine is shared)
MEGABYTES = 300  # the peak resident size of the whole process that ran them all
FIGURE_SIDE = 2500  # a figure of three or four layers, its boxes capped, is no larger than this

LONG = "k" * 5000
HEAD = "input: 3x32x32\nlayers:\n"
HOSTILE = {
    # a map of 10^12 elements (the most the shape engine lets through is 2^40)
    "huge_map": HEAD + "  - custom: {kind: x, output: [1, 1000000, 1000000]}\n  - relu\n",
    "wide_map": HEAD + "  - custom: {kind: x, output: [1000000, 1000, 1000]}\n  - conv: {out: 4, kernel: 3}\n",
    "huge_vector": HEAD + "  - custom: {kind: x, output: [1000000000000]}\n  - fc: 10\n",
    "billion_channels": HEAD + "  - conv: {out: 1000000000, kernel: 1}\n  - relu\n",
    "deconv_grows": HEAD + "  - deconv: {out: 1, kernel: 1000, stride: 1000}\n  - relu\n",
    "long_kind": HEAD + f"  - custom: {{kind: {LONG}, output: [3, 32, 32]}}\n  - relu\n",
    "long_name": HEAD + f"  - conv: {{out: 8, kernel: 3, name: {'n' * 5000}}}\n  - relu\n",
    "long_module_name": HEAD + "  - conv: {name: stem, out: 3, kernel: 3, pad: 1}\n" + "".join(
        f"  - conv: {{name: {'m' * 5000}_c{i}, out: 3, kernel: 3, pad: 1}}\n" for i in (1, 2))
        + f"  - add: {{name: {'m' * 5000}_add, inputs: [{'m' * 5000}_c2, stem]}}\n  - flatten\n  - fc: 10\n",
    "long_label": HEAD + "  - conv: {out: 8, kernel: 3, label: \"" + "line\\n" * 1000 + "\"}\n  - relu\n",
}
REFUSED = {
    "cube_of_1e12": (HEAD + "  - custom: {kind: x, output: [1000000000000, 1000000000000, 1000000000000]}\n",
                     "2^40"),
    "conv_out_1e14": (HEAD + f"  - conv: {{out: {10 ** 14}, kernel: 3}}\n", "too large"),
    "fc_1e300": (HEAD + "  - flatten\n  - fc: 1e300\n", "must be an integer"),
    "concat_2000": ("input: 3x8x8\nlayers:\n" + "".join(f"  - relu: {{name: r{i}, inputs: [input]}}\n"
                                                       for i in range(2000))
                    + "  - concat: {inputs: [%s]}\n" % ", ".join(f"r{i}" for i in range(2000)), "at most 256"),
}

# Runs netviz commands one after another in one fresh process, and prints for
# each its exit status, its seconds and its standard error; then the peak
# resident size of the process: VmHWM where /proc has it, since ru_maxrss
# keeps the peak of the process that forked it (a test run grown large) across
# exec on Linux; ru_maxrss (kilobytes) elsewhere.
_DRIVER = r"""
import io, json, resource, sys, time, contextlib
from netviz import cli


def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.run(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    results.append([argv, code, time.perf_counter() - start, err.getvalue()])
print(json.dumps({"results": results, "maxrss_mb": peak_mb()}))
"""


def _run_all(tmp_path, commands):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(commands)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for argv, code, seconds, err in out["results"]:
        assert seconds < SECONDS, f"{argv} took {seconds:.1f} s"
    assert out["maxrss_mb"] < MEGABYTES, f"peak {out['maxrss_mb']:.0f} MB"
    return out["results"]


def _texts(root):
    return ["".join(e.itertext()) for e in root.iter(SVG + "text")]


def _titles(root):
    return ["".join(e.itertext()) for e in root.iter(SVG + "title")]


def _span(el) -> tuple[float, float]:
    """Width and height of a rect's or polygon's bounding box."""
    if el.tag == SVG + "rect":
        return float(el.get("width")), float(el.get("height"))
    nums = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", el.get("points"))]
    xs, ys = nums[0::2], nums[1::2]
    return max(xs) - min(xs), max(ys) - min(ys)


def check_capped_figure(text: str, what: str):
    """Well-formed, drawn at its own size (not shrunk to the figure cap),
    small, and no box or bar longer than the projection of a MAX_DRAWN cube."""
    root = check_svg(text)
    width, height = float(root.get("width")), float(root.get("height"))
    assert width <= FIGURE_SIDE and height <= FIGURE_SIDE, f"{what}: {width} x {height}"
    view = [float(v) for v in root.get("viewBox").split()]
    assert math.isclose(view[2], width, rel_tol=0.01), f"{what}: drawn shrunk ({view} at {width})"
    for el in list(root.iter(SVG + "rect")) + list(root.iter(SVG + "polygon")):
        w, h = _span(el)
        if (w, h) == (view[2], view[3]):
            continue  # the background
        assert w <= 2 * MAX_DRAWN and h <= 2 * MAX_DRAWN, f"{what}: a shape {w:.0f} x {h:.0f}"
    return root


# --- the helper -----------------------------------------------------------------------

def test_cut_label_bounds_text_and_keeps_short_text_whole():
    assert cut_label("conv1") == "conv1"
    assert cut_label("k" * LABEL_CHARS) == "k" * LABEL_CHARS
    long = cut_label("k" * (LABEL_CHARS + 1))
    assert len(long) == LABEL_CHARS and long.endswith(ELLIPSIS) and long.startswith("k" * (LABEL_CHARS - 1))
    assert len(cut_label("x" * 10 ** 6, 10)) == 10
    assert len(cut_label("t" * 500, TITLE_CHARS)) == TITLE_CHARS


# --- hostile specs through every style and a report -------------------------------------

@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_spec_is_drawn_quickly_and_capped(tmp_path, case):
    (tmp_path / "net.yaml").write_text(HOSTILE[case], encoding="utf-8")
    commands = [["render", "net.yaml", "-s", s, "-o", f"{s}.svg"] for s in STYLES]
    commands += [["report", "net.yaml", "-o", "r.md"], ["render", "net.yaml", "-o", "i.html"],
                 ["render", "net.yaml", "-s", "blocks", "-o", "b.png"]]
    results = _run_all(tmp_path, commands)
    for argv, code, _, err in results:
        if code == 2 and argv[:4] == ["render", "net.yaml", "-s", "org"]:
            check_error(code, err)  # the org style draws maps and vectors only
            continue
        assert code == 0, f"{argv}: {err}"
    svgs = [(s, tmp_path / f"{s}.svg") for s in STYLES]
    report_svgs = [(p.name[2:-4], p) for p in tmp_path.glob("r-*.svg")]
    assert report_svgs, "the report drew no figure"
    for name, path in svgs + report_svgs:
        if not path.exists():
            continue
        root = check_capped_figure(path.read_text(encoding="utf-8"), f"{case} {name}")
        texts, titles = _texts(root), _titles(root)
        for long_text in ("k" * 5000, "n" * 5000, "m" * 5000):
            if long_text in HOSTILE[case]:
                prefix = long_text[:LABEL_CHARS]
                assert not any(prefix in t for t in texts), f"{name}: drawn uncut"
                cut = [t for t in texts if long_text[:LABEL_CHARS - 1] + ELLIPSIS in t]
                assert any(long_text in t for t in titles), f"{name}: not whole in any tooltip"
                if long_text[0] == "k" and name in ("bars", "stack") or long_text[0] == "m" and name == "graph":
                    assert cut, f"{name}: the kind or the module's name is drawn, cut"
        if case == "long_label":
            drawn = [t for t in texts if t.startswith("line")]
            assert 0 < len(drawn) <= LABEL_LINES or name in ("org", "blocks"), (name, len(drawn))
            assert any(("line\n" * 1000).strip("\n") in t for t in titles), f"{name}: not whole in any tooltip"
    assert (tmp_path / "i.html").stat().st_size < 2_000_000
    png = (tmp_path / "b.png").read_bytes()
    check_png(png)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # IHDR
    assert width <= FIGURE_SIDE and height <= FIGURE_SIDE, (width, height)


@pytest.mark.parametrize("case", list(REFUSED))
def test_numbers_past_the_bounds_are_refused_quickly(tmp_path, case):
    text, match = REFUSED[case]
    (tmp_path / "net.yaml").write_text(text, encoding="utf-8")
    commands = [["render", "net.yaml", "-s", s, "-o", f"{s}.svg"] for s in STYLES]
    commands += [["report", "net.yaml", "-o", "r.md"], ["shapes", "net.yaml"]]
    for argv, code, _, err in _run_all(tmp_path, commands):
        check_error(code, err)
        assert match in err, err
    assert sorted(os.listdir(tmp_path)) == ["net.yaml"]


@pytest.mark.parametrize("style", STYLES)
def test_long_title_is_cut_and_whole_in_its_tooltip(tmp_path, style):
    (tmp_path / "net.yaml").write_text(HEAD + "  - conv: {out: 8, kernel: 3}\n  - relu\n", encoding="utf-8")
    title = "T" * 3000
    code, out, err = run(["render", "net.yaml", "-s", style, "--title", title, "-o", "-"], tmp_path)
    assert code == 0, err
    root = check_capped_figure(out, style)
    shown = [t for t in _texts(root) if t.startswith("T")]
    assert shown == ["T" * (TITLE_CHARS - 1) + ELLIPSIS]
    assert title in _titles(root)


def test_cut_texts_keep_their_tooltips_apart_from_short_ones(tmp_path):
    """A kind at the bound is drawn whole and its tooltip says nothing more;
    one character past it, the tooltip has it whole."""
    kinds = ["a" * LABEL_CHARS, "b" * (LABEL_CHARS + 1)]
    (tmp_path / "net.yaml").write_text(HEAD + "".join(f"  - custom: {{kind: {k}, output: [3, 32, 32]}}\n"
                                                      for k in kinds), encoding="utf-8")
    code, out, err = run(["render", "net.yaml", "-s", "bars", "-o", "-"], tmp_path)
    assert code == 0, err
    root = check_svg(out)
    assert kinds[0] in _texts(root) and not any(kinds[0] in t for t in _titles(root))
    assert "b" * (LABEL_CHARS - 1) + ELLIPSIS in _texts(root)
    assert any(t.endswith(f", kind: {kinds[1]}") for t in _titles(root))


@pytest.mark.parametrize("argv", [["gallery", "net.yaml", "-o", "site"], ["report", "net.yaml", "-o", "r.html"],
                                  ["render", "net.yaml", "-o", "i.html"]])
def test_pages_cut_a_long_title_in_their_headings(tmp_path, argv):
    title = "<T>" * 1000
    (tmp_path / "net.yaml").write_text(f"title: '{title}'\n" + HEAD + "  - conv: {out: 8, kernel: 3}\n",
                                       encoding="utf-8")
    code, _, err = run(argv, tmp_path)
    assert code == 0, err
    page = (tmp_path / ("site/index.html" if argv[0] == "gallery" else argv[-1])).read_text(encoding="utf-8")
    if argv[0] != "render":  # the interactive page has its own tags (tests/test_html.py)
        check_html(page)
    import html
    shown = html.escape(cut_label(title, TITLE_CHARS), quote=False)
    headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page)
    assert headings and all(h == shown or len(h) < TITLE_CHARS for h in headings), headings
    assert headings.count(shown) >= 1
    tips = [html.unescape(t) for t in re.findall(r'<(?:h[12]|a|figcaption)[^>]* title="([^"]*)"', page)]
    assert tips and all(title in t for t in tips)


def test_compared_models_long_title_is_cut_beside_its_row(tmp_path):
    import netviz
    title = "A" * 3000
    (tmp_path / "a.yaml").write_text(f"title: {title}\n" + HEAD + "  - conv: {out: 8, kernel: 3}\n",
                                     encoding="utf-8")
    root = check_capped_figure(netviz.render([str(tmp_path / "a.yaml"), "lenet5"], style="bars").svg(), "compare")
    names = [t for t in _texts(root) if t.startswith("A")]
    assert names == ["A" * (LABEL_CHARS - 1) + ELLIPSIS]
    assert title in _titles(root)
