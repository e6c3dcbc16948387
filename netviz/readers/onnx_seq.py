"""Sequences and slices in ONNX graphs: torch.nn.Embedding (a Gather from a
weight), torch.nn.LSTM / GRU / RNN with batch_first (the recurrent op between
the transposes torch writes around it), taking the last time step, and the
Slice and Split nodes that torch writes for chunk, split and x[:, a:b].

Each function takes the reader's builder and a node; it adds layers (or
aliases tensors) and returns True, or returns False to leave the node to the
reader's other rules (a ``custom`` layer, or an error naming the op)."""
from __future__ import annotations

from .onnx_graph import FLOATS

RECURRENT = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
# what each recurrent op does unless its attributes say otherwise (torch's cells)
_DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                 "RNN": ["Tanh"]}
OPS = {"Transpose", "Reshape", "Squeeze", "Gather", "Slice", "Split", *RECURRENT}


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def _consumers(b, name):
    cache = b.__dict__.setdefault("_consumers", {})
    if not cache:
        for node in b.g.nodes:
            if all(o in b.g.static for o in node.output if o):
                continue  # Shape and the like read only sizes
            for i in node.input:
                cache.setdefault(i, []).append(node)
    return cache.get(name, [])


def _view(b):
    """tensor -> layout of a recurrent op's sequence: "tbf" (time-major T x
    batch x features) or "tdbh" (the op's Y: T x directions x batch x hidden)."""
    return b.__dict__.setdefault("_views", {})


def map_node(b, node, a) -> bool:
    op, live = node.op_type, b.live(node)
    x = node.input[0] if node.input else ""
    if op in RECURRENT:
        return recurrent(b, node, a, live)
    if op == "Gather":
        return embedding(b, node, a, live) or last_step(b, node, a, live) \
            or same_elements(b, node, live)
    if op == "Slice" and live == [x]:
        return slice_(b, node)
    if op == "Split" and live == [x]:
        return split(b, node, a)
    if op in ("Transpose", "Reshape", "Squeeze") and live == [x]:
        return relayout(b, node, a)
    return False


def embedding(b, node, a, live) -> bool:
    g = b.g
    table, ids = (list(node.input) + ["", ""])[:2]
    t = g.inits.get(table)
    if t is None or t.data_type not in FLOATS or len(t.dims) != 2 or live != [ids] \
            or a.get("axis", 0) != 0:
        return False
    b.add("embedding", {"num": int(t.dims[0]), "dim": int(t.dims[1])}, [b.of[ids]],
          node.output[0], weight=table)
    return True


def recurrent(b, node, a, live) -> bool:
    g, op, views = b.g, node.op_type, _view(b)
    ins = list(node.input) + [""] * 8
    x, w = ins[0], ins[1]
    wshape = g.shapes.get(w)
    direction = _text(a.get("direction", "forward"))
    acts = [_text(s) for s in a.get("activations", [])]
    dirs = 2 if direction == "bidirectional" else 1
    if live != [x] or views.get(x) != "tbf" or wshape is None or len(wshape) != 3 \
            or direction not in ("forward", "bidirectional") or "clip" in a \
            or a.get("layout", 0) or a.get("input_forget", 0) or ins[4] or ins[7] \
            or any(g.uses.get(o) for o in node.output[1:] if o):
        return False  # reversed, clipped, peepholes, sequence lengths, the states read
    kind, hidden = RECURRENT[op], int(a["hidden_size"])
    attrs = {"hidden": hidden, "layers": 1, "bidirectional": dirs == 2,
             "bias": bool(ins[3]) and g.is_param(ins[3]), "dropout": 0.0, "last": False}
    if op == "LSTM":
        attrs["proj_size"] = 0
    if op == "RNN":
        one = set(acts) or {"Tanh"}
        if len(one) != 1 or one - {"Tanh", "Relu"}:
            return False
        attrs["nonlinearity"] = one.pop().lower()
    elif acts and acts != _DEFAULT_ACTS[op] * dirs:
        return False
    src = b.layers[b.of[x]]
    stacked = src["type"] == kind and views.get(("from", x)) == b.of[x] \
        and not src["attrs"].get("last") and all(
            src["attrs"].get(k) == v for k, v in attrs.items() if k != "layers")
    # (dropout between stacked layers is only exported in training mode, as a node between)
    if stacked:  # the next layer of nn.LSTM(num_layers=n)
        src["attrs"]["layers"] += 1
        src["tensor"] = None
        b.alias(node.output[0], x)
    else:
        b.of[node.output[0]] = b.add(kind, attrs, [b.of[x]], None, weight=w)
    views[node.output[0]] = "tdbh"
    return True


def relayout(b, node, a) -> bool:
    """The transposes and reshapes around a recurrent op: nothing drawn."""
    g, views, op = b.g, _view(b), node.op_type
    x, out = node.input[0], node.output[0]
    view, rank = views.get(x), g.rank(x)
    perm = list(a.get("perm", [])) if op == "Transpose" else None
    if op == "Transpose" and perm == [1, 0, 2] and view == "tbf":
        b.alias(out, x)  # back to batch-first: the recurrent layer's output
        entry = b.layers[b.of[x]]
        if entry["type"] in RECURRENT.values():
            entry["tensor"] = out
        return True
    if op == "Transpose" and perm == [1, 0, 2] and view is None and rank == 3 \
            and _consumers(b, out) and all(n.op_type in RECURRENT for n in _consumers(b, out)):
        b.alias(out, x)
        views[out] = "tbf"
        return True
    if op == "Transpose" and perm == [0, 2, 1, 3] and view == "tdbh":
        b.alias(out, x)
        views[out] = "tbdh"
        return True
    if (op == "Reshape" and view == "tbdh" and g.rank(out) == 3) or \
            (op == "Squeeze" and view == "tdbh" and g.rank(out) == 3):
        b.alias(out, x)
        views[out] = "tbf"
        views[("from", out)] = b.of[x]  # a recurrent layer's whole output
        return True
    return False


def last_step(b, node, a, live) -> bool:
    """out[:, -1] after a recurrent layer: its ``last``."""
    g = b.g
    x = node.input[0]
    index = g.value(node.input[1]) if len(node.input) > 1 else None
    if live != [x] or a.get("axis", 0) != 1 or not isinstance(index, int) or g.uses.get(x) != 1:
        return False
    entry = b.layers[b.of[x]]
    steps = (g.shapes.get(x) or (None, None))[1]
    if entry["type"] not in RECURRENT.values() or entry["attrs"].get("last") \
            or not (index == -1 or isinstance(steps, int) and index == steps - 1):
        return False
    entry["attrs"]["last"] = True
    entry["tensor"] = node.output[0]
    b.alias(node.output[0], x)
    return True


def _batch_axis(g, name):
    """The axis holding the batch (0 where it is not followed)."""
    state = g.batch.get(name, (0, 1))
    return state[0] if state is not None else None


def same_elements(b, node, live) -> bool:
    """A Gather of every element in order from a flattened tensor (the default
    exporter's x.as_strided with x's own sizes, after adaptive pooling): x again."""
    g = b.g
    x, out = node.input[0], node.output[0]
    flat = g.producer.get(x)
    index = g.value(node.input[1]) if len(node.input) > 1 else None
    if live != [x] or flat is None or flat.op_type != "Reshape" or g.rank(x) != 1:
        return False
    src = flat.input[0]
    size = g.size(src)
    values = index
    while isinstance(values, list) and values and isinstance(values[0], list):
        values = [v for row in values for v in row]
    if src not in b.of or g.shapes.get(out) != g.shapes.get(src) or values != list(range(size)):
        return False
    b.alias(out, src)
    return True


def _sliced(n: int, start: int, end: int, step: int) -> int:
    return len(range(*slice(start, end, step).indices(n)))


def slice_(b, node) -> bool:
    """A Slice with constant starts, ends, axes and steps (torch's chunk, x[:, a:b]):
    a custom layer with the output those work out."""
    g = b.g
    shape = g.shapes.get(node.input[0])
    args = [g.value(i) if i else None for i in (list(node.input) + [""] * 5)[1:5]]
    starts, ends, axes, steps = args
    if shape is None or not all(isinstance(d, int) for d in shape) \
            or not isinstance(starts, list) or not isinstance(ends, list):
        return False
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    out = list(shape)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax %= len(shape)
        if ax == _batch_axis(g, node.input[0]) or st == 0:
            return False  # the batch is not sliced
        out[ax] = _sliced(shape[ax], s, e, st)
    if g.batch_leads(node.input[0]):
        out = out[1:]
    if not all(out):
        return False
    b.add("custom", {"kind": "slice", "output": tuple(out), "params": 0, "macs": 0},
          [b.of[node.input[0]]], node.output[0])
    return True


def split(b, node, a) -> bool:
    """A Split (torch.split, chunk): one custom layer per part that is read."""
    g = b.g
    x = node.input[0]
    shape = g.shapes.get(x)
    if shape is None or not all(isinstance(d, int) for d in shape):
        return False
    axis = a.get("axis", 0) % len(shape)
    sizes = g.value(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("split")
    outs = [o for o in node.output]
    if sizes is None:
        parts = a.get("num_outputs", len(outs))
        each = -(-shape[axis] // parts)
        sizes = [min(each, shape[axis] - i * each) for i in range(parts)]
    if axis == _batch_axis(g, x) or not isinstance(sizes, list) or len(sizes) != len(outs) \
            or sum(sizes) != shape[axis]:
        return False
    lead = 1 if g.batch_leads(x) else 0
    for i, (o, size) in enumerate(zip(outs, sizes)):
        if not o or not g.uses.get(o):
            continue
        dims = list(shape[lead:])
        dims[axis - lead] = int(size)
        b.add("custom", {"kind": "split", "output": tuple(dims), "params": 0, "macs": 0},
              [b.of[x]], o)
        b.layers[-1]["suffix"] = str(i)
    return True
