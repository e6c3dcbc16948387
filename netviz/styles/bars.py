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
          "recurrent", "embedding"}


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
        return layer.label.split("\n")
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
        return [str(layer.attrs.get("kind", "custom"))]
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
    cols = []
    net = shaped.network
    owner: dict[str, Column] = {}
    for layer in net.layers:
        cat = common.category(layer)
        if cat in common.HIDDEN:
            continue
        conv = _conv_before(layer, owner, net) if cat == "batchnorm" else None
        if conv is not None:  # conv + batchnorm is one unit: one cell
            conv.layers += (layer,)
            conv.tooltip = tooltip(conv.layers, shaped)
            continue
        kind = common.cell_kind(layer, shaped)
        show_bar = cat in BARRED if metric == "size" else True
        cols.append(Column(kind=kind, layers=(layer,), label=label_for(layer),
                           bar=bar_for(layer, shaped, metric) if show_bar else None,
                           tooltip=tooltip((layer,), shaped)))
        owner[layer.name] = cols[-1]
    return cols


def _conv_before(layer, owner: dict, net):
    """The column of the convolution a batchnorm normalises, if it reads
    from nothing else and nothing else reads the convolution."""
    if len(layer.inputs) != 1 or layer.label:
        return None
    col = owner.get(layer.inputs[0])
    if col is None or common.category(col.layers[-1]) != "conv" or len(net.consumers[col.layers[-1].name]) != 1:
        return None
    return col


def build(shaped: ShapedNetwork, options: common.RenderOptions):
    return layout(shaped, columns(shaped, options.bar_metric), options, with_bars=True, style="bars")
