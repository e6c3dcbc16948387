"""``bars``: one cell per drawn layer, its kernel label under it, and under
that a bar chart of feature-map sizes (../reference/alexnet.png). A batch
normalisation right after a convolution shares the convolution's cell, as in
resnet50.png; activations, dropout and flatten have no cell."""
from __future__ import annotations

from ..errors import UsageError
from ..ir import ShapedNetwork
from . import common
from .row import Column, bar_for, layout, tooltip

METRICS = ("size", "params", "macs", "time", "memory")
BARRED = {"input", "conv", "maxpool", "avgpool", "fc", "add", "concat", "custom", "deconv", "upsample",
          "recurrent", "embedding", "attention", "mul"}
# what a normalisation shares a cell with, as batchnorm does a convolution's
_NORMALISED = {"batchnorm": ("conv",), "norm": ("conv", "fc")}


def conv_label(layer) -> list[str]:
    a = layer.attrs
    first = f"{common.kernel_text(layer)},{a['out']}"
    if a["stride"] != (1, 1):
        first += f",stride={common.pair_text(a['stride'])}"
    second = []
    if a["pad"] != (0, 0):
        second.append(f"pad={common.pair_text(a['pad'])}")
    if a.get("output_pad", (0, 0)) != (0, 0):
        second.append(f"output_pad={common.pair_text(a['output_pad'])}")
    if a["dilation"] != (1, 1):
        second.append(f"dilation={common.pair_text(a['dilation'])}")
    return [first] + ([",".join(second)] if second else [])


def label_for(layer) -> list[str]:
    if layer.label:
        return common.label_lines(layer)
    cat = common.category(layer)
    if cat in ("conv", "deconv"):
        return conv_label(layer)
    if cat == "upsample":
        return common.upsample_text(layer, "*")
    if cat == "fc":
        return [str(layer.attrs["out"])]
    if cat == "recurrent":
        return common.recurrent_text(layer)
    if cat == "embedding":
        return [f"{layer.attrs['dim']}", f"vocab {layer.attrs['num']}"]
    if cat == "custom":
        return [common.kind_text(layer)]
    if cat == "attention":
        return attention_label(layer)
    if cat == "mul":
        return ["scale"] if layer.attrs.get("scale") is not None else []
    if cat == "add":
        return ["bias"] if layer.attrs.get("bias") is not None else []
    return []


def attention_label(layer, times: str = "*") -> list[str]:
    """A window and its shift, or "products" for attention without projections."""
    a = layer.attrs
    if a.get("kind") == "windowed":
        wh, ww = a["window"]
        shift = a.get("shift", (0, 0))
        return [f"window {wh}{times}{ww}"] + ([f"shift {common.pair_text(shift)}"] if any(shift) else [])
    return [] if a.get("project", True) else ["products"]


def inner_for(layer) -> list[str]:
    """The text inside a cell: an attention's heads."""
    if common.category(layer) == "attention":
        return [f"{layer.attrs['heads']} heads"]
    return []


def columns(shaped: ShapedNetwork, metric: str = "size") -> list[Column]:
    if metric not in METRICS:
        raise UsageError(f"unknown bar metric {metric!r}; use {', '.join(METRICS)}")
    if metric in ("time", "memory"):
        key = {"time": "time_ms", "memory": "memory_mb"}[metric]
        if not shaped.metrics:
            raise UsageError(f"--bar-metric {metric} needs per-layer measurements: give a PyTorch model "
                             "(e.g. torchvision:alexnet) and --profile")
        if not any(key in m for m in shaped.metrics.values()):
            raise UsageError(f"--bar-metric {metric}: this profile has no {metric} per layer "
                             "(peak memory is measured on CUDA only)")
    from . import tensors
    cols = []
    net = shaped.network
    owner: dict[str, Column] = {}
    layouts = tensors.layouts(shaped)
    images = any(v in (tensors.CHW, tensors.HWC) for v in layouts.values())
    for layer in net.layers:
        cat = common.category(layer)
        if cat in common.HIDDEN:
            continue
        conv = _cell_before(layer, owner, net, _NORMALISED[cat]) if cat in _NORMALISED else None
        if conv is not None:  # conv + batchnorm is one unit: one cell
            conv.layers += (layer,)
            conv.tooltip = tooltip(conv.layers, shaped)
            continue
        kind = common.cell_kind(layer, shaped)
        show_bar = cat in BARRED if metric == "size" else True
        layout = layouts[layer.name]
        token_ids = layer.type == "input" and any(
            net[c].type == "embedding" for c in net.consumers[layer.name])
        seq = layout == tensors.SEQ or token_ids or (layout == tensors.VEC and not images)
        cols.append(Column(kind=kind, layers=(layer,), label=label_for(layer), inner=inner_for(layer),
                           bar=bar_for(layer, shaped, metric, layout) if show_bar else None,
                           tooltip=tooltip((layer,), shaped),
                           scale="seq" if seq and metric == "size" else "image"))
        owner[layer.name] = cols[-1]
    return cols


def _cell_before(layer, owner: dict, net, categories):
    """The column of the convolution (or fc) a normalisation normalises, if it
    reads from nothing else and nothing else reads the convolution (layers
    without a cell between them, a permute, say, are looked through)."""
    if len(layer.inputs) != 1 or layer.label:
        return None
    src = layer.inputs[0]
    while src not in owner:
        before = net[src]
        if common.category(before) not in common.HIDDEN or len(before.inputs) != 1 \
                or len(net.consumers[src]) != 1:
            return None
        src = before.inputs[0]
    col = owner[src]
    if common.category(col.layers[-1]) not in categories or len(net.consumers[col.layers[-1].name]) != 1:
        return None
    return col


def build(shaped: ShapedNetwork, options: common.RenderOptions):
    return layout(shaped, columns(shaped, options.bar_metric), options, with_bars=True, style="bars")
