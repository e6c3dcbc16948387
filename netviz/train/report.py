"""What a run prints and writes: progress, the metrics JSON."""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time

from ..errors import UsageError
from ..fileio import reason, write_atomic


def fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """A progress line: rewritten in place on a terminal, at most ten plain lines
    (plus one per half minute on long runs) otherwise, nothing when off."""

    def __init__(self, total: int, mode: str = "auto", stream=None, unit: str = "img/s"):
        self.stream = stream or sys.stdout
        self.unit = unit
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)()
            mode = "bar" if isatty else "lines"
        self.mode = mode
        self.total = max(1, total)
        self.next_line = 0
        self.last = 0.0
        self.shown = False

    def line(self, step, loss, acc, ips, elapsed, lr, frac=None):
        frac = min(1.0, step / self.total) if frac is None else frac
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        text = (f"step {step}/{self.total}  loss {loss:.4f}  acc {100 * acc:5.1f}%  "
                f"{ips:,.0f} {self.unit}  lr {lr:.3g}  {fmt_time(elapsed)} (eta {fmt_time(eta)})")
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


class CheckProgress:
    """What a check shows while it runs: on a terminal ("bar"), one line
    rewritten in place (the check's name, then the overfit check's step,
    budget, loss and time), cleared before the check's result is printed;
    as plain lines ("lines"), a line every :attr:`every` seconds of a check
    that runs that long; nothing when off."""

    every = 10.0

    def __init__(self, mode: str = "auto", stream=None):
        self.stream = stream or sys.stdout
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode = mode
        self.shown = False
        self.last = None  # when the live line was last written
        self.lines = 0  # plain lines written for the running check

    def _write(self, text):
        self.stream.write(f"\r{text}\x1b[K")
        self.stream.flush()
        self.shown = True

    def start(self, name):
        self.last, self.lines = None, 0
        if self.mode == "bar":
            self._write(f"check {name:<9} running")

    def step(self, step, budget, loss, elapsed):
        now = time.monotonic()
        if self.mode == "bar":
            if self.last is not None and now - self.last < 0.25:
                return
            of = f"/{budget}" if budget else ""
            self._write(f"check overfit   running  step {step}{of}  loss {loss:.4f}  "
                        f"({elapsed:.1f} s)")
            self.last = now
        elif self.mode == "lines":
            if elapsed < self.every * (self.lines + 1):
                return
            self.lines = int(elapsed // self.every)
            of = f" of at most {budget}" if budget else ""
            self.stream.write(f"  check overfit: step {step}{of}, loss {loss:.4f}, "
                              f"{elapsed:.0f} s\n")
            self.stream.flush()

    def clear(self):
        """Clear the live line (before the check's result is printed)."""
        if self.shown:
            self.stream.write("\r\x1b[K")
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


# -- where a run writes ------------------------------------------------------------

def plot_path(cfg) -> str | None:
    """The plot's file: --plot, else beside --metrics; None for none ("" is --no-plot)."""
    if cfg.plot is not None:
        return cfg.plot or None
    if cfg.metrics:
        return os.path.splitext(cfg.metrics)[0] + ".png"
    return None


def _writable_folder(folder: str, what: str) -> None:
    """Create FOLDER if it is missing, then create and remove a file in it."""
    above = folder
    while above and not os.path.exists(above) and os.path.dirname(above) != above:
        above = os.path.dirname(above)
    if above and os.path.exists(above) and not os.path.isdir(above):
        raise UsageError(f"{what}: {above} is a file, not a folder: choose another path")
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".netviz-", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UsageError(f"{what}: cannot write in {folder} ({reason(exc)}): choose another "
                         "path") from None


def check_outputs(cfg) -> None:
    """Every file a run will write can be written: said before any training."""
    from .checkpoint import path_in
    for what, path in (("--metrics", cfg.metrics), ("--plot", plot_path(cfg))):
        if not path:
            continue
        if os.path.isdir(path):
            raise UsageError(f"{what} {path}: is a folder: give a file name")
        _writable_folder(os.path.dirname(os.path.abspath(path)), f"{what} {path}")
    folder = cfg.checkpoint_dir
    if folder:
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UsageError(f"--checkpoint-dir {folder}: is a file, not a folder")
        if not cfg.resume and os.path.exists(path_in(folder)):
            raise UsageError(f"--checkpoint-dir {folder} already holds a run: add --resume "
                             "to continue it, or choose another folder")
        _writable_folder(folder, f"--checkpoint-dir {folder}")


def write_failed(what: str, path, exc: OSError) -> UsageError:
    """The one-line error for an output that could not be written after all."""
    return UsageError(f"{what} {path}: writing failed ({reason(exc)}): choose another path")


def write_outputs(cfg, m: dict, echo) -> None:
    """Write a run's metrics JSON and plot where ``cfg`` says, each said in a line."""
    if cfg.metrics:
        try:
            write_json(cfg.metrics, m)
        except OSError as exc:
            raise write_failed("--metrics", cfg.metrics, exc) from None
        echo(f"metrics: {cfg.metrics}")
    plot = plot_path(cfg)
    if plot and m["loss_curve"]:
        from .plot import write_plot
        acc = m["val_accuracy"]
        title = f"{m['model']} on {m['settings'].get('data', '')}, {m['device_name']}" + (
            f": {100 * acc:.1f}% held-out {m['accuracy_metric']}" if acc is not None
            else f" ({m['stopped']})")
        if m.get("val_mean_iou") is not None:
            title += f", mean IoU {100 * m['val_mean_iou']:.1f}%"
        try:
            write_plot(plot, title=title, loss=m["loss_curve"],
                       train_acc=m["train_accuracy_curve"], val_acc=m["val_curve"],
                       chance=m["chance"], metric=m["accuracy_metric"],
                       val_iou=m.get("val_iou_curve"))
        except OSError as exc:
            raise write_failed("--plot", plot, exc) from None
        echo(f"plot: {plot}")
