"""Protocol-buffer text format, as Caffe's .prototxt files use it.

A small hand-written reader (no protobuf dependency): ``name: "x"`` scalar
fields, ``layer { ... }`` messages (the colon before ``{`` is optional, and
``< ... >`` works as braces), ``dim: [1, 3, 224, 224]`` lists, ``#`` comments,
strings in double or single quotes with C escapes (adjacent strings are joined),
numbers, and identifiers for enum values and booleans. The result is a tree of
:class:`Message` objects whose every field and value knows its FILE:LINE:COL;
nothing is interpreted here (that is :mod:`netviz.readers.prototxt`'s job).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import SpecError
from ..ir import Loc

MAX_DEPTH = 64

_TOKEN = re.compile(r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f\v]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?)(?![A-Za-z0-9_.]))
  | (?P<ident>-?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[{}<>:;,\[\]])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "'": "'", '"': '"', "?": "?"}
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|[xX]([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{4})|(.))")


@dataclass(frozen=True)
class Token:
    kind: str  # ident, number, string, punct, end
    text: str  # the source text (strings: with their quotes)
    loc: Loc


@dataclass(frozen=True)
class Scalar:
    """A field's value: an identifier (enum value, true/false), a number or
    a string (``value`` is then the decoded text)."""

    kind: str  # ident, number, string
    value: str
    loc: Loc

    def show(self) -> str:
        return repr(self.value) if self.kind == "string" else self.value


@dataclass(frozen=True)
class Field:
    name: str
    value: "Scalar | Message"
    loc: Loc  # of the field name


@dataclass
class Message:
    loc: Loc  # of the opening brace (the whole file: 1:1)
    fields: list[Field] = field(default_factory=list)

    def all(self, name: str) -> list[Field]:
        return [f for f in self.fields if f.name == name]

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.fields:
            seen.setdefault(f.name)
        return list(seen)


def _unescape(body: str, loc: Loc) -> str:
    def one(m):
        octal, hexa, uni, char = m.groups()
        if octal is not None:
            return chr(int(octal, 8))
        if hexa is not None:
            return chr(int(hexa, 16))
        if uni is not None:
            return chr(int(uni, 16))
        if char in _ESCAPES:
            return _ESCAPES[char]
        raise SpecError.at(f"unknown escape \\{char} in a string", loc)
    return _ESCAPE.sub(one, body) if "\\" in body else body


def tokenize(text: str, file: str | None) -> list[Token]:
    tokens: list[Token] = []
    pos, line, line_start, end = 0, 1, 0, len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            ch = text[pos]
            loc = Loc(file, line, pos - line_start + 1)
            if ch in "\"'":
                raise SpecError.at("unterminated string (a string ends on the line it starts)", loc)
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            raise SpecError.at(f"syntax error: unexpected character {shown}", loc)
        kind = m.lastgroup
        if kind == "nl":
            line += 1
            line_start = m.end()
        elif kind not in ("ws", "comment"):
            tokens.append(Token(kind, m.group(), Loc(file, line, pos - line_start + 1)))
        pos = m.end()
    tokens.append(Token("end", "", Loc(file, line, pos - line_start + 1)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    @staticmethod
    def fail(message: str, tok: Token):
        what = "the end of the file" if tok.kind == "end" else repr(tok.text)
        raise SpecError.at(f"syntax error: {message}, got {what}", tok.loc)

    def body(self, close: str | None, loc: Loc, depth: int) -> Message:
        if depth > MAX_DEPTH:
            raise SpecError.at(f"messages are nested more than {MAX_DEPTH} deep", loc)
        msg = Message(loc)
        while True:
            tok = self.next()
            if tok.kind == "end":
                if close is None:
                    return msg
                raise SpecError.at(f"syntax error: '{close}' missing: the '{ {'}': '{', '>': '<'}[close]}' "
                                   f"at line {loc.line}, column {loc.col} is never closed", tok.loc)
            if tok.kind == "punct" and tok.text == close:
                return msg
            if tok.kind != "ident" or tok.text.startswith("-"):
                self.fail("expected a field name" + (f" or '{close}'" if close else ""), tok)
            msg.fields.extend(self.field(tok, depth))
            sep = self.peek()
            if sep.kind == "punct" and sep.text in ",;":
                self.i += 1

    def field(self, name: Token, depth: int) -> list[Field]:
        tok = self.next()
        colon = tok.kind == "punct" and tok.text == ":"
        if colon:
            tok = self.next()
        if tok.kind == "punct" and tok.text in "{<":
            close = "}" if tok.text == "{" else ">"
            return [Field(name.text, self.body(close, tok.loc, depth + 1), name.loc)]
        if not colon:
            self.fail(f"expected ':' or '{{' after the field name '{name.text}'", tok)
        if tok.kind == "punct" and tok.text == "[":
            out = []
            if self.peek().kind == "punct" and self.peek().text == "]":
                self.i += 1
                return out
            while True:
                item = self.next()
                if item.kind == "punct" and item.text in "{<":
                    close = "}" if item.text == "{" else ">"
                    out.append(Field(name.text, self.body(close, item.loc, depth + 1), name.loc))
                else:
                    out.append(Field(name.text, self.scalar(item), name.loc))
                sep = self.next()
                if sep.kind == "punct" and sep.text == "]":
                    return out
                if not (sep.kind == "punct" and sep.text == ","):
                    self.fail("expected ',' or ']' in a list", sep)
        return [Field(name.text, self.scalar(tok), name.loc)]

    def scalar(self, tok: Token) -> Scalar:
        if tok.kind == "string":
            parts = [_unescape(tok.text[1:-1], tok.loc)]
            while self.peek().kind == "string":  # "abc" "def" is "abcdef"
                nxt = self.next()
                parts.append(_unescape(nxt.text[1:-1], nxt.loc))
            return Scalar("string", "".join(parts), tok.loc)
        if tok.kind in ("number", "ident"):
            return Scalar(tok.kind, tok.text, tok.loc)
        self.fail("expected a value (a number, a string or a name)", tok)


def parse(text: str, file: str | None = None) -> Message:
    """The top-level message of a text-format file."""
    return _Parser(tokenize(text, file)).body(None, Loc(file, 1, 1), 0)
