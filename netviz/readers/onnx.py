"""ONNX models (what ``torch.onnx.export`` writes) -> Network.

Only the graph is read: ``onnx.load`` without the weights' data, so a model
whose weights sit in a ``.onnx.data`` file beside it loads just as well
without that file. Weights, constants and the arithmetic on shapes that
exporters emit (Shape, Gather, Concat of sizes, ...) are not layers: a node
whose inputs are all such values is folded away. Every other node maps onto
a netviz layer type; an op netviz has no type for becomes a ``custom`` layer
when ONNX's shape inference knows its output, and an error naming the op
otherwise. Each layer's output is then checked against ONNX's own shape
inference, so a figure never shows sizes the model does not have.
"""
from __future__ import annotations

import os
from math import prod

from ..errors import SpecError, UsageError
from ..ir import Layer, Network, format_shape
from . import onnx_seq
from .onnx_graph import (FLOATS, Graph, custom_kind, file_params, find_lrns, layer_names,
                         scope_of)

ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
        "Elu": "elu", "Gelu": "gelu", "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid",
        "Mish": "mish", "Swish": "silu"}
PASS = ("Identity", "Cast", "CastLike")  # the value flows on unchanged
ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Pow")  # with a constant: folded away
RESHAPES = ("Flatten", "Reshape", "Squeeze", "Unsqueeze")
SUPPORTED = sorted({"Conv", "ConvTranspose", "Resize", "Upsample", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                    "ReduceMean", "Gemm", "MatMul", "LRN", "BatchNormalization", "Dropout",
                    "Softmax", "LogSoftmax", "Add", "Sum", "Concat", "Clip", *ACTS, *PASS,
                    "LSTM", "GRU", "RNN", "Gather", "Slice", "Split",
                    *ELEMENTWISE, *RESHAPES})


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise UsageError("reading .onnx files needs the onnx package: "
                         "pip install 'netviz[onnx]'") from None
    return onnx


def _read(onnx, path: str):
    if os.path.isdir(path):
        raise SpecError("is a directory, not an ONNX model", path)
    if not os.path.exists(path):
        raise SpecError("no such file", path)
    try:
        model = onnx.load(path, load_external_data=False)
    except PermissionError:
        raise SpecError("permission denied", path) from None
    except OSError as exc:
        raise SpecError(f"cannot be read ({exc.strerror or exc})", path) from None
    except Exception as exc:  # protobuf's DecodeError, or anything a damaged file raises
        raise SpecError(_undecodable(path, exc), path) from None
    if not model.graph.node or not model.graph.input:
        raise SpecError("not an ONNX model (no graph with nodes and an input in it)", path)
    for t in model.graph.initializer:  # weights stored inline: only their sizes are needed,
        if t.data_location != 1 and t.ByteSize() > 4096:  # and inference copies the model
            for field in ("raw_data", "float_data", "double_data", "int32_data", "int64_data"):
                t.ClearField(field)
            t.data_location = 1
            t.external_data.add(key="location", value="(not read)")
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # an op inference does not know; the shapes are a check, not a need
        return model


def _undecodable(path: str, exc: Exception) -> str:
    """Why a file protobuf cannot decode is no ONNX model: a text file (a
    prototxt or spec under the wrong name), or binary data cut short or of
    another kind."""
    from .files import PROTOTXT_HINT, looks_like_prototxt

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        head = b""
    if head and all(b >= 32 or b in b"\t\r\n" for b in head):
        text = head.decode("utf-8", "replace")
        hint = PROTOTXT_HINT if looks_like_prototxt(text) else "(an ONNX model is binary protobuf)"
        return f"a text file, not an ONNX model {hint}"
    why = " ".join(str(exc).split()) or type(exc).__name__
    why = why.split("': ", 1)[1] if why.startswith("Error parsing message") and "': " in why else why
    return f"truncated or not an ONNX model (protobuf: {why[:120]})"


def _attrs(onnx, node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Builder:
    def __init__(self, onnx, model, path):
        self.g = Graph(onnx, model, path)
        self.path, self.model = path, model
        self.layers: list[dict] = []  # name, type, attrs, inputs, node, weight
        self.of: dict[str, int] = {}  # activation tensor -> index into layers
        self.node = None

    # --- errors ---------------------------------------------------------------
    def where(self) -> str:
        n = self.node
        return f"node {n.name!r} ({n.op_type})" if n.name else f"a {n.op_type} node"

    def fail(self, message: str) -> SpecError:
        return SpecError(f"{self.where()}: {message}", self.path)

    # --- adding layers ------------------------------------------------------
    def add(self, type_name, attrs, inputs, output=None, weight=None):
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
        return self.network()

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
        if op in PASS and live == [x]:
            return self.alias(out, x)
        if op in onnx_seq.OPS and onnx_seq.map_node(self, node, a):
            return
        if op == "Conv" and x in self.of and len(live) == 1:
            return self.conv(node, a)
        if op == "ConvTranspose" and x in self.of and len(live) == 1:
            return self.deconv(node, a)
        if op in ("Resize", "Upsample") and live == [x] and g.rank(x) == 4 and self.resize(node, a):
            return
        if op in ("MaxPool", "AveragePool") and len(live) == 1:
            return self.pool(node, a)
        if op == "GlobalAveragePool" and g.rank(x) == 4:
            return self.add("global_avgpool", {}, [self.of[x]], out)
        if op == "GlobalMaxPool" and g.rank(x) == 4:
            return self.add("adaptive_maxpool", {"output": (1, 1)}, [self.of[x]], out)
        if op == "ReduceMean" and self.reduce_spatial(node, a):
            return
        if op in ("Gemm", "MatMul") and live == [x] and self.fc(node, a):
            return
        if op in ACTS and live == [x]:
            attrs = {"slope": float(a.get("alpha", 0.01))} if op == "LeakyRelu" else {}
            return self.add(ACTS[op], attrs, [self.of[x]], out)
        if op == "Clip" and live == [x] and self.clip(node, a):
            return
        if op == "LRN" and live == [x]:
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
            return self.add("dropout", {"p": p}, [self.of[x]], out)
        if op in ("Softmax", "LogSoftmax") and live == [x]:
            return self.add("softmax", {}, [self.of[x]], out)
        if op in ("Add", "Sum") and len(live) >= 2:
            return self.add("add", {}, [self.of[i] for i in live], out)
        if op == "Concat" and len(live) >= 2 and self.concat(node, a, live):
            return
        if op in ELEMENTWISE and len(live) == 1 and self.elementwise(node, live[0]):
            return
        if op == "Mul" and len(live) == 2 and self.silu(node, live):
            return
        if op == "Mul" and len(live) == 2:  # a gate, as the tracer reads x * sigmoid(s)
            return self.add("mul", {}, [self.of[i] for i in live], out)
        if op in RESHAPES and live == [x] and self.reshape(node, a):
            return
        return self.custom(node, live)

    def custom(self, node, live):
        outs = [o for o in node.output if o and self.g.uses.get(o)]
        dims = self.g.dims(node.output[0])
        if dims is None or len(outs) > 1 or not live:
            raise self.fail(f"op {node.op_type}{'' if node.domain in ('', 'ai.onnx') else ' (domain ' + node.domain + ')'} "
                            f"is not supported here and its output shape is not known; netviz "
                            f"reads {', '.join(SUPPORTED)}")
        params = sum(self.g.size(i) for i in node.input
                     if i in self.g.inits and self.g.inits[i].data_type in FLOATS)
        x = node.input[0] if node.input else ""
        rank = self.g.rank(node.input[1] if node.op_type.startswith("Conv") and len(node.input) > 1
                           else x)
        self.add("custom", {"kind": custom_kind(node, rank), "output": dims, "params": params,
                            "macs": 0},
                 [self.of[i] for i in dict.fromkeys(live)], node.output[0])

    # --- the layer types ------------------------------------------------------
    def pads(self, a, kernel, dilation, stride, x):
        """Symmetric (h, w) padding, or a SpecError."""
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto == "VALID":
            return (0, 0)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            size = self.g.dims(x)
            if size is None:
                raise self.fail(f"auto_pad {auto} needs a known input size")
            p = []
            for n, k, d, s in zip(size[1:], kernel, dilation, stride):
                total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
                if total % 2:
                    raise self.fail(f"auto_pad {auto} pads one side more than the other "
                                    f"({total} in all); netviz pads both sides equally")
                p.append(total // 2)
            return tuple(p)
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4:
            raise self.fail(f"pads {pads}: netviz reads 2-D windows")
        if pads[0] != pads[2] or pads[1] != pads[3]:
            raise self.fail(f"asymmetric padding (top {pads[0]}, left {pads[1]}, bottom "
                            f"{pads[2]}, right {pads[3]}); netviz pads both sides equally")
        return (pads[0], pads[1])

    def conv(self, node, a):
        g, x, w = self.g, node.input[0], node.input[1]
        wshape = g.shapes.get(w)
        if wshape is None or len(wshape) != 4 or not all(isinstance(d, int) for d in wshape):
            return self.custom(node, self.live(node))  # 1-D / 3-D convolutions
        kernel = tuple(a.get("kernel_shape", wshape[2:]))
        stride = tuple(a.get("strides", (1, 1)))
        dilation = tuple(a.get("dilations", (1, 1)))
        bias = len(node.input) > 2 and g.is_param(node.input[2])
        attrs = {"out": wshape[0], "kernel": kernel, "stride": stride,
                 "pad": self.pads(a, kernel, dilation, stride, x), "dilation": dilation,
                 "groups": int(a.get("group", 1)), "bias": bias, "weight": tuple(wshape)}
        self.add("conv", attrs, [self.of[x]], node.output[0], weight=w)

    def deconv(self, node, a):
        """ConvTranspose: the weight is (in, out / group, kh, kw)."""
        g, x, w = self.g, node.input[0], node.input[1]
        wshape = g.shapes.get(w)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if wshape is None or len(wshape) != 4 or not all(isinstance(d, int) for d in wshape) \
                or "output_shape" in a or auto not in ("NOTSET", "VALID"):
            return self.custom(node, self.live(node))  # 1-D / 3-D, or sizes solved for an output
        kernel = tuple(a.get("kernel_shape", wshape[2:]))
        stride = tuple(a.get("strides", (1, 1)))
        dilation = tuple(a.get("dilations", (1, 1)))
        groups = int(a.get("group", 1))
        attrs = {"out": wshape[1] * groups, "kernel": kernel, "stride": stride,
                 "pad": self.pads(a, kernel, dilation, stride, x),
                 "output_pad": tuple(a.get("output_padding", (0, 0))), "dilation": dilation,
                 "groups": groups, "bias": len(node.input) > 2 and g.is_param(node.input[2]),
                 "weight": tuple(wshape)}
        self.add("deconv", attrs, [self.of[x]], node.output[0], weight=w)

    def resize(self, node, a) -> bool:
        """Resize (or the older Upsample) as torch exports F.interpolate: nearest
        (asymmetric, floor), bilinear and bicubic (coefficient -0.75); by equal
        scales on height and width, or to sizes."""
        def text(key, default):
            v = a.get(key, default)
            return v.decode() if isinstance(v, bytes) else v
        mode = text("mode", "nearest")
        older = node.op_type == "Upsample"
        where = text("coordinate_transformation_mode", "asymmetric" if older else "half_pixel")
        if a.get("antialias", 0) or a.get("exclude_outside", 0):
            return False
        if mode == "nearest" and where == "asymmetric" and text("nearest_mode", "floor") == "floor":
            mode, corners = "nearest", None
        elif mode in ("linear", "cubic") and where in ("half_pixel", "pytorch_half_pixel", "align_corners") \
                and not older and (mode == "linear" or float(a.get("cubic_coeff_a", -0.75)) == -0.75):
            mode, corners = ("bilinear" if mode == "linear" else "bicubic"), where == "align_corners"
        else:
            return False
        ins = list(node.input) + ["", "", ""]
        scales = self.g.value(ins[1] if older else ins[2]) if (ins[1] if older else ins[2]) else None
        sizes = self.g.value(ins[3]) if not older and ins[3] else None
        attrs = {"mode": mode}
        if isinstance(sizes, list) and len(sizes) == 4:
            attrs["size"] = (int(sizes[2]), int(sizes[3]))
        elif isinstance(scales, list) and len(scales) == 4 and scales[2] == scales[3] \
                and tuple(scales[:2]) == (1, 1):
            attrs["scale"] = float(scales[2])
        else:
            return False
        if corners is not None:
            attrs["align_corners"] = corners
        self.add("upsample", attrs, [self.of[node.input[0]]], node.output[0])
        return True

    def pool(self, node, a):
        x = node.input[0]
        kernel = tuple(a["kernel_shape"])
        if len(kernel) != 2:
            return self.custom(node, self.live(node))
        stride = tuple(a.get("strides", (1, 1)))
        dilation = tuple(a.get("dilations", (1, 1)))
        attrs = {"kernel": kernel, "stride": stride,
                 "pad": self.pads(a, kernel, dilation, stride, x),
                 "ceil_mode": bool(a.get("ceil_mode", 0))}
        if node.op_type == "MaxPool":
            attrs["dilation"] = dilation
            return self.add("maxpool", attrs, [self.of[x]], node.output[0])
        if dilation != (1, 1):
            raise self.fail(f"dilated average pooling ({format_shape(dilation)}) is not supported")
        attrs["count_include_pad"] = bool(a.get("count_include_pad", 0))
        self.add("avgpool", attrs, [self.of[x]], node.output[0])

    def reduce_spatial(self, node, a) -> bool:
        """ReduceMean over height and width: global average pooling."""
        x = node.input[0]
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.g.value(node.input[1])
        if self.g.rank(x) != 4 or not isinstance(axes, list) or \
                sorted(ax % 4 for ax in axes) != [2, 3]:
            return False
        keep = a.get("keepdims", 1)
        i = self.add("global_avgpool", {}, [self.of[x]], node.output[0] if keep else None)
        if not keep:
            self.add("flatten", {}, [i], node.output[0])
            self.layers[-1].update(suffix="flatten", primary="global_avgpool")
        return True

    def fc(self, node, a) -> bool:
        g, x, w = self.g, node.input[0], node.input[1]
        wshape = g.shapes.get(w)
        if w not in g.static or wshape is None or len(wshape) != 2 or a.get("transA", 0):
            return False
        if node.op_type == "Gemm":
            out = wshape[0] if a.get("transB", 0) else wshape[1]
            bias = len(node.input) > 2 and g.is_param(node.input[2])
        else:
            out, bias = wshape[1], False
        if not isinstance(out, int):
            return False
        attrs = {"out": out, "bias": bias}
        if all(isinstance(d, int) for d in wshape):  # as torch.nn.Linear holds it: (out, in)
            attrs["weight"] = tuple(wshape) if node.op_type == "Gemm" and a.get("transB", 0) \
                else tuple(wshape[::-1])
        self.add("fc", attrs, [self.of[x]], node.output[0], weight=w)
        return True

    def clip(self, node, a) -> bool:
        lo, hi = a.get("min"), a.get("max")
        if len(node.input) > 1 and node.input[1]:
            lo = self.g.value(node.input[1])
        if len(node.input) > 2 and node.input[2]:
            hi = self.g.value(node.input[2])
        if lo == 0 and hi == 6:
            kind = "relu6"
        elif lo == 0 and (hi is None or hi == float("inf")):
            kind = "relu"
        else:
            return False
        self.add(kind, {}, [self.of[node.input[0]]], node.output[0])
        return True

    def concat(self, node, a, live) -> bool:
        rank = self.g.rank(live[0])
        axis = a.get("axis", 1)
        if axis < 0 and rank is not None:
            axis += rank
        if axis != 1 or len(live) != len([i for i in node.input if i]):
            return False
        self.add("concat", {}, [self.of[i] for i in live], node.output[0])
        return True

    def elementwise(self, node, x) -> bool:
        """A constant added, scaled, ...: the bias of an fc from MatMul, else nothing drawn."""
        g, out = self.g, node.output[0]
        if g.shapes.get(out) is not None and g.shapes.get(x) is not None and \
                g.shapes[out] != g.shapes[x]:
            return False  # broadcasting changed the shape
        src = self.layers[self.of[x]]
        const = next((i for i in node.input if i and i != x), None)
        if const is None:
            return False  # x * x and the like
        if node.op_type == "Add" and src["type"] in ("fc", "conv") and not src["attrs"]["bias"] \
                and g.uses.get(x) == 1 and g.is_param(const) and g.size(const) == src["attrs"]["out"]:
            src["attrs"]["bias"] = True
            src["bias"] = const
        self.alias(out, x)
        return True

    def silu(self, node, live) -> bool:
        """x * sigmoid(x), as exporters write SiLU."""
        for x, s in (live, live[::-1]):
            src = self.layers[self.of[s]]
            if src["type"] == "sigmoid" and src["inputs"] == [self.of[x]] \
                    and self.g.uses.get(s) == 1:
                src["type"] = "silu"
                self.alias(node.output[0], s)
                return True
        return False

    def reshape(self, node, a) -> bool:
        g, x, out = self.g, node.input[0], node.output[0]
        src, dst = g.shapes.get(x), g.shapes.get(out)
        if node.op_type == "Flatten" and a.get("axis", 1) == 1:
            kind = "flatten"
        elif src is not None and dst is not None and src == dst:
            kind = "same"
        elif dst is not None and len(dst) == 2 and src is not None and len(src) >= 2:
            sd, dd = self.g.dims(x), dst[1]
            kind = "flatten" if sd is None or not isinstance(dd, int) or dd == prod(sd) else None
        else:
            kind = None
        if kind is None:
            return False
        if kind == "same" or src is not None and len(src) == 2 and kind == "flatten":
            self.alias(out, x)
        else:
            self.add("flatten", {}, [self.of[x]], out)
        return True

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


def _check(builder: _Builder, network: Network):
    """Every layer's output as ONNX's shape inference has it, where it knows it."""
    from ..shapes import infer

    shaped = infer(network)
    for entry, layer in zip(builder.layers, network.layers):
        tensor = entry.get("tensor")
        want = builder.g.dims(tensor) if tensor else None
        got = shaped.info[layer.name].output
        if want is not None and tuple(want) != tuple(got):
            builder.node = entry["node"]
            raise builder.fail(f"netviz works out an output of {format_shape(got)} for layer "
                               f"{layer.name!r} ({layer.type}) but the model's is "
                               f"{format_shape(want)}; netviz cannot draw this model faithfully")
        held, counted = file_params(layer), shaped.info[layer.name].params
        if held is not None and held != counted:
            builder.node = entry["node"]
            raise builder.fail(f"netviz counts {counted:,} parameters for layer {layer.name!r} "
                               f"({layer.type}) but its weights hold {held:,}; netviz cannot "
                               "draw this model faithfully")


class InputSizeNeeded(SpecError):
    """The model's input size is symbolic (exported with dynamic axes).
    ``network`` is the whole network with no input shape, for callers that
    have the size from elsewhere (``--input``)."""

    def __init__(self, message: str, file: str, network: Network):
        super().__init__(message, file)
        self.network = network


def load_onnx(path: str | os.PathLike) -> Network:
    """Read an ONNX model file into a Network (the weights are not read).
    A model without a fixed input size raises :class:`InputSizeNeeded`."""
    onnx = _import_onnx()
    path = os.fspath(path)
    model = _read(onnx, path)
    builder = _Builder(onnx, model, path)
    network = builder.run()
    if network.layers[0].attrs["shape"] is None:
        real = next(vi for vi in model.graph.input if vi.name not in builder.g.inits)
        dims = builder.g.shapes[real.name][1:]
        example = "x".join(str(d) if isinstance(d, int) and d > 0 else "224" for d in dims) \
            if len(dims) == 3 else "3x224x224"
        raise InputSizeNeeded("the model does not fix its input size: give one with --input, "
                              f"e.g. --input {example}", path, network)
    _check(builder, network)
    return network
