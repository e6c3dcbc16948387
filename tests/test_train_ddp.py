"""netviz train under torchrun: two CPU processes (gloo) train one model with
DistributedDataParallel and end with the same parameters."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("this PyTorch has no torch.distributed", allow_module_level=True)

from specs import TINY as SPEC  # noqa: E402

WORKER = """\
import json, os, sys
import torch
from netviz.train import TrainConfig, train

out, spec = sys.argv[1], sys.argv[2]
rank = int(os.environ["RANK"])
first = {}

def after(step, module):
    if step == 1:
        first.update({k: v.clone() for k, v in module.state_dict().items()})

metrics, module = train(TrainConfig(model=spec, steps=5, batch_size=8, train_size=64, val_size=16,
                                    device="cpu", progress="off", seed=1), on_step=after)
torch.save({"final": module.state_dict(), "first": first}, os.path.join(out, f"rank{rank}.pt"))
if rank == 0:
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump({k: metrics[k] for k in ("world_size", "params_in_sync", "steps", "settings")}, fh)
"""


def test_two_processes_with_torchrun_end_with_identical_parameters(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SPEC)
    (tmp_path / "worker.py").write_text(WORKER)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(tmp_path / "worker.py"), str(tmp_path), str(tmp_path / "tiny.yaml")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert s0["final"].keys() == s1["final"].keys()
    for key in s0["final"]:
        assert torch.equal(s0["final"][key], s1["final"][key]), key
    # the ranks saw different images, and the weights moved after the first step
    assert not torch.equal(s0["final"]["conv1.weight"], s0["first"]["conv1.weight"])
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["world_size"] == 2 and m["params_in_sync"] is True and m["steps"] == 5
    # only rank 0 prints
    assert r.stdout.count("netviz train tiny") == 1, r.stdout


def test_torchrun_cli_prints_one_progress_and_no_deprecation_warning(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SPEC)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "netviz", "train", str(tmp_path / "tiny.yaml"), "--steps", "6", "--batch-size", "8",
           "--train-size", "64", "--val-size", "16", "--no-plot", "--progress", "lines",
           "--skip-checks"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    out = r.stdout + r.stderr
    # Known, not yet fixed: on CPUs (gloo) a rank sometimes aborts as the run ends, after
    # its work is done ("terminate called without an active exception"); any other
    # failure fails this test.
    assert r.returncode == 0 or "terminate called without an active exception" in out, out[-3000:]
    assert "deprecated" not in out.lower() and "broadcast_buffers" not in out, out[-3000:]
    assert r.stdout.count("done: 6 steps") == 1, r.stdout
    assert r.stdout.count("step 6/6") == 1, r.stdout
