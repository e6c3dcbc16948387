"""Tracing with torch.fx: a symbolic trace gives the graph, an interpreter
runs it node by node on a real (or meta) tensor and feeds the recorder."""
from __future__ import annotations

from .ops import op_name
from .record import ForwardFailed, flat_tensors
from .target import first_line


class SymbolicTraceFailed(Exception):
    """torch.fx could not trace the model (data-dependent control flow, ...)."""


def symbolic(model, is_leaf):
    """The model's graph, with ``is_leaf(module, path)`` deciding where the
    tracer stops descending."""
    import torch.fx

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, module_qualified_name):
            return is_leaf(m, module_qualified_name)

    tracer = Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # anything the model's code raises on proxies
        raise SymbolicTraceFailed(first_line(exc)) from exc
    return graph


def graph_module(model, graph):
    """A GraphModule to run the graph as generated code (the profiler's)."""
    import torch.fx
    return torch.fx.GraphModule(model, graph, type(model).__name__)


def _scope(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    key, value = next(reversed(stack.items()))
    return value[0] if isinstance(value, tuple) else key


def run(model, graph, x, recorder, collapsed):
    """Run the graph on ``x``, recording every call; ``collapsed`` is the set
    of module paths shown as one layer (``--depth``). Returns node -> event key
    for the nodes that made a layer (the profiler marks those)."""
    import torch.fx

    from .counts import mac_counter
    from .fastmeta import module_output, same_shape_modules
    from .ops import module_layer, module_macs

    made: dict[str, int] = {}
    result: list = []
    meta = x.device.type == "meta"
    same = same_shape_modules()
    modules = dict(model.named_modules())  # a path walk per node is slow deep down

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
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            before = len(recorder.events)
            if n.op == "call_module":
                mod = modules.get(n.target) or self.fetch_attr(n.target)
                layer = None if n.target in collapsed else module_layer(mod)
                exact = layer is not None
                counter = None if exact else mac_counter()
                try:
                    out = module_output(mod, args, kwargs, same) if meta else None
                    if out is not None:
                        pass  # a same-shape module on meta: nothing to run
                    elif counter is None:
                        out = mod(*args, **kwargs)
                    else:
                        with counter:
                            out = mod(*args, **kwargs)
                except ForwardFailed:
                    raise
                except Exception as exc:
                    raise ForwardFailed(f"{n.target} ({type(mod).__name__})",
                                        _shapes(args, kwargs), exc) from exc
                macs = module_macs(mod, args, out) if exact else counter.macs
                recorder.module(mod, n.target, args, kwargs, out, macs, n.target in collapsed,
                                layer)
            else:
                counter = mac_counter()  # a Python function's insides are counted too
                try:
                    with counter:
                        out = getattr(self, n.op)(n.target, args, kwargs)
                except Exception as exc:
                    scope = _scope(n)
                    where = f"{op_name(n.target)}() in {scope or 'the top-level forward'}"
                    raise ForwardFailed(where, _shapes(args, kwargs), exc) from exc
                name = op_name(n.target)
                recorder.function(n.target, _scope(n), args, kwargs, out, counter.macs)
            if len(recorder.events) > before:
                made[n.name] = before
            return out

    try:
        Interp(model, graph=graph).run(x)
    except ForwardFailed:
        raise
    except Exception as exc:  # the placeholders: a forward that wants other arguments
        raise ForwardFailed(f"the top-level forward ({type(model).__name__})",
                            [tuple(x.shape)], exc) from exc
    new = recorder.prune(result)
    return {name: new[key] for name, key in made.items() if key in new}


def _shapes(args, kwargs) -> list:
    return [tuple(t.shape) for t in flat_tensors((args, kwargs))]
