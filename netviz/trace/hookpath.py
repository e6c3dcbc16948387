"""The fallback tracer: run the model's own forward with hooks on its modules
and a torch-function mode (``__torch_function__``) for the functional calls
between them. It follows whatever the forward does, data-dependent control
flow included. Every hook is removed in ``finally``.
"""
from __future__ import annotations

from .counts import count
from .ops import op_name
from .record import ForwardFailed, flat_tensors

# calls that never make a layer and are not worth the bookkeeping
_SKIP = frozenset("dim size numel get shape device dtype is_floating_point is_contiguous "
                  "data_ptr element_size stride ndimension nelement is_complex "
                  "has_torch_function".split())


def _where(stack) -> str:
    return stack[-1] if stack and stack[-1] else "the top-level forward"


def run(model, x, recorder, is_leaf, collapsed):
    """Run ``model(x)`` and feed the recorder."""
    from torch.overrides import TorchFunctionMode

    stack: list[str] = []  # module paths in progress, outermost first
    leaf_depth = [0]  # > 0 while inside a leaf module
    counters: list[list[int]] = []  # mac counts of the leaves in progress
    in_progress: dict[str, tuple] = {}  # the arguments of the modules in progress

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = op_name(func)
            if leaf_depth[0] > 0 or name in _SKIP:
                out = func(*args, **kwargs)
                if counters and name not in _SKIP:
                    counters[-1][0] += count(func, args, kwargs, out)
                return out
            try:
                out = func(*args, **kwargs)
            except ForwardFailed:
                raise
            except Exception as exc:
                where = f"{name}() in {_where(stack)}"
                raise ForwardFailed(where, [tuple(t.shape) for t in flat_tensors((args, kwargs))],
                                    exc) from exc
            recorder.function(func, stack[-1] if stack else "", args, kwargs, out,
                              count(func, args, kwargs, out))
            return out

    handles = []
    seen: set[int] = set()

    def add_hooks(module, path):
        if id(module) in seen:  # a module reachable by two paths is hooked once
            return
        seen.add(id(module))
        leaf = bool(path) and is_leaf(module, path)

        def pre(mod, args, kwargs):
            stack.append(path)
            in_progress[path] = (args, kwargs)
            if leaf:
                leaf_depth[0] += 1
                counters.append([0])

        def post(mod, args, kwargs, out):
            stack.pop()
            in_progress.pop(path, None)
            if leaf:
                leaf_depth[0] -= 1
                macs = counters.pop()[0]
                if leaf_depth[0] == 0:
                    recorder.module(mod, path, args, kwargs, out, macs, path in collapsed)
            return None

        handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(module.register_forward_hook(post, with_kwargs=True))
        if leaf:
            return
        for name, child in module.named_children():
            add_hooks(child, f"{path}.{name}" if path else name)

    try:
        add_hooks(model, "")
        recorder.input(x)
        with Mode():
            try:
                result = model(x)
            except ForwardFailed:
                raise
            except Exception as exc:
                path = stack[-1] if stack else ""
                mod = model.get_submodule(path) if path else model
                shapes = [tuple(t.shape) for t in flat_tensors(in_progress.get(path, ()))]
                raise ForwardFailed(f"{_where(stack)} ({type(mod).__name__})",
                                    shapes or [tuple(x.shape)], exc) from exc
    finally:
        for h in handles:
            h.remove()
    recorder.prune(result)
