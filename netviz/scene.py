"""Drawing primitives: what a style builds and a backend writes.

A style lays out a :class:`Scene` in its own pixel units (y grows downward);
backends turn it into bytes (SVG, PNG, PDF) and never know which style made
it. Text is measured here from font metrics kept in the package, so layout
needs no drawing library.
"""
from __future__ import annotations

import json
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
