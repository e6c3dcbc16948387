"""`netviz trace` and `netviz check` from the command line, good and bad input.

Each case is a fresh `python -m netviz` process (the `cli` fixture). Starting
torch takes seconds, so the cases of one test run side by side in threads.
"""
from __future__ import annotations

import os
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

torch = pytest.importorskip("torch")

MODEL_FILE = textwrap.dedent('''
    import torch
    from torch import nn

    class Net(nn.Module):
        input_shape = (3, 16, 16)

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4 * 14 * 14, 10)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).flatten(1))

    class NoInput(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(x)

    def make_not_a_module():
        return "a string"
''')

# errors about this file are found without importing torch
PLAIN_FILE = textwrap.dedent('''
    CONSTANT = 3

    def make_with_args(width):
        raise AssertionError("never called")
''')


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(MODEL_FILE)
    (tmp_path / "plain.py").write_text(PLAIN_FILE)
    return path


def run_all(cli, cases, cwd, env=None):
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(cli, *args, cwd=cwd, env=env) for name, args in cases.items()}
        return {name: f.result() for name, f in futures.items()}


def test_trace_and_check_commands(cli, model_file, tmp_path):
    from netviz.shapes import infer
    from netviz.readers import load_spec
    from netviz.trace import trace_target
    f = str(model_file)
    out = tmp_path / "net.yaml"
    results = run_all(cli, {
        "table": ("trace", f"{f}:Net", "--device", "cpu"),
        "spec": ("trace", f"{f}:Net", "--device", "meta", "-o", str(out)),
        "match": ("check", "alexnet-torchvision", "torchvision:alexnet", "--device", "meta"),
        "mismatch": ("check", "alexnet", "torchvision:alexnet", "--device", "meta"),
    }, cwd=tmp_path)
    table = results["table"]
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == f"{f}:Net: input 3x16x16, 5 layers"
    assert [line.split()[:3] for line in lines[5:9]] == [
        ["conv", "conv", "4x14x14"], ["relu", "relu", "4x14x14"], ["flatten", "flatten", "784"],
        ["fc", "fc", "10"]]
    assert f"{3 * 4 * 9 + 4 + 784 * 10 + 10:,} parameters" in table.stdout
    assert "traced with torch.fx on cpu" in table.stdout

    spec = results["spec"]
    assert spec.returncode == 0, spec.stderr
    assert f"wrote {out}: 5 layers" in spec.stderr
    back = infer(load_spec(str(out)))
    traced = trace_target(f"{f}:Net", device="meta")
    assert [(layer.name, layer.type) for layer in back.layers] == \
        [(layer.name, layer.type) for layer in traced.layers]
    assert dict(back.info) == dict(traced.info)

    match = results["match"]
    assert match.returncode == 0, match.stderr
    assert "not compared: softmax (only in the spec)" in match.stdout
    assert "match: 23 layers agree in type, output shape and parameters" in match.stdout

    mismatch = results["mismatch"]
    assert mismatch.returncode == 1
    assert ("conv1 ~ features.0: output 96x55x55 (spec) vs 64x56x56 (model); "
            "params 34,944 (spec) vs 23,296 (model)") in mismatch.stdout
    assert "not compared: lrn, softmax (only in the spec); adaptive_avgpool (only in the " \
           "model)" in mismatch.stdout
    assert mismatch.stderr.startswith("netviz: mismatch: ")
    assert "Traceback" not in mismatch.stderr


def bad_cases(f, tmp_path):
    """name -> (args, what the one line must say)"""
    plain = str(tmp_path / "plain.py")
    cases = {
        "not importable": (("trace", "nosuchpkg.models:Net"),
                           "cannot import 'nosuchpkg.models' (no module named 'nosuchpkg')"),
        "no such file": (("trace", "missing/nets.py:Net"), "no such file 'missing/nets.py'"),
        "no attribute": (("trace", f"{plain}:CONSTAN"),
                         "has no attribute 'CONSTAN' (did you mean CONSTANT"),
        "not a module": (("trace", f"{plain}:CONSTANT"), "is an int, not a torch.nn.Module"),
        "returns no module": (("trace", f"{f}:make_not_a_module"),
                              "returned a str, not a torch.nn.Module"),
        "factory needs arguments": (("trace", f"{plain}:make_with_args"),
                                    "the function needs arguments (width)"),
        "forward fails": (("trace", f"{f}:Net", "--input", "1x16x16", "--device", "cpu"),
                          "the forward failed at conv (Conv2d) on an input of 1x16x16"),
        "no input size": (("trace", f"{f}:NoInput", "--device", "meta"),
                          "give the input size with --input CxHxW"),
        "profile on meta": (("trace", f"{f}:Net", "--device", "meta", "--profile"),
                            "meta does not run"),
        "depth 0": (("trace", f"{f}:Net", "--depth", "0"), "--depth 0: the depth must be 1"),
        "bad input": (("trace", f"{f}:Net", "--input", "3xax3"), "--input: expected a shape"),
        "no folder": (("trace", f"{f}:Net", "-o", str(tmp_path / "none" / "x.yaml")),
                      "does not exist: create it first"),
        "swapped": (("check", "torchvision:alexnet", "alexnet"),
                    "'torchvision:alexnet' is a PyTorch target; the first argument is the spec"),
    }
    if not torch.cuda.is_available():
        cases["no cuda"] = (("trace", f"{f}:Net", "--device", "cuda"),
                            "--device cuda: CUDA is not available")
    return cases


def test_bad_input_is_one_line_and_exit_2(cli, model_file, tmp_path):
    cases = bad_cases(str(model_file), tmp_path)
    results = run_all(cli, {name: args for name, (args, _) in cases.items()}, cwd=tmp_path)
    for name, (args, expected) in cases.items():
        r = results[name]
        err = r.stderr.strip()
        assert r.returncode == 2, (name, r.returncode, err)
        assert "Traceback" not in r.stderr, (name, err)
        assert "\n" not in err, (name, err)
        assert expected in err, (name, err)
        assert err.startswith("netviz: "), (name, err)
    assert not (tmp_path / "none").exists()


def test_torch_missing_names_the_extra(cli, model_file, tmp_path):
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    env = dict(os.environ, PYTHONPATH=str(fake))
    r = cli("trace", f"{model_file}:Net", cwd=tmp_path, env=env)
    assert r.returncode == 2
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "needs torch" in err and "pip install 'netviz[torch]'" in err
    helped = cli("--help", cwd=tmp_path, env=env)  # nothing else needs torch
    assert helped.returncode == 0 and "trace" in helped.stdout and "check" in helped.stdout


READS_ITS_WEIGHTS = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.scale = float(self.fc.weight.abs().max())  # a value meta does not have

    def forward(self, x):
        return self.fc(x) * self.scale
"""


def test_a_model_that_cannot_be_built_on_meta_points_at_cpu(cli, tmp_path):
    (tmp_path / "reads.py").write_text(READS_ITS_WEIGHTS)
    r = cli("shapes", "reads.py:Net", "--input", "4", "--device", "meta", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "building the model on the meta device failed" in r.stderr and "use --device cpu" in r.stderr
    # regnet works out its widths with torch while it is built: it still builds on meta
    pytest.importorskip("torchvision")
    r = cli("shapes", "torchvision:regnet_y_400mf", "--device", "meta")
    assert r.returncode == 0 and "traced with torch.fx on meta" in r.stdout
