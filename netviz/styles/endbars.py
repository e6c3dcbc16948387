"""The bars of lanes that end the network (a module with no merge cell:
several outputs). A module's one bar stands at its merge, for the map it
gives; lanes that end the network have no merge, so each of their cells
has its bar. Cells of different lanes may stand one above another, so the
bars are set side by side where they would meet: each as near under its
cell as the others allow, in the order of their cells (left to right, the
upper first)."""
from __future__ import annotations

from .modules import Module, Run, Tangle


def lane_cells(lanes) -> list[int]:
    """The columns of LANES that carry a bar: their cells, and the merge of
    a module or part inside a lane (its one bar)."""
    out: list[int] = []
    for lane in lanes:
        for item in lane:
            if isinstance(item, Run):
                out += lane_cells([item.items])
            elif isinstance(item, (Module, Tangle)):
                if item.merge is not None:
                    out.append(item.merge)
            else:
                out.append(item.col)
    return out


def side_by_side(wants: list[tuple[int, float, float, float]], left: float) -> list[tuple[int, float]]:
    """Each bar's x: WANTS is (column, cell x, cell y, room) for each bar, the
    room being the width its bar and label need. Bars whose rooms would
    overlap are set side by side, as a group centred where their cells are,
    none left of LEFT. Returns (column, x), left to right."""
    groups: list[list] = []  # [members, left edge]

    def width(members):
        return sum(w[3] for w in members)

    def start(members):
        return max(left, sum(w[1] for w in members) / len(members) - width(members) / 2)

    for want in sorted(wants, key=lambda w: (round(w[1], 3), w[2], w[0])):
        groups.append([[want], start([want])])
        while len(groups) > 1 and groups[-2][1] + width(groups[-2][0]) > groups[-1][1] + 0.01:
            members = groups[-2][0] + groups.pop()[0]
            groups[-1] = [members, start(members)]
    out = []
    for members, x in groups:
        for w in members:
            out.append((w[0], round(x + w[3] / 2, 3)))
            x += w[3]
    return out
