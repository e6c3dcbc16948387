"""Drawing primitives: what a style builds and a backend writes.

A style lays out a :class:`Scene` in its own pixel units (y grows downward);
backends turn it into bytes (SVG, PNG, PDF) and never know which style made
it. Text is measured here from font metrics kept in the package, so layout
needs no drawing library.
"""
from __future__ import annotations

import json
import math
import os
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str | None = None
    stroke: str | None = None
    stroke_width: float = 0.0
    rx: float | None = None  # set for an ellipse: horizontal radius
    ry: float | None = None  # vertical radius
    rotate: float = 0.0  # degrees, for a tilted ellipse
    cls: str | None = None


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None = None
    stroke: str | None = None
    stroke_width: float = 0.0
    rx: float = 0.0
    dash: tuple[float, ...] | None = None
    cls: str | None = None


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]
    fill: str | None = None
    stroke: str | None = None
    stroke_width: float = 0.0
    dash: tuple[float, ...] | None = None
    opacity: float = 1.0
    cls: str | None = None


@dataclass(frozen=True)
class Path:
    """An open polyline; ``arrow`` puts an arrow head at the last point."""

    points: tuple[tuple[float, float], ...]
    stroke: str = "#000000"
    stroke_width: float = 1.0
    dash: tuple[float, ...] | None = None
    arrow: bool = False
    cls: str | None = None


@dataclass(frozen=True)
class Text:
    """A line of text; ``y`` is the baseline, ``anchor`` start|middle|end."""

    x: float
    y: float
    text: str
    size: float = 12.0
    color: str = "#000000"
    anchor: str = "middle"
    weight: str = "normal"
    cls: str | None = None

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the ink area, from the font metrics."""
        w = text_width(self.text, self.size, self.weight)
        x0 = self.x - {"start": 0.0, "middle": w / 2, "end": w}[self.anchor]
        asc, desc = font_extent(self.size)
        return (x0, self.y - asc, x0 + w, self.y + desc)


@dataclass(frozen=True)
class Group:
    children: tuple["Item", ...]
    cls: str | None = None
    id: str | None = None
    title: str | None = None  # tooltip text


Item = Union[Circle, Rect, Polygon, Path, Text, Group]


@dataclass(frozen=True)
class Scene:
    width: float
    height: float
    children: tuple[Item, ...]
    title: str = ""
    desc: str = ""
    background: str | None = "#ffffff"
    scale: float = 1.0  # output size = layout size * scale
    meta: dict = field(default_factory=dict, compare=False)
    print_width: float | None = None  # mm: the printed width (SVG and PDF say it), set by netviz.pagefit

    def walk(self):
        """Every primitive, depth first, with the groups it sits in."""
        def rec(items, parents):
            for item in items:
                if isinstance(item, Group):
                    yield from rec(item.children, parents + (item,))
                else:
                    yield item, parents
        yield from rec(self.children, ())

    def texts(self) -> list[Text]:
        return [item for item, _ in self.walk() if isinstance(item, Text)]

    @property
    def print_height(self) -> float | None:
        """The printed height in mm, where the printed width is set."""
        return None if self.print_width is None else self.print_width * self.height / self.width


ARROW_HEAD = 8.0  # how far an arrow head reaches beyond its path's end (the SVG marker's length)


def bounds(item) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) that an item covers: text by its font box, strokes
    and arrow heads included."""
    if isinstance(item, Group):
        boxes = [bounds(c) for c in item.children]
        if not boxes:
            return (math.inf, math.inf, -math.inf, -math.inf)
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))
    if isinstance(item, Text):
        return item.box
    if isinstance(item, Circle):
        r = max(item.r, item.rx or 0.0, item.ry or 0.0) + item.stroke_width / 2
        return (item.cx - r, item.cy - r, item.cx + r, item.cy + r)
    if isinstance(item, Rect):
        h = item.stroke_width / 2
        return (item.x - h, item.y - h, item.x + item.w + h, item.y + item.h + h)
    pad = ARROW_HEAD if isinstance(item, Path) and item.arrow else item.stroke_width / 2
    xs = [p[0] for p in item.points]
    ys = [p[1] for p in item.points]
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def moved(item, dx: float, dy: float):
    """The item moved by (dx, dy)."""
    from dataclasses import replace
    if dx == 0 and dy == 0:
        return item
    if isinstance(item, Group):
        return replace(item, children=tuple(moved(c, dx, dy) for c in item.children))
    if isinstance(item, Circle):
        return replace(item, cx=round(item.cx + dx, 3), cy=round(item.cy + dy, 3))
    if isinstance(item, (Text, Rect)):
        return replace(item, x=round(item.x + dx, 3), y=round(item.y + dy, 3))
    return replace(item, points=tuple((round(x + dx, 3), round(y + dy, 3)) for x, y in item.points))


# --- text metrics ---------------------------------------------------------

@lru_cache(maxsize=None)
def _metrics(weight: str) -> dict:
    name = "dejavu-sans-bold" if weight == "bold" else "dejavu-sans"
    with open(os.path.join(os.path.dirname(__file__), "fonts", f"{name}.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    data["widths"] = {int(k): v for k, v in data["widths"].items()}
    return data


def _char_width(ch: str, m: dict) -> float:
    w = m["widths"].get(ord(ch))
    if w is not None:
        return w
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return m["units_per_em"]  # CJK and other wide glyphs: one em
    if unicodedata.combining(ch):
        return 0
    return m["average"]


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, weight: str = "normal") -> float:
    m = _metrics(weight)
    return sum(_char_width(ch, m) for ch in text) * size / m["units_per_em"]


def font_extent(size: float) -> tuple[float, float]:
    """Ascent and descent in pixels at a font size (DejaVu Sans)."""
    m = _metrics("normal")
    return m["ascent"] * size / m["units_per_em"], m["descent"] * size / m["units_per_em"]


def fit_size(text: str, size: float, max_width: float, weight: str = "normal", minimum: float = 6.0) -> float:
    """The largest font size <= size at which text fits max_width."""
    w = text_width(text, size, weight)
    if w <= max_width:
        return size
    return max(minimum, size * max_width / w)


def boxes_overlap(a, b, gap: float = 0.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap
