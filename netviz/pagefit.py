"""Fit a figure to a printed width: ``--fit column|page|WIDTHmm``.

A figure is laid out in pixels; printed W mm wide, a scene w px wide maps
1 px to W/w mm, so its smallest text prints at size * W / w mm. Where that
is under 6 pt (2.117 mm), the row the figure is drawn in wraps onto several
rows, each as wide as the smallest text allows, so that the text grows; the
scene then carries its printed width (the SVG's width="85mm", the PDF's page
size). Wrapping is a transform of the laid-out scene, so every style gets it:
a style may say where its row may be cut (``scene.meta["cuts"]``: x positions
between its top-level cells or modules, and ``scene.meta["inner_cuts"]``,
used only inside a part wider than the row: between the items of a module's
lane on the row's line), the height of the line that runs along it
(``scene.meta["axis"]``) and where its bar chart starts
(``scene.meta["bars"]``: the top of the chart's band and the least gap
above it, so that each row's bars rise to what that row draws above them);
where it says nothing, the row is cut in the gaps that no shape or text
covers; a figure whose parts cannot be set one under another (a top-down
graph: its lanes side by side) says so with ``scene.meta["whole"]`` and is
not cut at all. Everything on one side of a cut moves
as one, lines that cross a cut are cut there, and the row's line continues
from the end of one row to the start of the next.
"""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import replace

from .errors import UsageError
from .scene import Group, Path, Polygon, Rect, Scene, Text, bounds, moved, text_width

PT = 25.4 / 72  # mm per point
MIN_PT = 6.0  # the least text size that prints readably
WIDTHS = {"column": 85.0, "page": 178.0}  # one column, the whole text width of a two-column paper
LEAST = 20.0  # mm
ROW_GAP = 28.0  # px between two wrapped rows
LEGEND_GAP = 20.0


def parse(value) -> float:
    """The printed width in mm from ``column``, ``page`` or ``WIDTHmm`` (a number is mm)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        mm = float(value)
    else:
        text = str(value).strip().lower()
        m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*mm", text)
        if text in WIDTHS:
            mm = WIDTHS[text]
        elif m:
            mm = float(m.group(1))
        else:
            raise UsageError(f"--fit {value}: give column (85 mm), page (178 mm) or a width in mm such as 120mm")
    if not math.isfinite(mm) or mm < LEAST:
        raise UsageError(f"--fit {value}: a printed width under {LEAST:g} mm cannot hold a readable figure; "
                         f"give at least {LEAST:g}mm")
    return mm


def smallest_text(scene: Scene) -> float | None:
    return min((t.size for t in scene.texts()), default=None)


def printed_pt(scene: Scene, width_mm: float) -> float | None:
    """The smallest text's size in points when the scene is printed WIDTH_MM wide."""
    s = smallest_text(scene)
    return None if s is None else s * width_mm / scene.width / PT


def fitted_pt(scene: Scene, width_mm: float) -> float:
    """The smallest text's size in points once SCENE is fitted to WIDTH_MM
    (wrapped where it can be; a scene without text counts as fitting)."""
    pt = printed_pt(fit(scene, width_mm)[0], width_mm)
    return math.inf if pt is None else pt


def fit(scene: Scene, width_mm: float) -> tuple[Scene, str | None]:
    """The scene laid out for WIDTH_MM, and a warning where its smallest text
    still prints under 6 pt."""
    s = smallest_text(scene)
    if s is not None:
        widest = s * width_mm / (MIN_PT * PT)  # px: the widest scene whose smallest text prints at 6 pt
        if scene.width > widest:
            scene = _title_to_body(wrap(scene, widest), widest)
    scene = replace(scene, print_width=width_mm)
    pt = printed_pt(scene, width_mm)
    if pt is None or pt >= MIN_PT - 1e-6:
        return scene, None
    need = math.ceil(scene.width * MIN_PT * PT / s)
    return scene, (f"at {width_mm:g} mm the smallest text prints at {pt:.1f} pt, under {MIN_PT:g} pt even with "
                   f"the rows wrapped: a part of the figure that cannot be cut is too wide; {need} mm would "
                   f"print it at {MIN_PT:g} pt (--fit {need}mm)")


# --- the wrap transform ----------------------------------------------------

def _is_title(item) -> bool:
    return isinstance(item, Text) and item.cls == "title"


def _is_legend(item) -> bool:
    return isinstance(item, Group) and item.id == "legend"


def _anchor_x(item) -> float:
    """The x that decides which side of a cut an item goes to."""
    if isinstance(item, Text):
        return item.x
    if isinstance(item, Rect):
        return item.x + item.w / 2
    if isinstance(item, Polygon):
        xs = [p[0] for p in item.points]
        return (min(xs) + max(xs)) / 2
    return item.cx  # Circle


def _clip(points, cuts) -> list[list]:
    """A polyline cut where it crosses the vertical lines at CUTS."""
    pieces = [[points[0]]]
    for p, q in zip(points, points[1:]):
        xs = sorted((c for c in cuts if min(p[0], q[0]) < c < max(p[0], q[0])), reverse=q[0] < p[0])
        for c in xs:
            t = (c - p[0]) / (q[0] - p[0])
            m = (c, round(p[1] + t * (q[1] - p[1]), 3))
            pieces[-1].append(m)
            pieces.append([m])
        pieces[-1].append(q)
    return pieces


def split(item, cuts) -> list[tuple[int, object]]:
    """The item shared out among the spans between CUTS, as (span, part)
    pairs in drawing order: a group's children each to their span, a line
    cut where it crosses a cut."""
    if isinstance(item, Group):
        parts: dict[int, list] = {}
        for child in item.children:
            for k, part in split(child, cuts):
                parts.setdefault(k, []).append(part)
        return [(k, replace(item, children=tuple(kids), id=item.id if n == 0 else None))
                for n, (k, kids) in enumerate(sorted(parts.items()))]
    if isinstance(item, Path):
        pieces = _clip(item.points, cuts)
        out = []
        for n, pts in enumerate(pieces):
            mid = sum(p[0] for p in pts[:2]) / 2
            out.append((bisect.bisect_right(cuts, mid),
                        replace(item, points=tuple(pts), arrow=item.arrow and n == len(pieces) - 1)))
        return out
    if isinstance(item, Polygon) and item.opacity == 1.0:
        box = _upright_box(item.points)
        if box is not None and any(box[0] < c < box[2] for c in cuts):  # a frame drawn as a polygon
            item = Rect(box[0], box[1], box[2] - box[0], box[3] - box[1], fill=item.fill, stroke=item.stroke,
                        stroke_width=item.stroke_width, dash=item.dash, cls=item.cls)
    if isinstance(item, Rect) and any(item.x < c < item.x + item.w for c in cuts):
        return _split_frame(item, cuts)
    return [(bisect.bisect_right(cuts, _anchor_x(item)), item)]


def _upright_box(points) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) of four points that are an upright rectangle, else None."""
    if len(points) != 4:
        return None
    xs, ys = sorted({p[0] for p in points}), sorted({p[1] for p in points})
    if len(xs) != 2 or len(ys) != 2 or len(set(points)) != 4:
        return None
    return xs[0], ys[0], xs[1], ys[1]


def _split_frame(rect: Rect, cuts) -> list[tuple[int, object]]:
    """A frame that a cut crosses (a repeated run of modules cut between two
    of them): each part filled, its outline left open where it was cut."""
    x0, x1, y0, y1 = rect.x, rect.x + rect.w, rect.y, rect.y + rect.h
    edges = [x0] + [c for c in cuts if x0 < c < x1] + [x1]
    out = []
    for a, b in zip(edges, edges[1:]):
        k = bisect.bisect_right(cuts, (a + b) / 2)
        if rect.fill:
            out.append((k, replace(rect, x=a, w=b - a, stroke=None, stroke_width=0.0, rx=0.0)))
        if not (rect.stroke and rect.stroke_width):
            continue
        line = dict(stroke=rect.stroke, stroke_width=rect.stroke_width, dash=rect.dash, cls=rect.cls)
        if a == x0:
            out.append((k, Path(((b, y0), (a, y0), (a, y1), (b, y1)), **line)))
        elif b == x1:
            out.append((k, Path(((a, y0), (b, y0), (b, y1), (a, y1)), **line)))
        else:
            out += [(k, Path(((a, y0), (b, y0)), **line)), (k, Path(((a, y1), (b, y1)), **line))]
    return out


def _union(boxes):
    boxes = [b for b in boxes if b[0] <= b[2]]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def free_cuts(items) -> list[float]:
    """Where nothing but lines crosses: the middle of each gap between the
    x extents of the shapes and texts."""
    spans = []

    def rec(item):
        if isinstance(item, Group):
            for c in item.children:
                rec(c)
        elif not isinstance(item, Path):
            b = bounds(item)
            spans.append((b[0], b[2]))
    for item in items:
        rec(item)
    spans.sort()
    cuts, right = [], None
    for x0, x1 in spans:
        if right is not None and x0 > right + 4:
            cuts.append(round((right + x0) / 2, 3))
        right = x1 if right is None else max(right, x1)
    return cuts


def _atoms(band, cuts: list[float]) -> tuple[list[float], list]:
    """The cuts that separate something from something, and the bounds of
    what lies between each two (spans with nothing in them join their neighbours)."""
    if not cuts:
        return [], [_union([bounds(i) for i in band])]
    atoms: dict[int, list] = {}
    for item in band:
        for k, part in split(item, cuts):
            atoms.setdefault(k, []).append(bounds(part))
    filled = sorted(k for k, b in atoms.items() if _union(b) is not None)
    return [cuts[k - 1] for k in filled[1:]], [_union(atoms[k]) for k in filled]


def _rows(width, n_atoms: int, limit: float) -> list[tuple[int, int]]:
    """Consecutive atoms shared into rows (first, end) no wider than LIMIT
    (an atom wider than that has a row of its own)."""
    rows, start = [], 0
    for k in range(1, n_atoms):
        if width(start, k + 1) > limit:
            rows.append((start, k))
            start = k
    rows.append((start, n_atoms))
    return rows


def _partition(boxes, limit: float) -> list[tuple[int, int]]:
    """The fewest rows no wider than LIMIT, balanced: the narrowest limit
    that needs no more rows."""
    def width(i, j):
        u = _union(boxes[i:j])
        return u[2] - u[0]
    rows = _rows(width, len(boxes), limit)
    lo, hi = max(width(i, i + 1) for i in range(len(boxes))), limit
    for _ in range(30):
        if hi - lo < 0.5:
            break
        mid = (lo + hi) / 2
        if len(_rows(width, len(boxes), mid)) <= len(rows):
            hi = mid
        else:
            lo = mid
    return _rows(width, len(boxes), hi) if len(_rows(width, len(boxes), hi)) <= len(rows) else rows


def wrap(scene: Scene, widest: float) -> Scene:
    """The scene with its row wrapped onto rows no wider than WIDEST px in all."""
    if scene.meta.get("whole"):  # parts that cannot be set one under another (a top-down graph)
        return scene
    head = [i for i in scene.children if _is_title(i)]
    tail = [i for i in scene.children if _is_legend(i)]
    band = [i for i in scene.children if not (_is_title(i) or _is_legend(i))]
    whole = _union([bounds(i) for i in band])
    if whole is None:
        return scene
    left, right = whole[0], max(0.0, scene.width - whole[2])
    limit = widest - left - right
    cuts = sorted(set(scene.meta.get("cuts") or free_cuts(band)))
    cuts, boxes = _atoms(band, cuts)
    inner = [c for c in scene.meta.get("inner_cuts") or () if c not in cuts
             and any(b[0] < c < b[2] and b[2] - b[0] > limit for b in boxes)]
    if inner:  # a part too wide for the row is cut inside too, where its style allows
        cuts, boxes = _atoms(band, sorted(set(cuts) | set(inner)))
    if not cuts:
        return scene
    rows = _partition(boxes, limit)
    if len(rows) < 2:
        return scene
    row_cuts = [cuts[end - 1] for _, end in rows[:-1]]
    parts: list[list] = [[] for _ in rows]
    for item in band:
        for k, part in split(item, row_cuts):
            parts[k].append(part)
    if scene.meta.get("bars"):
        parts = [_raise_bars(items, *scene.meta["bars"]) for items in parts]
    placed, shifts, y = [], [], whole[1]
    for items in parts:
        box = _union([bounds(i) for i in items])
        dx, dy = left - box[0], y - box[1]
        placed.append([moved(i, dx, dy) for i in items])
        shifts.append((dx, dy, box[0] + dx, box[2] + dx, box[3] + dy))
        y = box[3] + dy + ROW_GAP
    bottom = y - ROW_GAP
    links = _connectors(scene.meta.get("axis"), row_cuts, shifts)
    width = max(s[3] for s in shifts) + right
    out = list(_titles(head, width, left, right, smallest_text(scene) or 0.0))
    for items in placed:
        out += items
    out += links
    if tail:
        legend, legend_right, bottom = _flow(tail[0], left, bottom + LEGEND_GAP, width - left - right)
        out.append(legend)
        width = max(width, legend_right + right)
    width = max([width] + [bounds(t)[2] + right for t in out if _is_title(t)])
    below = max(0.0, scene.height - _union([bounds(i) for i in scene.children])[3])
    meta = dict(scene.meta, rows=len(rows))
    return replace(scene, width=math.ceil(width), height=math.ceil(bottom + below), children=tuple(out),
                   meta=meta)


def _leaves(item):
    if isinstance(item, Group):
        for c in item.children:
            yield from _leaves(c)
    else:
        yield item


def _raise_bars(items: list, band: float, gap: float) -> list:
    """A wrapped row's bar chart raised to what this row draws above it: the
    bars stand on one baseline, under room for the whole figure's tallest
    bar and under the row's tallest cell, label or frame, so a row whose
    bars are short, or whose cells are plain, would stand far above them.
    Everything from the chart's band (BAND: the bars, their labels, the
    names of their scales) moves up until it stands GAP under the rest."""
    chart, rest = [], []
    for item in items:
        for leaf in _leaves(item):
            b = bounds(leaf)
            (chart if b[1] >= band - 0.01 else rest).append(b)
    if not chart or not rest:
        return items
    rise = min(b[1] for b in chart) - (max(b[3] for b in rest) + gap)
    if rise <= 0.01:
        return items

    def lift(item):
        if isinstance(item, Group):
            return replace(item, children=tuple(lift(c) for c in item.children))
        return moved(item, 0.0, -rise) if bounds(item)[1] >= band - 0.01 else item
    return [lift(i) for i in items]


def _titles(head, width: float, left: float, right: float, least: float):
    """The title, made smaller (down to the figure's smallest text) where it
    is wider than the wrapped rows."""
    for t in head:
        room = width - left - right
        w = text_width(t.text, t.size, t.weight)
        if w > room:
            size = max(least, t.size * room / w)
            t = replace(t, size=round(size, 2), y=round(t.y - t.size + size, 2))
        yield t


def _title_to_body(scene: Scene, widest: float) -> Scene:
    """Where the title alone makes the figure wider than WIDEST px (a figure
    that does not wrap, such as a graph's column), the title made smaller,
    down to the figure's smallest text, and the figure as wide as the rest."""
    head = [i for i in scene.children if _is_title(i)]
    body = _union([bounds(i) for i in scene.children if not _is_title(i)])
    if not head or body is None or scene.width <= widest:
        return scene
    margin = min(t.x for t in head)
    room = max(body[2] + margin, math.floor(widest) - 1.0)  # whole pixels: the width is rounded up
    if max(bounds(t)[2] for t in head) + margin <= room:
        return scene
    titles = list(_titles(head, room, margin, margin, smallest_text(scene) or 0.0))
    width = max([body[2] + margin] + [bounds(t)[2] + margin for t in titles])
    if width >= scene.width:
        return scene
    swap = dict(zip(map(id, head), titles))
    return replace(scene, width=math.ceil(width), children=tuple(swap.get(id(i), i) for i in scene.children))


def _connectors(axis, row_cuts, shifts) -> list:
    """The row's line from the end of one row down to the start of the next."""
    if not axis:
        return []
    y, stroke, width = axis
    lines = []
    for k, cut in enumerate(row_cuts):
        dx0, dy0, _, right0, bottom0 = shifts[k]
        dx1, dy1, left1, _, _ = shifts[k + 1]
        x_end, y0 = cut + dx0, y + dy0
        x_start, y1 = cut + dx1, y + dy1
        out_x = max(x_end, right0) + 6
        in_x = min(x_start, left1) - 6
        mid = bottom0 + ROW_GAP / 2
        pts = ((x_end, y0), (out_x, y0), (out_x, mid), (in_x, mid), (in_x, y1), (x_start, y1))
        lines.append(Path(tuple((round(x, 3), round(y, 3)) for x, y in pts), stroke=stroke, stroke_width=width,
                          cls="wrap-link"))
    return [Group(tuple(lines), cls="wrap-links", id="wrap-links")] if lines else []


def _flow(legend: Group, x: float, top: float, width: float):
    """The legend's entries set again in rows no wider than WIDTH; returns
    the legend, its right edge and its bottom."""
    gap, line_gap = 18.0, 8.0
    out, cx, cy, row_h, right = [], x, top, 0.0, x
    for entry in legend.children:
        b = bounds(entry)
        w, h = b[2] - b[0], b[3] - b[1]
        if cx > x and cx + w > x + width:
            cx, cy, row_h = x, cy + row_h + line_gap, 0.0
        out.append(moved(entry, cx - b[0], cy - b[1]))
        right = max(right, cx + w)
        row_h = max(row_h, h)
        cx += w + gap
    return replace(legend, children=tuple(out)), right, cy + row_h
