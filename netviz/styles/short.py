"""``short``: the compact row where each convolution followed by pooling
merges into one dark-ringed cell (../reference/equal.png); LRN, batch, layer,
group and RMS normalisation, activations and dropout are left out (they
belong to the layer before them); kernel and channels are written in the
cells, an attention's heads (and window) in its cell."""
from __future__ import annotations

from ..ir import ShapedNetwork
from . import common
from .row import Column, layout, tooltip

LEFT_OUT = common.HIDDEN | {"lrn", "batchnorm", "norm"}


def inner_for(layer) -> list[str]:
    if layer.label:
        return common.label_lines(layer)
    cat = common.category(layer)
    if cat in ("conv", "deconv"):
        return [common.kernel_text(layer), str(layer.attrs["out"])]
    if cat == "upsample":
        return common.upsample_text(layer, "*")[:1]
    if cat == "fc":
        return [str(layer.attrs["out"])]
    if cat == "recurrent":
        a = layer.attrs
        return [layer.type.upper(), f"{'2*' if a['bidirectional'] else ''}{a['hidden']}"]
    if cat == "embedding":
        return [str(layer.attrs["dim"])]
    if cat in ("maxpool", "avgpool") and "kernel" in layer.attrs:
        return [common.kernel_text(layer)]
    if cat == "attention":
        a = layer.attrs
        heads = f"{a['heads']} heads"
        if a.get("kind") == "windowed":
            return [f"{a['window'][0]}*{a['window'][1]}", heads]
        return [heads]
    if cat == "custom":
        return [common.kind_text(layer)]
    return []


def pool_after(shaped: ShapedNetwork, conv) -> tuple[list, object] | None:
    """The pool a conv runs into through left-out layers only, on a plain path."""
    net = shaped.network
    skipped, name = [], conv.name
    while True:
        users = net.consumers[name]
        if len(users) != 1:
            return None
        nxt = net[users[0]]
        if len(nxt.inputs) != 1:
            return None
        cat = common.category(nxt)
        if cat in ("maxpool", "avgpool"):
            return skipped, nxt
        if cat not in LEFT_OUT:
            return None
        skipped.append(nxt)
        name = nxt.name


def columns(shaped: ShapedNetwork) -> list[Column]:
    cols, merged = [], set()
    for layer in shaped.network.layers:
        if layer.name in merged:
            continue
        cat = common.category(layer)
        if cat in LEFT_OUT:
            continue
        kind = common.cell_kind(layer, shaped)
        if kind == "conv_group":
            kind = "conv"  # the cell's text leaves no room for the 'G' mark
        layers = (layer,)
        if cat == "conv" and kind not in ("conv_1xn", "conv_nx1", "conv_dw"):
            found = pool_after(shaped, layer)
            if found is not None:
                _, pool = found
                merged.add(pool.name)
                layers = (layer, pool)
                kind = "conv_pool"
        cols.append(Column(kind=kind, layers=layers, inner=inner_for(layer),
                           tooltip=tooltip(layers, shaped)))
    return cols


def build(shaped: ShapedNetwork, options: common.RenderOptions):
    return layout(shaped, columns(shaped), options, with_bars=False, style="short")
