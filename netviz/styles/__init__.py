"""Styles turn a :class:`netviz.ir.ShapedNetwork` into a :class:`netviz.scene.Scene`.

Each style is one module with ``build(shaped, options) -> Scene``; it never
imports a backend. Adding a style is adding a module and a line here.
"""
from __future__ import annotations

import importlib

from ..errors import UsageError, did_you_mean

STYLES = {
    "bars": "netviz.styles.bars",
    "short": "netviz.styles.short",
    "org": "netviz.styles.org",
    "blocks": "netviz.styles.blocks",
    "stack": "netviz.styles.stack",
    "graph": "netviz.styles.graph",
}


def get(name: str):
    name = name.lower()
    if name not in STYLES:
        raise UsageError(f"unknown style {name!r}{did_you_mean(name, STYLES)}; styles: {', '.join(STYLES)}")
    return importlib.import_module(STYLES[name])
