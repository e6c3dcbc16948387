"""What the cell styles share: themes, render options, the cell icons of the
legend, labels and ids."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..ir import Layer, ShapedNetwork
from ..safetext import ELLIPSIS, LABEL_CHARS, TITLE_CHARS, cut_label
from ..scene import Circle, Group, Path, Polygon, Rect, Text, text_width

LAYER_CATEGORY = None  # filled lazily from netviz.layers


def category(layer: Layer) -> str:
    global LAYER_CATEGORY
    if LAYER_CATEGORY is None:
        from ..layers import BY_NAME
        LAYER_CATEGORY = {name: t.category for name, t in BY_NAME.items()}
    cat = LAYER_CATEGORY.get(layer.type, "custom")
    if cat == "custom" and (str(layer.attrs.get("kind", "")).lower() in PLUMBING
                            or layer.attrs.get("kind") == "cat" and len(layer.inputs) == 1):
        return "plumbing"
    return cat


# What traced models call that moves data without computing anything (or is
# the identity when the model is evaluated): no cell of its own, like an
# activation.
PLUMBING = frozenset({"view", "reshape", "permute", "transpose", "contiguous", "flatten", "unflatten",
                      "squeeze", "unsqueeze", "expand", "getitem", "chunk", "split", "slice", "identity",
                      "stochasticdepth", "dropout", "clone", "to", "type_as", "float", "detach",
                      # torchvision's MaxViT: windows and grids cut out of a map and put back
                      "windowpartition", "windowdepartition", "swapaxes"})

# Categories that are never cells: they are drawn as part of the layer before.
HIDDEN = frozenset({"act", "dropout", "flatten", "plumbing"})


@dataclass(frozen=True)
class Theme:
    name: str
    colors: dict
    description: str = ""

    def __getitem__(self, key: str) -> str:
        return self.colors[key]


THEMES = {
    "default": Theme("default", {
        "input": "#FFFF00", "conv": "#DD53B7", "conv_ring": "#EB96D3", "conv_pool_ring": "#B7248E",
        "maxpool": "#FF0000", "maxpool_ring": "#FF5555", "avgpool": "#FF7C80", "avgpool_ring": "#FFB3B5",
        "lrn": "#7F7F7F", "batchnorm": "#7F7F7F", "batchnorm_ring": "#B3B3B3", "fc": "#92D050",
        "output": "#FA992E", "output_mark": "#C76A0E", "add": "#843C0C", "concat": "#7030A0",
        "deconv": "#2F5597", "deconv_ring": "#547DC9", "deconv_line": "#DCE4F2",
        "upsample": "#8FAADC", "upsample_ring": "#C5D3EE",
        "recurrent": "#00B0F0", "recurrent_ring": "#46CCFF", "recurrent_line": "#E0F5FD",
        "recurrent_handle": "#5B9BD5", "recurrent_mark": "#0090C3",
        "embedding": "#92D050", "embedding_ring": "#C5E3A6",
        "norm": "#7F7F7F", "norm_ring": "#B3B3B3", "norm_text": "#FFFFFF",
        "attention": "#2E9C9A", "attention_ring": "#8FD1CF", "attention_mark": "#D5EFEE",
        "mul": "#C55A11", "mul_mark": "#FFFFFF", "gate_frame": "#C55A11",
        "custom": "#262626", "cell_text": "#FFFFFF", "label": "#5B9BD5", "bar": "#5B9BD5",
        "title": "#262626", "background": "#FFFFFF", "frame": "#F3F7FC",
    }, "the colours of the hand-drawn reference figures"),
    "colorblind": Theme("colorblind", {
        "input": "#F0E442", "conv": "#CC79A7", "conv_ring": "#E7BDD5", "conv_pool_ring": "#7A2E5C",
        "maxpool": "#D55E00", "maxpool_ring": "#EBA06A", "avgpool": "#E69F00", "avgpool_ring": "#F3CF80",
        "lrn": "#8C8C8C", "batchnorm": "#8C8C8C", "batchnorm_ring": "#C6C6C6", "fc": "#009E73",
        "output": "#56B4E9", "output_mark": "#1F6F9E", "add": "#6B3E1E", "concat": "#0072B2",
        "deconv": "#4A8AC9", "deconv_ring": "#A9CAE8", "deconv_line": "#EEF4FA",
        "upsample": "#B9D6EE", "upsample_ring": "#E1EDF8",
        "recurrent": "#5DADE2", "recurrent_ring": "#A9D3F0", "recurrent_line": "#EEF6FC",
        "recurrent_handle": "#1F5F8B", "recurrent_mark": "#1F5F8B",
        "embedding": "#009E73", "embedding_ring": "#80CFB9",
        "norm": "#8C8C8C", "norm_ring": "#C6C6C6", "norm_text": "#FFFFFF",
        "attention": "#332288", "attention_ring": "#9A91D0", "attention_mark": "#DDD9F2",
        "mul": "#D55E00", "mul_mark": "#FFFFFF", "gate_frame": "#D55E00",
        "custom": "#262626", "cell_text": "#1A1A1A", "label": "#0072B2", "bar": "#0072B2",
        "title": "#262626", "background": "#FFFFFF", "frame": "#F2F5F8",
    }, "Okabe-Ito colours, distinguishable with every common colour-vision deficiency"),
}


@dataclass(frozen=True)
class RenderOptions:
    title: str | None = None
    labels: bool = True
    legend: bool = False
    theme: Theme = field(default_factory=lambda: THEMES["default"])
    bar_metric: str = "size"
    streams: int | None = None  # org style: override the network's streams
    expand: bool = False  # bars, short: draw every repeated module, not one marked xN
    fold: str = "structure"  # bars, short: fold modules of one structure, or only identical ones ("exact")
    direction: str = "TB"  # graph: top-down (TB) or left to right (LR)
    max_nodes: int = 1000  # graph: the most cells handed to Graphviz's dot
    tangles: str = "graph"  # bars, short: a part that does not split laid out by dot, or "brackets"
    fit_mm: float | None = None  # --fit: the printed width in mm (graph: a tighter layout where it helps)


LEGEND_NAMES = {
    "input": "Input", "conv": "Convolution", "conv_pool": "Convolution + pooling",
    "conv_group": "Group convolution", "conv_dw": "Depthwise convolution",
    "conv_1xn": "Convolution (1*n)", "conv_nx1": "Convolution (n*1)",
    "maxpool": "Max pooling", "avgpool": "Average pooling", "lrn": "Local response normalisation",
    "batchnorm": "Batch normalisation", "fc": "Fully connected", "output": "Softmax output",
    "add": "Element-wise sum", "concat": "Concatenation", "custom": "Other module",
    "deconv": "Deconvolution", "upsample": "Upsampling",
    "lstm": "LSTM", "bilstm": "Bidirectional LSTM", "gru": "GRU", "rnn": "RNN",
    "embedding": "Embedding",
    "layernorm": "Layer normalisation", "groupnorm": "Group normalisation",
    "rmsnorm": "RMS normalisation", "attention": "Attention (heads)",
    "attention_window": "Window attention", "mul": "Element-wise product (gate)",
}

# The letters in a normalisation cell, and the merge cells drawn as small dots.
NORM_MARKS = {"layernorm": "LN", "groupnorm": "GN", "rmsnorm": "RMS"}
DOTS = ("add", "concat", "mul")


def cell_kind(layer: Layer, shaped: ShapedNetwork) -> str:
    """The legend kind of a layer's cell (see LEGEND_NAMES)."""
    cat = category(layer)
    if cat == "conv":
        kh, kw = layer.attrs["kernel"]
        groups = layer.attrs["groups"]
        cin = shaped.info[layer.name].inputs[0][0]
        if groups > 1 and groups == cin:
            return "conv_dw"
        if groups > 1:
            return "conv_group"
        if kh == 1 and kw > 1:
            return "conv_1xn"
        if kw == 1 and kh > 1:
            return "conv_nx1"
        return "conv"
    if cat == "softmax":
        return "output"
    if cat == "norm":
        return layer.type
    if cat == "attention":
        return "attention_window" if layer.attrs.get("kind") == "windowed" else "attention"
    if cat == "recurrent":
        if layer.type == "lstm" and layer.attrs.get("bidirectional"):
            return "bilstm"
        return layer.type
    if cat in LEGEND_NAMES:
        return cat
    return "custom"


def draw_cell(kind: str, cx: float, cy: float, r: float, theme: Theme) -> list:
    """The icon of one cell kind, as in the reference legend."""
    t = theme
    if kind in ("conv", "conv_group", "conv_pool"):
        ring = t["conv_pool_ring"] if kind == "conv_pool" else t["conv_ring"]
        items = [Circle(cx, cy, r, fill=ring), Circle(cx, cy, r * 0.8, fill=t["conv"])]
        return items
    if kind == "conv_1xn":
        return [Circle(cx, cy, r, fill=t["conv_ring"], rx=r, ry=r * 0.55),
                Circle(cx, cy, r, fill=t["conv"], rx=r * 0.82, ry=r * 0.4)]
    if kind == "conv_nx1":
        return [Circle(cx, cy, r, fill=t["conv_ring"], rx=r * 0.55, ry=r),
                Circle(cx, cy, r, fill=t["conv"], rx=r * 0.4, ry=r * 0.82)]
    if kind == "conv_dw":
        return [Circle(cx, cy, r, fill=t["conv_ring"], rx=r * 0.6, ry=r, rotate=40),
                Circle(cx, cy, r, fill=t["conv"], rx=r * 0.45, ry=r * 0.82, rotate=40)]
    if kind in ("maxpool", "avgpool"):
        return [Circle(cx, cy, r, fill=t[f"{kind}_ring"]), Circle(cx, cy, r * 0.82, fill=t[kind])]
    if kind in ("deconv", "upsample"):  # the legend's deconvolution cell; upsampling paler
        return [Circle(cx, cy, r, fill=t[f"{kind}_ring"]),
                Circle(cx, cy, r * 0.8, fill=t[kind], stroke=t["deconv_line"],
                       stroke_width=max(0.8, r * 0.035))]
    if kind in RECURRENT_KINDS:
        return recurrent_cell(kind, cx, cy, r, t)
    if kind == "embedding":  # the legend's ringed hidden cell: a dense layer on one-hot ids
        return [Circle(cx, cy, r, fill=t["embedding_ring"]), Circle(cx, cy, r * 0.8, fill=t["embedding"])]
    if kind == "batchnorm":
        return [Circle(cx, cy, r, fill=t["batchnorm_ring"]), Circle(cx, cy, r * 0.8, fill=t["batchnorm"])]
    if kind == "output":
        tri = ((cx, cy - r * 0.62), (cx - r * 0.56, cy + r * 0.4), (cx + r * 0.56, cy + r * 0.4))
        return [Circle(cx, cy, r, fill=t["output"]),
                Polygon(tri, fill=None, stroke=t["output_mark"], stroke_width=max(1.5, r * 0.07),
                        opacity=0.7)]
    if kind in ("add", "concat"):
        return [Circle(cx, cy, r * 0.38, fill=t[kind])]
    if kind == "mul":  # a product: the merge dot with a cross in it
        d, w = r * 0.38, max(1.2, r * 0.05)
        a = d * 0.5
        return [Circle(cx, cy, d, fill=t["mul"]),
                Path(((cx - a, cy - a), (cx + a, cy + a)), stroke=t["mul_mark"], stroke_width=w,
                     cls="mark"),
                Path(((cx - a, cy + a), (cx + a, cy - a)), stroke=t["mul_mark"], stroke_width=w,
                     cls="mark")]
    if kind in NORM_MARKS:  # grey as LRN and batchnorm, ringed, with its letters
        text = NORM_MARKS[kind]
        return [Circle(cx, cy, r, fill=t["norm_ring"]), Circle(cx, cy, r * 0.8, fill=t["norm"]),
                Text(cx, cy + r * (0.18 if len(text) == 2 else 0.14), text,
                     size=r * (0.5 if len(text) == 2 else 0.4), color=t["norm_text"], weight="bold",
                     cls="mark")]
    if kind == "attention":
        return [Circle(cx, cy, r, fill=t["attention_ring"]), Circle(cx, cy, r * 0.8, fill=t["attention"])]
    if kind == "attention_window":  # the ring around a window: a square with rounded corners
        h = r * 0.7
        return [Circle(cx, cy, r, fill=t["attention_ring"]),
                Rect(cx - h, cy - h, 2 * h, 2 * h, fill=t["attention"], rx=r * 0.14,
                     stroke=t["attention_mark"], stroke_width=max(0.8, r * 0.035))]
    if kind == "custom":
        return [Circle(cx, cy, r * 0.85, fill=t["custom"])]
    return [Circle(cx, cy, r, fill=t[kind])]  # input, lrn, fc


RECURRENT_KINDS = ("lstm", "bilstm", "gru", "rnn")


def recurrent_cell(kind: str, cx: float, cy: float, r: float, t: Theme) -> list:
    """The legend's memory cells: a blue disc with a loop handle on top; the LSTM
    cell ringed, the GRU cell marked with a triangle, the bidirectional LSTM
    with a square. The handle rises 0.45 r above the disc."""
    hr, hy = r * 0.55, cy - r * 0.9  # the handle: an arc over the disc's top
    arc = tuple((cx + hr * math.cos(math.pi * k / 16), hy - hr * math.sin(math.pi * k / 16))
                for k in range(17))
    items: list = [Path(((arc[0][0], hy + r * 0.2),) + arc + ((arc[-1][0], hy + r * 0.2),),
                        stroke=t["recurrent_handle"], stroke_width=max(1.0, r * 0.06),
                        cls="handle")]
    if kind == "lstm":
        items += [Circle(cx, cy, r, fill=t["recurrent_ring"]),
                  Circle(cx, cy, r * 0.8, fill=t["recurrent"], stroke=t["recurrent_line"],
                         stroke_width=max(0.6, r * 0.03))]
    else:
        items.append(Circle(cx, cy, r, fill=t["recurrent"]))
    mark = dict(fill=None, stroke=t["recurrent_mark"], stroke_width=max(1.2, r * 0.06), opacity=0.7)
    if kind == "gru":
        items.append(Polygon(((cx, cy - r * 0.72), (cx - r * 0.66, cy + r * 0.52),
                              (cx + r * 0.66, cy + r * 0.52)), **mark))
    if kind == "bilstm":
        h = r * 0.6
        items.append(Polygon(((cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)),
                             **mark))
    return items


def recurrent_text(layer: Layer) -> list[str]:
    """A recurrent layer in words: ["LSTM 128", "2 layers, bi", "last step"]."""
    a = layer.attrs
    first = f"{layer.type.upper()} {a['hidden']}"
    if a.get("proj_size"):
        first += f"->{a['proj_size']}"
    second = []
    if a.get("layers", 1) > 1:
        second.append(f"{a['layers']} layers")
    if a.get("bidirectional"):
        second.append("bi")
    if layer.type == "rnn" and a.get("nonlinearity", "tanh") != "tanh":
        second.append(a["nonlinearity"])
    lines = [first] + ([", ".join(second)] if second else [])
    return lines + (["last step"] if a.get("last") else [])


def group_mark(kind: str, cx: float, cy: float, r: float, theme: Theme, show: bool,
               size: float | None = None) -> list:
    """The 'G' of a group convolution cell (legend-cells): 0.6 r high unless
    SIZE is given (a legend's small cells give their text's size, so that
    the mark prints as large as the words beside it), its ink centred on the cell."""
    if kind != "conv_group" or not show:
        return []
    size = r * 0.6 if size is None else size
    return [Text(cx, cy + size * 0.22 / 0.6, "G", size=size, color=theme["cell_text"], cls="mark")]


_ID_BAD = re.compile(r"[^A-Za-z0-9_-]+")


class Ids:
    """Deterministic, unique, XML-safe ids and class names from layer names."""

    def __init__(self):
        self.used: set[str] = set()

    @staticmethod
    def token(name: str) -> str:
        tok = _ID_BAD.sub("_", name).strip("_") or "layer"
        return tok if tok[0].isalpha() else f"l{tok}"

    def make(self, prefix: str, name: str) -> str:
        base = f"{prefix}-{self.token(name)}"
        cand, n = base, 1
        while cand in self.used:
            n += 1
            cand = f"{base}-{n}"
        self.used.add(cand)
        return cand


def kernel_text(layer: Layer) -> str:
    kh, kw = layer.attrs["kernel"]
    return f"{kh}*{kw}"


def upsample_text(layer: Layer, times: str = "x") -> list[str]:
    """An upsampling's factor or size, then its mode: ["x2", "bilinear"], ["to 32*32", "nearest"]."""
    a = layer.attrs
    if a.get("size") is not None:
        h, w = a["size"]
        first = f"to {h}{times}{w}"
    else:
        first = f"x{a['scale']:g}"
    return [first, a.get("mode", "nearest")]


def pair_text(value) -> str:
    """A stride, pad or dilation: 2, or (1,2) when height and width differ."""
    a, b = value
    return str(a) if a == b else f"({a},{b})"


def title_items(text: str | None, x: float, y: float, theme: Theme) -> tuple[list, float]:
    """A title line at (x, y top); returns the items and the height used. A
    title past TITLE_CHARS characters is cut, whole in its tooltip."""
    if not text:
        return [], 0.0
    shown = cut_label(text, TITLE_CHARS)
    item = Text(x, y + 18, shown, size=18, color=theme["title"], anchor="start", weight="bold", cls="title")
    if shown != text:
        return [Group((item,), cls="title-cut", title=text)], 30.0
    return [item], 30.0


def title_width(text: str | None) -> float:
    """The width of the title line title_items draws."""
    return text_width(cut_label(text, TITLE_CHARS), 18, "bold") if text else 0.0


# Every box, bar or slab whose size a style computes from a layer's
# numbers (rows, columns, channels, features, values) is drawn at most this
# long, whatever the numbers: the figure stays drawable, and the numbers are
# in its labels and tooltips. The shipped networks never reach it.
MAX_DRAWN = 600.0


def capped(size: float, limit: float = MAX_DRAWN) -> float:
    """SIZE (pixels, computed from a layer's numbers), at most LIMIT."""
    return min(size, limit)


def kind_text(layer: Layer, default: str = "custom") -> str:
    """A custom layer's kind as a figure draws it: cut past LABEL_CHARS
    characters (whole in the tooltip, see layer_tooltip)."""
    return cut_label(str(layer.attrs.get("kind", default)))


LABEL_LINES = 4  # the most lines of a layer's own label a figure draws


def label_lines(layer: Layer) -> list[str]:
    """A layer's own label (the spec's ``label``) as a figure draws it, one
    string per line: cut past LABEL_CHARS characters in all, and past
    LABEL_LINES lines (whole in the tooltip)."""
    lines = cut_label(layer.label).split("\n")
    if len(lines) > LABEL_LINES:
        lines = lines[:LABEL_LINES]
        lines[-1] += ELLIPSIS
    return lines


def uncut(layer: Layer) -> str:
    """What figures cut of LAYER's kind or label, whole, for its tooltip:
    '' when nothing is cut."""
    out = ""
    kind = layer.attrs.get("kind")
    if kind is not None and len(str(kind)) > LABEL_CHARS:
        out += f", kind: {kind}"
    if layer.label and (len(layer.label) > LABEL_CHARS or layer.label.count("\n") >= LABEL_LINES):
        out += f", label: {layer.label}"
    return out


# How far the icons drawn smaller than a cell reach, as a part of the cell's radius.
ICON_REACH = {"add": 0.38, "concat": 0.38, "mul": 0.38, "custom": 0.85}


def legend_icon(kind: str, cx: float, cy: float, r: float, theme: Theme, mark_size: float | None = None) -> list:
    """A cell kind's swatch in a legend: every kind reaches R, the merge dots
    and the other-module cell too (in a figure they are drawn smaller, but in a
    legend a swatch shows a colour, and all swatches are one size); a group
    convolution's 'G' MARK_SIZE high (see group_mark). A normalisation
    cell's letters are left out of its swatch: at a legend's size they do not
    fit in it legibly, so legend_mark writes them beside it."""
    items = draw_cell(kind, cx, cy, r / ICON_REACH.get(kind, 1.0), theme)
    if kind in NORM_MARKS:
        items = [i for i in items if not isinstance(i, Text)]
    return items + group_mark(kind, cx, cy, r, theme, show=True, size=mark_size)


LEGEND_MARK_GAP = 0.4  # em: between a normalisation cell's letters and its name in a legend


def legend_mark(kind: str, x: float, baseline: float, size: float, color: str) -> tuple[list, float]:
    """A normalisation cell's letters (LN, GN, RMS) in a legend, bold, as
    large as the entry's words (SIZE) and starting at X, so that the letters
    read as well as the 'G' in its swatch; returns the items and how far
    the words after them move right (nothing for other kinds)."""
    if kind not in NORM_MARKS:
        return [], 0.0
    text = NORM_MARKS[kind]
    return ([Text(x, baseline, text, size=size, color=color, anchor="start", weight="bold", cls="mark")],
            text_width(text, size, "bold") + LEGEND_MARK_GAP * size)


def legend_items(kinds: list[str], x: float, y: float, max_width: float, theme: Theme) -> tuple[list, float, float]:
    """A legend of the cell kinds used, wrapped into rows; returns items, width, height."""
    r, gap, size = 9.0, 18.0, 12.0
    items, cx, cy, row_h, widest = [], x, y + r, 2 * r + 8, 0.0
    for kind in kinds:
        name = LEGEND_NAMES[kind]
        _, shift = legend_mark(kind, 0.0, 0.0, size, "#404040")
        w = 2 * r + 6 + shift + text_width(name, size)
        if cx > x and cx + w > x + max_width:
            cx, cy = x, cy + row_h
        icon = legend_icon(kind, cx + r, cy, r, theme, mark_size=size)
        mark, _ = legend_mark(kind, cx + 2 * r + 6, cy + size * 0.36, size, "#404040")
        items.append(Group(tuple(icon) + tuple(mark) + (Text(cx + 2 * r + 6 + shift, cy + size * 0.36, name,
                                                             size=size, color="#404040", anchor="start",
                                                             cls="legend-text"),),
                           cls=f"legend-item {kind}"))
        cx += w + gap
        widest = max(widest, cx - gap - x)
    height = (cy + r) - y if kinds else 0.0
    return [Group(tuple(items), cls="legend", id="legend")] if items else [], widest, height


LEGEND_GAP = 20.0  # px between a figure's drawing and its legend
LEGEND_LEAST = 300.0  # px: the narrowest a legend's rows are wrapped to


def place_legend(draw, width: float, bottom: float, margin: float) -> tuple[list, float, float]:
    """A legend under a figure whose drawing ends at BOTTOM: DRAW(x, y,
    max_width) draws it (returning items, width, height) at the left margin,
    wrapped to the figure's width (or LEGEND_LEAST). Returns its items and the
    figure's width and bottom with the legend."""
    items, w, h = draw(margin, bottom + LEGEND_GAP, max(width - 2 * margin, LEGEND_LEAST))
    return items, max(width, margin * 2 + w), bottom + LEGEND_GAP + h


def network_desc(shaped: ShapedNetwork) -> str:
    from ..ir import format_shape
    net = shaped.network
    return (f"{net.title or net.name}: input {format_shape(shaped.input_shape)}, {len(net.layers)} layers, "
            f"{shaped.total_params:,} parameters, {shaped.total_macs:,} multiply-adds")


def layer_tooltip(layer: Layer, shaped: ShapedNetwork) -> str:
    from ..ir import format_shape
    info = shaped.info[layer.name]
    return f"{layer.name} ({layer.type}): {format_shape(info.output)}, {info.params:,} params" + uncut(layer)



