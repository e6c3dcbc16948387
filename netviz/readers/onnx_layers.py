"""The layer types an ONNX node maps onto: convolution, deconvolution,
upsampling, pooling, fc, the activations and joins, and what exporters write
around them (a bias added after a MatMul, SiLU written as x * sigmoid(x), a
Reshape that flattens).

Each function takes the reader's builder (``onnx_build``) and a node; those
that return a bool return False to leave the node to the builder's other
rules (a ``custom`` layer, or an error naming the op)."""
from __future__ import annotations

from math import isfinite, prod

from ..ir import format_shape

def pads(b, a, kernel, dilation, stride, x):
    """Symmetric (h, w) padding, or a SpecError."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "VALID":
        return (0, 0)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        size = b.g.dims(x)
        if size is None:
            raise b.fail(f"auto_pad {auto} needs a known input size")
        p = []
        for n, k, d, s in zip(size[1:], kernel, dilation, stride):
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            if total % 2:
                raise b.fail(f"auto_pad {auto} pads one side more than the other "
                                f"({total} in all); netviz pads both sides equally")
            p.append(total // 2)
        return tuple(p)
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4:
        raise b.fail(f"pads {pads}: netviz reads 2-D windows")
    if pads[0] != pads[2] or pads[1] != pads[3]:
        raise b.fail(f"asymmetric padding (top {pads[0]}, left {pads[1]}, bottom "
                        f"{pads[2]}, right {pads[3]}); netviz pads both sides equally")
    if min(pads) < 0:
        raise b.fail(f"pads {pads}: padding must not be negative")
    return (pads[0], pads[1])

def pair(b, a, key, default, least: int) -> tuple[int, int]:
    """A window attribute (kernel_shape, strides, dilations, output_padding)
    as (h, w): two whole numbers, each at least LEAST, or a SpecError."""
    v = a.get(key, default)
    v = tuple(v) if isinstance(v, (list, tuple)) else (v,)
    if len(v) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
        raise b.fail(f"{key} {list(v)}: netviz reads 2-D windows, given by two whole numbers")
    if min(v) < least:
        raise b.fail(f"{key} {list(v)}: each must be at least {least}")
    return v

def window(b, a, weight=None):
    """(kernel, stride, dilation) of a convolution (whose WEIGHT fixes the
    kernel) or a pool, each checked."""
    kernel = pair(b, a, "kernel_shape", weight[2:] if weight else None, 1)
    if weight and kernel != tuple(weight[2:]):
        raise b.fail(f"kernel_shape {list(kernel)} but its weight is {format_shape(weight)}")
    return kernel, pair(b, a, "strides", (1, 1), 1), pair(b, a, "dilations", (1, 1), 1)

def _groups(b, a, wshape, x, reads, out) -> int:
    """The node's ``group``, checked against its weight and its input: at
    least 1, dividing the channels. A Conv's weight is (out, in / group, kh,
    kw) (READS = in / group, OUT = out); a ConvTranspose's (in, out / group,
    kh, kw) (READS and OUT None)."""
    groups = a.get("group", 1)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise b.fail(f"group {groups!r}: the channel groups must be a whole number of at "
                     "least 1")
    weight = format_shape(wshape)
    size = b.g.dims(x)
    channels = size[0] if size is not None and len(size) == 3 else None
    if reads is None:  # ConvTranspose: the weight's first axis is the input's channels
        if wshape[0] % groups:
            raise b.fail(f"group {groups} does not divide the {wshape[0]} input channels "
                         f"of its weight {weight}")
        if channels is not None and channels != wshape[0]:
            raise b.fail(f"its weight {weight} reads {wshape[0]} channels but the input "
                         f"{x!r} has {channels}")
        return groups
    if out % groups:
        raise b.fail(f"group {groups} does not divide the {out} output channels of its "
                     f"weight {weight}")
    if channels is not None and channels % groups:
        raise b.fail(f"group {groups} does not divide the {channels} channels of the "
                     f"input {x!r}")
    if channels is not None and channels != reads * groups:
        raise b.fail(f"its weight {weight} with group {groups} reads {reads * groups} "
                     f"channels but the input {x!r} has {channels}")
    return groups

def conv(b, node, a):
    g, x, w = b.g, node.input[0], node.input[1]
    wshape = g.shapes.get(w)
    if wshape is None or len(wshape) != 4 or not all(isinstance(d, int) for d in wshape):
        return b.custom(node, b.live(node))  # 1-D / 3-D convolutions
    kernel, stride, dilation = window(b, a, wshape)
    bias = len(node.input) > 2 and g.is_param(node.input[2])
    groups = _groups(b, a, wshape, x, reads=wshape[1], out=wshape[0])
    attrs = {"out": wshape[0], "kernel": kernel, "stride": stride,
             "pad": pads(b, a, kernel, dilation, stride, x), "dilation": dilation,
             "groups": groups, "bias": bias, "weight": tuple(wshape)}
    b.add("conv", attrs, [b.of[x]], node.output[0], weight=w)

def deconv(b, node, a):
    """ConvTranspose: the weight is (in, out / group, kh, kw)."""
    g, x, w = b.g, node.input[0], node.input[1]
    wshape = g.shapes.get(w)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if wshape is None or len(wshape) != 4 or not all(isinstance(d, int) for d in wshape) \
            or "output_shape" in a or auto not in ("NOTSET", "VALID"):
        return b.custom(node, b.live(node))  # 1-D / 3-D, or sizes solved for an output
    kernel, stride, dilation = window(b, a, wshape)
    groups = _groups(b, a, wshape, x, reads=None, out=None)
    attrs = {"out": wshape[1] * groups, "kernel": kernel, "stride": stride,
             "pad": pads(b, a, kernel, dilation, stride, x),
             "output_pad": pair(b, a, "output_padding", (0, 0), 0), "dilation": dilation,
             "groups": groups, "bias": len(node.input) > 2 and g.is_param(node.input[2]),
             "weight": tuple(wshape)}
    b.add("deconv", attrs, [b.of[x]], node.output[0], weight=w)

def resize(b, node, a) -> bool:
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
    scales = b.g.value(ins[1] if older else ins[2]) if (ins[1] if older else ins[2]) else None
    sizes = b.g.value(ins[3]) if not older and ins[3] else None
    attrs = {"mode": mode}
    sizes = sizes if _numbers(sizes) else None
    scales = scales if _numbers(scales) else None
    if isinstance(sizes, list) and len(sizes) == 4:
        if min(sizes) < 1:
            raise b.fail(f"sizes {sizes}: every size must be at least 1")
        attrs["size"] = (int(sizes[2]), int(sizes[3]))
    elif isinstance(scales, list) and not all(isfinite(v) and v > 0 for v in scales):
        raise b.fail(f"scales {scales}: every scale must be a positive finite number")
    elif isinstance(scales, list) and len(scales) == 4 and scales[2] == scales[3] \
            and tuple(scales[:2]) == (1, 1):
        attrs["scale"] = float(scales[2])
    else:
        return False
    if corners is not None:
        attrs["align_corners"] = corners
    b.add("upsample", attrs, [b.of[node.input[0]]], node.output[0])
    return True

def _numbers(v) -> bool:
    return isinstance(v, list) and all(isinstance(i, (int, float)) and not isinstance(i, bool)
                                       for i in v)

def pool(b, node, a):
    x = node.input[0]
    if len(a.get("kernel_shape", ())) != 2:
        return b.custom(node, b.live(node))  # 1-D / 3-D pools
    kernel, stride, dilation = window(b, a)
    attrs = {"kernel": kernel, "stride": stride,
             "pad": pads(b, a, kernel, dilation, stride, x),
             "ceil_mode": bool(a.get("ceil_mode", 0))}
    if node.op_type == "MaxPool":
        attrs["dilation"] = dilation
        return b.add("maxpool", attrs, [b.of[x]], node.output[0])
    if dilation != (1, 1):
        raise b.fail(f"dilated average pooling ({format_shape(dilation)}) is not supported")
    attrs["count_include_pad"] = bool(a.get("count_include_pad", 0))
    b.add("avgpool", attrs, [b.of[x]], node.output[0])

def reduce_spatial(b, node, a) -> bool:
    """ReduceMean over height and width: global average pooling."""
    x = node.input[0]
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = b.g.value(node.input[1])
    if b.g.rank(x) != 4 or not isinstance(axes, list) or \
            sorted(ax % 4 for ax in axes) != [2, 3]:
        return False
    keep = a.get("keepdims", 1)
    i = b.add("global_avgpool", {}, [b.of[x]], node.output[0] if keep else None)
    b.layers[-1]["primary"] = "mean"  # named as the tracer names x.mean((2, 3))
    if not keep:
        b.add("flatten", {}, [i], node.output[0])
    return True

def fc(b, node, a) -> bool:
    g, x, w = b.g, node.input[0], node.input[1]
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
    b.add("fc", attrs, [b.of[x]], node.output[0], weight=w)
    return True

def clip(b, node, a) -> bool:
    lo, hi = a.get("min"), a.get("max")
    if len(node.input) > 1 and node.input[1]:
        lo = b.g.value(node.input[1])
    if len(node.input) > 2 and node.input[2]:
        hi = b.g.value(node.input[2])
    if lo == 0 and hi == 6:
        kind = "relu6"
    elif lo == 0 and (hi is None or hi == float("inf")):
        kind = "relu"
    else:
        return False
    b.add(kind, {}, [b.of[node.input[0]]], node.output[0])
    return True

def concat(b, node, a, live) -> bool:
    rank = b.g.rank(live[0])
    axis = a.get("axis", 1)
    if axis < 0 and rank is not None:
        axis += rank
    if axis != 1 or len(live) != len([i for i in node.input if i]):
        return False
    b.add("concat", {}, [b.of[i] for i in live], node.output[0])
    return True

def elementwise(b, node, x) -> bool:
    """A constant added, scaled, ...: the bias of an fc from MatMul, else nothing drawn."""
    g, out = b.g, node.output[0]
    if g.shapes.get(out) is not None and g.shapes.get(x) is not None and \
            g.shapes[out] != g.shapes[x]:
        return False  # broadcasting changed the shape
    src = b.layers[b.of[x]]
    const = next((i for i in node.input if i and i != x), None)
    if const is None:
        return False  # x * x and the like
    if node.op_type == "Add" and src["type"] in ("fc", "conv") and not src["attrs"]["bias"] \
            and g.uses.get(x) == 1 and g.is_param(const) and g.size(const) == src["attrs"]["out"]:
        src["attrs"]["bias"] = True
        src["bias"] = const
    b.alias(out, x)
    return True

def weights_in(b, node, live) -> bool:
    """Whether a learned tensor (not an fc's bias) enters with the layers' values."""
    if len(live) == len([i for i in node.input if i]):
        return False
    if node.op_type == "Add" and len(live) == 1:
        src = b.layers[b.of[live[0]]]
        const = next(i for i in node.input if i and i != live[0])
        if src["type"] in ("fc", "conv") and not src["attrs"]["bias"] \
                and b.g.uses.get(live[0]) == 1 and b.g.is_param(const) \
                and b.g.size(const) == src["attrs"]["out"]:
            return False  # the bias of an fc written as MatMul and Add
    return any(i not in b.of and i and b.g.weights_behind(i) for i in node.input)

def silu(b, node, live) -> bool:
    """x * sigmoid(x), as exporters write SiLU."""
    for x, s in (live, live[::-1]):
        src = b.layers[b.of[s]]
        if src["type"] == "sigmoid" and src["inputs"] == [b.of[x]] \
                and b.g.uses.get(s) == 1:
            src["type"] = "silu"
            b.alias(node.output[0], s)
            return True
    return False

def reshape(b, node, a) -> bool:
    g, x, out = b.g, node.input[0], node.output[0]
    src, dst = g.shapes.get(x), g.shapes.get(out)
    if node.op_type == "Flatten" and a.get("axis", 1) == 1:
        kind = "flatten"
    elif src is not None and dst is not None and src == dst:
        kind = "same"
    elif dst is not None and len(dst) == 2 and src is not None and len(src) >= 2:
        sd, dd = b.g.dims(x), dst[1]
        kind = "flatten" if sd is None or not isinstance(dd, int) or dd == prod(sd) else None
    else:
        kind = None
    if kind is None:
        return False
    if kind == "same" or src is not None and len(src) == 2 and kind == "flatten":
        b.alias(out, x)
    else:
        b.add("flatten", {}, [b.of[x]], out)
    return True
