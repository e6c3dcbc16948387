"""Where the batch is in each tensor of an ONNX graph.

The model's input has the batch as its first axis. From there the batch is
followed through the graph, node by node: a Transpose moves it, a Reshape
folds it into another axis (``x.reshape(B * N, C)``) or gives it back its own
axis, a MatMul keeps it where its rows are. A file is exported for one batch
size (1, almost always), so a Reshape alone does not say where a batch of 1
went; it is followed by its place in memory, which a Reshape does not change:
the product of the sizes before it. Where that place falls on the boundary of
an axis of size 1, that axis is the batch; else the batch is folded into the
outer end of the axis it falls in.

Each tensor gets ``(axis, outer)``: the batch is a factor of ``axis`` with
``outer`` elements of that axis outside it (``axis`` is the batch's own when
that axis has the batch's size and ``outer`` is 1), or None where the batch
is not followed (it was reduced, indexed, or the tensor does not come from
the input).
"""
from __future__ import annotations

from math import prod

# ops that work on each element, or keep every axis where it is
_RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def follow(g, input_name: str) -> tuple[dict, int]:
    """(tensor name -> (axis, outer) or None, for every tensor computed from the
    input; the batch size the file was exported for)."""
    state = {input_name: (0, 1)}
    size = (g.shapes.get(input_name) or (1,))[0]
    batch = size if isinstance(size, int) and size > 0 else 1
    for node in g.nodes:
        if all(o in g.static for o in node.output if o):
            continue
        ins = [i for i in node.input if i and state.get(i) is not None]
        if not any(i in state for i in node.input):
            continue
        for out in node.output:
            if out:
                state[out] = _through(g, node, ins, state, out, batch) if ins else None
                shape = _shape(g, out)
                if state[out] is None and shape and shape[0] == batch:
                    state[out] = (0, 1)  # lost on the way (as_strided, x[0]): a first axis
                    # of the batch's size is taken for the batch again
    return state, batch


def _shape(g, name):
    s = g.shapes.get(name)
    return s if s is not None and all(isinstance(d, int) for d in s) else None


def _attr(node, key, default=None):
    for a in node.attribute:
        if a.name == key:
            from onnx import helper
            return helper.get_attribute_value(a)
    return default


def _through(g, node, ins, state, out, batch):
    op = node.op_type
    first = ins[0]
    axis, outer = state[first]
    src, dst = _shape(g, first), _shape(g, out)
    if src is None or dst is None:
        return None
    if op in _RESHAPES:
        return _place(dst, prod(src[:axis]) * outer, batch)
    if op == "Transpose":
        perm = list(_attr(node, "perm", range(len(src) - 1, -1, -1)))
        return (perm.index(axis), outer) if axis in perm else None
    if op in ("MatMul", "Gemm"):
        left = first == node.input[0]
        summed = len(src) - 1 if left else len(src) - 2  # the axis a product sums over
        if op == "Gemm":
            trans = _attr(node, "transA" if left else "transB", 0)
            summed = (0 if trans else 1) if left else (1 if trans else 0)
        if axis == summed and outer == 1 and axis > 0 and batch == 1:
            axis, outer = axis - 1, src[axis - 1]  # the same place: the inner end of the axis before
        if axis == summed or len(src) < 2:
            return None
        if op == "Gemm":
            return (0 if left else 1), outer
        return axis + len(dst) - len(src), outer
    if op == "Gather":
        a = _attr(node, "axis", 0) % len(src)
        index = _shape(g, node.input[1]) if len(node.input) > 1 else None
        if first == node.input[1] and index is not None:  # ids looked up in a table
            return a + axis, outer
        if first != node.input[0] or a == axis or index is None:
            return None
        return (axis if axis < a else axis - 1 + len(index)), outer
    if op in ("Concat", "Split", "Slice", "Softmax", "LogSoftmax") or op.startswith("Reduce"):
        return _same_axes(node, op, axis, outer, src, dst, g)
    if len(dst) >= len(src) and dst[axis + len(dst) - len(src)] == src[axis]:
        return axis + len(dst) - len(src), outer  # element-wise, broadcasting from the right
    return None


def _same_axes(node, op, axis, outer, src, dst, g):
    """Ops that work along some axes and leave the others: the batch's must be one of those."""
    if op in ("Softmax", "LogSoftmax"):
        return axis, outer
    if op in ("Concat", "Split"):
        a = _attr(node, "axis", 0) % len(src)
        return (axis, outer) if a != axis else None
    if op == "Slice":
        return (axis, outer) if src[axis] == dst[axis] else None
    axes = _attr(node, "axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = g.value(node.input[1])
    if axes is None:
        return None
    axes = [a % len(src) for a in axes]
    if axis in axes:
        return None
    if len(dst) == len(src):
        return axis, outer
    return axis - sum(1 for a in axes if a < axis), outer


def _place(shape, before: int, batch: int):
    """The batch's (axis, outer) in SHAPE, from the number of elements before it."""
    run = 1
    for k, d in enumerate(shape):  # the batch's own axis, where one starts there
        if run == before and d == batch:
            return k, 1
        run *= d
    run = 1
    for k, d in enumerate(shape):
        if run <= before < run * d and before % run == 0:
            outer = before // run
            return (k, outer) if d % (outer * batch) == 0 else None
        run *= d
    return None


def leads(s, shape, batch) -> bool:
    """Whether the batch is the first axis of its own, the layout netviz draws per sample."""
    return s == (0, 1) and bool(shape) and shape[0] == batch
