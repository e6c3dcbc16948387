"""The legend of every cell kind, as one figure (../reference/legend-cells.png):
the kinds in groups (inputs and outputs, hidden, convolution, pooling,
normalisation, memory, attention, connections), each with its icon and name, so that
a document can show the key once for all its figures."""
from __future__ import annotations

import math

from ..scene import Group, Scene, Text, text_width
from . import common

GROUPS = (
    ("Input and output", ("input", "output")),
    ("Hidden", ("fc", "embedding")),
    ("Convolution", ("conv", "conv_1xn", "conv_nx1", "conv_dw", "conv_group", "conv_pool", "deconv")),
    ("Pooling and upsampling", ("maxpool", "avgpool", "upsample")),
    ("Normalisation", ("lrn", "batchnorm", "layernorm", "groupnorm", "rmsnorm")),
    ("Memory", ("rnn", "lstm", "gru", "bilstm")),
    ("Attention", ("attention", "attention_window")),
    ("Connection", ("concat", "add", "mul")),
    ("Other", ("custom",)),
)
R = 20.0
ROW = 2 * R + 16
HEAD = 30.0
MARGIN = 18.0
NAME_SIZE = 14.0
HEAD_SIZE = 15.0
GAP = 36.0


def _row(kinds) -> float:
    """A row's height: the memory cells' loop handles need more."""
    return ROW + (R * 0.45 if set(kinds) & set(common.RECURRENT_KINDS) else 0.0)


def _shift(kind: str) -> float:
    """How far a kind's name moves right for the letters written before it."""
    return common.legend_mark(kind, 0.0, 0.0, NAME_SIZE, "")[1]


def build(theme: common.Theme, columns: int = 4) -> Scene:
    """Every kind of LEGEND_NAMES, grouped, in COLUMNS columns (groups are
    dealt to the columns in order, each to the shortest so far)."""
    listed = [k for _, kinds in GROUPS for k in kinds]
    assert sorted(listed) == sorted(common.LEGEND_NAMES), "every cell kind has a place in the legend"
    heights = [0.0] * columns
    placed: list[list] = [[] for _ in range(columns)]
    for title, kinds in GROUPS:
        col = min(range(columns), key=lambda c: (heights[c], c))
        placed[col].append((title, kinds, heights[col]))
        heights[col] += HEAD + len(kinds) * _row(kinds) + 10
    widths = []
    for col in placed:
        w = 0.0
        for title, kinds, _ in col:
            w = max(w, text_width(title, HEAD_SIZE, "bold"),
                    *(2 * R + 12 + _shift(k) + text_width(common.LEGEND_NAMES[k], NAME_SIZE) for k in kinds))
        widths.append(w)
    items, x = [], MARGIN
    for col, w in zip(placed, widths):
        for title, kinds, top in col:
            y = MARGIN + top
            entries = [Text(x, y + HEAD_SIZE, title, size=HEAD_SIZE, color=theme["title"], anchor="start",
                            weight="bold", cls="legend-group-title")]
            for n, kind in enumerate(kinds):
                cy = y + HEAD + n * _row(kinds) + R + (_row(kinds) - ROW)
                icon = common.legend_icon(kind, x + R, cy, R, theme)
                mark, _ = common.legend_mark(kind, x + 2 * R + 12, cy + NAME_SIZE * 0.36, NAME_SIZE,
                                             theme["title"])
                entries.append(Group(tuple(icon) + tuple(mark) + (
                    Text(x + 2 * R + 12 + _shift(kind), cy + NAME_SIZE * 0.36, common.LEGEND_NAMES[kind],
                         size=NAME_SIZE, color=theme["title"], anchor="start", cls="legend-text"),),
                    cls=f"legend-item {kind}"))
            items.append(Group(tuple(entries), cls="legend-group"))
        x += w + GAP
    width = x - GAP + MARGIN
    height = MARGIN + max(heights) + MARGIN
    return Scene(width=math.ceil(width), height=math.ceil(height), children=tuple(items),
                 title="netviz cell legend", desc="every kind of cell the bars and short styles draw",
                 background=theme["background"])
