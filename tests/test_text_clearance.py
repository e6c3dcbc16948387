"""No text touches other text or a line, in any figure netviz draws.

Every style is drawn for every zoo model and every example spec (and the
multi-row VGG figure); the text boxes come from the scene's font metrics
(ascent to descent, the advance width). Each pair of texts stays at least
CLEAR px apart, except the lines of one label (written under one another
in one group), and each text stays CLEAR px from every line drawn, measured
from the stroke's edge, unless the text sits on a filled shape drawn over
that line (a cell's text over the axis that runs under the cell)."""
from __future__ import annotations

import glob
import math
import os

import pytest

import netviz
from netviz import zoo
from netviz.errors import UsageError
from netviz.scene import Circle, Group, Path, Rect, Text
from netviz.styles import STYLES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLEAR = 2.0
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")) +
                  glob.glob(os.path.join(ROOT, "examples", "caffe", "*.prototxt")))
MODELS = zoo.names() + [os.path.relpath(p, ROOT) for p in EXAMPLES]


def labels(scene) -> list[list[Text]]:
    """The texts, each label's lines together: texts of one group written
    under one another at one x with one anchor, a line step apart."""
    out: list[list[Text]] = []

    def rec(items):
        current = None
        for item in items:
            if isinstance(item, Group):
                rec(item.children)
                current = None
            elif isinstance(item, Text):
                prev = current[-1] if current else None
                if (prev is not None and prev.anchor == item.anchor and abs(prev.x - item.x) < 0.5
                        and 0 < item.y - prev.y <= 1.5 * max(item.size, prev.size)):
                    current.append(item)
                else:
                    current = [item]
                    out.append(current)
    rec(scene.children)
    return out


def box_gap(a, b) -> float:
    """How far apart two boxes are (negative where they overlap)."""
    return max(a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3])


def segment_box_distance(p, q, box) -> float:
    """The distance from the segment p-q to the box (0 where they meet)."""
    x0, y0, x1, y1 = box

    def point_box(x, y):
        return math.hypot(max(x0 - x, 0, x - x1), max(y0 - y, 0, y - y1))

    def point_segment(x, y):
        dx, dy = q[0] - p[0], q[1] - p[1]
        n = dx * dx + dy * dy
        t = 0.0 if n == 0 else min(1.0, max(0.0, ((x - p[0]) * dx + (y - p[1]) * dy) / n))
        return math.hypot(p[0] + t * dx - x, p[1] + t * dy - y)

    # Liang-Barsky: does the segment enter the box?
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, v in ((dx, x0, x1, p[0]), (dy, y0, y1, p[1])):
        if d == 0:
            if v < lo or v > hi:
                t0, t1 = 1.0, 0.0
                break
        else:
            a, b = (lo - v) / d, (hi - v) / d
            t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
    if t0 <= t1:
        return 0.0
    corners = [(x0, y0), (x0, y1), (x1, y0), (x1, y1)]
    return min([point_box(*p), point_box(*q)] + [point_segment(*c) for c in corners])


def _covers(shape, box) -> bool:
    x0, y0, x1, y1 = box
    if isinstance(shape, Circle) and shape.rx is None:
        return all((x - shape.cx) ** 2 + (y - shape.cy) ** 2 <= shape.r ** 2 for x in (x0, x1) for y in (y0, y1))
    if isinstance(shape, Rect):
        return shape.x <= x0 and x1 <= shape.x + shape.w and shape.y <= y0 and y1 <= shape.y + shape.h
    return False


def problems(scene, clear: float = CLEAR) -> list[str]:
    groups = labels(scene)
    texts = [(t, t.box, k) for k, lines in enumerate(groups) for t in lines]
    out = []
    for i, (a, abox, ka) in enumerate(texts):
        for b, bbox, kb in texts[i + 1:]:
            if ka != kb and box_gap(abox, bbox) < clear:
                out.append(f"{a.text!r} and {b.text!r} are {box_gap(abox, bbox):.1f} px apart")
    # where a line runs under a filled shape that a text sits on, it is hidden there
    shapes, covered, lines = [], {}, []
    for k, (item, _) in enumerate(scene.walk()):
        if isinstance(item, (Circle, Rect)) and item.fill:
            shapes.append((k, item))
        elif isinstance(item, Text):
            covered[id(item)] = max((j for j, s in shapes if _covers(s, item.box)), default=-1)
        elif isinstance(item, Path):
            lines += [(p, q, item, k) for p, q in zip(item.points, item.points[1:])]
    for p, q, path, k in lines:
        for t, box, _ in texts:
            if covered[id(t)] > k:
                continue
            if (min(p[0], q[0]) > box[2] + clear + path.stroke_width or max(p[0], q[0]) < box[0] - clear - path.stroke_width
                    or min(p[1], q[1]) > box[3] + clear + path.stroke_width
                    or max(p[1], q[1]) < box[1] - clear - path.stroke_width):
                continue
            d = segment_box_distance(p, q, box) - path.stroke_width / 2
            if d < clear:
                out.append(f"{t.text!r} is {d:.1f} px from a line ({path.cls})")
    return out


INPUTS = {"examples/caffe/lenet_train_test.prototxt": "1x28x28"}  # its data layer does not say


def _scene(model, style, **extras):
    try:
        return netviz.render(os.path.join(ROOT, model) if model.startswith("examples") else model,
                             style=style, input=INPUTS.get(model), **extras).scene
    except UsageError as exc:  # org draws chains only: said in one line
        pytest.skip(str(exc))


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("model", MODELS)
def test_no_text_touches_text_or_a_line(model, style):
    scene = _scene(model, style)
    assert scene.texts()
    found = problems(scene)
    assert not found, "; ".join(found[:5])


@pytest.mark.parametrize("style", [s for s in STYLES if s != "org"])
@pytest.mark.parametrize("model", ["alexnet", "googlenet", "vgg16", "examples/lstm.yaml"])
def test_titles_and_legends_keep_clear(model, style):
    scene = _scene(model, style, title="A long title for the figure", legend=True)
    found = problems(scene)
    assert not found, "; ".join(found[:5])


@pytest.mark.parametrize("style", ["bars", "short"])
def test_the_vgg_rows_keep_clear(style):
    scene = netviz.render(["vgg11", "vgg13", "vgg16", "vgg19"], style=style).scene
    found = problems(scene)
    assert not found, "; ".join(found[:5])


def test_the_check_finds_touching_text_and_lines():
    from netviz.scene import Scene
    a = Text(10, 20, "abc", size=12, anchor="start")
    near = Text(10 + a.box[2] - a.box[0] + 1, 20, "def", size=12, anchor="start")  # 1 px to its right
    under = Text(10, 20 + 14, "ghi", size=12, anchor="start")  # a second line of the same label
    line = Path(((0, a.box[3] + 1.5), (100, a.box[3] + 1.5)), stroke_width=1.0)
    found = problems(Scene(200, 100, (Group((a, under)), near, line)))
    assert any("'abc' and 'def'" in f for f in found)
    assert not any("'abc' and 'ghi'" in f for f in found)
    assert any("'abc' is 1.0 px from a line" in f for f in found)
    hidden = Scene(200, 100, (line, Circle(20, a.box[3], 40, fill="#ff0000"), a))
    assert not problems(hidden)
