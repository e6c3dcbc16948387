"""The shape engine: output shape, parameters and multiply-adds per layer.

The integer arithmetic is PyTorch's (``torch.nn.Conv2d``, ``MaxPool2d``, ...),
including ceil mode, padding, dilation and groups, and so are the errors: a
layer torch would reject is reported here, naming the layer and the numbers.
Multiply-adds count the multiplications of convolutions and fully connected
layers (the convention of papers and of torch's FlopCounterMode, halved);
element-wise layers count none.
"""
from __future__ import annotations

from math import floor, isfinite, prod

from .errors import ShapeError
from .fileio import gc_paused
from .layers import ACTIVATIONS
from .ir import LayerInfo, Network, ShapedNetwork, Warning_, format_shape
from .shapes_transformer import RULES as _TRANSFORMER_RULES

_RULES = {}

# Bounds that keep every later stage (drawing, tables, building) finite: no
# real network comes near them, and past them a figure or table would not fit
# in memory. A layer over them is refused, naming the layer.
MAX_ELEMENTS = 2 ** 40   # elements of one layer's output
MAX_COUNT = 2 ** 62      # parameters or multiply-adds of one layer
MAX_FAN_IN = 256         # inputs of one add or concat


def rule(*types):
    def deco(fn):
        for t in types:
            _RULES[t] = fn
        return fn
    return deco


class _Ctx:
    """What a rule sees: the layer, its input shapes, a warning sink."""

    __slots__ = ("layer", "ins", "warnings")

    def __init__(self, layer, ins, warnings):
        self.layer = layer
        self.ins = ins
        self.warnings = warnings

    def fail(self, message: str):
        raise ShapeError.at(f"{self.layer.name}: {message}", self.layer.loc)

    def warn(self, message: str):
        self.warnings.append(Warning_(self.layer.name, message, self.layer.loc))

    def chw(self):
        shape = self.ins[0]
        if len(shape) != 3:
            self.fail(f"{self.layer.type} needs a CxHxW input, got {format_shape(shape)}"
                      + (" (a vector: put it before the flatten/fc layers)" if len(shape) == 1 else ""))
        return shape


def window_out(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape (conv is the floor-mode case)."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1  # ceil division
        if (out - 1) * stride >= size + pad:  # last window must start inside input or left pad
            out -= 1
    else:
        out = span // stride + 1
    return out


def unused_rows(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Rows of the real (unpadded) input after the end of the last floor-mode
    window: input that no window reads. Padding left over is not counted."""
    eff = dilation * (kernel - 1) + 1
    if size + 2 * pad < eff:
        return 0
    out = (size + 2 * pad - eff) // stride + 1
    last_end = (out - 1) * stride - pad + eff  # one past the last row the last window reads
    return max(0, size - last_end)


def _tiling(ctx, axis_sizes, kernel, stride, pad, dilation):
    """Warn where a floor-mode window leaves rows or columns of its input unused."""
    square = (axis_sizes[0] == axis_sizes[1] and kernel[0] == kernel[1] and stride[0] == stride[1]
              and pad[0] == pad[1] and dilation[0] == dilation[1])
    for i in ((0,) if square else (0, 1)):  # square: one warning says it for both axes
        size, k, s, p, d = axis_sizes[i], kernel[i], stride[i], pad[i], dilation[i]
        if s > d * (k - 1) + 1:
            continue  # windows with gaps between them skip input by design (1x1 stride-2 shortcuts)
        rest = unused_rows(size, k, s, p, d)  # leftover padding is not counted
        if not rest:
            continue
        up = next(n for n in range(size + 1, size + s + 1) if unused_rows(n, k, s, p, d) == 0)
        down = next((n for n in range(size - 1, max(size - s, 0), -1)
                     if unused_rows(n, k, s, p, d) == 0 and n + 2 * p >= d * (k - 1) + 1), None)
        if square:
            axis, units = "", ("row and column", "rows and columns")
            shown = lambda n: f"{n}x{n}"  # noqa: E731
        else:
            axis, units = ("height ", ("row", "rows")) if i == 0 else ("width ", ("column", "columns"))
            shown = str
        what = "kernel" if ctx.layer.type == "conv" else "window"
        unused = f"the last {units[0]} {'are' if square else 'is'}" if rest == 1 else \
            f"the last {rest} {units[1]} are"
        fix = f"an input {axis}of {shown(up)} would tile exactly"
        if down:
            fix += f" (or {shown(down)})"
        ctx.warn(f"{kernel[0]}x{kernel[1]} {what} with stride {s} does not tile its input {axis}of "
                 f"{shown(size)}: {unused} never used; {fix}")


@rule("input")
def _input(ctx):
    shape = ctx.layer.attrs["shape"]
    if shape is None:  # a model file whose input size is symbolic (ONNX dynamic axes)
        ctx.fail("the model does not fix its input size: give one with --input, e.g. --input 3x224x224")
    return shape, 0, 0


@rule("conv")
def _conv(ctx):
    a = ctx.layer.attrs
    c, h, w = ctx.chw()
    k, s, p, d, g, out = a["kernel"], a["stride"], a["pad"], a["dilation"], a["groups"], a["out"]
    if c % g:
        ctx.fail(f"input channels {c} are not divisible by groups {g}")
    if out % g:
        ctx.fail(f"output channels {out} are not divisible by groups {g}")
    for size, kk, pp, dd, axis in ((h, k[0], p[0], d[0], "height"), (w, k[1], p[1], d[1], "width")):
        eff = dd * (kk - 1) + 1
        if size + 2 * pp < eff:
            ctx.fail(f"kernel {format_shape(k)}" + (f" dilated to {eff}" if dd > 1 else "")
                     + f" is larger than the padded input {axis} {size}+2*{pp}={size + 2 * pp}")
    oh = window_out(h, k[0], s[0], p[0], d[0], False)
    ow = window_out(w, k[1], s[1], p[1], d[1], False)
    _tiling(ctx, (h, w), k, s, p, d)
    per_out = (c // g) * k[0] * k[1]
    params = out * per_out + (out if a["bias"] else 0)
    return (out, oh, ow), params, out * oh * ow * per_out


@rule("deconv")
def _deconv(ctx):
    """torch.nn.ConvTranspose2d: (H-1)*stride - 2*pad + dilation*(k-1) + output_pad + 1.
    Multiply-adds: every input pixel times a kernel per output channel (the
    convention of torch's FlopCounterMode for transposed convolutions)."""
    a = ctx.layer.attrs
    c, h, w = ctx.chw()
    k, s, p, d, g, out = a["kernel"], a["stride"], a["pad"], a["dilation"], a["groups"], a["out"]
    op = a.get("output_pad", (0, 0))
    if c % g:
        ctx.fail(f"input channels {c} are not divisible by groups {g}")
    if out % g:
        ctx.fail(f"output channels {out} are not divisible by groups {g}")
    for i, axis in ((0, "height"), (1, "width")):
        if op[i] >= s[i] and op[i] >= d[i]:
            ctx.fail(f"output_pad {format_shape(op)} must be smaller than the stride "
                     f"{format_shape(s)} or the dilation {format_shape(d)} (in {axis}), as "
                     "torch requires")
    oh, ow = ((size - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
              for i, size in enumerate((h, w)))
    if oh < 1 or ow < 1:
        ctx.fail(f"the output would be {oh}x{ow} ((H-1)*stride - 2*pad + dilation*(kernel-1) "
                 f"+ output_pad + 1 on the {h}x{w} input): pad {format_shape(p)} cuts away "
                 "everything the kernel spreads")
    per_in = (out // g) * k[0] * k[1]
    params = c * per_in + (out if a["bias"] else 0)
    return (out, oh, ow), params, c * h * w * per_in


UPSAMPLE_MODES = ("nearest", "bilinear", "bicubic")


@rule("upsample")
def _upsample(ctx):
    """torch.nn.Upsample / F.interpolate on a 2-D map: floor(H*scale), or the size given."""
    a = ctx.layer.attrs
    c, h, w = ctx.chw()
    scale, size, mode = a.get("scale"), a.get("size"), a.get("mode", "nearest")
    if mode not in UPSAMPLE_MODES:
        ctx.fail(f"unknown upsample mode {mode!r}: use {', '.join(UPSAMPLE_MODES)}")
    if a.get("align_corners") is not None and mode == "nearest":
        ctx.fail("align_corners applies to the bilinear and bicubic modes only, as in torch: "
                 "leave it out for nearest")
    if (scale is None) == (size is None):
        ctx.fail("upsample takes either 'scale' or 'size'" + (", not both" if scale is not None else ""))
    if size is not None:
        oh, ow = size
    else:
        if not scale > 0 or not isfinite(scale):
            ctx.fail(f"scale must be a positive finite number, got {scale:g}")
        if max(h, w) * scale > MAX_ELEMENTS:
            ctx.fail(f"scale {scale:g} makes the {h}x{w} input larger than {MAX_ELEMENTS:,} "
                     "elements a side")
        oh, ow = floor(h * scale), floor(w * scale)
        if oh < 1 or ow < 1:
            ctx.fail(f"scale {scale:g} makes the {h}x{w} input {oh}x{ow}: "
                     "nothing is left")
    return (c, oh, ow), 0, 0


@rule("maxpool", "avgpool")
def _pool(ctx):
    a = ctx.layer.attrs
    c, h, w = ctx.chw()
    k, s, p = a["kernel"], a["stride"], a["pad"]
    d = a.get("dilation", (1, 1))
    ceil = a["ceil_mode"]
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            ctx.fail(f"pad {format_shape(p)} must be at most half the window {format_shape(k)}")
    oh = window_out(h, k[0], s[0], p[0], d[0], ceil)
    ow = window_out(w, k[1], s[1], p[1], d[1], ceil)
    if oh < 1 or ow < 1:
        ctx.fail(f"window {format_shape(k)} (stride {format_shape(s)}, pad {format_shape(p)}) "
                 f"does not fit the input {h}x{w}: the output would be {oh}x{ow}")
    if not ceil:
        _tiling(ctx, (h, w), k, s, p, d)
    return (c, oh, ow), 0, 0


@rule("adaptive_avgpool", "adaptive_maxpool")
def _adaptive(ctx):
    c, _, _ = ctx.chw()
    oh, ow = ctx.layer.attrs["output"]
    return (c, oh, ow), 0, 0


@rule("global_avgpool")
def _gap(ctx):
    c, _, _ = ctx.chw()
    return ((c, 1, 1) if ctx.layer.attrs.get("keepdim", True) else (c,)), 0, 0


@rule("flatten")
def _flatten(ctx):
    return (prod(ctx.ins[0]),), 0, 0


@rule("fc")
def _fc(ctx):
    a = ctx.layer.attrs
    shape = ctx.ins[0]
    features = shape[-1]
    if len(shape) == 3 and "weight" not in a:  # (read with its weight, from an ONNX
        # file: the model applies it so, as ConvNeXt does to its channels-last maps)
        ctx.warn(f"fc applies to the last dimension of {format_shape(shape)} as torch.nn.Linear does; "
                 f"put '- flatten' before it to use all {prod(shape)} features")
    out = a["out"]
    params = features * out + (out if a["bias"] else 0)
    lead = prod(shape[:-1])
    return shape[:-1] + (out,), params, lead * features * out


@rule("embedding")
def _embedding(ctx):
    """torch.nn.Embedding: each id becomes a vector of ``dim``; a lookup, no multiply-adds."""
    a = ctx.layer.attrs
    num, dim, pad = a["num"], a["dim"], a.get("padding_idx")
    if pad is not None and not -num <= pad < num:
        ctx.fail(f"padding_idx {pad} is not an id of the {num}-word vocabulary: it must be "
                 f"from {-num} to {num - 1}, as torch requires")
    return tuple(ctx.ins[0]) + (dim,), num * dim, 0


GATES = {"lstm": 4, "gru": 3, "rnn": 1}
NONLINEARITIES = ("tanh", "relu")


@rule("lstm", "gru", "rnn")
def _recurrent(ctx):
    """torch.nn.LSTM, GRU and RNN with batch_first: a TxF input, a T x hidden*directions
    output (the last step only with ``last``). Parameters per layer and direction:
    gates * hidden * (inputs + state + 2 biases), plus the projection of an LSTM with
    proj_size. Multiply-adds: the weight matrices applied once per time step."""
    a = ctx.layer.attrs
    t = ctx.layer.type
    shape = ctx.ins[0]
    if len(shape) != 2:
        ctx.fail(f"{t} needs a sequence TxF (time steps x features), got {format_shape(shape)}"
                 + (": start with an embedding to turn token ids into vectors" if len(shape) == 1
                    else ""))
    steps, features = shape
    hidden, layers, dirs = a["hidden"], a["layers"], 2 if a["bidirectional"] else 1
    proj = a.get("proj_size", 0) if t == "lstm" else 0
    if t == "rnn" and a.get("nonlinearity", "tanh") not in NONLINEARITIES:
        ctx.fail(f"unknown nonlinearity {a['nonlinearity']!r}: use tanh or relu, as torch.nn.RNN "
                 "requires")
    if proj and proj >= hidden:
        ctx.fail(f"proj_size {proj} must be smaller than hidden {hidden}, as torch requires")
    if a["dropout"] and layers == 1:
        ctx.warn(f"dropout {a['dropout']:g} does nothing with 1 layer: torch applies it between "
                 "stacked layers only (give layers: 2 or more, or leave dropout out)")
    gates, state = GATES[t], proj or hidden
    params = macs = 0
    size = features
    for _ in range(layers):
        per_dir = gates * hidden * (size + state) + (2 * gates * hidden if a["bias"] else 0) \
            + proj * hidden
        params += dirs * per_dir
        macs += dirs * steps * (gates * hidden * (size + state) + proj * hidden)
        size = state * dirs
    return ((size,) if a["last"] else (steps, size)), params, macs


@rule("batchnorm")
def _bn(ctx):
    shape = ctx.ins[0]
    return shape, (2 * shape[0] if ctx.layer.attrs["affine"] else 0), 0


@rule("lrn")
def _lrn(ctx):
    shape = ctx.ins[0]
    if len(shape) < 2:
        ctx.fail(f"lrn needs channels and a spatial extent, got {format_shape(shape)}")
    return shape, 0, 0


@rule("softmax", *ACTIVATIONS)
def _same(ctx):
    return ctx.ins[0], 0, 0


DROPS = ("elements", "samples", "batch")  # torch.nn.Dropout; StochasticDepth's row and batch modes


@rule("dropout")
def _dropout(ctx):
    drops = ctx.layer.attrs.get("drops", "elements")
    if drops not in DROPS:
        ctx.fail(f"unknown dropout drops {drops!r}: use {', '.join(DROPS)}")
    return ctx.ins[0], 0, 0


@rule("add")
def _add(ctx):
    first = ctx.ins[0]
    bias = ctx.layer.attrs.get("bias")
    if len(ctx.ins) == 1:
        if bias is None:
            ctx.fail("add with one input adds a learned addend: give its shape, e.g. bias: "
                     f"{format_shape(first)}, or give 'inputs', the layers it sums")
        bias = tuple(bias)
        if len(bias) > len(first) or any(b not in (1, f) for b, f in zip(bias[::-1], first[::-1])):
            ctx.fail(f"the learned addend {format_shape(bias)} does not broadcast over "
                     f"{format_shape(first)} without changing its shape")
        return first, prod(bias), 0
    if bias is not None:
        ctx.fail("add with two or more inputs sums them: leave 'bias' out")
    for src, shape in zip(ctx.layer.inputs[1:], ctx.ins[1:]):
        if shape != first:
            ctx.fail(f"cannot add {ctx.layer.inputs[0]} ({format_shape(first)}) and "
                     f"{src} ({format_shape(shape)}): shapes differ")
    return first, 0, 0


@rule("concat")
def _concat(ctx):
    first = ctx.ins[0]
    for src, shape in zip(ctx.layer.inputs[1:], ctx.ins[1:]):
        if len(shape) != len(first) or shape[1:] != first[1:]:
            ctx.fail(f"cannot concatenate {ctx.layer.inputs[0]} ({format_shape(first)}) and "
                     f"{src} ({format_shape(shape)}): sizes other than the channels differ")
    return (sum(s[0] for s in ctx.ins),) + tuple(first[1:]), 0, 0


@rule("custom")
def _custom(ctx):
    a = ctx.layer.attrs
    if a.get("warning"):  # what a reader could only guess (an ONNX op netviz does not know)
        ctx.warn(a["warning"])
    return a["output"], a.get("params", 0), a.get("macs", 0)


_RULES.update(_TRANSFORMER_RULES)


def _big_shape(shape) -> str:
    """A shape for a message, with sizes of many digits shortened."""
    return "x".join(str(n) if n < 10 ** 15 else f"{n:.3g}" for n in shape)


def infer(network: Network) -> ShapedNetwork:
    """Run the shape engine over a network (layers are in topological order)."""
    with gc_paused():
        return _infer(network)


def _infer(network: Network) -> ShapedNetwork:
    info: dict[str, LayerInfo] = {}
    outputs: dict[str, tuple] = {}
    warnings: list[Warning_] = []
    rules = _RULES
    ctx = _Ctx(None, (), warnings)  # one context, pointed at each layer in turn
    for layer in network.layers:
        ctx.layer = layer
        ctx.ins = ins = tuple([outputs[src] for src in layer.inputs])
        if len(ins) > MAX_FAN_IN:
            ctx.fail(f"{len(ins)} inputs; a layer reads at most {MAX_FAN_IN}")
        output, params, macs = rules[layer.type](ctx)
        if type(output) is not tuple:
            output = tuple(output)
        if prod(output) > MAX_ELEMENTS:
            ctx.fail(f"the output {_big_shape(output)} has more than {MAX_ELEMENTS:,} (2^40) "
                     "elements; no network that fits in memory has such a layer")
        if params > MAX_COUNT or macs > MAX_COUNT:
            ctx.fail(f"more than {MAX_COUNT:,} (2^62) parameters or multiply-adds in one layer")
        outputs[layer.name] = output
        info[layer.name] = LayerInfo(output, params, macs, ins)
    if network.streams > 1:
        for layer in network.layers:
            if layer.type in ("conv", "deconv", "fc") and layer.attrs["out"] % network.streams:
                warnings.append(Warning_(layer.name, f"{layer.attrs['out']} outputs do not split "
                                         f"evenly into {network.streams} streams", layer.loc))
    return ShapedNetwork(network, info, tuple(warnings))
