"""One rule for text that comes from the input (names, kinds, titles, file
names) on its way into an output.

Every writer passes such text through one of these functions:

- :func:`visible` -- control characters, and characters XML 1.0 cannot hold
  (lone surrogates, U+FFFE, U+FFFF), become visible escapes such as ``\\x1b``;
  everything else is kept (bidi and zero-width characters are printable).
- :func:`xml_text` -- :func:`visible`, then ``& < > " '`` escaped: for SVG
  and HTML text and attribute values written by hand.
- :func:`markdown_text` -- :func:`visible` on one line, then every Markdown
  special and every HTML-significant character escaped, so a renderer shows
  the text as written (``"><svg onload=...>`` stays text).
- :func:`terminal` -- :func:`visible` on one line, cut with an ellipsis past
  a length, for messages printed to a terminal.
- :func:`cut` -- text cut to a length with an ellipsis.
- :func:`cut_label` -- a name, kind, label or title as a figure draws it:
  cut past :data:`LABEL_CHARS` (or :data:`TITLE_CHARS`) characters, so that
  no text from the input makes a figure wider than a bound; the full text
  goes in the tooltip.

The functions are pure and cheap; they never raise on any ``str``.
"""
from __future__ import annotations

import re

__all__ = ["visible", "xml_text", "markdown_text", "terminal", "cut", "cut_label", "file_stem", "TERMINAL_WIDTH",
           "LABEL_CHARS", "TITLE_CHARS"]

ELLIPSIS = "\u2026"
TERMINAL_WIDTH = 300  # the longest value a one-line message prints in full
LABEL_CHARS = 80  # the longest name, kind or label a figure draws in full
TITLE_CHARS = 120  # the longest title a figure draws in full

# C0 controls but tab/newline/CR (those are handled by the caller's line rule),
# DEL and C1 controls, lone surrogates, and the two non-characters XML 1.0 forbids.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")


def _escape(ch: str) -> str:
    o = ord(ch)
    if o <= 0xFF:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}"


def visible(text, *, one_line: bool = False) -> str:
    """TEXT with every control character (and anything XML 1.0 cannot hold)
    written as a visible escape (``\\x1b``, ``\\ud800``); with ONE_LINE, tabs
    and line breaks too (``\\n``), so the result is a single line."""
    text = str(text)
    text = _INVISIBLE.sub(lambda m: _escape(m.group()), text)
    if one_line:
        text = _LINE_BREAKS.sub(lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(m.group(), _escape(m.group())),
                                text)
    return text


def cut(text, limit: int) -> str:
    """TEXT, or its first LIMIT-1 characters and an ellipsis when longer."""
    text = str(text)
    if limit < 1:
        return ""
    return text if len(text) <= limit else text[:limit - 1] + ELLIPSIS


def cut_label(text, max_chars: int = LABEL_CHARS) -> str:
    """TEXT from the input (a layer's name, kind or label, a title) as a
    figure draws it: whole up to MAX_CHARS characters, else cut with an
    ellipsis. Line breaks count as characters, so a label of many short lines
    is bounded too. Whoever draws a cut text puts the whole in a tooltip."""
    return cut(text, max_chars)


_XML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def xml_text(text, *, one_line: bool = False) -> str:
    """TEXT safe as XML/HTML character data or a quoted attribute value:
    visible escapes for control characters, markup characters escaped."""
    return re.sub(r"[&<>\"']", lambda m: _XML[m.group()], visible(text, one_line=one_line))


# What CommonMark gives a meaning to anywhere in a line (emphasis, code, links,
# images, table cells, headings' closing #s, strike-through) is backslash-escaped;
# what it gives a meaning to only at the start of a line (lists, block quotes,
# setext underlines) is escaped there; < > & and quotes become entities, so no
# raw HTML can form.
_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#|~!]")
_MD_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")
_MD_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;"}


def markdown_text(text) -> str:
    """TEXT shown as written by a Markdown renderer: one line, control
    characters as visible escapes, Markdown punctuation backslash-escaped and
    ``< > & " '`` as entities (no HTML, link, heading or code fence can form)."""
    text = visible(text, one_line=True)
    out = []
    for ch in text:
        if ch in _MD_ENTITY:
            out.append(_MD_ENTITY[ch])
        elif _MD_SPECIAL.match(ch):
            out.append("\\" + ch)
        else:
            out.append(ch)
    text = "".join(out)
    return _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text, count=1)


def terminal(text, limit: int = TERMINAL_WIDTH) -> str:
    """TEXT for a one-line terminal message: control characters (terminal
    escapes included) and line breaks as visible escapes, cut with an
    ellipsis past LIMIT characters."""
    return cut(visible(text, one_line=True), limit)


_UNSAFE_FILE = re.compile(r"[^\w.+=@,-]+", re.ASCII)


def file_stem(text, limit: int = 80) -> str:
    """A file name made from TEXT (a network's name) that stays in the current
    folder: no separators, no leading dot, ASCII letters, digits and ``._-+=@,``
    only, at most LIMIT characters; ``network`` when nothing is left."""
    stem = _UNSAFE_FILE.sub("_", str(text)).strip("._")
    stem = stem[:limit].strip("._")
    return stem or "network"
