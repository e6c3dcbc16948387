"""The YAML layer-list spec (JSON is read as the same structure): its
top-level keys, its layers with their fields, and the layers linked into a
graph (names, inputs, topological order).

Specs are data: they are read with PyYAML's safe composer and nothing in them
is evaluated (``yaml_values`` turns the nodes into checked values). Every
error names FILE:LINE:COL of the offending layer or field.
"""
from __future__ import annotations

import yaml

from ..errors import SpecError, did_you_mean
from ..fileio import gc_paused
from ..ir import Layer, Loc, Network
from ..layers import BY_NAME, COMMON_FIELDS, canonical, complete, known_names
from .yaml_values import MAX_INT, NodeReader, compose, parse_shape, show

__all__ = ["MAX_INT", "TOP_KEYS", "parse_shape", "parse_spec"]

TOP_KEYS = ("name", "title", "description", "streams", "input", "layers")

_FIELDS = {t.name: {f.name: f for f in t.fields} for t in BY_NAME.values()}
_COMMON = {c.name: c for c in COMMON_FIELDS}
_REQUIRED = {t.name: tuple(f for f in t.fields if f.required) for t in BY_NAME.values()}


class _Reader(NodeReader):
    """Reads a spec's document: its top-level keys and its layers."""

    def document(self, root, default_name: str) -> Network:
        if root is None:
            raise SpecError.at("empty spec: expected a mapping with 'input' and 'layers'",
                               Loc(self.file, 1, 1))
        self.check_tag(root)
        top = {}
        if isinstance(root, yaml.SequenceNode):
            layers_node = root
        elif isinstance(root, yaml.MappingNode):
            for knode, vnode in root.value:
                key = self.value(knode)
                if key not in TOP_KEYS:
                    raise self.error(f"unknown top-level key {show(key)}{did_you_mean(str(key), TOP_KEYS)}; "
                                     f"expected one of {', '.join(TOP_KEYS)}", knode)
                if key in top:
                    raise self.error(f"'{key}' is given twice (first at line "
                                     f"{self.loc(top[key][0]).line})", knode)
                top[key] = (knode, vnode)
            if "layers" not in top:
                raise self.error("missing 'layers': the list of the network's layers", root)
            layers_node = top["layers"][1]
            if not isinstance(layers_node, yaml.SequenceNode):
                raise self.error("'layers' must be a list", layers_node)
            self.check_tag(layers_node)
        else:
            raise self.error("a spec must be a mapping with 'input' and 'layers' "
                             "(or a plain list of layers)", root)

        def scalar(key, kind, default):
            if key not in top:
                return default
            return self.convert(kind, top[key][1], f"'{key}'")

        name = scalar("name", "str", default_name)
        title = scalar("title", "str", None)
        description = scalar("description", "str", None)
        streams = scalar("streams", "pos", 1)
        raw = [self.layer(item) for item in layers_node.value]
        if "input" in top:
            knode, vnode = top["input"]
            shape = self.convert("shape", vnode, "'input'")
            if any(r["type"] == "input" for r in raw):
                raise self.error("the input is given twice: as 'input:' and as an input layer", knode)
            raw.insert(0, {"type": "input", "attrs": {"shape": shape}, "name": "input",
                           "label": None, "inputs": None, "loc": self.loc(knode)})
        if not raw:
            raise self.error("'layers' is empty: a network needs at least one layer", layers_node)
        layers = _link(raw, self.file)
        return Network(name=name, layers=layers, streams=streams, title=title,
                       description=description, source=self.file)

    def layer(self, node) -> dict:
        loc = self.loc(node)
        self.check_tag(node)
        fields_node = None
        if isinstance(node, yaml.ScalarNode):
            type_node, short_node = node, None
        elif isinstance(node, yaml.MappingNode) and node.value:
            keys = [self.value(k) for k, _ in node.value]
            self.no_repeats(keys, node)
            if "type" in keys:  # long form: {type: conv, out: 96, ...}
                type_node = node.value[keys.index("type")][1]
                short_node = None
                fields_node = yaml.MappingNode(node.tag, [kv for kv in node.value
                                                          if self.value(kv[0]) != "type"],
                                               node.start_mark, node.end_mark)
            elif len(node.value) == 1:
                type_node, body = node.value[0]
                self.check_tag(body)
                if isinstance(body, yaml.MappingNode):
                    short_node, fields_node = None, body
                elif isinstance(body, yaml.ScalarNode) and body.tag.endswith(":null"):
                    short_node = None
                else:
                    short_node = body
            else:
                raise self.error("a layer is '- TYPE', '- TYPE: VALUE' or '- TYPE: {FIELD: VALUE, ...}'; "
                                 f"this one has several keys ({', '.join(map(str, keys))}): "
                                 "indent its fields under the type", node)
        else:
            raise self.error("a layer is '- TYPE', '- TYPE: VALUE' or '- TYPE: {FIELD: VALUE, ...}'", node)

        type_name = self.value(type_node)
        if not isinstance(type_name, str):
            raise self.error(f"layer type must be a name, got {show(type_name)}", type_node)
        ctype = canonical(type_name)
        if ctype is None:
            raise self.error(f"unknown layer type {show(type_name)}"
                             f"{did_you_mean(type_name.lower(), known_names())}", type_node)
        ltype = BY_NAME[ctype]
        fields = _FIELDS[ctype]
        attrs: dict = {}
        meta = {"name": None, "label": None, "inputs": None}
        if short_node is not None:
            if ltype.short is None:
                raise self.error(f"{ctype} takes no value; write '- {type_name}'", short_node)
            f = ltype.field(ltype.short)
            attrs[f.name] = self.convert(f.kind, short_node, f"{ctype} '{f.name}'")
        if fields_node is not None:
            seen = set()
            for knode, vnode in fields_node.value:
                key = self.value(knode)
                if not isinstance(key, str):
                    raise self.error(f"a field name must be text, got {show(key)}", knode)
                if key in seen:
                    raise self.error(f"{ctype} field '{key}' is given twice", knode)
                seen.add(key)
                common = _COMMON.get(key)
                if common is not None:
                    meta[key] = self.convert(common.kind, vnode, f"'{key}'")
                    continue
                f = fields.get(key)
                if f is None:
                    allowed = [x.name for x in ltype.fields] + [c.name for c in COMMON_FIELDS]
                    raise self.error(f"{ctype} has no field {show(key)}{did_you_mean(key, allowed)}; "
                                     f"its fields are {', '.join(allowed)}", knode)
                attrs[f.name] = self.convert(f.kind, vnode, f"{ctype} '{f.name}'")
        for f in _REQUIRED[ctype]:
            if f.name not in attrs:
                raise self.error(f"{ctype} needs '{f.name}' ({f.doc})", node)
        return {"type": ctype, "attrs": complete(ctype, attrs), "loc": loc, **meta}


def _link(raw: list[dict], file: str | None) -> tuple[Layer, ...]:
    """Name the layers, resolve their inputs and order them topologically."""
    taken: dict[str, Loc] = {}
    for r in raw:
        if r["name"] is not None:
            if r["name"] in taken:
                first = taken[r["name"]]
                raise SpecError.at(f"duplicate layer name {r['name']!r} (first used at line {first.line})",
                                   r["loc"])
            taken[r["name"]] = r["loc"]
    counters: dict[str, int] = {}
    for r in raw:
        if r["name"] is None:
            if r["type"] == "input" and "input" not in taken:
                r["name"] = "input"
            else:
                n = counters.get(r["type"], 0)
                while True:
                    n += 1
                    cand = f"{r['type']}{n}"
                    if cand not in taken:
                        break
                counters[r["type"]] = n
                r["name"] = cand
            taken[r["name"]] = r["loc"]
    inputs = [r for r in raw if r["type"] == "input"]
    if not inputs:
        raise SpecError.at("the network has no input: add 'input: CxHxW' (e.g. 'input: 3x227x227') "
                           "before 'layers'", raw[0]["loc"])
    if len(inputs) > 1:
        raise SpecError.at(f"only one input layer is supported (the first is {inputs[0]['name']!r})",
                           inputs[1]["loc"])
    prev = None
    defined: set[str] = set()
    in_order = True  # every layer reads only layers written before it
    for r in raw:
        ltype = BY_NAME[r["type"]]
        if r["inputs"] is None:
            if ltype.min_inputs >= 2:
                raise SpecError.at(f"{r['name']}: {r['type']} needs 'inputs', the layers it combines", r["loc"])
            r["inputs"] = () if ltype.max_inputs == 0 or (prev is None) else (prev,)
        else:
            for src in r["inputs"]:
                if src not in taken:
                    raise SpecError.at(f"{r['name']}: no layer named {src!r}{did_you_mean(src, taken)}", r["loc"])
                if src == r["name"]:
                    raise SpecError.at(f"{r['name']}: a layer cannot read its own output", r["loc"])
            if ltype.max_inputs == 0:
                raise SpecError.at(f"{r['name']}: an input layer reads from nothing", r["loc"])
            if len(r["inputs"]) < ltype.min_inputs:
                raise SpecError.at(f"{r['name']}: {r['type']} combines at least {ltype.min_inputs} "
                                   f"inputs, got {len(r['inputs'])}", r["loc"])
            if ltype.max_inputs is not None and len(r["inputs"]) > ltype.max_inputs:
                most = "one input" if ltype.max_inputs == 1 else f"at most {ltype.max_inputs} inputs"
                raise SpecError.at(f"{r['name']}: {r['type']} reads {most}, got "
                                   f"{len(r['inputs'])} ({', '.join(r['inputs'])})", r["loc"])
        if r["type"] != "input" and not r["inputs"] and ltype.min_inputs > 0:
            raise SpecError.at(f"{r['name']}: the first layer must be the input", r["loc"])
        prev = r["name"]
        if in_order:
            in_order = all(src in defined for src in r["inputs"])
            defined.add(prev)
    order = raw if in_order else _toposort(raw)
    return tuple(Layer(name=r["name"], type=r["type"], attrs=r["attrs"], inputs=r["inputs"],
                       label=r["label"], loc=r["loc"]) for r in order)


def _toposort(raw: list[dict]) -> list[dict]:
    """Kahn's algorithm, keeping the spec's order wherever it is valid."""
    import heapq
    index = {r["name"]: i for i, r in enumerate(raw)}
    indeg = [len(set(r["inputs"])) for r in raw]
    users: list[list[int]] = [[] for _ in raw]
    for i, r in enumerate(raw):
        for src in set(r["inputs"]):
            users[index[src]].append(i)
    ready = [i for i, d in enumerate(indeg) if d == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        i = heapq.heappop(ready)
        out.append(raw[i])
        for j in users[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(ready, j)
    if len(out) != len(raw):
        # follow stuck inputs back from the first stuck layer until one repeats
        path, at = [], next(i for i, d in enumerate(indeg) if d > 0)
        while at not in path:
            path.append(at)
            at = next(index[src] for src in raw[at]["inputs"] if indeg[index[src]] > 0)
        cycle = path[path.index(at):] + [at]
        first = raw[cycle[0]]
        steps = ", ".join(f"{raw[j]['name']} reads {raw[i]['name']}"
                          for j, i in zip(cycle, cycle[1:]))
        raise SpecError.at(f"{first['name']}: the layers form a cycle ({steps}); "
                           "a network is a graph without loops", first["loc"])
    return out


def parse_spec(text: str, file: str | None = None, default_name: str = "network") -> Network:
    """Parse spec text. ``file`` is only used in error messages."""
    try:
        with gc_paused():  # reading allocates many objects and frees none
            return _parse(text, file, default_name)
    except RecursionError:
        raise SpecError("the spec is nested too deeply", file, 1, 1) from None


def _parse(text: str, file: str | None, default_name: str) -> Network:
    return _Reader(file).document(compose(text, file), default_name)
