"""Shape rules of the layers transformers and modern convolutional networks
add: layer, group and RMS normalisation, attention and the gating product.

Each rule takes the shape engine's context (the layer, its input shapes,
``fail`` and ``warn``) and returns (output shape, parameters, multiply-adds),
counted as torch's FlopCounterMode counts them (halved): normalisation and
element-wise products none, attention its projections and its two batched
matrix products. netviz.shapes merges :data:`RULES` into its own table.
"""
from __future__ import annotations

from math import prod

from .ir import format_shape

RULES = {}


def rule(*types):
    def deco(fn):
        for t in types:
            RULES[t] = fn
        return fn
    return deco


def _trailing(ctx, what: str) -> int:
    """The number of elements a layernorm or rmsnorm normalises together."""
    shape, dims = ctx.ins[0], ctx.layer.attrs.get("dims", 1)
    if dims > len(shape):
        ctx.fail(f"{what} over the last {dims} dimensions needs an input of at least {dims} "
                 f"dimensions, got {format_shape(shape)}")
    return prod(shape[len(shape) - dims:])


@rule("layernorm")
def _layernorm(ctx):
    """torch.nn.LayerNorm: a scale (and a shift) per normalised element."""
    a = ctx.layer.attrs
    shape = ctx.ins[0]
    if a.get("channels"):
        if len(shape) < 2:
            ctx.fail(f"layernorm over the channels needs a map CxHxW, got {format_shape(shape)}")
        n = shape[0]
    else:
        n = _trailing(ctx, "layernorm")
    affine = a.get("affine", True)
    return shape, (n + (n if a.get("bias", True) else 0)) if affine else 0, 0


@rule("rmsnorm")
def _rmsnorm(ctx):
    """torch.nn.RMSNorm: a scale per normalised element, no shift."""
    n = _trailing(ctx, "rmsnorm")
    return ctx.ins[0], n if ctx.layer.attrs.get("affine", True) else 0, 0


@rule("groupnorm")
def _groupnorm(ctx):
    """torch.nn.GroupNorm: a scale and a shift per channel."""
    shape, groups = ctx.ins[0], ctx.layer.attrs["groups"]
    if len(shape) < 2:
        ctx.fail(f"groupnorm needs channels and a spatial or sequence extent, got "
                 f"{format_shape(shape)}")
    if shape[0] % groups:
        ctx.fail(f"{shape[0]} channels do not split into {groups} groups, as torch requires")
    return shape, (2 * shape[0] if ctx.layer.attrs.get("affine", True) else 0), 0


ATTENTION_KINDS = ("full", "windowed")


def broadcast(ctx, shapes) -> tuple:
    """torch's broadcasting of shapes (without the batch, which all share)."""
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        sizes = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0} - {1}
        if len(sizes) > 1:
            ctx.fail("cannot multiply " + " and ".join(format_shape(s) for s in shapes)
                     + ": sizes differ where neither is 1")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@rule("mul")
def _mul(ctx):
    """x * gate (two inputs) or x * a learned scale (one input): no multiply-adds,
    as FlopCounterMode counts element-wise products."""
    scale = ctx.layer.attrs.get("scale")
    if len(ctx.ins) == 1:
        if scale is None:
            ctx.fail("mul with one input multiplies it by a learned scale: give its shape, "
                     "e.g. scale: " + format_shape((ctx.ins[0][0],) + (1,) * (len(ctx.ins[0]) - 1)))
        return broadcast(ctx, (ctx.ins[0], tuple(scale))), prod(scale), 0
    if scale is not None:
        ctx.fail("mul with two inputs multiplies them (a gate): leave 'scale' out")
    return broadcast(ctx, ctx.ins), 0, 0


def _heads_divide(ctx, dim: int, what: str):
    heads = ctx.layer.attrs["heads"]
    if dim % heads:
        ctx.fail(f"{heads} heads do not divide the {what} {dim}, as torch requires")


@rule("attention")
def _attention(ctx):
    """Multi-head attention. Multiply-adds as FlopCounterMode counts them: the
    projections (matrix products with the weights) and, per head, Q K^T and
    the weights times V."""
    a = ctx.layer.attrs
    kind = a.get("kind", "full")
    if kind not in ATTENTION_KINDS:
        ctx.fail(f"unknown attention kind {kind!r}: use full or windowed")
    if kind == "windowed":
        return _windowed(ctx)
    if a.get("window") is not None:
        ctx.fail("a window applies to kind: windowed")
    if a.get("rel_pos"):
        ctx.fail("rel_pos applies to kind: windowed")
    q = ctx.ins[0]
    k = ctx.ins[1] if len(ctx.ins) > 1 else q
    v = ctx.ins[2] if len(ctx.ins) > 2 else k
    if not a.get("project", True):
        return _products(ctx, q, k, v)
    for shape, what in ((q, "queries"), (k, "keys"), (v, "values")):
        if len(shape) != 2:
            ctx.fail(f"attention needs a sequence TxE (tokens x embedding) for its {what}, "
                     f"got {format_shape(shape)}")
    if k[0] != v[0]:
        ctx.fail(f"keys ({format_shape(k)}) and values ({format_shape(v)}) differ in length")
    (t, e), s, kdim, vdim = q, k[0], k[1], v[1]
    _heads_divide(ctx, e, "embedding")
    bias = a.get("bias", True)
    params = e * (e + kdim + vdim) + e * e + (4 * e if bias else 0)
    macs = t * e * e + s * (kdim + vdim) * e + 2 * t * s * e + t * e * e
    return (t, e), params, macs


def _products(ctx, q, k, v):
    """Q K^T and the weights times V on inputs split into heads (heads x T x d)."""
    heads = ctx.layer.attrs["heads"]
    if len(q) not in (2, 3) or len(k) != len(q) or len(v) != len(q):
        ctx.fail("attention without projections needs queries, keys and values of the same "
                 f"rank, TxD or heads x T x D, got {', '.join(format_shape(x) for x in (q, k, v))}")
    if (q[0] if len(q) == 3 else 1) != heads:
        ctx.fail(f"the queries {format_shape(q)} are split into "
                 f"{q[0] if len(q) == 3 else 1} heads, not {heads}")
    if q[:-2] != k[:-2] or k[:-2] != v[:-2] or q[-1] != k[-1] or k[-2] != v[-2]:
        ctx.fail(f"queries {format_shape(q)}, keys {format_shape(k)} and values "
                 f"{format_shape(v)} do not fit: keys need the queries' width and the "
                 "values' length")
    t, s = q[-2], k[-2]
    return q[:-1] + (v[-1],), 0, heads * t * s * (q[-1] + v[-1])


def _windowed(ctx):
    """Swin's (shifted) window attention on an HxWxC map: padded to whole
    windows, the projections on every padded token, the products within a window."""
    a = ctx.layer.attrs
    shape = ctx.ins[0]
    if len(ctx.ins) != 1:
        ctx.fail("windowed attention reads one input, the map it attends within")
    if len(shape) != 3:
        ctx.fail(f"windowed attention needs a map HxWxC (channels last), got {format_shape(shape)}")
    if a.get("window") is None:
        ctx.fail("windowed attention needs a window, e.g. window: 7")
    if not a.get("project", True):
        ctx.fail("windowed attention learns its projections: leave project out")
    h, w, c = shape
    wh, ww = a["window"]
    _heads_divide(ctx, c, "channels")
    ph, pw = -(-h // wh) * wh, -(-w // ww) * ww
    tokens = ph * pw
    bias = a.get("bias", True)
    params = 4 * c * c + (4 * c if bias else 0)
    if a.get("rel_pos"):
        params += (2 * wh - 1) * (2 * ww - 1) * a["heads"]
    macs = tokens * c * 3 * c + 2 * tokens * wh * ww * c + tokens * c * c
    return shape, params, macs
