"""The legend figure: every cell kind once, with its name, grouped."""
import xml.etree.ElementTree as ET

import pytest

import netviz
from netviz.styles.common import LEGEND_NAMES, THEMES

SVG = "{http://www.w3.org/2000/svg}"


def items(root):
    return [g for g in root.iter(f"{SVG}g") if "legend-item" in (g.get("class") or "").split()]


@pytest.mark.parametrize("theme", list(THEMES))
def test_every_kind_once_with_its_name_and_colours(theme):
    fig = netviz.legend(theme=theme)
    root = ET.fromstring(fig.svg())
    kinds = [g.get("class").split()[1] for g in items(root)]
    assert sorted(kinds) == sorted(LEGEND_NAMES)
    for g in items(root):
        kind = g.get("class").split()[1]
        assert [t.text for t in g.iter(f"{SVG}text") if t.get("class") == "legend-text"] == [LEGEND_NAMES[kind]]
    fills = {c.get("fill") for c in root.iter() if c.tag in (f"{SVG}circle", f"{SVG}ellipse")}
    assert {THEMES[theme]["conv"], THEMES[theme]["maxpool"], THEMES[theme]["fc"]} <= fills
    # nothing overlaps, nothing leaves the canvas
    texts = fig.scene.texts()
    for i, a in enumerate(texts):
        x0, y0, x1, y1 = a.box
        assert 0 <= x0 and x1 <= fig.scene.width and 0 <= y0 and y1 <= fig.scene.height, a.text
        for b in texts[i + 1:]:
            assert a.box[2] <= b.box[0] or b.box[2] <= a.box[0] or a.box[3] <= b.box[1] or b.box[3] <= a.box[1]


def test_columns_change_the_shape():
    wide, tall = netviz.legend(columns=4).scene, netviz.legend(columns=1).scene
    assert tall.height > 2 * wide.height and wide.width > 2 * tall.width


def test_cli_writes_the_legend_and_refuses_bad_input(cli, tmp_path):
    r = cli("legend", "-o", tmp_path / "key.png", "--scale", "2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "key.png").read_bytes().startswith(b"\x89PNG") and "wrote" in r.stderr
    for args, message in [(("--theme", "nope"), "unknown theme 'nope'"),
                          (("-o", tmp_path / "no" / "k.svg"), "does not exist"),
                          (("-o", tmp_path / "k.gif"), "gif")]:
        r = cli("legend", *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1
