"""Normalisation and products in ONNX graphs: LayerNormalization (also between
the two transposes that torchvision's LayerNorm2d writes around it, a layer
norm over the channels of a map), and Mul as gating (two computed inputs,
squeeze-and-excitation) or as a learned scale (ConvNeXt's layer scale).

Each function takes the reader's builder and a node; it adds a layer and
returns True, or returns False to leave the node to the reader's other rules.
"""
from __future__ import annotations

from math import prod

OPS = {"LayerNormalization", "Mul"}


def map_node(b, node, a, live) -> bool:
    if node.op_type == "LayerNormalization":
        return layernorm(b, node, a, live)
    if node.op_type == "Mul":
        return mul(b, node, live)
    return False


def _consumers(b, name):
    return [n for n in b.g.nodes if name in b.g.ins[id(n)]
            and not all(o in b.g.static for o in n.output if o)]


def _perm(b, node):
    return next((list(x.ints) for x in node.attribute if x.name == "perm"), None)


def layernorm(b, node, a, live) -> bool:
    g, x, out = b.g, node.input[0], node.output[0]
    rank = g.rank(x)
    if live != [x] or rank is None:
        return False
    axis = a.get("axis", -1) % rank
    state = g.batch.get(x)
    if state is not None and state[0] >= axis:
        return False  # the batch normalised with the rest: not a per-sample layer norm
    ins = list(node.input) + ["", ""]
    scale = g.weights_behind(ins[1]) if ins[1] else {}
    shift = g.weights_behind(ins[2]) if ins[2] else {}
    shape = g.shapes.get(x)
    n = prod(shape[axis:]) if shape and all(isinstance(d, int) for d in shape) else None
    if n is None or (scale and sum(scale.values()) != n) or (shift and sum(shift.values()) != n) \
            or (shift and not scale):
        return False
    attrs = {"dims": rank - axis, "channels": False, "eps": float(a.get("epsilon", 1e-5)),
             "affine": bool(scale), "bias": bool(shift) if scale else True}
    b.counted.update(scale, shift)
    src = b.layers[b.of[x]]
    after = _consumers(b, out)
    if rank == 4 and axis == 3 and src["type"] == "custom" and src["node"] is not None \
            and src["node"].op_type == "Transpose" and _perm(b, src["node"]) == [0, 2, 3, 1] \
            and g.uses.get(x) == 1 and len(after) == 1 and after[0].op_type == "Transpose" \
            and _perm(b, after[0]) == [0, 3, 1, 2] and g.uses.get(out) == 1 \
            and g.batch_leads(src["node"].input[0]):
        # torchvision's LayerNorm2d: permute to channels last, normalise, permute back
        attrs.update(dims=1, channels=True)
        src.update(type="layernorm", attrs=attrs, node=node, tensor=after[0].output[0])
        b.of[out] = b.of[x]
        b.absorbed[id(after[0])] = b.of[x]
        return True
    b.add("layernorm", attrs, [b.of[x]], out)
    return True


def mul(b, node, live) -> bool:
    """x * gate, or x * a learned scale (shaped as it broadcasts over one sample)."""
    g, out = b.g, node.output[0]
    ins = [i for i in node.input if i]
    if len(ins) != 2:
        return False
    if len(live) == 2 and live[0] != live[1]:
        if not all(g.batch_leads(i) for i in live):
            return False
        b.add("mul", {}, [b.of[i] for i in live], out)
        return True
    const = next((i for i in ins if i not in b.of), None)
    if len(live) != 1 or const is None:
        return False
    weights = g.weights_behind(const)
    shape = g.shapes.get(const)
    if not weights or shape is None or sum(weights.values()) != prod(shape) \
            or not all(isinstance(d, int) for d in shape):
        return False
    shape = list(shape)
    rank = len(g.dims(live[0]) or ())
    while len(shape) > rank and shape[0] == 1:  # a leading 1 for the batch
        shape.pop(0)
    if len(shape) > rank:
        return False
    b.counted.update(weights)
    b.add("mul", {"scale": tuple(shape)}, [b.of[live[0]]], out)
    return True
