"""Attention in ONNX graphs: the ops an exporter writes for one attention (the
projections, the reshapes into heads, Q K^T, the softmax, the product with V)
become one ``attention`` layer.

The ops of one attention are found by where torch's exporters put them: the
module that holds them (``nn.MultiheadAttention``: every op of
``layers.0.self_attention`` and of its ``out_proj``), or the call of
``F.scaled_dot_product_attention`` that ``torch.onnx.export(dynamo=True)``
records around its ops (an ``attention`` with ``project: false``). They are
read as one layer only where that is exact: one output, at least two matrix
products and a softmax inside, and the shape engine's output, parameters and
multiply-adds for the attention layer equal the sums of the ops it replaces.
Anything else stays as the ops, each counted.
"""
from __future__ import annotations

import ast
from itertools import permutations

from ..errors import ShapeError
from ..ir import Layer, Network, unique_name
from ..layers import complete

_SDPA = "scaled_dot_product_attention"


def _call(node):
    """The name scopes torch's default exporter recorded, ending with the call."""
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                return tuple(ast.literal_eval(p.value))
            except (ValueError, SyntaxError):
                return None
    return None


def collapse(network: Network, nodes: list, shaped) -> Network:
    """NETWORK with each attention read as one layer. NODES: the ONNX node of
    each layer (None for the input); SHAPED: the shape engine's result."""
    groups = []
    for layer, node in zip(network.layers, nodes):
        if node is None or node.op_type != "Softmax":
            continue
        scope = layer.scope
        if scope:
            members = [l.name for l in network.layers
                       if l.scope == scope or l.scope.startswith(scope + ".")]
            groups.append((scope, scope, members, True))
        call = _call(node)
        if call and _SDPA in call[-1]:
            members = [l.name for l, n in zip(network.layers, nodes)
                       if n is not None and _call(n) == call]
            name = f"{scope}.{_SDPA}" if scope else _SDPA
            groups.append((name, scope, members, False))
    done: set[str] = set()
    for name, scope, members, project in groups:
        if done & set(members):
            continue
        found = _attention(network, shaped, name, scope, members, project)
        if found is not None:
            network = _replace(network, members, found)
            done.update(members)
    return network


def _attention(network, shaped, name, scope, members, project):
    inside = set(members)
    layers = [network[m] for m in members]
    products = [l for l in layers if l.type == "custom" and l.attrs["kind"] == "matmul"]
    if len(products) < 2 or not any(l.type == "softmax" or l.attrs.get("kind") == "softmax"
                                     for l in layers):
        return None
    outside = list(dict.fromkeys(i for l in layers for i in l.inputs if i not in inside))
    consumers = network.consumers
    exits = [m for m in members if any(c not in inside for c in consumers[m])
             or not consumers[m]]
    if len(exits) != 1 or not 1 <= len(outside) <= 3 or (not project and len(outside) != 3):
        return None
    exit_info = shaped[exits[0]]
    scores = shaped[products[0].name].output
    heads = 1
    for d in scores[:-2]:
        heads *= d
    params = sum(shaped[m].params for m in members)
    macs = sum(shaped[m].macs for m in members)
    orders = [tuple(outside)] if project else sorted(
        permutations(outside), key=lambda qkv: _qkv_rank(network, inside, products[0], qkv))
    for inputs in orders:
        for bias in ((True, False) if project else (True,)):
            attrs = complete("attention", {"heads": heads, "bias": bias, "project": project})
            layer = Layer(name, "attention", attrs, inputs, scope=scope)
            got = _engine(layer, {i: shaped[i].output for i in inputs})
            if got is not None and got.output == exit_info.output and got.params == params \
                    and got.macs == macs:
                return layer, exits[0]
    return None


def _origins(network, inside, name) -> set:
    """The layers from outside the attention that NAME is computed from."""
    seen, todo, found = set(), [name], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n not in inside:
            found.add(n)
        else:
            todo.extend(network[n].inputs)
    return found


def _qkv_rank(network, inside, scores, qkv) -> int:
    """0 for the order (queries, keys, values) as Q K^T reads them, more for others."""
    q, k = (_origins(network, inside, i) for i in scores.inputs[:2])
    return (qkv[0] not in q) + (qkv[1] not in k)


def _engine(layer, feeds):
    from ..shapes import infer

    alone = Network(layer.name, tuple(Layer(src, "input", {"shape": shape})
                                      for src, shape in feeds.items()) + (layer,))
    try:
        return infer(alone).info[layer.name]
    except (ShapeError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def _replace(network, members, found):
    layer, exit_name = found
    inside = set(members)
    taken = {l.name for l in network.layers if l.name not in inside}
    name = unique_name(layer.name, taken)
    layer = Layer(name, layer.type, layer.attrs, layer.inputs, scope=layer.scope)
    out = []
    for l in network.layers:
        if l.name == exit_name:
            out.append(layer)
        elif l.name not in inside:
            inputs = tuple(name if i == exit_name else i for i in l.inputs)
            out.append(l if inputs == l.inputs else
                       Layer(l.name, l.type, l.attrs, inputs, l.label, l.loc, l.scope))
    return network.replace(layers=tuple(out))
