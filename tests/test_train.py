"""netviz train: checks, learning, outputs, bad input, checkpoint and resume.

Runs are kept small (a few hundred LeNet-5 steps, a handful of AlexNet steps
at the reduced CPU input), with --max-time as a guard, so the file stays
quick on a small shared CPU.
"""
from __future__ import annotations

import json
import os
import re
import sys

import pytest

torch = pytest.importorskip("torch")

from netviz.errors import UsageError  # noqa: E402
from netviz.train import Interrupted, TrainConfig, train  # noqa: E402
from netviz.train import data as D  # noqa: E402
from netviz.train.checks import check_gradients, check_shapes  # noqa: E402

from specs import TINY  # noqa: E402


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def _metrics(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _png_size(path):
    from PIL import Image
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.format, im.size


# -- acceptance ------------------------------------------------------------------

def test_lenet5_passes_every_check_and_learns(cli, tmp_path):
    r = cli("train", "lenet5", "--epochs", "4", "--train-size", "1024", "--val-size", "256",
            "--max-time", "60", "--metrics", "run.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for check in ("shapes", "gradients", "overfit"):
        assert re.search(rf"^check {check}\s+passed", r.stdout, re.M), r.stdout
    m = _metrics(tmp_path / "run.json")
    assert m["checks_passed"] and [c["name"] for c in m["checks"]] == ["shapes", "gradients", "overfit"]
    assert m["classes"] == 10 and m["chance"] == pytest.approx(0.1)
    assert m["val_accuracy"] >= 3 * m["chance"], m["val_accuracy"]
    assert len(m["loss_curve"]) == m["steps"] > 0
    assert m["images_per_second"] > 0 and m["device"] == "cpu"
    assert m["settings"]["optimizer"] == "sgd" and m["settings"]["momentum"] == 0.9
    assert m["settings"]["weight_decay"] == 5e-4
    assert _png_size(tmp_path / "run.png")[0] == "PNG"  # the plot goes next to the metrics
    # not a terminal: a few progress lines, not one per step
    progress = [line for line in r.stdout.splitlines() if line.lstrip().startswith("step ")]
    assert 2 <= len(progress) <= 13 < m["steps"]


def test_alexnet_smoke_says_the_input_is_reduced(cli, tmp_path):
    r = cli("train", "alexnet", "--steps", "3", "--batch-size", "8", "--train-size", "64",
            "--val-size", "32", "--metrics", "a.json", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "input reduced from 3x227x227 to 3x67x67" in r.stdout
    assert "fc8 resized from 1000 to 10 outputs" in r.stdout
    m = _metrics(tmp_path / "a.json")
    assert m["checks_passed"] and m["input"] == [3, 67, 67]
    assert m["input_reduced_from"] == [3, 227, 227]
    assert m["checks"][0]["detail"].startswith("24 layers match")
    assert not os.path.exists(tmp_path / "a.png")


# -- checks -------------------------------------------------------------------------

def test_shape_check_reports_the_layers_that_differ():
    from contextlib import nullcontext
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    expected = {"0": ("conv", "conv", (4, 6, 6)), "1": ("flat", "flatten", (100,))}
    r = check_shapes(model, expected, torch.zeros(2, 3, 8, 8), nullcontext)
    assert not r.passed
    assert r.data["mismatches"] == [["flat", "flatten", "100", "144"]]
    assert "flat" in r.detail and "144" in r.detail and "shape engine" in r.detail
    ok = check_shapes(model, {"1": ("flat", "flatten", (144,))}, torch.zeros(2, 3, 8, 8), nullcontext)
    assert ok.passed


def test_gradient_check_names_parameters_without_gradient():
    from contextlib import nullcontext
    model = torch.nn.ModuleDict({"used": torch.nn.Linear(4, 3), "unused": torch.nn.Linear(4, 3)})
    model.forward = lambda x: model["used"](x)
    r = check_gradients(model, torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]),
                        torch.nn.functional.cross_entropy, nullcontext)
    assert not r.passed and "unused.weight" in r.detail and "used.weight" not in r.detail.replace("unused", "")


def test_module_target_with_an_unused_parameter_fails_its_check(cli, tmp_path):
    (tmp_path / "net.py").write_text(
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    input_shape = (3, 8, 8)\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 4))\n"
        "        self.spare = torch.nn.Linear(3, 3)\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n")
    r = cli("train", "net.py:Net", "--steps", "2", "--train-size", "32", "--val-size", "8",
            "--metrics", "m.json", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^check shapes\s+passed", r.stdout, re.M)
    assert re.search(r"^check gradients\s+FAILED.*spare\.weight", r.stdout, re.M)
    assert "check gradients failed" in r.stderr and "Traceback" not in r.stderr
    m = _metrics(tmp_path / "m.json")
    assert m["stopped"] == "check_failed" and not m["checks_passed"]


TUPLE_NET = """\
import collections
import torch

Outputs = collections.namedtuple("Outputs", "logits features")

class Net(torch.nn.Module):
    input_shape = (3, 8, 8)

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 16),
                                        torch.nn.ReLU())
        self.head = torch.nn.Linear(16, 4)

    def forward(self, x):
        y = self.body(x)
        if self.training:  # a namedtuple in training only, as GoogLeNet's
            return Outputs(self.head(y), y)
        return self.head(y)

class Pair(Net):
    def forward(self, x):
        y = self.body(x)
        return self.head(y), y
"""


@pytest.mark.parametrize("attr,returns", [("Net", "2 outputs (Outputs)"), ("Pair", "2 outputs (tuple)")])
def test_a_model_returning_a_tuple_trains_on_its_first_element(tmp_path, attr, returns):
    (tmp_path / "tuple_net.py").write_text(TUPLE_NET)
    lines = []
    m, module = train(_cfg(f"{tmp_path / 'tuple_net.py'}:{attr}", steps=3, train_size=32,
                           val_size=8, batch_size=8),
                      echo=lambda *a, **k: lines.append(" ".join(map(str, a))))
    said = [line for line in lines if "netviz trains the first" in line]
    assert len(said) == 1 and f"returns {returns} when training" in said[0], lines
    assert m["checks_passed"] and m["steps"] == 3 and m["classes"] == 4
    module.train()
    assert module(torch.zeros(2, 3, 8, 8)).shape == (2, 4)


def test_default_plot_names_keep_targets_apart(capsys, tmp_path, monkeypatch):
    from netviz.commands.train import default_plot
    assert default_plot("lenet5") == "lenet5-train.png"
    assert default_plot("nets/tiny.yaml") == "tiny-train.png"
    assert default_plot("torchvision:alexnet") == "torchvision-alexnet-train.png"
    names = {default_plot(t) for t in ("pkg.mod:Net", "pkg.mod:Other", "pkg.other:Net",
                                       "nets.py:Net", "dir/nets.py:Other")}
    assert len(names) == 5 and "pkg.mod-Net-train.png" in names
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tuple_net.py").write_text(TUPLE_NET)
    code, out, err = _run_here(capsys, "train", "tuple_net.py:Pair", "--steps", "1", "--train-size",
                               "16", "--val-size", "8", "--batch-size", "8", "--device", "cpu")
    assert code == 0, out + err
    assert "plot: tuple_net-Pair-train.png" in out and (tmp_path / "tuple_net-Pair-train.png").is_file()


def test_torchvision_models_with_auxiliary_classifiers_are_built_without():
    from netviz.train.model import prepare_target
    p = prepare_target("torchvision:googlenet", input="3x64x64")
    assert p.module.aux1 is None and p.module.aux2 is None
    assert any("aux_logits=False" in note for note in p.notes)
    p.module.train()
    assert isinstance(p.module(torch.zeros(2, 3, 64, 64)), torch.Tensor)
    assert not any("aux_logits" in note for note in prepare_target("torchvision:alexnet").notes)
    with pytest.raises(UsageError, match=r"^--input: expected a shape like 3x227x227, got '3xa'$"):
        prepare_target("torchvision:alexnet", input="3xa")


def test_nan_loss_stops_at_once_naming_the_step(cli, tmp_path):
    r = cli("train", "lenet5", "--lr", "1e9", "--steps", "40", "--train-size", "256", "--val-size",
            "32", "--metrics", "m.json", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    found = re.search(r"the loss became (nan|inf|-inf) at step (\d+)", r.stderr)
    assert found, r.stderr
    m = _metrics(tmp_path / "m.json")
    assert m["stopped"] == "diverged" and m["steps"] == int(found.group(2)) < 40
    assert len(m["loss_curve"]) == m["steps"]


# -- data ------------------------------------------------------------------------------

def test_procedural_data_is_deterministic_balanced_and_any_channel_count():
    a = D.procedural(6, (1, 20, 20), 60, 12, seed=3)
    b = D.procedural(6, (1, 20, 20), 60, 12, seed=3)
    c = D.procedural(6, (1, 20, 20), 60, 12, seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.x_train, c.x_train)
    assert a.x_train.dtype == torch.uint8 and a.x_train.shape == (60, 1, 20, 20)
    assert torch.bincount(a.y_train).tolist() == [10] * 6
    rgb = D.procedural(4, (3, 24, 24), 8, 4, seed=0)
    assert rgb.x_train.shape == (8, 3, 24, 24) and len(rgb.classes) == 4
    assert D.procedural(3, (5, 9, 9), 6, 3, seed=0).x_train.shape == (6, 5, 9, 9)
    recipes = {D.class_recipe(i) for i in range(D.MAX_CLASSES)}
    assert len(recipes) == D.MAX_CLASSES  # every class is a different figure
    with pytest.raises(Exception, match="2 to 128 classes"):
        D.procedural(D.MAX_CLASSES + 1, (3, 8, 8), 8, 4, seed=0)


def _image_folder(root, classes=("blue", "red"), per_class=(6, 2)):
    from PIL import Image
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
    for split, n in zip(("train", "val"), per_class):
        for cls in classes:
            os.makedirs(root / split / cls)
            for i in range(n):
                Image.new("RGB", (20 + i, 18), colours[cls]).save(root / split / cls / f"{i}.png")


def test_image_folder_trains_with_its_classes(cli, tmp_path):
    _image_folder(tmp_path / "imgs")
    r = cli("train", "lenet5", "--data", "imgs", "--steps", "3", "--batch-size", "4",
            "--metrics", "m.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "resized from 10 to 2 outputs: the data has 2 classes" in r.stdout
    m = _metrics(tmp_path / "m.json")
    assert m["class_names"] == ["blue", "red"] and m["settings"]["train_size"] == 12
    assert m["settings"]["val_size"] == 4 and m["checks_passed"]
    ds = D.image_folder(str(tmp_path / "imgs"), (3, 10, 12))
    assert ds.x_train.shape == (12, 3, 10, 12)
    red = ds.x_train[ds.y_train == 1].float().mean(dim=(0, 2, 3))
    assert red[0] > 200 and red[2] < 40  # decoded as RGB, resized


# -- bad input: one line, exit 2 --------------------------------------------------------

def _one_line_error(r, pattern):
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(pattern, lines[0]), r.stderr


def _run_here(capsys, *args):
    """``netviz ARGS`` in this process (torch is already imported): (exit code, out, err)."""
    from netviz.cli import run
    with pytest.raises(SystemExit) as exc:
        run([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _error_here(capsys, pattern, *args):
    """``netviz train ARGS`` fails with one line matching PATTERN, exit 2; returns stdout."""
    code, out, err = _run_here(capsys, "train", *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and re.search(pattern, lines[0]), (args, out, err)
    assert lines[0].startswith("netviz: ")
    return out


def test_bad_input(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _error_here(capsys, r"unknown model 'alexnt'.*alexnet", "alexnt")
    _error_here(capsys, r"--data nowhere: no such folder", "lenet5", "--data", "nowhere")
    os.makedirs(tmp_path / "empty" / "train" / "cat")
    os.makedirs(tmp_path / "empty" / "val" / "cat")
    _error_here(capsys, r"holds no images", "lenet5", "--data", "empty")
    _error_here(capsys, r"--batch-size 32 is larger than the 16 training images",
                "lenet5", "--train-size", "16", "--batch-size", "32")
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "last.pt").write_bytes(b"x")
    _error_here(capsys, r"add --resume", "lenet5", "--checkpoint-dir", "ck")
    _error_here(capsys, r"cannot read .*last.pt", "lenet5", "--resume", "--checkpoint-dir", "ck",
                "--steps", "1")
    assert not any(p.suffix == ".png" for p in tmp_path.iterdir())


def test_unwritable_outputs_are_refused_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("a file")
    cases = [
        (("--metrics", "file.txt/m.json"), r"--metrics file.txt/m.json: .*file.txt is a file, "
                                           r"not a folder"),
        (("--plot", "file.txt/p.png"), r"--plot file.txt/p.png: .*file.txt is a file"),
        (("--checkpoint-dir", "file.txt/ck"), r"--checkpoint-dir file.txt/ck: file.txt is a file"),
        (("--checkpoint-dir", "file.txt"), r"--checkpoint-dir file.txt: is a file, not a folder"),
        (("--metrics", "."), r"--metrics \.: is a folder: give a file name"),
    ]
    if os.path.isdir("/proc"):  # no file can be made there, even by root
        cases += [(("--metrics", "/proc/m.json"), r"--metrics /proc/m.json: cannot write in /proc "),
                  (("--checkpoint-dir", "/proc/ck"), r"--checkpoint-dir /proc/ck: cannot write in")]
    for args, pattern in cases:
        out = _error_here(capsys, pattern, "lenet5", "--steps", "1", *args)
        assert "check" not in out and "training" not in out, out  # said before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    # missing folders are made
    train(_cfg("lenet5", steps=1, train_size=32, val_size=8, metrics=str(tmp_path / "a/b/m.json"),
               plot=str(tmp_path / "c/p.png"), checkpoint_dir=str(tmp_path / "d/ck")),
          echo=lambda *a, **k: None)
    for made in ("a/b/m.json", "c/p.png", "d/ck/last.pt"):
        assert (tmp_path / made).is_file(), made


@pytest.mark.parametrize("option", ["metrics", "plot", "checkpoint_dir"])
def test_an_output_that_fails_when_written_is_one_error(tiny, tmp_path, option):
    import shutil
    out = tmp_path / "out"
    dest = {"metrics": str(out / "m.json"), "plot": str(out / "p.png"),
            "checkpoint_dir": str(out / "ck")}[option]

    def break_it(step, _module):  # the folder becomes a file during the run
        if step == 1:
            shutil.rmtree(out)
            out.write_text("in the way")
    with pytest.raises(UsageError, match=rf"^--{option.replace('_', '-')} {re.escape(dest)}: "
                                         r"writing failed \(.+\): choose another path$") as exc:
        train(_cfg(tiny, steps=2, **{option: dest}), echo=lambda *a, **k: None, on_step=break_it)
    assert exc.value.exit_code == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_but_absent_says_what_the_tracer_says(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run_here(capsys, "train", "lenet5", "--device", "cuda")
    assert code == 2 and len(err.strip().splitlines()) == 1, out + err
    assert err.startswith("netviz: --device cuda: CUDA is not available (") and \
        err.strip().endswith("); use --device cpu")
    assert not list(tmp_path.iterdir())
    from netviz.trace import trace_module
    with pytest.raises(UsageError) as traced:
        trace_module(torch.nn.ReLU(), (3,), device="cuda")
    assert f"netviz: {traced.value}" == err.strip()


def test_the_trainer_takes_no_meta_device():
    from netviz.devices import resolve_device
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("meta").type == "meta"
    with pytest.raises(UsageError, match=r"unknown device 'tpu': use auto, cuda, cpu or meta"):
        resolve_device("tpu")
    with pytest.raises(UsageError, match=r"unknown device 'meta': use auto, cuda or cpu"):
        train(_cfg("lenet5", device="meta"), echo=lambda *a, **k: None)


def test_torch_not_installed(cli, tmp_path):
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "fake"), *sys.path]))
    _one_line_error(cli("train", "lenet5", cwd=tmp_path, env=env),
                    r"needs PyTorch, which is not installed: pip install")


# -- checkpoint and resume ---------------------------------------------------------------

def _cfg(model, **kw):
    base = dict(model=model, steps=12, batch_size=16, train_size=64, val_size=16, seed=5,
                device="cpu", deterministic=True, progress="off", evals=2)
    base.update(kw)
    return TrainConfig(**base)


def test_interrupt_then_resume_equals_the_straight_run(tiny, tmp_path):
    quiet = lambda *a, **k: None  # noqa: E731
    threads = torch.get_num_threads()
    m_straight, straight = train(_cfg(tiny), echo=quiet)
    # torch's process-wide settings are given back as they were
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == threads

    def ctrl_c_at_6(step, _module):
        if step == 6:
            raise KeyboardInterrupt

    ck = str(tmp_path / "ck")
    with pytest.raises(Interrupted, match=r"interrupted at step 6 of 12; checkpoint saved") as exc:
        train(_cfg(tiny, checkpoint_dir=ck), echo=quiet, on_step=ctrl_c_at_6)
    assert exc.value.exit_code == 130
    saved = torch.load(os.path.join(ck, "last.pt"), weights_only=True)
    assert saved["step"] == 6 and len(saved["history"]["loss"]) == 6
    m_resumed, resumed = train(_cfg(tiny, checkpoint_dir=ck, resume=True), echo=quiet)
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys() and "bn1.running_mean" in a
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert m_resumed["loss_curve"] == m_straight["loss_curve"]
    assert m_resumed["steps"] == 12
    # 12 steps of 16 over 64 images: the run crossed epochs, with dropout, batchnorm, momentum
    assert m_resumed["epochs"] == 3.0


def test_resume_refuses_a_different_run(tiny, tmp_path):
    ck = str(tmp_path / "ck")
    train(_cfg(tiny, steps=2, checkpoint_dir=ck), echo=lambda *a, **k: None)
    with pytest.raises(UsageError, match=r"different run \(batch_size 16 -> 8\)"):
        train(_cfg(tiny, steps=4, batch_size=8, checkpoint_dir=ck, resume=True),
              echo=lambda *a, **k: None)


def test_input_and_classes_decisions_are_said():
    from netviz.train.model import prepare_network
    p = prepare_network("alexnet", input="3x99x99")
    assert p.input_shape == (3, 99, 99) and p.reduced_from == (3, 227, 227)
    assert any("3x99x99 set by --input, reduced from the spec's 3x227x227" in n for n in p.notes)
    gpu = prepare_network("alexnet", device_type="cuda", classes=20)
    assert gpu.input_shape == (3, 227, 227) and gpu.reduced_from is None and gpu.classes == 20
    assert any("fc8 resized from 1000 to 20 outputs: --classes asks for 20" in n for n in gpu.notes)
    lenet = prepare_network("lenet5")
    assert lenet.classes == 10 and lenet.notes == [] and lenet.input_shape == (1, 32, 32)


# -- length of a run ------------------------------------------------------------------

def test_a_run_whose_length_is_not_given_is_ten_epochs_on_every_device():
    from netviz.train.loop import DEFAULT_EPOCHS, defaults
    for cuda in (False, True):
        cfg = defaults(TrainConfig(model="alexnet"), cuda=cuda)
        assert (cfg.epochs, cfg.steps, cfg.max_time) == (DEFAULT_EPOCHS, None, None) == (10, None, None)
    # --max-time alone fits the ten epochs to it; with --steps it is a guard only
    assert defaults(TrainConfig(model="alexnet", max_time=30.0), cuda=False).max_time == 30.0
    given = defaults(TrainConfig(model="alexnet", steps=7, max_time=30.0), cuda=False)
    assert (given.steps, given.epochs, given.max_time) == (7, None, 30.0)


def test_a_cpu_run_says_its_estimated_time_after_five_steps(cli, tiny, tmp_path):
    r = cli("train", tiny, "--steps", "12", "--batch-size", "8", "--train-size", "128",
            "--val-size", "16", "--no-plot", "--progress", "lines", "--skip-checks", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (line,) = [l for l in r.stdout.splitlines() if l.startswith("estimated time:")]
    assert re.fullmatch(r"estimated time: \d+:\d\d more for the remaining 7 steps, "
                        r"at the pace of the first 5", line), line
    assert r.stdout.index("training: 12 steps") < r.stdout.index(line) < r.stdout.index("done: 12 steps")
