"""The zoo's ResNets, GoogLeNet and VGGs against torchvision's models of the same name.

Each spec is checked three ways: its parameter total against the torchvision
model's; every layer's type, output shape and parameters, in call order,
against the torchvision model run with forward hooks (on the meta device, at
the spec's input and at small ones); and the branching networks built by
netviz.build, with torchvision's weights copied in by layer name, computing
the same logits as torchvision.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from netviz.build import build  # noqa: E402
from netviz.models import load  # noqa: E402
from netviz.shapes import infer  # noqa: E402

torch.set_num_threads(1)

RESNETS = ["resnet18", "resnet50"]
VGGS = ["vgg11", "vgg13", "vgg19"]
MODELS = RESNETS + ["googlenet"] + VGGS

# torchvision leaf module -> spec layer type
TORCH_TYPES = {"Conv2d": "conv", "BatchNorm2d": "batchnorm", "ReLU": "relu",
               "MaxPool2d": "maxpool", "AdaptiveAvgPool2d": "adaptive_avgpool",
               "Dropout": "dropout", "Linear": "fc"}
# spec layers with no torchvision module: torch.flatten, the + of a residual
# block and the torch.cat of an Inception module are calls in forward(), and
# torchvision returns logits without a softmax
NO_MODULE = {"input", "flatten", "add", "concat", "softmax"}


def torchvision_model(name):
    """torchvision's model, without weights, on the meta device."""
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    with torch.device("meta"):
        return getattr(torchvision.models, name)(weights=None, **kwargs).eval()


def named_layers(name):
    """Whether the spec's layers carry torchvision's module names (ResNet,
    GoogLeNet) rather than the paper's (VGG's conv1_1, fc6)."""
    return name not in VGGS


def spec_name(module_path):
    """The spec's name for a torchvision module: its path, dots as underscores."""
    return module_path.replace(".", "_")


def torch_calls(model, input_shape):
    """(module name, type, output shape, params) of every leaf module call, in
    call order, from one forward pass on the meta device."""
    names = {m: n for n, m in model.named_modules()}
    calls = []
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append(
                 (names[m], TORCH_TYPES[type(m).__name__], tuple(o.shape[1:]),
                  sum(p.numel() for p in m.parameters()))))
             for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(torch.empty(1, *input_shape, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return calls


@pytest.mark.parametrize("name", MODELS)
def test_parameter_total_equals_torchvision(name):
    model = torchvision_model(name)
    shaped = infer(load(name))
    assert shaped.total_params == sum(p.numel() for p in model.parameters())
    assert shaped.input_shape == (3, 224, 224)


# small inputs whose sides turn odd: at 75x75 the ResNets' stride-2 layers
# meet odd sides, at 95x95 every VGG pool does and GoogLeNet's ceil-mode pools
# round up where floor would not
@pytest.mark.parametrize("input", [None, (3, 64, 64), (3, 75, 75), (3, 95, 95)])
@pytest.mark.parametrize("name", MODELS)
def test_layers_match_torchvision_call_by_call(name, input):
    model = torchvision_model(name)
    shaped = infer(load(name, input=input))
    calls = torch_calls(model, shaped.input_shape)
    # GoogLeNet's BasicConv2d applies F.relu, not a ReLU module
    skip = NO_MODULE | ({"relu"} if name == "googlenet" else set())
    ours = [(layer.type, shaped[layer.name].output, shaped[layer.name].params)
            for layer in shaped.layers if layer.type not in skip]
    theirs = [(ltype, out, params) for _, ltype, out, params in calls]
    assert ours == theirs
    if named_layers(name):
        # every layer but the ReLUs (one module called several times in a
        # ResNet block) is named after torchvision's module
        ours_named = [layer.name for layer in shaped.layers if layer.type not in skip | {"relu"}]
        assert ours_named == [spec_name(n) for n, ltype, _, _ in calls if ltype != "relu"]


def test_branch_structure():
    """The shortcuts and the Inception branches read what torchvision's do."""
    net = load("resnet50")
    assert net["layer1_0_add"].inputs == ("layer1_0_bn3", "layer1_0_downsample_1")
    assert net["layer1_0_downsample_0"].inputs == ("maxpool",)
    assert net["layer2_0_downsample_0"].inputs == ("layer1_2_relu3",)
    assert net["layer2_1_add"].inputs == ("layer2_1_bn3", "layer2_0_relu3")
    assert sum(1 for layer in net.layers if layer.type == "add") == 3 + 4 + 6 + 3
    assert sum(1 for layer in net.layers if layer.name.endswith("downsample_0")) == 4
    r18 = load("resnet18")
    assert sum(1 for layer in r18.layers if layer.type == "add") == 8
    assert sum(1 for layer in r18.layers if layer.name.endswith("downsample_0")) == 3
    g = load("googlenet")
    cats = [layer for layer in g.layers if layer.type == "concat"]
    assert [c.name for c in cats] == [f"inception{t}_cat" for t in
                                      ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    assert g["inception4a_cat"].inputs == tuple(
        f"inception4a_branch{b}_relu" for b in ("1", "2_1", "3_1", "4_1"))
    for b in ("branch1_conv", "branch2_0_conv", "branch3_0_conv", "branch4_0"):
        assert g[f"inception4a_{b}"].inputs == ("maxpool3",)
    assert g["inception3a_branch3_1_conv"].attrs["kernel"] == (3, 3)  # torchvision's, not the paper's 5x5


@pytest.mark.parametrize("name", MODELS)
def test_built_module_has_the_parameter_count(name):
    shaped = infer(load(name, input=(3, 64, 64)))
    with torch.device("meta"):
        module = build(shaped, init="torch")
        out = module.eval()(torch.empty(2, 3, 64, 64))
    assert sum(p.numel() for p in module.parameters()) == shaped.total_params
    assert sum(p.numel() for p in torchvision_model(name).parameters()) == shaped.total_params
    assert tuple(out.shape) == (2, 1000)


@pytest.mark.parametrize("name", RESNETS + ["googlenet"])
def test_built_branching_network_computes_what_torchvision_computes(name):
    """Same weights in, same logits out: the shortcuts and the concatenation
    order are wired as in torchvision (shapes alone would not tell)."""
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    torch.manual_seed(0)
    ref = getattr(torchvision.models, name)(weights=None, **kwargs)
    with torch.no_grad():  # batchnorm statistics away from the identity
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    ref.eval()
    built = build(load(name, input=(3, 64, 64)), init="torch").eval()
    copied = 0
    for mod_name, mod in ref.named_modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)):
            ours = getattr(built, built.layer_modules[spec_name(mod_name)])
            ours.load_state_dict(mod.state_dict())
            if isinstance(mod, torch.nn.BatchNorm2d):
                assert ours.eps == mod.eps
            copied += sum(p.numel() for p in mod.parameters())
    assert copied == sum(p.numel() for p in built.parameters())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want, got = ref(x), built(x)
    assert got.shape == want.shape == (2, 1000)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))
