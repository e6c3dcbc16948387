"""Backends write a :class:`netviz.scene.Scene` as bytes.

The output format is chosen by file extension from a table; each backend is
imported only when used (the SVG one needs neither torch nor matplotlib).
"""
from __future__ import annotations

import importlib
import os

from ..errors import UsageError

FORMATS = {
    "svg": ("netviz.backends.svg", "to_svg_bytes"),
    "png": ("netviz.backends.raster", "to_png"),
    "pdf": ("netviz.backends.raster", "to_pdf"),
    "html": ("netviz.backends.html", "to_html"),
}


def format_for(path: str) -> str:
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        shown = f"'.{ext}'" if ext else "no extension"
        raise UsageError(f"cannot write {path}: {shown} is not a supported format; "
                         f"use {', '.join('.' + f for f in FORMATS)}")
    return ext


def write_bytes(scene, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    module, attr = FORMATS[fmt]
    return getattr(importlib.import_module(module), attr)(scene)
