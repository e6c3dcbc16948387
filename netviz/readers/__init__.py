"""Readers that turn a network description into a :class:`netviz.ir.Network`."""
from __future__ import annotations

from .files import load_spec, with_input
from .yaml import parse_shape, parse_spec

__all__ = ["load_spec", "parse_spec", "parse_shape", "with_input"]
