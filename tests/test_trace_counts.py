"""The tracer counts what runs, follows the batch axis, loads any torchvision
model by name without weights, and traces on meta when there is no GPU.

The oracle for multiply-adds is torch's FlopCounterMode (flops / 2) on meta
at batch 1, over the same model object. A fast, representative set of
torchvision models runs by default; every model torchvision lists for
classification, segmentation and video runs under ``-m slow``.
"""
from __future__ import annotations

import json
import warnings

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from netviz.errors import UsageError  # noqa: E402
from netviz.table import format_table  # noqa: E402
from netviz.trace import trace_module, trace_target  # noqa: E402
from netviz.trace.target import instantiate, resolve  # noqa: E402

META = torch.device("meta")
FAST = ["resnet18", "mobilenet_v3_small", "swin_t", "swin_v2_t", "maxvit_t", "vit_b_32",
        "convnext_tiny", "lraspp_mobilenet_v3_large"]


def flop_counter_macs(model, shape, batch=1) -> int:
    """FlopCounterMode's flops / 2 for a forward at ``batch`` on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    x = torch.empty(batch, *shape, device=device) if device == META else \
        torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2


def torchvision_names() -> list[str]:
    models = torchvision.models
    names = []
    for module in (models, models.segmentation, models.video):
        names += models.list_models(module=module)
    return sorted(set(names))


def check_counts(name):
    res = resolve(f"torchvision:{name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, _ = instantiate(res, META)
    shape = res.default_input
    expected = flop_counter_macs(model, shape)
    for method in ("fx", "hooks"):
        if method == "fx" and name.startswith("swin3d"):
            continue  # the fx graph fails on their window sizes' list mutation: auto uses hooks
        traced = trace_module(model, shape, device="meta", method=method)
        assert traced.total_macs == expected, (name, method, traced.total_macs, expected)


@pytest.mark.parametrize("name", FAST)
def test_counts_agree_with_flop_counter(name):
    check_counts(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in torchvision_names() if n not in FAST])
def test_counts_agree_with_flop_counter_on_every_torchvision_model(name):
    check_counts(name)


# -- the calls inside a layer kept as one call --------------------------------

@torch.fx.wrap
def windowed(x, weight):
    """A Python function fx keeps as one call, with matrix work inside."""
    q = nn.functional.linear(x, weight)
    scores = torch.einsum("bid,bjd->bij", q, x)
    return torch.bmm(scores.softmax(-1), x) + x @ weight.t()


class Inside(nn.Module):
    """Matrix work inside a function fx keeps whole, einsum at the top level,
    a matmul with a vector, and an MLP on a fixed table (work on constants)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 8))
        self.table_mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 6))
        self.register_buffer("table", torch.randn(6, 2))
        self.vector = nn.Parameter(torch.randn(8))

    def forward(self, x):  # x: (batch, 6, 8)
        y = windowed(x, self.weight)
        y = torch.einsum("bij,jk->bik", y, self.weight)
        bias = self.table_mlp(self.table)  # (6, 6), the same for every sample
        y = y + torch.einsum("ij,bjd->bid", bias, y)
        return y.matmul(self.vector) + x.sum(-1)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_work_inside_calls_einsum_and_constants_are_counted(device):
    model = Inside()
    expected = flop_counter_macs(model, (6, 8))
    assert expected > 0
    totals = {m: trace_module(model, (6, 8), device=device, method=m).total_macs
              for m in ("fx", "hooks")}
    assert totals == {"fx": expected, "hooks": expected}
    fx = trace_module(model, (6, 8), device=device, method="fx")
    inside = [n for n, i in fx.info.items() if n.startswith("windowed")]
    assert inside and fx[inside[0]].macs == 6 * 8 * 8 + 6 * 6 * 8 + 6 * 6 * 8 + 6 * 8 * 8



# -- writes into part of a tensor -------------------------------------------

@torch.fx.wrap
def add_positions(scores, q, table):
    """Relative positions added into the scores in place, as MViT does."""
    scores[:, 1:, 1:] += torch.einsum("bic,jc->bij", q[:, 1:], table)
    return scores


@torch.fx.wrap
def write_first(x, first):
    x[:, 0] = first
    return x


class WritesInPlace(nn.Module):
    """Work whose result is written into a slice of another tensor
    (``x[i] += v``, ``x[i] = v``): the output depends on it through the write."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(8, 8)
        self.table = nn.Parameter(torch.randn(5, 8))
        self.fill = nn.Linear(8, 8)

    def forward(self, x):  # (batch, 6, 8)
        q = self.q(x)
        scores = add_positions(q @ x.transpose(1, 2), q, self.table)
        return write_first(scores.softmax(-1) @ x, self.fill(x[:, 0]))


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_work_written_into_a_slice_is_counted_and_kept(method):
    model = WritesInPlace()
    traced = trace_module(model, (6, 8), device="meta", method=method)
    assert traced.total_macs == flop_counter_macs(model, (6, 8)) == 384 + 288 + 200 + 288 + 64
    assert traced.total_params == sum(p.numel() for p in model.parameters())
    assert not traced.warnings  # the table and fill are used, not dropped
    if method == "hooks":  # fx keeps the two functions whole; the hooks see the writes
        writes = [n for n in traced.info if n.startswith("setitem")]
        assert len(writes) == 2
        assert traced["einsum"].macs == 5 * 5 * 8 and traced["einsum"].params == 5 * 8
        assert traced[writes[0]].inputs == ((6, 6), (5, 5))  # the scores and what is added
        assert traced[writes[1]].inputs == ((6, 8), (8,))  # the output and fill's row


# -- the batch axis -----------------------------------------------------------

class Folded(nn.Module):
    """Tokens whose batch is folded into the rows before a linear layer, then
    moved to the second axis by MultiheadAttention's sequence-first layout."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 12)
        self.attn = nn.MultiheadAttention(12, 3)
        self.head = nn.Linear(12, 5)

    def forward(self, x):  # (batch, 16, 8)
        b, n, c = x.shape
        rows = self.fc(x.reshape(b * n, c))
        y = rows.reshape(b, n, 12).permute(1, 0, 2)
        y, _ = self.attn(y, y, y)
        return self.head(y.permute(1, 0, 2))


@pytest.mark.parametrize("method", ["fx", "hooks"])
@pytest.mark.parametrize("batch", [1, 3])
def test_the_batch_axis_is_followed(method, batch):
    model = Folded()
    traced = trace_module(model, (16, 8), device="cpu", method=method, batch=batch)
    fc, attn, head = traced["fc"], traced["attn"], traced["head"]
    assert (fc.output, fc.batch) == ((16, 12), "folded into axis 0")
    assert (attn.output, attn.batch) == ((16, 1, 12), "at axis 1")
    assert (head.output, head.batch) == ((16, 5), "")  # the batch leads again
    assert fc.macs == 16 * 8 * 12 and head.macs == 16 * 12 * 5
    # the multiply-adds of a batch of 1, at any traced batch
    assert traced.total_macs == flop_counter_macs(model, (16, 8))
    assert traced.total_macs == flop_counter_macs(model, (16, 8), batch=4) // 4
    on_meta = trace_module(model, (16, 8), device="meta", method=method)
    assert dict(on_meta.info) == dict(traced.info)
    rows = {line.split()[0]: line for line in format_table(traced).splitlines() if line}
    assert rows["fc"].endswith("folded into axis 0") and rows["attn"].endswith("at axis 1")
    assert rows["layer"].split()[-1] == "batch"
    layers = {layer["name"]: layer for layer in json.loads(json.dumps(traced.to_json()))["layers"]}
    assert layers["fc"]["batch"] == "folded into axis 0" and "batch" not in layers["head"]


def test_a_model_whose_batch_leads_has_no_batch_column():
    traced = trace_module(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(),
                                        nn.Linear(4 * 6 * 6, 2)), (3, 8, 8), device="meta")
    assert not any(info.batch for info in traced.info.values())
    assert traced["3"].output == (2,)
    assert "batch" not in format_table(traced).splitlines()[2].split()


# -- devices ------------------------------------------------------------------

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="auto picks CUDA on a GPU")

READS_VALUES = """
import torch
from torch import nn


class Net(nn.Module):
    input_shape = (4,)

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        if x.sum() > 1e9:  # a value meta tensors do not have
            return x
        return self.fc(x)


class Built(nn.Module):
    input_shape = (4,)

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.scale = float(self.fc.weight.abs().max())  # a value meta tensors do not have

    def forward(self, x):
        return self.fc(x) * self.scale


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("needs a vocabulary file")
"""


@no_gpu
def test_auto_traces_on_meta_without_a_gpu():
    traced = trace_target("torchvision:resnet18")
    assert traced.notes == ("traced with torch.fx on meta",)
    on_cpu = trace_target("torchvision:resnet18", device="cpu")
    assert on_cpu.notes == ("traced with torch.fx on cpu",)
    assert dict(on_cpu.info) == dict(traced.info)


@no_gpu
def test_auto_falls_back_to_the_cpu_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "nets.py").write_text(READS_VALUES)
    monkeypatch.chdir(tmp_path)
    runs = trace_target("nets.py:Net")
    assert runs.notes[-1].startswith("--device auto: traced on the cpu, as meta failed: ")
    assert "\n" not in runs.notes[-1] and runs.total_macs == 12
    built = trace_target("nets.py:Built")
    assert built.notes[0] == "traced with torch.fx on cpu"
    assert built.notes[-1].startswith("--device auto: traced on the cpu, as meta failed: ")
    assert "RuntimeError" in built.notes[-1] or "meta" in built.notes[-1]
    with pytest.raises(UsageError, match=r"builds neither on meta \(RuntimeError: needs a "
                                         r"vocabulary file\) nor on the cpu \(RuntimeError"):
        trace_target("nets.py:Broken", input="4")
    with pytest.raises(UsageError, match="meta tensors do not have"):
        trace_target("nets.py:Net", device="meta")  # asked for: no fallback


@no_gpu
def test_a_model_that_builds_nowhere_is_one_line(cli, tmp_path):
    (tmp_path / "nets.py").write_text(READS_VALUES)
    r = cli("render", "nets.py:Broken", "--input", "4", "-o", "x.svg", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "nets.py:Broken: the model builds neither on meta" in r.stderr
    assert not (tmp_path / "x.svg").exists()


# -- any torchvision model by name ----------------------------------------------

def test_every_torchvision_name_resolves_with_its_usual_input():
    models = torchvision.models
    family = {}
    for sub, size in ((models.segmentation, (3, 520, 520)), (models.detection, (3, 800, 800)),
                      (models.video, (3, 16, 224, 224)), (models.optical_flow, (3, 520, 960))):
        family.update(dict.fromkeys(models.list_models(module=sub), size))
    special = {"inception_v3": (3, 299, 299), "quantized_inception_v3": (3, 299, 299),
               "r3d_18": (3, 16, 112, 112), "mc3_18": (3, 16, 112, 112),
               "r2plus1d_18": (3, 16, 112, 112)}
    for name in models.list_models():
        res = resolve(f"torchvision:{name}")
        assert res.name == name and res.torchvision
        assert res.default_input == special.get(name, family.get(name, (3, 224, 224))), name


@pytest.fixture
def no_downloads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("netviz tried to download weights")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", refuse)


@pytest.mark.parametrize("target", ["torchvision:fcn_resnet50",
                                    "torchvision.models.segmentation:fcn_resnet50"])
def test_segmentation_by_name_never_downloads(target, no_downloads):
    traced = trace_target(target, device="meta")
    assert traced.input_shape == (3, 520, 520)
    assert traced.layers[-1].name == "interpolate" and traced[traced.layers[-1].name].output == \
        (21, 520, 520)
    res = resolve("torchvision:fcn_resnet50")
    model, _ = instantiate(res, META)
    assert traced.total_macs == flop_counter_macs(model, (3, 520, 520))


def test_video_by_name(no_downloads):
    traced = trace_target("torchvision:r3d_18", device="meta")
    assert traced.input_shape == (3, 16, 112, 112)
    model, _ = instantiate(resolve("torchvision:r3d_18"), META)
    assert traced.total_macs == flop_counter_macs(model, (3, 16, 112, 112))


@pytest.mark.slow
@no_gpu
def test_detection_traces_on_the_cpu(no_downloads):
    target = "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn"
    traced = trace_target(target, input="3x320x320")
    assert traced.notes[-1].startswith("--device auto: traced on the cpu, as meta failed: ")
    assert traced.total_params == sum(
        p.numel() for p in instantiate(resolve(target), torch.device("cpu"))[0].parameters())
