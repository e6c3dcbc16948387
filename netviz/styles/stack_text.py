"""The text of the ``stack`` style's units: "11x11 conv, 96, /4, pool/2",
"3x3 max pool, /2", "fc, 4096"."""
from __future__ import annotations

from ..ir import ShapedNetwork, format_shape
from ..safetext import cut_label
from . import common

def _xy(pair) -> str:
    return f"{pair[0]}x{pair[1]}"


def _pool_words(pool) -> str:
    """The pooling a convolution merges with: "pool/2", "avg pool/2"."""
    avg = "avg " if common.category(pool) == "avgpool" else ""
    if pool.type.startswith("global"):
        return "global avg pool"
    if pool.type.startswith("adaptive"):
        return f"{avg}pool to {_xy(pool.attrs['output'])}"
    stride = pool.attrs["stride"]
    if tuple(stride) == (1, 1):
        return f"{_xy(pool.attrs['kernel'])} {avg}pool"
    return f"{avg}pool/{common.pair_text(stride)}"


def _pool_box(pool, labels: bool) -> str:
    """A pooling box of its own: "3x3 max pool, /2", "adaptive avg pool, 6x6"."""
    kind = "avg" if common.category(pool) == "avgpool" else "max"
    if pool.type.startswith("global"):
        return "global avg pool"
    if not labels:
        return f"{kind} pool"
    if pool.type.startswith("adaptive"):
        return f"adaptive {kind} pool, {_xy(pool.attrs['output'])}"
    text = f"{_xy(pool.attrs['kernel'])} {kind} pool"
    stride = pool.attrs["stride"]
    return text if tuple(stride) == (1, 1) else f"{text}, /{common.pair_text(stride)}"


def unit_text(kind: str, layers, shaped: ShapedNetwork, labels: bool = True) -> list[str]:
    """The lines written in (or as) a unit."""
    first = layers[0]
    if first.label and labels:
        return common.label_lines(first)
    cat = common.category(first)
    out = shaped.info[first.name].output
    if cat == "input":
        return [f"input, {format_shape(out)}" if labels else "input"]
    if cat == "conv":
        a = first.attrs
        name = "dw conv" if kind == "conv_dw" else "conv"
        if not labels:
            return [f"{name}, pool" if len(layers) > 1 else name]
        parts = [f"{_xy(a['kernel'])} {name}", str(a["out"])]
        if tuple(a["stride"]) != (1, 1):
            parts.append(f"/{common.pair_text(a['stride'])}")
        if tuple(a["dilation"]) != (1, 1):
            parts.append(f"dilation {common.pair_text(a['dilation'])}")
        if len(layers) > 1:
            parts.append(_pool_words(layers[-1]))
        return [", ".join(parts)]
    if cat == "deconv":
        a = first.attrs
        if not labels:
            return ["deconv"]
        parts = [f"{_xy(a['kernel'])} deconv", str(a["out"])]
        if tuple(a["stride"]) != (1, 1):
            parts.append(f"x{common.pair_text(a['stride'])}")
        return [", ".join(parts)]
    if cat == "upsample":
        return [f"upsample {', '.join(common.upsample_text(first))}" if labels else "upsample"]
    if cat in ("maxpool", "avgpool"):
        return [_pool_box(first, labels)]
    if cat == "fc":
        return [f"fc, {first.attrs['out']}" if labels else "fc"]
    if cat == "recurrent":  # "LSTM, 128, bidirectional, 2 layers, last step"
        a, name = first.attrs, first.type.upper()
        if not labels:
            return [name]
        parts = [name, str(a["hidden"])] + (["bidirectional"] if a["bidirectional"] else []) \
            + ([f"{a['layers']} layers"] if a["layers"] > 1 else []) + (["last step"] if a["last"] else [])
        return [", ".join(parts)]
    if cat == "embedding":
        return [f"embedding, {first.attrs['num']}, {first.attrs['dim']}" if labels else "embedding"]
    if cat == "softmax":
        return ["softmax"]
    if cat == "add":
        return ["+"]
    if cat == "mul":
        return ["\u00d7"]
    if cat == "attention":
        a = first.attrs
        if not labels:
            return ["attention"]
        parts = ["window attention" if a.get("kind") == "windowed" else "attention",
                 f"{a['heads']} heads"]
        if a.get("kind") == "windowed":
            parts.append(f"{_xy(a['window'])}" + (f", shift {common.pair_text(a['shift'])}"
                                                   if any(a.get("shift", (0, 0))) else ""))
        return [", ".join(parts)]
    if cat == "concat":
        return [f"concat, {out[0]}" if labels else "concat"]
    # any other layer: what it is (a custom layer's kind, "mul", "LayerNorm"; else its type), not
    # its name, which for a traced module is its whole path ("features.1.0.block.1.mul")
    what = cut_label(str(first.attrs.get("kind") or "custom")) if first.type == "custom" else first.type
    return [f"{what}, {format_shape(out)}" if labels else what]


def stage_of(layer, shaped: ShapedNetwork) -> str | None:
    ins = shaped.info[layer.name].inputs
    return _xy(ins[0][1:]) if ins and len(ins[0]) == 3 else None
