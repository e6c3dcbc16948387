"""--fit with the graph style: a top-down graph too wide for the width asked
for is laid out again by dot, tighter, instead of being cut into rows;
one that fits is drawn as without --fit. Checked from the scene's geometry."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace

import pytest

import netviz
from netviz import pagefit
from netviz.layout.dot import Edge, Graph, Node, lay_out
from netviz.scene import Text

from test_fit import smallest_pt
from test_style_graph import EXAMPLES, TWO_HEADS, _assert_nothing_overlaps, disc, edge_parts, groups, layer_names
from test_text_clearance import problems

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="the graph style needs Graphviz's dot")

INCEPTION = os.path.join(EXAMPLES, "inception.yaml")
INCEPTION_RESNET = os.path.join(EXAMPLES, "caffe", "inception_resnet.prototxt")


def render(model, **kw):
    return netviz.render(model, style="graph", **kw)


def drawn(scene):
    """What the figure says: each cell's layers and text, each edge's ends
    and label, each frame's name."""
    cells = sorted((tuple(sorted(layer_names(c))), tuple(t.text for t in c.children if isinstance(t, Text)))
                   for c in groups(scene, "cell"))
    edges = sorted((s, d, label.text) for s, d, _, label in map(edge_parts, groups(scene, "edge")))
    frames = sorted(t.text for g in groups(scene, "frame-label") for t in g.children if isinstance(t, Text))
    return cells, edges, frames


def assert_lines_whole(scene):
    """Every edge drawn in one line, or two where its label sits between
    them: nothing cut, nothing moved apart."""
    for edge in groups(scene, "edge"):
        _, _, paths, label = edge_parts(edge)
        assert len(paths) == (2 if label is not None else 1), edge.title


@pytest.mark.parametrize("model,fit", [("googlenet", "column"), (INCEPTION, "column"), ("googlenet", "75mm")])
def test_a_graph_too_wide_for_the_width_is_laid_out_tighter(model, fit):
    plain = render(model)
    fig = render(model, fit=fit)
    assert pagefit.printed_pt(plain.scene, pagefit.parse(fit)) < 6  # what there is to fix
    assert not fig.notes and smallest_pt(fig) >= 6.0 - 1e-6
    assert fig.scene.width < plain.scene.width and "rows" not in fig.scene.meta
    assert drawn(fig.scene) == drawn(plain.scene)  # the same cells, edges, labels and frames
    assert_lines_whole(fig.scene)
    _assert_nothing_overlaps(fig.scene)
    found = problems(fig.scene)
    assert not found, "; ".join(found[:5])


def test_the_tighter_graph_has_each_label_just_after_its_source():
    """GoogLeNet's edges into an Inception module's lone 1*1 lane run down
    inside the module, labelled by their source, instead of round it."""
    for fit, near in ((None, False), ("column", True)):
        scene = render("googlenet", fit=fit).scene
        by_token = {name: disc(c) for c in groups(scene, "cell") for name in layer_names(c)}
        gaps = []
        for edge in groups(scene, "edge"):
            src, _, _, label = edge_parts(edge)
            x, y, r = by_token[src]
            gaps.append(label.box[1] - (y + r))  # from the source's disc down to its label
        assert min(gaps) > 0
        assert (max(gaps) < 36) == near, max(gaps)  # under a cell's radius: the rank after the source


def test_a_narrower_width_brings_the_cells_of_a_rank_closer():
    """In 75 mm, the labels by their source are not enough: the lanes close up."""
    column, narrow = render("googlenet", fit="column").scene, render("googlenet", fit="75mm").scene
    assert narrow.width < column.width

    def lane_pitch(scene):  # the least distance between two cells side by side
        discs = [disc(c) for c in groups(scene, "cell")]
        return min(abs(a[0] - b[0]) for a in discs for b in discs if a is not b and abs(a[1] - b[1]) < 1)
    assert lane_pitch(narrow) < lane_pitch(column)


def test_a_graph_that_cannot_fit_says_which_width_would():
    fig = render("googlenet", fit="70mm")
    assert len(fig.notes) == 1 and "under 6 pt" in fig.notes[0]
    need = int(re.search(r"--fit (\d+)mm", fig.notes[0]).group(1))
    assert 70 < need < 85  # the tightest layout's width, not the first one's
    wider = render("googlenet", fit=f"{need}mm")
    assert not wider.notes and smallest_pt(wider) >= 6.0 - 1e-6


@pytest.mark.parametrize("model", [INCEPTION, INCEPTION_RESNET])
def test_a_top_down_graph_is_never_cut_into_rows(model):
    """Cut at an x, a graph's lanes right of the cut went under those left
    of it, and the edges between them were cut."""
    fig = render(model, fit="column")
    assert "rows" not in fig.scene.meta
    assert not [g for g in groups(fig.scene, "wrap-links")]
    assert drawn(fig.scene) == drawn(render(model).scene)
    assert_lines_whole(fig.scene)
    _assert_nothing_overlaps(fig.scene)
    assert not fig.notes and smallest_pt(fig) >= 6.0 - 1e-6


def test_a_left_to_right_graph_still_wraps_into_rows():
    fig = render("googlenet", direction="LR", fit="column")
    assert fig.scene.meta["rows"] >= 2
    assert not fig.notes and smallest_pt(fig) >= 6.0 - 1e-6


@pytest.mark.parametrize("model,fit", [("alexnet", "column"), ("resnet50", "column"), (TWO_HEADS, "column"),
                                       ("googlenet", "page")])
def test_a_graph_that_fits_is_drawn_as_without_fit(model, fit):
    plain, fig = render(model), render(model, fit=fit)
    assert not fig.notes and smallest_pt(fig) >= 6.0 - 1e-6
    assert fig.scene.children == plain.scene.children and fig.scene.width == plain.scene.width


def test_a_figure_that_says_it_is_whole_is_not_wrapped():
    scene = netviz.render("alexnet").scene
    assert pagefit.wrap(scene, 300).meta["rows"] >= 2
    whole = replace(scene, meta=dict(scene.meta, whole=True))
    assert pagefit.wrap(whole, 300) is whole


def test_label_weight_keeps_a_label_next_to_its_source():
    """a -> c1 -> c2 -> c3 -> b, and a -> b labelled: the label's node goes
    on c1's rank, the first after a."""
    nodes = tuple(Node(n, 40, 40) for n in ("a", "c1", "c2", "c3", "b"))
    chain = tuple(Edge(f"e{k}", s, d) for k, (s, d) in enumerate(zip(("a", "c1", "c2", "c3"), ("c1", "c2", "c3", "b"))))
    graph = Graph(nodes, chain + (Edge("long", "a", "b", (60, 20)),), label_weight=4)
    placed = lay_out(graph)
    _, centre = placed.edges["long"]
    assert centre[1] == pytest.approx(placed.nodes["c1"][1])
