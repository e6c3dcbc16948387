"""SVG backend (svgwrite). Deterministic: ids come from the scene, numbers
are written with fixed precision, and there are no timestamps."""
from __future__ import annotations

import svgwrite

from ..safetext import visible
from ..scene import FONT_FAMILY, Circle, Group, Path, Polygon, Rect, Scene, Text


def num(v: float) -> str:
    """Fixed formatting: at most two decimals, no trailing zeros, no '-0'."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _dash(d):
    return ",".join(num(x) for x in d)


class _Writer:
    def __init__(self, scene: Scene):
        self.scene = scene
        if scene.print_width is not None:  # the printed size: LaTeX, Word and browsers place it so
            size = (f"{num(scene.print_width)}mm", f"{num(scene.print_height)}mm")
        else:
            size = (num(scene.width * scene.scale), num(scene.height * scene.scale))
        self.dwg = svgwrite.Drawing(size=size, profile="full", debug=False)
        self.dwg["viewBox"] = f"0 0 {num(scene.width)} {num(scene.height)}"
        self.dwg["font-family"] = FONT_FAMILY
        self.arrow_id = None

    def arrow_marker(self):
        if self.arrow_id is None:
            marker = self.dwg.marker(id="arrow", insert=(8, 4), size=(8, 8), orient="auto",
                                     markerUnits="userSpaceOnUse")
            marker.add(self.dwg.path(d="M0,0 L8,4 L0,8 z", fill="#000000"))
            self.dwg.defs.add(marker)
            self.arrow_id = "arrow"
        return f"url(#{self.arrow_id})"

    def paint(self, el, item):
        fill = getattr(item, "fill", None)
        el["fill"] = fill if fill else "none"
        stroke = getattr(item, "stroke", None)
        if stroke and getattr(item, "stroke_width", 0):
            el["stroke"] = stroke
            el["stroke-width"] = num(item.stroke_width)
        dash = getattr(item, "dash", None)
        if dash:
            el["stroke-dasharray"] = _dash(dash)
        if getattr(item, "cls", None):
            el["class"] = visible(item.cls, one_line=True)
        return el

    def item(self, item):
        d = self.dwg
        if isinstance(item, Group):
            g = d.g()
            if item.id:
                g["id"] = visible(item.id, one_line=True)
            if item.cls:
                g["class"] = visible(item.cls, one_line=True)
            if item.title:
                g.set_desc(title=visible(item.title))
            for child in item.children:
                g.add(self.item(child))
            return g
        if isinstance(item, Circle):
            if item.rx is not None:
                el = d.ellipse(center=(num(item.cx), num(item.cy)), r=(num(item.rx), num(item.ry)))
                if item.rotate:
                    el["transform"] = f"rotate({num(item.rotate)} {num(item.cx)} {num(item.cy)})"
            else:
                el = d.circle(center=(num(item.cx), num(item.cy)), r=num(item.r))
            return self.paint(el, item)
        if isinstance(item, Rect):
            el = d.rect(insert=(num(item.x), num(item.y)), size=(num(item.w), num(item.h)))
            if item.rx:
                el["rx"] = num(item.rx)
            return self.paint(el, item)
        if isinstance(item, Polygon):
            el = d.polygon(points=[(num(x), num(y)) for x, y in item.points])
            if item.opacity != 1.0:
                el["opacity"] = num(item.opacity)
            return self.paint(el, item)
        if isinstance(item, Path):
            pts = item.points
            path = "M" + " L".join(f"{num(x)},{num(y)}" for x, y in pts)
            el = d.path(d=path, fill="none", stroke=item.stroke, **{"stroke-width": num(item.stroke_width)})
            if item.dash:
                el["stroke-dasharray"] = _dash(item.dash)
            if item.arrow:
                el["marker-end"] = self.arrow_marker()
            if item.cls:
                el["class"] = visible(item.cls, one_line=True)
            return el
        if isinstance(item, Text):
            el = d.text(visible(item.text, one_line=True), insert=(num(item.x), num(item.y)))
            el["font-size"] = num(item.size)
            el["fill"] = item.color
            if item.anchor != "start":
                el["text-anchor"] = item.anchor
            if item.weight != "normal":
                el["font-weight"] = item.weight
            if item.cls:
                el["class"] = visible(item.cls, one_line=True)
            return el
        raise TypeError(f"not a scene item: {item!r}")

    def write(self) -> str:
        d = self.dwg
        if self.scene.title or self.scene.desc:
            d.set_desc(title=visible(self.scene.title) if self.scene.title else None,
                       desc=visible(self.scene.desc) if self.scene.desc else None)
        if self.scene.background:
            d.add(d.rect(insert=(0, 0), size=(num(self.scene.width), num(self.scene.height)),
                         fill=self.scene.background, **{"class": "background"}))
        for item in self.scene.children:
            d.add(self.item(item))
        return '<?xml version="1.0" encoding="utf-8"?>\n' + d.tostring() + "\n"


def to_svg(scene: Scene) -> str:
    return _Writer(scene).write()


def to_svg_bytes(scene: Scene) -> bytes:
    return to_svg(scene).encode("utf-8")
