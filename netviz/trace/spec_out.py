"""Writing a network back out as a YAML spec that :func:`netviz.readers.load_spec`
reads into the same layers: same names, types, fields and inputs, so the
shape engine gives the same shapes and parameter counts."""
from __future__ import annotations

import json
import os
import re

from ..errors import UsageError
from ..fileio import reason, write_atomic
from ..ir import Network, ShapedNetwork, format_shape
from ..layers import BY_NAME, complete

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def _str(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _float(v: float) -> str:
    if v != v:
        return ".nan"
    if v in (float("inf"), float("-inf")):
        return ".inf" if v > 0 else "-.inf"
    text = repr(float(v))
    if "e" in text and "." not in text.split("e")[0]:  # YAML 1.1 floats need a dot
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    return text


def _value(kind: str, v) -> str:
    if kind.startswith("pair"):
        h, w = v
        return str(h) if h == w else f"[{h}, {w}]"
    if kind == "bool":
        return "true" if v else "false"
    if kind in ("float", "prob"):
        return _float(v)
    if kind == "shape":
        return format_shape(v)
    if kind == "str":
        return _str(str(v))
    return str(int(v))


def to_yaml(model, header: tuple[str, ...] = ()) -> str:
    """The spec text of a Network or ShapedNetwork."""
    shaped = model if isinstance(model, ShapedNetwork) else None
    net: Network = model.network if shaped else model
    lines = [f"# {h}" for h in header]
    lines.append(f"name: {_str(net.name)}")
    for key in ("title", "description"):
        value = getattr(net, key)
        if value:
            lines.append(f"{key}: {json.dumps(value)}")
    if net.streams != 1:
        lines.append(f"streams: {net.streams}")
    first = net.layers[0] if net.layers else None
    top_input = first is not None and first.type == "input" and first.name == "input"
    if top_input:
        lines.append(f"input: {format_shape(first.attrs['shape'])}")
    lines.append("layers:")
    prev = None
    for layer in net.layers:
        if top_input and layer is first:
            prev = layer.name
            continue
        ltype = BY_NAME[layer.type]
        items = [f"name: {_str(layer.name)}"]
        if layer.label:
            items.append(f"label: {json.dumps(layer.label)}")
        if layer.inputs and layer.inputs != ((prev,) if prev is not None else ()):
            items.append("inputs: [" + ", ".join(_str(i) for i in layer.inputs) + "]")
        # what the reader fills in from the required fields alone (a pool's stride
        # is its kernel): those values need not be written
        defaults = complete(layer.type, {f.name: layer.attrs[f.name] for f in ltype.fields
                                         if f.required and f.name in layer.attrs})
        for f in ltype.fields:
            if f.name not in layer.attrs:
                continue
            v = layer.attrs[f.name]
            if not f.required and f.name in defaults and v == defaults[f.name]:
                continue
            items.append(f"{f.name}: {_value(f.kind, v)}")
        lines.append(f"  - {layer.type}: {{{', '.join(items)}}}")
        prev = layer.name
    return "\n".join(lines) + "\n"


def check_destination(path: str) -> str:
    """The folder a spec will be written in; an error if it cannot be."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"-o {path}: the folder {folder} does not exist: create it first")
    if os.path.isdir(path):
        raise UsageError(f"-o {path}: is a folder: give a file name such as net.yaml")
    if not path.endswith((".yaml", ".yml")):
        raise UsageError(f"-o {path}: a spec is YAML: give a name ending in .yaml")
    return folder


def write_spec(model, path: str, header: tuple[str, ...] = ()) -> None:
    """Write the spec atomically: a temporary file in the same folder, then
    os.replace, so a failure leaves no half-written file."""
    check_destination(path)
    text = to_yaml(model, header)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot write it ({reason(exc)}): choose another path") from None
