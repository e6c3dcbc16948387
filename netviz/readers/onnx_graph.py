"""How an ONNX graph is read: which tensors are constants (weights, and the
arithmetic on sizes exporters write, worked out where ONNX's inference does
not), the shapes ONNX's inference gives and where the batch is in them, the
learned tensors behind a constant input, local response normalisation as
torch writes it out, and the parameter counts the file's weights fix
(checked after ``--input``)."""
from __future__ import annotations

import re
from math import prod

import numpy as np

from ..ir import Network, format_shape
from .onnx_batch import follow, leads

FLOATS = (1, 10, 11, 16)  # float, float16, double, bfloat16: weights, not indices
_GENERATED = re.compile(r"^(onnx::|val_|_val|const|_v_|/)|Constant", re.I)  # exporters' names


def _squeeze(v, a):
    axes = a.get("axes", v[1].tolist() if len(v) > 1 else None)
    return np.squeeze(v[0], axis=tuple(axes) if axes is not None else None)


def _unsqueeze(v, a):
    out = v[0]
    for ax in sorted(a.get("axes", v[1].tolist() if len(v) > 1 else [])):
        out = np.expand_dims(out, ax)
    return out


def _div(v, a):
    if all(np.issubdtype(x.dtype, np.integer) for x in v):
        return np.trunc(v[0] / v[1]).astype(v[0].dtype)  # ONNX's integer division truncates
    return v[0] / v[1]


def _slice(v, a):
    starts, ends = v[1].tolist(), v[2].tolist()
    axes = v[3].tolist() if len(v) > 3 else list(range(len(starts)))
    steps = v[4].tolist() if len(v) > 4 else [1] * len(starts)
    index = [slice(None)] * v[0].ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        index[ax] = slice(s, e, st)
    return v[0][tuple(index)]


_FOLD = {  # the arithmetic on small constants that value() works out
    "Identity": lambda v, a: v[0], "Cast": lambda v, a: v[0], "Neg": lambda v, a: -v[0],
    "Reshape": lambda v, a: np.reshape(v[0], [int(d) for d in v[1]]),
    "Concat": lambda v, a: np.concatenate(v, axis=a.get("axis", 0)),
    "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Add": lambda v, a: v[0] + v[1], "Sub": lambda v, a: v[0] - v[1],
    "Mul": lambda v, a: v[0] * v[1], "Div": _div, "Slice": _slice,
    "Gather": lambda v, a: np.take(v[0], v[1], axis=a.get("axis", 0)),
    "CastLike": lambda v, a: v[0], "Equal": lambda v, a: v[0] == v[1],
    "Where": lambda v, a: np.where(v[0], v[1], v[2]), "Mod": lambda v, a: np.mod(v[0], v[1]),
    "Max": lambda v, a: np.maximum(*v), "Min": lambda v, a: np.minimum(*v),
    "Expand": lambda v, a: v[0] * np.ones([int(d) for d in v[1]], v[0].dtype),
    "ConstantOfShape": lambda v, a: np.zeros([int(d) for d in v[0]], np.int64),
}
# ConstantOfShape's value is its attribute; value() reads it (0 when the attribute is absent)


class Graph:
    """Tensors of an ONNX graph: which are constants, their shapes and values."""

    def __init__(self, onnx, model, path):
        self.onnx, self.path = onnx, path
        g = model.graph
        self.nodes = list(g.node)  # one wrapper per node, so id(node) is stable
        self.producer = {o: n for n in self.nodes for o in n.output if o}
        self.inits = {t.name: t for t in g.initializer}
        self.consts = {}  # name -> TensorProto / python value of Constant nodes
        self.shapes: dict[str, tuple] = {}  # full shape with the batch; entries int or str
        self.types: dict[str, int] = {}  # ONNX element types, where known
        for vi in (*g.input, *g.value_info, *g.output):
            t = vi.type.tensor_type
            if t.elem_type:
                self.types[vi.name] = t.elem_type
            if t.HasField("shape"):
                self.shapes[vi.name] = tuple(
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                    for d in t.shape.dim)
        for name, t in self.inits.items():
            self.shapes[name] = tuple(t.dims)
        self.static = set(self.inits)
        self.ins = {id(node): node_inputs(node) for node in self.nodes}
        for node in self.nodes:
            ins = self.ins[id(node)]
            if node.op_type == "CastLike":
                ins = ins[:1]  # the second input gives only its type
            if node.op_type == "Constant":
                for a in node.attribute:
                    self.consts[node.output[0]] = a
                    if a.name == "value":
                        self.shapes[node.output[0]] = tuple(a.t.dims)
            if node.op_type in ("Constant", "Shape", "Size") or all(i in self.static for i in ins):
                self.static.update(o for o in node.output if o)
        self.uses: dict[str, int] = {}  # readers that compute values, not sizes
        for node in self.nodes:
            if all(o in self.static for o in node.output if o):
                continue
            for i in self.ins[id(node)]:
                self.uses[i] = self.uses.get(i, 0) + 1
        for o in g.output:
            self.uses[o.name] = self.uses.get(o.name, 0) + 1
        real = [vi.name for vi in g.input if vi.name not in self.inits]
        self.batch, self.batch_size = follow(self, real[0]) if len(real) == 1 else ({}, 1)

    def value(self, name, depth: int = 0):
        """The value of a small constant tensor as a list (or None if unknown):
        stored in the file, or a few steps of arithmetic on such values."""
        from onnx import numpy_helper

        try:
            if name in self.consts:
                a = self.consts[name]
                if a.name == "value":
                    return numpy_helper.to_array(a.t).tolist()
                return self.onnx.helper.get_attribute_value(a)
            if name in self.inits:
                t = self.inits[name]
                return None if t.data_location == 1 else numpy_helper.to_array(t).tolist()
            node = self.producer.get(name)
            if node is not None and node.op_type == "Shape":  # sizes inference knows
                shape = self.shapes.get(node.input[0])
                a = {x.name: self.onnx.helper.get_attribute_value(x) for x in node.attribute}
                shape = None if shape is None else shape[a.get("start", 0):a.get("end")]
                return list(shape) if shape and all(isinstance(d, int) for d in shape) else None
            if node is None or name not in self.static or depth > 8 \
                    or node.op_type not in _FOLD or len(node.output) != 1:
                return None
            ins = node.input[:1] if node.op_type == "CastLike" else node.input  # (its type only)
            args = [self.value(i, depth + 1) for i in ins if i]
            if any(v is None for v in args):
                return None
            a = {x.name: self.onnx.helper.get_attribute_value(x) for x in node.attribute}
            arrays = [np.asarray(v) for v in args]
            if node.op_type == "ConstantOfShape" and "value" in a:
                fill = numpy_helper.to_array(a["value"]).reshape(-1)[0]
                return np.full([int(d) for d in arrays[0]], fill).tolist()
            return _FOLD[node.op_type](arrays, a).tolist()
        except Exception:  # anything unusual: the value is simply not known
            return None

    def is_param(self, name) -> bool:
        """Whether a tensor is stored in the file (a weight), not computed."""
        while name not in self.inits:
            node = self.producer.get(name)
            if node is None or node.op_type not in ("Identity", "Cast") or not node.input:
                return False
            name = node.input[0]
        return True

    def dims(self, name):
        """A tensor's shape as netviz draws it, if every size is known (else None):
        without the batch where the batch is its first axis, else whole (the
        batch folded into another axis, or moved; see ``onnx_batch``)."""
        s = self.shapes.get(name)
        if s is None or not s:
            return None
        if self.batch_leads(name):
            s = s[1:]
        return tuple(s) if all(isinstance(d, int) and d > 0 for d in s) else None

    def batch_leads(self, name) -> bool:
        return name not in self.batch or leads(self.batch[name], self.shapes.get(name),
                                                 self.batch_size)

    def weights_behind(self, name, seen=None) -> dict:
        """The learned tensors a constant input is computed from (the class
        token behind an Expand, a weight behind the Identity that the exporter
        shares it through): {name: size}, each under the name nearest the
        layer, as torch names the parameter. Sizes are not weights (a Shape
        ends the search), nor are integer tensors and scalar constants."""
        seen = set() if seen is None else seen
        if name in seen:
            return {}
        seen.add(name)
        node = self.producer.get(name)
        if name in self.inits or node is not None and node.op_type == "Identity" \
                and self.is_param(name):
            return {name: self.size(name)} if self.is_weight(name) else {}
        if node is None or name not in self.static or node.op_type in ("Shape", "Size"):
            return {}
        out = {}
        for i in self.ins[id(node)]:
            out.update(self.weights_behind(i, seen))
        return out

    def is_weight(self, name) -> bool:
        """A stored float tensor that is a learned parameter, not a constant an
        exporter wrote (a scalar named onnx::Mul_12, val_3, ...)."""
        t = name
        while t not in self.inits:
            t = self.producer[t].input[0]
        if self.inits[t].data_type not in FLOATS:
            return False
        return self.size(name) > 1 or not _GENERATED.match(name)

    def rank(self, name):
        s = self.shapes.get(name)
        return None if s is None else len(s)

    def size(self, name) -> int:
        s = self.shapes.get(name)
        return prod(s) if s is not None and all(isinstance(d, int) for d in s) else 0


def node_inputs(node) -> list[str]:
    """A node's inputs, with the outer values its subgraphs (If, Loop) read."""
    ins = [i for i in node.input if i]
    for a in node.attribute:
        for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            made = {o for n in sub.node for o in n.output} | {i.name for i in sub.input} \
                | {t.name for t in sub.initializer}
            ins += [i for n in sub.node for i in node_inputs(n) if i not in made]
    return list(dict.fromkeys(ins))


_LRN_OPS = {"Mul", "Pow", "Reshape", "Pad", "AveragePool", "Squeeze", "Unsqueeze", "If",
            "Add", "Transpose", "Cast", "Identity"}


def find_lrns(g: Graph):
    """Local response normalisation as torch's exporters write it out:
    x / (k + alpha * avg_pool(x*x over size channels)) ** beta.
    Returns ({id(div node): (x, lrn attrs)}, ids of the nodes inside)."""
    nodes, producer = g.nodes, g.producer
    found, inside = {}, set()
    for div in nodes:
        ins = g.ins[id(div)]
        if div.op_type != "Div" or len(ins) != 2 or any(i in g.static for i in ins):
            continue
        x, todo, cone = ins[0], [ins[1]], {}
        while todo:
            t = todo.pop()
            n = producer.get(t)
            if t == x or t in g.static or n is None or id(n) in cone:
                if n is None and t != x and t not in g.static:
                    cone = None
                    break
                continue
            if n.op_type not in _LRN_OPS:
                cone = None
                break
            cone[id(n)] = n
            todo += g.ins[id(n)]
        if not cone:
            continue
        ops = [n.op_type for n in cone.values()]
        square = [n for n in cone.values() if n.op_type == "Mul" and list(n.input) == [x, x]]
        pools = [n for n in cone.values() if n.op_type == "AveragePool"]
        outs = {o for n in cone.values() for o in n.output if o}
        used_outside = any(g.uses.get(o, 0) != sum(
            g.ins[id(n)].count(o) for n in [*cone.values(), div]) for o in outs)
        if len(square) != 1 or len(pools) != 1 or used_outside or ops.count("Pow") > 1:
            continue
        kernel = next(a.ints for a in pools[0].attribute if a.name == "kernel_shape")
        attrs = {"size": int(kernel[0]), "alpha": 1e-4, "beta": 0.75, "k": 1.0}
        for n, key in ((n, {"Mul": "alpha", "Add": "k", "Pow": "beta"}.get(n.op_type))
                       for n in cone.values()):
            consts = [i for i in n.input if i in g.static]
            v = g.value(consts[0]) if key and len(consts) == 1 and n is not square[0] else None
            while isinstance(v, list) and len(v) == 1:
                v = v[0]
            if isinstance(v, (int, float)):
                attrs[key] = float(v)
        found[id(div)] = (x, attrs)
        inside.update(cone)
    return found, inside


def file_params(layer) -> int | None:
    """The parameters a layer holds in the file, from its weight's shape
    (``weight``, in torch's layout) and its bias; None if not recorded."""
    w = layer.attrs.get("weight")
    if w is None:
        return None
    if layer.type == "batchnorm":
        return 2 * w[0]  # scale and shift (the running statistics are no parameters)
    out = w[1] * layer.attrs["groups"] if layer.type == "deconv" else w[0]
    return prod(w) + (out if layer.attrs["bias"] else 0)


def weights_in(layer) -> tuple[int, str]:
    """What a layer's weights take: (count, 'input channels' or 'input features')."""
    w, t = layer.attrs["weight"], layer.type
    if t == "fc":
        return w[1], "input features"
    return (w[1] * layer.attrs["groups"] if t == "conv" else w[0]), "input channels"


def check_weights(network: Network) -> None:
    """After ``--input``: every layer whose weights the file holds keeps their
    size, and every custom layer reads the sizes it was read with (its output
    is the file's). A ShapeError names the first layer whose parameters would
    change (an input with other channels, or sizes that reach an fc
    otherwise) or whose input would."""
    from ..errors import ShapeError
    from ..shapes import infer

    try:
        shaped = infer(network)
    except ShapeError:
        return  # a size the layers cannot take: the shape engine says so where it is used
    first = network.layers[0]
    given = format_shape(first.attrs["shape"])
    for layer in network.layers:
        want = file_params(layer)
        info = shaped.info[layer.name]
        reads = layer.attrs.get("reads") if layer.type == "custom" else None
        if reads is not None and tuple(map(tuple, reads)) != tuple(map(tuple, info.inputs)):
            raise ShapeError(f"{layer.name}: a {layer.attrs['kind']} layer keeps the sizes the "
                             f"file gives it: it reads {' and '.join(map(format_shape, reads))}; "
                             f"with --input {given} it gets "
                             f"{' and '.join(map(format_shape, info.inputs))}", network.source)
        if want is None or info.params == want:
            continue
        count, what = weights_in(layer)
        shape = info.inputs[0] if info.inputs else ()
        got = prod(shape) if layer.type == "fc" else (shape[0] if shape else 0)
        if got != count:
            how = f"--input gives {got}" if layer.inputs == (first.name,) else \
                f"with --input {given} it gets {got}"
            why = f"its weights take {count} {what}; {how}"
        else:
            why = (f"its weights hold {want:,} parameters; with --input {given} netviz counts "
                   f"{info.params:,}")
        raise ShapeError(f"{layer.name}: {why}", network.source)


def fold_sizes(onnx, model, path) -> bool:
    """Write the sizes an exporter computes (the shape given to a Reshape or
    an Expand, worked out from constants and known shapes) into the model as
    constants, where ONNX's shape inference could not work them out itself,
    so that it can then. True if anything was written."""
    from onnx import numpy_helper

    g = Graph(onnx, model, path)
    done = False
    for node in g.nodes:
        outs = [g.shapes.get(o) for o in node.output if o]
        if all(s is not None and all(isinstance(d, int) for d in s) for s in outs):
            continue
        for k, name in enumerate(node.input):
            if k == 0 or not name or name not in g.static or name in g.inits:
                continue
            producer = g.producer.get(name)
            if producer is None or producer.op_type == "Constant":
                continue
            v = g.value(name)
            if v is None:
                continue
            array = np.asarray(v)
            if name in g.types:
                array = array.astype(onnx.helper.tensor_dtype_to_np_dtype(g.types[name]))
            elif array.dtype.kind in "iub" or node.op_type in ("Reshape", "Expand", "Tile"):
                array = array.astype(np.int64)
            const = f"netviz.folded.{name}"
            if const not in g.inits:
                model.graph.initializer.append(numpy_helper.from_array(array, const))
                g.inits[const] = model.graph.initializer[-1]
            node.input[k] = const
            done = True
    return done
