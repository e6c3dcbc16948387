"""torchvision models no other test was written for, drawn as a new user
would draw them: what they show, and how they fit a printed column."""
from __future__ import annotations

import pytest

import netviz
from netviz.scene import Circle, Group, Rect, Text

pytest.importorskip("torchvision")

PT_MM = 25.4 / 72


def _flat(items):
    for item in items:
        if isinstance(item, Group):
            yield from _flat(item.children)
        else:
            yield item


def _smallest_pt(scene) -> float:
    return min(t.size for t in scene.texts()) * scene.print_width / scene.width / PT_MM


@pytest.mark.parametrize("style,least", [("bars", 6.0), ("short", 5.0)])
def test_a_segmentation_head_wider_than_a_column_wraps_inside_its_module(style, least):
    """LR-ASPP's head reads the backbone at 1/8 and at 1/16 of the image: one
    module spans most of the network, a skip under the backbone's blocks. At
    85 mm the row is cut inside that module, between the blocks on its line,
    so the text prints at 6 pt (short: 5 pt, where one block with its table
    is wider than the column; uncut, 1.1 pt); the blocks inside it stay whole."""
    model = "torchvision:lraspp_mobilenet_v3_large"
    plain = netviz.render(model, style=style, device="meta")
    fig = netviz.render(model, style=style, fit="column", device="meta")
    assert _smallest_pt(fig.scene) >= least - 1e-6
    assert bool(fig.notes) == (least < 6.0), fig.notes
    assert fig.scene.meta["rows"] >= 3
    items = list(_flat(fig.scene.children))
    before = list(_flat(plain.scene.children))
    # every cell, label and repeat mark once, none cut in two
    assert sorted(c.r for c in items if isinstance(c, Circle)) == \
        sorted(c.r for c in before if isinstance(c, Circle))
    assert sorted(t.text for t in items if isinstance(t, Text) and t.cls != "title") == \
        sorted(t.text for t in before if isinstance(t, Text) and t.cls != "title")
    # the frames of the repeated blocks inside the head's module are not cut
    assert sum(isinstance(r, Rect) and r.cls == "run-frame" for r in items) == \
        sum(isinstance(r, Rect) and r.cls == "run-frame" for r in before)
