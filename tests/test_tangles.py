"""Parts of a branching network that do not split into modules, in the bars
and short styles: laid out by Graphviz's dot inside a frame in the row, or
(asked for, or with dot missing) the row with brackets over it. Checked from
the scene's geometry."""
from __future__ import annotations

import math
import os
import shutil

import pytest

import netviz
from netviz.errors import UsageError
from netviz.readers import parse_spec
from netviz.scene import Circle, Group, Path, Rect
from netviz.styles import bars, short
from netviz.styles.common import Ids
from netviz.styles.modules import Cell, Tangle, column_edges, plan
from test_text_clearance import problems

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAS = os.path.join(ROOT, "examples", "nas_cells.yaml")
TWO_HEADS = os.path.join(ROOT, "examples", "two_heads.yaml")
# a searched cell on the main lane of a residual block, beside a branch: a tangle inside modules
IN_A_LANE = parse_spec("""name: lane
input: 8x16x16
layers:
  - conv: {name: stem, out: 8, kernel: 3, pad: 1}
  - conv: {name: a, out: 8, kernel: 3, pad: 1, inputs: stem}
  - conv: {name: b, out: 8, kernel: 1, inputs: stem}
  - add: {name: s1, inputs: [a, b]}
  - conv: {name: c, out: 8, kernel: 3, pad: 1, inputs: b}
  - add: {name: s2, inputs: [s1, c]}
  - conv: {name: d, out: 8, kernel: 1, inputs: s2}
  - add: {name: res, inputs: [d, stem]}
  - conv: {name: e, out: 8, kernel: 3, pad: 1, inputs: stem}
  - concat: {name: cat, inputs: [res, e]}
  - global_avgpool
  - flatten
  - fc: {name: fc, out: 10}
""")
MODELS = {"nas_cells": NAS, "two_heads": TWO_HEADS, "in_a_lane": IN_A_LANE}
STYLES = {"bars": bars, "short": short}

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="laying tangles out needs Graphviz's dot")


# --- reading the scene ----------------------------------------------------------

def groups(scene, first: str) -> list[Group]:
    """Every group whose first class is FIRST, depth first."""
    out = []

    def rec(items):
        for item in items:
            if isinstance(item, Group):
                if (item.cls or "").split()[:1] == [first]:
                    out.append(item)
                rec(item.children)
    rec(scene.children)
    return out


def disc(cell: Group) -> tuple[float, float, float]:
    circles = [c for c in cell.children if isinstance(c, Circle)]
    return circles[0].cx, circles[0].cy, max(max(c.r, c.rx or 0, c.ry or 0) for c in circles)


def cells(scene) -> dict[str, tuple[float, float, float]]:
    """Each cell's disc, by the token of its first layer."""
    out = {}
    for g in groups(scene, "cell"):
        first = g.cls.split()[2][len("layer-"):]
        assert first not in out, f"{first} drawn twice"
        out[first] = disc(g)
    return out


def paths(group: Group, cls: str) -> list[Path]:
    return [p for p in group.children if isinstance(p, Path) and cls in (p.cls or "").split()]


def end_of(path: Path, prefix: str) -> str:
    return next(c[len(prefix):] for c in path.cls.split() if c.startswith(prefix))


def graph_parts(model, style: str) -> list[Tangle]:
    """The tangles of MODEL's plan, and the columns they index."""
    shaped = netviz.shaped(model)
    cols = STYLES[style].columns(shaped)
    items = plan(shaped.network, cols, nested=True, tangles=100)
    found = []

    def rec(items):
        for item in items:
            if isinstance(item, Tangle):
                found.append(item)
            for lane in getattr(item, "lanes", []):
                rec(lane)
    rec(items)
    return found, cols


# --- the plan ---------------------------------------------------------------------

def test_the_plan_keeps_a_part_that_does_not_split_as_a_tangle():
    shaped = netviz.shaped(NAS)
    cols = bars.columns(shaped)
    assert plan(shaped.network, cols, nested=True) is None  # without tangles: the bracket row
    items = plan(shaped.network, cols, nested=True, tangles=100)
    first = [type(x).__name__ for x in items]
    assert first == ["Cell", "Cell", "Tangle", "Cell", "Tangle", "Cell", "Cell"]
    name = {i: c.layers[0].name for i, c in enumerate(cols)}
    succ, _ = column_edges(shaped.network, cols)
    for t in (items[2], items[4]):
        assert isinstance(items[items.index(t) - 1], Cell) and items[items.index(t) - 1].col == t.entry
        ends = {t.entry, t.merge, *t.cols}
        # every edge among the part's cells, and no other
        assert sorted(t.edges) == sorted((a, b) for a in ends for b in succ[a] if b in ends)
    assert [name[c] for c in items[2].cols] == ["c1_a", "c1_b", "c1_s1", "c1_c", "c1_s2"]
    assert name[items[2].merge] == "c1_out" and name[items[4].merge] == "c2_out"
    assert plan(shaped.network, cols, nested=True, tangles=10) is None  # the second is 7 cells and 12 edges


def test_a_part_that_ends_the_network_is_a_tangle_without_a_merge():
    (t,), cols = graph_parts(TWO_HEADS, "bars")
    assert t.merge is None and cols[t.entry].layers[0].name == "stem"
    assert {cols[c].layers[0].name for c in t.cols} >= {"a", "b", "sum1", "c", "sum2", "seg", "classes"}


def test_a_tangle_that_feeds_a_lanes_merge_is_not_cut_off():
    (t,), cols = graph_parts(IN_A_LANE, "bars")
    assert [cols[c].layers[0].name for c in t.cols] == ["a", "b", "s1", "c"]
    assert cols[t.merge].layers[0].name == "s2"  # inside the residual block's lane


# --- the figure ------------------------------------------------------------------

@needs_dot
@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("model", list(MODELS))
def test_every_layer_once_nothing_overlapping_every_edge_connected(model, style):
    scene = netviz.render(MODELS[model], style=style).scene
    shaped = netviz.shaped(MODELS[model])
    cols = STYLES[style].columns(shaped)
    ids = Ids()
    drawn = cells(scene)
    assert sorted(drawn) == sorted(ids.token(c.layers[0].name) for c in cols)  # each cell once
    discs = list(drawn.values())
    for i, (x, y, r) in enumerate(discs):
        for u, v, s in discs[i + 1:]:
            assert math.hypot(x - u, y - v) >= r + s + 4, "two cells overlap"
    assert not problems(scene), problems(scene)[:3]  # no text on text or on a line
    tangles, pcols = graph_parts(MODELS[model], style)
    shown = groups(scene, "tangle")
    assert len(shown) == len(tangles) >= 1
    for t, g in zip(tangles, shown):
        frame = next(r for r in g.children if isinstance(r, Rect))
        assert frame.cls == "tangle-frame"
        inner = [ids.token(pcols[c].layers[0].name) for c in t.cols + ([t.merge] if t.merge is not None else [])]
        for tok in inner:  # its cells inside its frame
            x, y, r = drawn[tok]
            assert frame.x < x - r and x + r < frame.x + frame.w and frame.y < y - r and y + r < frame.y + frame.h
        for tok, (x, y, r) in drawn.items():  # and no other cell in it
            if tok not in inner:
                assert not (frame.x < x < frame.x + frame.w and frame.y < y < frame.y + frame.h)
        axis_in = paths(g, "axis-in")[0]
        entry = axis_in.points[-1]
        assert axis_in.points[0][0] == pytest.approx(frame.x)  # the row's line comes in at the frame
        lines = paths(g, "tangle-edge")
        want = sorted((("entry" if a == t.entry else ids.token(pcols[a].layers[-1].name)),
                       ids.token(pcols[b].layers[0].name)) for a, b in t.edges)
        assert sorted((end_of(p, "from-"), end_of(p, "to-")) for p in lines) == want  # each edge once
        last_of = {ids.token(c.layers[-1].name): ids.token(c.layers[0].name) for c in pcols}
        for p in lines:
            src, dst = end_of(p, "from-"), end_of(p, "to-")
            assert p.arrow
            if src == "entry":
                assert p.points[0] == pytest.approx(entry, abs=0.01)
            else:
                x, y, r = drawn[last_of[src]]
                assert math.hypot(p.points[0][0] - x, p.points[0][1] - y) == pytest.approx(r + 1, abs=0.05)
            x, y, r = drawn[dst]
            assert math.hypot(p.points[-1][0] - x, p.points[-1][1] - y) == pytest.approx(r + 1, abs=0.05)
            for q in p.points[1:-1]:  # the line runs inside the frame
                assert frame.x <= q[0] <= frame.x + frame.w and frame.y <= q[1] <= frame.y + frame.h


@needs_dot
def test_a_tangle_gets_one_bar_at_its_merge():
    scene = netviz.render(NAS).scene
    barred = [g.cls.split()[1][len("layer-"):] for g in groups(scene, "bar")]
    assert barred == ["input", "stem", "c1_out", "pool1", "c2_out", "global_avgpool1", "classes"]
    drawn = cells(scene)
    for g in groups(scene, "bar"):
        rect = next(r for r in g.children if isinstance(r, Rect))
        x, y, r = drawn[g.cls.split()[1][len("layer-"):]]
        assert rect.x + rect.w / 2 == pytest.approx(x)  # under its cell
    # the merges sit on the row's line, with the cells outside the frames
    ys = {tok: drawn[tok][1] for tok in barred}
    assert len({round(y, 3) for y in ys.values()}) == 1


@needs_dot
@pytest.mark.parametrize("style", list(STYLES))
def test_the_same_bytes_every_time(style, cli):
    svg = netviz.render(NAS, style=style).svg()
    assert netviz.render(NAS, style=style).svg() == svg
    r = cli("render", NAS, "--style", style, "-o", "-")  # a fresh process: no order from hashing
    assert r.returncode == 0, r.stderr
    assert r.stdout == svg


def bracket_row(scene) -> bool:
    skips = [p for g in groups(scene, "skips") for p in g.children]
    return bool(skips) and not groups(scene, "tangle")


@pytest.mark.parametrize("style", list(STYLES))
def test_without_dot_the_bracket_row_and_no_error(style, tmp_path, monkeypatch):
    asked = netviz.render(NAS, style=style, tangles="brackets").svg()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    assert shutil.which("dot") is None
    fig = netviz.render(NAS, style=style)
    assert bracket_row(fig.scene)
    assert fig.svg() == asked
    assert not fig.warnings


def test_without_dot_the_command_line_draws_the_bracket_row(tmp_path, cli):
    out = tmp_path / "nas.svg"
    r = cli("render", NAS, "-o", out, env={**os.environ, "PATH": str(tmp_path)})
    assert r.returncode == 0 and len(r.stderr.splitlines()) == 1 and r.stderr.startswith(f"wrote {out} ("), r.stderr
    assert out.read_text() == netviz.render(NAS, tangles="brackets").svg()


@needs_dot
def test_brackets_asked_for_and_parts_too_large_keep_the_bracket_row():
    assert bracket_row(netviz.render(NAS, tangles="brackets").scene)
    assert bracket_row(netviz.render(NAS, max_nodes=10).scene)  # the second cell is 19 cells and edges
    assert len(groups(netviz.render(NAS, max_nodes=19).scene, "tangle")) == 2


def test_tangles_is_refused_where_it_means_nothing(cli):
    with pytest.raises(UsageError, match="unknown --tangles 'dot'; use graph or brackets"):
        netviz.render(NAS, tangles="dot")
    r = cli("render", NAS, "--style", "stack", "--tangles", "brackets", "-o", "x.svg")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["netviz: --tangles sets how the bars and short styles draw a part "
                                             "that does not split into modules; the stack style has no such parts"]


def test_graphviz_is_imported_only_for_a_part_that_does_not_split():
    import subprocess
    import sys
    code = ("import sys, netviz\n"
            "for m in ('resnet18', 'googlenet', 'alexnet'):\n"
            "    netviz.render(m, style='bars').svg(); netviz.render(m, style='short').svg()\n"
            "print('graphviz' in sys.modules)\n"
            f"netviz.render({NAS!r}).svg()\n"
            "print('graphviz' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True" if shutil.which("dot") else "False"]


def test_the_interactive_page_draws_it_again_in_other_styles():
    from netviz.backends.html import scene_views
    fig = netviz.render(NAS, tangles="brackets")
    views = scene_views(fig, styles=["bars", "short", "stack"])
    assert [v["style"] for v in views] == ["bars", "short", "stack"]
    assert views[1]["svg"] == netviz.render(NAS, style="short", tangles="brackets").svg()  # asked for, kept


@needs_dot
def test_a_part_that_ends_the_network_gives_each_cell_its_bar():
    """two_heads ends in a part with two outputs and no merge to carry its
    bar: each of its cells has its own, read from the SVG. A cell alone in
    its column of the layout has its bar under it; cells that dot put one
    above another have their bars side by side under them, the top cell's
    first; no two bars or bar labels overlap."""
    import xml.etree.ElementTree as ET
    from netviz.scene import text_width
    svg_ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(netviz.render(TWO_HEADS, style="bars").svg())

    def token(g):
        return next(c[len("layer-"):] for c in g.get("class").split() if c.startswith("layer-"))

    drawn, found = {}, {}
    for g in root.iter(f"{svg_ns}g"):
        first = (g.get("class") or "").split()[:1]
        if first == ["cell"]:
            c = next(g.iter(f"{svg_ns}circle"))
            drawn[token(g)] = (float(c.get("cx")), float(c.get("cy")))
        elif first == ["bar"]:
            rect, label = next(g.iter(f"{svg_ns}rect")), next(g.iter(f"{svg_ns}text"))
            x, w = float(rect.get("x")), float(rect.get("width"))
            half = max(w, text_width(label.text, float(label.get("font-size")))) / 2
            assert token(g) not in found, f"{token(g)} has two bars"
            found[token(g)] = (x + w / 2, half)
    shaped = netviz.shaped(TWO_HEADS)
    want = {Ids.token(c.layers[0].name) for c in bars.columns(shaped) if c.bar is not None}
    assert len(want) == 12 and set(found) == want
    ranks: dict[float, list[str]] = {}
    for tok in found:
        ranks.setdefault(round(drawn[tok][0]), []).append(tok)
    assert any(len(r) > 1 for r in ranks.values())  # a and b, c and seg
    for x, rank in ranks.items():
        rank.sort(key=lambda t: drawn[t][1])
        xs = [found[t][0] for t in rank]
        assert xs == sorted(xs), rank  # the top cell's bar first
        left, right = xs[0] - found[rank[0]][1], xs[-1] + found[rank[-1]][1]
        assert (left + right) / 2 == pytest.approx(drawn[rank[0]][0], abs=0.01), rank  # centred under them
    spans = sorted((cx - half, cx + half, tok) for tok, (cx, half) in found.items())
    for (_, right, a), (left, _, b) in zip(spans, spans[1:]):
        assert right <= left + 0.01, f"the bars of {a} and {b} overlap"
