"""Borrowing a user's model and giving it back untouched.

While it is traced the model is put in eval mode and, where it does not live
on the device asked for, its parameters and buffers are swapped for copies on
that device (for meta: empty tensors, nothing allocated). On the way out,
even when the forward raised, every module's mode and every original
parameter and buffer object are put back; requires_grad is never touched
(the forward runs under torch.no_grad()).
"""
from __future__ import annotations

from contextlib import contextmanager


def _moved(t, device):
    import torch
    if device.type == "meta":
        return torch.empty_like(t, device="meta")
    return t.detach().to(device)


def _same(have, want) -> bool:
    return have.type == want.type and (want.index is None or have.index == want.index)


@contextmanager
def borrowed(model, device):
    """Eval mode and parameters on ``device`` inside; everything restored after."""
    import torch
    modes = [(m, m.training) for m in model.modules()]
    swapped = []  # (module, kind, name, original)
    replacements: dict[int, object] = {}  # shared parameters stay shared
    try:
        for m in model.modules():
            for kind in ("_parameters", "_buffers"):
                table = getattr(m, kind)
                for name, t in list(table.items()):
                    if t is None or _same(t.device, device):
                        continue
                    new = replacements.get(id(t))
                    if new is None:
                        data = _moved(t, device)
                        new = torch.nn.Parameter(data, requires_grad=t.requires_grad) \
                            if isinstance(t, torch.nn.Parameter) else data
                        replacements[id(t)] = new
                    swapped.append((m, kind, name, t))
                    table[name] = new
        model.eval()
        yield model
    finally:
        for m, kind, name, original in reversed(swapped):
            getattr(m, kind)[name] = original
        for m, training in modes:
            m.training = training

