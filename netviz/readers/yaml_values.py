"""YAML text to checked Python values: the text composed into nodes with
PyYAML's safe composer (nothing in a spec is evaluated or constructed by
PyYAML), tagged scalars (``!!int``, ``!!float``, ...) read or refused, and
the kinds of a layer's fields (positive integers, pairs, finite numbers,
shapes, names) checked with their bounds. Every error is one line at
FILE:LINE:COL of the node.
"""
from __future__ import annotations

import math
import re
import reprlib

import yaml

from ..errors import SpecError
from ..ir import Loc

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


class NodeReader:
    """Reads YAML nodes into plain values, and values of a field's kind."""

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


def compose(text: str, file: str | None):
    """The YAML node tree of TEXT (None for an empty document), or a SpecError
    at the line and column where the YAML is malformed."""
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
    return root
