"""Folding by structure, as the reference figures fold (googlenet.png draws
Inception 4a-4e once, marked x5, with their settings written under it).

Modules whose layers and wiring are the same, differing only in channel
counts, strides or their first copy's shortcut, are kept once: the first
module of a run is the drawn one, the others become its copies. A module's
*structure* is that of its cells' kinds, layer types and kernels
(``shape_key``). The first copy of a run may differ in its shortcut: a
projection (ResNet's first block of a stage: a lane of one cell beside the
main lane, where the others add their input unchanged) or none at all
(MobileNet's and EfficientNet's first block of a stage, a plain chain of the
same cells before the modules with a sum). A squeeze-and-excite gate inside
a block is drawn as one cell, "SE". What differs between the copies
goes into a table (``table``): one column per cell whose text differs, keyed
by a letter written beside the cell, one row per run of copies that agree.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace

from .modules import Cell, Module, cells_of, periods, signature


def shape_key(col) -> tuple:
    """What two cells share when they have the same structure: their kind,
    and their layers' types and windows (not channels, strides or padding)."""
    return ("cell", col.kind, tuple((l.type, l.attrs.get("kernel"), l.attrs.get("dilation"),
                                     l.attrs.get("kind") if l.type == "custom" else None) for l in col.layers))


def collapse(items: list, columns) -> list:
    """Modules folded by structure, then runs of up to a few identical items
    (a transformer's attention and MLP); runs of structure alone would fold
    ResNet's stages into one another."""
    return periods(fold_modules(items, columns), columns)


def fold_modules(items: list, columns) -> list:
    """Runs of modules of one structure kept once, as copies of the first
    (recursively, in lanes too)."""
    out: list = []
    for item in items:
        if isinstance(item, Module):
            item.lanes = [collapse(lane, columns) for lane in item.lanes]
            if _gate(item, columns):
                item = Gate(item.merge)
            elif _join(out, item, columns) or _absorb(out, item, columns):
                continue
        out.append(item)
    return out


@dataclass
class Gate(Cell):
    """A squeeze-and-excite gate drawn as one small cell."""


def _gate(m: Module, columns) -> bool:
    """A squeeze-and-excite gate (a global pool and a few cells that scale
    the module's input by a multiply) becomes one small cell, "SE", at its
    multiply; its cells are named in that cell's tooltip. COLUMNS[m.merge]
    is replaced so."""
    if not (m.shortcut and m.merge is not None and len(m.lanes) == 1):
        return False
    merge = columns[m.merge]
    lane = m.lanes[0]
    product = merge.layers[0].type == "mul" or (merge.layers[0].type == "custom"
                                                and merge.layers[0].attrs.get("kind") == "mul")
    if not (len(merge.layers) == 1 and product
            and all(isinstance(x, Cell) for x in lane) and columns[lane[0].col].kind == "avgpool"):
        return False
    tips = [columns[x.col].tooltip for x in lane] + [merge.tooltip]
    columns[m.merge] = replace(merge, label=["SE"] if merge.label else [], inner=["SE"] if merge.inner else [],
                               tooltip="squeeze-and-excite: " + "; ".join(tips))
    return True


def _normal(m: Module) -> tuple[list, bool, int | None]:
    """(lanes, shortcut, projection column): a module whose second lane is a
    single cell (a projection shortcut) read as one with a shortcut."""
    if not m.copies and not m.shortcut and m.merge is not None and len(m.lanes) == 2:
        a, b = m.lanes
        for main, side in ((a, b), (b, a)):
            if len(side) == 1 and isinstance(side[0], Cell) and len(main) > 1:
                return [main], True, side[0].col
    return m.lanes, m.shortcut, None


def _structure(m: Module, columns) -> tuple:
    lanes, shortcut, _ = _normal(m)
    return signature(Module(lanes=lanes, shortcut=shortcut, merge=m.merge), columns, shape_key)


def _join(out: list, item: Module, columns) -> bool:
    """Add ITEM to the run of modules just before it, if it has the run's
    structure and no projection of its own (a projection starts a run)."""
    prev = out[-1] if out else None
    if not (isinstance(prev, Module) and prev.merge is not None and item.merge is not None):
        return False
    if _normal(item)[2] is not None or _structure(prev, columns) != _structure(item, columns):
        return False
    if not prev.copies:
        lanes, shortcut, proj = _normal(prev)
        prev.lanes, prev.shortcut = lanes, shortcut
        prev.copies = [cells_of(prev)]
        prev.shortcuts = [proj if proj is not None else ("identity" if shortcut else "none")]
    prev.copies.append(cells_of(item))
    prev.shortcuts.append("identity" if item.shortcut else "none")
    prev.repeat += 1
    prev.first_cols += item.first_cols
    return True


def _absorb(out: list, item: Module, columns) -> bool:
    """Start a run with the plain chain just before ITEM when its cells have
    the structure of ITEM's one lane (a block without the sum)."""
    if not (item.shortcut and item.merge is not None and len(item.lanes) == 1):
        return False
    lane = item.lanes[0]
    k = len(lane)
    if k < 2 or len(out) < k:
        return False
    tail = out[-k:]
    for t, x in zip(tail, lane):
        if (getattr(t, "repeat", 1) != getattr(x, "repeat", 1)
                or signature(t, columns, shape_key) != signature(x, columns, shape_key)):
            return False
    del out[-k:]
    item.copies = [[c for t in tail for c in cells_of(t)] + [None], cells_of(item)]
    item.shortcuts = ["none", "identity"]
    item.repeat = 2
    item.first_cols = [cells_of(tail[0])[0]] + item.first_cols
    out.append(item)
    return True


@dataclass
class Table:
    """What differs between the copies of a folded item."""
    keys: list[str]  # column headers
    rows: list[tuple[str, list[str]]]  # (names of the copies, one value per key)
    label: dict[int, list[str]] = field(default_factory=dict)  # a drawn cell's label, with its key
    inner: dict[int, list[str]] = field(default_factory=dict)  # its text inside, with its key
    names: dict[int, list[str]] = field(default_factory=dict)  # per drawn cell: the layer of every copy


KEYS = "abcdefghijklmnopqrstuvwxyz"


def copy_names(names: list[str]) -> list[str]:
    """Short names of the copies: the part of their layer names that tells
    them apart ("3a" of inception3a_branch1, "1" of RegNet's block2-1), or
    their numbers from 1. A hyphen separates parts too: the table writes a
    range of copies as "first-last", which "2-1-2-2" would not read as."""
    numbers = [str(k + 1) for k in range(len(names))]
    parts = [re.split(r"[._-]", n) for n in names]
    i = 0
    while all(len(p) > i for p in parts) and len({p[i] for p in parts}) == 1:
        i += 1
    if any(len(p) <= i for p in parts):
        return numbers
    comps = [p[i] for p in parts]
    letters = re.match(r"[A-Za-z]*", os.path.commonprefix(comps)).group()
    short = [c[len(letters):] or c for c in comps]
    if len(set(short)) < len(short) or max(len(s) for s in short) > 12:
        return numbers
    return short


def _fields(lines: list[str]) -> list[list[str]]:
    return [line.split(",") for line in lines]


def _differs(texts: list[list[str]], key: str) -> tuple[list[str], list[str]]:
    """TEXTS (each copy's lines): the first copy's lines keeping only the
    fields every copy has, KEY added to the first; and each copy's other
    fields."""
    sets = [{f for line in _fields(t) for f in line} for t in texts]
    common = set.intersection(*sets)
    kept = [",".join(f for f in line if f in common) for line in _fields(texts[0])]
    kept = [line for line in kept if line]
    drawn = ([f"{kept[0]} ({key})"] + kept[1:]) if kept else [f"({key})"]
    values = [",".join(f for line in _fields(t) for f in line if f not in common) or "-" for t in texts]
    return drawn, values


def table(item, columns) -> Table:
    """The table of a folded module or run: the cells whose text differs
    between copies, and the shortcut where it differs."""
    drawn = cells_of(item) if isinstance(item, Module) else [c for x in item.items for c in cells_of(x)]
    copies = item.copies
    firsts = [next(c for c in copy if c is not None) for copy in copies]
    names = copy_names([columns[c].layers[0].name for c in firsts])
    keys: list[str] = []
    values: list[list[str]] = [[] for _ in copies]
    out = Table(keys=keys, rows=[])
    for p, col in enumerate(drawn):
        here = [copy[p] if p < len(copy) else None for copy in copies]
        out.names[col] = [columns[c].layers[0].name for c in here if c is not None]
        present = [k for k, c in enumerate(here) if c is not None]
        for part in ("label", "inner"):
            texts = [getattr(columns[here[k]], part) for k in present]
            if all(t == texts[0] for t in texts) or not any(texts):
                continue
            key = KEYS[len(keys) % len(KEYS)]
            keys.append(key)
            lines, vals = _differs(texts, key)
            getattr(out, part)[col] = lines
            by_copy = dict(zip(present, vals))
            for k in range(len(copies)):
                values[k].append(by_copy.get(k, "-"))
            break
    shortcuts = getattr(item, "shortcuts", [])
    if len(set(map(str, shortcuts))) > 1:
        keys.append("shortcut")
        for k, s in enumerate(shortcuts):
            if isinstance(s, int):
                c = columns[s]
                s = ",".join(c.label or c.inner) or "projection"
            values[k].append(s)
    if keys:
        start = 0
        for k in range(1, len(copies) + 1):
            if k == len(copies) or values[k] != values[start]:
                name = names[start] if k - 1 == start else f"{names[start]}-{names[k - 1]}"
                out.rows.append((name, values[start]))
                start = k
    return out


def all_names(item, columns) -> list[str]:
    """The first layer of every copy, for the frame's tooltip."""
    return [columns[next(c for c in copy if c is not None)].layers[0].name for copy in item.copies]


def drawn_cols(item) -> list[int]:
    """The columns drawn for a module or run, in the order of its copies' columns."""
    return cells_of(item) if isinstance(item, Module) else [c for x in item.items for c in cells_of(x)]
