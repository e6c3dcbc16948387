"""What a run prints and writes: progress, the metrics JSON."""
from __future__ import annotations

import json
import math
import os
import sys
import time
from ..fileio import write_atomic


def fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """A progress line: rewritten in place on a terminal, at most ten plain lines
    (plus one per half minute on long runs) otherwise, nothing when off."""

    def __init__(self, total: int, mode: str = "auto", stream=None):
        self.stream = stream or sys.stdout
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)()
            mode = "bar" if isatty else "lines"
        self.mode = mode
        self.total = max(1, total)
        self.next_line = 0
        self.last = 0.0
        self.shown = False

    def set_total(self, total: int):
        self.total = max(1, total)

    def line(self, step, loss, acc, ips, elapsed, lr, frac=None):
        frac = min(1.0, step / self.total) if frac is None else frac
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        text = (f"step {step}/{self.total}  loss {loss:.4f}  acc {100 * acc:5.1f}%  "
                f"{ips:,.0f} img/s  lr {lr:.3g}  {fmt_time(elapsed)} (eta {fmt_time(eta)})")
        return text, frac

    def update(self, step, loss, acc, ips, elapsed, lr, frac=None, force=False):
        if self.mode == "off" or loss is None:
            return
        now = time.monotonic()
        text, frac = self.line(step, loss, acc, ips, elapsed, lr, frac)
        if self.mode == "bar":
            if force or now - self.last >= 0.25:
                width = 24
                done = int(width * frac)
                bar = "#" * done + "." * (width - done)
                self.stream.write(f"\r[{bar}] {text}\x1b[K")
                self.stream.flush()
                self.last = now
                self.shown = True
            return
        milestone = int(10 * frac)
        if force or milestone >= self.next_line or now - self.last >= 30:
            self.stream.write(f"  {text}\n")
            self.stream.flush()
            self.next_line = milestone + 1
            self.last = now

    def close(self):
        if self.mode == "bar" and self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


def _clean(value):
    """JSON cannot hold NaN or infinity: write them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomic(path, json.dumps(_clean(data), indent=1) + "\n")
    return path
