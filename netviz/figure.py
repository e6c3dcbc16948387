"""The Python API: ``netviz.render(model, style) -> Figure``."""
from __future__ import annotations

import os
from dataclasses import replace

from .errors import UsageError, did_you_mean
from .fileio import gc_paused, reason
from .fileio import write_atomic as _write_atomic
from .scene import Scene


MAX_SIDE = 20000.0  # the longest side of a figure at its own size, in pixels
MAX_WIDTH = 1e6     # the most --width may ask for (PNG and PDF refuse far less)
MAX_SCALE = 100.0


class Figure:
    """A drawn network: ``.svg()``, ``.png()``, ``.pdf()``, ``.save(path)``;
    shows itself inline in Jupyter."""

    def __init__(self, scene: Scene, shaped=None, style: str = "", notes=(),
                 options: dict | None = None):
        self.scene = scene
        self.shaped = shaped  # a list of them for a figure of several models
        self.style = style
        self.notes = [n for n in notes if n]  # about the drawing itself (text too small to print)
        self.options = dict(options or {})  # render()'s drawing options, to draw it again

    @property
    def warnings(self) -> list:
        """The shape engine's or tracer's warnings about what is drawn, then the drawing's own."""
        shapeds = self.shaped if isinstance(self.shaped, list) else [self.shaped]
        return [w for s in shapeds if s is not None for w in s.warnings] + self.notes

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
    from .safetext import file_stem
    return f"{file_stem(base)}-{style}.svg"  # always in the current folder


def write_atomic(path: str, data: bytes) -> None:
    """Write atomically; a failure is one line naming the path and the cause."""
    try:
        _write_atomic(path, data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {reason(exc)}") from None


def render(model, style: str = "bars", *, input=None, title=None, labels: bool = True,
           legend: bool = False, theme: str = "default", width: float | None = None,
           scale: float | None = None, streams: int | None = None, bar_metric: str = "size",
           expand: bool = False, fold: str | None = None, fit=None,
           direction: str | None = None, max_nodes: int | None = None, tangles: str | None = None,
           **trace_options) -> Figure:
    """Draw MODEL (zoo name, spec path, Network, ShapedNetwork or PyTorch target);
    a list of models draws them one row each, aligned on their map sizes.
    ``fit`` ("column", "page", "120mm" or a number of mm) lays the figure out
    for that printed width (netviz.pagefit)."""
    from . import pagefit, styles
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
    if expand and style not in ("bars", "short", "graph"):
        raise UsageError(f"--expand draws every repeated module of the bars, short and graph styles; "
                         f"the {style} style does not mark repeats")
    graph_options = _graph_options(style, direction, max_nodes)

    if fold is not None and fold not in FOLDS:
        raise UsageError(f"unknown fold {fold!r}; use {' or '.join(FOLDS)}")
    if fold is not None and style not in ("bars", "short"):
        raise UsageError(f"--fold sets how the bars and short styles fold repeated modules; "
                         f"the {style} style does not fold")
    if fold is not None and expand:
        raise UsageError("give --fold or --expand, not both: --expand draws every module")
    if tangles is not None and tangles not in TANGLES:
        raise UsageError(f"unknown --tangles {tangles!r}; use {' or '.join(TANGLES)}")
    if tangles is not None and style not in ("bars", "short"):
        raise UsageError(f"--tangles sets how the bars and short styles draw a part that does not split "
                         f"into modules; the {style} style has no such parts")
    _theme(theme)  # an unknown one is refused before any work
    fit_mm = pagefit.parse(fit) if fit is not None else None
    if width is not None and scale is not None:
        raise UsageError("give --width or --scale, not both")
    for opt, value, most in (("--width", width, MAX_WIDTH), ("--scale", scale, MAX_SCALE)):
        if value is not None and not (isinstance(value, (int, float)) and 0 < value <= most):
            raise UsageError(f"{opt} must be a positive number of at most {most:g}, got {value!r}")
    if streams is not None and streams < 1:
        raise UsageError("--streams must be at least 1")
    options = RenderOptions(title=title, labels=labels, legend=legend, theme=THEMES[theme],
                            bar_metric=bar_metric, streams=streams, expand=expand, fold=fold or FOLDS[0],
                            tangles=tangles or TANGLES[0], fit_mm=fit_mm, **graph_options)
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
        if title is None:  # the spec's own title, unless --title says otherwise ("" for none)
            options = replace(options, title=spec_title(shaped.network))
        with gc_paused():
            scene = module.build(shaped, options)
    note = None
    if fit_mm is not None:
        scene, note = pagefit.fit(scene, fit_mm)
    side = max(scene.width, scene.height) * scene.scale
    shrink = min(1.0, MAX_SIDE / side) if side > 0 else 1.0
    if shrink < 1.0:  # whatever the layers' numbers, the figure's own size stays drawable
        scene = _rescale(scene, scene.scale * shrink)
    if width is not None:  # an explicit size is the user's (PNG and PDF refuse one too large)
        scene = _rescale(scene, width / scene.width)
    elif scale is not None:
        scene = _rescale(scene, scale * shrink)
    drawn = dict(title=title, labels=labels, legend=legend, theme=theme, width=width, scale=scale,
                 streams=streams, bar_metric=bar_metric, expand=expand, fold=fold, tangles=tangles,
                 **graph_options)
    return Figure(scene, shaped, style, [note], drawn)  # style as normalised above


TITLE_CHARS = 120  # a spec's title longer than this is cut, with an ellipsis, on the figure


def spec_title(network) -> str | None:
    """The title a figure of NETWORK draws when none is given: the spec's
    ``title:``, on one line (the styles cut a long one, whole in its tooltip;
    the backends escape it)."""
    text = " ".join(str(network.title or "").split())
    return text or None


FOLDS = ("structure", "exact")  # modules of one structure, or identical modules only
TANGLES = ("graph", "brackets")  # a part that does not split: laid out by dot, or the bracketed row


def _graph_options(style: str, direction, max_nodes) -> dict:
    """--direction and --max-nodes, checked: for the graph style (and
    --max-nodes for the row styles' parts laid out by Graphviz)."""
    out = {}
    if style == "graph":  # Graphviz missing: one line before any tracing
        from .layout.dot import find_dot, graphviz_package
        find_dot()
        graphviz_package()
    if direction is not None:
        if style != "graph":
            raise UsageError(f"--direction sets the graph style's flow; the {style} style has none")
        if str(direction).upper() not in ("TB", "LR"):
            raise UsageError(f"--direction must be TB (top-down) or LR (left to right), not {direction!r}")
        out["direction"] = str(direction).upper()
    if max_nodes is not None:
        if style not in ("graph", "bars", "short"):
            raise UsageError(f"--max-nodes limits what Graphviz lays out; the {style} style does not use it")
        if not isinstance(max_nodes, int) or max_nodes < 1:
            raise UsageError("--max-nodes must be a whole number of at least 1")
        out["max_nodes"] = max_nodes
    return out


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
    return replace(scene, scale=scale)
