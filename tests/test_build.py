"""netviz.build: a Network becomes a torch module that computes what the spec says.

The built modules are checked against PyTorch itself: the fast LRN against
torch.nn.LocalResponseNorm (values and gradients), the built torchvision
AlexNet against torchvision's own with the same weights, every layer's output
shape and the parameter count against the shape engine, and a branching
network against the same computation written with torch.nn.functional.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from netviz.build import BuildError, build, classifier_layer, lrn_class, with_classes  # noqa: E402
from netviz.models import load  # noqa: E402
from netviz.shapes import infer  # noqa: E402
from netviz.readers import parse_spec  # noqa: E402

torch.set_num_threads(1)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("dims", [(3, 13, 9, 7), (2, 11, 17), (2, 9, 3, 4, 5)])
def test_fast_lrn_equals_torch_values_and_gradients(size, dims):
    g = torch.Generator().manual_seed(size)
    x = (3 * torch.randn(*dims, generator=g, dtype=torch.float64)).requires_grad_()
    ref = torch.nn.LocalResponseNorm(size, alpha=0.05, beta=0.75, k=2.0)
    fast = lrn_class()(size, alpha=0.05, beta=0.75, k=2.0, channels=dims[1]).double()
    want, got = ref(x), fast(x)
    assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)
    w = torch.randn(*dims, generator=g, dtype=torch.float64)
    (gw,) = torch.autograd.grad((want * w).sum(), x)
    (gg,) = torch.autograd.grad((got * w).sum(), x)
    assert torch.allclose(gg, gw, rtol=1e-9, atol=1e-12)


def test_fast_lrn_alexnet_settings_float32_and_unknown_channel_count():
    x = torch.relu(torch.randn(4, 96, 27, 27)) * 10
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(x)
    built_for_other = lrn_class()(5, 1e-4, 0.75, 2.0, channels=64)  # band made on the fly
    assert torch.allclose(built_for_other(x), ref, rtol=1e-5, atol=1e-6)
    assert "band" not in built_for_other.state_dict()  # derived, not saved


def _per_layer_shapes(module, x):
    seen = {}

    def recorder(name):
        def hook(_module, _inputs, out):
            seen.setdefault(name, tuple(out.shape[1:]))  # returns None: output untouched
        return hook
    hooks = [getattr(module, attr).register_forward_hook(recorder(name))
             for name, attr in module.layer_modules.items()]
    try:
        module.eval()
        with torch.no_grad():
            out = module(x)
    finally:
        for h in hooks:
            h.remove()
    return out, seen


@pytest.mark.parametrize("model,input", [
    ("alexnet", "3x67x67"), ("alexnet-torchvision", "3x71x71"), ("lenet5", None),
    ("zfnet", "3x69x69"), ("vgg16", "3x32x32")])
def test_zoo_models_build_with_engine_shapes_and_parameter_counts(model, input):
    shaped = infer(load(model, input=input))
    module = build(shaped)
    x = torch.randn(2, *shaped.input_shape)
    out, seen = _per_layer_shapes(module, x)
    for layer in shaped.layers:
        if layer.type != "input":
            assert seen[layer.name] == shaped.info[layer.name].output, layer.name
    assert out.shape == (2, *shaped.info[shaped.layers[-1].name].output)
    assert sum(p.numel() for p in module.parameters()) == shaped.total_params


def test_paper_alexnet_full_size_parameter_count():
    module = build("alexnet")
    assert sum(p.numel() for p in module.parameters()) == infer(load("alexnet")).total_params
    assert module.conv2.groups == 2 and module.conv3.groups == 1
    assert type(module.norm1).__name__ == "FastLRN"


def test_built_alexnet_torchvision_computes_what_torchvision_computes():
    torchvision = pytest.importorskip("torchvision")
    ref = torchvision.models.alexnet(weights=None, num_classes=7).eval()
    built = build(with_classes(load("alexnet-torchvision", input="3x96x96"), 7)).eval()
    ours = [m for m in built.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    theirs = [m for m in ref.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(ours) == len(theirs) == 8
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            a.weight.copy_(b.weight)
            a.bias.copy_(b.bias)
        x = torch.randn(3, 3, 96, 96)
        assert torch.allclose(built(x), ref(x), rtol=1e-4, atol=1e-5)


BRANCHY = """
name: branchy
input: 4x15x15
layers:
  - conv: {name: stem.conv, out: 8, kernel: 3, pad: 1}
  - batchnorm: {name: stem.bn}
  - relu: {name: stem.relu}
  - conv: {name: a, out: 8, kernel: 3, pad: 2, dilation: 2, inputs: [stem.relu]}
  - relu: {name: a_relu}
  - add: {name: join, inputs: [a_relu, stem.relu]}
  - conv: {name: b, out: 6, kernel: 1, groups: 2, inputs: [join]}
  - concat: {name: cat, inputs: [b, join]}
  - avgpool: {name: pool, kernel: 3, stride: 2, ceil_mode: true, count_include_pad: false}
  - maxpool: {name: mpool, kernel: 2, stride: 2, ceil_mode: true}
  - adaptive_maxpool: {name: amax, output: 2}
  - flatten
  - fc: {name: forward, out: 12}
  - batchnorm: {name: bn1d}
  - leaky_relu: {name: leaky, slope: 0.2}
  - fc: {name: train, out: 5}
  - softmax
"""


def test_branching_network_matches_the_same_computation_in_torch_functional():
    shaped = infer(parse_spec(BRANCHY))
    m = build(shaped).eval()
    # dots are sanitised; names that clash with nn.Module attributes are moved aside
    assert m.layer_modules["stem.conv"] == "stem_conv"
    assert m.layer_modules["forward"] != "forward" and m.layer_modules["train"] != "train"
    x = torch.randn(2, 4, 15, 15)
    mod = {name: getattr(m, attr) for name, attr in m.layer_modules.items()}
    with torch.no_grad():
        bn = mod["stem.bn"]
        s = F.relu(F.batch_norm(mod["stem.conv"](x), bn.running_mean, bn.running_var, bn.weight,
                                bn.bias, False, 0.0, bn.eps))
        a = F.relu(F.conv2d(s, mod["a"].weight, mod["a"].bias, padding=2, dilation=2))
        j = a + s
        b = F.conv2d(j, mod["b"].weight, mod["b"].bias, groups=2)
        c = torch.cat([b, j], 1)
        p = F.avg_pool2d(c, 3, 2, ceil_mode=True, count_include_pad=False)
        p = F.adaptive_max_pool2d(F.max_pool2d(p, 2, 2, ceil_mode=True), 2).flatten(1)
        f = F.linear(p, mod["forward"].weight, mod["forward"].bias)
        bn1 = mod["bn1d"]
        f = F.leaky_relu(F.batch_norm(f, bn1.running_mean, bn1.running_var, bn1.weight, bn1.bias,
                                      False, 0.0, bn1.eps), 0.2)
        want = F.linear(f, mod["train"].weight, mod["train"].bias)
        got = m(x)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)
    assert isinstance(mod["bn1d"], torch.nn.BatchNorm1d) and isinstance(mod["stem.bn"], torch.nn.BatchNorm2d)
    assert sum(p.numel() for p in m.parameters()) == shaped.total_params


def test_relu_reading_a_shared_output_is_not_in_place():
    net = parse_spec("""
input: 2x5x5
layers:
  - conv: {name: c, out: 2, kernel: 1}
  - relu: {name: r}
  - add: {name: s, inputs: [r, c]}
  - flatten
  - fc: 3
""")
    m = build(net).eval()
    assert m.r.inplace is False  # c is read by r and by s
    fc = getattr(m, m.layer_modules[net.layers[-1].name])
    x = torch.randn(1, 2, 5, 5)
    with torch.no_grad():
        c = m.c(x)
        want = F.linear((F.relu(c) + c).flatten(1), fc.weight, fc.bias)
        assert torch.allclose(m(x), want)


def test_softmax_is_left_to_the_loss():
    m = build("lenet5").eval()
    out = m(torch.randn(3, 1, 32, 32))
    assert not torch.allclose(out.sum(1), torch.ones(3))  # logits, not probabilities


def test_custom_layer_cannot_be_built_and_the_error_names_it():
    net = parse_spec("""
input: 3x8x8
layers:
  - conv: {name: c1, out: 4, kernel: 3}
  - custom: {name: mystery, kind: LayerNorm, output: 4x6x6}
  - flatten
  - fc: 2
""", file="net.yaml")
    with pytest.raises(BuildError, match=r"layer 'mystery' \(net.yaml:5:\d+\) is a custom layer"):
        build(net)


def test_every_activation_builds_and_one_without_a_module_is_named(monkeypatch):
    import netviz.build as B
    from netviz.layers import ACTIVATIONS
    assert set(B.activation_modules(torch.nn)) == set(ACTIVATIONS)
    acts = "".join(f"  - {a}: {{name: {a}}}\n" for a in ACTIVATIONS)
    net = parse_spec(f"input: 6\nlayers:\n{acts}  - leaky_relu: {{name: leaky, slope: 0.2}}\n")
    m = build(net)
    assert [type(getattr(m, a)).__name__.lower() for a in ACTIVATIONS] == \
        [a.replace("_", "") for a in ACTIVATIONS]
    assert m.leaky.negative_slope == 0.2 and m.leaky_relu.negative_slope == 0.01
    table = B.activation_modules
    monkeypatch.setattr(B, "activation_modules", lambda nn: {
        k: v for k, v in table(nn).items() if k != "mish"})
    with pytest.raises(BuildError, match=r"layer 'mish' \(.*\): netviz has no PyTorch "
                                         r"module for the activation 'mish'"):
        build(net)


def test_with_classes_resizes_the_classifier_behind_softmax_and_dropout():
    net = load("alexnet")
    assert classifier_layer(net).name == "fc8"
    shaped = infer(with_classes(net, 10))
    assert shaped["fc8"].output == (10,) and shaped["prob"].output == (10,)
    no_fc = parse_spec("input: 3x8x8\nlayers:\n  - conv: {out: 10, kernel: 8}\n  - flatten\n")
    assert classifier_layer(no_fc) is None
    with pytest.raises(BuildError, match="does not come from an fc layer"):
        with_classes(no_fc, 5)


def test_he_initialisation_and_torch_default():
    m = build("alexnet", input="3x67x67")
    std = m.conv3.weight.std().item()
    fan_in = m.conv3.weight[0].numel()
    assert abs(std - (2 / fan_in) ** 0.5) < 0.1 * (2 / fan_in) ** 0.5
    assert abs(m.fc8.weight.std().item() - 0.01) < 0.002
    assert torch.count_nonzero(m.conv1.bias) == 0
    t = build("alexnet", input="3x67x67", init="torch")
    assert t.conv3.weight.std().item() < 0.75 * std
