"""Names of the layers read from ONNX, as ``netviz trace`` names the torch
model: the module path torch's exporters record for each node, the torch
call's name for an op without a module of its own (``layer1.0.add``,
``inception3a.cat``), and a custom layer's kind (``mul``, ``conv1d``)."""
from __future__ import annotations

import ast
import re

from ..ir import unique_name


def scope_of(node):
    """(module path, True) from what torch's exporters record, or ("", False)."""
    for p in node.metadata_props:  # torch.onnx.export(dynamo=True)
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = [s for s in ast.literal_eval(p.value)[:-1] if s]
            except (ValueError, SyntaxError):
                break
            return (scopes[-1] if scopes else ""), True
    if node.name.startswith("/"):  # the TorchScript exporter: /layer1/layer1.0/conv1/Conv
        parts: list[str] = []  # a Sequential's child is written "seq.0" after "seq",
        prev = None  # and its child in turn "seq.0.0" after "seq.0"
        for seg in node.name.strip("/").split("/")[:-1]:
            parts.append(seg[len(prev) + 1:] if prev and seg.startswith(prev + ".") else seg)
            prev = seg
        return ".".join(parts), True
    return "", False


# ONNX ops under the names ``netviz trace`` gives the torch calls that export
# to them (torch.mul, F.layer_norm, x.permute, ...), for custom layers' kinds
_TORCH_NAMES = {
    "MatMul": "matmul", "Gemm": "linear", "Concat": "cat", "PRelu": "prelu",
    "LayerNormalization": "layer_norm", "GroupNormalization": "group_norm",
    "InstanceNormalization": "instance_norm", "ReduceMean": "mean", "ReduceSum": "sum",
    "ReduceMax": "amax", "ReduceMin": "amin", "LogSoftmax": "log_softmax",
    "ConvTranspose": "conv_transpose", "AveragePool": "avg_pool", "MaxPool": "max_pool",
}


def custom_kind(node, rank: int | None = None) -> str:
    """The kind of a custom layer, as the tracer names the torch call: 'mul'
    for Mul, 'layer_norm' for LayerNormalization, 'conv1d' for a Conv over
    one dimension (``rank``: the rank of the node's weight or input)."""
    op = node.op_type
    name = _TORCH_NAMES.get(op) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op).lower()
    if op in ("Conv", "ConvTranspose", "AveragePool", "MaxPool") and rank is not None \
            and 3 <= rank <= 5:
        name = f"{name}{rank - 2}d"
    return name


# layer types under the name the tracer gives the torch call behind them
_TYPE_AS_TRACED = {"concat": "cat"}


# aten ops that are not the torch call the tracer names (torch.flatten and x.view
# are both aten.view; x[0] is aten.select, x[:, a:b] aten.slice)
_ATEN_ONLY = {"view", "reshape", "_unsafe_view", "select", "slice", "unbind", "expand",
              "clone", "contiguous", "as_strided", "squeeze", "unsqueeze", "alias", "t",
              "linear", "split", "split_with_sizes", "chunk", "lift_fresh_copy", "detach"}


def _torch_call(node) -> str | None:
    """The call torch's default exporter recorded for a node (``permute``,
    ``adaptive_avg_pool2d``), where the tracer names the torch call alike."""
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                call = ast.literal_eval(p.value)[-1]
            except (ValueError, SyntaxError, IndexError):
                return None
            call = re.sub(r"_\d+$", "", str(call))
            return call if re.fullmatch(r"[a-z][a-z0-9_]*", call) and call not in _ATEN_ONLY \
                else None
    return None


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_.-")


def layer_names(layers: list[dict]) -> list[str]:
    """Module paths where torch recorded them (as ``netviz trace`` names
    layers), else the node's own name, else the type and a number."""
    scopes = {}
    for entry in layers:
        if entry["node"] is not None:
            scopes[id(entry)] = scope_of(entry["node"])
    containers = {p for s, _ in scopes.values() for p in _prefixes(s)}
    taken, names, counts = set(), [], {}
    for entry in layers:
        node = entry["node"]
        kind = entry.get("primary") or _TYPE_AS_TRACED.get(entry["type"], entry["type"])
        if kind == "custom":
            kind = entry["attrs"]["kind"]
        if node is not None and (entry["type"] == "custom" or entry.get("primary")):
            kind = _torch_call(node) or kind
        weight = entry.get("weight") or ""
        if node is None:
            base = "input"
        elif weight.endswith(".weight") and ":" not in weight and _clean(weight[:-7]):
            base = _clean(weight[:-7])
        elif scopes[id(entry)][1]:
            scope = _clean(scopes[id(entry)][0])
            base = scope if scope and scope not in containers else \
                f"{scope}.{kind}" if scope else kind
        elif _clean(node.name):
            base = _clean(node.name)
        else:
            counts[kind] = counts.get(kind, 0) + 1
            base = f"{kind}{counts[kind]}"
        if entry.get("suffix"):
            base = f"{base}.{entry['suffix']}"
        names.append(unique_name(base, taken))
    return names


def _prefixes(scope: str):
    parts = scope.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}
