"""A spec's ``title:`` is the figure's title in every style, unless --title
gives another (or '' for none); it stays text, escaped."""
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz.styles import STYLES

SVG = "{http://www.w3.org/2000/svg}"
TITLE = 'Net <b onload="x()"> & "friends"'
SPEC = """\
name: small
{title}input: 3x32x32
layers:
  - conv: {{name: conv1, out: 8, kernel: 3, pad: 1}}
  - relu
  - maxpool: 2
  - conv: {{name: conv2, out: 16, kernel: 3, pad: 1}}
  - relu
  - maxpool: 2
  - fc: {{name: fc, out: 10}}
  - softmax
"""


def spec(tmp_path, title: str | None) -> str:
    path = tmp_path / ("titled.yaml" if title else "plain.yaml")
    line = "" if title is None else f"title: '{title}'\n"
    path.write_text(SPEC.format(title=line), encoding="utf-8")
    return str(path)


def titles(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return [t.text for t in root.iter(f"{SVG}text") if (t.get("class") or "").split() == ["title"]]


def needs(style: str):
    if style == "graph":
        pytest.importorskip("graphviz")
        from netviz.layout.dot import find_dot
        find_dot()


@pytest.mark.parametrize("style", list(STYLES))
def test_the_spec_title_is_drawn_in_every_style(tmp_path, style):
    needs(style)
    titled, plain = spec(tmp_path, TITLE), spec(tmp_path, None)
    svg = netviz.render(titled, style=style).svg()
    assert titles(svg) == [TITLE]
    assert "<b " not in svg and "&lt;b onload" in svg  # text, never markup
    head = netviz.render(titled, style=style).scene
    bare = netviz.render(titled, style=style, title="").scene
    assert head.height > bare.height  # the title takes its own line above the drawing
    assert titles(netviz.render(plain, style=style).svg()) == []
    assert titles(netviz.render(titled, style=style, title="Given").svg()) == ["Given"]
    assert titles(netviz.render(titled, style=style, title="").svg()) == []


def test_a_long_or_multiline_spec_title_is_one_cut_line(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(SPEC.format(title='title: "first\\nsecond ' + "x" * 500 + '"\n'), encoding="utf-8")
    (drawn,) = titles(netviz.render(str(path)).svg())
    assert drawn.startswith("first second xxx") and drawn.endswith("\u2026") and len(drawn) == 120


def test_cli_title_overrides_the_spec(tmp_path, cli):
    titled = spec(tmp_path, TITLE)
    r = cli("render", titled, "--style", "short", "-o", "-")
    assert r.returncode == 0, r.stderr
    assert titles(r.stdout) == [TITLE]
    r = cli("render", titled, "--style", "short", "--title", "Mine", "-o", "-")
    assert r.returncode == 0 and titles(r.stdout) == ["Mine"], r.stderr
    r = cli("render", titled, "--style", "short", "--title", "", "-o", "-")
    assert r.returncode == 0 and titles(r.stdout) == [], r.stderr


def test_zoo_figures_carry_their_titles():
    assert titles(netviz.render("alexnet", style="bars").svg()) == ["AlexNet (Krizhevsky et al., 2012)"]
