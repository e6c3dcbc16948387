"""The tracer on small models built here: layer mapping, DAG edges, depth,
the hooks fallback, the model given back untouched, profiling, the spec it
writes and the check against a spec. Everything runs in-process on tiny CPU
or meta tensors."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from netviz.errors import UsageError  # noqa: E402
from netviz.shapes import infer  # noqa: E402
from netviz.readers import load_spec, parse_spec  # noqa: E402
from netviz.trace import trace_module, trace_target  # noqa: E402
from netviz.trace.check import compare  # noqa: E402
from netviz.trace.spec_out import to_yaml, write_spec  # noqa: E402

torch.set_num_threads(1)


class Branchy(nn.Module):
    """Functional calls between modules: +, torch.cat, F.relu, pooling, view."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 1)
        self.c = nn.Conv2d(16, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        a = F.relu(self.a(x))
        b = self.b(x)
        s = a + b
        cat = torch.cat([s, b], dim=1)
        y = F.max_pool2d(self.c(cat), 2)
        y = F.adaptive_avg_pool2d(y, 4)
        y = y.view(y.size(0), -1)
        return F.softmax(self.fc(y), dim=1)


class OwnNorm(nn.LayerNorm):
    """A subclass may change what forward does: it stays a custom layer."""


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Linear(6, 6)
        self.norm = OwnNorm(6)

    def forward(self, x):
        return self.norm(self.block(self.block(x)))


class DataDependent(nn.Module):
    """Control flow on tensor values: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        y = self.conv(x)
        if y.sum() > -1e30:
            y = torch.relu(y)
        return self.head(y.mean(dim=(2, 3)))


def layer_types(shaped):
    return [(layer.name, layer.type) for layer in shaped.layers]


def test_functional_calls_map_to_spec_types_and_edges():
    s = trace_module(Branchy(), (3, 8, 8), device="cpu")
    net = s.network
    assert layer_types(s) == [
        ("input", "input"), ("a", "conv"), ("relu", "relu"), ("b", "conv"), ("add", "add"),
        ("cat", "concat"), ("c", "conv"), ("max_pool2d", "maxpool"),
        ("adaptive_avg_pool2d", "adaptive_avgpool"), ("view", "flatten"), ("fc", "fc"),
        ("softmax", "softmax")]
    assert net["add"].inputs == ("relu", "b")
    assert net["cat"].inputs == ("add", "b")
    assert net["b"].inputs == ("input",)
    assert s["cat"].output == (16, 8, 8)
    assert net["c"].attrs["bias"] is False and net["c"].attrs["pad"] == (1, 1)
    assert net["max_pool2d"].attrs["kernel"] == (2, 2)
    model = Branchy()
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.notes == ("traced with torch.fx on cpu",)


def test_engine_over_the_network_gives_the_traced_figures():
    s = trace_module(Branchy(), (3, 8, 8), device="meta")
    e = infer(s.network)
    for layer in s.layers:
        assert e[layer.name] == s[layer.name], layer.name


def test_custom_layers_carry_kind_scope_params():
    s = trace_module(Shared(), (5, 6), device="cpu")
    net = s.network
    assert [layer.name for layer in net] == ["input", "block", "block_2", "norm"]
    assert net["block"].type == "fc" and s["block"].params == 42
    # the second call of a shared module counts no parameters, so it cannot be an fc
    assert net["block_2"].type == "custom" and s["block_2"].params == 0
    assert s["block_2"].macs == 5 * 6 * 6
    norm = net["norm"]
    assert norm.type == "custom" and norm.scope == "norm"
    assert dict(norm.attrs) == {"kind": "OwnNorm", "output": (5, 6), "params": 12, "macs": 0}
    assert s.total_params == 42 + 12


def test_scopes_are_module_paths_and_names_are_stable():
    import torchvision
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    a = trace_module(model, (3, 64, 64), device="meta")
    b = trace_module(model, (3, 64, 64), device="meta")
    names = [layer.name for layer in a.layers]
    assert names == [layer.name for layer in b.layers]
    assert len(set(names)) == len(names)
    add = a.network["layer2.0.add"]
    assert add.scope == "layer2.0" and add.inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    assert a.network["layer2.0.downsample.0"].scope == "layer2.0.downsample.0"


def test_depth_collapses_modules_into_custom_layers_with_summed_figures():
    import torchvision
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    full = trace_module(model, (3, 64, 64), device="meta")
    top = trace_module(model, (3, 64, 64), device="meta", depth=1)
    assert [layer.name for layer in top.layers] == [
        "input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
        "avgpool", "flatten", "fc"]
    layer3 = top.network["layer3"]
    assert layer3.type == "custom" and layer3.attrs["kind"] == "Sequential"
    inside = [layer.name for layer in full.layers if layer.name.startswith("layer3.")]
    assert top["layer3"].params == sum(full[n].params for n in inside)
    assert top["layer3"].macs == sum(full[n].macs for n in inside)
    assert top["layer3"].output == full[inside[-1]].output
    assert top.total_params == full.total_params and top.total_macs == full.total_macs
    hooked = trace_module(model, (3, 64, 64), device="meta", depth=1, method="hooks")
    assert list(hooked.layers) == list(top.layers) and dict(hooked.info) == dict(top.info)
    two = trace_module(model, (3, 64, 64), device="meta", depth=2)
    assert "layer3.1" in two.network.by_name and "layer3.1.conv1" not in two.network.by_name
    assert two.total_macs == full.total_macs


class Attending(nn.Module):
    """Custom layers that do matrix work: attention, a linear by function, a matmul."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.w = nn.Parameter(torch.randn(8, 8))
        self.block = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))

    def forward(self, x):
        y = self.attn(x, x, x, need_weights=False)[0]
        y = F.linear(y, self.w) @ self.w
        return self.block(y)


@pytest.mark.parametrize("method,depth", [("auto", None), ("hooks", None), ("auto", 1)])
def test_multiply_adds_are_per_sample_whatever_the_batch(method, depth):
    model = Attending()
    one = trace_module(model, (5, 8), device="cpu", method=method, depth=depth)
    four = trace_module(model, (5, 8), device="cpu", method=method, depth=depth, batch=4)
    customs = [layer.name for layer in one.layers if layer.type == "custom" and one[layer.name].macs]
    assert customs  # the figures below include counted (not engine) multiply-adds
    assert [(layer.name, four[layer.name].macs) for layer in four.layers] == \
        [(layer.name, one[layer.name].macs) for layer in one.layers]
    assert four.total_macs == one.total_macs
    attn = one["attn"].macs
    assert attn == 5 * 8 * 8 * 3 + 2 * 5 * 5 * 8 + 5 * 8 * 8  # projections, scores, output


def test_data_dependent_control_flow_falls_back_to_hooks():
    s = trace_module(DataDependent(), (3, 6, 6), device="cpu")
    assert s.notes[0].startswith("traced by running forward with hooks on cpu (torch.fx failed:")
    assert layer_types(s) == [("input", "input"), ("conv", "conv"), ("relu", "relu"),
                              ("mean", "global_avgpool"), ("head", "fc")]
    assert s["mean"].output == (4,) and s.network["mean"].attrs["keepdim"] is False
    with pytest.raises(UsageError, match=r"tensor values, which meta tensors do not have: "
                                         r"use --device cpu"):
        trace_module(DataDependent(), (3, 6, 6), device="meta")


def test_hooks_and_fx_give_the_same_network():
    for model, shape in ((Branchy(), (3, 8, 8)), (Shared(), (5, 6))):
        a = trace_module(model, shape, device="cpu", method="fx")
        b = trace_module(model, shape, device="cpu", method="hooks")
        assert list(a.layers) == list(b.layers)
        assert dict(a.info) == dict(b.info)
        assert b.notes == ("traced by running forward with hooks on cpu",)


def snapshot(model):
    return {
        "training": [m.training for m in model.modules()],
        "params": [(name, p, p.data_ptr(), p.device, p.requires_grad)
                   for name, p in model.named_parameters()],
        "buffers": [(name, b, b.device) for name, b in model.named_buffers()],
        "hooks": [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()],
    }


class Fragile(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 3)
        self.fc.weight.requires_grad_(False)

    def forward(self, x):
        y = self.bn(self.conv(x))
        if y.sum() > 1e30:  # data dependent: the hooks path runs this forward
            y = y * 2
        return self.fc(torch.flatten(y, 1))


UNTOUCHED_CASES = [  # model, input, device, whether the trace fails
    (Branchy, (3, 8, 8), "cpu", False), (Branchy, (3, 8, 8), "meta", False),
    (Branchy, (2, 8, 8), "cpu", True), (Branchy, (2, 8, 8), "meta", True),
    (Fragile, (3, 6, 6), "cpu", False),  # hooks fallback
    (Fragile, (3, 9, 9), "cpu", True),  # hooks fallback, the forward raises
    (Fragile, (3, 6, 6), "meta", True),  # hooks fallback, meta has no values
]


@pytest.mark.parametrize("cls,input_shape,device,fails", UNTOUCHED_CASES)
def test_model_is_given_back_untouched(cls, input_shape, device, fails):
    model = cls()
    model.train()
    model.get_submodule("conv" if cls is Fragile else "a").eval()
    model.register_forward_hook(lambda m, i, o: None)
    before = snapshot(model)
    running = [b.clone() for b in model.buffers()]
    if fails:
        with pytest.raises(UsageError, match="the forward failed at"):
            trace_module(model, input_shape, device=device)
    else:
        trace_module(model, input_shape, device=device)
    after = snapshot(model)
    assert after["training"] == before["training"]
    assert [(n, p is q, ptr, dev, rg) for (n, p, ptr, dev, rg), (_, q, *_r) in
            zip(after["params"], before["params"])] == \
        [(n, True, ptr, dev, rg) for n, _, ptr, dev, rg in before["params"]]
    assert all(a[1] is b[1] and a[2] == b[2] for a, b in zip(after["buffers"], before["buffers"]))
    assert after["hooks"] == before["hooks"]
    assert all(torch.equal(a, b) for a, b in zip(running, model.buffers()))


def test_forward_failure_names_the_layer_and_the_input_size():
    with pytest.raises(UsageError) as info:
        trace_module(Fragile(), (3, 9, 9), device="cpu", target="tests:Fragile")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("tests:Fragile: the forward failed at fc (Linear) on an input of 196:")
    assert "it was given 3x9x9" in text


def test_a_forward_that_wants_two_inputs_is_named():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x, y):
            return self.fc(x) + y

    with pytest.raises(UsageError, match=r"missing 1 required positional argument: 'y'; netviz "
                                         r"traces models whose forward takes one input tensor"):
        trace_module(TwoInputs(), (4,), device="cpu")


def test_torchvision_names_and_sizes():
    with pytest.raises(UsageError,
                       match=r"torchvision has no model 'alexnt' \(did you mean alexnet"):
        trace_target("torchvision:alexnt", device="meta")
    with pytest.raises(UsageError) as info:
        trace_target("torchvision:vit_b_16", input="3x256x256", device="meta")
    assert "Wrong image height! Expected 224 but got 256" in str(info.value)
    assert str(info.value).endswith("(it was given 3x256x256)")
    assert trace_target("torchvision:inception_v3", device="meta").input_shape == (3, 299, 299)


def test_declared_input_and_missing_input():
    class Declares(nn.Module):
        input_shape = (3, 10, 10)

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3)

        def forward(self, x):
            return self.conv(x)

    s = trace_target(Declares, device="meta")
    assert s.input_shape == (3, 10, 10) and s["conv"].output == (2, 8, 8)
    with pytest.raises(UsageError, match="give the input size with --input CxHxW"):
        trace_target(Shared, device="meta")
    assert trace_target(Shared, input="5x6", device="meta")["norm"].output == (5, 6)

    class NeedsWidth(nn.Module):
        def __init__(self, width, depth=2):
            super().__init__()

    with pytest.raises(UsageError, match=r"the class needs arguments \(width\): point at a "
                                         r"function that builds the model with none"):
        trace_target(NeedsWidth, input="3", device="meta")
    with pytest.raises(UsageError, match=r"is a class but not a torch.nn.Module"):
        trace_target(dict, input="3", device="meta")


def test_profile_on_cpu_times_every_layer_and_meta_refuses():
    s = trace_module(Branchy(), (3, 8, 8), device="cpu", profile=True)
    timed = set(s.metrics)
    assert timed == {layer.name for layer in s.layers if layer.type != "input"}
    assert all(m["time_ms"] >= 0 and "memory_mb" not in m for m in s.metrics.values())
    assert "perf_counter" in s.notes[1]
    h = trace_module(Fragile(), (3, 6, 6), device="cpu", profile=True)
    assert {"conv", "bn", "fc"} <= set(h.metrics)
    with pytest.raises(UsageError, match="meta does not run"):
        trace_module(Branchy(), (3, 8, 8), device="meta", profile=True)


@pytest.mark.parametrize("model,shape", [(Branchy, (3, 8, 8)), (Shared, (5, 6)),
                                         (DataDependent, (3, 6, 6))])
def test_written_spec_reads_back_to_the_same_network(model, shape, tmp_path):
    s = trace_module(model(), shape, device="cpu")
    path = tmp_path / "net.yaml"
    write_spec(s, str(path), header=("a header line",))
    back = infer(load_spec(str(path)))
    assert [(layer.name, layer.type, dict(layer.attrs), layer.inputs) for layer in back.layers] == \
        [(layer.name, layer.type, dict(layer.attrs), layer.inputs) for layer in s.layers]
    assert dict(back.info) == dict(s.info)
    assert [p.name for p in tmp_path.iterdir()] == ["net.yaml"]


def test_spec_text_quotes_what_yaml_would_misread():
    from netviz.ir import Layer, Network
    net = Network("odd: name", (
        Layer("input", "input", {"shape": (3, 8, 8)}),
        Layer("yes", "custom", {"kind": "split[1]", "output": (3, 8, 8), "params": 0, "macs": 0},
              ("input",)),
        Layer("bn", "batchnorm", {"eps": 1e-05, "momentum": 0.1, "affine": True}, ("yes",)),
        Layer("lrn", "lrn", {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}, ("bn",)),
    ))
    back = parse_spec(to_yaml(net))
    assert back.name == "odd: name"
    assert [(layer.name, dict(layer.attrs)) for layer in back.layers] == \
        [(layer.name, dict(layer.attrs)) for layer in net.layers]


def test_check_matches_the_torchvision_spec_and_not_the_paper():
    from netviz.models import load
    traced = trace_target("torchvision:alexnet", input="3x224x224", device="meta")
    good = compare(infer(load("alexnet-torchvision")), traced)
    assert good.ok and good.dropped_spec == ["softmax"] and good.dropped_target == []
    assert good.compared == len(traced.layers)
    paper = infer(load("alexnet"))
    bad = compare(paper, trace_target("torchvision:alexnet", input="3x227x227", device="meta"))
    assert not bad.ok
    assert bad.dropped_spec == ["lrn", "softmax"] and bad.dropped_target == ["adaptive_avgpool"]
    lines = bad.lines()
    assert lines[0] == ("conv1 ~ features.0: output 96x55x55 (spec) vs 64x56x56 (model); "
                        "params 34,944 (spec) vs 23,296 (model)")
    assert any(line.startswith("only in the model: classifier.0 (dropout") for line in lines)


def _run_cli(capsys, *args):
    """``netviz ARGS`` in this process (torch is already imported): (exit code, out, err)."""
    from netviz.cli import run
    with pytest.raises(SystemExit) as exc:
        run([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_check_fails_when_one_side_has_a_layer_type_with_parameters(capsys, tmp_path):
    # torchvision's vgg16_bn is vgg16 with a batchnorm after each of its 13 convolutions
    code, out, err = _run_cli(capsys, "check", "vgg16", "torchvision:vgg16_bn", "--device", "meta")
    assert code == 1, out + err
    only = [line for line in out.splitlines() if line.strip().startswith("only in the model:")]
    assert len(only) == 13 and all("(batchnorm, " in line for line in only), out
    assert "batchnorm" not in out.split("not compared:")[1].splitlines()[0]
    assert "total params 138,357,544 (spec) vs 138,365,992 (model)" in out
    assert err.startswith("netviz: mismatch: 14 difference(s)") and "match:" not in out

    # a spec with one batchnorm more than torchvision's AlexNet
    from netviz import zoo
    text = open(zoo.path("alexnet-torchvision"), encoding="utf-8").read()
    extra = tmp_path / "alexnet-bn.yaml"
    extra.write_text(text.replace("  - relu: {name: relu1}\n",
                                  "  - batchnorm: {name: bn1}\n  - relu: {name: relu1}\n"))
    code, out, err = _run_cli(capsys, "check", extra, "torchvision:alexnet", "--device", "meta")
    assert code == 1, out + err
    assert "only in the spec:  bn1 (batchnorm, 64x55x55, 128 params)" in out
    assert "not compared: softmax (only in the spec)" in out

    # parameter-free, shape-keeping kinds one side lacks are still left out
    code, out, _ = _run_cli(capsys, "check", "alexnet-torchvision", "torchvision:alexnet",
                            "--device", "meta")
    assert code == 0 and "match: 23 layers agree" in out


def test_check_drops_only_transparent_layers():
    from netviz.trace.check import transparent
    net = infer(parse_spec(
        "input: 4x6x6\nlayers:\n  - conv: {name: c, out: 4, kernel: 3, pad: 1}\n"
        "  - lrn: {name: n}\n  - adaptive_avgpool: {name: same, output: 6}\n"
        "  - adaptive_avgpool: {name: smaller, output: 3}\n  - flatten: {name: f}\n"
        "  - dropout: {name: d}\n  - batchnorm: {name: bn}\n"
        "  - batchnorm: {name: plain, affine: false}\n  - fc: {name: fc, out: 2}\n"))
    assert {layer.name for layer in net.layers if transparent(net, layer)} == \
        {"n", "same", "f", "d", "plain"}


def test_fast_meta_answers_like_torch():
    from netviz.trace.fastmeta import fast_meta_mode
    x = torch.empty(2, 5, 7, device="meta")
    y = torch.empty(7, device="meta")
    mha = nn.MultiheadAttention(7, 1, device="meta")
    calls = [
        lambda: F.layer_norm(x, (7,)), lambda: F.gelu(x), lambda: x + y, lambda: 2 * x,
        lambda: x * y.bool(), lambda: F.linear(x, torch.empty(3, 7, device="meta")),
        lambda: F.softmax(x, -1), lambda: F.dropout(x, 0.1, False),
        lambda: mha(x, x, x)[0], lambda: mha(x, x, x)[1],
        lambda: mha(x, x, x, average_attn_weights=False)[1],
        lambda: mha(x, x, x, need_weights=False)[0],
    ]
    with torch.no_grad():
        plain = [c() for c in calls]
        with fast_meta_mode():
            fast = [c() for c in calls]
            same = F.relu(x, inplace=True)
            z = x
            z += y
    assert [(t.shape, t.dtype) for t in fast] == [(t.shape, t.dtype) for t in plain]
    assert same is x and z is x
