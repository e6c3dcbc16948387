"""The bundled trainer: build a network from its spec, check it, train it.

``netviz train MODEL`` is :func:`train` with a :class:`TrainConfig`. The
modules here import torch only inside their functions, so importing
``netviz.train`` stays cheap.
"""
from __future__ import annotations

from .loop import Diverged, Interrupted, TrainConfig, train

__all__ = ["TrainConfig", "train", "Diverged", "Interrupted"]
