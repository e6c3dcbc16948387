"""Following the batch axis of every traced tensor.

The forward is traced at batch ``b`` (1 unless profiling). A tensor whose
first axis is the batch is shown per sample, without it, as specs write
shapes. Where a model folds the batch into another axis (``x.reshape(B * N,
C)`` before a linear layer, as windowed attention does), moves it
(``permute(1, 0, 2)`` into MultiheadAttention's sequence-first layout) or
reduces it away, the layer's whole shape is shown instead, for a batch of 1,
and its row says where the batch went. Which of these it is comes from a
second forward at batch ``b + 1``: the axis that grows with the batch is the
batch's. The multiply-adds are counted for a batch of 1 either way.
"""
from __future__ import annotations


def locate(first: tuple, second: tuple, b: int) -> tuple[tuple, str]:
    """(whole shape at batch 1, where the batch is) from one output's whole
    shapes ``first`` at batch ``b`` and ``second`` at batch ``b + 1``."""
    if len(first) != len(second):
        return first, "not the first axis"
    grew = [i for i, (x, y) in enumerate(zip(first, second)) if x != y]
    if not grew:
        return first or (1,), "no batch axis"
    if len(grew) > 1:
        return first, "spread over axes " + ", ".join(map(str, grew))
    i = grew[0]
    if first[i] % b or second[i] * b != first[i] * (b + 1):
        return first, f"axis {i} grows with it"
    shape = first[:i] + (first[i] // b,) + first[i + 1:]
    if i == 0:
        return shape, "folded into axis 0"
    if first[i] == b:
        return shape, f"at axis {i}"
    return shape, f"folded into axis {i}"


def follow(events: list, second: list | None, b: int) -> None:
    """Give each event whose batch is not its first axis its shape at batch 1
    and where its batch went, from the ``second`` trace's events (None where
    that trace failed or took another path: at batch 1 the shape is right as
    measured, only its note is vaguer)."""
    same = second is not None and len(second) == len(events) and all(
        a.op == c.op for a, c in zip(events, second))
    for i, ev in enumerate(events):
        if not ev.batch:
            continue
        if same:
            ev.output, ev.batch = locate(ev.full, second[i].full, b)
        elif b > 1:
            ev.batch = "not the first axis (its whole shape at the traced batch)"
