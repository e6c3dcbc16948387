"""Checks run before training, each passed or failed.

1. ``shapes``: run the model once with a forward hook on every layer's module
   and compare each output shape with what the shape engine worked out.
2. ``gradients``: one forward and backward pass give a finite loss and a
   finite gradient in every parameter.
3. ``overfit``: the model drives the loss on a handful of images to near zero
   within a bounded number of steps.

The overfit check's cost is bounded by the model's own pace: after a few
steps its step time is measured, and the step budget is what fits in
:data:`OVERFIT_SECONDS` (never under :data:`OVERFIT_MIN_STEPS`, never over
:data:`OVERFIT_MAX_STEPS`), with a wall-clock limit several times that as a
guard against a machine that slows down. A working network memorises the
batch in far fewer steps than the smallest budget.

The checks leave the model as they found it: weights, buffers, train/eval
mode and the random number generators are restored afterwards.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

from ..ir import format_shape
from .report import CheckProgress

OVERFIT_BATCH = 4  # images memorised by the overfit check
OVERFIT_LR = 3e-4  # Adam; at 1e-3 plain deep networks (VGG) often miss the target in 150 steps
OVERFIT_SEQUENCE_LR = 3e-3  # recurrent networks: small, saturating gates that want larger steps
OVERFIT_TARGET = 0.05  # the loss that counts as memorised
OVERFIT_MIN_STEPS = 100  # the step budget of the slowest models
OVERFIT_MAX_STEPS = 1000  # the step budget of quick models (small ones need a few hundred)
OVERFIT_SECONDS = 10.0  # the step budget is what fits in this, at the measured pace
OVERFIT_TIME_LIMIT = 3.0  # wall-clock limit: this many times the budget's expected time ...
OVERFIT_MIN_TIME_LIMIT = 30.0  # ... but never under this many seconds
_TIMED_STEPS = 5  # the pace: the quickest of steps 2.._TIMED_STEPS (step 1 warms up)


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str
    seconds: float = 0.0
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"name": self.name, "passed": self.passed, "detail": self.detail,
                "seconds": round(self.seconds, 3), **self.data}


def shape_table(rows) -> str:
    """rows of (layer, type, expected, got) as an aligned text table."""
    head = ("layer", "type", "shape engine", "built model")
    cols = list(zip(head, *rows)) if rows else [(h,) for h in head]
    widths = [max(len(str(v)) for v in col) for col in cols]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()
             for r in [head, *rows]]
    return "\n".join(lines)


def check_shapes(model, expected: dict, x, autocast) -> CheckResult:
    """``expected`` maps a submodule path to (display name, layer type, shape
    without the batch); a hook on each records what the module really gives."""
    import torch
    t0 = time.perf_counter()
    seen: dict = {}
    hooks = []
    try:
        for path, (name, _type, _shape) in expected.items():
            module = model.get_submodule(path)

            def hook(_mod, _inp, out, name=name):
                if isinstance(out, torch.Tensor) and name not in seen:
                    seen[name] = tuple(out.shape[1:])
            hooks.append(module.register_forward_hook(hook))
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), autocast():
                model(x)
        finally:
            model.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    rows = []
    for path, (name, ltype, shape) in expected.items():
        got = seen.get(name)
        if got != tuple(shape):
            rows.append((name, ltype, format_shape(shape), "not run" if got is None else format_shape(got)))
    seconds = time.perf_counter() - t0
    if rows:
        return CheckResult("shapes", False, f"{len(rows)} of {len(expected)} layers differ from "
                           "the shape engine:\n" + shape_table(rows), seconds,
                           {"mismatches": [list(r) for r in rows]})
    return CheckResult("shapes", True, f"{len(expected)} layers match the shape engine", seconds)


def check_gradients(model, x, y, loss_fn, autocast) -> CheckResult:
    import torch
    t0 = time.perf_counter()
    model.train()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not params:
        return CheckResult("gradients", False, "the model has no trainable parameters "
                           "(all are frozen or there are none)", time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    with autocast():
        loss = loss_fn(model(x), y)
    value = float(loss.detach().float())
    if not math.isfinite(value):
        return CheckResult("gradients", False, f"the loss of one forward pass is {value}",
                           time.perf_counter() - t0)
    loss.backward()
    missing, bad = [], []
    for n, p in params:
        if p.grad is None:
            missing.append(n)
        elif not bool(torch.isfinite(p.grad).all()):
            bad.append(n)
    model.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - t0
    if missing or bad:
        parts = []
        if missing:
            parts.append(f"no gradient in {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
        if bad:
            parts.append(f"non-finite gradient in {', '.join(bad[:8])}" + (" ..." if len(bad) > 8 else ""))
        return CheckResult("gradients", False, "; ".join(parts), seconds,
                           {"loss": value, "missing": missing, "non_finite": bad})
    return CheckResult("gradients", True, f"loss {value:.3f} finite, gradients in all "
                       f"{len(params)} parameter tensors", seconds, {"loss": value})


def _adam(params, lr):
    """Adam, fused where this PyTorch can (4-5x faster steps on a CPU for
    tens of millions of parameters, where the update dominates a small batch)."""
    import torch
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


def step_budget(step_seconds: float, seconds: float = OVERFIT_SECONDS,
                min_steps: int = OVERFIT_MIN_STEPS, max_steps: int = OVERFIT_MAX_STEPS) -> int:
    """The overfit check's steps: as many as fit in ``seconds`` at ``step_seconds``
    a step, within [min_steps, max_steps]."""
    if step_seconds <= 0:
        return max_steps
    return max(min_steps, min(max_steps, int(seconds / step_seconds)))


def check_overfit(model, x, y, loss_fn, autocast, max_steps=OVERFIT_MAX_STEPS,
                  min_steps=OVERFIT_MIN_STEPS, seconds=OVERFIT_SECONDS, target=OVERFIT_TARGET,
                  lr=OVERFIT_LR, progress=None) -> CheckResult:
    """Adam on one small batch until its loss is below ``target`` (in train mode,
    so with dropout: memorising is what a working network can always do).

    The step budget is fixed after the first steps by :func:`step_budget` from
    their pace, and a wall-clock limit (:data:`OVERFIT_TIME_LIMIT` times the
    budget's expected time, at least :data:`OVERFIT_MIN_TIME_LIMIT` s) guards
    against a machine that slows down. ``progress(step, budget, loss, elapsed)``
    is called after every step (``budget`` is None until it is fixed)."""
    t0 = time.perf_counter()
    n = int(x.shape[0])
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return CheckResult("overfit", False, f"one batch of {n} cannot be memorised: the model "
                           "has no trainable parameters", 0.0, {"steps": 0, "batch": n})
    model.train()
    opt = _adam(params, lr)
    first = last = float("nan")
    budget, limit, timed = None, None, []
    step, t_step, timed_out = 0, t0, False
    min_steps = min(min_steps, max_steps)
    while budget is None or step < budget:
        step += 1
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        last = float(loss.detach().float())
        now = time.perf_counter()
        if step == 1:
            first = last
        elif budget is None:
            timed.append(now - t_step)
        t_step = now
        if budget is None and (step >= _TIMED_STEPS or step >= max_steps):
            pace = min(timed) if timed else now - t0
            budget = max(step, step_budget(pace, seconds, min_steps, max_steps))
            limit = max(OVERFIT_MIN_TIME_LIMIT, OVERFIT_TIME_LIMIT * (now - t0 + pace * (budget - step)))
        if progress is not None:
            progress(step, budget, last, now - t0)
        if not math.isfinite(last) or last < target:
            break
        if limit is not None and now - t0 > limit:
            timed_out = True
            break
    elapsed = time.perf_counter() - t0
    data = {"steps": step, "step_budget": budget or step, "first_loss": first, "last_loss": last,
            "batch": n, "lr": lr}
    if math.isfinite(last) and last < target:
        return CheckResult("overfit", True, f"one batch of {n} memorised: loss "
                           f"{first:.3f} -> {last:.3f} in {step} steps", elapsed, data)
    if not math.isfinite(last):
        why = f"the loss became {last} at step {step}"
    elif timed_out:
        why = f"stopped at its time limit ({limit:.0f} s) after {step} of {budget} steps"
    else:
        why = f"within {step} steps"
    return CheckResult("overfit", False, f"one batch of {n} not memorised {why}: loss "
                       f"{first:.3f} -> {last:.3f} (target {target})", elapsed,
                       {**data, "timed_out": timed_out})


def run_checks(model, expected, batch, loss_fn, autocast, device, report,
               overfit_batch=OVERFIT_BATCH, overfit_steps=OVERFIT_MAX_STEPS, progress=None,
               before=None, overfit_lr=OVERFIT_LR) -> list:
    """Run the three checks in order, calling ``before(name)`` before each and
    ``report(result)`` after; stop at the first failure. ``progress`` is the
    overfit check's (see :func:`check_overfit`). The model, its mode and the
    RNG state are restored."""
    import torch
    x, y = batch
    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    devices = [device] if device.type == "cuda" else []
    results = []
    try:
        with torch.random.fork_rng(devices=devices):
            steps = (
                ("shapes", lambda: check_shapes(model, expected, x[:2], autocast)),
                ("gradients", lambda: check_gradients(model, x, y, loss_fn, autocast)),
                ("overfit", lambda: check_overfit(model, x[:overfit_batch], y[:overfit_batch],
                                                  loss_fn, autocast, max_steps=overfit_steps,
                                                  lr=overfit_lr, progress=progress)),
            )
            for name, step in steps:
                if before is not None:
                    before(name)
                result = step()
                results.append(result)
                report(result)
                if not result.passed:
                    break
    finally:
        model.load_state_dict(state)
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return results


def run_and_report(model, expected, batch, loss_fn, autocast, device, echo, progress="auto",
                   **options) -> list:
    """:func:`run_checks` as a run shows it: ``echo`` prints one line per check
    (passed or FAILED, what was found, how long it took; a failed shape check's
    table below it), and ``progress`` (auto, bar, lines, off) says how a check
    shows while it runs (:class:`~netviz.train.report.CheckProgress`)."""
    live = CheckProgress(progress)

    def report(r):
        live.clear()
        echo(f"check {r.name:<9} {'passed' if r.passed else 'FAILED'}  "
             f"{r.detail.splitlines()[0]}  ({r.seconds:.1f} s)")
        for line in r.detail.splitlines()[1:]:
            echo(f"    {line}")
    try:
        return run_checks(model, expected, batch, loss_fn, autocast, device, report,
                          progress=live.step, before=live.start, **options)
    finally:
        live.clear()
