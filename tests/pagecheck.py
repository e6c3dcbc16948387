"""Checks on the pages netviz writes (gallery, reports, docs): HTML structure,
inline SVG well-formedness, no external resources, and a headless Chromium
that opens a page and reports what it drew."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
SVG_RE = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.ids, self.tags = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack:
            self.errors.append(f"</{tag}> at {self.getpos()} closes nothing")
        elif self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} closes <{self.stack[-1][0]}> "
                               f"opened at {self.stack[-1][1]}")
        else:
            self.stack.pop()


def check_html(text: str) -> _Structure:
    """Assert TEXT is a well-formed HTML5 document: a doctype, every element
    closed in order, one html/head/body/title, unique ids. Returns the parse."""
    assert text.lstrip().lower().startswith("<!doctype html>"), "no <!DOCTYPE html>"
    p = _Structure()
    p.feed(text)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, f"unclosed elements: {p.stack[:5]}"
    names = [t for t, _ in p.tags]
    for tag in ("html", "head", "body", "title"):
        assert names.count(tag) >= 1, f"no <{tag}>"
    assert names.count("html") == 1 and names.count("head") == 1 and names.count("body") == 1
    dup = {i for i in p.ids if p.ids.count(i) > 1}
    assert not dup, f"duplicate ids: {sorted(dup)[:5]}"
    return p


def inline_svgs(text: str) -> list[ET.Element]:
    """Every inline <svg> of a page, parsed as XML (asserts well-formed), with
    every internal reference (url(#x), href="#x") pointing at an id inside it."""
    out = []
    for m in SVG_RE.finditer(text):
        svg = m.group(0)
        if "xmlns=" not in svg[:svg.index(">")]:
            svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
        root = ET.fromstring(svg)  # raises on anything not well-formed
        ids = {el.get("id") for el in root.iter() if el.get("id")}
        for ref in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg):
            target = ref[0] or ref[1]
            assert target in ids, f"reference to #{target} has no target in its SVG"
        out.append(root)
    return out


def assert_offline(text: str):
    """No scripts, no external stylesheets, fonts, images or frames."""
    assert "<script" not in text.lower(), "page has a script"
    assert "<link" not in text.lower(), "page links an external resource"
    assert "@import" not in text and "@font-face" not in text
    for attr in re.findall(r'\b(?:src|href)="([^"]*)"', text):
        assert not re.match(r"^(?:[a-z]+:)?//", attr), f"external resource {attr}"
    assert not re.search(r"url\((?!#)", text), "CSS url() to something outside the page"


# --- headless Chromium --------------------------------------------------------

PROBE = """
<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target && e.target.tagName ? e.target.tagName + ' ' + (e.target.src || e.target.href || '') : '';
    errors.push(String(e.message || ('resource failed: ' + t)));
  }, true);
  function measure() {
    var figs = [];
    document.querySelectorAll('figure.netviz-figure').forEach(function (f) {
      var g = f.querySelector('svg, img');
      var r = g ? g.getBoundingClientRect() : {left: 0, top: 0, width: 0, height: 0};
      figs.push({id: f.id, model: f.getAttribute('data-model'), style: f.getAttribute('data-style'),
                 x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
                 shapes: g ? g.querySelectorAll('circle,ellipse,rect,polygon,path,text').length : 0});
    });
    var pre = document.createElement('pre');
    pre.id = 'nv-probe';
    pre.textContent = JSON.stringify({errors: errors, figures: figs,
                                      height: document.documentElement.scrollHeight});
    document.body.appendChild(pre);
  }
  window.addEventListener('load', measure);
})();
</script>
"""

BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              "--hide-scrollbars", "--force-device-scale-factor=1", "--mute-audio",
              "--disable-extensions", "--enable-logging=stderr", "--v=0"]


def _chromium(args, profile, timeout=60):
    cmd = [CHROMIUM, *BASE_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def console_messages(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


def open_in_chromium(page: str, workdir: str, width: int = 1300):
    """Open PAGE (an .html file) in headless Chromium: returns the probe's
    report (errors, figure boxes, page height), the console messages, and a
    full-page screenshot as a PIL image."""
    from PIL import Image

    with open(page, encoding="utf-8") as fh:
        text = fh.read()
    probe_page = os.path.join(os.path.dirname(page), "nv-probe-" + os.path.basename(page))
    with open(probe_page, "w", encoding="utf-8") as fh:
        fh.write(text.replace("</body>", PROBE + "</body>", 1))
    profile = os.path.join(workdir, "chromium-profile")
    url = "file://" + os.path.abspath(probe_page)
    res = _chromium(["--dump-dom", f"--window-size={width},1000", url], profile)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="nv-probe">(.*?)</pre>', res.stdout, re.DOTALL)
    assert m, "the probe did not run: " + res.stderr[-2000:]
    import html
    report = json.loads(html.unescape(m.group(1)))
    console = console_messages(res.stderr)
    shot = os.path.join(workdir, "shot.png")
    height = min(int(report["height"]) + 10, 16000)
    res = _chromium([f"--screenshot={shot}", f"--window-size={width},{height}", url], profile)
    assert res.returncode == 0 and os.path.exists(shot), res.stderr[-2000:]
    console += console_messages(res.stderr)
    os.unlink(probe_page)
    return report, console, Image.open(shot).convert("RGB")


def region_ink(image, box) -> tuple[float, int]:
    """(fraction of non-white pixels, number of distinct colours) in BOX=(x, y, w, h)."""
    x, y, w, h = (int(round(v)) for v in box)
    crop = image.crop((max(0, x), max(0, y), min(image.width, x + w), min(image.height, y + h)))
    total = crop.width * crop.height
    if not total:
        return 0.0, 0
    colours = crop.getcolors(maxcolors=total)
    ink = sum(n for n, c in colours if min(c) < 235)
    return ink / total, len(colours)
