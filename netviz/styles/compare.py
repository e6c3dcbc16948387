"""Several networks in one figure, one row each, as the hand-made VGG figure
draws VGG-11, -13, -16 and -19 (../reference/vgg.png): the model's name at
the left of its row, and the rows aligned on their feature-map sizes, so
that the layers working on 56x56 maps stand under one another whatever
came before (where the rows meet the sizes in different orders, they are
not aligned: each keeps its own order, all starting together). In the ``bars`` style the bar chart is drawn once, under the
last row, aligned with its cells, and so are the stage labels the rows share.

Only chains are compared: a branching network is drawn on its own.
"""
from __future__ import annotations

import math
import re

from ..errors import UsageError
from ..ir import ShapedNetwork
from ..safetext import cut_label
from ..scene import Group, Scene, Text, text_width
from . import common
from .row import (BAR_MAX, GAP, LABEL_LINE, LABEL_SIZE, MARGIN, TEXT_GAP, R, bar_group, cell_group,
                  head_room, label_group, label_width, stage_group, stage_runs, wrap_label)

NAME_SIZE = 15.0
ROW_GAP = 22.0


def _columns(shaped: ShapedNetwork, style: str, options: common.RenderOptions):
    if style == "bars":
        from .bars import columns
        return columns(shaped, options.bar_metric)
    from .short import columns
    return columns(shaped)


def _segments(shaped: ShapedNetwork, cols) -> list[tuple[tuple, list[int]]]:
    """Runs of cells whose maps have one spatial size, keyed by (size, how
    many runs of that size came before), in order."""
    segs: list[tuple[tuple, list[int]]] = []
    seen: dict[tuple, int] = {}
    for i, col in enumerate(cols):
        out = shaped.info[col.layers[-1].name].output
        size = tuple(out[1:]) if len(out) == 3 else ("vector",)
        if segs and segs[-1][0][0] == size:
            segs[-1][1].append(i)
            continue
        key = (size, seen.get(size, 0))
        seen[size] = key[1] + 1
        segs.append((key, [i]))
    return segs


def row_name(shaped: ShapedNetwork, name: str) -> str:
    """A row's name as the model names itself: its title without the
    citation in brackets ("VGG-11 (Simonyan and Zisserman, 2014)" -> "VGG-11")."""
    title = (shaped.network.title or "").strip()
    short = re.sub(r"\s*\([^()]*\)$", "", title).strip()
    return short or name


def _order(rows_keys: list[list[tuple]]) -> list[tuple]:
    """One order of the segment keys of every row, keeping each row's order."""
    order: list[tuple] = []
    for keys in rows_keys:
        at = 0
        for key in keys:
            if key in order:
                at = order.index(key) + 1
            else:
                order.insert(at, key)
                at += 1
    return order


def _written_below(rows) -> set[tuple[int, tuple]]:
    """The stages, as (row, (number, first, end)), whose label the last row
    writes: the same number, the same text, on maps of the same size. Their
    cells stand over the last row's (the rows are aligned on map sizes), so
    the label is written once, under the last row, as in ../reference/vgg.png."""
    def keyed(segs) -> dict[int, tuple]:
        return {i: key for key, idx in segs for i in idx}

    *upper, (_, _, last_shared, last_segs) = rows
    at = keyed(last_segs)
    last = {(number, tuple(text), at[i]) for (number, i, _), text in last_shared.items()}
    below = set()
    for k, (_, _, shared, segs) in enumerate(upper):
        key = keyed(segs)
        below |= {(k, run) for run, text in shared.items() if (run[0], tuple(text), key[run[1]]) in last}
    return below


def build(shapeds: list[ShapedNetwork], names: list[str], options: common.RenderOptions, style: str) -> Scene:
    if style not in ("bars", "short"):
        raise UsageError(f"several models are compared in the bars and short styles; the {style} style "
                         "draws one model at a time")
    for shaped, name in zip(shapeds, names):
        net = shaped.network
        if not net.is_chain:
            branch = next(l for l in net.layers if len(l.inputs) > 1 or len(net.consumers[l.name]) > 1)
            raise UsageError(f"a comparison draws chains of layers row by row, and {name} branches at "
                             f"{branch.name}; draw it on its own")
    theme, with_bars = options.theme, style == "bars"
    ids = common.Ids()
    rows, every_cols = [], []
    for shaped in shapeds:
        cols = _columns(shaped, style, options)
        for col in cols:
            col.label = wrap_label(col.label) if options.labels else []
        every_cols.append(cols)
    # one-cell stages are bracketed in every row where any row has a stage of several cells
    singles = with_bars and options.labels and any(stage_runs(cols, singles=False) for cols in every_cols)
    for shaped, cols in zip(shapeds, every_cols):
        stages = stage_runs(cols, singles=singles) if with_bars and options.labels else []
        shared = {}
        for number, i, j in stages:
            shared[(number, i, j)] = cols[i].label
            for col in cols[i:j]:
                col.label = []
        rows.append((shaped, cols, shared, _segments(shaped, cols)))

    def slot(col, last: bool) -> float:
        widths = [2 * R + GAP, label_width(col.label) + TEXT_GAP]
        if with_bars and last and options.labels and col.bar is not None:
            widths.append(text_width(col.bar[1], LABEL_SIZE) + TEXT_GAP)
        return max(widths)

    order = _order([[key for key, _ in segs] for *_, segs in rows])
    if any([order.index(key) for key, _ in segs] != sorted(order.index(key) for key, _ in segs)
           for *_, segs in rows):
        # the rows meet the same sizes in different orders (a network that goes back up):
        # no alignment keeps them all left to right, so the rows just start together
        rows = [(s, cols, shared, [(("row",), list(range(len(cols))))]) for s, cols, shared, _ in rows]
        order = [("row",)]
    below = _written_below(rows) if order != [("row",)] else set()  # unaligned rows label their own
    slots: dict[tuple, list[float]] = {key: [] for key in order}  # the n-th cell's slot in each segment
    for k, (_, cols, _, segs) in enumerate(rows):
        for key, idx in segs:
            widths = slots[key]
            for n, i in enumerate(idx):
                w = slot(cols[i], k == len(rows) - 1)
                if n < len(widths):
                    widths[n] = max(widths[n], w)
                else:
                    widths.append(w)
    whole = [row_name(s, n) for s, n in zip(shapeds, names)]
    shown = [cut_label(n) for n in whole]  # a long one whole in its tooltip
    name_w = max(text_width(n, NAME_SIZE, "bold") for n in shown) + 2 * TEXT_GAP
    seg_x, x = {}, MARGIN + name_w
    for key in order:
        seg_x[key] = x
        x += sum(slots[key])
    width = x + MARGIN

    items, top = [], MARGIN
    title, title_h = common.title_items(options.title, MARGIN, MARGIN, theme)
    items += title
    top += title_h
    cells, labels, marks, bars, kinds = [], [], [], [], []
    last_xs: dict[int, float] = {}
    all_xs: list[float] = []
    held: list[tuple[float, float]] = []
    for k, ((shaped, cols, shared, segs), name) in enumerate(zip(rows, names)):
        last = k == len(rows) - 1
        cy = top + R + 2 + head_room(cols)
        xs: dict[int, float] = {}
        for key, idx in segs:
            x = seg_x[key]
            for i, w in zip(idx, slots[key]):
                xs[i] = x + w / 2
                x += w
        mark = Text(MARGIN + name_w - TEXT_GAP, cy + NAME_SIZE * 0.36, shown[k], size=NAME_SIZE,
                    color=theme["label"], anchor="end", weight="bold", cls="model-name")
        marks.append(mark if shown[k] == whole[k] else Group((mark,), cls="model-name-cut", title=whole[k]))
        label_top = cy + R + 8
        for i, col in enumerate(cols):
            cells.append(cell_group(col, xs[i], cy, options, ids, style))
            kinds.append(col.kind)
            if col.label:
                labels.append(label_group(col, xs[i], label_top, theme, ids))
        drawn = {run: text for run, text in shared.items() if (k, run) not in below}
        for (number, i, j), text in drawn.items():
            labels.append(stage_group(text, number, xs[i], xs[j - 1], cy, label_top, theme, ids, cols[i]))
            held.append((xs[i], xs[j - 1]))
        all_xs += xs.values()
        lines = max((len(c.label) for c in cols), default=0)
        if drawn:
            lines = max(lines, max(len(t) for t in drawn.values()) + 2)
        top = label_top + lines * LABEL_LINE + ROW_GAP if lines else cy + R + ROW_GAP
        if last:
            last_xs = xs
    bottom = top - ROW_GAP
    if with_bars:
        shaped, cols = rows[-1][0], rows[-1][1]
        bar_base = bottom + 12 + BAR_MAX
        values = [c.bar[0] for c in cols if c.bar is not None]
        vmax = max(values, default=0) or 1
        bars = [bar_group(c, last_xs[i], bar_base, vmax, options, ids) for i, c in enumerate(cols)
                if c.bar is not None]
        bottom = bar_base + (6 + LABEL_SIZE + 5 if options.labels else 0)
    items += [Group(tuple(marks), cls="model-names", id="model-names"), Group(tuple(cells), cls="cells", id="cells")]
    if labels:
        items.append(Group(tuple(labels), cls="labels", id="labels"))
    if bars:
        items.append(Group(tuple(bars), cls="bars", id="bars"))
    if options.title:
        width = max(width, MARGIN * 2 + common.title_width(options.title))
    if options.legend:
        used = list(dict.fromkeys(kinds))
        legend, width, bottom = common.place_legend(
            lambda x, y, w: common.legend_items(used, x, y, w, theme), width, bottom, MARGIN)
        items += legend
    return Scene(width=math.ceil(width), height=math.ceil(bottom + MARGIN), children=tuple(items),
                 title=f"{', '.join(names)} ({style})",
                 desc="; ".join(common.network_desc(s) for s in shapeds), background=theme["background"],
                 meta={"cuts": _cuts(all_xs, held),
                       **({"bars": (bar_base - BAR_MAX, 12.0)} if bars else {})})


def _cuts(xs: list[float], held: list[tuple[float, float]]) -> list[float]:
    """Where the rows may be cut together when they wrap: half-way between
    two cell positions, where no stage's bracket runs."""
    xs = sorted(set(xs))
    mids = [round((a + b) / 2, 3) for a, b in zip(xs, xs[1:])]
    return [m for m in mids if not any(a < m < b for a, b in held)]
