"""ONNX files of transformers and modern CNNs, as torch.onnx.export writes
them both ways (the default exporter unoptimised, and dynamo=False): the
parameters and multiply-adds of the torch model (FlopCounterMode as the
oracle), shapes that keep the token axis wherever the batch goes, the layer
types of the spec (layernorm, attention, mul) and the tracer's names."""
from __future__ import annotations

import copy
import warnings

import pytest

onnx = pytest.importorskip("onnx", reason="reading ONNX needs the onnx extra: pip install '.[onnx]'")
torch = pytest.importorskip("torch", reason="exporting test models needs torch")
pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")

from onnx import TensorProto, helper  # noqa: E402

from netviz.readers import load_spec  # noqa: E402
from netviz.shapes import infer  # noqa: E402

nn = torch.nn
F = torch.nn.functional


class Block(nn.Module):
    """A pre-norm encoder block: attention by nn.MultiheadAttention or by
    F.scaled_dot_product_attention on a fused qkv projection."""

    def __init__(self, dim, heads, sdpa):
        super().__init__()
        self.sdpa, self.heads = sdpa, heads
        self.ln_1 = nn.LayerNorm(dim)
        if sdpa:
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
        else:
            self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        y = self.ln_1(x)
        if self.sdpa:
            b, n, c = y.shape
            q, k, v = self.qkv(y).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            y = self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))
        else:
            y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class TinyViT(nn.Module):
    """vit_b_16 in small: patches, a class token, a position embedding, 2 blocks."""

    def __init__(self, sdpa=False, dim=32, heads=4, patch=8, size=32):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        tokens = (size // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.layers = nn.Sequential(*[Block(dim, heads, sdpa) for _ in range(2)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.layers(x + self.pos_embedding)
        return self.head(self.ln(x)[:, 0])


class CNBlock(nn.Module):
    """ConvNeXt's block: depthwise conv, channels-last LayerNorm and MLP, layer scale."""

    def __init__(self, dim):
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, 4 * dim)
        self.pw2 = nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        y = self.norm(self.dw(x).permute(0, 2, 3, 1))
        y = self.pw2(F.gelu(self.pw1(y))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


class TinyConvNeXt(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        from torchvision.models.convnext import LayerNorm2d

        self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, 4), LayerNorm2d(dim, eps=1e-6))
        self.block = CNBlock(dim)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.block(self.stem(x))), 1))


class Folds(nn.Module):
    """The batch folded into the rows (x.reshape(B * N, C)) and moved behind the
    tokens (permute(1, 0, 2), the sequence-first layout)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, 4)
        self.rows = nn.Linear(8, 12)
        self.seq = nn.Linear(12, 6)
        self.head = nn.Linear(6, 5)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)  # B, 64, 8
        b, n, c = x.shape
        x = self.rows(x.reshape(b * n, c)).reshape(b, n, 12)
        x = self.seq(x.permute(1, 0, 2)).permute(1, 0, 2)  # 64, B, 6 inside
        return self.head(x.mean(1))


def _export(model, path, size=(3, 32, 32), **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *size),), str(path), **kw)
    return str(path)


EXPORTS = {"dynamo": dict(dynamo=True, optimize=False), "legacy": dict(dynamo=False)}


def _torch_counts(model, size=(3, 32, 32)):
    """Parameters, and multiply-adds as FlopCounterMode counts them (on meta,
    where it sees every kernel scaled_dot_product_attention runs)."""
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    meta = copy.deepcopy(model).to("meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(torch.empty(1, *size, device="meta"))
    return params, counter.get_total_flops() // 2


def _traced(model, size=(3, 32, 32)):
    from netviz.trace import trace_module

    return trace_module(model, size, device="cpu")


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {"vit": TinyViT().eval(), "vit-sdpa": TinyViT(sdpa=True).eval(),
            "convnext": TinyConvNeXt().eval(), "folds": Folds().eval()}


@pytest.mark.parametrize("how", sorted(EXPORTS))
@pytest.mark.parametrize("key", ["vit", "vit-sdpa", "convnext", "folds"])
def test_counts_are_the_torch_models(models, tmp_path, key, how):
    model = models[key]
    shaped = infer(load_spec(_export(model, tmp_path / f"{key}.onnx", **EXPORTS[how])))
    assert (shaped.total_params, shaped.total_macs) == _torch_counts(model)


@pytest.mark.parametrize("how", sorted(EXPORTS))
def test_vit_reads_as_the_tracer_draws_it(models, tmp_path, how):
    """Every block is layernorm, attention, add, layernorm, fc, gelu, fc, add,
    with the token axis kept (17 tokens of 32), named as the tracer names them."""
    model = models["vit"]
    path = _export(model, tmp_path / "vit.onnx", **EXPORTS[how])
    if how == "legacy":  # the exporter shares the LayerNorms' equal weights behind Identity
        graph = onnx.load(path, load_external_data=False).graph
        assert sum(n.op_type == "Identity" for n in graph.node) >= 4
    shaped = infer(load_spec(path))
    net = shaped.network
    block = [(l.name, l.type) for l in net.layers if l.name.startswith("layers.0.")]
    assert block == [("layers.0.ln_1", "layernorm"), ("layers.0.self_attention", "attention"),
                     ("layers.0.add", "add"), ("layers.0.ln_2", "layernorm"),
                     ("layers.0.mlp.0", "fc"), ("layers.0.mlp.1", "gelu"),
                     ("layers.0.mlp.2", "fc"), ("layers.0.add_2", "add")]
    assert all(shaped[name].output == (17, 32) for name, _ in block if "mlp" not in name)
    attention = net["layers.0.self_attention"]
    assert attention.attrs["heads"] == 4 and attention.attrs["project"] is True
    assert net["cat"].type == "custom" and shaped["cat"].params == 32  # the class token
    assert shaped["add"].params == 17 * 32  # the position embedding
    traced = _traced(model)
    kinds = {l.name: l.type for l in traced.layers}
    for layer in net.layers:
        if layer.type != "custom":
            assert kinds.get(layer.name) == layer.type, layer.name
            assert traced[layer.name].output == shaped[layer.name].output, layer.name
            assert traced[layer.name].macs == shaped[layer.name].macs, layer.name


def test_scaled_dot_product_attention_is_one_layer(models, tmp_path):
    """The default exporter records the call around the ops it writes: one
    attention of the products alone, on queries, keys and values split into heads."""
    model = models["vit-sdpa"]
    shaped = infer(load_spec(_export(model, tmp_path / "sdpa.onnx", **EXPORTS["dynamo"])))
    name = "layers.0.scaled_dot_product_attention"
    layer = shaped.network[name]
    assert layer.type == "attention" and layer.attrs["project"] is False
    assert layer.attrs["heads"] == 4 and len(layer.inputs) == 3
    assert shaped[name].output == (4, 17, 8)
    assert shaped[name].macs == 4 * 17 * 17 * (8 + 8)
    traced = _traced(model)
    assert traced.network[name].type == "attention" and traced[name].macs == shaped[name].macs


@pytest.mark.parametrize("how", sorted(EXPORTS))
def test_convnext_norms_and_layer_scale(models, tmp_path, how):
    model = models["convnext"]
    shaped = infer(load_spec(_export(model, tmp_path / "cnx.onnx", **EXPORTS[how])))
    net = shaped.network
    # torchvision's LayerNorm2d: permute, layer norm, permute back is one layer
    assert net["stem.1"].type == "layernorm" and net["stem.1"].attrs["channels"] is True
    assert net["stem.1"].inputs == ("stem.0",) and shaped["stem.1"].output == (16, 8, 8)
    assert shaped["stem.1"].params == 32
    assert net["block.norm"].type == "layernorm" and shaped["block.norm"].output == (8, 8, 16)
    mul = net["block.mul"]
    assert mul.type == "mul" and tuple(mul.attrs["scale"]) == (16, 1, 1)
    assert shaped["block.mul"].params == 16 and shaped["block.mul"].output == (16, 8, 8)
    traced = _traced(model)
    if how == "dynamo":  # the exporter records the torch call: x.permute is named so
        assert [l.name for l in net.layers if l.type == "custom"] == \
            [l.name for l in traced.layers if l.type == "custom"] == ["block.permute", "block.permute_2"]
    for name in ("stem.1", "block.norm", "block.mul", "block.add"):
        assert traced.network[name].type == net[name].type, name
        assert traced[name].params == shaped[name].params, name


@pytest.mark.parametrize("how", sorted(EXPORTS))
def test_the_batch_axis_is_followed(models, tmp_path, how):
    """Folded into the rows, the batch of 1 changes nothing drawn; moved behind
    the tokens, the tensor is drawn whole (64x1x6), not as a batch of 64."""
    model = models["folds"]
    shaped = infer(load_spec(_export(model, tmp_path / "folds.onnx", **EXPORTS[how])))
    assert shaped["rows"].output == (64, 12) and shaped["rows"].macs == 64 * 8 * 12
    assert shaped["seq"].output == (64, 1, 6) and shaped["seq"].macs == 64 * 12 * 6
    assert shaped["head"].output == (5,)


def test_a_symbolic_batch_is_counted_for_one(models, tmp_path):
    model = models["vit"]
    path = _export(model, tmp_path / "vit-batch.onnx", dynamo=False, input_names=["x"],
                   dynamic_axes={"x": {0: "batch"}})
    shaped = infer(load_spec(path))
    assert shaped.input_shape == (3, 32, 32)
    assert (shaped.total_params, shaped.total_macs) == _torch_counts(model)
    assert shaped["layers.1.self_attention"].output == (17, 32)


def test_relu6_through_castlike(tmp_path):
    """nn.ReLU6 as the default exporter writes it: Clip with bounds through CastLike."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU6(), nn.Conv2d(8, 4, 1), nn.Hardtanh(-1, 1))
    net = load_spec(_export(model.eval(), tmp_path / "r6.onnx", size=(3, 16, 16), **EXPORTS["dynamo"]))
    graph = onnx.load(str(tmp_path / "r6.onnx"), load_external_data=False).graph
    assert {"Clip", "CastLike"} <= {n.op_type for n in graph.node}
    assert [(l.name, l.type) for l in net.layers] == [
        ("input", "input"), ("0", "conv"), ("1", "relu6"), ("2", "conv"), ("3", "custom")]
    assert net["3"].attrs["kind"] == "clip"


def test_googlenet_names_agree_with_the_tracer(tmp_path):
    """Every layer of googlenet's export has the name and type the tracer gives
    it (the joins of its branches are inception3a.cat, ... in both)."""
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False).eval()
    path = _export(model, tmp_path / "googlenet.onnx", size=(3, 64, 64), dynamo=False,
                   training=torch.onnx.TrainingMode.TRAINING)
    read = infer(load_spec(path))
    traced = _traced(model, (3, 64, 64))
    def kind(layer):  # nn.AdaptiveAvgPool2d(1) is ONNX's GlobalAveragePool
        pooled = layer.type == "adaptive_avgpool" and tuple(layer.attrs["output"]) == (1, 1)
        return "global_avgpool" if pooled else layer.type

    assert [(l.name, kind(l)) for l in read.layers] == [(l.name, kind(l)) for l in traced.layers]
    assert read.network["inception3a.cat"].type == "concat"
    assert (read.total_params, read.total_macs) == (traced.total_params, traced.total_macs)


def _model(nodes, inits, shape=(1, 16, 4, 4), value_info=()):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits, value_info=list(value_info))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("com.example", 1)])


def test_an_op_netviz_does_not_know_is_custom_with_a_warning(tmp_path, cli):
    """DepthToSpace (ONNX's inference knows its output) and an op of another
    domain whose output the file records: custom layers, and a warning each."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 4, 1, 1], [0.0] * 32)
    nodes = [helper.make_node("DepthToSpace", ["x"], ["d"], name="shuffle", blocksize=2),
             helper.make_node("Conv", ["d", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("Frobnicate", ["c"], ["y"], name="mystery", domain="com.example")]
    known = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])
    path = tmp_path / "unknown.onnx"
    onnx.save(_model(nodes, [w], value_info=[known]), str(path))
    shaped = infer(load_spec(path))
    assert [(l.name, l.type) for l in shaped.layers] == [
        ("input", "input"), ("shuffle", "custom"), ("conv", "conv"), ("mystery", "custom")]
    assert shaped["shuffle"].output == (4, 8, 8) and shaped["mystery"].output == (8, 8, 8)
    said = {w.layer: w.message for w in shaped.warnings}
    assert "DepthToSpace" in said["shuffle"] and "Frobnicate" in said["mystery"]
    r = cli("shapes", path)
    assert r.returncode == 0, r.stderr
    assert "warning: shuffle: DepthToSpace" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_input_that_a_custom_layer_cannot_take_is_refused(models, tmp_path, cli):
    """A custom layer keeps the sizes the file gives it: --input that changes
    what it reads is one line naming it, exit 2, not a figure of wrong sizes."""
    path = _export(models["vit"], tmp_path / "vit.onnx", **EXPORTS["legacy"])
    r = cli("shapes", path, "--input", "3x64x64")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "reshape: a reshape layer keeps the sizes the file gives it" in lines[0]
    assert "it reads 32x4x4; with --input 3x64x64 it gets 32x8x8" in lines[0]
    assert cli("shapes", path, "--input", "3x32x32").returncode == 0
