"""The tracer on CUDA: traces, the model given back, and --profile.

Skipped where torch sees no CUDA GPU.
"""
from __future__ import annotations

import statistics

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: no GPU visible to torch"),
]

from netviz.trace import trace_module, trace_target  # noqa: E402

MODELS = ["alexnet", "resnet18", "googlenet", "mobilenet_v2", "densenet121", "efficientnet_b0",
          "convnext_tiny", "vit_b_16"]


@pytest.mark.parametrize("name", MODELS)
def test_cuda_trace_gives_the_meta_shapes(name):
    on_gpu = trace_target(f"torchvision:{name}", device="cuda")
    on_meta = trace_target(f"torchvision:{name}", device="meta")
    assert on_gpu.notes == ("traced with torch.fx on cuda",)
    assert list(on_gpu.layers) == list(on_meta.layers)
    assert dict(on_gpu.info) == dict(on_meta.info)


def test_cpu_model_traced_on_cuda_is_given_back_on_cpu():
    import torchvision
    model = torchvision.models.resnet18().train()
    before = [(p, p.device, p.data_ptr()) for p in model.parameters()]
    traced = trace_module(model, (3, 64, 64), device="cuda")
    assert traced.notes == ("traced with torch.fx on cuda",)
    assert [(p, p.device, p.data_ptr()) for p in model.parameters()] == before
    assert all(m.training for m in model.modules())


def test_cli_trace_on_cuda(cli):
    r = cli("trace", "torchvision:alexnet", "--device", "cuda", "--profile")
    assert r.returncode == 0, r.stderr
    assert "traced with torch.fx on cuda" in r.stdout
    assert "time_ms" in r.stdout and "memory_mb" in r.stdout


def forward_ms(model, x, runs=20, warmup=5):
    """Median time of a plain forward, CUDA events around it."""
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            end.record()
            torch.cuda.synchronize()
            if i >= warmup:
                times.append(start.elapsed_time(end))
    return statistics.median(times)


@pytest.mark.parametrize("batch", [64])
def test_profile_times_add_up_to_the_forward(batch):
    import torchvision
    model = torchvision.models.alexnet().cuda().eval()
    traced = trace_module(model, (3, 224, 224), device="cuda", profile=True, batch=batch)
    layers = [layer.name for layer in traced.layers if layer.type != "input"]
    assert set(traced.metrics) == set(layers)
    assert all(m["time_ms"] > 0 and m["memory_mb"] > 0 for m in traced.metrics.values())
    total = sum(m["time_ms"] for m in traced.metrics.values())
    measured = forward_ms(model, torch.randn(batch, 3, 224, 224, device="cuda"))
    assert abs(total - measured) <= 0.10 * measured, (total, measured)
    assert "CUDA events" in traced.notes[1]


def test_profile_at_batch_1_records_every_layer():
    traced = trace_target("torchvision:alexnet", device="cuda", profile=True)
    assert len(traced.metrics) == len(traced.layers) - 1
    assert "at batch 1" in traced.notes[1]
