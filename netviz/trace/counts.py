"""Counting the matrix work of every traced call, as torch's FlopCounterMode
counts it (its flops are two per multiply-add).

Most calls have a formula (:func:`netviz.trace.ops.macs_of`: linear,
convolutions, matmul, bmm, addmm, baddbmm, attention). The calls whose cost
depends on how torch lowers them (``einsum``, whose contraction order and
early sums decide which matrix products run; a matmul with a vector, which
becomes an uncounted ``mv`` or a counted ``mm``) are measured instead: the
same call on empty meta tensors of the same shapes, under FlopCounterMode.

:func:`mac_counter` adds the counts up over every torch call made while it is
active, one call deep (a call's insides are not seen, so nothing is counted
twice): the fx path runs each call node under one, and the hooks path counts
the calls inside a leaf module the same way, so both give the same totals.
"""
from __future__ import annotations

from .ops import macs_of, op_name

# lowered by torch into matrix products that depend on more than the shapes' sizes
MEASURED = frozenset("einsum tensordot bilinear chain_matmul multi_dot linalg_multi_dot".split())


def _vector_product(name, args) -> bool:
    import torch
    return name in ("matmul", "inner") and any(
        isinstance(a, torch.Tensor) and a.dim() == 1 for a in args[:2])


def measured(func, args, kwargs) -> int:
    """Multiply-adds FlopCounterMode counts for ``func`` on meta copies of its tensors."""
    import torch
    from torch.utils._pytree import tree_map
    from torch.utils.flop_counter import FlopCounterMode

    def meta(x):
        if isinstance(x, torch.Tensor):
            return torch.empty(x.shape, dtype=x.dtype, device="meta")
        return x

    margs, mkwargs = tree_map(meta, (tuple(args), dict(kwargs)))
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            func(*margs, **mkwargs)
    except Exception:  # noqa: BLE001 - a call meta cannot run is counted by formula
        return -1
    return counter.get_total_flops() // 2


def count(func, args, kwargs, out) -> int:
    """Multiply-adds of one torch call (function, method or operator)."""
    name = op_name(func)
    if name in MEASURED or _vector_product(name, args):
        n = measured(func, args, kwargs)
        if n >= 0:
            return n
    return macs_of(name, args, kwargs, out)


_COUNTER = None


def mac_counter():
    """A torch-function mode that adds up :func:`count` over every torch call
    made while it is active (its ``macs``)."""
    global _COUNTER
    if _COUNTER is None:
        from torch.overrides import TorchFunctionMode

        class MacCounter(TorchFunctionMode):
            def __init__(self):
                super().__init__()
                self.macs = 0

            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                self.macs += count(func, args, kwargs, out)
                return out

        _COUNTER = MacCounter
    return _COUNTER()
