"""Readers that turn a network description into a :class:`netviz.ir.Network`."""
from __future__ import annotations

from .yaml import load_spec, parse_spec, parse_shape, with_input

__all__ = ["load_spec", "parse_spec", "parse_shape", "with_input"]
