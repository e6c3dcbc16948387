"""Checkpoints: everything a run needs to continue exactly where it stopped.

One file, ``last.pt`` in the checkpoint folder, written atomically: the
model's and the optimiser's state, the step (which fixes the data order:
it is a function of the seed, the epoch and the position in it), every
rank's random number generator state (dropout), the history of the run and
the settings that must match on resume. It holds only tensors and plain
values, so it loads with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os

from ..errors import UsageError
from ..fileio import atomic_open

FILENAME = "last.pt"
VERSION = 1
# settings that must be the same for a resumed run to be the same run
MUST_MATCH = ("model", "input", "classes", "batch_size", "world_size", "seed", "data",
              "train_size", "val_size", "optimizer")


def path_in(folder) -> str:
    return os.path.join(folder, FILENAME)


def rng_state(device):
    import torch
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state, device):
    import torch
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save(folder, *, model, optimizer, step, total, rng, history, settings, elapsed):
    """Write ``folder/last.pt`` through a temporary file and os.replace."""
    import torch
    os.makedirs(folder, exist_ok=True)
    payload = {
        "version": VERSION, "step": int(step), "total": int(total),
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "rng": rng, "history": history, "settings": settings, "elapsed": float(elapsed),
    }
    target = path_in(folder)
    with atomic_open(target, "wb") as fh:
        torch.save(payload, fh)
    return target


def load(folder, device):
    import torch
    target = path_in(folder)
    if not os.path.exists(target):
        raise UsageError(f"--resume: no checkpoint in {folder} ({FILENAME} is missing)")
    try:
        payload = torch.load(target, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"--resume: cannot read {target} ({first[:200]}): "
                         "it is damaged or not a netviz checkpoint") from None
    if not isinstance(payload, dict) or payload.get("version") != VERSION:
        raise UsageError(f"--resume: {target} is not a netviz checkpoint (version {VERSION})")
    return check_payload(payload, target)


def check_settings(saved: dict, current: dict, target: str):
    diffs = [f"{k} {saved.get(k)!r} -> {current.get(k)!r}" for k in MUST_MATCH
             if saved.get(k) != current.get(k)]
    if diffs:
        raise UsageError(f"--resume: {target} is from a different run ({'; '.join(diffs)}): "
                         "use the same settings, or another --checkpoint-dir")


# --- a run's checkpoints ----------------------------------------------------------

def save_run(run, step, clock, gather):
    """Save RUN (a training loop) at STEP: every rank's random state (gathered
    when GATHER, as at the end or every --checkpoint-every steps; an interrupt
    saves the main rank's alone), written by the main rank."""
    from . import distributed as dd
    from .report import write_failed
    state = rng_state(run.device)
    states = [state]
    if gather and run.dist.enabled:
        import torch.distributed as td
        states = [None] * run.dist.world
        td.all_gather_object(states, state)
    path = None
    if run.dist.main:
        try:
            path = save(run.cfg.checkpoint_dir, model=run.module, optimizer=run.opt,
                        step=step, total=run.total, rng={"ranks": states},
                        history=run.history, settings=run.settings(), elapsed=clock)
        except OSError as exc:
            raise write_failed("--checkpoint-dir", run.cfg.checkpoint_dir, exc) from None
    dd.barrier(run.dist) if gather else None
    return path or path_in(run.cfg.checkpoint_dir)


def restore_run(run, opt):
    """Load RUN's checkpoint into its module and OPT; (step, elapsed seconds)."""
    import torch
    payload = load(run.cfg.checkpoint_dir, run.device)
    target = path_in(run.cfg.checkpoint_dir)
    check_settings(payload["settings"], run.settings(), target)
    try:
        run.module.load_state_dict(payload["model"])
        opt.load_state_dict(payload["optimizer"])
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"--resume: {target} does not fit this model ({first[:200]})") from None
    run.history = payload["history"]
    ranks = payload["rng"]["ranks"]
    if len(ranks) == run.dist.world:
        try:
            set_rng_state(ranks[run.dist.rank], run.device)
        except (RuntimeError, TypeError, KeyError) as exc:
            raise UsageError(f"--resume: {target} holds a damaged random state ({str(exc)[:200]})") from None
    else:
        torch.manual_seed(run.cfg.seed * 7919 + 1 + run.dist.rank + payload["step"])
        run.echo("  note: the checkpoint lacks this rank's random state (saved on an "
                 "interrupt); dropout is re-seeded")
    run.echo(f"resumed from {target} at step {payload['step']}")
    return payload["step"], payload["elapsed"]


def check_payload(payload, target: str) -> dict:
    """PAYLOAD if it has every key a resumed run reads, of the right type;
    otherwise one line saying which is missing or wrong."""
    import math

    import torch

    def need(ok, what):
        if not ok:
            raise UsageError(f"--resume: {target} is damaged ({what}): it is not a checkpoint "
                             "this version of netviz wrote")
    expected = {"step": int, "total": int, "elapsed": (int, float), "model": dict, "optimizer": dict,
                "rng": dict, "history": dict, "settings": dict}
    for key, kind in expected.items():
        need(key in payload, f"'{key}' is missing")
        need(isinstance(payload[key], kind) and not isinstance(payload[key], bool),
             f"'{key}' is a {type(payload[key]).__name__}")
    need(payload["step"] >= 0 and math.isfinite(payload["elapsed"]) and payload["elapsed"] >= 0,
         "a negative step or time")
    history = payload["history"]
    for key in ("loss", "train_acc", "val"):
        need(isinstance(history.get(key), list), f"history '{key}' is missing")
    ranks = payload["rng"].get("ranks")
    need(isinstance(ranks, list) and ranks and all(
        isinstance(r, dict) and isinstance(r.get("cpu"), torch.Tensor) for r in ranks),
        "the random state is missing")
    return payload
