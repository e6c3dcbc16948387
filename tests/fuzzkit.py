"""What the fuzz and hardening tests share: running the command line in this
process (fast enough for hundreds of runs), hostile text, and the checks every
output and every error must pass."""
from __future__ import annotations

import contextlib
import html.parser
import io
import os
import re
import sys
import xml.etree.ElementTree as ET

from netviz import cli

# Control characters, lone surrogates and the non-characters XML 1.0 forbids:
# none may reach a file or the terminal raw.
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

HOSTILE = [
    '"><svg onload=alert(1)>', "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "a\x1b[31mred\x1b[0m", "\x01\x02\x7f", "\ufffe\uffff", "cr\rlf\nline", "tab\there",
    "# heading", "[link](javascript:alert(1))", "`code` ```fence```", "*em* _u_ **b**", "a|b|c",
    "{{ 7*7 }}", "{% for x in y %}", "{# c #}", "\u202eevil\u202c", "zw\u200b\u200c\u200d\u2060j",
    "\U0001F600 emoji", "&amp; &lt;", "'quote' \"dq\"", "../../etc/passwd", "/abs/path", "C:\\win",
    "%s %n %x", "\\x1b literal", "\u0085nel\u2028ls\u2029ps", "x" * 300,
]


def run(argv, cwd):
    """Run ``netviz ARGV`` in CWD in this process: (exit code, stdout, stderr).
    An exception escaping the command line is a test failure (a traceback)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.run([str(a) for a in argv])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def check_error(code, stderr):
    """A refusal: exit code 2, one line, no traceback."""
    assert code == 2, f"exit {code}: {stderr!r}"
    text = stderr.rstrip("\n")
    assert text and "\n" not in text, f"not one line: {stderr!r}"
    assert "Traceback" not in text
    assert not RAW_CONTROL.search(text), f"raw control character in {text!r}"
    assert len(text) <= 2100


def check_stderr_lines(stderr):
    """Messages of a success (warnings, 'wrote ...'): each a clean line."""
    assert "Traceback" not in stderr
    assert not RAW_CONTROL.search(stderr.replace("\n", "")), repr(stderr)


def check_text(text: str, what: str):
    assert not RAW_CONTROL.search(text), f"raw control character in {what}"


def check_svg(text: str):
    """Well-formed XML, no script element, no event attribute, no raw control character."""
    check_text(text, "SVG")
    root = ET.fromstring(text.encode("utf-8"))
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1].lower()
        assert tag not in ("script", "foreignobject", "iframe"), tag
        for name in el.attrib:
            local = name.rsplit("}", 1)[-1].lower()
            assert not local.startswith("on"), f"event attribute {name}"
            if local == "href":
                assert el.attrib[name].startswith("#"), el.attrib[name]
    return root


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p",
             "nav", "ul", "li", "a", "main", "section", "figure", "figcaption", "strong", "details",
             "summary", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "footer", "img", "br",
             "hr", "em", "code", "pre", "ol", "blockquote",
             # inline SVG figures
             "svg", "g", "desc", "defs", "marker", "path", "rect", "circle", "ellipse", "polygon",
             "text", "line", "polyline"}


def check_html(text: str):
    """Only the tags netviz writes, no event attribute, no javascript: link."""
    check_text(text, "HTML")
    parser = _Tags()
    parser.feed(text)
    for tag, attrs in parser.tags:
        assert tag in SAFE_TAGS, f"unexpected tag <{tag}>"
        for name, value in attrs:
            assert not name.lower().startswith("on"), f"event attribute {name} on <{tag}>"
            if name in ("href", "src"):
                assert not (value or "").strip().lower().startswith(("javascript:", "data:")), value


def check_markdown(text: str):
    """Markdown whose rendering (CommonMark, HTML allowed) holds only the tags
    a report has, with no event attribute: every name shows as text."""
    check_text(text, "Markdown")
    import markdown_it
    check_html(markdown_it.MarkdownIt("commonmark").render(text))


def check_png(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def check_pdf(data: bytes):
    assert data[:5] == b"%PDF-"


def files_in(folder) -> set[str]:
    found = set()
    for base, _dirs, names in os.walk(folder):
        for n in names:
            found.add(os.path.relpath(os.path.join(base, n), folder))
    return found


def write_spec(folder, spec: dict, name: str = "net.json") -> str:
    """SPEC as a JSON file (control characters escaped the JSON way)."""
    import json
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(json.dumps(spec))
    return path


__all__ = ["HOSTILE", "run", "check_error", "check_svg", "check_html", "check_markdown",
           "check_png", "check_pdf", "files_in", "write_spec", "check_stderr_lines", "sys"]
