"""The ``blocks`` style on branching networks: each module's branches are
lanes in a frame, each joined to the merge by an arrow of its own;
identical modules in a row are drawn once and marked xN; a network that
does not split into modules is refused in one line. Everything is read
back from the SVG."""
from __future__ import annotations

import itertools
import math
import os
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz.errors import UsageError
from netviz.styles.common import Ids

from test_text_clearance import problems

SVG = "{http://www.w3.org/2000/svg}"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BRANCHING = ["resnet50", "googlenet", "resnet18", "examples/inception.yaml", "examples/residual.yaml",
             "examples/unet.yaml", "examples/transformer.yaml", "examples/caffe/inception_resnet.prototxt"]
HEADED = ("arrow", "lane-in", "lane-out", "shortcut")


def _path(model: str) -> str:
    return os.path.join(ROOT, model) if model.startswith("examples") else model


_CACHE: dict = {}


def render(model: str):
    if model not in _CACHE:
        fig = netviz.render(_path(model), style="blocks")
        _CACHE[model] = (fig, ET.fromstring(fig.svg().encode("utf-8")))
    return _CACHE[model]


def classes(el) -> list[str]:
    return (el.get("class") or "").split()


def groups(root, first: str) -> list:
    return [el for el in root.iter(f"{SVG}g") if classes(el)[:1] == [first]]


def token(el, prefix: str = "layer-") -> str | None:
    found = [c[len(prefix):] for c in classes(el) if c.startswith(prefix)]
    return found[0] if found else None


def points(el) -> list[tuple[float, float]]:
    if el.tag == f"{SVG}polygon":
        return [tuple(map(float, p.split(","))) for p in el.get("points").split()]
    return [tuple(map(float, p.split(","))) for p in el.get("d")[1:].split(" L")]


def hull(pts):
    """The convex hull, counter-clockwise (monotone chain)."""
    pts = sorted(set(pts))

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def silhouette(block) -> list[tuple[float, float]]:
    """What a block covers on screen: the hull of its faces, or its marker's square."""
    circle = next(block.iter(f"{SVG}circle"), None)
    if circle is not None:
        cx, cy, r = (float(circle.get(k)) for k in ("cx", "cy", "r"))
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    return hull([p for poly in block.iter(f"{SVG}polygon") for p in points(poly)])


def _axes(poly):
    for a, b in zip(poly, poly[1:] + poly[:1]):
        yield (b[1] - a[1], a[0] - b[0])


def overlap(p, q, margin: float = 0.5) -> bool:
    """Whether two convex polygons overlap by more than MARGIN (separating axes)."""
    for ax in itertools.chain(_axes(p), _axes(q)):
        n = math.hypot(*ax)
        if n == 0:
            continue
        pa = [(x * ax[0] + y * ax[1]) / n for x, y in p]
        qa = [(x * ax[0] + y * ax[1]) / n for x, y in q]
        if max(pa) <= min(qa) + margin or max(qa) <= min(pa) + margin:
            return False
    return True


def enters(a, b, poly, margin: float = 1.0) -> bool:
    """Whether the segment a-b runs more than MARGIN inside the convex polygon (Cyrus-Beck)."""
    area = sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, poly[1:] + poly[:1]))
    sign = 1.0 if area > 0 else -1.0
    t0, t1 = 0.0, 1.0
    d = (b[0] - a[0], b[1] - a[1])
    for p, q in zip(poly, poly[1:] + poly[:1]):
        # inward normal; keep points at least MARGIN inside
        nx, ny = -(q[1] - p[1]) * sign, (q[0] - p[0]) * sign
        n = math.hypot(nx, ny)
        if n == 0:
            continue
        nx, ny = nx / n, ny / n
        num = (a[0] - p[0]) * nx + (a[1] - p[1]) * ny - margin
        den = d[0] * nx + d[1] * ny
        if den == 0:
            if num < 0:
                return False
            continue
        t = -num / den
        if den > 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def tip(link) -> tuple[float, float]:
    return points(next(link.iter(f"{SVG}polygon")))[0]


def line(link) -> list[tuple[float, float]]:
    return points(next(p for p in link.iter(f"{SVG}path")))


def block_names(block) -> list[str]:
    """The layers a block stands for, from its tooltip."""
    text = block.find(f"{SVG}title").text
    return [part.split(" (")[0] for part in text.split("; ")]


# --- one arrow per branch, none meeting another ----------------------------------------

@pytest.mark.parametrize("model", BRANCHING)
def test_no_two_arrow_heads_meet(model):
    fig, root = render(model)
    links = [g for kind in HEADED for g in groups(root, kind)]
    tips = [tip(g) for g in links]
    assert len(tips) >= 4
    for (a, ga), (b, gb) in itertools.combinations(zip(tips, links), 2):
        assert math.dist(a, b) > 8, f"heads of {classes(ga)} and {classes(gb)} at {a} and {b}"
    for g, t in zip(links, tips):  # each head on its own line, pointing along it
        (x0, y0), (x1, y1) = line(g)[-2:]
        assert y0 == y1 == pytest.approx(t[1], abs=0.01) and x0 < t[0] <= x1


@pytest.mark.parametrize("model", BRANCHING)
def test_each_branch_reaches_its_merge_by_one_arrow_on_the_join_line(model):
    fig, root = render(model)
    markers = {token(g): g for g in groups(root, "block") if classes(g)[1] in ("add", "concat", "mul")}
    merged = 0
    for name, g in markers.items():
        into = [k for kind in ("lane-out", "shortcut") for k in groups(root, kind) if token(k) == name]
        c = next(g.iter(f"{SVG}circle"))
        cx, cy, r = (float(c.get(k)) for k in ("cx", "cy", "r"))
        ends = [line(k)[-1] for k in into]
        for x, y in ends:  # on the vertical line through the marker, or into its left edge on its axis
            assert x == pytest.approx(cx, abs=0.01) or (x, y) == pytest.approx((cx - r, cy), abs=0.01)
        joins = [line(k) for k in groups(root, "join") if token(k) == name]
        for (x0, y0), (x1, y1) in joins:  # the join line: above and under the marker, not through it
            assert x0 == x1 == pytest.approx(cx, abs=0.01)
            assert min(y0, y1) >= cy + r - 0.01 or max(y0, y1) <= cy - r + 0.01
        ys = [y for j in joins for _, y in j] + [cy]
        assert all(min(ys) - 0.01 <= y <= max(ys) + 0.01 for _, y in ends)
        assert len({round(y, 2) for _, y in ends}) == len(ends), "one lane per arrow"
        for k in groups(root, "arrow"):  # a marker along a lane: its arrow ends at its left edge
            if token(k) == name:
                assert line(k)[-1] == pytest.approx((cx - r, cy), abs=0.01)
        merged += len(into) > 1
    assert merged


def test_inception_concat_takes_its_four_branches_in_four_lanes():
    fig, root = render("examples/inception.yaml")
    (concat,) = [g for g in groups(root, "block") if classes(g)[1] == "concat"]
    into = [g for g in groups(root, "lane-out") if token(g) == token(concat)]
    assert len(into) == 4
    ins = groups(root, "lane-in")
    assert len(ins) == 4 and len({round(line(g)[0][1], 2) for g in ins}) == 4
    assert {token(g, "from-") for g in ins} == {token(groups(root, "block")[0])}  # all from the block before


def test_residual_shortcut_is_a_lane_over_the_block_and_the_projection_a_lane_under_it():
    fig, root = render("examples/residual.yaml")
    (short,) = groups(root, "shortcut")
    assert (token(short, "from-"), token(short)) == ("stem", "b1_add")
    blocks = {token(g): g for g in groups(root, "block")}
    y = line(short)[0][1]
    for name in ("b1_conv1", "b1_conv2"):
        assert y < min(p[1] for p in silhouette(blocks[name])) - 5
    outs = {token(g, "from-"): line(g)[0][1] for g in groups(root, "lane-out") if token(g) == "b2_add"}
    assert set(outs) == {"b2_conv2", "b2_down"}
    assert outs["b2_down"] > outs["b2_conv2"]
    assert min(p[1] for p in silhouette(blocks["b2_down"])) > max(p[1] for p in silhouette(blocks["b2_conv2"]))


# --- lanes apart ----------------------------------------------------------------------

@pytest.mark.parametrize("model", BRANCHING)
def test_blocks_do_not_overlap_and_no_line_runs_through_a_block(model):
    fig, root = render(model)
    blocks = groups(root, "block")
    shapes = [silhouette(g) for g in blocks]
    for (a, sa), (b, sb) in itertools.combinations(zip(blocks, shapes), 2):
        assert not overlap(sa, sb), f"{token(a)} and {token(b)} overlap"
    for kind in HEADED + ("split", "join"):
        for g in groups(root, kind):
            pts = line(g)
            for a, b in zip(pts, pts[1:]):
                for blk, s in zip(blocks, shapes):
                    assert not enters(a, b, s), f"a {kind} line runs through {token(blk)}"


@pytest.mark.parametrize("model", BRANCHING)
def test_frames_nest_or_stand_apart_and_hold_their_blocks(model):
    fig, root = render(model)
    frames = [points(next(g.iter(f"{SVG}polygon"))) for g in groups(root, "frame")]
    boxes = [(min(p[0] for p in f), min(p[1] for p in f), max(p[0] for p in f), max(p[1] for p in f))
             for f in frames]
    assert boxes
    for a, b in itertools.combinations(boxes, 2):
        inside = (a[0] <= b[0] and a[1] <= b[1] and b[2] <= a[2] and b[3] <= a[3]) or \
            (b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3])
        apart = a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]
        assert inside or apart, (a, b)
    for g in groups(root, "block"):  # a block is wholly inside a frame or wholly outside it
        s = silhouette(g)
        for f in boxes:
            within = all(f[0] <= x <= f[2] and f[1] <= y <= f[3] for x, y in s)
            outside = all(not (f[0] < x < f[2] and f[1] < y < f[3]) for x, y in s)
            assert within or outside, token(g)


# --- every layer drawn once, or folded with xN ------------------------------------------

@pytest.mark.parametrize("model", BRANCHING)
def test_every_layer_is_drawn_once_or_folded_into_an_xn_frame(model):
    fig, root = render(model)
    net = fig.shaped.network
    drawn = [n for g in groups(root, "block") for n in block_names(g)]
    assert len(drawn) == len(set(drawn)), "a layer drawn twice"
    folded: set[str] = set()
    for g in groups(root, "frame"):
        if "folded" not in classes(g):
            assert g.find(f"{SVG}title") is None
            continue
        mark = next(t for t in g.iter(f"{SVG}text") if "repeat" in classes(t))
        n = int(mark.text[1:])
        assert mark.text == f"x{n}" and n >= 2
        title = g.find(f"{SVG}title").text
        assert title.startswith(f"x{n}: ")
        names = title[len(f"x{n}: "):].split(", ")
        f = points(next(g.iter(f"{SVG}polygon")))
        x0, y0 = min(p[0] for p in f), min(p[1] for p in f)
        x1, y1 = max(p[0] for p in f), max(p[1] for p in f)
        inside = [nm for b in groups(root, "block") if all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in silhouette(b))
                  for nm in block_names(b)]
        assert len(names) == n * len(inside) and set(inside) <= set(names)
        folded |= set(names)
    assert {layer.name for layer in net.layers} == set(drawn) | folded
    if model == "resnet50":
        marks = [t.text for t in root.iter(f"{SVG}text") if "repeat" in classes(t)]
        assert marks == ["x2", "x3", "x5", "x2"]  # each stage's identity blocks, the projection block apart


def test_copies_fold_only_when_identical():
    """Two residual blocks alike but for a kernel are both drawn."""
    spec = ("input: 8x16x16\nlayers:\n  - conv: {name: c0, out: 8, kernel: 3, pad: 1}\n"
            "  - conv: {name: a1, out: 8, kernel: 3, pad: 1}\n  - add: {name: s1, inputs: [a1, c0]}\n"
            "  - conv: {name: a2, out: 8, kernel: 3, pad: 1}\n  - add: {name: s2, inputs: [a2, s1]}\n"
            "  - conv: {name: a3, out: 8, kernel: 5, pad: 2}\n  - add: {name: s3, inputs: [a3, s2]}\n")
    root = ET.fromstring(netviz.render(netviz.readers.parse_spec(spec), style="blocks").svg().encode("utf-8"))
    assert [t.text for t in root.iter(f"{SVG}text") if "repeat" in classes(t)] == ["x2"]
    assert [token(g) for g in groups(root, "block")] == ["input", "c0", "a1", "s1", "a3", "s3"]


# --- text, and the same bytes ---------------------------------------------------------------

@pytest.mark.parametrize("model", ["resnet50", "googlenet", "resnet18"])
@pytest.mark.parametrize("extras", [{}, {"legend": True, "title": "A long title for the figure"}])
def test_no_text_touches_text_or_a_line(model, extras):
    fig = netviz.render(model, style="blocks", **extras)
    found = problems(fig.scene)
    assert not found, "; ".join(found[:5])


def test_traced_resnet18_is_drawn_in_modules():
    pytest.importorskip("torchvision")
    fig = netviz.render("torchvision:resnet18", style="blocks")
    root = ET.fromstring(fig.svg().encode("utf-8"))
    assert [t.text for t in root.iter(f"{SVG}text") if "repeat" in classes(t)] == ["x2"]  # layer1's two blocks
    assert len(groups(root, "frame")) == 7 and len(groups(root, "shortcut")) == 4
    assert not problems(fig.scene)
    shapes = [silhouette(g) for g in groups(root, "block")]
    assert not any(overlap(a, b) for a, b in itertools.combinations(shapes, 2))


def test_same_network_same_bytes():
    assert netviz.render("googlenet", style="blocks").svg() == netviz.render("googlenet", style="blocks").svg()


# --- refused in one line ----------------------------------------------------------------------

TWO_HEADS = os.path.join(ROOT, "examples", "two_heads.yaml")
REFUSAL = ("the blocks style draws branches as lanes of modules, and two_heads branches at stem in a way "
           "that does not split into modules; use --style graph, bars or short")


def test_a_network_that_does_not_split_into_modules_is_refused():
    with pytest.raises(UsageError) as exc:
        netviz.render(TWO_HEADS, style="blocks")
    assert str(exc.value) == REFUSAL


def test_the_refusal_is_one_line_exit_2_and_no_file(cli, tmp_path):
    out = tmp_path / "two.svg"
    r = cli("render", TWO_HEADS, "--style", "blocks", "-o", out)
    assert r.returncode == 2
    assert r.stderr == f"netviz: {REFUSAL}\n"
    assert not out.exists() and not list(tmp_path.iterdir())
    for style in ("graph", "bars", "short"):  # the styles it names do draw it
        r = cli("render", TWO_HEADS, "--style", style, "-o", tmp_path / f"two-{style}.svg")
        assert r.returncode == 0, r.stderr


def test_a_dense_block_is_read_as_one_concatenation_after_another():
    """Each layer of a DenseNet block concatenates everything before it; that
    is the previous concatenation and its own output, a module whose shortcut
    runs into the concatenation (as the bars style reads it)."""
    spec = ("input: 8x16x16\nlayers:\n  - conv: {name: c0, out: 8, kernel: 3, pad: 1}\n"
            "  - conv: {name: d1, out: 4, kernel: 3, pad: 1, inputs: c0}\n"
            "  - concat: {name: cat1, inputs: [c0, d1]}\n"
            "  - conv: {name: d2, out: 4, kernel: 3, pad: 1, inputs: cat1}\n"
            "  - concat: {name: cat2, inputs: [c0, d1, d2]}\n"
            "  - conv: {name: d3, out: 4, kernel: 3, pad: 1, inputs: cat2}\n"
            "  - concat: {name: cat3, inputs: [c0, d1, d2, d3]}\n")
    fig = netviz.render(netviz.readers.parse_spec(spec), style="blocks")
    root = ET.fromstring(fig.svg().encode("utf-8"))
    assert [token(g) for g in groups(root, "block")] == ["input", "c0", "d1", "cat1", "d2", "cat2", "d3", "cat3"]
    assert len(groups(root, "frame")) == 3
    assert [(token(g, "from-"), token(g)) for g in groups(root, "shortcut")] == \
        [("c0", "cat1"), ("cat1", "cat2"), ("cat2", "cat3")]
    assert not problems(fig.scene)


def test_branches_that_end_the_network_are_lanes_without_a_join():
    spec = ("input: 8x16x16\nlayers:\n  - conv: {name: c0, out: 8, kernel: 3, pad: 1}\n"
            "  - conv: {name: left, out: 4, kernel: 3, pad: 1, inputs: c0}\n"
            "  - conv: {name: right, out: 2, kernel: 1, inputs: c0}\n")
    root = ET.fromstring(netviz.render(netviz.readers.parse_spec(spec), style="blocks").svg().encode("utf-8"))
    assert len(groups(root, "frame")) == 1 and not groups(root, "join") and not groups(root, "lane-out")
    ins = groups(root, "lane-in")
    assert sorted(token(g) for g in ins) == ["left", "right"] and {token(g, "from-") for g in ins} == {"c0"}
    assert len({line(g)[0][1] for g in ins}) == 2


def test_a_lane_that_splits_into_the_merge_is_refused():
    """A lane that splits, both halves feeding the module's concatenation:
    the lane has no end of its own for an arrow into the join line."""
    spec = ("name: fan\ninput: 8x16x16\nlayers:\n  - conv: {name: c0, out: 8, kernel: 3, pad: 1}\n"
            "  - conv: {name: x, out: 8, kernel: 3, pad: 1}\n"
            "  - conv: {name: y1, out: 4, kernel: 1, inputs: x}\n"
            "  - conv: {name: y2, out: 4, kernel: 3, pad: 1, inputs: x}\n"
            "  - conv: {name: z, out: 4, kernel: 1, inputs: c0}\n"
            "  - concat: {name: cat, inputs: [y1, y2, z]}\n")
    with pytest.raises(UsageError, match="^the blocks style draws branches as lanes of modules, and fan "
                                         "branches at c0 .*; use --style graph, bars or short$"):
        netviz.render(netviz.readers.parse_spec(spec), style="blocks")
    netviz.render(netviz.readers.parse_spec(spec), style="short")  # which draws it


# --- any small graph: drawn with the lanes apart, or refused in one line ----------------------

def _graph_spec(choices) -> str:
    """A spec from (op, a, b) choices: op 0 a 3x3 convolution of earlier layer
    a, 1 a sum of two earlier 8-channel layers, 2 a concatenation of two."""
    lines = ["name: g", "input: 8x16x16", "layers:", "  - conv: {name: l0, out: 8, kernel: 3, pad: 1}"]
    channels = [8]
    for k, (op, a, b) in enumerate(choices, start=1):
        a, b = a % k, b % k
        eights = [i for i in range(k) if channels[i] == 8]
        if op == 1 and len(eights) >= 2 and eights[a % len(eights)] != eights[b % len(eights)]:
            x, y = eights[a % len(eights)], eights[b % len(eights)]
            lines.append(f"  - add: {{name: l{k}, inputs: [l{x}, l{y}]}}")
            channels.append(8)
        elif op == 2 and a != b:
            lines.append(f"  - concat: {{name: l{k}, inputs: [l{a}, l{b}]}}")
            channels.append(channels[a] + channels[b])
        else:
            lines.append(f"  - conv: {{name: l{k}, out: 8, kernel: 3, pad: 1, inputs: l{a}}}")
            channels.append(8)
    return "\n".join(lines) + "\n"


def test_any_small_graph_is_drawn_in_clear_lanes_or_refused():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    drawn = []

    @settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20), st.integers(0, 20)), min_size=2, max_size=9))
    def check(choices):
        spec = _graph_spec(choices)
        try:
            fig = netviz.render(netviz.readers.parse_spec(spec), style="blocks")
        except UsageError as exc:
            assert str(exc).endswith("; use --style graph, bars or short") and "\n" not in str(exc)
            return
        drawn.append(spec)
        root = ET.fromstring(fig.svg().encode("utf-8"))
        blocks = groups(root, "block")
        shapes = [silhouette(g) for g in blocks]
        assert not any(overlap(a, b) for a, b in itertools.combinations(shapes, 2)), spec
        for kind in HEADED + ("split", "join"):
            for g in groups(root, kind):
                pts = line(g)
                assert not any(enters(a, b, s) for a, b in zip(pts, pts[1:]) for s in shapes), spec
        tips = [tip(g) for kind in HEADED for g in groups(root, kind)]
        assert all(math.dist(a, b) > 8 for a, b in itertools.combinations(tips, 2)), spec
        names = {n for g in blocks for n in block_names(g)}
        folded = {n for g in groups(root, "frame") if "folded" in classes(g)
                  for n in g.find(f"{SVG}title").text.split(": ", 1)[1].split(", ")}
        assert {layer.name for layer in fig.shaped.network.layers} == names | folded, spec
        assert not problems(fig.scene), spec

    check()
    assert len(drawn) >= 20  # most small graphs split into modules
