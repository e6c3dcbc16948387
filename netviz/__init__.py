"""netviz: figures of neural networks from a layer list or a PyTorch model.

``import netviz`` stays light: the spec reader, the shape engine and the
drawing code load on first use, and torch and matplotlib only in the
functions that need them.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import NetvizError, ShapeError, SpecError  # noqa: E402

__all__ = ["Layer", "Network", "ShapedNetwork", "NetvizError", "SpecError", "ShapeError",
           "load", "shaped", "infer", "render", "legend", "__version__"]

_LAZY = {"Layer": "ir", "Network": "ir", "ShapedNetwork": "ir", "load": "models", "shaped": "models",
         "infer": "shapes"}
_SUBMODULES = {"backends", "build", "cli", "errors", "figure", "fileio", "ir", "layers", "models", "reports",
               "readers", "scene", "shapes", "styles", "table", "trace", "train", "zoo"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'netviz' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


def render(model, style: str = "bars", **options):
    """Draw MODEL in a style; returns a :class:`netviz.figure.Figure`."""
    from .figure import render as _render
    return _render(model, style=style, **options)


def legend(theme: str = "default", columns: int = 4):
    """The legend of every cell kind, as a :class:`netviz.figure.Figure`."""
    from .figure import legend as _legend
    return _legend(theme=theme, columns=columns)
