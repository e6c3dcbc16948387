"""Acceptance: the tracer on eleven torchvision models.

On meta (no weights, nothing computed), at each model's default input: total
parameters equal sum(p.numel()), multiply-adds agree with torch's
FlopCounterMode (flops / 2) within 1%, the written spec reads back to the same
layers and the shape engine gives the same shapes, and the hooks fallback
gives the same network as torch.fx.

On cpu, at batch 1 and the default input, a real forward with hooks on every
leaf module gives the shapes the tracer recorded, and the meta trace is the
same network with the same figures. To keep the suite
affordable on two cores, the models with the costliest weight initialisation
are built on meta and given zeroed cpu storage instead (shapes do not depend
on values); set NETVIZ_TRACE_FULL=1 to initialise them as torchvision does.
"""
from __future__ import annotations

import os
import warnings

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from netviz.shapes import infer  # noqa: E402
from netviz.readers import parse_spec  # noqa: E402
from netviz.trace import trace_module, trace_target  # noqa: E402
from netviz.trace.spec_out import to_yaml  # noqa: E402

torch.set_num_threads(1)

MODELS = ["alexnet", "vgg16", "resnet18", "resnet50", "resnet152", "googlenet", "mobilenet_v2",
          "densenet121", "efficientnet_b0", "convnext_tiny", "vit_b_16"]
SLOW_INIT = {"alexnet", "vgg16", "googlenet", "convnext_tiny", "vit_b_16"}
FULL = os.environ.get("NETVIZ_TRACE_FULL") == "1"
# googlenet's auxiliary heads only run in training; the forward never uses them
NOT_CALLED = {"googlenet": ["aux1", "aux2"]}


def build(name, device):
    with warnings.catch_warnings(), torch.device(device):
        warnings.simplefilter("ignore")
        return torchvision.models.get_model(name, weights=None)


@pytest.fixture(scope="module")
def meta_traces():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = trace_target(f"torchvision:{name}", device="meta")
        return cache[name]
    return get


@pytest.mark.parametrize("name", MODELS)
def test_params_and_macs_on_meta(name, meta_traces):
    traced = meta_traces(name)
    assert traced.notes == ("traced with torch.fx on meta",)
    model = build(name, "meta").eval()
    total = sum(p.numel() for p in model.parameters())
    skipped = NOT_CALLED.get(name, [])
    unused = sum(p.numel() for m in skipped for p in model.get_submodule(m).parameters())
    assert traced.total_params == total - unused
    # meta answers some calls without running them: it must agree with the real run
    on_meta = meta_traces(name)
    assert list(on_meta.layers) == list(traced.layers)
    assert dict(on_meta.info) == dict(traced.info)
    if skipped:
        (warning,) = [w for w in traced.warnings if "parameters are never used" in w.message]
        assert f"{unused:,} parameters" in warning.message
        assert all(m in str(warning) for m in skipped)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.empty(1, *traced.input_shape, device="meta"))
    reference = counter.get_total_flops() // 2
    assert abs(traced.total_macs - reference) <= 0.01 * reference


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_through_a_spec_on_meta(name, meta_traces):
    traced = meta_traces(name)
    back = infer(parse_spec(to_yaml(traced), file=f"{name}.yaml"))
    assert [layer.name for layer in back.layers] == [layer.name for layer in traced.layers]
    assert [layer.type for layer in back.layers] == [layer.type for layer in traced.layers]
    assert [layer.inputs for layer in back.layers] == [layer.inputs for layer in traced.layers]
    for layer in traced.layers:
        assert back[layer.name].output == traced[layer.name].output, layer.name
        assert back[layer.name].params == traced[layer.name].params, layer.name
    assert back.total_macs == traced.total_macs


@pytest.mark.parametrize("name", MODELS)
def test_hooks_fallback_gives_the_same_network(name, meta_traces):
    traced = meta_traces(name)
    hooked = trace_module(build(name, "meta"), traced.input_shape, device="meta", method="hooks")
    assert list(hooked.layers) == list(traced.layers)
    assert dict(hooked.info) == dict(traced.info)


def cpu_model(name):
    if name in SLOW_INIT and not FULL:
        model = build(name, "meta").to_empty(device="cpu")
        with torch.no_grad():
            for t in [*model.parameters(), *model.buffers()]:
                t.zero_()
            for m in model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.running_var.fill_(1.0)
        return model
    return build(name, "cpu")


def leaf_outputs(model, x):
    """Output shape (no batch) of every leaf module, from hooks on a real forward."""
    seen, handles = {}, []
    for path, module in model.named_modules():
        if path and next(module.children(), None) is None:
            def hook(mod, args, out, path=path):
                if isinstance(out, torch.Tensor):
                    seen.setdefault(path, tuple(out.shape[1:]))
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_cpu_trace_matches_a_real_forward(name, meta_traces):
    model = cpu_model(name)
    shape = (3, 224, 224)
    traced = trace_module(model, shape, device="cpu")
    assert traced.notes == ("traced with torch.fx on cpu",)
    model.eval()
    seen = leaf_outputs(model, torch.randn(1, *shape))
    layers = traced.network.by_name
    identity = {p for p, m in model.named_modules() if isinstance(m, torch.nn.Identity)}
    for path, out in seen.items():
        if path in identity:
            continue
        assert path in layers, f"{path} ran but is not a layer"
        assert traced[path].output == out, path
        assert layers[path].scope == path
    called = [layer.name for layer in traced.layers if layer.name in seen]
    assert len(called) == len(seen) - len(identity & set(seen))
    total = sum(p.numel() for p in model.parameters())
    unused = sum(p.numel() for m in NOT_CALLED.get(name, [])
                 for p in model.get_submodule(m).parameters())
    assert traced.total_params == total - unused
    # meta answers some calls without running them: it must agree with the real run
    on_meta = meta_traces(name)
    assert list(on_meta.layers) == list(traced.layers)
    assert dict(on_meta.info) == dict(traced.info)
