"""netviz: figures of neural networks from a layer list or a PyTorch model.

``import netviz`` stays light: torch and matplotlib are imported only by the
functions that need them.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import NetvizError, ShapeError, SpecError  # noqa: E402
from .ir import Layer, Network, ShapedNetwork  # noqa: E402
from .models import load, shaped  # noqa: E402
from .shapes import infer  # noqa: E402

__all__ = ["Layer", "Network", "ShapedNetwork", "NetvizError", "SpecError", "ShapeError",
           "load", "shaped", "infer", "render", "__version__"]


def render(model, style: str = "bars", **options):
    """Draw MODEL in a style; returns a :class:`netviz.figure.Figure`."""
    from .figure import render as _render
    return _render(model, style=style, **options)
