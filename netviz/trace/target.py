"""Resolving a target (``torchvision:alexnet``, ``pkg.mod:Net``,
``path/to/file.py:make_net``) into a torch module and its default input.

Loading a Python reference runs that code, exactly as importing it would.
Weights are never loaded: torchvision builders (``torchvision:NAME`` or
``torchvision.models.segmentation:fcn_resnet50`` alike) are called with
``weights=None`` and ``weights_backbone=None``.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
import warnings
from dataclasses import dataclass

from ..errors import UsageError

TORCHVISION_INPUT = (3, 224, 224)
TORCHVISION_SPECIAL = {"inception_v3": (3, 299, 299), "quantized_inception_v3": (3, 299, 299),
                       "r3d_18": (3, 16, 112, 112), "mc3_18": (3, 16, 112, 112),
                       "r2plus1d_18": (3, 16, 112, 112)}
# the usual input of each family of torchvision.models (its weights' transforms)
TORCHVISION_FAMILY_INPUT = {"segmentation": (3, 520, 520), "detection": (3, 800, 800),
                            "video": (3, 16, 224, 224), "optical_flow": (3, 520, 960)}
INPUT_ATTRS = ("input_shape", "input_size", "example_input_array")


def import_torch():
    try:
        import torch
    except ImportError as exc:  # not installed, or broken
        raise UsageError(f"tracing a PyTorch model needs torch, which is not installed ({exc}): "
                         "pip install 'netviz[torch]'") from None
    return torch


@dataclass
class Resolved:
    text: str  # the target as given
    name: str  # the network's name
    obj: object  # a module instance, a module class or a factory
    default_input: tuple | None = None
    source: str | None = None  # the file it came from
    torchvision: bool = False  # a torchvision builder: takes keyword options (num_classes, ...)
    options: frozenset = frozenset()  # the keyword options a torchvision model's classes take


def _a(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def first_line(exc) -> str:
    """An exception as one short line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _torchvision(text: str, name: str) -> Resolved:
    try:
        import torchvision.models
    except ImportError as exc:
        raise UsageError(f"{text}: torchvision is not installed ({exc}): "
                         "pip install 'netviz[torch]'") from None
    names = torchvision.models.list_models()
    if name not in names:
        near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UsageError(f"{text}: torchvision has no model {name!r}{hint}; "
                         "see torchvision.models.list_models()")
    return _torchvision_builder(text, name, torchvision.models.get_model_builder(name))


def _torchvision_input(name: str, factory) -> tuple:
    if name in TORCHVISION_SPECIAL:
        return TORCHVISION_SPECIAL[name]
    family = factory.__module__.split(".")[2:3]  # torchvision.models.FAMILY.file
    return TORCHVISION_FAMILY_INPUT.get(family[0] if family else "", TORCHVISION_INPUT)


def _torchvision_builder(text: str, name: str, factory) -> Resolved:
    """A torchvision builder called without any weights (its own and its
    backbone's), with the usual input of its family."""
    no_weights = {k: None for k in ("weights", "weights_backbone") if k in _parameters(factory)}

    def build(**options):
        return factory(**no_weights, **options)

    build.__name__ = name
    return Resolved(text, name, build, _torchvision_input(name, factory),
                    torchvision=True, options=_class_options(factory))


def _parameters(fn) -> tuple:
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()


def _is_torchvision_builder(obj, name: str) -> bool:
    if not callable(obj) or not getattr(obj, "__module__", "").startswith("torchvision.models"):
        return False
    import torchvision.models
    try:
        return torchvision.models.get_model_builder(name) is obj
    except ValueError:
        return False


def _class_options(factory) -> frozenset:
    """The keyword arguments of the module classes defined beside a torchvision
    builder (the builder itself only says ``**kwargs``)."""
    import torch
    module = sys.modules.get(factory.__module__)
    names: set = set()
    for cls in vars(module).values() if module else ():
        if isinstance(cls, type) and cls.__module__ == module.__name__ and \
                issubclass(cls, torch.nn.Module):
            try:
                names.update(inspect.signature(cls.__init__).parameters)
            except (TypeError, ValueError):
                continue
    return frozenset(names - {"self"})


def _torch_broken(exc) -> bool:
    return isinstance(exc, ImportError) and (getattr(exc, "name", None) == "torch"
                                             or "'torch'" in str(exc))


def _import_module(ref: str, text: str):
    added = []
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
        added.append(cwd)
    try:
        return importlib.import_module(ref)
    except ModuleNotFoundError as exc:
        if _torch_broken(exc):
            import_torch()
        if exc.name and (ref == exc.name or ref.startswith(exc.name + ".")):
            raise UsageError(f"{text}: cannot import {ref!r} (no module named {exc.name!r}): check "
                             "the name, install the package, or give a file as "
                             "path/to/file.py:ATTR") from None
        raise UsageError(f"{text}: importing {ref!r} failed: {first_line(exc)}; install what "
                         "it needs") from None
    except Exception as exc:
        if _torch_broken(exc):
            import_torch()
        raise UsageError(f"{text}: importing {ref!r} failed: {first_line(exc)}; fix the module "
                         "or point at another") from None
    finally:
        for p in added:
            sys.path.remove(p)


def _import_file(path: str, text: str):
    if not os.path.isfile(path):
        raise UsageError(f"{text}: no such file {path!r}: check the path")
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    modname = f"_netviz_target_{stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{text}: {path!r} cannot be imported as Python: give a .py file")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.modules[modname] = module
    sys.path.insert(0, folder)  # so that it can import its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(modname, None)
        if _torch_broken(exc):
            import_torch()
        raise UsageError(f"{text}: running {path!r} failed: {first_line(exc)}; fix the file "
                         "(loading it runs it, as importing it would)") from None
    finally:
        sys.path.remove(folder)
    return module


def resolve(text: str) -> Resolved:
    """Import what ``text`` names (nothing is built yet)."""
    ref, sep, attr = text.rpartition(":")
    if not sep or not ref or not attr:
        raise UsageError(f"{text!r} is not a PyTorch target: write torchvision:NAME, "
                         "package.module:ATTR or path/to/file.py:ATTR")
    if ref == "torchvision":
        return _torchvision(text, attr)
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", attr):
        raise UsageError(f"{text}: {attr!r} is not a Python name: write MODULE:ATTR, "
                         "e.g. mypkg.models:Net")
    is_file = ref.endswith(".py") or "/" in ref or os.sep in ref
    module = _import_file(ref, text) if is_file else _import_module(ref, text)
    obj = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            have = [n for n in dir(obj) if not n.startswith("_")]
            near = difflib.get_close_matches(part, have, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            where = ref if i == 0 else ".".join(attr.split(".")[:i])
            raise UsageError(f"{text}: {where} has no attribute {part!r}{hint}")
        obj = getattr(obj, part)
    name = attr.split(".")[-1]
    if not is_file and ref.split(".")[0] == "torchvision" and _is_torchvision_builder(obj, name):
        return _torchvision_builder(text, name, obj)  # never its default weights
    return Resolved(text, name, obj, source=os.path.abspath(ref) if is_file else None)


def parse_input(value) -> tuple:
    """An input size (``3x224x224``, ``[3, 224, 224]``, ...) as a tuple; a
    one-line error naming ``--input`` otherwise."""
    from ..readers import parse_shape
    try:
        return tuple(parse_shape(value))
    except ValueError as exc:
        raise UsageError(f"--input: {exc}") from None


def _required(fn) -> list[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                   p.KEYWORD_ONLY)]


def _no_arguments(fn, text: str, what: str):
    need = _required(fn)
    if need:
        raise UsageError(f"{text}: the {what} needs arguments ({', '.join(need)}): point at "
                         "a function that builds the model with none, or at an instance")


def precheck(res: Resolved):
    """What can be said of the target before torch is imported."""
    obj = res.obj
    if not callable(obj):  # no module is: said before torch is imported
        raise UsageError(f"{res.text} is {_a(type(obj).__name__)}, not a torch.nn.Module: point at "
                         "a module class, a function that returns a module, or an instance")
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        _no_arguments(obj, res.text, "function")


def instantiate(res: Resolved, device, **options):
    """(module, owned): the module the target names, built on ``device`` when
    the target is a class or a factory (owned: netviz made it). ``options``
    are keyword arguments for a torchvision builder (``num_classes``, ...)."""
    obj = res.obj
    if options and not res.torchvision:
        raise TypeError("options are for torchvision builders only")
    precheck(res)
    torch = import_torch()
    if isinstance(obj, torch.nn.Module):
        return obj, False
    if isinstance(obj, type) and not issubclass(obj, torch.nn.Module):
        raise UsageError(f"{res.text} is a class but not a torch.nn.Module: point at a "
                         "module class, a function that returns a module, or an instance")
    _no_arguments(obj, res.text, "class" if isinstance(obj, type) else "function")
    try:
        model = _build(obj, options, torch.device(device))
    except Exception as exc:
        if str(device) == "meta":
            raise BuildFailed(f"{res.text}: building the model on the meta device failed "
                              f"({first_line(exc)}): use --device cpu", first_line(exc)) from None
        raise BuildFailed(f"{res.text}: building the model failed: {first_line(exc)}",
                          first_line(exc)) from None
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"{res.text} returned {_a(type(model).__name__)}, not a torch.nn.Module: "
                         "point at a function that returns the model")
    return model, True


class BuildFailed(UsageError):
    """The model's constructor raised; ``why`` is its error in one line."""

    def __init__(self, message: str, why: str):
        super().__init__(message)
        self.why = why


def _build(obj, options, device):
    """Call the constructor on ``device``. On meta, where a constructor
    computes with tensors (regnet works out its widths with torch), it runs
    again on the CPU with every parameter and buffer moved to meta as it is
    registered, so no weight is initialised either way."""
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device(device):
                return obj(**options)
        except Exception:
            if device.type != "meta":
                raise
        with _registered_on_meta():
            return obj(**options)


def _registered_on_meta():
    import contextlib

    import torch
    nn = torch.nn

    @contextlib.contextmanager
    def patched():
        param, buffer = nn.Module.register_parameter, nn.Module.register_buffer

        def register_parameter(self, name, p):
            if p is not None and p.device.type != "meta":
                p = nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
            param(self, name, p)

        def register_buffer(self, name, t, persistent=True):
            if t is not None and t.device.type != "meta":
                t = torch.empty_like(t, device="meta")
            buffer(self, name, t, persistent)

        nn.Module.register_parameter, nn.Module.register_buffer = \
            register_parameter, register_buffer
        try:
            yield
        finally:
            nn.Module.register_parameter, nn.Module.register_buffer = param, buffer
    return patched()


def declared_input(module) -> tuple | None:
    """An input size the module states itself, without the batch."""
    import torch

    from ..readers import parse_shape
    for attr in INPUT_ATTRS:
        value = getattr(module, attr, None)
        if value is None or callable(value):
            continue
        if isinstance(value, torch.Tensor):
            shape = tuple(value.shape[1:])
        else:
            try:
                shape = parse_shape(value if not isinstance(value, torch.Size) else tuple(value))
            except ValueError:
                continue
        if shape and all(isinstance(d, int) and d > 0 for d in shape):
            return tuple(shape)
    return None
