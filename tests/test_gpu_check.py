"""benchmarks/gpu_check.py, the one prepared GPU command, run here as its dry run
on the CPU (the same steps, tiny sizes), so the script cannot rot where there
is no GPU."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    p = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=1100,
                       env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    return p, out


def test_dry_run_passes_every_step_and_writes_json_and_markdown(dry_run):
    p, out = dry_run
    report = json.loads((out / "gpu_check.json").read_text())
    failed = {k: (r["rc"], r["stderr"][-400:]) for k, r in report["steps"].items() if not r["ok"]}
    assert p.returncode == 0 and report["ok"], failed
    assert list(report["steps"]) == ["env", "tests", "shapes", "trace", "throughput",
                                     "lrn_share", "train"]
    assert report["dry_run"] is True
    md = (out / "gpu_check.md").read_text()
    assert md.strip() == p.stdout.strip()
    assert "| step | result | time | ok |" in md and "| naive fp32 eager (img/s) |" in md


def test_dry_run_measures_what_the_gpu_run_measures(dry_run):
    _, out = dry_run
    steps = json.loads((out / "gpu_check.json").read_text())["steps"]
    assert steps["env"]["result"]["cuda_available"] is False
    assert steps["env"]["result"]["torch"]
    tests = steps["tests"]["result"]  # every GPU test is collected and, with no GPU, skipped
    assert tests["skipped"] >= 10 and tests["failed"] == 0 and tests["passed"] == 0
    trace = steps["trace"]["result"]
    assert trace["ok"] and trace["same_layers"] and trace["layers"] > 10
    rows = steps["throughput"]["result"]["rows"]
    assert {(r["model"], r["batch"]) for r in rows} == {
        (m, b) for m in ("alexnet", "alexnet-torchvision") for b in (2, 4)}
    assert all(r["naive"] > 0 and r["netviz"] > 0 and r["input"] == "3x67x67" for r in rows)
    shares = steps["lrn_share"]["result"]["lrn_share"]
    assert len(shares) == 2 and all(0 < v < 1 for v in shares.values())
    train = steps["train"]["result"]
    assert train["device"].startswith("cpu") and train["steps"] == 3
    assert 0 <= train["val_accuracy"] <= 1


def test_a_failing_step_does_not_stop_the_rest(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)
    calls = []

    def boom(p):
        calls.append("shapes")
        raise RuntimeError("no such card")

    def fine(name):
        def step(p, *rest):
            calls.append(name)
            return {"cmd": name, "rc": 0, "seconds": 0.0, "ok": True, "result": None,
                    "stdout": "", "stderr": ""}
        return step

    for name in ("env", "tests", "trace", "throughput", "lrn_share", "train"):
        monkeypatch.setattr(gpu_check, f"step_{name}", fine(name))
    monkeypatch.setattr(gpu_check, "step_shapes", boom)
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path)]) == 1
    assert calls == ["env", "tests", "shapes", "trace", "throughput", "lrn_share", "train"]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["steps"]["shapes"]["rc"] == "error"
    assert "RuntimeError: no such card" in report["steps"]["shapes"]["stderr"]
    assert "| shapes | RuntimeError: no such card |" in (tmp_path / "gpu_check.md").read_text()
