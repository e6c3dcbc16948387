"""The checks before training: the overfit check stays a real check within a
bounded budget, shows its progress, and --skip-checks leaves all three out
and says so."""
from __future__ import annotations

import io
import json
import re
from contextlib import nullcontext

import pytest

torch = pytest.importorskip("torch")

from netviz.train import TrainConfig  # noqa: E402
from netviz.train.checks import (OVERFIT_MAX_STEPS, OVERFIT_MIN_STEPS, check_overfit,  # noqa: E402
                                 run_checks, step_budget)
from netviz.train.report import CheckProgress  # noqa: E402

F = torch.nn.functional

# A network whose output is multiplied by zero: every check before the overfit
# one passes (shapes as traced, a finite loss, a finite gradient, zero, in
# every parameter), yet it cannot learn anything.
STUCK_NET = """\
import torch

class Stuck(torch.nn.Module):
    input_shape = (3, 8, 8)

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 16),
                                        torch.nn.ReLU(), torch.nn.Linear(16, 4))

    def forward(self, x):
        return 0.0 * self.body(x)
"""


def _small_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 5))


def _batch(n=4):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 4, 4, generator=g), torch.arange(n) % 5


def _run_here(capsys, *args):
    """``netviz ARGS`` in this process: (exit code, stdout, stderr)."""
    from netviz.cli import run
    with pytest.raises(SystemExit) as exc:
        run([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _metrics(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def test_step_budget_is_fitted_to_the_pace_within_bounds():
    assert step_budget(1e-5) == OVERFIT_MAX_STEPS  # a quick model: the most steps
    assert step_budget(10.0) == OVERFIT_MIN_STEPS  # a slow one: never under the least
    assert step_budget(0.05, seconds=10) == 200
    assert step_budget(0.0) == OVERFIT_MAX_STEPS
    assert OVERFIT_MIN_STEPS < OVERFIT_MAX_STEPS


def test_overfit_check_passes_a_network_that_learns():
    model = _small_net()
    x, y = _batch()
    r = check_overfit(model, x, y, F.cross_entropy, nullcontext)
    assert r.passed and r.name == "overfit", r.detail
    assert r.data["last_loss"] < 0.05 < r.data["first_loss"]
    assert r.data["steps"] <= r.data["step_budget"] <= OVERFIT_MAX_STEPS
    assert r.detail.startswith("one batch of 4 memorised")


def test_overfit_check_fails_with_zero_learning_rate():
    model = _small_net()
    x, y = _batch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r = check_overfit(model, x, y, F.cross_entropy, nullcontext, lr=0.0)
    assert not r.passed and r.name == "overfit"
    assert re.match(r"one batch of 4 not memorised within (\d+) steps: loss ", r.detail), r.detail
    # it ran its whole budget, and the budget is bounded
    assert r.data["steps"] == r.data["step_budget"]
    assert OVERFIT_MIN_STEPS <= r.data["steps"] <= OVERFIT_MAX_STEPS
    assert r.data["last_loss"] == pytest.approx(r.data["first_loss"])
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # lr 0: nothing moved


def test_a_frozen_model_fails_the_checks_by_name():
    model = _small_net()
    for p in model.parameters():
        p.requires_grad_(False)
    x, y = _batch()
    r = check_overfit(model, x, y, F.cross_entropy, nullcontext)
    assert not r.passed and "no trainable parameters" in r.detail
    reported = []
    results = run_checks(model, {}, (x, y), F.cross_entropy, nullcontext, torch.device("cpu"),
                         reported.append)
    assert [(c.name, c.passed) for c in results] == [("shapes", True), ("gradients", False)]
    assert "no trainable parameters" in results[-1].detail and reported == results


def test_a_model_that_cannot_learn_fails_the_overfit_check(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stuck.py").write_text(STUCK_NET)
    code, out, err = _run_here(capsys, "train", "stuck.py:Stuck", "--steps", "2", "--train-size",
                               "32", "--val-size", "8", "--batch-size", "8", "--progress", "lines",
                               "--metrics", "m.json", "--no-plot")
    assert code == 1, out + err
    assert re.search(r"^check shapes\s+passed", out, re.M) and \
        re.search(r"^check gradients\s+passed", out, re.M), out
    failed = re.search(r"^check overfit\s+FAILED  one batch of 4 not memorised within (\d+) "
                       r"steps: loss (\S+) -> (\S+) \(target 0.05\)  \(\d+\.\d s\)$", out, re.M)
    assert failed, out
    assert err.strip().startswith("netviz: check overfit failed: one batch of 4 not memorised")
    assert len(err.strip().splitlines()) == 1 and "training:" not in out
    m = _metrics(tmp_path / "m.json")
    assert m["stopped"] == "check_failed" and m["checks_passed"] is False
    assert m["checks_skipped"] is False
    assert [(c["name"], c["passed"]) for c in m["checks"]] == \
        [("shapes", True), ("gradients", True), ("overfit", False)]
    over = m["checks"][-1]
    assert over["steps"] == over["step_budget"] == int(failed.group(1)) <= OVERFIT_MAX_STEPS


def test_skip_checks_trains_and_says_so(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stuck.py").write_text(STUCK_NET)
    code, out, err = _run_here(capsys, "train", "stuck.py:Stuck", "--skip-checks", "--steps", "2",
                               "--train-size", "32", "--val-size", "8", "--batch-size", "8",
                               "--metrics", "m.json", "--no-plot")
    assert code == 0, out + err
    assert re.search(r"^checks skipped \(--skip-checks\): the shapes, gradients and overfit "
                     r"checks were not run$", out, re.M), out
    assert not re.search(r"^check ", out, re.M)
    assert re.search(r"^done: .*; checks skipped$", out, re.M), out
    m = _metrics(tmp_path / "m.json")
    assert m["checks_skipped"] is True and m["checks"] == [] and m["checks_passed"] is None
    assert m["steps"] == 2 and m["stopped"] == "steps"


def test_checks_are_on_by_default_in_python():
    cfg = TrainConfig("lenet5")
    assert cfg.skip_checks is False


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_live_counter_on_a_terminal_is_cleared_before_the_result():
    term = _Terminal()
    live = CheckProgress("auto", stream=term)
    assert live.mode == "bar"
    model = _small_net()
    x, y = _batch()

    def report(r):
        live.clear()
        term.write(f"check {r.name} {'passed' if r.passed else 'FAILED'}\n")
    results = run_checks(model, {}, (x, y), F.cross_entropy, nullcontext, torch.device("cpu"),
                         report, progress=live.step, before=live.start)
    assert [r.passed for r in results] == [True, True, True]
    text = term.getvalue()
    assert "\rcheck overfit   running  step 1  loss " in text, text
    assert text.endswith("\r\x1b[Kcheck overfit passed\n"), text[-200:]
    assert "\rcheck gradients running\x1b[K" in text


def test_plain_lines_only_for_a_long_check():
    out = io.StringIO()
    live = CheckProgress("auto", stream=out)
    assert live.mode == "lines"
    live.start("overfit")
    live.step(1, None, 2.3, 0.5)
    live.step(2, None, 2.2, 9.9)
    assert out.getvalue() == ""  # a short check shows its result line only
    live.step(30, 100, 1.25, 10.2)
    live.step(31, 100, 1.2, 12.0)
    live.step(60, 100, 0.5, 20.1)
    assert out.getvalue().splitlines() == ["  check overfit: step 30 of at most 100, loss 1.2500, 10 s",
                                           "  check overfit: step 60 of at most 100, loss 0.5000, 20 s"]
    quiet = io.StringIO()
    off = CheckProgress("off", stream=quiet)
    off.start("overfit")
    off.step(1, None, 2.0, 100.0)
    off.clear()
    assert quiet.getvalue() == ""


def test_a_run_on_a_terminal_shows_the_overfit_check_live(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run_here(capsys, "train", "lenet5", "--steps", "2", "--train-size", "32",
                               "--val-size", "8", "--batch-size", "8", "--progress", "bar",
                               "--no-plot")
    assert code == 0, out + err
    assert "\rcheck overfit   running  step 1  loss " in out
    assert re.search(r"\r\x1b\[Kcheck overfit   passed  one batch of 4 memorised", out), out
