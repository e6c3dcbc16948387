"""From the recorded events to a Network and its ShapedNetwork.

A call that maps onto a spec layer type keeps that type only if the shape
engine, run on that layer, gives exactly the measured output and the counted
parameters; otherwise it becomes ``custom`` with the measured figures. So the
engine run over the Network always gives back the traced shapes.
"""
from __future__ import annotations

import re

from ..errors import ShapeError
from ..ir import Layer, LayerInfo, Network, unique_name
from ..layers import BY_NAME
from ..shapes import infer
from .record import Event

_NOT_FOR_TRACED = "applies to the last dimension"  # the model means it: no warning


def _names(events: list[Event]) -> list[str]:
    taken: set[str] = {"input"}
    names = []
    for ev in events:
        if ev.kind == "input":
            names.append("input")
            continue
        if ev.kind == "module":
            base = ev.scope if ev.call == 1 else f"{ev.scope}_{ev.call}"
        else:
            op = re.sub(r"[^A-Za-z0-9_]+", "_", ev.op).strip("_") or "op"
            base = f"{ev.scope}.{op}" if ev.scope else op
        names.append(unique_name(base, taken))
    return names


def _exact(ev: Event, name: str, inputs: tuple, ins: tuple):
    """The exact layer for an event and its engine warnings, or None."""
    if ev.layer is None:
        return None
    type_name, attrs = ev.layer
    ltype = BY_NAME[type_name]
    if len(inputs) < max(ltype.min_inputs, 1) or (ltype.max_inputs is not None
                                                  and len(inputs) > ltype.max_inputs):
        return None
    if type_name == "softmax" and len(ev.output) != 1:
        return None  # a softmax inside attention is no classifier output
    layer = Layer(name, type_name, attrs, inputs, scope=ev.scope)
    feeds = dict(zip(inputs, ins))  # the layer alone, after an input for each source
    alone = Network(name, tuple(Layer(src, "input", {"shape": shape})
                                for src, shape in feeds.items()) + (layer,))
    try:
        shaped = infer(alone)
    except (ShapeError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    info = shaped.info[name]
    if info.output != ev.output or info.params != ev.params:
        return None
    return layer, info.macs, [w for w in shaped.warnings if _NOT_FOR_TRACED not in w.message]


RECURRENT = ("lstm", "gru", "rnn")


def _last_steps(events: list[Event]) -> dict[int, int]:
    """Each x[:, -1] that only reads a recurrent layer's output sequence, which
    nothing else reads, as that layer with ``last: true`` (the spec's way of
    writing it): getitem key -> recurrent key; the recurrent events are changed."""
    readers: dict[int, int] = {}
    for ev in events:
        for k in ev.inputs:
            readers[k] = readers.get(k, 0) + 1
    folded = {}
    for ev in events:
        if not ev.last_step or len(ev.inputs) != 1:
            continue
        src = events[ev.inputs[0]]
        if src.layer is None or src.layer[0] not in RECURRENT or src.layer[1].get("last") \
                or readers.get(src.key) != 1 or ev.output != src.output[-1:]:
            continue
        src.layer = (src.layer[0], {**src.layer[1], "last": True})
        src.output = ev.output
        folded[ev.key] = src.key
    return folded


def _queries_keys_values(inputs: tuple) -> tuple:
    """An attention's inputs as its layer reads them: self-attention (x, x, x)
    is one input, (q, kv, kv) two."""
    if len(inputs) == 3 and inputs[1] == inputs[2]:
        inputs = inputs[:2]
    if len(inputs) == 2 and inputs[0] == inputs[1]:
        inputs = inputs[:1]
    return inputs


def build(events: list[Event], name: str, title: str | None = None,
          description: str | None = None, source: str | None = None):
    """(Network, info, warnings, event key -> layer name)."""
    folded = _last_steps(events)
    names = _names(events)
    layers, info, warnings = [], {}, []
    for ev, lname in zip(events, names):
        if ev.key in folded:  # x[:, -1] taken into the recurrent layer before it
            names[ev.key] = names[folded[ev.key]]
            continue
        if ev.kind == "input":
            layer = Layer(lname, "input", {"shape": ev.output})
            layers.append(layer)
            info[lname] = LayerInfo(ev.output, 0, 0, ())
            continue
        inputs = tuple(names[k] for k in ev.inputs)
        if ev.layer is not None and ev.layer[0] == "attention":
            inputs = _queries_keys_values(inputs)
        ins = tuple(info[i].output for i in inputs)
        exact = _exact(ev, lname, inputs, ins)
        if exact is not None:
            layer, macs, warns = exact
            warnings += warns
        else:
            macs = ev.macs
            layer = Layer(lname, "custom", {"kind": ev.op, "output": ev.output,
                                            "params": ev.params, "macs": macs},
                          inputs, scope=ev.scope)
        layers.append(layer)
        info[lname] = LayerInfo(ev.output, ev.params, macs, ins)
    network = Network(name=name, layers=tuple(layers), title=title, description=description,
                      source=source)
    return network, info, warnings, dict(enumerate(names))

