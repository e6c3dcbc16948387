"""Resolve what a user names as MODEL into a network.

MODEL is a zoo name (``alexnet``), a spec file (``net.yaml``), a
:class:`~netviz.ir.Network`, or a PyTorch reference that :mod:`netviz.trace`
loads (``torchvision:alexnet``, ``pkg.module:Net``, ``file.py:Net``).
"""
from __future__ import annotations

import os

from . import zoo
from .errors import ShapeError, SpecError, UsageError, did_you_mean
from .ir import Network, ShapedNetwork, format_shape
from .shapes import infer
from .readers import load_spec, parse_shape, with_input
from .readers.files import SUFFIXES as SPEC_SUFFIXES


def is_trace_target(model) -> bool:
    if not isinstance(model, str):
        return not isinstance(model, (Network, ShapedNetwork, os.PathLike))
    if model == "-" or zoo.exists(model) or os.path.exists(model) or model.endswith(SPEC_SUFFIXES):
        return False
    return ":" in model


_STDIN: list[str] = []  # read once: a command may load its model more than once


def _stdin() -> str:
    if not _STDIN:
        from .readers.files import read_stdin
        _STDIN.append(read_stdin())
    if not _STDIN[0].strip():
        raise UsageError("-: no spec on standard input")
    return _STDIN[0]


def load(model, input=None) -> Network:
    """A Network from a zoo name, a spec path or a Network; ``input`` resizes it."""
    if isinstance(model, ShapedNetwork):
        network = model.network
    elif isinstance(model, Network):
        network = model
    elif model == "-":  # a YAML or JSON spec on standard input
        from .readers import parse_spec
        network = parse_spec(_stdin(), "<stdin>", default_name="stdin")
    elif isinstance(model, (str, os.PathLike)):
        text = os.fspath(model)
        if zoo.exists(text) and not os.path.isfile(text):  # a file of that name wins, a folder not
            network = load_spec(zoo.path(text))
            network = network.replace(source=None)
        elif os.path.isfile(text) or text.endswith(SPEC_SUFFIXES):
            try:
                network = load_spec(text)
            except SpecError as exc:
                # a file that does not say its input size (a Caffe Data layer) is
                # read all the same when the size is given (--input)
                if input is None or getattr(exc, "network", None) is None:
                    raise
                network = exc.network
        else:
            raise UsageError(f"unknown model {text!r}{did_you_mean(text, zoo.names(), 0.5)}: give a zoo name "
                             f"({', '.join(zoo.names())}), a spec file, or a PyTorch "
                             "target such as torchvision:alexnet")
    else:
        raise UsageError(f"cannot read a model from {type(model).__name__}")
    if input is not None:
        try:
            shape = parse_shape(input) if not isinstance(input, tuple) else input
        except ValueError as exc:
            raise UsageError(f"--input: {exc}") from None
        network = with_input(network, shape)
    return network


TRACE_OPTIONS = ("device", "depth", "profile", "batch")


def shaped(model, input=None, **trace_options) -> ShapedNetwork:
    """Resolve MODEL and run the shape engine (or the tracer, for PyTorch targets)."""
    unknown = sorted(set(trace_options) - set(TRACE_OPTIONS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"tracing takes {', '.join(TRACE_OPTIONS)}")
    if isinstance(model, ShapedNetwork) and input is None:
        return model
    if not is_trace_target(model):
        given = [f"--{k}" for k, v in trace_options.items()
                 if (k == "device" and v not in (None, "auto")) or (k == "profile" and v)
                 or (k == "depth" and v is not None) or (k == "batch" and v not in (None, 1))]
        if given:
            raise UsageError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to "
                             "PyTorch models (e.g. torchvision:alexnet); a spec is not run")
    if is_trace_target(model):
        from .trace import trace_target  # torch is imported only here
        return trace_target(model, input=input, **trace_options)
    network = load(model, input=input)
    try:
        return infer(network)
    except ShapeError as exc:
        if input is None:
            raise
        # the spec is fine; the size asked for is not
        size = format_shape(next(l for l in network.layers if l.type == "input").attrs["shape"])
        hint = " (leave out the batch dimension)" if size.count("x") == 3 else ""
        raise UsageError(f"--input {size}{hint}: {exc.message}") from None
