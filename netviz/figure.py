"""The Python API: ``netviz.render(model, style) -> Figure``."""
from __future__ import annotations

import os

from .errors import UsageError, did_you_mean
from .fileio import gc_paused, reason
from .fileio import write_atomic as _write_atomic
from .scene import Scene


class Figure:
    """A drawn network: ``.svg()``, ``.png()``, ``.pdf()``, ``.save(path)``;
    shows itself inline in Jupyter."""

    def __init__(self, scene: Scene, shaped=None, style: str = "", options: dict | None = None):
        self.scene = scene
        self.shaped = shaped  # a list of them for a figure of several models
        self.style = style
        self.options = dict(options or {})  # render()'s drawing options, to draw it again

    @property
    def warnings(self) -> list:
        """The shape engine's or tracer's warnings about what is drawn."""
        shapeds = self.shaped if isinstance(self.shaped, list) else [self.shaped]
        return [w for s in shapeds if s is not None for w in s.warnings]

    def data(self, fmt: str) -> bytes:
        from .backends import write_bytes
        if fmt == "html":
            return self.html().encode("utf-8")
        with gc_paused():
            return write_bytes(self.scene, fmt)

    def svg(self) -> str:
        return self.data("svg").decode("utf-8")

    def png(self) -> bytes:
        return self.data("png")

    def pdf(self) -> bytes:
        return self.data("pdf")

    def html(self, styles=None) -> str:
        """An interactive page in one file: pan, zoom, fold and unfold, the
        layers' details, search and the table (in STYLES too, if given)."""
        from .backends.html import figure_page
        return figure_page(self, styles)

    def save(self, path) -> str:
        """Write to PATH, format by extension; atomic (no half-written file)."""
        path = os.fspath(path)
        fmt = check_destination(path)
        data = self.data(fmt)
        write_atomic(path, data)
        return path

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return f"<Figure {self.style} {self.scene.width:g}x{self.scene.height:g}>"


def check_destination(path: str) -> str:
    """The output format for PATH, or a one-line error if it cannot be written
    there (checked before any drawing)."""
    from .backends import format_for
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a folder; give a file name such as net.svg")
    fmt = format_for(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {path}: folder {os.path.dirname(path) or '.'} does not exist")
    return fmt


def default_name(model, style: str) -> str:
    """MODEL-STYLE.svg for a zoo name, spec file or PyTorch target."""
    text = os.fspath(model) if isinstance(model, (str, os.PathLike)) else getattr(model, "name", "network")
    if ":" in text and not os.path.exists(text):  # torchvision:alexnet, pkg.mod:Net, dir/file.py:Net
        where, attr = text.rsplit(":", 1)
        where = os.path.basename(where)
        base = f"{where[:-3] if where.endswith('.py') else where}-{attr}"
    else:
        base = os.path.splitext(os.path.basename(text))[0]
    return f"{base}-{style}.svg"


def write_atomic(path: str, data: bytes) -> None:
    """Write atomically; a failure is one line naming the path and the cause."""
    try:
        _write_atomic(path, data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {reason(exc)}") from None


def render(model, style: str = "bars", *, input=None, title=None, labels: bool = True,
           legend: bool = False, theme: str = "default", width: float | None = None,
           scale: float | None = None, streams: int | None = None, bar_metric: str = "size",
           expand: bool = False, **trace_options) -> Figure:
    """Draw MODEL (zoo name, spec path, Network, ShapedNetwork or PyTorch target);
    a list of models draws them one row each, aligned on their map sizes."""
    from . import styles
    from .models import shaped as to_shaped
    from .styles.common import THEMES, RenderOptions

    style = style.lower()
    theme = theme.lower()
    module = styles.get(style)
    if streams is not None and style != "org":
        raise UsageError(f"--streams splits the org style's figure; the {style} style has no streams")
    if legend and style == "org":
        raise UsageError("the org style draws the paper's figure, which has no legend; "
                         "--legend works with the other styles")
    if bar_metric != "size" and style != "bars":
        raise UsageError(f"--bar-metric sets what the bars style's bars show; the {style} style has none")
    if expand and style not in ("bars", "short"):
        raise UsageError(f"--expand draws every repeated module of the bars and short styles; "
                         f"the {style} style does not mark repeats")

    _theme(theme)  # an unknown one is refused before any work
    if width is not None and scale is not None:
        raise UsageError("give --width or --scale, not both")
    if width is not None and width <= 0 or scale is not None and scale <= 0:
        raise UsageError("--width and --scale must be positive")
    if streams is not None and streams < 1:
        raise UsageError("--streams must be at least 1")
    options = RenderOptions(title=title, labels=labels, legend=legend, theme=THEMES[theme],
                            bar_metric=bar_metric, streams=streams, expand=expand)
    if isinstance(model, (list, tuple)):
        if not model:
            raise UsageError("no model to draw")
        if len(model) == 1:
            model = model[0]
    if isinstance(model, (list, tuple)):
        from .styles import compare
        shaped = [to_shaped(m, input=input, **trace_options) for m in model]
        with gc_paused():
            scene = compare.build(shaped, [s.network.name for s in shaped], options, style)
    else:
        shaped = to_shaped(model, input=input, **trace_options)
        with gc_paused():
            scene = module.build(shaped, options)
    if width is not None:
        scene = _rescale(scene, width / scene.width)
    elif scale is not None:
        scene = _rescale(scene, scale)
    drawn = dict(title=title, labels=labels, legend=legend, theme=theme, width=width, scale=scale,
                 streams=streams, bar_metric=bar_metric, expand=expand)
    return Figure(scene, shaped, style, drawn)  # style as normalised above


def _theme(name: str):
    from .styles.common import THEMES
    name = name.lower()
    if name not in THEMES:
        raise UsageError(f"unknown theme {name!r}{did_you_mean(name, THEMES)}; themes: {', '.join(THEMES)}")
    return THEMES[name]


def legend(theme: str = "default", columns: int = 4) -> Figure:
    """Every cell kind of the bars and short styles with its name, grouped as
    in the reference legend: a key to print once beside several figures."""
    from .styles import legend as legend_style
    if not isinstance(columns, int) or columns < 1:
        raise UsageError("--columns must be a whole number of at least 1")
    return Figure(legend_style.build(_theme(theme), columns), None, "legend")


def _rescale(scene: Scene, scale: float) -> Scene:
    from dataclasses import replace
    return replace(scene, scale=scale)
