"""The torch device a command runs on: one rule and one message for the
tracer and the trainer. torch is imported only when a device is resolved."""
from __future__ import annotations

import re

from .errors import UsageError


def resolve_device(device=None, local_rank: int | None = None, meta: bool = True):
    """The ``torch.device`` for ``--device``: ``auto`` is CUDA when a GPU is
    visible, else the CPU (for training; a trace tries meta first, see
    :func:`trace_devices`); ``cuda`` or ``cuda:N`` without CUDA is an error.
    ``local_rank`` (a torchrun process) picks its GPU for ``auto`` and
    ``cuda`` and makes it current; ``meta`` says whether meta is allowed."""
    import torch
    name = "auto" if device is None else str(device)
    kinds = ("auto", "cuda", "cpu", "meta") if meta else ("auto", "cuda", "cpu")
    if name not in kinds and not re.fullmatch(r"cuda:\d+", name):
        raise UsageError(f"unknown device {name!r}: use {', '.join(kinds[:-1])} or {kinds[-1]}")
    cuda = torch.cuda.is_available()
    if name.startswith("cuda") and not cuda:
        why = ("this torch was built without CUDA" if torch.version.cuda is None
               else "no CUDA GPU is visible")
        raise UsageError(f"--device {name}: CUDA is not available ({why}); use --device cpu")
    if name == "auto":
        name = "cuda" if cuda else "cpu"
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: there are only {torch.cuda.device_count()} CUDA "
                         f"devices (cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    if name == "cuda" and local_rank is not None:
        index = local_rank % max(1, torch.cuda.device_count())
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device(name)


def trace_devices(device=None, real: bool = False) -> list:
    """The devices to try, in order, for tracing a model: ``auto`` is CUDA
    where a GPU is visible, else meta (shapes without computing anything, no
    weight initialised) and the CPU where meta fails; ``real`` (a profile, which
    times the forward) leaves meta out. Any other name is that device alone."""
    import torch
    name = "auto" if device is None else str(device)
    if name != "auto" or torch.cuda.is_available():
        return [resolve_device(name)]
    cpu = torch.device("cpu")
    return [cpu] if real else [torch.device("meta"), cpu]
