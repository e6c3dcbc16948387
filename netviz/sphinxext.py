"""The ``netviz`` Sphinx directive: figures drawn from the spec at build time.

Add ``"netviz.sphinxext"`` to ``extensions`` in conf.py, then::

    .. netviz:: alexnet
       :style: short
       :caption: AlexNet, conv+pool pairs merged.

The argument is a zoo name, a spec file (relative to the document, or to the
source folder when it starts with ``/``) or a PyTorch target
(``torchvision:alexnet``); without an argument the directive's content is an
inline YAML spec. Options: ``:style:``, ``:format: svg|png``, ``:input:``,
``:caption:``, ``:alt:``, ``:width:``, ``:theme:``, ``:title:``,
``:legend:`` (a flag), ``:align:``, ``:fold: structure|exact``,
``:tangles: graph|brackets``, ``:fit:``,
``:interactive:`` (a flag: the HTML page shows the interactive figure,
``netviz-<hash>.html`` beside the images, in a frame, with a link to open it
on its own).

Figures are drawn while the document is read, into the builder's image
folder (``_images/netviz-<hash>.<format>``). The hash covers the spec text,
the options and the netviz code, so an unchanged figure is never drawn
twice: rebuilding reuses the file. SVG figures are inlined into HTML pages
(ids made unique per page); PNG figures are ``<img>`` elements. Other
builders (LaTeX, text, man) get the figure's alt text.

A figure that cannot be drawn (unknown model, broken spec, bad option) is
reported as an error at the document's file and line with the spec's own
error; the build then exits with status 2, and that document is read again
on the next build.
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

FORMATS = ("svg", "png")
RENDER_OPTIONS = ("style", "format", "input", "theme", "title", "legend", "fold", "tangles", "fit")


class _Failure(Exception):
    """A figure that cannot be drawn: reported at LINE of the document."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message = message
        self.line = line


class netviz_image(nodes.General, nodes.Inline, nodes.Element):
    """One drawn figure: ``path`` (the file in the image folder), ``fname``,
    ``format``, ``alt``, ``width``."""


_DIGEST: str | None = None


def _code_digest() -> str:
    """A digest of the netviz sources, so new drawing code redraws figures."""
    global _DIGEST
    if _DIGEST is None:
        root = os.path.dirname(os.path.abspath(__file__))
        paths = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("__pycache__", "templates", "zoo")]
            paths += [os.path.join(folder, f) for f in files
                      if f.endswith((".py", ".json")) and f != "sphinxext.py"]
        h = hashlib.sha256()
        for path in sorted(paths):
            with open(path, "rb") as fh:
                h.update(os.path.relpath(path, root).encode() + b"\0" + fh.read())
        _DIGEST = h.hexdigest()
    return _DIGEST


def figure_key(spec_text: str, options: dict) -> str:
    """The cache key of a figure: spec text, drawing options and code."""
    from . import __version__
    payload = json.dumps([__version__, _code_digest(), spec_text,
                          sorted((k, options.get(k)) for k in RENDER_OPTIONS)], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def _length(argument: str) -> str:
    return directives.length_or_percentage_or_unitless(argument, "px")


class NetvizDirective(SphinxDirective):
    """``.. netviz:: MODEL`` or an inline YAML spec as content."""

    optional_arguments = 1
    final_argument_whitespace = False
    has_content = True
    option_spec = {
        "style": directives.unchanged_required,
        "format": lambda a: directives.choice(a, FORMATS),
        "input": directives.unchanged_required,
        "caption": directives.unchanged,
        "alt": directives.unchanged,
        "width": _length,
        "theme": directives.unchanged_required,
        "title": directives.unchanged,
        "legend": directives.flag,
        "align": lambda a: directives.choice(a, ("left", "center", "right")),
        "fold": lambda a: directives.choice(a, ("structure", "exact")),
        "tangles": lambda a: directives.choice(a, ("graph", "brackets")),
        "fit": directives.unchanged_required,
        "interactive": directives.flag,
    }

    def fail(self, message: str, line: int | None = None) -> _Failure:
        return _Failure(message, self.lineno if line is None else line)

    def resolve(self):
        """(spec text, model for netviz.render, a file to depend on or None)."""
        from . import zoo
        from .errors import NetvizError, SpecError
        from .models import is_trace_target, load
        from .readers import parse_spec

        if self.arguments and self.content:
            raise self.fail("give a model or an inline spec as content, not both")
        if not self.arguments:
            if not "".join(self.content).strip():
                raise self.fail("give a model (zoo name, spec file or PyTorch target) "
                                "or an inline YAML spec as content")
            text = "\n".join(self.content)
            try:
                network = parse_spec(text, file="<inline spec>")
            except SpecError as exc:
                if exc.line is None:
                    raise self.fail(f"inline spec: {exc.message}") from None
                # the content's first line is line content_offset + 1 of the document
                raise self.fail(f"inline spec, line {exc.line} column {exc.col}: {exc.message}",
                                line=self.content_offset + exc.line) from None
            return text, network, None
        arg = self.arguments[0]
        rel, path = self.env.relfn2path(arg, self.env.docname)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                return fh.read(), path, path
        if zoo.exists(arg):
            with open(zoo.path(arg), encoding="utf-8") as fh:
                return fh.read(), arg, None
        if is_trace_target(arg):
            return arg, arg, None
        try:
            load(arg)  # the standard "unknown model" message, with a suggestion
        except NetvizError as exc:
            raise self.fail(str(exc)) from None
        raise self.fail(f"cannot find model {arg!r}")  # pragma: no cover - load always raises

    def run(self):
        try:
            return self.draw()
        except _Failure as exc:
            # Reported as an error at the directive's line; the build goes on to
            # report every broken figure, then exits non-zero (see _finish).
            logger.error("netviz: %s", exc.message, location=(self.env.docname, exc.line),
                         type="netviz", subtype="figure")
            failed = getattr(self.env, "netviz_failed", None)
            if failed is None:
                failed = self.env.netviz_failed = {}
            failed.setdefault(self.env.docname, []).append(exc.message)
            return []

    def draw(self):
        from .errors import NetvizError
        from .figure import write_atomic

        text, model, depends = self.resolve()
        if depends:
            self.env.note_dependency(depends)
        opts = dict(self.options)
        opts["legend"] = "legend" in self.options
        fmt = opts.get("format", "svg")
        opts["format"] = fmt
        key = figure_key(text, opts)
        fname = f"netviz-{key}.{fmt}"
        folder = self.env.netviz_images
        path = os.path.join(folder, fname)
        page = os.path.join(folder, f"netviz-{key}.html") if "interactive" in self.options else None
        wanted = [(p, f) for p, f in ((path, fmt), (page, "html")) if p and not os.path.isfile(p)]
        if wanted:
            try:
                fig = _draw(model, opts)
                drawn = [(p, fig.data(f)) for p, f in wanted]
            except NetvizError as exc:
                raise self.fail(str(exc)) from None
            for note in fig.notes:  # text too small to print at the :fit: width
                logger.warning("netviz: %s", note, location=(self.env.docname, self.lineno))
            os.makedirs(folder, exist_ok=True)
            for p, data in drawn:
                write_atomic(p, data)
        caption = None
        if opts.get("caption"):
            parsed, messages = self.parse_inline(opts["caption"], lineno=self.lineno)
            caption = nodes.caption(opts["caption"], "", *parsed)
        name = self.arguments[0] if self.arguments else "inline spec"
        alt = (opts.get("alt") or (caption.astext() if caption is not None else None)
               or opts.get("title") or f"{name}: netviz figure")
        image = netviz_image("", path=path, fname=fname, format=fmt, alt=alt,
                             width=opts.get("width"), key=key,
                             page=os.path.basename(page) if page else "")
        figure = nodes.figure("", image, classes=["netviz-figure"])
        if opts.get("align"):
            figure["align"] = opts["align"]
        self.set_source_info(figure)
        if caption is not None:
            figure += caption
            return [figure, *messages]
        return [figure]


def _draw(model, opts: dict):
    from . import figure
    return figure.render(model, style=opts.get("style", "bars"), input=opts.get("input"),
                         title=opts.get("title"), legend=opts["legend"],
                         theme=opts.get("theme", "default"), fold=opts.get("fold"),
                         tangles=opts.get("tangles"), fit=opts.get("fit"))


# --- writers ---------------------------------------------------------------

def html_visit(self, node):
    from .reports import inline_svg

    width = node.get("width")
    size = f"width: {width}; " if width else ""
    alt = self.attval(node["alt"])
    if node.get("page"):  # the interactive figure, in a frame, and a link to it alone
        uri = self.attval(posixpath.join(self.builder.imgpath, node["page"]))
        self.body.append(f'<iframe class="netviz-interactive" src="{uri}" title="{alt}" loading="lazy" '
                         f'style="{size or "width: 100%; "}height: 560px; border: 1px solid #ddd">'
                         f'</iframe>\n<p class="netviz-interactive-link"><a href="{uri}">Open the '
                         f'interactive figure on its own page</a></p>\n')
        raise nodes.SkipNode
    if node["format"] == "svg":
        count = getattr(self, "_netviz_count", 0) + 1
        self._netviz_count = count  # the same figure twice on a page keeps unique ids
        with open(node["path"], encoding="utf-8") as fh:
            svg = inline_svg(fh.read(), f"nv{node['key'][:8]}-{count}")
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{alt}" '
                                   f'style="max-width: 100%; height: auto" ', 1)
        style = f' style="{size}max-width: 100%"' if width else ""
        self.body.append(f'<div class="netviz"{style}>{svg}</div>\n')
    else:
        uri = posixpath.join(self.builder.imgpath, node["fname"])
        self.body.append(f'<img class="netviz" src="{self.attval(uri)}" alt="{alt}" '
                         f'style="{size}max-width: 100%; height: auto" />\n')
    raise nodes.SkipNode


def text_visit(self, node):
    self.add_text(f"[{node['alt']}]")
    raise nodes.SkipNode


def latex_visit(self, node):
    self.body.append(self.encode(f"[{node['alt']}]"))
    raise nodes.SkipNode


def plain_visit(self, node):
    self.body.append(f"[{node['alt']}]")
    raise nodes.SkipNode


# --- failures: the build exits non-zero, and failed documents are read again next time

def _purge(app, env, docname):
    getattr(env, "netviz_failed", {}).pop(docname, None)


def _merge(app, env, docnames, other):
    failed = getattr(other, "netviz_failed", {})
    if failed:
        if not hasattr(env, "netviz_failed"):
            env.netviz_failed = {}
        env.netviz_failed.update(failed)


def _outdated(app, env, added, changed, removed):
    return [d for d in getattr(env, "netviz_failed", {}) if d not in added | changed | removed]


def _start(app):
    """Where this build's figures go: the builder's image folder."""
    imagedir = getattr(app.builder, "imagedir", "") or "_images"
    app.env.netviz_images = os.path.join(str(app.builder.outdir), imagedir)


def _finish(app, exception):
    failed = getattr(app.env, "netviz_failed", {}) if app.env is not None else {}
    if exception is None and failed:
        count = sum(map(len, failed.values()))
        logger.info("netviz: %d figure%s could not be drawn", count, "" if count == 1 else "s")
        app.statuscode = 2


def setup(app):
    from . import __version__

    app.add_node(netviz_image,
                 html=(html_visit, None), epub=(html_visit, None), singlehtml=(html_visit, None),
                 text=(text_visit, None), latex=(latex_visit, None),
                 man=(plain_visit, None), texinfo=(plain_visit, None))
    app.add_directive("netviz", NetvizDirective)
    app.connect("builder-inited", _start)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _finish)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
