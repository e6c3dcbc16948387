"""Caffe's layers, one handler each, mapped onto netviz's layer types.

Each handler reads one Caffe layer (:class:`CaffeLayer`): its parameters,
checked field by field (a field that would change the network and that netviz
cannot draw is an error, never silently dropped), its bottoms resolved to
netviz layers, and it emits netviz layers and points its tops at them. The input layers (Data, Input,
...) are in ``caffe_data.py``; the table of types in ``caffe_table.py``.
"""
from __future__ import annotations

import difflib
import math

from ..errors import SpecError
from ..ir import Loc
from .pbtext import Field, Message, Scalar


def suggest(word: str, choices) -> str:
    """' (did you mean X?)' for a near miss: the same but for case, a typo
    (difflib ratio at least 0.75, so 'Frobnicate' is not taken for 'Concat'),
    or the one choice the word begins or ends (Pool, Concatenate)."""
    by_lower: dict[str, str] = {}
    for c in choices:
        by_lower.setdefault(str(c).lower(), str(c))
    low = word.lower()
    near = difflib.get_close_matches(low, list(by_lower), n=1, cutoff=0.75)
    if not near and len(low) >= 4:
        near = [c for c in by_lower if len(c) >= 4 and (c.startswith(low) or low.startswith(c))]
        near = near if len(near) == 1 else []
    return f" (did you mean '{by_lower[near[0]]}'?)" if near else ""


def convert(value, kind: str, what: str):
    """A Scalar as an int, float, bool, str or enum name (errors at its place)."""
    if isinstance(value, Message):
        raise SpecError.at(f"{what} must be a value, not a {{ ... }} block", value.loc)
    v, text = value, value.value
    if kind == "int":
        if v.kind == "number":
            body = text.lstrip("+-")
            if len(body) > 20:  # past 2^64: no count or size in a network
                raise SpecError.at(f"{what} is too large ({len(body)} digits)", v.loc)
            if body[:2].lower() == "0x":
                return int(text[:len(text) - len(body)] + "1") * int(body, 16)
            if body.isdigit():
                return int(text)
        raise SpecError.at(f"{what} must be an integer, got {v.show()}", v.loc)
    if kind == "float":
        if v.kind == "number" and len(text) <= 400:
            try:
                number = float(int(text, 16) if text.lower().lstrip("+-").startswith("0x")
                               else text.rstrip("fF"))
            except (ValueError, OverflowError):
                number = None
            if number is not None and math.isfinite(number):
                return number
        if v.kind == "ident" and text.lower().lstrip("-") in ("inf", "infinity", "nan") or v.kind == "number":
            raise SpecError.at(f"{what} must be a finite number, got {v.show()}", v.loc)
        raise SpecError.at(f"{what} must be a number, got {v.show()}", v.loc)
    if kind == "bool":
        if v.kind in ("ident", "number"):
            if text in ("true", "True", "t", "1"):
                return True
            if text in ("false", "False", "f", "0"):
                return False
        raise SpecError.at(f"{what} must be true or false, got {v.show()}", v.loc)
    if kind == "str":
        if v.kind != "string":
            raise SpecError.at(f"{what} must be a quoted string, got {v.show()}", v.loc)
        return text
    raise AssertionError(kind)


class Section:
    """One message of a layer (``convolution_param { ... }``): typed access to
    its fields, and an error for any field netviz does not know."""

    def __init__(self, msg: Message | None, what: str, known=(), ignored=(), check=True):
        self.msg = msg
        self.what = what
        if msg is not None and check:
            allowed = set(known) | set(ignored)
            for f in msg.fields:
                if f.name not in allowed:
                    raise SpecError.at(f"{what}: unsupported parameter '{f.name}'"
                                       f"{suggest(f.name, known)}; netviz reads "
                                       f"{', '.join(sorted(known)) or 'none of its fields'}", f.loc)

    def fields(self, name: str) -> list[Field]:
        return self.msg.all(name) if self.msg is not None else []

    def one(self, name: str) -> Field | None:
        found = self.fields(name)
        if len(found) > 1:
            raise SpecError.at(f"{self.what}: '{name}' is given twice (first at line "
                               f"{found[0].loc.line})", found[1].loc)
        return found[0] if found else None

    def get(self, name: str, kind: str, default=None, low=None):
        f = self.one(name)
        if f is None:
            return default
        return self._check(convert(f.value, kind, f"{self.what} {name}"), f, name, low)

    def many(self, name: str, kind: str, low=None) -> list:
        return [self._check(convert(f.value, kind, f"{self.what} {name}"), f, name, low)
                for f in self.fields(name)]

    def _check(self, v, f: Field, name: str, low):
        if low is not None and v < low:
            word = "positive" if low == 1 else f"at least {low}"
            raise SpecError.at(f"{self.what} {name} must be {word}, got {v}", f.value.loc)
        return v

    def enum(self, name: str, choices: tuple[str, ...], default: str) -> tuple[str, Loc | None]:
        """An enum field, written as a name or as its number (index in CHOICES)."""
        f = self.one(name)
        if f is None:
            return default, None
        v = f.value
        if isinstance(v, Scalar) and v.kind == "ident" and v.value in choices:
            return v.value, v.loc
        if isinstance(v, Scalar) and v.kind == "number" and v.value.isdigit() and int(v.value) < len(choices):
            return choices[int(v.value)], v.loc
        shown = v.show() if isinstance(v, Scalar) else "{ ... }"
        raise SpecError.at(f"{self.what} {name} must be one of {', '.join(choices)}, got {shown}",
                           v.loc)

    def sub(self, name: str, what: str | None = None, known=(), ignored=(), check=True) -> "Section":
        f = self.one(name)
        if f is not None and not isinstance(f.value, Message):
            raise SpecError.at(f"{self.what} {name} must be a {{ ... }} block", f.loc)
        return Section(f.value if f is not None else None, what or name, known, ignored, check)


class CaffeLayer:
    """A Caffe layer as the handlers see it."""

    def __init__(self, reader, f: Field, name: str | None, ctype: str):
        self.reader = reader
        self.loc = f.loc
        self.msg: Message = f.value
        self.caffe_name = name
        self.type = ctype
        self.body = Section(self.msg, f"{name or ctype}", check=False)
        self.bottoms = [(convert(b.value, "str", "bottom"), b.loc) for b in self.msg.all("bottom")]
        self.tops = [convert(t.value, "str", "top") for t in self.msg.all("top")]
        self.label = name or ctype

    def param(self, name: str, known=(), ignored=()) -> Section:
        return self.body.sub(name, f"{self.label}: {name}", known, ignored)

    def fail(self, message: str, loc: Loc | None = None):
        raise SpecError.at(f"{self.label}: {message}", loc or self.loc)

    def count(self, least: int, most: int | None, what: str = "bottom"):
        items = self.bottoms if what == "bottom" else self.tops
        n = len(items)
        if n < least or (most is not None and n > most):
            want = str(least) if least == most else f"at least {least}" if most is None else \
                f"{least} to {most}"
            self.fail(f"{self.type} takes {want} {what}{'s' if want != '1' else ''}, got {n}")




def image_shape(dims: list[int], loc: Loc, what: str) -> tuple[int, ...]:
    """A Caffe blob shape (N, C, H, W) or (N, F) without the batch."""
    if len(dims) not in (2, 4):
        shown = "x".join(map(str, dims)) or "nothing"
        raise SpecError.at(f"{what}: netviz reads 4 dims (N, C, H, W) or 2 (N, F), got "
                           f"{len(dims)} ({shown})", loc)
    if any(d <= 0 for d in dims):
        raise SpecError.at(f"{what}: every dim must be positive, got {'x'.join(map(str, dims))}", loc)
    return tuple(dims[1:])




# --- the handlers ----------------------------------------------------------------

def _window(p: Section, name: str, hname: str | None, wname: str | None, default, low: int,
            repeated: bool = True):
    """A kernel, stride, pad or dilation: ``NAME: n`` (or ``NAME: h NAME: w``) or ``NAME_h`` and ``NAME_w``."""
    values = p.many(name, "int", low)
    h = p.get(hname, "int", None, low) if hname else None
    w = p.get(wname, "int", None, low) if wname else None
    if h is not None or w is not None:
        if values:
            f = p.one(hname) or p.one(wname)
            raise SpecError.at(f"{p.what}: give {name} or {hname} and {wname}, not both", f.loc)
        if default is None and (h is None or w is None):  # Caffe's rule for kernels only
            f = p.one(hname) or p.one(wname)
            raise SpecError.at(f"{p.what}: {hname} and {wname} go together", f.loc)
        return (default[0] if h is None else h, default[1] if w is None else w)
    if not values:
        return default
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2 and repeated:
        return (values[0], values[1])
    f = p.fields(name)[2 if repeated else 1]
    raise SpecError.at(f"{p.what}: {len(values)} values of {name}: netviz draws 2-D layers"
                       if repeated else f"{p.what}: '{name}' is given twice", f.loc)


def _one(layer: CaffeLayer) -> str:
    """The single bottom of a layer, as a netviz layer name."""
    layer.count(1, 1)
    blob, loc = layer.bottoms[0]
    return layer.reader.read(layer, blob, loc)


def _simple(layer: CaffeLayer, ntype: str, attrs: dict, src: str | None = None, rank=None):
    r = layer.reader
    src = _one(layer) if src is None else src
    node = r.emit(ntype, attrs, (src,), layer.loc, layer.caffe_name,
                  r.rank(src) if rank is None else rank, layer.type)
    r.set_tops(layer, node)
    return node


def _axis1(p: Section, name: str = "axis", ok=(1,)):
    f = p.one(name)
    if f is not None and p.get(name, "int") not in ok:
        raise SpecError.at(f"{p.what}: {name} {p.get(name, 'int')} is not supported: netviz "
                           "works on the channel axis (1)", f.value.loc)


def conv(layer, ntype: str = "conv"):
    """Convolution, and Deconvolution (same parameters; ``ntype`` "deconv")."""
    p = layer.param("convolution_param", (
        "num_output", "bias_term", "pad", "pad_h", "pad_w", "kernel_size", "kernel_h", "kernel_w",
        "stride", "stride_h", "stride_w", "group", "dilation", "axis"),
        ("weight_filler", "bias_filler", "engine", "force_nd_im2col"))
    out = p.get("num_output", "int", None, 1)
    if out is None:
        layer.fail("convolution_param num_output is missing")
    kernel = _window(p, "kernel_size", "kernel_h", "kernel_w", None, 1)
    if kernel is None:
        layer.fail("convolution_param needs kernel_size (or kernel_h and kernel_w)")
    _axis1(p, ok=(1, -3))
    _simple(layer, ntype, {
        "out": out, "kernel": kernel, "stride": _window(p, "stride", "stride_h", "stride_w", (1, 1), 1),
        "pad": _window(p, "pad", "pad_h", "pad_w", (0, 0), 0),
        "dilation": _window(p, "dilation", None, None, (1, 1), 1),
        "groups": p.get("group", "int", 1, 1), "bias": p.get("bias_term", "bool", True)}, rank=3)


def pool(layer):
    p = layer.param("pooling_param", (
        "pool", "pad", "pad_h", "pad_w", "kernel_size", "kernel_h", "kernel_w", "stride",
        "stride_h", "stride_w", "global_pooling", "round_mode"), ("engine",))
    kind, kloc = p.enum("pool", ("MAX", "AVE", "STOCHASTIC"), "MAX")
    if kind == "STOCHASTIC":
        raise SpecError.at(f"{p.what}: STOCHASTIC pooling is not supported (netviz pools by MAX "
                           "or AVE)", kloc)
    mode, _ = p.enum("round_mode", ("CEIL", "FLOOR"), "CEIL")
    kernel = _window(p, "kernel_size", "kernel_h", "kernel_w", None, 1, repeated=False)
    stride = _window(p, "stride", "stride_h", "stride_w", (1, 1), 1, repeated=False)
    pad = _window(p, "pad", "pad_h", "pad_w", (0, 0), 0, repeated=False)
    if p.get("global_pooling", "bool", False):
        if kernel is not None or stride != (1, 1) or pad != (0, 0):
            layer.fail("global_pooling takes no kernel_size, stride or pad: it pools the whole map")
        if kind == "AVE":
            return _simple(layer, "global_avgpool", {}, rank=3)
        return _simple(layer, "adaptive_maxpool", {"output": (1, 1)}, rank=3)
    if kernel is None:
        layer.fail("pooling_param needs kernel_size (or kernel_h and kernel_w, or global_pooling)")
    attrs = {"kernel": kernel, "stride": stride, "pad": pad, "ceil_mode": mode == "CEIL"}
    _simple(layer, "maxpool" if kind == "MAX" else "avgpool", attrs, rank=3)


def inner_product(layer):
    p = layer.param("inner_product_param", ("num_output", "bias_term", "axis"),
                    ("weight_filler", "bias_filler", "transpose"))
    out = p.get("num_output", "int", None, 1)
    if out is None:
        layer.fail("inner_product_param num_output is missing")
    _axis1(p)
    r = layer.reader
    src = _one(layer)
    if r.rank(src) != 1:  # Caffe flattens everything after the batch axis
        src = r.emit("flatten", {}, (src,), layer.loc, None, 1, None)
    _simple(layer, "fc", {"out": out, "bias": p.get("bias_term", "bool", True)}, src=src, rank=1)


def relu(layer):
    p = layer.param("relu_param", ("negative_slope",), ("engine",))
    slope = p.get("negative_slope", "float", 0.0)
    if slope:
        return _simple(layer, "leaky_relu", {"slope": slope})
    _simple(layer, "relu", {})


def _plain(ntype: str, param: str | None = None, known=(), ignored=("engine",), checks=()):
    def handler(layer):
        if param:
            p = layer.param(param, known, ignored)
            for name, default in checks:
                f = p.one(name)
                if f is not None and p.get(name, "float") != default:
                    raise SpecError.at(f"{p.what}: {name} {p.get(name, 'float'):g} is not supported "
                                       f"(netviz's {ntype} has {name} {default:g})", f.value.loc)
        _simple(layer, ntype, {})
    return handler


def lrn(layer):
    p = layer.param("lrn_param", ("local_size", "alpha", "beta", "k", "norm_region"), ("engine",))
    size = p.get("local_size", "int", 5, 1)
    if size % 2 == 0:
        f = p.one("local_size")
        raise SpecError.at(f"{p.what}: local_size must be odd, got {size}", f.value.loc)
    region, rloc = p.enum("norm_region", ("ACROSS_CHANNELS", "WITHIN_CHANNEL"), "ACROSS_CHANNELS")
    if region != "ACROSS_CHANNELS":
        raise SpecError.at(f"{p.what}: WITHIN_CHANNEL normalisation is not supported (netviz's lrn "
                           "is across channels, as torch.nn.LocalResponseNorm)", rloc)
    _simple(layer, "lrn", {"size": size, "alpha": p.get("alpha", "float", 1.0),
                           "beta": p.get("beta", "float", 0.75), "k": p.get("k", "float", 1.0)})


def dropout(layer):
    p = layer.param("dropout_param", ("dropout_ratio",), ("scale_train",))
    ratio = p.get("dropout_ratio", "float", 0.5)
    if not 0 <= ratio < 1:
        f = p.one("dropout_ratio")
        raise SpecError.at(f"{p.what}: dropout_ratio must be from 0 to below 1, got {ratio:g}",
                           f.value.loc)
    _simple(layer, "dropout", {"p": ratio})


def batch_norm(layer):
    p = layer.param("batch_norm_param", ("use_global_stats", "moving_average_fraction", "eps"))
    p.get("use_global_stats", "bool")
    fraction = p.get("moving_average_fraction", "float", 0.999)
    _simple(layer, "batchnorm", {"eps": p.get("eps", "float", 1e-5), "affine": False,
                                 "momentum": round(1 - fraction, 12)})


def scale(layer):
    """Caffe's BatchNorm has no scale and shift; the Scale after it adds them."""
    p = layer.param("scale_param", ("axis", "num_axes", "bias_term"), ("filler", "bias_filler"))
    _axis1(p)
    _axis1(p, "num_axes")
    p.get("bias_term", "bool")
    r = layer.reader
    src = _one(layer)
    bn = r.by_name[src]
    if bn["type"] != "batchnorm" or bn["caffe"] != "BatchNorm" or bn["attrs"]["affine"] or bn["used"]:
        layer.fail("a Scale layer is read only straight after a BatchNorm, as its scale and shift "
                   "(netviz has no scale layer of its own)")
    bn["attrs"]["affine"] = True
    r.set_tops(layer, src)


def softmax(layer):
    p = layer.param("softmax_param", ("axis",), ("engine",))
    _axis1(p, ok=(1, -1))
    layer.bottoms = layer.bottoms[:1]  # SoftmaxWithLoss: the labels are not part of the drawing
    _simple(layer, "softmax", {})


def concat(layer):
    p = layer.param("concat_param", ("axis", "concat_dim"))
    _axis1(p, ok=(1, -3))
    _axis1(p, "concat_dim")
    layer.count(1, None)
    r = layer.reader
    srcs = [r.read(layer, blob, loc) for blob, loc in layer.bottoms]
    if len(srcs) == 1:  # a concatenation of one blob is that blob
        return r.set_tops(layer, srcs[0])
    node = r.emit("concat", {}, srcs, layer.loc, layer.caffe_name, r.rank(srcs[0]), layer.type)
    r.set_tops(layer, node)


def eltwise(layer):
    p = layer.param("eltwise_param", ("operation", "coeff"), ("stable_prod_grad",))
    op, oloc = p.enum("operation", ("PROD", "SUM", "MAX"), "SUM")
    if op != "SUM":
        raise SpecError.at(f"{p.what}: operation {op} is not supported: netviz's element-wise "
                           "layer is the sum (add)", oloc)
    for f in p.fields("coeff"):
        if convert(f.value, "float", f"{p.what} coeff") != 1:
            raise SpecError.at(f"{p.what}: coeff {f.value.value} is not supported: netviz's add "
                               "sums its inputs as they are (every coeff 1)", f.value.loc)
    layer.count(2, None)
    r = layer.reader
    srcs = [r.read(layer, blob, loc) for blob, loc in layer.bottoms]
    node = r.emit("add", {}, srcs, layer.loc, layer.caffe_name, r.rank(srcs[0]), layer.type)
    r.set_tops(layer, node)


def flatten(layer):
    p = layer.param("flatten_param", ("axis", "end_axis"))
    _axis1(p)
    _axis1(p, "end_axis", ok=(-1,))
    _simple(layer, "flatten", {}, rank=1)


def split(layer):
    src = _one(layer)
    layer.reader.set_tops(layer, src)
