"""The structure of a branching network, for drawing it as the reference
figures do (googlenet.png, resnet50.png): a row of cells and *modules*.

A module is the part of the graph between two cells that every path runs
through (the cell before it, and the merge cell that ends it): a residual
block, an Inception module. Its *lanes* are the separate branches between
the two; an edge straight from the cell before to the merge is a *shortcut*.
Lanes are sequences again, so modules nest. A graph that does not split
this way (skips that cross one another, DenseNet's all-to-all blocks) has no
plan, and is drawn as one row with brackets instead; a U-Net's nested skips
do split, into modules within modules. Asked to (``tangles``), the plan
keeps such a part, between two cells every path runs through, as a
*tangle*: its cells and edges, laid out by Graphviz in the row (tangle.py).

Runs of identical modules (ResNet's blocks within a stage) are kept once
with a repeat count, drawn "x3"; ``fold.py`` folds by structure instead
(modules that differ only in channels, strides or their first shortcut).

A concatenation whose inputs begin with all the inputs of an earlier one
(DenseNet's dense block, traced flat: every layer concatenates everything
before it) can be read as that concatenation plus the rest; ``plan`` does
so when asked (``nested=True``), and the block becomes a run of modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    col: int


@dataclass
class Module:
    lanes: list[list]  # each lane: a list of Cell | Module
    shortcut: bool  # an edge straight from the cell before to the merge
    merge: int | None  # the merge cell's column; None where lanes end the network
    repeat: int = 1
    first_cols: list[int] = field(default_factory=list)  # a column of each repeat, for tooltips
    # every copy's columns, aligned with cells_of(self) (None: the copy has no
    # such cell); empty for a module drawn once
    copies: list[list[int | None]] = field(default_factory=list)
    # each copy's shortcut where they differ: "identity", "none", or the
    # column of the first copy's projection (a cell on a lane of its own)
    shortcuts: list = field(default_factory=list)


@dataclass
class Tangle:
    """A part between two cells every path runs through that does not split
    into lanes (a branch feeding two merges, skips that cross): its cells in
    the order of the spec and its edges, drawn as a graph inside a frame."""
    cols: list[int]
    entry: int  # the cell before it
    merge: int | None  # the cell after it, where every path meets; None where it ends the network
    edges: list[tuple[int, int]] = field(default_factory=list)  # among entry, cols and merge
    repeat: int = 1
    first_cols: list[int] = field(default_factory=list)


@dataclass
class Run:
    """A sequence of items that repeats (a transformer block: attention,
    then the MLP), kept once with its count."""
    items: list
    repeat: int
    first_cols: list[int] = field(default_factory=list)
    copies: list[list[int | None]] = field(default_factory=list)
    shortcuts: list = field(default_factory=list)


def owners(network, columns, inputs=None) -> dict[str, tuple[int, ...]]:
    """The columns each layer's output stands for: its own cell's, or for a
    layer without a cell (an activation, a reshape), the columns of all it
    reads, in order. INPUTS: layer inputs read instead of the network's."""
    inputs = inputs or {}
    owner: dict[str, tuple[int, ...]] = {}
    for j, col in enumerate(columns):
        for layer in col.layers:
            owner[layer.name] = (j,)
    for layer in network.layers:
        if layer.name not in owner:
            reads = inputs.get(layer.name, layer.inputs)
            owner[layer.name] = tuple(dict.fromkeys(i for src in reads for i in owner.get(src, ())))
    return owner


CONCAT_LOOKBACK = 8  # earlier concatenations of the same first input compared with a new one


def _joins(layer) -> bool:
    return layer.type == "concat" or layer.type == "custom" and layer.attrs.get("kind") in ("cat", "concat")


def nested_concats(network) -> dict[str, tuple[str, ...]]:
    """Concatenations read as an earlier one plus the rest: for each whose
    inputs begin with all the inputs of a recent concatenation along the same
    axis (the most recent such), its inputs as that one and the rest.
    Concatenation is associative, so the tensor is the same."""
    out: dict[str, tuple[str, ...]] = {}
    by_first: dict[str, list] = {}
    for layer in network.layers:
        if not _joins(layer) or not layer.inputs:
            continue
        ins = tuple(layer.inputs)
        axis = layer.attrs.get("axis")
        for other in reversed(by_first.get(ins[0], [])[-CONCAT_LOOKBACK:]):
            n = len(other.inputs)
            if n < len(ins) and tuple(other.inputs) == ins[:n] and other.attrs.get("axis") == axis:
                out[layer.name] = (other.name,) + ins[n:]
                break
        by_first.setdefault(ins[0], []).append(layer)
    return out


def column_edges(network, columns, inputs=None) -> tuple[list[set[int]], list[set[int]]]:
    """Edges between columns, from the layers they draw."""
    inputs = inputs or {}
    owner = owners(network, columns, inputs)
    succ = [set() for _ in columns]
    pred = [set() for _ in columns]
    for j, col in enumerate(columns):
        for layer in col.layers:
            for src in inputs.get(layer.name, layer.inputs):
                for i in owner.get(src, ()):
                    if i != j:
                        succ[i].add(j)
                        pred[j].add(i)
    return succ, pred


def plan(network, columns, nested: bool = False, tangles: int = 0) -> list | None:
    """Cells and modules in drawing order, or None for a graph that is a
    chain (nothing to plan) or does not split into modules. NESTED: read
    flattened concatenations as nested ones (see nested_concats). TANGLES:
    keep a part that does not split, of at most this many cells and edges,
    as a Tangle instead of giving up (0: none; a part with no cell before
    it, several inputs, or a larger one still gives None)."""
    succ, pred = column_edges(network, columns, nested_concats(network) if nested else None)
    if all(len(s) <= 1 for s in succ) and all(len(p) <= 1 for p in pred):
        return None
    if any(i >= j for j, ps in enumerate(pred) for i in ps):
        return None  # columns out of topological order
    return _sequence(list(range(len(columns))), None, succ, pred, tangles)


def _sequence(nodes: list[int], entry: int | None, succ, pred, tangles: int = 0) -> list | None:
    """Split NODES (in topological order, fed from ENTRY) at the cells every
    path runs through."""
    pos = {n: p for p, n in enumerate(nodes)}
    end = len(nodes)
    far = max((pos[t] for t in succ[entry] if t in pos), default=-1) if entry is not None else -1
    items: list = []
    region: list[int] = []
    before = entry
    for p, n in enumerate(nodes):
        if far <= p:  # no edge jumps over n: every path runs through it
            if region:
                module = _module(region, before, n, succ, pred, tangles)
                if module is None:
                    return None
                items.append(module)
            elif before is None:
                if pred[n]:
                    return None
            elif pred[n] != {before}:
                return None  # not fed by the cell before it
            if not region:
                items.append(Cell(n))
            region = []
            before = n
        else:
            region.append(n)
        for t in succ[n]:
            far = max(far, pos.get(t, end))
        if not succ[n]:  # an output of the network: its path ends past everything here
            far = max(far, end)
    if region:  # branches that end the network (several outputs)
        module = _module(region, before, None, succ, pred, tangles)
        if module is None:
            return None
        items.append(module)
    return items


def _module(region: list[int], entry: int | None, merge: int | None, succ, pred,
            tangles: int = 0) -> Module | Tangle | None:
    if entry is None:
        return None  # branches with no cell before them: several inputs
    found = _lanes(region, entry, merge, succ, pred, tangles)
    if found is None and tangles:
        return _tangle(region, entry, merge, succ, tangles)
    return found


def _tangle(region: list[int], entry: int, merge: int | None, succ, limit: int) -> Tangle | None:
    """REGION as a tangle, or None where it has more than LIMIT cells and
    edges, or edges out of
    it (a part that ends a lane feeds the lane's merge: the part that holds
    that merge is the tangle)."""
    ends = [entry] + region + ([merge] if merge is not None else [])
    inside = set(ends)
    if any(b not in inside for a in region for b in succ[a]):
        return None
    edges = [(a, b) for a in ends for b in sorted(succ[a]) if b in inside and b != entry]
    if len(region) + len(edges) > limit:
        return None
    return Tangle(cols=list(region), entry=entry, merge=merge, edges=edges, first_cols=[region[0]])


def _lanes(region: list[int], entry: int, merge: int | None, succ, pred, tangles: int) -> Module | None:
    inside = set(region)
    comps: list[list[int]] = []
    seen: set[int] = set()
    for n in region:  # weakly connected components, each in topological order
        if n in seen:
            continue
        stack, comp = [n], set()
        while stack:
            m = stack.pop()
            if m in comp:
                continue
            comp.add(m)
            stack.extend(x for x in (succ[m] | pred[m]) if x in inside and x not in comp)
        seen |= comp
        comps.append(sorted(comp))
    shortcut = merge is not None and merge in succ[entry]
    if len(comps) == 1 and not shortcut:
        return None  # one tangle: not a module
    lanes = []
    for comp in comps:
        if not any(entry in pred[n] for n in comp):
            return None  # a branch not fed by the module's first cell
        lane = _sequence(comp, entry, succ, pred, tangles)
        if lane is None:
            return None
        lanes.append(lane)
    return Module(lanes=lanes, shortcut=shortcut, merge=merge, first_cols=[region[0]])


def cell_text(c) -> tuple:
    """What makes two cells look the same when copies must be identical."""
    return ("cell", c.kind, tuple(c.label), tuple(c.inner), c.bar[1] if c.bar else None)


def signature(item, columns, key=cell_text) -> tuple:
    """What makes two items look the same: the KEY of every cell (by default
    its text and kind), and the structure (a module's own repeat count aside)."""
    if isinstance(item, Cell):
        return key(columns[item.col])
    if isinstance(item, Run):
        return ("run", item.repeat, tuple(signature(x, columns, key) for x in item.items))
    if isinstance(item, Tangle):  # its own: a tangle is never folded
        return ("tangle", item.entry, tuple(item.cols))
    lanes = tuple(tuple(x.repeat if isinstance(x, Module) else 1 for x in lane) +
                  tuple(signature(x, columns, key) for x in lane) for lane in item.lanes)
    merge = key(columns[item.merge]) if item.merge is not None else None
    return ("module", item.shortcut, merge, lanes)


MAX_PERIOD = 12  # the longest sequence of items looked for as a repeating run (a MaxViT block: 11)


def collapse(items: list, columns, key=cell_text) -> list:
    """Runs of identical modules, kept once with a repeat count; then runs of
    identical sequences of up to MAX_PERIOD items with a module among them
    (recursively, in lanes too). KEY: what makes two cells the same."""
    return periods(_singles(items, columns, key), columns, key)


def periods(items: list, columns, key=cell_text) -> list:
    """Runs chosen so that the fewest items are drawn (a run draws one copy):
    ABABCABC is A, B, (ABC) x2 rather than (AB) x2, C, A, B, C."""
    # a module's signature leaves out its own count, so that _singles can add
    # to it; here "A x2, B" must not match "A x3, B"
    ids: dict = {}
    seq = [ids.setdefault((getattr(x, "repeat", 1), signature(x, columns, key)), len(ids)) for x in items]
    n = len(items)
    copies = {p: [1] * (n + 1) for p in range(2, MAX_PERIOD + 1)}  # copies[p][i]: repeats of seq[i:i+p] from i
    for p in copies:
        for i in range(n - 2 * p, -1, -1):
            if seq[i:i + p] == seq[i + p:i + 2 * p]:
                copies[p][i] = copies[p][i + p] + 1
    drawn = [0] * (n + 1)  # the fewest items drawn from i on, and how
    how: list = [None] * (n + 1)
    for i in range(n - 1, -1, -1):
        drawn[i], how[i] = 1 + drawn[i + 1], None
        for p, counts in copies.items():
            if counts[i] < 2 or not any(isinstance(x, Module) for x in items[i:i + p]):
                continue
            for c in {counts[i], max(2, counts[i] - 1)}:  # all copies, or all but the last
                if p + drawn[i + p * c] < drawn[i]:
                    drawn[i], how[i] = p + drawn[i + p * c], (p, c)
    out: list = []
    i = 0
    while i < n:
        if how[i] is None:
            out.append(items[i])
            i += 1
            continue
        p, c = how[i]
        firsts = [cells_of(items[i + k * p])[0] for k in range(c)]
        each = [[col for x in items[i + k * p:i + (k + 1) * p] for col in cells_of(x)] for k in range(c)]
        out.append(Run(items=items[i:i + p], repeat=c, first_cols=firsts, copies=each))
        i += p * c
    return out


def _singles(items: list, columns, key=cell_text) -> list:
    out: list = []
    for item in items:
        if isinstance(item, Module):
            item.lanes = [collapse(lane, columns, key) for lane in item.lanes]
            prev = out[-1] if out else None
            if (isinstance(prev, Module) and prev.merge is not None and item.merge is not None
                    and signature(prev, columns, key) == signature(item, columns, key)):
                if not prev.copies:
                    prev.copies = [cells_of(prev)]
                prev.copies += item.copies or [cells_of(item)]
                prev.repeat += item.repeat
                prev.first_cols += item.first_cols
                continue
        out.append(item)
    return out


def cells_of(item) -> list[int]:
    """Every column drawn for an item."""
    if isinstance(item, Cell):
        return [item.col]
    if isinstance(item, Run):
        return [c for x in item.items for c in cells_of(x)]
    if isinstance(item, Tangle):
        return item.cols + ([item.merge] if item.merge is not None else [])
    cols = [c for lane in item.lanes for x in lane for c in cells_of(x)]
    return cols + ([item.merge] if item.merge is not None else [])


def projection(module: Module) -> int | None:
    """The column of the first copy's projection, when it has one."""
    first = module.shortcuts[0] if module.shortcuts else None
    return first if isinstance(first, int) and not isinstance(first, bool) else None
