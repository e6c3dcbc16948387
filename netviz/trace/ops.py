"""What a traced call is: its canonical op name, the spec layer it maps to,
and the multiply-adds of the matrix work inside it.

A call is a leaf module (``torch.nn.Conv2d``), a torch function
(``torch.cat``, ``F.relu``) or a tensor method (``x.flatten``). Calls that map
exactly onto a spec layer type become that type (the builder then checks the
mapping with the shape engine); everything else becomes ``custom``.
"""
from __future__ import annotations

from math import prod

from ..layers import ACTIVATIONS, complete
from .modern_ops import NAMED, modern_function, modern_module_table

# -- op names -----------------------------------------------------------------

_RENAME = {
    "iadd": "add", "radd": "add", "isub": "sub", "rsub": "sub", "imul": "mul", "rmul": "mul",
    "itruediv": "div", "truediv": "div", "rtruediv": "div", "concat": "cat", "concatenate": "cat",
    "rmatmul": "matmul", "imatmul": "matmul", "max_pool2d_with_indices": "max_pool2d",
}

# ops that hand their input on unchanged (for a figure): they make no layer
TRANSPARENT = frozenset("contiguous clone detach to type float double half bfloat16 cpu cuda "
                        "requires_grad identity".split())

def op_name(target) -> str:
    """Canonical name of a function, method or method name: 'add' for
    operator.add, Tensor.__iadd__, Tensor.add_ and 'add'."""
    name = target if isinstance(target, str) else getattr(target, "__name__", type(target).__name__)
    name = name.strip("_")
    return _RENAME.get(name, name)


# -- arguments ----------------------------------------------------------------

_SIGNATURES = {
    "flatten": ("input", "start_dim", "end_dim"),
    "cat": ("tensors", "dim"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                   "return_indices"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
    "adaptive_avg_pool2d": ("input", "output_size"),
    "adaptive_max_pool2d": ("input", "output_size", "return_indices"),
    "dropout": ("input", "p", "training", "inplace"),
    "softmax": ("input", "dim"),
    "leaky_relu": ("input", "negative_slope", "inplace"),
    "add": ("input", "other", "alpha"),
    "mean": ("input", "dim", "keepdim"),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners",
                    "recompute_scale_factor", "antialias"),
    "upsample": ("input", "size", "scale_factor", "mode", "align_corners"),
    "upsample_nearest": ("input", "size", "scale_factor"),
    "upsample_bilinear": ("input", "size", "scale_factor"),
    "mul": ("input", "other"),
    "layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "group_norm": ("input", "num_groups", "weight", "bias", "eps"),
    "rms_norm": ("input", "normalized_shape", "weight", "eps"),
    "scaled_dot_product_attention": ("query", "key", "value", "attn_mask", "dropout_p",
                                     "is_causal", "scale", "enable_gqa"),
    "shifted_window_attention": ("input", "qkv_weight", "proj_weight", "relative_position_bias",
                                 "window_size", "num_heads", "shift_size", "attention_dropout",
                                 "dropout", "qkv_bias", "proj_bias", "logit_scale", "training"),
}


def bind(name: str, args, kwargs) -> dict:
    names = _SIGNATURES.get(name, ())
    out = dict(zip(names, args))
    out.update(kwargs)
    return out


def _pair(v):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) == 2 and all(isinstance(i, int) for i in v):
        return v
    raise ValueError(v)


def _attrs(type_name: str, **given) -> tuple[str, dict]:
    """(type, attrs) with the attributes the spec reader would fill in."""
    return type_name, complete(type_name, given)


# -- modules ------------------------------------------------------------------

def _conv(m):
    if isinstance(m.padding, str):
        if m.padding != "valid":
            return None
        pad = (0, 0)
    else:
        pad = _pair(m.padding)
    return _attrs("conv", out=m.out_channels, kernel=_pair(m.kernel_size), stride=_pair(m.stride),
                  pad=pad, dilation=_pair(m.dilation), groups=m.groups, bias=m.bias is not None)


def _deconv(m):
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        return None
    return _attrs("deconv", out=m.out_channels, kernel=_pair(m.kernel_size), stride=_pair(m.stride),
                  pad=_pair(m.padding), output_pad=_pair(m.output_padding),
                  dilation=_pair(m.dilation), groups=m.groups, bias=m.bias is not None)


def _upsample_attrs(size, scale, mode, align_corners, antialias=False):
    """The upsample layer of an interpolation of a 2-D map, or None."""
    if antialias or mode not in ("nearest", "bilinear", "bicubic") or (size is None) == (scale is None):
        return None
    attrs = {"mode": mode}
    if size is not None:
        attrs["size"] = _pair(size)
    else:
        scales = tuple(scale) if isinstance(scale, (tuple, list)) else (scale, scale)
        if len(scales) != 2 or scales[0] != scales[1]:
            return None  # a different factor per axis: no single scale
        attrs["scale"] = float(scales[0])
    if align_corners is not None and mode != "nearest":
        attrs["align_corners"] = bool(align_corners)
    return _attrs("upsample", **attrs)


def _upsample(m):
    return _upsample_attrs(m.size, m.scale_factor, m.mode, m.align_corners)


def _maxpool(m):
    if m.return_indices:
        return None
    return _attrs("maxpool", kernel=_pair(m.kernel_size), stride=_pair(m.stride or m.kernel_size),
                  pad=_pair(m.padding), dilation=_pair(m.dilation), ceil_mode=bool(m.ceil_mode))


def _avgpool(m):
    if m.divisor_override:
        return None
    return _attrs("avgpool", kernel=_pair(m.kernel_size), stride=_pair(m.stride or m.kernel_size),
                  pad=_pair(m.padding), ceil_mode=bool(m.ceil_mode),
                  count_include_pad=bool(m.count_include_pad))


def _adaptive(type_name):
    def make(m):
        if getattr(m, "return_indices", False):
            return None
        return _attrs(type_name, output=_pair(m.output_size))
    return make


def _bn(m):
    momentum = float(m.momentum) if m.momentum is not None else None
    return _attrs("batchnorm", eps=float(m.eps), momentum=momentum, affine=bool(m.affine))


def _recurrent(kind):
    """An nn.LSTM, GRU or RNN in the batch_first layout the spec's sequences use
    (TxF without the batch); others have no spec layer. Its output[0] is the
    sequence the layer type describes."""
    def make(m):
        if not m.batch_first or getattr(m, "mode", "").lower().replace("_", "") not in \
                ("lstm", "gru", "rnntanh", "rnnrelu"):
            return None
        attrs = dict(hidden=m.hidden_size, layers=m.num_layers, bidirectional=bool(m.bidirectional),
                     bias=bool(m.bias), dropout=float(m.dropout),
                     last=bool(getattr(m, "last", False)))
        if kind == "lstm":
            attrs["proj_size"] = m.proj_size
        if kind == "rnn":
            attrs["nonlinearity"] = m.nonlinearity
        return _attrs(kind, **attrs)
    return make


def _embedding(m):
    if m.max_norm is not None:
        return None  # renormalises the table it reads: more than a lookup
    return _attrs("embedding", num=m.num_embeddings, dim=m.embedding_dim,
                  padding_idx=m.padding_idx)


def _module_table():
    from torch import nn
    from ..torch_modules import RECURRENT, add_class, concat_class, define
    define()  # netviz's own modules (a built spec) map back too
    table = {
        nn.LSTM: _recurrent("lstm"), nn.GRU: _recurrent("gru"), nn.RNN: _recurrent("rnn"),
        **{cls: _recurrent(kind) for kind, cls in RECURRENT.items()},
        nn.Embedding: _embedding,
        nn.Conv2d: _conv,
        nn.ConvTranspose2d: _deconv,
        nn.Upsample: _upsample, nn.UpsamplingNearest2d: _upsample,
        nn.UpsamplingBilinear2d: _upsample,
        nn.Linear: lambda m: _attrs("fc", out=m.out_features, bias=m.bias is not None),
        nn.MaxPool2d: _maxpool,
        nn.AvgPool2d: _avgpool,
        nn.AdaptiveAvgPool2d: _adaptive("adaptive_avgpool"),
        nn.AdaptiveMaxPool2d: _adaptive("adaptive_maxpool"),
        nn.BatchNorm2d: _bn, nn.BatchNorm1d: _bn,
        **modern_module_table(),
        add_class(): lambda m: _attrs("add"), concat_class(): lambda m: _attrs("concat"),
        nn.LocalResponseNorm: lambda m: _attrs("lrn", size=m.size, alpha=float(m.alpha),
                                               beta=float(m.beta), k=float(m.k)),
        nn.Flatten: lambda m: _attrs("flatten") if (m.start_dim, m.end_dim) == (1, -1) else None,
        nn.Softmax: lambda m: _attrs("softmax"),
        nn.LeakyReLU: lambda m: _attrs("leaky_relu", slope=float(m.negative_slope)),
    }
    for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout):
        table[cls] = lambda m: _attrs("dropout", p=float(m.p))
    for cls, name in ((nn.ReLU, "relu"), (nn.ReLU6, "relu6"), (nn.ELU, "elu"), (nn.GELU, "gelu"),
                      (nn.SiLU, "silu"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"),
                      (nn.Hardswish, "hardswish"), (nn.Hardsigmoid, "hardsigmoid"),
                      (nn.Mish, "mish")):
        table[cls] = (lambda n: lambda m: _attrs(n))(name)
    return table


_TABLE = None


def module_layer(module) -> tuple[str, dict] | None:
    """(type, attrs) of a leaf module that maps exactly onto a spec type, else None.
    The match is on the exact class: a subclass may change what forward does."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _module_table()
    cls = type(module)
    make = _TABLE.get(cls) or NAMED.get((cls.__module__, cls.__qualname__))
    if make is None:
        return None
    try:
        return make(module)
    except (TypeError, ValueError):
        return None


def module_macs(module, args, out) -> int:
    """Multiply-adds of an exactly mapped module: conv and linear only."""
    from torch import nn
    if isinstance(module, nn.Linear):
        return macs_of("linear", (args[0], module.weight), {}, out) if args else 0
    if isinstance(module, nn.Conv2d):
        return macs_of("conv2d", (args[0], module.weight), {}, out) if args else 0
    if isinstance(module, nn.ConvTranspose2d):
        return macs_of("conv_transpose2d", (args[0], module.weight), {}, out) if args else 0
    return 0


def is_identity(module) -> bool:
    from torch import nn
    return type(module) is nn.Identity


# -- functions and methods ----------------------------------------------------

def function_layer(name: str, args, kwargs, n_data: int, n_const: int, out_dims: int):
    """(type, attrs) for a torch function or tensor method, else None.

    ``n_data`` counts the tensor arguments that come from the network's input,
    ``n_const`` those that come from parameters or constants; ``out_dims`` is
    the number of output dimensions without the batch.
    """
    a = bind(name, args, kwargs)
    try:
        if name in ACTIVATIONS and n_data == 1 and not n_const:  # F.relu is the spec's relu
            if name == "leaky_relu":
                return _attrs("leaky_relu", slope=float(a.get("negative_slope", 0.01)))
            return _attrs(name)
        if name == "hardtanh" and n_data == 1 and tuple(args[1:3]) == (0.0, 6.0):
            return _attrs("relu6")
        if name in ("flatten", "view", "reshape") and n_data == 1 and out_dims == 1:
            return _attrs("flatten")
        if name == "add" and n_data >= 2 and not n_const and a.get("alpha", 1) == 1:
            return _attrs("add")
        if name == "cat" and n_data >= 2 and not n_const:
            dim = a.get("dim", 0)
            tensors = a.get("tensors") or ()
            if dim < 0 and tensors:
                dim += tensors[0].dim()
            if dim == 1:
                return _attrs("concat")
        if name == "max_pool2d" and not a.get("return_indices"):
            k = _pair(a["kernel_size"])
            s = a.get("stride")
            return _attrs("maxpool", kernel=k, stride=_pair(s) if s else k,
                          pad=_pair(a.get("padding", 0)), dilation=_pair(a.get("dilation", 1)),
                          ceil_mode=bool(a.get("ceil_mode", False)))
        if name == "avg_pool2d" and not a.get("divisor_override"):
            k = _pair(a["kernel_size"])
            s = a.get("stride")
            return _attrs("avgpool", kernel=k, stride=_pair(s) if s else k,
                          pad=_pair(a.get("padding", 0)), ceil_mode=bool(a.get("ceil_mode", False)),
                          count_include_pad=bool(a.get("count_include_pad", True)))
        if name == "adaptive_avg_pool2d":
            return _attrs("adaptive_avgpool", output=_pair(a["output_size"]))
        if name == "adaptive_max_pool2d" and not a.get("return_indices"):
            return _attrs("adaptive_maxpool", output=_pair(a["output_size"]))
        if name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"):
            return _attrs("dropout", p=float(a.get("p", 0.5)))
        if name == "softmax" and out_dims == 1:
            return _attrs("softmax")
        if name in ("interpolate", "upsample") and n_data == 1 and out_dims == 3:
            return _upsample_attrs(a.get("size"), a.get("scale_factor"), a.get("mode", "nearest"),
                                   a.get("align_corners"), a.get("antialias", False))
        if name in ("upsample_nearest", "upsample_bilinear") and n_data == 1 and out_dims == 3:
            bilinear = name == "upsample_bilinear"  # F.upsample_bilinear aligns the corners
            return _upsample_attrs(a.get("size"), a.get("scale_factor"),
                                   "bilinear" if bilinear else "nearest", True if bilinear else None)
        modern = modern_function(name, a, n_data, n_const)
        if modern is not None:
            return modern
        if name == "mean" and n_data == 1 and out_dims == (3 if a.get("keepdim") else 1) and \
                a.get("dtype") is None and sorted(d % 4 for d in _as_tuple(a.get("dim"))) == [2, 3]:
            return _attrs("global_avgpool", keepdim=bool(a.get("keepdim")))
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return None


def _as_tuple(v):
    if v is None:
        return ()
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


# -- multiply-adds ------------------------------------------------------------

def _shape(t):
    return tuple(getattr(t, "shape", ()))


def macs_of(name: str, args, kwargs, out) -> int:
    """Multiply-adds of the matrix work one call does (as torch's
    FlopCounterMode counts them, halved); 0 for everything else."""
    try:
        return _macs(name, args, kwargs, out)
    except (IndexError, TypeError, AttributeError, ValueError):
        return 0


def _numel(t) -> int:
    return prod(_shape(t))


def _macs(name, args, kwargs, out) -> int:
    if name == "linear":
        weight = args[1] if len(args) > 1 else kwargs["weight"]
        return _numel(out) * _shape(weight)[-1]
    if name in ("conv1d", "conv2d", "conv3d"):
        weight = args[1] if len(args) > 1 else kwargs["weight"]
        w = _shape(weight)
        return _numel(out) * w[1] * prod(w[2:])
    if name in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        w = _shape(args[1] if len(args) > 1 else kwargs["weight"])
        return _numel(args[0]) * w[1] * prod(w[2:])
    if name in ("matmul", "mm", "bmm"):
        return _numel(out) * _shape(args[0])[-1]
    if name in ("addmm", "baddbmm", "addbmm"):
        return _numel(out) * _shape(args[1])[-1]
    if name == "scaled_dot_product_attention":
        q, k, v = (_shape(t) for t in args[:3])
        return prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])
    if name == "multi_head_attention_forward":
        q, k, v = (_shape(t) for t in args[:3])  # (L, N, E) or (L, E)
        e = args[3]
        n = q[1] if len(q) == 3 else 1
        lq, s = q[0], k[0]
        return n * (lq * q[-1] * e + s * k[-1] * e + s * v[-1] * e + 2 * lq * s * e + lq * e * e)
    if name == "native_multi_head_attention":
        q, k, v = (_shape(t) for t in args[:3])  # (N, L, E)
        e = args[3]
        n = q[0] if len(q) == 3 else 1
        lq, s = q[-2], k[-2]
        return n * (lq * q[-1] * e + s * k[-1] * e + s * v[-1] * e + 2 * lq * s * e + lq * e * e)
    return 0
