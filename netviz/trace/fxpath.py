"""Tracing with torch.fx: a symbolic trace gives the graph, an interpreter
runs it node by node on a real (or meta) tensor and feeds the recorder."""
from __future__ import annotations

from .ops import op_name
from .record import ForwardFailed, flat_tensors


class SymbolicTraceFailed(Exception):
    """torch.fx could not trace the model (data-dependent control flow, ...)."""


def symbolic(model, is_leaf):
    """The model's GraphModule, with ``is_leaf(module, path)`` deciding where
    the tracer stops descending."""
    import torch.fx

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, module_qualified_name):
            return is_leaf(m, module_qualified_name)

    tracer = Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # anything the model's code raises on proxies
        raise SymbolicTraceFailed(_first_line(exc)) from exc
    return torch.fx.GraphModule(tracer.root, graph, type(model).__name__)


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _scope(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    key, value = next(reversed(stack.items()))
    return value[0] if isinstance(value, tuple) else key


def run(gm, x, recorder, collapsed):
    """Run the graph on ``x``, recording every call; ``collapsed`` is the set
    of module paths shown as one layer (``--depth``). Returns node -> event key
    for the nodes that made a layer (the profiler marks those)."""
    import torch.fx

    from .ops import mac_counter

    made: dict[str, int] = {}
    result: list = []

    class Interp(torch.fx.Interpreter):
        def run_node(self, n):
            if n.op in ("placeholder", "get_attr", "output"):
                out = super().run_node(n)
                if n.op == "output":
                    result.append(out)
                if n.op == "placeholder" and not made:
                    recorder.input(out)
                    made[n.name] = 0
                return out
            with self._set_current_node(n):
                args, kwargs = self.fetch_args_kwargs_from_env(n)
                before = len(recorder.events)
                if n.op == "call_module":
                    mod = self.fetch_attr(n.target)
                    counter = mac_counter()  # used if the layer ends up custom
                    try:
                        with counter:
                            out = mod(*args, **kwargs)
                    except ForwardFailed:
                        raise
                    except Exception as exc:
                        raise ForwardFailed(f"{n.target} ({type(mod).__name__})",
                                            _shapes(args, kwargs), exc) from exc
                    recorder.module(mod, n.target, args, kwargs, out, counter.macs,
                                    n.target in collapsed)
                else:
                    try:
                        out = getattr(self, n.op)(n.target, args, kwargs)
                    except Exception as exc:
                        scope = _scope(n)
                        where = f"{op_name(n.target)} in {scope or 'the top-level forward'}"
                        raise ForwardFailed(where, _shapes(args, kwargs), exc) from exc
                    from .ops import macs_of
                    name = op_name(n.target)
                    recorder.function(n.target, _scope(n), args, kwargs, out,
                                      macs_of(name, args, kwargs, out))
                if len(recorder.events) > before:
                    made[n.name] = before
                return out

    Interp(gm).run(x)
    new = recorder.prune(result)
    return {name: new[key] for name, key in made.items() if key in new}


def _shapes(args, kwargs) -> list:
    return [tuple(t.shape) for t in flat_tensors((args, kwargs))]
