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
    return payload


def check_settings(saved: dict, current: dict, target: str):
    diffs = [f"{k} {saved.get(k)!r} -> {current.get(k)!r}" for k in MUST_MATCH
             if saved.get(k) != current.get(k)]
    if diffs:
        raise UsageError(f"--resume: {target} is from a different run ({'; '.join(diffs)}): "
                         "use the same settings, or another --checkpoint-dir")
