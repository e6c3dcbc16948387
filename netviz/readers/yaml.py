"""The YAML layer-list spec (JSON is read as the same structure).

Specs are data: they are read with PyYAML's safe composer and nothing in them
is evaluated. Every error names FILE:LINE:COL of the offending layer or field.
"""
from __future__ import annotations

import math
import re
import reprlib

import yaml

from ..errors import SpecError, did_you_mean
from ..fileio import gc_paused
from ..ir import Layer, Loc, Network
from ..layers import BY_NAME, COMMON_FIELDS, canonical, complete, known_names

TOP_KEYS = ("name", "title", "description", "streams", "input", "layers")

try:  # libyaml is several times faster and keeps marks all the same
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader

_RESOLVED: dict[str, str] = {}  # plain scalar -> tag; specs repeat the same few words


class _Loader(_Base):
    """PyYAML's safe loader, composing only (nothing is constructed by it).

    Plain scalars are resolved once per distinct text, and numbers written
    the JSON way (1e-5, 2E3) are numbers, as in YAML 1.2 and JSON, rather
    than the strings YAML 1.1 makes of them.
    """

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < 4096:
                    _RESOLVED[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))

_constructor = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"


def _int(node):
    v = node.value
    if v.isascii() and v.isdigit() and (v[0] != "0" or len(v) == 1):
        return int(v)
    return _constructor.construct_yaml_int(node)  # 0x1f, 1_000, 0o17, -3, ...


_SCALARS = {
    _TAG + "str": lambda node: node.value,
    _TAG + "int": _int,
    _TAG + "float": _constructor.construct_yaml_float,
    _TAG + "bool": _constructor.construct_yaml_bool,
    _TAG + "null": lambda node: None,
    _TAG + "timestamp": lambda node: node.value,  # a name such as 2012-12-03 stays text
}
_KINDS = {yaml.SequenceNode: _TAG + "seq", yaml.MappingNode: _TAG + "map"}

_TAG_WORDS = {"int": "integer", "float": "number", "bool": "boolean (true or false)", "null": "null"}
MAX_INT = 2 ** 40  # no count, size or kernel in a spec is larger: a layer's output is refused past it


def _digits(v: int) -> str:
    """A huge integer in a few characters (its digit count), a small one as is."""
    s = str(abs(v)) if abs(v) < 10 ** 30 else None
    return s if s is not None else f"a number of {len(format(abs(v), 'x')) * 1.204:.0f} digits"


_show = reprlib.Repr()
_show.maxlevel, _show.maxlist, _show.maxdict, _show.maxstring, _show.maxother = 1, 6, 4, 60, 60
show = _show.repr


_FIELDS = {t.name: {f.name: f for f in t.fields} for t in BY_NAME.values()}
_COMMON = {c.name: c for c in COMMON_FIELDS}
_REQUIRED = {t.name: tuple(f for f in t.fields if f.required) for t in BY_NAME.values()}


class _Reader:
    def __init__(self, file: str | None):
        self.file = file
        self.memo: dict[int, object] = {}  # aliases (*name) are read once
        self.busy: set[int] = set()

    def loc(self, node) -> Loc:
        mark = node.start_mark
        return Loc(self.file, mark.line + 1, mark.column + 1)

    def error(self, message: str, node) -> SpecError:
        return SpecError.at(message, self.loc(node) if node is not None else Loc(self.file, 1, 1))

    def check_tag(self, node):
        """Refuse tags other than YAML's plain data ones (!!python/..., !custom)."""
        expected = _KINDS.get(type(node))
        if expected is not None and node.tag != expected or \
                expected is None and node.tag not in _SCALARS:
            tag = node.tag.replace(_TAG, "!!")
            hint = " (merge keys are not supported: write the fields out)" if tag == "!!merge" else ""
            raise self.error(f"YAML tag {tag} is not allowed{hint}: a spec is plain data "
                             "(numbers, text, lists and mappings), nothing in it is run", node)

    def value(self, node):
        """The plain Python value of a node (safe: only YAML's data types)."""
        if type(node) is yaml.ScalarNode:
            make = _SCALARS.get(node.tag)
            if make is not None:
                try:
                    return make(node)
                except Exception:  # !!int abc, !!bool maybe, !!float '', 5,000 digits, ...
                    kind = node.tag.replace(_TAG, "")
                    raise self.error(f"{show(node.value)} is not a valid {_TAG_WORDS.get(kind, kind)} "
                                     f"(tagged !!{kind})", node) from None
        self.check_tag(node)
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if key in self.busy:
            raise self.error("a YAML alias refers to itself: a spec is a tree, not a loop", node)
        self.busy.add(key)
        if isinstance(node, yaml.SequenceNode):
            out = [self.value(item) for item in node.value]
        else:
            out = {}
            for knode, vnode in node.value:
                k = self.value(knode)
                if isinstance(k, (list, dict)):
                    raise self.error(f"a mapping key must be a name, got {show(k)}", knode)
                if k in out:
                    raise self.error(f"duplicate key {show(k)}", knode)
                out[k] = self.value(vnode)
        self.busy.discard(key)
        self.memo[key] = out
        return out

    def no_repeats(self, keys, node):
        seen = set()
        for key, (knode, _) in zip(keys, node.value):
            if not isinstance(key, (list, dict)) and key in seen:
                raise self.error(f"duplicate key {show(key)}", knode)
            if not isinstance(key, (list, dict)):
                seen.add(key)

    # --- field kinds -----------------------------------------------------
    def convert(self, kind: str, node, what: str):
        v = self.value(node)
        if kind in ("pos", "nonneg", "int"):
            if isinstance(v, bool) or not isinstance(v, int):
                raise self.error(f"{what} must be an integer, got {show(v)}", node)
            if kind == "pos" and v <= 0:
                raise self.error(f"{what} must be positive, got {v}", node)
            if kind == "nonneg" and v < 0:
                raise self.error(f"{what} must not be negative, got {v}", node)
            if abs(v) > MAX_INT:
                raise self.error(f"{what} is too large ({_digits(v)}); at most {MAX_INT:,}", node)
            return v
        if kind in ("pair_pos", "pair_nonneg"):
            items = v if isinstance(v, list) else [v, v]
            if len(items) != 2 or any(isinstance(i, bool) or not isinstance(i, int) for i in items):
                raise self.error(f"{what} must be an integer or a pair [h, w] of integers, got {show(v)}", node)
            low = 1 if kind == "pair_pos" else 0
            for i in items:
                if i > MAX_INT:
                    raise self.error(f"{what} is too large ({_digits(i)}); at most {MAX_INT:,}", node)
                if i < low:
                    word = "positive" if low else "not be negative"
                    raise self.error(f"{what} must {'be ' if low else ''}{word}, got {show(v)}", node)
            return (items[0], items[1])
        if kind == "bool":
            if not isinstance(v, bool):
                raise self.error(f"{what} must be true or false, got {show(v)}", node)
            return v
        if kind in ("float", "prob"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.error(f"{what} must be a number, got {show(v)}", node)
            if isinstance(v, int) and abs(v) > 10 ** 300 or not math.isfinite(v):
                raise self.error(f"{what} must be a finite number, got {show(v)}", node)
            if kind == "prob" and not 0 <= v <= 1:
                raise self.error(f"{what} must be between 0 and 1, got {v}", node)
            return float(v)
        if kind == "shape":
            try:
                return parse_shape(v)
            except ValueError as exc:
                raise self.error(f"{what}: {exc}", node) from None
        if kind == "str":
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise self.error(f"{what} must be a string, got {show(v)}", node)
            return str(v)
        if kind == "names":
            items = v if isinstance(v, list) else [v]
            if not items or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
                raise self.error(f"{what} must be a layer name or a list of layer names, got {show(v)}", node)
            return tuple(str(i) for i in items)
        raise AssertionError(kind)

    # --- the document ----------------------------------------------------
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


_SHAPE_SPLIT = re.compile(r"\s*[x×*,]\s*")


def parse_shape(value) -> tuple[int, ...]:
    """Read a shape written as 3x227x227, '3*227*227', [3, 227, 227] or 4096."""
    if isinstance(value, bool):
        raise ValueError(f"expected a shape like 3x227x227, got {show(value)}")
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        text = value.strip().strip("()[]")
        try:
            parts = _SHAPE_SPLIT.split(text)
            if not all(p.isascii() and p.strip().isdigit() and len(p) <= 20 for p in parts):
                raise ValueError
            items = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"expected a shape like 3x227x227, got {show(value)}") from None
    elif isinstance(value, (list, tuple)):
        items = list(value)
        if not items or any(isinstance(i, bool) or not isinstance(i, int) for i in items):
            raise ValueError(f"expected a shape like [3, 227, 227], got {show(value)}")
    else:
        raise ValueError(f"expected a shape like 3x227x227, got {show(value)}")
    if any(i <= 0 for i in items):
        raise ValueError(f"every size must be positive, got {'x'.join(_digits(i) if abs(i) > MAX_INT else str(i) for i in items)}")
    if any(i > MAX_INT for i in items):
        raise ValueError(f"a size is too large ({_digits(max(items))}); at most {MAX_INT:,}")
    return tuple(items)


def parse_spec(text: str, file: str | None = None, default_name: str = "network") -> Network:
    """Parse spec text. ``file`` is only used in error messages."""
    try:
        with gc_paused():  # reading allocates many objects and frees none
            return _parse(text, file, default_name)
    except RecursionError:
        raise SpecError("the spec is nested too deeply", file, 1, 1) from None


_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")


def _join_pairs(text: str) -> str:
    """JSON writes a character beyond U+FFFF (an emoji) as a pair of escapes,
    \\ud83d\\ude00; YAML wants one \\U0001f600. The pair becomes the character."""
    if "\\u" not in text:
        return text

    def join(m):
        hi, lo = int(m.group(2), 16), int(m.group(3), 16)
        return m.group(1) + chr(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    return _PAIR.sub(join, text)


def _parse(text: str, file: str | None, default_name: str) -> Network:
    text = _join_pairs(text)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            msg = f"{exc.problem} ({exc.context})"
        if mark is not None and text[mark.index:mark.index + 1] == "\t":
            msg += "; YAML indents with spaces, not tabs"
        raise SpecError(f"YAML syntax error: {msg}", file,
                        mark.line + 1 if mark else 1, mark.column + 1 if mark else 1) from None
    except yaml.reader.ReaderError as exc:
        pos = min(max(exc.position, 0), len(text))
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SpecError(f"control character U+{code:04X} is not allowed in a YAML spec: "
                        "a spec is a text file", file, line, col) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file, 1, 1) from None
    return _Reader(file).document(root, default_name)
