"""How the cell styles name and measure a layer's output: its layout (a
channels-first map CxHxW or volume CxDxHxW, a channels-last map HxWxC as ConvNeXt and Swin
carry between their permutes, a sequence of tokens TxD, a vector), its label
(maps always C*H*W, sequences 197x768) and its bar (a map's side, a
sequence's length; the two on scales of their own where a figure has both)."""
from __future__ import annotations

from ..ir import ShapedNetwork
from . import common

CHW, HWC, SEQ, VEC = "chw", "hwc", "seq", "vec"
# categories whose output is a channels-first map whatever they read
_MAPS = frozenset({"conv", "deconv", "maxpool", "avgpool", "upsample", "lrn", "batchnorm"})
_MOVES = frozenset({"permute", "transpose"})

SCALE_NAMES = {"image": "bar height: side of the map", "seq": "bar height: tokens"}


def layouts(shaped: ShapedNetwork) -> dict[str, str]:
    """Each layer's output layout, followed from the input through the network."""
    out: dict[str, str] = {}
    info = shaped.info
    for layer in shaped.network.layers:
        shape = info[layer.name].output
        if len(shape) == 2:
            out[layer.name] = SEQ
        elif len(shape) > 3:  # a channels-first volume, CxDxHxW: a video's frames, a 3-D scan
            out[layer.name] = CHW
        elif len(shape) != 3:
            out[layer.name] = VEC
        elif layer.type == "attention" and layer.attrs.get("kind") == "windowed":
            out[layer.name] = HWC
        elif not layer.inputs or common.category(layer) in _MAPS:
            out[layer.name] = CHW
        else:
            src = layer.inputs[0]
            before, was = info[src].output, out.get(src, CHW)
            kind = str(layer.attrs.get("kind", "")).lower() if layer.type == "custom" else ""
            if kind in _MOVES and len(before) == 3 and shape != before:
                if was == CHW and shape == (before[1], before[2], before[0]):
                    out[layer.name] = HWC
                elif was == HWC and shape == (before[2], before[0], before[1]):
                    out[layer.name] = CHW
                else:
                    out[layer.name] = CHW
            else:
                out[layer.name] = was if len(before) == 3 else CHW
    return out


def shape_text(shape: tuple, layout: str) -> str:
    """A map as C*H*W (a channels-last one reordered), a sequence as TxD."""
    if layout == HWC:
        h, w, c = shape
        return f"{c}*{h}*{w}"
    if layout == SEQ:
        return "x".join(str(d) for d in shape)
    return "*".join(str(d) for d in shape)


def side(shape: tuple, layout: str) -> int:
    """A bar's height: a map's side (a volume's height), a sequence's length;
    1 for a vector."""
    if layout == CHW:
        return shape[-2]
    if layout in (HWC, SEQ):
        return shape[0]
    return 1


def scale_of(layout: str) -> str:
    return "seq" if layout == SEQ else "image"
