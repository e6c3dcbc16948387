"""The walk over an ONNX graph that makes netviz layers: which node becomes
which layer (``map``), the ``custom`` layers for the rest, with the weights
they read and the products they compute, and the layers' names."""
from __future__ import annotations

import os
from math import isfinite, prod

from ..errors import SpecError
from ..ir import Layer, Network, format_shape
from . import onnx_layers as rules
from . import onnx_norms, onnx_seq
from .onnx_graph import Graph, find_lrns
from .onnx_names import custom_kind, layer_names, scope_of

ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
        "Elu": "elu", "Gelu": "gelu", "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid",
        "Mish": "mish", "Swish": "silu"}
PASS = ("Identity", "Cast", "CastLike")  # the value flows on unchanged
ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Pow")  # with a constant: folded away
RESHAPES = ("Flatten", "Reshape", "Squeeze", "Unsqueeze")
# ops that are plumbing or arithmetic netviz knows, drawn as custom layers without a warning
PLUMBING = {"Transpose", "Expand", "Tile", "Where", "Equal", "Greater", "Less", "Not", "And", "Or",
            "Sqrt", "Erf", "Exp", "Log", "Neg", "Abs", "Reciprocal", "ReduceSum", "ReduceMax",
            "ReduceMin", "ReduceL2", "Pad", "ConstantOfShape", "Range", "Trilu", "Einsum",
            "LayerNormalization", "GroupNormalization", "InstanceNormalization", "PRelu",
            "Softplus", "Mod", "Max", "Min", "Floor", "Ceil", "ArgMax", "TopK", "Conv",
            "ConvTranspose", "MaxPool", "AveragePool", "GatherElements", "GatherND",
            "ScatterND", "Scatter", "ScatterElements", "Sin", "Cos"}
SUPPORTED = sorted({"Conv", "ConvTranspose", "Resize", "Upsample", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                    "ReduceMean", "Gemm", "MatMul", "LRN", "BatchNormalization", "Dropout",
                    "Softmax", "LogSoftmax", "Add", "Sum", "Concat", "Clip", *ACTS, *PASS,
                    "LSTM", "GRU", "RNN", "Gather", "Slice", "Split",
                    *ELEMENTWISE, *RESHAPES})
KNOWN = PLUMBING | set(SUPPORTED)



def _attrs(onnx, node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Builder:
    def __init__(self, onnx, model, path):
        self.g = Graph(onnx, model, path)
        self.path, self.model = path, model
        self.layers: list[dict] = []  # name, type, attrs, inputs, node, weight
        self.of: dict[str, int] = {}  # activation tensor -> index into layers
        self.counted: set[str] = set()  # learned tensors already counted in some layer
        self.absorbed: dict[int, int] = {}  # id(node) -> the layer a pattern made of it
        self.node = None

    # --- errors ---------------------------------------------------------------
    def where(self) -> str:
        n = self.node
        return f"node {n.name!r} ({n.op_type})" if n.name else f"a {n.op_type} node"

    def fail(self, message: str) -> SpecError:
        return SpecError(f"{self.where()}: {message}", self.path)

    # --- adding layers ------------------------------------------------------
    def add(self, type_name, attrs, inputs, output=None, weight=None):
        for key, v in attrs.items():  # a slope, epsilon, momentum, ... as a spec must give it
            if isinstance(v, float) and not isfinite(v):
                raise self.fail(f"{key} {v}: must be a finite number")
        if type_name == "custom":  # the sizes it reads, which it is read for (see check_weights)
            reads = tuple(self.g.dims(self.layers[i]["tensor"] or "") for i in inputs)
            if all(r is not None for r in reads):
                attrs["reads"] = reads
        self.layers.append({"type": type_name, "attrs": attrs, "inputs": list(inputs),
                            "node": self.node, "weight": weight, "tensor": output})
        index = len(self.layers) - 1
        if output is not None:
            self.of[output] = index
        return index

    def alias(self, tensor_out, tensor_in):
        self.of[tensor_out] = self.of[tensor_in]

    def live(self, node):
        return [i for i in self.g.ins[id(node)] if i in self.of]

    # --- the graph ----------------------------------------------------------
    def run(self) -> Network:
        g = self.g
        real = [vi for vi in self.model.graph.input if vi.name not in g.inits]
        if len(real) != 1:
            names = ", ".join(repr(vi.name) for vi in real) or "none"
            raise SpecError(f"netviz draws models with one input; this one has {len(real)} "
                            f"({names})", self.path)
        self.add("input", {"shape": self.input_shape(real[0])}, (), real[0].name)
        lrns, folded = find_lrns(g)
        for node in g.nodes:
            self.node = node
            if id(node) in folded or all(o in g.static for o in node.output if o) \
                    or not self.live(node):
                continue  # constants, arithmetic on sizes, the inside of an LRN
            if id(node) in lrns:
                x, attrs = lrns[id(node)]
                self.add("lrn", attrs, [self.of[x]], node.output[0])
                continue
            self.map(node)
        self.prune()
        return self.network()

    def prune(self):
        """Drop the custom layers nothing reads (the reshape a layer read past
        was made for) and that give none of the model's outputs."""
        outputs = {self.of[o.name] for o in self.model.graph.output if o.name in self.of}
        while True:
            read = {i for entry in self.layers for i in entry["inputs"]}
            dead = {k for k, entry in enumerate(self.layers) if entry["type"] == "custom"
                    and k not in read and k not in outputs}
            if not dead:
                return
            new = {}
            for k in range(len(self.layers)):
                if k not in dead:
                    new[k] = len(new)
            self.layers = [dict(entry, inputs=[new[i] for i in entry["inputs"]])
                           for k, entry in enumerate(self.layers) if k not in dead]
            outputs = {new[k] for k in outputs}
            self.of = {t: new[k] for t, k in self.of.items() if k in new}

    def input_shape(self, vi):
        s = self.g.shapes.get(vi.name)
        if not s or len(s) < 2:
            raise SpecError(f"input {vi.name!r} has no known shape "
                            f"({'rank ' + str(len(s)) if s is not None else 'no type'}); netviz "
                            "needs a batch dimension and CxHxW or a feature count", self.path)
        rest = s[1:]
        if all(isinstance(d, int) and d > 0 for d in rest):
            return tuple(rest)
        return None  # symbolic sizes: --input gives them (the shape engine says so)

    def map(self, node):
        op, g, a = node.op_type, self.g, _attrs(self.g.onnx, node)
        x = node.input[0] if node.input else ""
        out = node.output[0]
        live = self.live(node)
        if node.domain not in ("", "ai.onnx"):
            return self.custom(node, live)
        if id(node) in self.absorbed:  # the end of a pattern read as one layer before it
            self.of[out] = self.absorbed[id(node)]
            return
        if op in PASS and live == [x]:
            return self.alias(out, x)
        if op in onnx_seq.OPS and onnx_seq.map_node(self, node, a):
            return
        if op == "Conv" and x in self.of and len(live) == 1:
            return rules.conv(self, node, a)
        if op == "ConvTranspose" and x in self.of and len(live) == 1:
            return rules.deconv(self, node, a)
        if op in ("Resize", "Upsample") and live == [x] and g.rank(x) == 4 and rules.resize(self, node, a):
            return
        if op in ("MaxPool", "AveragePool") and len(live) == 1:
            return rules.pool(self, node, a)
        if op == "GlobalAveragePool" and g.rank(x) == 4:
            return self.add("global_avgpool", {}, [self.of[x]], out)
        if op == "GlobalMaxPool" and g.rank(x) == 4:
            return self.add("adaptive_maxpool", {"output": (1, 1)}, [self.of[x]], out)
        if op == "ReduceMean" and rules.reduce_spatial(self, node, a):
            return
        if op in ("Gemm", "MatMul") and live == [x] and rules.fc(self, node, a):
            return
        if op in ACTS and live == [x]:
            attrs = {"slope": float(a.get("alpha", 0.01))} if op == "LeakyRelu" else {}
            return self.add(ACTS[op], attrs, [self.of[x]], out)
        if op == "Clip" and live == [x] and rules.clip(self, node, a):
            return
        if op == "LRN" and live == [x]:
            if not isinstance(a.get("size"), int) or a["size"] < 1:
                raise self.fail(f"size {a.get('size')!r}: an LRN needs a whole number of "
                                "channels, at least 1")
            return self.add("lrn", {"size": a["size"], "alpha": float(a.get("alpha", 1e-4)),
                                    "beta": float(a.get("beta", 0.75)),
                                    "k": float(a.get("bias", 1.0))}, [self.of[x]], out)
        if op == "BatchNormalization" and live == [x]:
            attrs = {"eps": float(a.get("epsilon", 1e-5)),
                     "momentum": round(1 - float(a.get("momentum", 0.9)), 6), "affine": True}
            scale = g.shapes.get(node.input[1]) if len(node.input) > 1 else None
            if scale is not None and len(scale) == 1 and isinstance(scale[0], int):
                attrs["weight"] = tuple(scale)
            return self.add("batchnorm", attrs, [self.of[x]], out)
        if op == "Dropout" and live == [x]:
            p = a.get("ratio", 0.5)
            if len(node.input) > 1 and node.input[1]:
                p = g.value(node.input[1])
            p = float(p) if isinstance(p, (int, float)) else 0.5
            if not 0 <= p <= 1:  # (nan too)
                raise self.fail(f"ratio {p}: the dropout probability must be between 0 and 1")
            return self.add("dropout", {"p": p}, [self.of[x]], out)
        if op in ("Softmax", "LogSoftmax") and live == [x]:
            return self.add("softmax", {}, [self.of[x]], out)
        if op in ("Add", "Sum") and len(live) >= 2:
            return self.add("add", {}, [self.of[i] for i in live], out)
        if op == "Concat" and len(live) >= 2 and rules.concat(self, node, a, live):
            return
        if op == "Mul" and len(live) == 2 and rules.silu(self, node, live):
            return
        if op in onnx_norms.OPS and onnx_norms.map_node(self, node, a, live):
            return
        if op in ("Add", "Mul", "Concat") and rules.weights_in(self, node, live):
            return self.custom(node, live)  # the class token, a position embedding, a layer scale
        if op in ELEMENTWISE and len(live) == 1 and rules.elementwise(self, node, live[0]):
            return
        if op in RESHAPES and live == [x] and rules.reshape(self, node, a):
            return
        return self.custom(node, live)

    def custom(self, node, live):
        outs = [o for o in node.output if o and self.g.uses.get(o)]
        dims = self.g.dims(node.output[0])
        if dims is None or len(outs) > 1 or not live:
            raise self.fail(f"op {node.op_type}{'' if node.domain in ('', 'ai.onnx') else ' (domain ' + node.domain + ')'} "
                            f"is not supported here and its output shape is not known; netviz "
                            f"reads {', '.join(SUPPORTED)}")
        x = node.input[0] if node.input else ""
        rank = self.g.rank(node.input[1] if node.op_type.startswith("Conv") and len(node.input) > 1
                           else x)
        attrs = {"kind": custom_kind(node, rank), "output": dims, "params": self.weights(node),
                 "macs": self.products(node, live)}
        if node.domain not in ("", "ai.onnx") or node.op_type not in KNOWN:
            attrs["warning"] = (f"{node.op_type} is an op netviz has no layer for: drawn as a "
                                f"custom layer of output {format_shape(dims)}, as ONNX's shape "
                                "inference gives it, its multiply-adds not counted")
        self.add("custom", attrs, [self.of[i] for i in dict.fromkeys(live)], node.output[0])

    def weights(self, node) -> int:
        """The learned tensors a layer reads besides its inputs, each counted once
        in the whole model (as torch counts a parameter)."""
        total = 0
        for i in node.input:
            if i and i not in self.of:
                for name, size in self.g.weights_behind(i).items():
                    if name not in self.counted:
                        self.counted.add(name)
                        total += size
        return total

    def products(self, node, live) -> int:
        """The multiply-adds of a product of two computed tensors (attention's
        scores and its weighted sum, any batched matmul), as torch counts them."""
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            return 0
        g = self.g
        a, out = g.shapes.get(node.input[0]), g.shapes.get(node.output[0])
        if a is None or out is None or not all(isinstance(d, int) for d in (*a, *out)):
            return 0
        k = a[0] if node.op_type == "Gemm" and _attrs(g.onnx, node).get("transA", 0) else a[-1]
        return prod(out) * k // g.batch_size

    # --- names and the network ----------------------------------------------
    def network(self) -> Network:
        names = layer_names(self.layers)
        layers = []
        for entry, name in zip(self.layers, names):
            node = entry["node"]
            scope = scope_of(node)[0] if node is not None else ""
            layers.append(Layer(name, entry["type"], entry["attrs"],
                                tuple(names[i] for i in entry["inputs"]), scope=scope or ""))
        stem = os.path.splitext(os.path.basename(self.path))[0]
        doc = " ".join(self.model.doc_string.split()) or None
        return Network(name=stem, layers=tuple(layers), source=self.path, description=doc)
