"""Checks run before training, each passed or failed.

1. ``shapes``: run the model once with a forward hook on every layer's module
   and compare each output shape with what the shape engine worked out.
2. ``gradients``: one forward and backward pass give a finite loss and a
   finite gradient in every parameter.
3. ``overfit``: the model drives the loss on one small batch to near zero
   within a bounded number of steps.

The checks leave the model as they found it: weights, buffers, train/eval
mode and the random number generators are restored afterwards.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

from ..ir import format_shape


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
    model.zero_grad(set_to_none=True)
    with autocast():
        loss = loss_fn(model(x), y)
    value = float(loss.detach().float())
    if not math.isfinite(value):
        return CheckResult("gradients", False, f"the loss of one forward pass is {value}",
                           time.perf_counter() - t0)
    loss.backward()
    missing, bad = [], []
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
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


def check_overfit(model, x, y, loss_fn, autocast, max_steps=150, target=0.05, lr=1e-3,
                  deadline=None) -> CheckResult:
    """Adam on one batch until its loss is below ``target`` (in train mode, so
    with dropout: memorising is what a working network can always do)."""
    import torch
    t0 = time.perf_counter()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    first = last = float("nan")
    step = 0
    for step in range(1, max_steps + 1):
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        last = float(loss.detach().float())
        if step == 1:
            first = last
        if not math.isfinite(last) or last < target:
            break
        if deadline is not None and time.monotonic() > deadline:
            break
    seconds = time.perf_counter() - t0
    data = {"steps": step, "first_loss": first, "last_loss": last, "batch": int(x.shape[0])}
    if math.isfinite(last) and last < target:
        return CheckResult("overfit", True, f"one batch of {x.shape[0]} memorised: loss "
                           f"{first:.3f} -> {last:.3f} in {step} steps", seconds, data)
    why = "stopped by --max-time" if deadline is not None and time.monotonic() > deadline else \
        f"within {max_steps} steps"
    return CheckResult("overfit", False, f"one batch of {x.shape[0]} not memorised {why}: loss "
                       f"{first:.3f} -> {last:.3f} (target {target})", seconds, data)


def run_checks(model, expected, batch, loss_fn, autocast, device, report,
               overfit_batch=8, overfit_steps=150, deadline=None) -> list:
    """Run the three checks in order, calling ``report(result)`` after each; stop
    at the first failure. The model, its mode and the RNG state are restored."""
    import torch
    x, y = batch
    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    devices = [device] if device.type == "cuda" else []
    results = []
    try:
        with torch.random.fork_rng(devices=devices):
            steps = (
                lambda: check_shapes(model, expected, x[:2], autocast),
                lambda: check_gradients(model, x, y, loss_fn, autocast),
                lambda: check_overfit(model, x[:overfit_batch], y[:overfit_batch], loss_fn,
                                      autocast, max_steps=overfit_steps, deadline=deadline),
            )
            for step in steps:
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
