"""Trace a real PyTorch model into the IR: a ShapedNetwork whose shapes are
the ones measured on a forward pass (on cuda, cpu or meta).

torch.fx is tried first; where it cannot trace the model (data-dependent
control flow, ...) the model's own forward runs with hooks on its modules and
a torch-function mode for the calls between them. The ShapedNetwork's notes
say which was used. The model is given back untouched.

torch is imported inside the functions, never when this package is imported.
"""
from __future__ import annotations

__all__ = ["trace_target", "trace_module"]


def _leaf_rule(depth, collapsed: set):
    from torch import nn
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

    def is_leaf(module, path: str) -> bool:
        if not path:
            return False
        has_children = next(iter(module.children()), None) is not None
        if not has_children:
            return True
        if depth is not None and path.count(".") + 1 >= depth:
            collapsed.add(path)
            return True
        mod = type(module).__module__
        return (mod.startswith("torch.nn") or mod.startswith("torch.ao.nn")
                or mod == "netviz.torch_modules") and not isinstance(module, containers)
    return is_leaf


def _check_options(depth, profile, device):
    from ..errors import UsageError
    if depth is not None and depth < 1:
        raise UsageError(f"--depth {depth}: the depth must be 1 or more (1 shows only the "
                         "model's direct children)")
    if profile and str(device) == "meta":
        raise UsageError("--profile times the forward, which meta does not run: use "
                         "--device cuda (or cpu)")


def _fast(dev):
    """Quicker meta shapes (see fastmeta); nothing changes on other devices."""
    if dev.type == "meta":
        from .fastmeta import fast_meta_mode
        return fast_meta_mode()
    import contextlib
    return contextlib.nullcontext()


def _meta_failed():
    from ..errors import UsageError

    class MetaForwardFailed(UsageError):
        """The forward failed on meta (most often for want of tensor values):
        the CPU may run it."""
    global _META_FAILED
    if _META_FAILED is None:
        _META_FAILED = MetaForwardFailed
    return _META_FAILED


_META_FAILED = None


def _why(exc) -> str:
    """The cause in a forward failure's message, without the target and the hint."""
    text = str(exc)
    return text.split(": ", 1)[-1].rsplit("; ", 1)[0]
META_NOTE = "--device auto: traced on the cpu, as meta failed: {}"


def _failure(exc, target: str, input_shape, device) -> Exception:
    from ..errors import UsageError
    from ..ir import format_shape
    from .target import first_line
    shapes = ", ".join(format_shape(s[1:]) or "a scalar" for s in exc.shapes)
    hint = f"give --input with the size the model expects (it was given {format_shape(input_shape)})"
    cause = first_line(exc.cause)
    if device.type == "meta" and "meta" in cause.lower():
        hint = "the forward reads tensor values, which meta tensors do not have: use --device cpu"
    elif isinstance(exc.cause, TypeError) and "argument" in cause and "top-level" in exc.where:
        hint = "netviz traces models whose forward takes one input tensor"
    on = f" on an input of {shapes}" if shapes else ""
    if device.type == "meta":  # --device auto tries the CPU next
        return _meta_failed()(f"{target}: the forward failed at {exc.where}{on}: {cause}; {hint}")
    return UsageError(f"{target}: the forward failed at {exc.where}{on}: {cause}; {hint}")


def _example(torch, shape, batch: int, dev, vocab: int):
    """The traced input: random (seeded) values, or token ids below ``vocab``."""
    if dev.type == "meta":
        return torch.empty((batch, *shape), device=dev, dtype=torch.long if vocab else torch.float32)
    gen = torch.Generator().manual_seed(0)
    return (torch.randint(0, vocab, (batch, *shape), generator=gen) if vocab else
            torch.randn((batch, *shape), generator=gen)).to(dev)


def _again(module, x, dev, graph, depth, collapsed_fx):
    """The events of a second forward (at another batch, to see which axes
    grow with it) by the same path, or None where it fails."""
    from . import fxpath, hookpath
    from .record import Recorder
    recorder = Recorder(module)
    collapsed: set = set()
    try:
        with _fast(dev):
            if graph is not None:
                fxpath.run(module, graph, x, recorder, collapsed_fx)
            else:
                hookpath.run(module, x, recorder, _leaf_rule(depth, collapsed), collapsed)
    except Exception:  # noqa: BLE001 - the first run's shapes stand
        return None
    return recorder.events


def _batch_notes(events, names, info) -> dict:
    """The layers' figures with where their batch went, where it is not the first axis."""
    import dataclasses
    info = dict(info)
    for ev in events:
        name = names.get(ev.key)
        if ev.batch and name in info and ev.kind != "input":
            info[name] = dataclasses.replace(info[name], batch=ev.batch)
    return info


def _token_ids(module, shape) -> int:
    """A model with an nn.Embedding traced on a sequence (a one-dimensional input,
    T) reads token ids: the size of its smallest vocabulary, the ids it is fed
    being below it; 0 (random floats) otherwise."""
    from torch import nn
    if len(shape) != 1:
        return 0
    sizes = [m.num_embeddings for m in module.modules() if isinstance(m, nn.Embedding)]
    return min(sizes, default=0)


def trace_module(module, input_shape, device="auto", depth=None, profile=False, *,
                 name=None, title=None, description=None, source=None, target=None,
                 method="auto", batch=1):
    """Trace an ``nn.Module`` instance on an input of ``input_shape`` (no batch).

    ``device`` ``auto`` is CUDA where a GPU is visible, else meta, else (the
    forward reads tensor values) the CPU, said in the notes.
    ``method`` is ``auto`` (torch.fx, falling back to hooks where fx fails),
    ``fx`` (fx only: its failure is an error) or ``hooks`` (hooks only).
    ``batch`` is the batch of the traced forward: shapes, parameters and
    multiply-adds are per sample and do not depend on it; profiles do (at
    batch 1 a fast GPU mostly waits for kernel launches)."""
    from ..errors import UsageError
    from .target import import_torch, parse_input
    torch = import_torch()
    from ..devices import trace_devices

    label = target or name or type(module).__name__
    if not isinstance(module, torch.nn.Module):
        raise UsageError(f"{label} is a {type(module).__name__}, not a torch.nn.Module")
    _check_options(depth, profile, device)
    shape = parse_input(input_shape)
    if int(batch) < 1:
        raise UsageError(f"--batch {batch}: the batch must be 1 or more")
    devices = trace_devices(device, real=profile)
    kw = dict(name=name, title=title, description=description, source=source, method=method,
              batch=batch, label=label)
    for i, dev in enumerate(devices):
        try:
            return _trace_on(module, shape, dev, depth, profile, **kw)
        except _meta_failed() as exc:
            if i == len(devices) - 1:
                raise
            kw["extra_note"] = META_NOTE.format(_why(exc))
    raise AssertionError("unreachable")


def _trace_on(module, shape, dev, depth, profile, *, name, title, description, source, method,
              batch, label, extra_note=None):
    from ..errors import UsageError
    from .target import import_torch
    torch = import_torch()
    from . import fxpath, hookpath
    from .build import build
    from .record import ForwardFailed, Recorder
    from .state import borrowed
    vocab = _token_ids(module, shape)
    x = _example(torch, shape, int(batch), dev, vocab)

    notes, metrics = [], {}
    with borrowed(module, dev), torch.no_grad():
        fx_error = None
        if method == "hooks":
            fx_error = "hooks asked for"
        else:
            try:
                collapsed: set = set()
                graph = fxpath.symbolic(module, _leaf_rule(depth, collapsed))
                recorder = Recorder(module)
                with _fast(dev):
                    made = fxpath.run(module, graph, x, recorder, collapsed)
                how = f"traced with torch.fx on {dev.type}"
            except fxpath.SymbolicTraceFailed as exc:
                if method == "fx":
                    raise UsageError(f"{label}: torch.fx cannot trace the model: {exc}") from None
                fx_error = f"torch.fx failed: {exc}"
            except ForwardFailed as exc:
                if method == "fx":
                    raise _failure(exc, label, shape, dev) from None
                fx_error = f"the torch.fx graph failed to run: {exc}"
        if fx_error is not None:
            collapsed = set()
            recorder = Recorder(module)
            try:
                with _fast(dev):
                    hookpath.run(module, x, recorder, _leaf_rule(depth, collapsed), collapsed)
            except ForwardFailed as exc:
                raise _failure(exc, label, shape, dev) from None
            how = f"traced by running forward with hooks on {dev.type}" + \
                (f" ({fx_error})" if method != "hooks" else "")
        notes.append(how)
        if extra_note:
            notes.append(extra_note)
        if any(ev.batch for ev in recorder.events):
            from .batch import follow
            x2 = _example(torch, shape, int(batch) + 1, dev, vocab)
            follow(recorder.events, _again(module, x2, dev, graph if fx_error is None else None,
                                           depth, collapsed), int(batch))
        network, info, warnings, names = build(recorder.events, name or type(module).__name__,
                                               title, description, source)
        if all(layer.type == "input" for layer in network.layers):
            raise UsageError(f"{label}: the forward traced no layer: it must return a tensor "
                             "computed from its input (it returned none, or returned the input)")
        info = _batch_notes(recorder.events, names, info)
        if profile:
            from . import profile as prof
            if fx_error is None:
                gm = fxpath.graph_module(module, graph)
                metrics, note = prof.profile_fx(gm, x, made, names, dev)
            else:
                keymap = {(ev.scope, ev.call): ev.key for ev in recorder.events
                          if ev.kind == "module"}
                metrics, note = prof.profile_hooks(module, x, keymap, names, dev)
            notes.append(note)
    unused, owners = recorder.unused()
    from ..ir import ShapedNetwork, Warning_
    if unused:
        where = ", ".join(owners[:6]) + (", ..." if len(owners) > 6 else "")
        warnings.append(Warning_(where, f"{unused:,} parameters are never used by the forward pass "
                                 "and are not counted"))
    return ShapedNetwork(network, info, tuple(warnings), metrics=metrics, notes=tuple(notes))


def trace_target(target, input=None, device="auto", depth=None, profile=False, batch=1):
    """Trace what a MODEL string names (``torchvision:alexnet``, ``pkg.mod:Net``,
    ``path/to/file.py:make``) or a module, module class or factory given directly.
    ``input`` is CxHxW (a string or a tuple); torchvision models default to
    3x224x224 (inception_v3: 3x299x299), other models to the size they declare."""
    from ..errors import UsageError
    from ..devices import trace_devices
    from .target import (BuildFailed, Resolved, declared_input, import_torch, instantiate,
                         parse_input, precheck, resolve)
    _check_options(depth, profile, device)
    if input is not None:
        input = parse_input(input)
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        import_torch()  # says how to install it
    from .guard import user_code
    text = target if isinstance(target, str) else getattr(target, "__name__", type(target).__name__)
    with user_code(text):
        if isinstance(target, str):
            res = resolve(target)  # before torch: a bad name is reported at once
        else:
            res = Resolved(text, text, target)
        precheck(res)
        import_torch()
        devices = trace_devices(device, real=profile)
    title = res.text if isinstance(target, str) else None
    why = None  # why meta was left for the CPU
    for i, dev in enumerate(devices):
        last = i == len(devices) - 1
        try:
            with user_code(res.text):
                model, _ = instantiate(res, dev)
        except BuildFailed as exc:
            if last:
                if why is None:
                    raise
                raise UsageError(f"{res.text}: the model builds neither on meta ({why}) nor on "
                                 f"the {dev.type} ({exc.why})") from None
            why = exc.why
            continue
        if input is None:
            input = res.default_input or declared_input(model)
            if input is None:
                raise UsageError(f"{res.text}: give the input size with --input CxHxW (e.g. "
                                 "--input 3x32x32): only torchvision models have a default, and "
                                 "this model declares none (an input_shape attribute on it would "
                                 "be used)")
        try:
            with user_code(res.text):
                shaped = trace_module(model, input, dev.type if dev.index is None else str(dev),
                                      depth, profile, name=res.name, title=title,
                                      description=f"traced from {res.text}", source=res.source,
                                      target=res.text, batch=batch)
        except _meta_failed() as exc:
            if last:
                raise
            why = _why(exc)
            continue
        if why is not None:
            import dataclasses
            note = META_NOTE.format(why)
            shaped = dataclasses.replace(shaped, notes=shaped.notes + (note,))
        return shaped
    raise AssertionError("unreachable")
