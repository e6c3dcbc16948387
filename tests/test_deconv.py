"""Transposed convolution (deconv) and upsampling: shapes, parameters and
multiply-adds against real torch modules, the errors torch raises, the
built module, the tracer's mapping, the readers, the figures of the U-Net
example and the layer reference."""
from __future__ import annotations

import json
import os
import re

import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from netviz.errors import ShapeError  # noqa: E402
from netviz.shapes import infer  # noqa: E402
from netviz.readers import load_spec, parse_spec  # noqa: E402

torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNET = os.path.join(ROOT, "examples", "unet.yaml")
SETTINGS = settings(derandomize=True, max_examples=120, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
BATCH = 2


# --- the engine against torch -------------------------------------------------------

def spec_text(input_shape, ltype, fields) -> str:
    """A one-layer spec; the layer is on line 3."""
    return (f"input: {'x'.join(map(str, input_shape))}\nlayers:\n"
            f"  - {json.dumps({ltype: {'name': 'layer', **fields}})}\n")


def engine(input_shape, ltype, fields):
    try:
        return infer(parse_spec(spec_text(input_shape, ltype, fields), "drawn.yaml"))
    except ShapeError as exc:
        return exc


def _t(v):
    return tuple(v) if isinstance(v, list) else v


def torch_deconv(fields, c):
    names = {"out": "out_channels", "kernel": "kernel_size", "stride": "stride",
             "pad": "padding", "output_pad": "output_padding", "dilation": "dilation",
             "groups": "groups", "bias": "bias"}
    return nn.ConvTranspose2d(c, **{names[k]: _t(v) for k, v in fields.items()})


def torch_upsample(fields):
    kw = {}
    if "scale" in fields:
        kw["scale_factor"] = float(fields["scale"])
    if "size" in fields:
        kw["size"] = _t(fields["size"])
    if "mode" in fields:
        kw["mode"] = fields["mode"]
    if "align_corners" in fields:
        kw["align_corners"] = fields["align_corners"]
    return nn.Upsample(**kw)


def check_against_torch(ltype, fields, input_shape):
    from torch.utils.flop_counter import FlopCounterMode
    got = engine(input_shape, ltype, fields)
    x = torch.randn(BATCH, *input_shape)
    try:
        module = torch_deconv(fields, input_shape[0]) if ltype == "deconv" else torch_upsample(fields)
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            y = module(x)
    except (RuntimeError, ValueError) as exc:
        assert isinstance(got, ShapeError), f"torch raises ({exc}) but the engine accepts {fields} on {input_shape}"
        assert str(got).startswith("drawn.yaml:3:5: layer: "), str(got)
        return "refused"
    if y.numel() == 0:
        # torch gives an empty map where the padding cuts away the whole output;
        # the engine refuses such a layer on purpose (a map of 0 rows draws nothing)
        assert isinstance(got, ShapeError) and "the output would be " in str(got), (fields, input_shape)
        return "refused"
    assert not isinstance(got, ShapeError), f"torch accepts {fields} on {input_shape}; the engine: {got}"
    info = got["layer"]
    assert info.output == tuple(y.shape[1:]), (fields, input_shape)
    assert info.params == sum(p.numel() for p in module.parameters())
    assert info.macs == counter.get_total_flops() // 2 // BATCH, (fields, input_shape)
    return "accepted"


def side(lo, hi):
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2, max_size=2))


@st.composite
def deconvs(draw):
    g = draw(st.sampled_from([1, 1, 2, 3]))
    fields = {"kernel": draw(side(1, 5)), **draw(st.fixed_dictionaries({}, optional=dict(
        stride=side(1, 4), pad=side(0, 3), output_pad=side(0, 3), dilation=side(1, 3),
        bias=st.booleans())))}
    if g > 1:
        fields["groups"] = g
    fields["out"] = draw(st.one_of(st.integers(1, 3).map(lambda m: m * g), st.integers(1, 6)))
    c = draw(st.one_of(st.integers(1, 3).map(lambda m: m * g), st.integers(1, 6)))
    return fields, (c, draw(st.integers(1, 9)), draw(st.integers(1, 9)))


@st.composite
def upsamples(draw):
    fields = {}
    which = draw(st.sampled_from(["scale", "size", "both", "neither"]))
    if which in ("scale", "both"):
        fields["scale"] = draw(st.sampled_from([0.5, 1, 1.5, 2, 2.5, 3, 0.3, 1.7]))
    if which in ("size", "both"):
        fields["size"] = draw(side(1, 20))
    mode = draw(st.sampled_from([None, "nearest", "bilinear", "bicubic"]))
    if mode:
        fields["mode"] = mode
    if draw(st.integers(0, 3)) == 0:
        fields["align_corners"] = draw(st.booleans())
    return fields, (draw(st.integers(1, 4)), draw(st.integers(1, 13)), draw(st.integers(1, 13)))


SEEN = {"deconv": set(), "upsample": set()}


@SETTINGS
@given(drawn=deconvs())
def test_deconv_matches_torch(drawn):
    SEEN["deconv"].add(check_against_torch("deconv", *drawn))


@SETTINGS
@given(drawn=upsamples())
def test_upsample_matches_torch(drawn):
    SEEN["upsample"].add(check_against_torch("upsample", *drawn))


def test_the_draws_reach_both_outcomes():
    """The property tests above saw layers torch accepts and layers it refuses."""
    if not all(SEEN.values()):
        pytest.skip("run with the property tests")
    assert SEEN == {"deconv": {"accepted", "refused"}, "upsample": {"accepted", "refused"}}


@pytest.mark.parametrize("kernel, stride, pad, output_pad, dilation, groups", [
    (4, 2, 1, 0, 1, 1), (3, 2, 1, 1, 1, 1), (2, 2, 0, 0, 1, 1), (3, 1, 1, 0, 1, 1),
    (5, 3, 2, 2, 1, 1), (3, 2, 0, 0, 2, 1), (3, 1, 0, 1, 2, 1), (4, 2, 1, 0, 1, 4),
    ([3, 5], [1, 2], [1, 2], [0, 1], [1, 1], 2), (1, 1, 0, 0, 1, 8),
])
def test_deconv_grid_matches_torch(kernel, stride, pad, output_pad, dilation, groups):
    fields = {"out": 8, "kernel": kernel, "stride": stride, "pad": pad, "output_pad": output_pad,
              "dilation": dilation, "groups": groups}
    assert check_against_torch("deconv", fields, (8, 7, 6)) == "accepted"


def test_deconv_formula_and_counts():
    """The U-Net up-step: 4x4 stride 2 pad 1 doubles the map."""
    info = engine((64, 16, 16), "deconv", {"out": 32, "kernel": 4, "stride": 2, "pad": 1})["layer"]
    assert info.output == (32, 32, 32)
    assert info.params == 64 * 32 * 16 + 32
    assert info.macs == 64 * 16 * 16 * 32 * 16


@pytest.mark.parametrize("fields, shape", [
    ({"scale": 2}, (3, 5, 7)), ({"scale": 1.5, "mode": "bilinear"}, (3, 5, 7)),
    ({"scale": 0.5, "mode": "bicubic", "align_corners": True}, (2, 9, 9)),
    ({"size": [11, 3], "mode": "bilinear", "align_corners": False}, (1, 4, 4)),
    ({"size": 6}, (2, 3, 3)), ({"scale": 2.5}, (1, 3, 5)),
])
def test_upsample_grid_matches_torch(fields, shape):
    assert check_against_torch("upsample", fields, shape) == "accepted"


@pytest.mark.parametrize("ltype, fields, shape, message", [
    ("deconv", {"out": 4, "kernel": 3, "stride": 2, "output_pad": 2}, (3, 5, 5),
     "output_pad 2x2 must be smaller than the stride 2x2 or the dilation 1x1"),
    ("deconv", {"out": 4, "kernel": 3, "output_pad": 1}, (3, 5, 5),
     "output_pad 1x1 must be smaller than the stride 1x1 or the dilation 1x1"),
    ("deconv", {"out": 4, "kernel": 1, "pad": 2}, (3, 2, 2), "the output would be -2x-2"),
    ("deconv", {"out": 3, "kernel": 3, "groups": 2}, (4, 5, 5),
     "output channels 3 are not divisible by groups 2"),
    ("upsample", {"scale": 2, "size": 8}, (3, 4, 4), "either 'scale' or 'size', not both"),
    ("upsample", {"mode": "bilinear"}, (3, 4, 4), "either 'scale' or 'size'"),
    ("upsample", {"scale": 2, "mode": "linear"}, (3, 4, 4),
     "unknown upsample mode 'linear': use nearest, bilinear, bicubic"),
    ("upsample", {"scale": 2, "align_corners": True}, (3, 4, 4),
     "align_corners applies to the bilinear and bicubic modes only"),
    ("upsample", {"scale": 0.1}, (3, 4, 4), "scale 0.1 makes the 4x4 input 0x0"),
    ("upsample", {"scale": 2}, (12,), "upsample needs a CxHxW input, got 12"),
])
def test_errors_name_the_layer_and_the_numbers(ltype, fields, shape, message):
    got = engine(shape, ltype, fields)
    assert isinstance(got, ShapeError)
    assert str(got).startswith("drawn.yaml:3:5: layer: "), str(got)
    assert message in str(got)


def test_bad_output_pad_exits_2_in_one_line(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: 3x8x8\nlayers:\n  - conv: {out: 4, kernel: 3}\n"
                    "  - deconv: {out: 2, kernel: 4, stride: 2, output_pad: 2}\n")
    out = tmp_path / "bad.png"
    res = cli("render", spec, "-o", out)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert re.match(r".*bad\.yaml:4:5: deconv1: output_pad 2x2 must be smaller than the stride", lines[0])
    assert not out.exists()


def test_spec_aliases_and_short_forms():
    net = parse_spec("input: 3x8x8\nlayers:\n  - {type: ConvTranspose2d, out: 6, kernel: 1}\n"
                     "  - {type: deconvolution, out: 2, kernel: 2, stride: 2}\n  - Upsample: 2\n"
                     "  - interpolate: {size: 5}\n  - conv_transpose: {out: 1, kernel: 1}\n")
    types = [layer.type for layer in net.layers[1:]]
    assert types == ["deconv", "deconv", "upsample", "upsample", "deconv"]
    shaped = infer(net)
    assert [shaped[l.name].output for l in net.layers[1:]] == [
        (6, 8, 8), (2, 16, 16), (2, 32, 32), (2, 5, 5), (1, 5, 5)]
    from netviz.errors import SpecError
    with pytest.raises(SpecError, match=r"^x.yaml:3:5: deconv needs 'kernel'"):
        parse_spec("input: 3x8x8\nlayers:\n  - deconv: 6\n", "x.yaml")


# --- built and run ---------------------------------------------------------------------

def test_unet_builds_and_runs_with_the_engines_shapes():
    from netviz.build import build
    shaped = infer(load_spec(UNET))
    module = build(shaped)
    kinds = {type(m).__name__ for m in module.modules()}
    assert {"ConvTranspose2d", "Conv2d"} <= kinds
    seen = {}
    hooks = [getattr(module, attr).register_forward_hook(
        lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape[1:])))
        for name, attr in module.layer_modules.items()]
    try:
        with torch.no_grad():
            y = module(torch.randn(2, *shaped.input_shape))
    finally:
        for h in hooks:
            h.remove()
    assert tuple(y.shape[1:]) == shaped["head"].output == (2, 64, 64)
    for layer in shaped.layers[1:]:
        assert seen[layer.name] == shaped[layer.name].output, layer.name
    assert sum(p.numel() for p in module.parameters()) == shaped.total_params


def test_upsample_modules_are_built_as_specified():
    from netviz.build import build
    shaped = infer(parse_spec(
        "input: 2x5x5\nlayers:\n  - upsample: {scale: 2, mode: bilinear, align_corners: true}\n"
        "  - upsample: {size: [7, 9]}\n  - deconv: {out: 3, kernel: 3, stride: 2, output_pad: 1, "
        "dilation: 1, bias: false}\n"))
    module = build(shaped)
    ups = [m for m in module.modules() if isinstance(m, nn.Upsample)]
    assert [(u.scale_factor, u.size, u.mode, u.align_corners) for u in ups] == [
        (2.0, None, "bilinear", True), (None, (7, 9), "nearest", None)]
    (dc,) = [m for m in module.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert (dc.output_padding, dc.bias) == ((1, 1), None)
    with torch.no_grad():
        assert tuple(module(torch.randn(1, 2, 5, 5)).shape[1:]) == shaped["deconv1"].output == (3, 16, 20)


# --- traced --------------------------------------------------------------------------------

class TinyUNet(nn.Module):
    """Down, up by a transposed convolution and by interpolation, concat skip."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
        self.up2 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.near = nn.UpsamplingNearest2d(scale_factor=2)
        self.bil = nn.UpsamplingBilinear2d(size=(10, 10))
        self.head = nn.Conv2d(7 + 8, 2, 1)

    def forward(self, x):
        d = torch.relu(self.down(x))
        u = self.up(d)
        f = F.interpolate(d, scale_factor=2, mode="nearest")
        g = self.bil(self.near(self.up2(d))[:, :, :, :])
        h = F.interpolate(u, size=(10, 10), mode="bicubic", align_corners=True)
        y = torch.cat([u, x], 1)
        return self.head(torch.cat([y[:, :7], f], 1)), g, h


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_trace_maps_transposed_convs_and_interpolation(method):
    from netviz.trace import trace_module
    model = TinyUNet()
    shaped = trace_module(model, (3, 10, 10), device="cpu", method=method)
    by_scope = {}
    for layer in shaped.layers:
        by_scope.setdefault(layer.type, []).append(layer)
    (up,) = by_scope["deconv"]
    assert up.attrs["out"] == 4 and up.attrs["kernel"] == (4, 4) and up.attrs["stride"] == (2, 2)
    assert shaped[up.name].output == (4, 10, 10)
    assert shaped[up.name].params == 8 * 4 * 16 + 4
    assert shaped[up.name].macs == 8 * 5 * 5 * 4 * 16
    ups = {(l.attrs.get("scale"), l.attrs.get("size"), l.attrs["mode"], l.attrs.get("align_corners"))
           for l in by_scope["upsample"]}
    assert ups == {(2.0, None, "bilinear", False), (2.0, None, "nearest", None),
                   (None, (10, 10), "bilinear", True), (None, (10, 10), "bicubic", True)}
    assert len(by_scope["upsample"]) == 5  # up2, near, bil, and the two F.interpolate calls
    # the engine, run over the traced network, gives the traced shapes
    again = infer(shaped.network)
    for layer in shaped.layers:
        assert again[layer.name].output == shaped[layer.name].output
    # and so does the spec it writes, read back
    from netviz.trace.spec_out import to_yaml
    text = to_yaml(shaped)
    assert "- deconv:" in text and "- upsample:" in text
    back = infer(parse_spec(text))
    assert [(l.type, back[l.name].output, back[l.name].params) for l in back.layers] == \
        [(l.type, shaped[l.name].output, shaped[l.name].params) for l in shaped.layers]


# --- the readers ------------------------------------------------------------------------------

def test_prototxt_deconvolution(tmp_path):
    path = tmp_path / "fcn.prototxt"
    path.write_text('name: "fcn"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 16 dim: 16 }\n'
                    'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"\n'
                    '  convolution_param { num_output: 8 kernel_size: 3 stride: 2 pad: 1 } }\n'
                    'layer { name: "up" type: "Deconvolution" bottom: "conv" top: "up"\n'
                    '  convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 '
                    'bias_term: false group: 2 } }\n')
    shaped = infer(load_spec(str(path)))
    up = shaped.network["up"]
    assert up.type == "deconv" and up.attrs["groups"] == 2 and not up.attrs["bias"]
    ref = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, groups=2, bias=False)
    assert shaped["up"].output == (4, 16, 16)
    assert shaped["up"].params == sum(p.numel() for p in ref.parameters())


def test_onnx_conv_transpose_and_resize(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    import warnings

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)

        def forward(self, x):
            u = self.up(torch.relu(self.down(x)))
            v = F.interpolate(u, scale_factor=2, mode="nearest")
            v = F.interpolate(v, scale_factor=0.5, mode="bilinear", align_corners=False)
            return F.interpolate(v, size=(7, 9), mode="bicubic", align_corners=True)

    model = Net().eval()
    path = tmp_path / "up.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 12, 12),), str(path))
    shaped = infer(load_spec(str(path)))
    types = [l.type for l in shaped.layers]
    assert types.count("deconv") == 1 and types.count("upsample") == 3, types
    (dc,) = [l for l in shaped.layers if l.type == "deconv"]
    assert dc.attrs["output_pad"] == (1, 1) and shaped[dc.name].output == (4, 12, 12)
    ups = [(l.attrs.get("scale"), l.attrs.get("size"), l.attrs["mode"], l.attrs.get("align_corners"),
            shaped[l.name].output) for l in shaped.layers if l.type == "upsample"]
    assert ups == [(2.0, None, "nearest", None, (4, 24, 24)), (0.5, None, "bilinear", False, (4, 12, 12)),
                   (None, (7, 9), "bicubic", True, (4, 7, 9))]
    assert shaped.total_params == sum(p.numel() for p in model.parameters())


# --- the figures --------------------------------------------------------------------------

def test_unet_bars_svg_has_deconv_cells_in_nested_modules(cli, tmp_path):
    out = tmp_path / "unet.svg"
    res = cli("render", UNET, "--style", "bars", "--legend", "-o", out)
    assert res.returncode == 0, res.stderr
    import xml.etree.ElementTree as ET
    root = ET.parse(out).getroot()
    classes = [el.get("class", "") for el in root.iter()]
    cells = [c for c in classes if c.split()[:1] == ["cell"]]
    assert sum("deconv" in c.split() for c in cells) == 2, cells
    assert sum("concat" in c.split() for c in cells) == 2
    for cell in root.iter():
        if "deconv" in cell.get("class", "").split() and "cell" in cell.get("class", "").split():
            ring, disc = [c for c in cell if c.tag.endswith("circle")]
            assert (ring.get("fill"), disc.get("fill")) == ("#547DC9", "#2F5597")  # the legend's
            assert float(disc.get("r")) < float(ring.get("r"))
    # the two skips are framed modules, the inner frame inside the outer one
    frames = sorted(((float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
                      float(r.get("y")) + float(r.get("height")))
                     for r in root.iter() if r.get("class") == "module-frame"), key=lambda f: f[2] - f[0])
    assert len(frames) == 2
    inner, outer = frames
    assert outer[0] < inner[0] and inner[2] < outer[2] and outer[1] < inner[1] and inner[3] < outer[3]

    def cell_x(layer):
        g = next(el for el in root.iter() if el.get("id") == f"cell-{layer}")
        return float(next(c for c in g if c.tag.endswith("circle")).get("cx"))

    for layer, frame in (("up2", inner), ("cat2", inner), ("up1", outer), ("cat1", outer)):
        assert frame[0] < cell_x(layer) < frame[2], layer
    assert not inner[0] < cell_x("up1") < inner[2]
    text = "".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "2*2,64,stride=2" in text
    assert "Deconvolution" in text  # the legend


@pytest.mark.parametrize("style", ["short", "stack", "blocks"])
def test_unet_other_styles(cli, tmp_path, style):
    out = tmp_path / f"unet-{style}.svg"
    res = cli("render", UNET, "--style", style, "-o", out)
    assert res.returncode == 0, res.stderr
    svg = out.read_text()
    if style == "stack":
        assert "2x2 deconv, 64, x2" in svg
    if style == "short":
        assert re.search(r'class="cell deconv', svg)


def test_org_draws_a_chain_autoencoder_and_refuses_the_unet(cli, tmp_path):
    spec = tmp_path / "ae.yaml"
    spec.write_text("input: 1x28x28\nlayers:\n  - conv: {out: 16, kernel: 3, stride: 2, pad: 1}\n"
                    "  - relu\n  - conv: {out: 32, kernel: 3, stride: 2, pad: 1}\n  - relu\n"
                    "  - deconv: {out: 16, kernel: 3, stride: 2, pad: 1, output_pad: 1}\n  - relu\n"
                    "  - upsample: {scale: 2, mode: bilinear}\n  - conv: {out: 1, kernel: 3, pad: 1}\n")
    res = cli("render", spec, "--style", "org", "-o", tmp_path / "ae.svg")
    assert res.returncode == 0, res.stderr
    res = cli("render", UNET, "--style", "org", "-o", tmp_path / "u.svg")
    assert res.returncode == 2 and "the org style draws a chain" in res.stderr
    assert not (tmp_path / "u.svg").exists()


def test_unet_shapes_and_a_map_of_another_size_is_not_trained(cli, tmp_path):
    res = cli("shapes", UNET)
    assert res.returncode == 0, res.stderr
    assert re.search(r"^up2\s+deconv\s+64x32x32\b", res.stdout, re.M)
    assert re.search(r"^head\s+conv\s+2x64x64\b", res.stdout, re.M)
    # the U-Net trains as a segmenter (tests/test_train_tasks.py); a map at half the input's size does not
    half = tmp_path / "half.yaml"
    half.write_text("input: 1x32x32\nlayers:\n  - conv: {out: 4, kernel: 3, pad: 1}\n  - maxpool: 2\n"
                    "  - deconv: {out: 2, kernel: 1}\n")
    res = cli("train", half, "--steps", "1", "--no-plot", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    assert "2x16x16 is neither a vector of class scores nor a map at the input's 32x32" in res.stderr


# --- docs -------------------------------------------------------------------------------------

def test_docs_name_the_new_types():
    with open(os.path.join(ROOT, "docs", "spec.md"), encoding="utf-8") as fh:
        text = fh.read()
    assert "### `deconv`" in text and "### `upsample`" in text
    assert "examples/unet.yaml" in text
