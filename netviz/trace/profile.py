"""Per-layer time and memory of a traced model (``--profile``).

A mark is taken as each layer starts and once more when the forward ends; a
layer's time is the span from its mark to the next, so the layers' times add
up to the whole forward. On CUDA the marks are CUDA events (the GPU's clock)
and a second run reads the allocator's peak between marks; on the CPU they
are time.perf_counter() readings and no memory is recorded.

For an fx trace the marks are calls inserted into the traced graph before
each node that made a layer; for the hooks fallback they are forward
pre-hooks on the leaf modules (functional calls between two modules count
towards the module before them).
"""
from __future__ import annotations

import statistics
import time


class _Clock:
    def __init__(self, device):
        import torch
        self.torch = torch
        self.cuda = device.type == "cuda"
        self.marks: list[tuple[int, object]] = []
        self.pool: list = []  # CUDA events made once, reused run after run

    def mark(self, key: int):
        if self.cuda:
            i = len(self.marks)
            if i == len(self.pool):
                self.pool.append(self.torch.cuda.Event(enable_timing=True))
            ev = self.pool[i]
            ev.record()
            self.marks.append((key, ev))
        else:
            self.marks.append((key, time.perf_counter()))

    def spans(self) -> dict[int, float]:
        """Milliseconds from each mark to the next, summed per key."""
        if self.cuda:
            self.torch.cuda.synchronize()
        out: dict[int, float] = {}
        for (key, a), (_, b) in zip(self.marks, self.marks[1:]):
            ms = a.elapsed_time(b) if self.cuda else (b - a) * 1e3
            out[key] = out.get(key, 0.0) + ms
        self.marks = []
        return out


class _Peak:
    def __init__(self):
        import torch
        self.torch = torch
        self.key = None
        self.peaks: dict[int, float] = {}

    def mark(self, key: int):
        cuda = self.torch.cuda
        if self.key is not None:
            mb = cuda.max_memory_allocated() / 2 ** 20
            self.peaks[self.key] = max(self.peaks.get(self.key, 0.0), mb)
        cuda.reset_peak_memory_stats()
        self.key = key


def _measure(forward, device, set_marker, runs: int, warmup: int):
    """Run ``forward`` with marks; per-key median ms, median total ms, peaks."""
    clock = _Clock(device)
    set_marker(clock.mark)
    for _ in range(warmup):
        forward()
        clock.spans()
    per_key: dict[int, list[float]] = {}
    totals = []
    for _ in range(runs):
        forward()
        spans = clock.spans()
        totals.append(sum(spans.values()))
        for k, v in spans.items():
            per_key.setdefault(k, []).append(v)
    times = {k: statistics.median(v) for k, v in per_key.items()}
    peaks = {}
    if device.type == "cuda":
        peak = _Peak()
        set_marker(peak.mark)
        forward()
        peak.mark(-1)
        peaks = {k: v for k, v in peak.peaks.items() if k >= 0}
    return times, statistics.median(totals), peaks


def _metrics(times, peaks, names) -> dict:
    out = {}
    for key, ms in times.items():
        if key < 0 or key not in names:
            continue
        m = {"time_ms": round(ms, 6)}
        if key in peaks:
            m["memory_mb"] = round(peaks[key], 3)
        out[names[key]] = m
    return out


def _note(device, runs, total_ms, peaks, batch) -> str:
    if device.type == "cuda":
        import torch
        card = torch.cuda.get_device_name(device)
        peak = max(peaks.values(), default=0.0)
        return (f"profiled on cuda ({card}) with CUDA events at batch {batch}, median of "
                f"{runs} runs: forward {total_ms:.3f} ms, peak memory {peak:.1f} MB")
    return (f"profiled on cpu with time.perf_counter at batch {batch}, median of {runs} runs: "
            f"forward {total_ms:.3f} ms (no memory figures off CUDA)")


def _runs(device):
    return (20, 3) if device.type == "cuda" else (3, 1)


def profile_fx(gm, x, made: dict[str, int], names: dict[int, str], device):
    """Metrics and a note for an fx-traced model; ``made`` maps node names to
    the key of the layer each made."""
    marker = [None]

    def mark(key):
        marker[0](key)

    graph = gm.graph
    for node in list(graph.nodes):
        if node.op == "output":
            with graph.inserting_before(node):
                graph.call_function(mark, (-1,))
        elif node.name in made and made[node.name] > 0:
            with graph.inserting_before(node):
                graph.call_function(mark, (made[node.name],))
    gm.recompile()
    runs, warmup = _runs(device)
    times, total, peaks = _measure(lambda: gm(x), device, lambda f: marker.__setitem__(0, f),
                                   runs, warmup)
    return _metrics(times, peaks, names), _note(device, runs, total, peaks, len(x))


def profile_hooks(model, x, keymap: dict, names, device):
    """Metrics and a note for a model traced by the hooks fallback: ``keymap``
    maps (module path, nth call) to the key of the layer that call made."""
    marker = [None]
    calls: dict[str, int] = {}
    handles = []

    def hook(path):
        def pre(mod, args):
            n = calls.get(path, 0) + 1
            calls[path] = n
            key = keymap.get((path, n))
            if key is not None:
                marker[0](key)
        return pre

    def forward():
        calls.clear()
        model(x)
        marker[0](-1)

    try:
        for path in sorted({p for p, _ in keymap}):
            handles.append(model.get_submodule(path).register_forward_pre_hook(hook(path)))
        runs, warmup = _runs(device)
        times, total, peaks = _measure(forward, device, lambda f: marker.__setitem__(0, f),
                                       runs, warmup)
    finally:
        for h in handles:
            h.remove()
    return _metrics(times, peaks, names), _note(device, runs, total, peaks, len(x))
