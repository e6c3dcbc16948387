"""netviz train on CUDA: the fast path (bf16, channels_last), the LRN in bf16,
procedural data made on the GPU, and a short AlexNet run.

Skipped where torch sees no CUDA GPU.
"""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: no GPU visible to torch"),
]

from netviz.build import lrn_class  # noqa: E402
from netviz.train import data as D  # noqa: E402


def test_band_matrix_lrn_on_cuda_fp32_and_bf16():
    x = torch.relu(torch.randn(8, 96, 27, 27, device="cuda")) * 5
    ref = torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)(x)
    fast = lrn_class()(5, 1e-4, 0.75, 2.0, channels=96).cuda()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    assert torch.allclose(fast(x), ref, rtol=1e-5, atol=1e-5)
    xl = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        got = fast(xl.bfloat16())
    assert got.dtype == torch.bfloat16
    assert torch.allclose(got.float(), ref, rtol=2e-2, atol=2e-2)


def test_procedural_data_is_made_on_the_gpu_and_is_deterministic():
    a = D.procedural(10, (3, 64, 64), 256, 64, seed=1, device="cuda")
    b = D.procedural(10, (3, 64, 64), 256, 64, seed=1, device="cuda")
    assert a.x_train.is_cuda and a.y_train.is_cuda
    assert torch.equal(a.x_train, b.x_train)


def test_alexnet_trains_on_cuda_with_the_fast_path(cli, tmp_path):
    r = cli("train", "alexnet", "--steps", "60", "--batch-size", "64", "--train-size", "2048",
            "--val-size", "256", "--metrics", "m.json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["device"].startswith("cuda") and m["input"] == [3, 227, 227]
    assert m["settings"]["bf16"] and m["settings"]["channels_last"]
    assert m["checks_passed"] and m["val_accuracy"] > m["chance"]
