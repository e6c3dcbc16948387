"""ONNX models as torch.onnx.export writes them: every layer's output and the
parameter count against PyTorch, and bad files reported in one line."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

onnx = pytest.importorskip("onnx", reason="reading ONNX needs the onnx extra: pip install '.[onnx]'")
torch = pytest.importorskip("torch", reason="exporting test models needs torch")
torchvision = pytest.importorskip("torchvision", reason="the test models come from torchvision")
pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")

from onnx import TensorProto, helper  # noqa: E402

from netviz.shapes import infer  # noqa: E402
from netviz.readers import load_spec  # noqa: E402

nn = torch.nn


class Small(nn.Module):
    """Branches joined by concat, LRN, SiLU, LeakyReLU, batchnorm, dropout."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(8, 6, 3, padding=1), nn.BatchNorm2d(6), nn.LeakyReLU(0.2))
        self.b3 = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.Conv2d(8, 2, 1),
                                nn.SiLU())
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.lrn = nn.LocalResponseNorm(3, alpha=2e-4, beta=0.7, k=2.0)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(12 * 8 * 8, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)
        x = self.lrn(self.pool(x))
        return torch.softmax(self.fc(self.drop(torch.flatten(x, 1))), 1)


def _export(model, size, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *size),), str(path), **kw)
    return str(path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The models and their files, exported once for the module."""
    d = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    alexnet = torchvision.models.alexnet(weights=None).eval()
    resnet = torchvision.models.resnet18(weights=None).eval()
    small = Small().eval()
    return {
        # the default exporter (torch.export), weights in a .onnx.data file beside it
        "alexnet": (alexnet, (3, 224, 224), _export(alexnet, (3, 224, 224), d / "alexnet.onnx")),
        # unoptimised, so batchnorm stays a node of its own
        "resnet18": (resnet, (3, 64, 64), _export(resnet, (3, 64, 64), d / "resnet18.onnx",
                                                  optimize=False)),
        # the TorchScript exporter folds batchnorm into the convolutions
        "resnet18-ts": (resnet, (3, 64, 64), _export(resnet, (3, 64, 64), d / "resnet18-ts.onnx",
                                                     dynamo=False)),
        # training mode keeps dropout and batchnorm
        "small-ts": (small, (3, 15, 15), _export(small, (3, 15, 15), d / "small-ts.onnx",
                                                 dynamo=False, training=torch.onnx.TrainingMode.TRAINING)),
        "small": (small, (3, 15, 15), _export(small, (3, 15, 15), d / "small.onnx")),
        "small-dynamic": (small, (3, 15, 15), _export(
            small, (3, 15, 15), d / "small-dynamic.onnx", dynamo=False, input_names=["img"],
            dynamic_axes={"img": {0: "batch", 2: "height", 3: "width"}})),
    }


def _torch_outputs(model, size):
    """Output shape (without the batch) of every call of every leaf module,
    named as netviz names them: the module path, then path_2, path_3, ..."""
    out, hooks, calls = {}, [], {}

    def hook(name):
        def record(module, args, result):
            calls[name] = calls.get(name, 0) + 1
            key = name if calls[name] == 1 else f"{name}_{calls[name]}"
            out[key] = tuple(result.shape[1:])
        return record

    for name, module in model.named_modules():
        if name and not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            model(torch.randn(1, *size))
    finally:
        for h in hooks:
            h.remove()
    return out


def _compare(model, size, shaped):
    """Every netviz layer named after a module has that module's output shape."""
    want = _torch_outputs(model, size)
    compared = []
    for layer in shaped.layers:
        if layer.name in want:
            assert shaped[layer.name].output == want[layer.name], layer.name
            compared.append(layer.name)
    return compared, want


def _modules(model, *types):
    return {n for n, m in model.named_modules() if isinstance(m, types)}


def _params(model):
    return sum(p.numel() for p in model.parameters())


def test_alexnet(exported):
    model, size, path = exported["alexnet"]
    shaped = infer(load_spec(path))
    compared, _ = _compare(model, size, shaped)
    layers = _modules(model, nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.ReLU)
    assert layers <= set(compared)  # every one of them drawn, under its own name
    assert shaped.total_params == _params(model) == 61_100_840
    assert shaped.input_shape == (3, 224, 224)
    assert [l.type for l in shaped.layers if l.type in ("conv", "fc")] == ["conv"] * 5 + ["fc"] * 3
    assert shaped.layers[-1].type == "fc" and shaped[shaped.layers[-1].name].output == (1000,)
    assert shaped["features.0"].output == (64, 55, 55)
    assert dict(shaped.network["features.0"].attrs) == {
        "out": 64, "kernel": (11, 11), "stride": (4, 4), "pad": (2, 2), "dilation": (1, 1),
        "groups": 1, "bias": True, "weight": (64, 3, 11, 11)}


def test_resnet18_with_batchnorm(exported):
    model, size, path = exported["resnet18"]
    shaped = infer(load_spec(path))
    compared, _ = _compare(model, size, shaped)
    assert _modules(model, nn.Conv2d, nn.BatchNorm2d, nn.Linear, nn.MaxPool2d, nn.ReLU) <= set(compared)
    assert shaped.total_params == _params(model)
    adds = [l for l in shaped.layers if l.type == "add"]
    assert len(adds) == 8 and all(len(l.inputs) == 2 for l in adds)
    assert shaped.network["layer2.0.add"].inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    assert shaped.network["avgpool"].type == "global_avgpool"
    assert not any(l.type == "custom" for l in shaped.layers)


def test_resnet18_batchnorm_folded(exported):
    """TorchScript export folds each batchnorm into its conv, which gains a bias."""
    model, size, path = exported["resnet18-ts"]
    shaped = infer(load_spec(path))
    compared, _ = _compare(model, size, shaped)
    assert _modules(model, nn.Conv2d, nn.Linear, nn.MaxPool2d) <= set(compared)
    bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert shaped.total_params == _params(model) - sum(2 * m.num_features for m in bn) \
        + sum(m.num_features for m in bn)
    assert not any(l.type == "batchnorm" for l in shaped.layers)
    # a Sequential's children keep their path: layer2.0.downsample.0
    assert shaped.network["layer2.0.downsample.0"].type == "conv"


@pytest.mark.parametrize("key", ["small-ts", "small"])
def test_small_net_types_and_attributes(exported, key):
    model, size, path = exported[key]
    net = load_spec(path)
    shaped = infer(net)
    compared, want = _compare(model, size, shaped)
    assert {"stem", "b1.0", "b2.0", "b3.0", "b3.1", "pool", "lrn", "fc"} <= set(compared)
    by_type = {}
    for layer in net.layers:
        by_type.setdefault(layer.type, []).append(layer)
    concat, = by_type["concat"]
    assert concat.inputs == ("b1.1", "b2.2", "b3.2")
    assert shaped[concat.name].output == (12, 15, 15)
    assert net["b2.2"].type == "leaky_relu" and net["b2.2"].attrs["slope"] == pytest.approx(0.2)
    assert net["b3.2"].type == "silu"
    assert net["b3.0"].type == "avgpool" and net["b3.0"].attrs["count_include_pad"] is False
    assert net["pool"].type == "maxpool" and net["pool"].attrs["ceil_mode"] is True
    lrn = dict(net["lrn"].attrs)
    assert net["lrn"].type == "lrn" and lrn["size"] == 3
    assert lrn["alpha"] == pytest.approx(2e-4) and lrn["beta"] == pytest.approx(0.7) \
        and lrn["k"] == pytest.approx(2.0)
    assert net.layers[-1].type == "softmax" and shaped[net.layers[-1].name].output == (10,)
    assert "custom" not in by_type
    if key == "small-ts":  # training mode: batchnorm and dropout are there
        assert net["b2.1"].type == "batchnorm"
        assert by_type["dropout"][0].attrs["p"] == pytest.approx(0.3)
        assert shaped.total_params == _params(model)
    else:  # eval export folds batchnorm into the conv before it, whose bias it was already
        assert "batchnorm" not in by_type and "dropout" not in by_type
        assert shaped.total_params == _params(model) - 2 * 6


def test_symbolic_input_size_needs_input(exported, cli):
    model, _, path = exported["small-dynamic"]
    r = cli("shapes", path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = r.stderr.strip()
    assert err == (f"{path}: the model does not fix its input size: give one with --input, "
                   "e.g. --input 3x224x224")  # the file first, as in every other ONNX error
    from netviz.readers.onnx import InputSizeNeeded
    with pytest.raises(InputSizeNeeded) as info:
        load_spec(path)
    assert info.value.file == path and info.value.network.layers[0].attrs["shape"] is None
    from netviz.models import shaped as to_shaped
    shaped = to_shaped(path, input="3x16x16")  # 16 and 15 both pool to 8 (ceil mode)
    compared, _ = _compare(model, (3, 16, 16), shaped)
    assert {"stem", "pool", "lrn", "fc"} <= set(compared)


def test_cli_render_and_shapes(exported, cli, tmp_path):
    path = exported["resnet18"][2]
    r = cli("shapes", path, "--json")
    assert r.returncode == 0, r.stderr
    import json
    data = json.loads(r.stdout)
    assert data["total_params"] == _params(exported["resnet18"][0])
    assert data["input"] == [3, 64, 64]
    out = tmp_path / "r.svg"
    r = cli("render", path, "--style", "bars", "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_python_render(exported):
    import netviz
    fig = netviz.render(exported["alexnet"][2])
    svg = fig.svg()
    assert "<svg" in svg and "1000" in svg


# --- bad files ------------------------------------------------------------

def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def _model(nodes, inits=(), shape=(1, 3, 8, 8)):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _weight(name, dims):
    return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.0] * int(__import__("math").prod(dims)))


def test_unsupported_op(cli, tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv_a", kernel_shape=[3, 3]),
             helper.make_node("Frobnicate", ["c"], ["y"], name="mystery", domain="com.example")]
    m = _model(nodes, [_weight("w", [4, 3, 3, 3])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    path = tmp_path / "custom.onnx"
    onnx.save(m, str(path))
    _one_line_error(cli("shapes", path), "Frobnicate", "'mystery'", "netviz reads", "Conv", "MaxPool")


def test_asymmetric_padding(cli, tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="tf_conv", kernel_shape=[3, 3],
                              strides=[2, 2], pads=[0, 0, 1, 1])]
    path = tmp_path / "pads.onnx"
    onnx.save(_model(nodes, [_weight("w", [4, 3, 3, 3])]), str(path))
    _one_line_error(cli("render", path, "-o", tmp_path / "x.svg"), "'tf_conv'", "asymmetric padding")
    assert not (tmp_path / "x.svg").exists()


def test_hand_built_model_maps_each_op(tmp_path):
    """ONNX's own ops (not only what torch writes): Gemm without transB,
    MatMul + Add, GlobalAveragePool, Flatten, LRN, Clip as relu6, Identity."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="c1", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], group=1),
        helper.make_node("Clip", ["c", "lo", "hi"], ["r"], name="r6"),
        helper.make_node("LRN", ["r"], ["n"], name="norm", size=5, alpha=1e-4, beta=0.75, bias=2.0),
        helper.make_node("Identity", ["n"], ["n2"], name="same"),
        helper.make_node("GlobalAveragePool", ["n2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "w1"], ["h"], name="fc1"),
        helper.make_node("MatMul", ["h", "w2"], ["m"], name="fc2"),
        helper.make_node("Add", ["m", "b2"], ["y"], name="fc2_bias"),
    ]
    inits = [_weight("w", [4, 3, 3, 3]), _weight("b", [4]), _weight("w1", [4, 6]),
             _weight("w2", [6, 5]), _weight("b2", [5]),
             helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]),
             helper.make_tensor("hi", TensorProto.FLOAT, [], [6.0])]
    path = tmp_path / "hand.onnx"
    onnx.save(_model(nodes, inits), str(path))
    net = load_spec(path)
    assert [(l.name, l.type) for l in net.layers] == [
        ("input", "input"), ("c1", "conv"), ("r6", "relu6"), ("norm", "lrn"), ("gap", "global_avgpool"),
        ("flat", "flatten"), ("fc1", "fc"), ("fc2", "fc")]
    # the weights' shapes as torch.nn.Linear holds them: (out, in)
    assert net["fc1"].attrs == {"out": 6, "bias": False, "weight": (6, 4)}
    assert net["fc2"].attrs == {"out": 5, "bias": True, "weight": (5, 6)}
    assert net["norm"].attrs["k"] == 2.0
    shaped = infer(net)
    assert shaped.total_params == 4 * 27 + 4 + 4 * 6 + 6 * 5 + 5


@pytest.mark.parametrize("content, says", [
    (b"layers:\n  - conv: 96\n", "a text file, not an ONNX model (an ONNX model is binary protobuf)"),
    (b'name: "x"\nlayer {\n  name: "data"\n  type: "Input"\n}\n',
     "a text file, not an ONNX model (this looks like a Caffe prototxt: name it .prototxt)"),
    (b"\x08\x07\x12\xff\xff\xff", "truncated or not an ONNX model (protobuf: "),
])
def test_not_an_onnx_file(cli, tmp_path, content, says):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    err = _one_line_error(cli("shapes", path), says)
    assert err.startswith(f"{path}: ")


def test_truncated_model(cli, tmp_path, exported):
    data = open(exported["small-ts"][2], "rb").read()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    err = _one_line_error(cli("shapes", path), str(path))
    assert err.startswith(f"{path}: truncated or not an ONNX model (protobuf: "), err
    assert "Error parsing message" not in err


def test_missing_file(cli, tmp_path):
    _one_line_error(cli("shapes", tmp_path / "nowhere.onnx"), "no such file")


def test_without_onnx_installed(tmp_path, exported):
    code = ("import sys; sys.modules['onnx'] = None; sys.argv = ['netviz', 'shapes', sys.argv[1]]; "
            "from netviz.cli import run; run()")
    r = subprocess.run([sys.executable, "-c", code, exported["small"][2]], capture_output=True,
                       text=True, timeout=120)
    _one_line_error(r, "pip install 'netviz[onnx]'")


def test_import_netviz_does_not_import_onnx():
    code = "import sys, netviz, netviz.readers, netviz.models; print('onnx' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ})
    assert r.stdout.strip() == "False", r.stderr


def test_op_without_a_type_is_drawn_as_custom(tmp_path):
    """An op netviz has no type for, whose output ONNX's inference knows,
    becomes a custom layer with that output and its weights' count."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="c1", kernel_shape=[3, 3]),
             helper.make_node("Transpose", ["c"], ["t"], name="swap", perm=[0, 1, 3, 2]),
             helper.make_node("PRelu", ["t", "slope"], ["y"], name="prelu")]
    inits = [_weight("w", [4, 3, 3, 3]), _weight("slope", [4, 1, 1])]
    path = tmp_path / "other.onnx"
    onnx.save(_model(nodes, inits, shape=(1, 3, 8, 10)), str(path))
    shaped = infer(load_spec(path))
    assert [(l.name, l.type, l.attrs.get("kind")) for l in shaped.layers[1:]] == [
        ("c1", "conv", None), ("swap", "custom", "transpose"), ("prelu", "custom", "prelu")]
    assert shaped["swap"].output == (4, 8, 6) and shaped["prelu"].params == 4


def test_two_inputs(cli, tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"], name="sum")], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 8, 8]) for n in "ab"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    _one_line_error(cli("shapes", path), "one input", "'a', 'b'")


def test_inline_weights_are_read_for_their_sizes_only(tmp_path, exported):
    """Large weights stored inside the file are dropped before shape inference;
    their sizes still give every layer and the parameter count."""
    model, size, path = exported["small-ts"]  # TorchScript export keeps weights inline
    assert any(t.ByteSize() > 4096 and t.raw_data for t in onnx.load(path).graph.initializer)
    shaped = infer(load_spec(path))
    compared, _ = _compare(model, size, shaped)
    assert {"stem", "b2.1", "fc"} <= set(compared)
    assert shaped.network["fc"].attrs == {"out": 10, "bias": True, "weight": (10, 12 * 8 * 8)}
    assert shaped.total_params == _params(model)


class _Gate(nn.Module):
    """Squeeze-and-excitation as EfficientNet has it: x * sigmoid(...)."""

    def __init__(self, c):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.act, self.fc2 = nn.Conv2d(c, 2, 1), nn.SiLU(), nn.Conv2d(2, c, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.SiLU()),
                                   _Gate(4))

    def forward(self, x):
        return self.block(x)


class _Nested(nn.Module):
    """Sequentials inside Sequentials, as in torchvision's EfficientNet."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU()),
                                      nn.Sequential(_Block()))

    def forward(self, x):
        return self.features(x)


def test_nested_sequentials_are_named_as_the_tracer_names_them(tmp_path):
    """The TorchScript exporter writes /features/features.0/features.0.0/Conv:
    the layer is features.0.0, and the x * gate product is a 'mul' layer
    named after its module, as ``netviz trace`` names and types them both."""
    from netviz.models import shaped as to_shaped

    torch.manual_seed(0)
    model = _Nested().eval()
    path = _export(model, (3, 10, 10), tmp_path / "nested.onnx", dynamo=False)
    read = infer(load_spec(path))
    traced = to_shaped(model, input="3x10x10")
    names = [l.name for l in read.layers]
    assert "features.0.0" in names and "features.1.0.block.0.0" in names
    assert "features.1.0.block.1.fc1" in names
    assert names == [l.name for l in traced.layers]
    assert [l.name for l in read.layers if l.type == "mul"] == \
        [l.name for l in traced.layers if l.type == "mul"] == ["features.1.0.block.1.mul"]
    assert not [l for l in read.layers if l.type == "custom"]
    assert [read[n].output for n in names] == [traced[n].output for n in names]


def test_input_must_fit_the_files_weights(exported, cli, tmp_path):
    """--input may resize a model, never change the parameters its weights
    fix: other channels than the first convolution takes, or a size that
    reaches an fc with other features, is refused in one line."""
    from netviz.errors import ShapeError
    from netviz.models import shaped as to_shaped

    resnet, _, path = exported["resnet18"]
    err = _one_line_error(cli("shapes", path, "--input", "1x64x64"),
                          "conv1: its weights take 3 input channels; --input gives 1")
    assert err.startswith(f"{path}: ")
    with pytest.raises(ShapeError, match="conv1: its weights take 3 input channels"):
        to_shaped(path, input="4x32x32")
    bigger = to_shaped(path, input="3x96x96")  # global pooling: any size fits
    assert bigger.total_params == _params(resnet) and bigger["fc"].output == (1000,)
    path = exported["small"][2]  # flatten then fc over 12x8x8 features
    _one_line_error(cli("shapes", path, "--input", "3x32x32"),
                    "fc: its weights take 768 input features; with --input 3x32x32 it gets 3072")
    assert to_shaped(path, input="3x16x16").total_params == infer(load_spec(path)).total_params
    # a batchnorm straight on the input: its scale fixes the channels too
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn")]
    path = tmp_path / "bn.onnx"
    onnx.save(_model(nodes, [_weight(n, [3]) for n in "sbmv"]), str(path))
    assert infer(load_spec(path)).total_params == 6
    _one_line_error(cli("shapes", path, "--input", "2x8x8"),
                    "bn: its weights take 3 input channels; --input gives 2")


class Seq(nn.Module):
    """Token ids -> embedding -> a recurrent layer -> its last step -> fc."""

    def __init__(self, cell, **kw):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.rnn = cell(8, 6, batch_first=True, **kw)
        self.fc = nn.Linear(6 * (2 if kw.get("bidirectional") else 1), 3)

    def forward(self, x):
        out, _ = self.rnn(self.emb(x))
        return self.fc(out[:, -1])


@pytest.mark.parametrize("cell, kw, attrs", [
    (nn.LSTM, {"bidirectional": True, "num_layers": 2}, {"layers": 2, "bidirectional": True}),
    (nn.GRU, {}, {"layers": 1, "bidirectional": False}),
    (nn.RNN, {"nonlinearity": "relu"}, {"layers": 1, "nonlinearity": "relu"}),
])
def test_embedding_and_recurrent_layers(tmp_path, cell, kw, attrs):
    torch.manual_seed(0)
    model = Seq(cell, **kw).eval()
    ids = torch.randint(0, 50, (1, 7))
    path = tmp_path / "seq.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids,), str(path), dynamo=False)
    shaped = infer(load_spec(str(path)))
    kind = cell.__name__.lower()
    assert [layer.type for layer in shaped.layers] == ["input", "embedding", kind, "fc"]
    rnn = shaped.layers[2]
    assert rnn.attrs["hidden"] == 6 and rnn.attrs["last"] and rnn.attrs["bias"]
    assert {k: rnn.attrs[k] for k in attrs} == attrs
    emb = shaped.layers[1].attrs
    assert (emb["num"], emb["dim"]) == (50, 8)
    with torch.no_grad():
        embedded = model.emb(ids)
        out = model.rnn(embedded)[0][:, -1]
        logits = model(ids)
    assert shaped["emb"].output == tuple(embedded.shape[1:])
    assert shaped[rnn.name].output == tuple(out.shape[1:])
    assert shaped["fc"].output == tuple(logits.shape[1:])
    assert shaped.total_params == _params(model)
    assert shaped[rnn.name].params == _params(model.rnn)


class Chunks(nn.Module):
    """torch.chunk and torch.split on the channels, as ShuffleNet's units do."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.right = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        a, b = x.chunk(2, dim=1)
        c, d = torch.split(x, [3, 5], dim=1)
        return torch.cat([a, self.right(b)], 1) + torch.cat([d, c], 1) + torch.cat([x[:, 6:], x[:, :6]], 1)


def test_chunk_and_split_slices(tmp_path, cli):
    model = Chunks().eval()
    path = _export(model, (3, 6, 5), tmp_path / "chunks.onnx", dynamo=False)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert {"Slice", "Split"} <= ops  # the ops torch writes for chunk and split
    shaped = infer(load_spec(path))
    slices = [layer for layer in shaped.layers if layer.type == "custom"]
    outputs = sorted(shaped[layer.name].output for layer in slices)
    # chunk: two 4-channel halves; split: 3 and 5 channels; x[:, 6:], x[:, :6]: 2 and 6
    assert outputs == sorted([(4, 6, 5), (4, 6, 5), (3, 6, 5), (5, 6, 5), (2, 6, 5), (6, 6, 5)])
    assert {layer.attrs["kind"] for layer in slices} == {"slice", "split"}
    assert shaped["right"].output == (4, 6, 5)
    assert shaped.layers[-1].type == "add"
    assert shaped[shaped.layers[-1].name].output == tuple(model(torch.randn(1, 3, 6, 5)).shape[1:])
    assert shaped.total_params == _params(model)
    out = tmp_path / "chunks.png"
    r = cli("render", path, "--style", "bars", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
