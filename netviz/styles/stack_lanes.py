"""The ``stack`` style's links that leave the column: which units they
join, the lanes beside the column they run in, where they part or meet,
and the units drawn beside the column as a branch (a projection shortcut)."""
from __future__ import annotations

from ..ir import ShapedNetwork

def edges(shaped: ShapedNetwork, us: list) -> list[tuple[int, int]]:
    """US: the stack's units (stack.Unit). (from unit, to unit) for every connection between two units; a layer
    that has no unit belongs to the unit of its first input."""
    owner: dict[str, int] = {}
    for j, u in enumerate(us):
        for layer in u.layers:
            owner[layer.name] = j
    for layer in shaped.network.layers:
        if layer.name not in owner and layer.inputs:
            owner[layer.name] = owner.get(layer.inputs[0], -1)
    found = []
    for j, u in enumerate(us):
        for layer in u.layers:
            for src in layer.inputs:
                i = owner.get(src, -1)
                if 0 <= i < j and (i, j) not in found:
                    found.append((i, j))
    return sorted(found)


def buses(side: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Side edges grouped to share a lane: those of one source, else those
    into one target, else each alone."""
    by_src: dict[int, list] = {}
    for e in side:
        by_src.setdefault(e[0], []).append(e)
    groups, lone = [g for g in by_src.values() if len(g) > 1], [g[0] for g in by_src.values() if len(g) == 1]
    by_dst: dict[int, list] = {}
    for e in lone:
        by_dst.setdefault(e[1], []).append(e)
    groups += list(by_dst.values())
    return sorted(groups, key=lambda g: (max(e[1] for e in g) - min(e[0] for e in g), min(g)))


def assign_lanes(groups: list[list[tuple[int, int]]]) -> list[int]:
    """A lane per group, the shortest nearest the stack; two groups share a
    lane only if the units they span do not overlap. They may meet at one
    unit, which the first enters above its middle and the second leaves
    below it (a ResNet's shortcuts, one after the other, in one lane)."""
    spans: list[list[tuple[int, int]]] = []  # per lane: the (first, last) units it spans
    lanes = []
    for g in groups:
        lo, hi = min(e[0] for e in g), max(e[1] for e in g)
        for k, used in enumerate(spans):
            if all(hi <= a or b <= lo for a, b in used):
                used.append((lo, hi))
                lanes.append(k)
                break
        else:
            spans.append([(lo, hi)])
            lanes.append(len(spans) - 1)
    return lanes


def junctions(paths: list[tuple[int, int, tuple]]) -> list[tuple[float, float]]:
    """Where two links part (one source) or meet (one target): the point on
    the nearer lane, or on the shared lane the unit nearer the other end."""
    dots = []
    for a in range(len(paths)):
        for b in range(a + 1, len(paths)):
            (i1, j1, p), (i2, j2, q) = paths[a], paths[b]
            if i1 == i2 and j1 != j2:
                if p[1][0] != q[1][0]:
                    dots.append((min(p[1][0], q[1][0]), p[0][1]))
                else:
                    dots.append((p[1][0], min(p[2][1], q[2][1])))
            elif j1 == j2 and i1 != i2:
                if p[1][0] != q[1][0]:
                    dots.append((min(p[1][0], q[1][0]), p[3][1]))
                else:
                    dots.append((p[1][0], max(p[1][1], q[1][1])))
    return sorted(set(dots))


def branches(us: list, all_edges: list[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Units drawn beside the column, as a branch: a box with one input i,
    which goes on down the column too, and one output, a sum k that also
    takes the main path from after i (a
    ResNet's projection shortcut), mapped to (i, k). A branch keeps its own
    stretch of the lanes: no other link leaves i, enters k or touches a unit
    between them, so no line crosses its box."""
    ins: dict[int, list] = {}
    outs: dict[int, list] = {}
    for e in all_edges:
        outs.setdefault(e[0], []).append(e[1])
        ins.setdefault(e[1], []).append(e[0])
    found = {}
    for b, u in enumerate(us):
        if u.shape == "box" and len(ins.get(b, ())) == 1 and len(outs.get(b, ())) == 1:
            i, k = ins[b][0], outs[b][0]
            others = [m for m in ins[k] if m != b]
            if us[k].kind == "add" and len(outs[i]) > 1 and others and all(i < m for m in others):
                found[b] = (i, k)
    while True:
        pos = {k: n for n, k in enumerate(k for k in range(len(us)) if k not in found)}
        paths = [(pos[i], pos[j], None) for i, j in all_edges if i in pos and j in pos and pos[j] > pos[i] + 1]
        paths += [(pos[i], pos[k], b) for b, (i, k) in found.items()]
        bad = {b for b, (i, k) in found.items() for lo, hi, other in paths if other != b
               and (lo == pos[i] or hi == pos[k] or pos[i] < lo < pos[k] or pos[i] < hi < pos[k])}
        if not bad:
            return found
        found = {b: ik for b, ik in found.items() if b not in bad}
