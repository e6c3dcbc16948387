"""Normalisation, attention and gating layers: the shape engine against the
torch modules they describe and against torch's FlopCounterMode (on meta,
where attention runs as matrix products FlopCounterMode sees), the modules
netviz builds for them, and the tracer's mapping of torch's modules and
functions (and torchvision's transformers) onto them."""
from __future__ import annotations

import collections

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from netviz.build import build  # noqa: E402
from netviz.errors import ShapeError, SpecError  # noqa: E402
from netviz.readers import parse_spec  # noqa: E402
from netviz.shapes import infer  # noqa: E402
from netviz.trace import trace_module, trace_target  # noqa: E402

torch.set_num_threads(1)


def flop_macs(fn, *xs) -> tuple[int, torch.Tensor]:
    """FlopCounterMode's count (halved: multiply-adds) of fn(*xs), and its output."""
    with FlopCounterMode(display=False) as counter:
        out = fn(*xs)
    return counter.get_total_flops() // 2, out


def last(spec: str):
    shaped = infer(parse_spec(spec))
    return shaped.info[shaped.network.layers[-1].name]


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- the engine against torch's modules and FlopCounterMode --------------------

def _swin(dim, window, shift, heads, **kw):
    tv = pytest.importorskip("torchvision.models.swin_transformer")
    return tv.ShiftedWindowAttention(dim, [window, window], [shift, shift], heads, **kw)


def _layernorm2d(c):
    tv = pytest.importorskip("torchvision.models.convnext")
    return tv.LayerNorm2d(c)


class _Sdpa(nn.Module):
    def forward(self, q):
        return F.scaled_dot_product_attention(q, q, q)


class _Gate(nn.Module):  # squeeze-and-excitation's product
    def forward(self, x):
        return x * torch.sigmoid(x.mean((2, 3), keepdim=True))


class _LayerScale(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(shape))

    def forward(self, x):
        return self.gamma * x


CASES = {  # id: (spec layers, module, per-sample input shape)
    "layernorm": ("- layernorm", lambda: nn.LayerNorm(64), (10, 64)),
    "layernorm_2dims_nobias": ("- layernorm: {dims: 2, bias: false, eps: 1.0e-6}",
                               lambda: nn.LayerNorm((10, 64), eps=1e-6, bias=False), (10, 64)),
    "layernorm_plain": ("- layernorm: {affine: false}",
                        lambda: nn.LayerNorm(64, elementwise_affine=False), (10, 64)),
    "layernorm_channels": ("- layernorm: {channels: true}", lambda: _layernorm2d(16), (16, 5, 7)),
    "groupnorm": ("- groupnorm: 4", lambda: nn.GroupNorm(4, 16), (16, 5, 5)),
    "groupnorm_sequence": ("- groupnorm: {groups: 2, affine: false}",
                           lambda: nn.GroupNorm(2, 8, affine=False), (8, 11)),
    "rmsnorm": ("- rmsnorm", lambda: nn.RMSNorm(64), (10, 64)),
    "rmsnorm_2dims": ("- rmsnorm: {dims: 2, eps: 1.0e-6}",
                      lambda: nn.RMSNorm((10, 64), eps=1e-6), (10, 64)),
    "attention": ("- attention: 4", lambda: nn.MultiheadAttention(64, 4, batch_first=True),
                  (10, 64)),
    "attention_nobias": ("- attention: {heads: 8, bias: false}",
                         lambda: nn.MultiheadAttention(32, 8, batch_first=True, bias=False),
                         (7, 32)),
    "sdpa": ("- attention: {heads: 4, project: false}", _Sdpa, (4, 10, 16)),
    "sdpa_one_head": ("- attention: {heads: 1, project: false}", _Sdpa, (9, 12)),
    "swin": ("- attention: {heads: 3, kind: windowed, window: 7, shift: 3, rel_pos: true}",
             lambda: _swin(96, 7, 3, 3), (56, 56, 96)),
    "swin_padded": ("- attention: {heads: 2, kind: windowed, window: 4, shift: 2, rel_pos: true}",
                    lambda: _swin(32, 4, 2, 2), (10, 13, 32)),
    "swin_small_map": ("- attention: {heads: 3, kind: windowed, window: 7, shift: 3, "
                       "rel_pos: true, bias: false}",
                       lambda: _swin(48, 7, 3, 3, qkv_bias=False, proj_bias=False), (5, 5, 48)),
    "gate": ("- global_avgpool\n - sigmoid: {name: s}\n - mul: {inputs: [s, input]}",
             _Gate, (16, 5, 5)),
    "layer_scale": ("- mul: {scale: 16x1x1}", lambda: _LayerScale((16, 1, 1)), (16, 5, 5)),
}


def _call(module):
    if isinstance(module, nn.MultiheadAttention):
        return lambda x: module(x, x, x, need_weights=False)[0]
    return module


@pytest.mark.parametrize("case", sorted(CASES))
def test_engine_equals_torch_and_flop_counter(case):
    spec, make, shape = CASES[case]
    info = last(f"input: {'x'.join(map(str, shape))}\nlayers:\n {spec}\n")
    module = make().to("meta").eval()
    macs, out = flop_macs(_call(module), torch.empty(1, *shape, device="meta"))
    assert info.output == tuple(out.shape[1:])
    assert info.params == n_params(module)
    assert info.macs == macs
    if "attention" in spec or case == "sdpa":
        assert macs > 0


def test_cross_attention_with_its_own_key_and_value_widths():
    spec = """input: 10x64
layers:
  - fc: {name: k, out: 32}
  - fc: {name: v, out: 48, inputs: input}
  - attention: {heads: 4, bias: false, inputs: [input, k, v]}
"""
    info = last(spec)
    mha = nn.MultiheadAttention(64, 4, batch_first=True, kdim=32, vdim=48, bias=False).to("meta")
    q, k, v = (torch.empty(1, 10, d, device="meta") for d in (64, 32, 48))
    macs, out = flop_macs(lambda a, b, c: mha(a, b, c, need_weights=False)[0], q, k, v)
    assert (info.output, info.params, info.macs) == (tuple(out.shape[1:]), n_params(mha), macs)


@pytest.mark.parametrize("spec, message", [
    ("input: 10x60\nlayers:\n - attention: 7\n", "7 heads do not divide the embedding 60"),
    ("input: 3x8x8\nlayers:\n - attention: 1\n", "needs a sequence TxE"),
    ("input: 8x8x16\nlayers:\n - attention: {heads: 2, kind: windowed}\n", "needs a window"),
    ("input: 10x16\nlayers:\n - attention: {heads: 2, kind: local}\n", "unknown attention kind"),
    ("input: 10x16\nlayers:\n - attention: {heads: 2, window: 4}\n", "applies to kind: windowed"),
    ("input: 6x4x4\nlayers:\n - groupnorm: 4\n", "6 channels do not split into 4 groups"),
    ("input: 16\nlayers:\n - layernorm: {dims: 2}\n", "at least 2 dimensions"),
    ("input: 16x4x4\nlayers:\n - mul\n", "give its shape, e.g. scale: 16x1x1"),
    ("input: 16x4x4\nlayers:\n - mul: {scale: 8x1x1}\n", "sizes differ where neither is 1"),
])
def test_engine_refuses_what_torch_refuses(spec, message):
    with pytest.raises(ShapeError, match=message):
        infer(parse_spec(spec))


def test_attention_reads_at_most_three_inputs():
    spec = ("input: 4x8\nlayers:\n - fc: {name: a, out: 8}\n"
            " - attention: {heads: 2, inputs: [input, a, a, input]}\n")
    with pytest.raises(SpecError, match="reads at most 3 inputs, got 4"):
        parse_spec(spec)


def test_bad_attention_spec_is_one_line_and_exit_2(tmp_path, cli):
    path = tmp_path / "bad.yaml"
    path.write_text("input: 10x60\nlayers:\n  - attention: 7\n")
    r = cli("shapes", path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "7 heads do not divide the embedding 60" in r.stderr


# -- the builder ---------------------------------------------------------------

TRANSFORMER = """name: tiny-transformer
input: 16x32
layers:
  - layernorm: {name: ln1}
  - attention: {name: attn, heads: 4}
  - add: {name: res1, inputs: [attn, input]}
  - rmsnorm: {name: ln2}
  - fc: {name: fc1, out: 64}
  - gelu
  - fc: {name: fc2, out: 32}
  - mul: {name: scale, scale: 32}
  - add: {name: res2, inputs: [scale, res1]}
  - attention: {name: sdpa, heads: 1, project: false}
  - layernorm: {name: ln3, dims: 2}
  - flatten
  - fc: {name: head, out: 5}
"""

CONVNEXT_LIKE = """name: tiny-modern-cnn
input: 3x16x16
layers:
  - conv: {name: stem, out: 16, kernel: 3, pad: 1}
  - groupnorm: {name: gn, groups: 4}
  - layernorm: {name: ln, channels: true}
  - adaptive_avgpool: {name: squeeze, output: 1}
  - fc: {name: excite, out: 16}
  - sigmoid: {name: gate}
  - mul: {name: se, inputs: [gate, ln]}
  - mul: {name: layer_scale, scale: 16x1x1}
  - flatten
  - fc: {name: head, out: 3}
"""

SWIN_LIKE = """name: tiny-windows
input: 10x13x32
layers:
  - layernorm: {name: ln}
  - attention: {name: wattn, heads: 4, kind: windowed, window: 4, shift: 2, rel_pos: true}
  - add: {name: res, inputs: [wattn, input]}
  - flatten
  - fc: {name: head, out: 3}
"""


@pytest.mark.parametrize("spec", [TRANSFORMER, CONVNEXT_LIKE, SWIN_LIKE])
def test_built_modules_equal_the_engine(spec):
    shaped = infer(parse_spec(spec))
    module = build(shaped, init="torch").eval()
    assert n_params(module) == shaped.total_params
    x = torch.randn(2, *shaped.input_shape)
    assert module(x).shape == (2, *shaped.info[shaped.network.layers[-1].name].output)
    macs, _ = flop_macs(module.to("meta"), torch.empty(1, *shaped.input_shape, device="meta"))
    assert macs == shaped.total_macs


@pytest.mark.parametrize("spec", [TRANSFORMER, CONVNEXT_LIKE, SWIN_LIKE])
def test_built_modules_trace_back_to_their_layer_types(spec):
    shaped = infer(parse_spec(spec))
    traced = trace_module(build(shaped, init="torch"), shaped.input_shape, device="meta")
    kinds = collections.Counter(l.type for l in shaped.network.layers if l.type != "input")
    assert collections.Counter(l.type for l in traced.network.layers if l.type != "input") == kinds
    assert (traced.total_params, traced.total_macs) == (shaped.total_params, shaped.total_macs)


def test_built_modules_are_what_torch_offers():
    module = build(infer(parse_spec(TRANSFORMER)), init="torch")
    assert isinstance(module.ln1, nn.LayerNorm) and isinstance(module.ln2, nn.RMSNorm)
    assert isinstance(module.attn, nn.MultiheadAttention) and module.attn.batch_first
    assert module.ln3.normalized_shape == (16, 32)
    module = build(infer(parse_spec(CONVNEXT_LIKE)), init="torch")
    assert isinstance(module.gn, nn.GroupNorm) and module.gn.num_groups == 4


def test_window_attention_computes_what_torchvision_computes():
    tv = pytest.importorskip("torchvision.models.swin_transformer")
    shaped = infer(parse_spec(SWIN_LIKE))
    mine = build(shaped, init="torch").wattn.eval()
    ref = tv.ShiftedWindowAttention(32, [4, 4], [2, 2], 4).eval()
    with torch.no_grad():
        ref.qkv.load_state_dict(mine.qkv.state_dict())
        ref.proj.load_state_dict(mine.proj.state_dict())
        ref.relative_position_bias_table.copy_(mine.rel_pos_table)
        x = torch.randn(2, 10, 13, 32)
        torch.testing.assert_close(mine(x), ref(x), rtol=1e-4, atol=1e-5)


def test_channel_layernorm_computes_what_convnext_computes():
    tv = pytest.importorskip("torchvision.models.convnext")
    mine = build(infer(parse_spec(CONVNEXT_LIKE)), init="torch").ln
    ref = tv.LayerNorm2d(16)
    with torch.no_grad():
        mine.weight.normal_()
        ref.load_state_dict(mine.state_dict())
        x = torch.randn(2, 16, 5, 5)
        torch.testing.assert_close(mine(x), ref(x))


# -- the tracer --------------------------------------------------------------

class _Block(nn.Module):
    """A pre-norm transformer block with torch's modules and functions."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.rms = nn.RMSNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.heads = heads
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        h = self.ln(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        b, t, c = x.shape
        q, k, v = self.qkv(self.rms(x)).reshape(b, t, 3, self.heads, c // self.heads) \
            .permute(2, 0, 3, 1, 4).unbind(0)
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, c)
        return x + self.gamma * F.layer_norm(y, (c,))


class _SE(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.gn = nn.GroupNorm(4, c)
        self.fc = nn.Conv2d(c, c, 1)

    def forward(self, x):
        x = self.gn(x)
        return x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))


@pytest.mark.parametrize("model, shape, expected", [
    (_Block, (10, 32), {"layernorm": 2, "attention": 2, "rmsnorm": 1, "mul": 1}),
    (_SE, (16, 6, 6), {"groupnorm": 1, "mul": 1}),
])
@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_tracer_maps_torch_modules_and_functions(model, shape, expected, method):
    module = model()
    traced = trace_module(module, shape, device="meta", method=method)
    kinds = collections.Counter(l.type for l in traced.network.layers)
    assert {k: kinds[k] for k in expected} == expected
    macs, _ = flop_macs(module.to("meta"), torch.empty(1, *shape, device="meta"))
    assert traced.total_macs == macs
    assert traced.total_params == n_params(module)


def test_self_attention_is_one_input():
    traced = trace_module(_Block(), (10, 32), device="meta")
    attn = traced.network["attn"]
    assert attn.type == "attention" and attn.inputs == ("ln",)


NOT_CUSTOM = ("norm", "attention", "layerscale")


@pytest.mark.parametrize("name", ["vit_b_16", "swin_t", "convnext_tiny"])
def test_torchvision_transformers_have_no_custom_norm_or_attention(name):
    tv = pytest.importorskip("torchvision")
    traced = trace_target(f"torchvision:{name}", device="meta")
    model = getattr(tv.models, name)().to("meta").eval()
    macs, _ = flop_macs(model, torch.empty(1, 3, 224, 224, device="meta"))
    assert (traced.total_macs, traced.total_params) == (macs, n_params(model))
    custom = [l for l in traced.network.layers if l.type == "custom"
              and any(w in str(l.attrs["kind"]).lower() for w in NOT_CUSTOM)]
    assert custom == []
    kinds = collections.Counter(l.type for l in traced.network.layers)
    assert kinds["layernorm"] > 0
    if name != "convnext_tiny":
        assert kinds["attention"] == 12
    else:
        assert kinds["mul"] == 18  # the layer scales


# -- the figures -------------------------------------------------------------

import xml.etree.ElementTree as ET  # noqa: E402

import netviz  # noqa: E402
from netviz.styles import STYLES, common  # noqa: E402
from netviz.styles.row import BAR_MAX  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def _classes(el) -> list[str]:
    return (el.get("class") or "").split()


def _groups(root, cls):
    return [g for g in root.iter(f"{SVG}g") if cls in _classes(g)]


def _texts(el, cls=None) -> list[str]:
    return ["".join(t.itertext()) for t in el.iter(f"{SVG}text") if cls is None or cls in _classes(t)]


@pytest.fixture(scope="module")
def vit_bars():
    pytest.importorskip("torchvision")
    return ET.fromstring(netviz.render("torchvision:vit_b_16", style="bars", device="meta").svg())


def test_vit_figure_has_norm_and_attention_cells(vit_bars):
    cells = _groups(vit_bars, "cell")
    assert not [c for c in cells if "custom" in _classes(c)
                and any(w in " ".join(_classes(c)).lower() for w in ("ln", "attention"))]
    attention = [c for c in cells if "attention" in _classes(c)]
    assert attention and all(_texts(c, "cell-text") == ["12 heads"] for c in attention)
    norms = [c for c in cells if "layernorm" in _classes(c)]
    assert norms and all(_texts(c) == ["LN"] for c in norms)


def test_vit_sequences_have_their_own_labelled_bar_scale(vit_bars):
    bars = _groups(vit_bars, "bar")
    labels = [_texts(b, "bar-label")[0] for b in bars]
    # one bar per module, at its merge: the MLP's 197x3072 inside the block has none
    assert "197x768" in labels and "197x3072" not in labels and not any("197*" in s for s in labels)
    assert "768*14*14" in labels  # the patch embedding: a map, C*H*W

    def height(label):
        bar = next(b for b in bars if _texts(b, "bar-label")[0] == label)
        return float(next(bar.iter(f"{SVG}rect")).get("height"))
    assert height("197x768") == pytest.approx(BAR_MAX)  # the longest sequence on its own scale
    assert height("3*224*224") == pytest.approx(BAR_MAX)
    assert height("768*14*14") == pytest.approx(BAR_MAX * 14 / 224)
    scales = [t for t in vit_bars.iter(f"{SVG}text") if "bar-scale" in _classes(t)]
    assert sorted("".join(t.itertext()) for t in scales) == \
        ["bar height: side of the map", "bar height: tokens"]
    seq = next(b for b in bars if "scale-seq" in _classes(b))
    scale_x = float(next(t for t in scales if "scale-seq" in _classes(t)).get("x"))
    assert scale_x == pytest.approx(float(next(seq.iter(f"{SVG}rect")).get("x")))


def test_convnext_channels_last_maps_are_labelled_chw_and_norms_share_the_conv_cell():
    pytest.importorskip("torchvision")
    fig = netviz.render("torchvision:convnext_tiny", style="bars", device="meta")
    root = ET.fromstring(fig.svg())
    labels = [_texts(b, "bar-label")[0] for b in _groups(root, "bar")]
    assert "96*56*56" in labels and "56*56*96" not in labels  # a block's output, at its merge
    net = fig.shaped.network
    ln = "features.1.0.block.2"  # the LayerNorm after the depthwise conv and its permute
    assert net[ln].type == "layernorm"
    (cell,) = [c for c in _groups(root, "cell")
               if f"layer-{common.Ids.token(ln)}" in _classes(c)]
    assert "conv-dw" in _classes(cell)
    assert f"layer-{common.Ids.token('features.1.0.block.0')}" in _classes(cell)


def test_gates_are_a_product_dot_in_a_frame_unlike_a_residual_block():
    pytest.importorskip("torchvision")
    root = ET.fromstring(netviz.render("torchvision:mobilenet_v3_small", style="bars",
                                       device="meta", fold="exact").svg())
    gates = [c for c in _groups(root, "cell") if "mul" in _classes(c)]
    assert len(gates) >= 5  # 9 squeeze-and-excitation blocks, repeats drawn once
    for g in gates:  # a dot with two crossing strokes
        assert len(list(g.iter(f"{SVG}circle"))) == 1
        assert len([p for p in g.iter(f"{SVG}path") if "mark" in _classes(p)]) == 2
    frames = [r for r in root.iter(f"{SVG}rect") if "module-frame" in _classes(r)]
    gate_frames = [r for r in frames if "gate-frame" in _classes(r)]
    residual = [r for r in frames if "gate-frame" not in _classes(r)]
    assert len(gate_frames) == len(gates) and residual
    look = lambda r: (r.get("fill"), r.get("stroke"), r.get("stroke-dasharray"))  # noqa: E731
    assert {look(r) for r in gate_frames}.isdisjoint({look(r) for r in residual})


@pytest.mark.parametrize("theme", sorted(common.THEMES))
@pytest.mark.parametrize("spec", [TRANSFORMER, CONVNEXT_LIKE, SWIN_LIKE])
def test_every_style_draws_the_new_layers(spec, theme):
    net = parse_spec(spec)
    drawn = {"attention", "mul"} & {l.type for l in net.layers}
    for style in STYLES:
        if style == "org":
            continue  # draws chains of maps and vectors only
        svg = netviz.render(net, style=style, theme=theme).svg()
        root = ET.fromstring(svg)
        classes = {c for el in root.iter() for c in _classes(el)}
        for t in drawn:
            assert t in classes or f"{t}-window" in classes or "attention-window" in classes, \
                (style, t)


def test_legend_has_every_new_kind(cli, tmp_path):
    out = tmp_path / "key.svg"
    r = cli("legend", "-o", out)
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(out.read_text())
    names = {_texts(g, "legend-text")[0]: g for g in _groups(root, "legend-item")}
    for kind in ("layernorm", "groupnorm", "rmsnorm", "attention", "attention_window", "mul"):
        entry = names[common.LEGEND_NAMES[kind]]
        assert kind in _classes(entry)
    groups = [_texts(g, "legend-group-title")[0] for g in _groups(root, "legend-group")]
    assert "Attention" in groups
