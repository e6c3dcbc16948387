"""The shape engine against PyTorch, on random layers and inputs.

Hypothesis draws a layer of every supported type with random fields and a
random input. The same layer is written as a spec (parsed by the spec reader,
shaped by the engine) and built as a torch module from the drawn fields alone,
with torch's own defaults, then run on a small CPU tensor. Wherever torch
accepts the layer, the output shape, the parameter count and (for conv and fc)
the multiply-adds must be equal; wherever torch raises, the engine must raise
a ShapeError, and nowhere else.

Inputs are CxHxW maps or feature vectors: the shapes a spec network carries.
"""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

from netviz.errors import ShapeError  # noqa: E402
from netviz.shapes import infer  # noqa: E402
from netviz.readers import parse_spec  # noqa: E402

torch.set_num_threads(1)

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
BATCH = 2

# --- drawing ---------------------------------------------------------------

maps = st.tuples(st.integers(1, 8), st.integers(1, 14), st.integers(1, 14))
vectors = st.tuples(st.integers(1, 24))
any_input = st.one_of(maps, vectors)


def side(lo, hi):
    """A square size (an int) or an HxW pair (a list), as a spec writes them."""
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2, max_size=2))


def optional(**strategies):
    """A dict holding a random subset of the given fields."""
    return st.fixed_dictionaries({}, optional=strategies)


@st.composite
def conv_fields(draw, groups=st.sampled_from([1, 1, 2, 3, 4])):
    fields = {"kernel": draw(side(1, 5)), **draw(optional(
        stride=side(1, 4), pad=side(0, 3), dilation=side(1, 3), bias=st.booleans()))}
    g = draw(groups)
    if g > 1:
        fields["groups"] = g
    # out channels: often a multiple of the groups, so that the input channels decide
    fields["out"] = draw(st.one_of(st.integers(1, 4).map(lambda m: m * g), st.integers(1, 8)))
    return fields


@st.composite
def grouped_convs(draw):
    """A grouped conv and a map whose channels are often a multiple of its groups."""
    g = draw(st.integers(2, 4))
    fields = draw(conv_fields(groups=st.just(g)))
    c = draw(st.one_of(st.integers(1, 3).map(lambda m: m * g), st.integers(1, 8)))
    return fields, (c, draw(st.integers(1, 12)), draw(st.integers(1, 12)))


maxpool_fields = st.builds(
    lambda kernel, rest: {"kernel": kernel, **rest}, side(1, 5),
    optional(stride=side(1, 4), pad=side(0, 3), dilation=side(1, 3), ceil_mode=st.booleans()))
avgpool_fields = st.builds(
    lambda kernel, rest: {"kernel": kernel, **rest}, side(1, 5),
    optional(stride=side(1, 4), pad=side(0, 3), ceil_mode=st.booleans(),
             count_include_pad=st.booleans()))
adaptive_fields = st.fixed_dictionaries({"output": side(1, 8)})
lrn_fields = optional(size=st.integers(1, 7), alpha=st.floats(1e-5, 1e-2),
                      beta=st.floats(0.5, 1.0), k=st.floats(0.5, 2.0))
bn_fields = optional(eps=st.floats(1e-6, 1e-3), momentum=st.floats(0.0, 1.0), affine=st.booleans())
fc_fields = st.builds(lambda out, rest: {"out": out, **rest}, st.integers(1, 16),
                      optional(bias=st.booleans()))
dropout_fields = optional(p=st.floats(0.0, 1.0))
leaky_fields = optional(slope=st.floats(0.0, 0.5))
no_fields = st.just({})

ACTIVATIONS = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid, "mish": nn.Mish,
}

FIELDS = {
    "conv": conv_fields(), "maxpool": maxpool_fields, "avgpool": avgpool_fields,
    "adaptive_avgpool": adaptive_fields, "adaptive_maxpool": adaptive_fields,
    "global_avgpool": no_fields, "lrn": lrn_fields, "batchnorm": bn_fields, "fc": fc_fields,
    "flatten": no_fields, "dropout": dropout_fields, "softmax": no_fields,
    "leaky_relu": leaky_fields, **{name: no_fields for name in ACTIVATIONS},
}


# --- the torch side ----------------------------------------------------------

def _kw(fields, names):
    """Spec fields renamed to torch's keyword arguments (absent ones left to torch)."""
    return {names[k]: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


def torch_module(ltype, fields, x):
    """The torch module for a spec layer applied to tensor x (fields as drawn)."""
    if ltype == "conv":
        return nn.Conv2d(x.shape[1], **_kw(fields, {
            "out": "out_channels", "kernel": "kernel_size", "stride": "stride", "pad": "padding",
            "dilation": "dilation", "groups": "groups", "bias": "bias"}))
    if ltype == "maxpool":
        return nn.MaxPool2d(**_kw(fields, {"kernel": "kernel_size", "stride": "stride",
                                           "pad": "padding", "dilation": "dilation",
                                           "ceil_mode": "ceil_mode"}))
    if ltype == "avgpool":
        return nn.AvgPool2d(**_kw(fields, {"kernel": "kernel_size", "stride": "stride",
                                           "pad": "padding", "ceil_mode": "ceil_mode",
                                           "count_include_pad": "count_include_pad"}))
    if ltype == "adaptive_avgpool":
        return nn.AdaptiveAvgPool2d(**_kw(fields, {"output": "output_size"}))
    if ltype == "adaptive_maxpool":
        return nn.AdaptiveMaxPool2d(**_kw(fields, {"output": "output_size"}))
    if ltype == "global_avgpool":
        return nn.AdaptiveAvgPool2d(1)
    if ltype == "lrn":  # torch has no default size; the spec's is 5 (the 2012 AlexNet's)
        return nn.LocalResponseNorm(**_kw({"size": 5, **fields}, {
            "size": "size", "alpha": "alpha", "beta": "beta", "k": "k"}))
    if ltype == "batchnorm":
        cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}.get(x.dim(), nn.BatchNorm3d)
        return cls(x.shape[1], **_kw(fields, {"eps": "eps", "momentum": "momentum",
                                              "affine": "affine"})).eval()
    if ltype == "fc":
        return nn.Linear(x.shape[-1], **_kw(fields, {"out": "out_features", "bias": "bias"}))
    if ltype == "flatten":
        return nn.Flatten()
    if ltype == "dropout":
        return nn.Dropout(**_kw(fields, {"p": "p"}))
    if ltype == "softmax":
        return nn.Softmax(dim=1)
    if ltype == "leaky_relu":
        return nn.LeakyReLU(**_kw(fields, {"slope": "negative_slope"}))
    return ACTIVATIONS[ltype]()


def run_torch(ltype, fields, x):
    """(output, params, macs) of the layer in torch; raises where torch raises
    and where torch's result does not keep the batch apart."""
    from torch.utils.flop_counter import FlopCounterMode
    module = torch_module(ltype, fields, x)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        y = module(x)
    if y.shape[0] != x.shape[0]:
        # e.g. adaptive pooling to 1 of a batch of vectors averages the whole
        # batch: torch read the batch as a spatial axis; no per-sample layer.
        raise ValueError(f"{ltype} on {tuple(x.shape)} gives {tuple(y.shape)}: the batch is lost")
    params = sum(p.numel() for p in module.parameters())
    return y, params, counter.get_total_flops() // 2


def spec_text(input_shape, layers) -> str:
    """A spec with one layer a line (JSON flow maps): layer i is on line 3 + i."""
    return (f"input: {'x'.join(map(str, input_shape))}\nlayers:\n"
            + "".join(f"  - {json.dumps(layer)}\n" for layer in layers))


def run_engine(input_shape, layers):
    """The engine's ShapedNetwork for the spec, or its ShapeError."""
    network = parse_spec(spec_text(input_shape, layers), "drawn.yaml")
    try:
        return infer(network)
    except ShapeError as exc:
        return exc


# --- one layer of each type --------------------------------------------------

def check_one(ltype, fields, input_shape):
    engine = run_engine(input_shape, [{ltype: {"name": "layer", **fields}}])
    x = torch.randn(BATCH, *input_shape)
    try:
        y, params, macs = run_torch(ltype, fields, x)
    except (RuntimeError, ValueError, IndexError) as exc:
        assert isinstance(engine, ShapeError), \
            f"torch raises ({exc}) but the engine accepts {ltype} {fields} on {input_shape}"
        assert str(engine).startswith("drawn.yaml:3:"), str(engine)
        assert ": layer: " in str(engine), str(engine)
        return
    assert not isinstance(engine, ShapeError), \
        f"torch accepts {ltype} {fields} on {input_shape} but the engine says: {engine}"
    info = engine["layer"]
    assert info.output == tuple(y.shape[1:]), (ltype, fields, input_shape)
    assert info.params == params, (ltype, fields, input_shape)
    if ltype in ("conv", "fc"):
        assert info.macs == macs // BATCH, (ltype, fields, input_shape)


@pytest.mark.parametrize("ltype", sorted(FIELDS))
def test_layer_matches_torch(ltype):
    inputs = any_input if ltype not in ("conv", "maxpool", "avgpool") else st.one_of(maps, maps, vectors)

    @SETTINGS
    @given(fields=FIELDS[ltype], input_shape=inputs)
    def check(fields, input_shape):
        check_one(ltype, fields, input_shape)

    check()


@settings(SETTINGS, max_examples=150)
@given(drawn=grouped_convs())
def test_grouped_conv_matches_torch(drawn):
    check_one("conv", *drawn)


# PyTorch's ceil mode drops a last window that would start in the right padding.
@st.composite
def ceil_pools(draw):
    kernel = draw(st.integers(1, 5))
    fields = {"kernel": kernel, "stride": draw(st.integers(1, 4)),
              "pad": draw(st.integers(0, kernel // 2)), "ceil_mode": True}
    return draw(st.sampled_from(["maxpool", "avgpool"])), fields


@SETTINGS
@given(drawn=ceil_pools(), input_shape=st.tuples(st.integers(1, 3), st.integers(1, 12),
                                                 st.integers(1, 12)))
def test_ceil_mode_pools_match_torch(drawn, input_shape):
    check_one(*drawn, input_shape)


# --- chains of random layers ---------------------------------------------------

CHAIN_TYPES = sorted(FIELDS)


@st.composite
def chains(draw):
    layers = []
    for _ in range(draw(st.integers(2, 5))):
        ltype = draw(st.sampled_from(CHAIN_TYPES))
        layers.append((ltype, draw(FIELDS[ltype])))
    return layers


@SETTINGS
@given(layers=chains(), input_shape=st.one_of(maps, maps, vectors))
def test_chain_matches_torch(layers, input_shape):
    """Every prefix of a chain: same shapes and params up to the first layer
    torch rejects, and the engine rejects that same layer."""
    specs = [{t: {"name": f"l{i}", **f}} for i, (t, f) in enumerate(layers)]
    x = torch.randn(BATCH, *input_shape)
    for i, (ltype, fields) in enumerate(layers):
        engine = run_engine(input_shape, specs[:i + 1])
        try:
            x, params, _ = run_torch(ltype, fields, x)
        except (RuntimeError, ValueError, IndexError):
            assert isinstance(engine, ShapeError), f"torch raises at l{i} {ltype} {fields}"
            assert str(engine).startswith(f"drawn.yaml:{3 + i}:5: l{i}: "), str(engine)
            return
        assert not isinstance(engine, ShapeError), f"torch accepts l{i}; the engine: {engine}"
        assert engine[f"l{i}"].output == tuple(x.shape[1:])
        assert engine[f"l{i}"].params == params


# --- add and concat of two branches -----------------------------------------------

@st.composite
def branches(draw):
    """Two branches from one input: convs on a map, or fcs on a vector."""
    if draw(st.booleans()):
        shape = draw(maps)
        make = st.builds(lambda out, kernel, pad, stride: {"out": out, "kernel": kernel,
                                                           "pad": pad, "stride": stride},
                         st.integers(1, 6), side(1, 3), st.integers(0, 1), st.integers(1, 2))
        return shape, "conv", draw(make), draw(make)
    shape = draw(vectors)
    make = st.fixed_dictionaries({"out": st.integers(1, 4)})
    return shape, "fc", draw(make), draw(make)


@pytest.mark.parametrize("combine", ["add", "concat"])
def test_branches_match_torch(combine):
    @SETTINGS
    @given(drawn=branches())
    def check(drawn):
        shape, btype, fa, fb = drawn
        engine = run_engine(shape, [
            {btype: {"name": "a", "inputs": "input", **fa}},
            {btype: {"name": "b", "inputs": "input", **fb}},
            {combine: {"name": "join", "inputs": ["a", "b"]}}])
        x = torch.randn(BATCH, *shape)
        try:
            ya, _, _ = run_torch(btype, fa, x)
            yb, _, _ = run_torch(btype, fb, x)
        except (RuntimeError, ValueError):
            assert isinstance(engine, ShapeError) and ": join: " not in str(engine)
            return
        try:
            if combine == "add":
                # The engine is stricter than torch here on purpose: a residual
                # add of two different shapes is a mistake, so broadcasting
                # (1x5x5 + 4x5x5) is refused; see test_shapes.py.
                if ya.shape != yb.shape:
                    torch.broadcast_shapes(ya.shape, yb.shape)
                    raise ValueError("broadcast")
                y = ya + yb
            else:
                y = torch.cat([ya, yb], dim=1)
        except (RuntimeError, ValueError):
            assert isinstance(engine, ShapeError), f"{combine} of {ya.shape} and {yb.shape}"
            assert str(engine).startswith("drawn.yaml:5:5: join: "), str(engine)
            return
        assert not isinstance(engine, ShapeError), str(engine)
        assert engine["join"].output == tuple(y.shape[1:])
        assert engine["join"].params == 0

    check()


# --- zoo models against torchvision -----------------------------------------------

TORCH_TYPES = {"Conv2d": "conv", "ReLU": "relu", "MaxPool2d": "maxpool", "Dropout": "dropout",
               "AdaptiveAvgPool2d": "adaptive_avgpool", "Linear": "fc",
               "LocalResponseNorm": "lrn", "Flatten": "flatten", "Softmax": "softmax"}


def torch_layers(model, input_shape):
    """(type, input shape, output shape, params) of every leaf module, in call order,
    from one forward pass on the meta device."""
    records = []
    hooks = [m.register_forward_hook(lambda m, i, o: records.append(
                 (TORCH_TYPES[type(m).__name__], tuple(i[0].shape[1:]), tuple(o.shape[1:]),
                  sum(p.numel() for p in m.parameters()))))
             for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(torch.empty(1, *input_shape, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return records


@pytest.mark.parametrize("zoo_name, builder", [("alexnet-torchvision", "alexnet"),
                                               ("vgg16", "vgg16")])
def test_zoo_matches_torchvision(zoo_name, builder):
    torchvision = pytest.importorskip("torchvision")
    from netviz.models import shaped
    with torch.device("meta"):
        model = getattr(torchvision.models, builder)(weights=None).eval()
    result = shaped(zoo_name)
    # torchvision calls torch.flatten in forward() and has no softmax module
    ours = [(layer.type, result[layer.name].output, result[layer.name].params)
            for layer in result.layers if layer.type not in ("input", "flatten", "softmax")]
    theirs = []
    for ltype, shape_in, shape_out, params in torch_layers(model, result.input_shape):
        theirs.append((ltype, shape_out, params))
    assert ours == theirs
    assert result.total_params == sum(p.numel() for p in model.parameters())


def test_alexnet_torchvision_parameter_count():
    """The figure of the design notes, independent of torchvision."""
    from netviz.models import shaped
    assert shaped("alexnet-torchvision").total_params == 61_100_840


def test_paper_alexnet_matches_torch():
    """The 2012 network written in torch from the design notes' facts."""
    from netviz.models import shaped
    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 2), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Flatten(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000),
            nn.Softmax(dim=1)).eval()
    result = shaped("alexnet")
    ours = [(layer.type, result[layer.name].output, result[layer.name].params)
            for layer in result.layers if layer.type != "input"]
    theirs = [(t, out, p) for t, _, out, p in torch_layers(model, (3, 227, 227))]
    assert ours == theirs
    assert result.total_params == sum(p.numel() for p in model.parameters()) == 60_965_224
