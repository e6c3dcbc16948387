"""Geometry for the ``blocks`` style: boxes in oblique projection receding up
and to the right, centred in depth on the network's axis (y = 0), arrows with
a head half way, sum and concatenation markers, colours and a legend."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..scene import Circle, Group, Path, Polygon, Text
from .org_draw import extent as _extent
from .org_draw import shift as _shift

ANGLE = math.radians(41.0)  # the receding axis goes up and to the right, as in PlotNeuralNet
RECEDE = 0.6  # foreshortening of the receding axis
C, S = RECEDE * math.cos(ANGLE), RECEDE * math.sin(ANGLE)
EDGE = "#2B2B2B"
EDGE_WIDTH = 0.8
HIDDEN = "#5A5A5A"
HIDDEN_DASH = (3.0, 2.5)
OPACITY = 0.82  # faces let the dashed back edges and the boxes behind show through


def _r(p):
    return (round(p[0], 3), round(p[1], 3))


@dataclass(frozen=True)
class Box:
    """A box seen in oblique projection: the front face's top-left corner at
    (fx, fy), ``d`` wide (channels, along the axis), ``h`` high (rows) and
    ``l`` deep (columns, before foreshortening)."""

    fx: float
    fy: float
    d: float
    h: float
    l: float

    @classmethod
    def centred(cls, x: float, d: float, h: float, l: float, y: float = 0.0) -> "Box":
        """The box that starts at x along the axis, centred on it in height and depth."""
        return cls(x - l / 2 * C, y - h / 2 + l / 2 * S, d, h, l)

    def at(self, u: float, v: float, w: float) -> tuple[float, float]:
        """The screen point of box-local (across, down, back)."""
        return (self.fx + u + w * C, self.fy + v - w * S)

    @property
    def x(self) -> float:
        """Where the box starts along the axis (its mid-depth left edge)."""
        return self.fx + self.l / 2 * C

    @property
    def end(self) -> float:
        return self.x + self.d

    @property
    def front(self) -> tuple[float, float, float, float]:
        return (self.fx, self.fy, self.fx + self.d, self.fy + self.h)

    def outline(self) -> list[tuple[float, float]]:
        """The silhouette, a convex hexagon, clockwise on screen."""
        d, h, l = self.d, self.h, self.l
        return [self.at(*c) for c in ((0, h, 0), (0, 0, 0), (0, 0, l), (d, 0, l), (d, h, l), (d, h, 0))]

    def faces(self, fill: str, cls: str = "face") -> list:
        """Back to front: the three hidden edges dashed, then the visible faces
        (top, side, front), shaded as if lit from the top left."""
        p = self.at
        d, h, l = self.d, self.h, self.l
        hidden = [Path((_r(p(0, h, l)), _r(q)), stroke=HIDDEN, stroke_width=0.7, dash=HIDDEN_DASH, cls="hidden")
                  for q in (p(d, h, l), p(0, 0, l), p(0, h, 0))]
        top = (p(0, 0, 0), p(d, 0, 0), p(d, 0, l), p(0, 0, l))
        side = (p(d, 0, 0), p(d, 0, l), p(d, h, l), p(d, h, 0))
        front = (p(0, 0, 0), p(d, 0, 0), p(d, h, 0), p(0, h, 0))
        shades = ((top, lighten(fill, 0.35), "top"), (side, darken(fill, 0.08), "side"), (front, fill, "front"))
        return hidden + [Polygon(tuple(_r(q) for q in face), fill=colour, stroke=EDGE, stroke_width=EDGE_WIDTH,
                                 opacity=OPACITY, cls=f"{cls} {name}") for face, colour, name in shades]

    def span_y(self, y: float) -> tuple[float, float] | None:
        """Where the horizontal line at y enters and leaves the silhouette."""
        return _cut(self.outline(), y, 1)

    def span_x(self, x: float) -> tuple[float, float] | None:
        """Where the vertical line at x enters and leaves the silhouette (top, bottom)."""
        return _cut(self.outline(), x, 0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        pts = self.outline()
        return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))


def _cut(poly, value: float, axis: int) -> tuple[float, float] | None:
    """The other coordinate's range where the line coordinate[axis] = value meets a convex polygon."""
    hits = []
    for a, b in zip(poly, poly[1:] + poly[:1]):
        va, vb = a[axis], b[axis]
        if va == vb:
            if va == value:
                hits += [a[1 - axis], b[1 - axis]]
            continue
        if min(va, vb) <= value <= max(va, vb):
            t = (value - va) / (vb - va)
            hits.append(a[1 - axis] + t * (b[1 - axis] - a[1 - axis]))
    return (min(hits), max(hits)) if hits else None


# --- arrows and markers -------------------------------------------------

def head(tip: tuple[float, float], direction: tuple[float, float], colour: str, size: float = 11.0,
         cls: str = "head") -> Polygon:
    """An arrow head like PlotNeuralNet's: a dart with a notched back."""
    dx, dy = direction
    n = math.hypot(dx, dy) or 1.0
    ux, uy = dx / n, dy / n
    px, py = -uy, ux
    tx, ty = tip
    half = size * 0.55
    pts = ((tx, ty), (tx - size * ux + half * px, ty - size * uy + half * py),
           (tx - size * 0.62 * ux, ty - size * 0.62 * uy),
           (tx - size * ux - half * px, ty - size * uy - half * py))
    return Polygon(tuple(_r(q) for q in pts), fill=colour, stroke=colour, stroke_width=0.5, cls=cls)


def line(points, tip, colour: str, width: float, cls: str) -> Group:
    """A polyline, with a head pointing right at ``tip`` when it has one."""
    prims = (Path(tuple(_r(q) for q in points), stroke=colour, stroke_width=width, cls="line"),)
    if tip is not None:
        prims += (head(tip, (1.0, 0.0), colour),)
    return Group(prims, cls=cls)


def marker(cx: float, r: float, kind: str, fill: str, cy: float = 0.0) -> list:
    """A sum ("+"), product ("x") or concatenation ("||") marker on the axis at height cy."""
    s = r * 0.5
    if kind == "add":
        marks = [((cx - s, 0.0), (cx + s, 0.0)), ((cx, -s), (cx, s))]
    elif kind == "mul":
        d = s * 0.8
        marks = [((cx - d, -d), (cx + d, d)), ((cx - d, d), (cx + d, -d))]
    else:
        marks = [((cx - s * 0.45, -s), (cx - s * 0.45, s)), ((cx + s * 0.45, -s), (cx + s * 0.45, s))]
    return [Circle(round(cx, 3), round(cy, 3), r, fill=fill, stroke=EDGE, stroke_width=EDGE_WIDTH,
                   cls=f"marker {kind}")] + \
        [Path((_r((a[0], a[1] + cy)), _r((b[0], b[1] + cy))), stroke="#FFFFFF", stroke_width=1.8, cls="mark")
         for a, b in marks]


# --- colours -------------------------------------------------------------

PALETTES = {
    # PlotNeuralNet's: pale orange maps, red pooling, pale green dense layers, a purple output
    "default": {"input": "#FFF0B8", "conv": "#FBE0B4", "pool": "#E0806A", "fc": "#C7EBD2",
                "output": "#9B6AAE", "add": "#843C0C", "concat": "#7030A0", "custom": "#D9D9D9",
                "arrow": "#4F7C84", "label": "#262626", "deconv": "#B4C7E7", "upsample": "#DEE6F4",
                "recurrent": "#9ADCF6", "embedding": "#DDEFC9", "attention": "#BFE6E5",
                "mul": "#C55A11"},
    "colorblind": {"input": "#F7EFA0", "conv": "#F3D08A", "pool": "#D55E00", "fc": "#8FD6C1",
                   "output": "#56B4E9", "add": "#6B3E1E", "concat": "#0072B2", "custom": "#D9D9D9",
                   "arrow": "#3A6F8F", "label": "#1A1A1A", "deconv": "#A9CAE8", "upsample": "#DCEAF6",
                   "recurrent": "#A9D3F0", "embedding": "#BFE7DC", "attention": "#C9C3E6",
                   "mul": "#D55E00"},
}


def palette(theme) -> dict:
    """This style's colours for a theme: its own for the themes it knows,
    else pale tints of the theme's cell colours."""
    if theme.name in PALETTES:
        return PALETTES[theme.name]
    c = theme.colors
    return {"input": lighten(c["input"], 0.6), "conv": lighten(c["conv"], 0.6), "pool": c["maxpool"],
            "fc": lighten(c["fc"], 0.5), "output": c["output"], "add": c["add"], "concat": c["concat"],
            "custom": lighten(c["custom"], 0.8), "arrow": c["label"], "label": c["title"],
            "deconv": lighten(c.get("deconv", c["custom"]), 0.6),
            "upsample": lighten(c.get("upsample", c["custom"]), 0.6),
            "recurrent": lighten(c.get("recurrent", c["custom"]), 0.6),
            "embedding": lighten(c.get("embedding", c["custom"]), 0.6),
            "attention": lighten(c.get("attention", c["custom"]), 0.6), "mul": c.get("mul", c["add"])}


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _hex(rgb) -> str:
    return "#" + "".join(f"{max(0, min(255, round(v))):02X}" for v in rgb)


def lighten(colour: str, f: float) -> str:
    return _hex(v + (255 - v) * f for v in _rgb(colour))


def darken(colour: str, f: float) -> str:
    return _hex(v * (1 - f) for v in _rgb(colour))


# --- the canvas -------------------------------------------------------------

def extent(items) -> tuple[float, float, float, float]:
    """org's extent, with circles (the markers) too."""
    circles, rest = [], []

    def rec(item):
        if isinstance(item, Group):
            for c in item.children:
                rec(c)
        elif isinstance(item, Circle):
            circles.append((item.cx - item.r, item.cy - item.r, item.cx + item.r, item.cy + item.r))
        else:
            rest.append(item)

    for item in items:
        rec(item)
    boxes = circles + ([_extent(rest)] if rest else [])
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def shift(item, dx: float, dy: float):
    """org's shift, with circles too."""
    if isinstance(item, Group):
        return replace(item, children=tuple(shift(c, dx, dy) for c in item.children))
    if isinstance(item, Circle):
        return replace(item, cx=round(item.cx + dx, 2), cy=round(item.cy + dy, 2))
    return _shift(item, dx, dy)


# --- legend ----------------------------------------------------------------

LEGEND_NAMES = {"input": "Input", "conv": "Convolution", "pool": "Pooling",
                "fc": "Fully connected", "output": "Softmax output", "add": "Element-wise sum",
                "concat": "Concatenation", "custom": "Other module", "deconv": "Deconvolution",
                "upsample": "Upsampling", "recurrent": "Recurrent", "embedding": "Embedding",
                "attention": "Attention", "mul": "Element-wise product"}


def legend(kinds: list[str], colours: dict, x: float, y: float, max_width: float,
           size: float) -> tuple[list, float, float]:
    """A swatch and a name per look drawn, wrapped into rows; returns the
    items, width and height. Kinds drawn alike (one colour in a theme made
    of fewer colours) share one entry that names them all."""
    from ..scene import text_width
    looks: dict[tuple, list[str]] = {}
    for kind in kinds:
        looks.setdefault(_look(kind, colours), []).append(kind)
    items, cx, cy, row_h, widest = [], x, y, 26.0, 0.0
    for same in looks.values():
        kind = same[0]
        name = " / ".join(LEGEND_NAMES[k] for k in same)
        w = 26 + text_width(name, size)
        if cx > x and cx + w > x + max_width:
            cx, cy = x, cy + row_h
        if kind in ("add", "concat", "mul"):
            icon = marker(cx + 8, 7.0, kind, colours[kind])
            icon = [shift(i, 0, cy + 10) for i in icon]
        else:
            icon = Box(cx + 1, cy + 5, *SWATCH).faces(_look(kind, colours)[1], cls="swatch")[3:]
        items.append(Group(tuple(icon) + (Text(cx + 24, cy + 10 + size * 0.36, name, size=size, color="#404040",
                                                anchor="start", cls="legend-text"),), cls=f"legend-entry {kind}"))
        widest = max(widest, cx + w - x)
        cx += w + 18
    if not items:
        return [], 0.0, 0.0
    return [Group(tuple(items), cls="legend", id="legend")], widest, cy + row_h - y


SWATCH = (10.0, 14.0, 10.0)  # every legend box: wide, high, deep (a pooling's slab too: its colour tells it)


def _look(kind: str, colours: dict) -> tuple:
    """What a kind's swatch draws: a marker or a box, and its fill."""
    if kind in ("add", "concat", "mul"):
        return (kind, colours[kind])
    return ("box", colours[kind])
