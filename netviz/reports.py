"""Pages of figures: the HTML gallery and one-model reports (Markdown or HTML).

The library behind ``netviz gallery`` and ``netviz report``. Every model is
shaped once and drawn in every style; the page comes from the jinja2
templates in the project's top-level ``templates/`` folder (shipped inside
the package as ``netviz/templates``). Pages need nothing from the network:
figures are inline SVG (HTML) or files written beside the page (Markdown),
and there are no scripts or web fonts.

Everything is rendered in memory first and written last, into a temporary
folder next to the destination that is then moved into place, so a failure
leaves nothing half-written.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile

from .errors import UsageError

HERE = os.path.dirname(os.path.abspath(__file__))


# --- templates ---------------------------------------------------------------

def templates_dir() -> str:
    """The built-in templates: ``netviz/templates`` (a link to the top-level
    ``templates/`` in a checkout, a real folder in an installed wheel)."""
    inside = os.path.join(HERE, "templates")
    if os.path.isdir(inside):
        return inside
    beside = os.path.join(os.path.dirname(HERE), "templates")  # checkout without symlinks
    if os.path.isdir(beside):
        return beside
    raise UsageError("the netviz templates are missing from this installation: reinstall netviz")


def _autoescape(name: str | None) -> bool:
    return bool(name) and ".html" in name


def environment(template_dir: str | None = None):
    """A jinja2 environment over the built-in templates; templates in
    TEMPLATE_DIR (if given) override those of the same name."""
    import jinja2

    search = [templates_dir()]
    if template_dir is not None:
        if not os.path.isdir(template_dir):
            raise UsageError(f"template folder {template_dir} does not exist")
        search.insert(0, template_dir)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(search), autoescape=_autoescape,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["md_cell"] = md_cell
    env.filters["md_path"] = md_path
    env.filters["visible"] = _visible
    env.filters["md_block"] = md_block
    env.filters["cut_title"] = _cut_title
    env.filters["title_attr"] = _title_attr
    return env


def _cut_title(text) -> str:
    """A title as a page's heading shows it: cut past TITLE_CHARS characters
    (whole in the heading's tooltip, see _title_attr, and in the page's title)."""
    from .safetext import TITLE_CHARS, cut_label
    return cut_label(text, TITLE_CHARS)


def _title_attr(text):
    """`` title="TEXT"`` for a heading whose text _cut_title cut; else nothing."""
    import markupsafe
    text = str(text)
    if _cut_title(text) == text:
        return ""
    return markupsafe.Markup(' title="%s"') % text


def _visible(text) -> str:
    from .safetext import visible
    return visible(text)


def render_template(name: str, template_dir: str | None = None, **context) -> str:
    """Fill template NAME; any template problem is one UsageError line."""
    import jinja2

    env = environment(template_dir)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise UsageError(f"template {where}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise UsageError(f"template {exc.name} not found in {', '.join(env.loader.searchpath)}") from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"template {_where(exc, name)}: {exc.message or exc}") from None
    except RecursionError as exc:
        raise UsageError(f"template {_where(exc, name)}: it includes or calls itself without end") from None
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # a user's template may raise anything (1/0, a bad filter argument)
        raise UsageError(f"template {_where(exc, name)}: {type(exc).__name__}: {exc}") from None


def _where(exc: BaseException, name: str) -> str:
    """TEMPLATE:LINE of the innermost template frame of EXC's traceback
    (jinja2 maps its frames back to the template's file and line)."""
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.endswith((".j2", ".jinja", ".jinja2", ".html", ".md", ".txt"))
              or f.filename == "<template>"]
    if not frames:
        return name
    f = frames[-1]
    return f"{os.path.basename(f.filename)}:{f.lineno}"


# --- SVG for inline use ----------------------------------------------------------

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def inline_svg(svg: str, prefix: str) -> str:
    """SVG text ready to sit inside HTML next to other figures: no XML
    declaration, and every id (and reference to one) prefixed so that ids
    stay unique on the page."""
    svg = _XML_DECL.sub("", svg, count=1)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg).strip()


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s or "model"


# --- what a page shows about one model ----------------------------------------

def table_view(shaped) -> dict:
    """The table of shapes, parameters and MACs as columns and rows of text."""
    from .ir import format_shape

    net = shaped.network
    metric_keys = sorted({k for m in shaped.metrics.values() for k in m})
    branching = not net.is_chain
    columns = ["layer", "type", "output", "params", "MACs"] + metric_keys + (["from"] if branching else [])
    numeric = [False, False, False, True, True] + [True] * len(metric_keys) + ([False] if branching else [])
    rows = []
    for layer in net.layers:
        info = shaped.info[layer.name]
        kind = layer.type if layer.type != "custom" else layer.attrs.get("kind", "custom")
        row = [layer.name, kind, format_shape(info.output), f"{info.params:,}", f"{info.macs:,}"]
        m = shaped.metrics.get(layer.name, {})
        row += [f"{m[k]:.3f}" if k in m else "" for k in metric_keys]
        if branching:
            row.append(", ".join(layer.inputs))
        rows.append(row)
    total = ["total", "", "", f"{shaped.total_params:,}", f"{shaped.total_macs:,}"]
    total += [f"{sum(m.get(k, 0.0) for m in shaped.metrics.values()):.3f}" for k in metric_keys]
    total += [""] if branching else []
    return {"columns": columns, "numeric": numeric, "rows": rows, "total": total}


def model_name(model) -> str:
    if isinstance(model, str):
        return os.path.splitext(os.path.basename(model))[0] if model.endswith(
            (".yaml", ".yml", ".json")) else model
    return getattr(model, "name", None) or type(model).__name__


def model_view(model, styles=None, *, input=None, theme: str = "default", legend: bool = True,
               fmt: str = "svg", prefix: str = "", interactive: bool = False, **trace_options) -> dict:
    """Everything a page shows about MODEL: its figures in every style (SVG
    text, or bytes in FMT for figure files), its table, warnings and notes;
    with INTERACTIVE, its interactive page too (every style, one file)."""
    from . import styles as style_table
    from .figure import render
    from .ir import format_shape
    from .models import shaped as to_shaped

    every_style = styles is None
    styles = list(style_table.STYLES) if every_style else list(styles)
    for name in styles:
        style_table.get(name)  # unknown style: one clear line before any work
    from .figure import _theme
    _theme(theme)  # so is an unknown theme (it would otherwise skip every style)
    shaped = to_shaped(model, input=input, **trace_options)
    name = model_name(model)
    key = prefix or slug(name)
    net = shaped.network
    title = net.title or net.name
    figures, skipped, drawn = [], [], []
    for style in styles:
        try:
            fig = render(shaped, style=style, theme=theme, legend=legend and style != "org",
                         title="")  # the page names the model above its figures
        except UsageError as exc:
            if not every_style:
                raise
            skipped.append(f"not drawn in the {style} style: {exc}")  # e.g. org and a branching network
            continue
        drawn.append(fig)
        svg = fig.svg()
        figures.append({
            "style": style,
            "id": f"{key}-{style}",
            "svg": inline_svg(svg, f"{key}-{style}"),
            "data": svg.encode("utf-8") if fmt == "svg" else fig.data(fmt),
            "width": round(fig.scene.width * fig.scene.scale),
            "height": round(fig.scene.height * fig.scene.scale),
            "alt": _visible(f"{title}, drawn in the {style} style"),
        })
    table = table_view(shaped)
    table["rows"] = [[_visible(c) for c in row] for row in table["rows"]]
    return {
        "name": _visible(name), "slug": key, "title": _visible(title),
        "description": _visible(getattr(net, "description", None) or ""),
        "input": format_shape(shaped.input_shape),
        "layers": len(net.layers),
        "params": f"{shaped.total_params:,}", "macs": f"{shaped.total_macs:,}",
        "figures": figures, "table": table,
        "warnings": [_visible(w) for w in shaped.warnings],
        "notes": [_visible(n) for n in list(shaped.notes) + skipped],
        "interactive": interactive_page(drawn, shaped, title) if interactive else None,
        "link": None,  # the interactive page's file, once it has a name
    }


def interactive_page(figures, shaped, title: str) -> bytes:
    """One model's figures as one interactive page (with a style switch)."""
    from .backends import html
    return html.page(html.views_of(figures), shaped, title).encode("utf-8")


def interactive_name(stem: str) -> str:
    """The interactive page's file name beside a page named STEM."""
    return f"{stem}-interactive.html"


def md_cell(text) -> str:
    """Text from the input shown as written by a Markdown renderer, in a table
    cell, a heading, a list item or link text: no HTML, link, emphasis, code
    or table syntax can form from it (netviz.safetext.markdown_text)."""
    from .safetext import markdown_text
    return markdown_text(text)


def md_block(text) -> str:
    """Several lines of text from the input (a description) as Markdown that
    shows them as written: each line escaped as by :func:`md_cell`."""
    from .safetext import markdown_text
    return "\n".join(markdown_text(line) for line in str(text).splitlines())


def md_path(text) -> str:
    """A file name as the target of a Markdown link or image: percent-encoded,
    so no parenthesis, space or angle bracket ends it early."""
    from urllib.parse import quote
    from .safetext import visible
    return quote(visible(text, one_line=True), safe="/._-")


def _context(**extra) -> dict:
    from . import __version__
    return {"netviz_version": __version__, **extra}


# --- writing -----------------------------------------------------------------

def write_group(folder: str, files: dict[str, bytes], last: str | None = None) -> list[str]:
    """Write FILES (name -> bytes) into FOLDER all or nothing: they are written
    into a temporary folder first, then moved into place (LAST moved last).
    FOLDER is created (with its parents) if missing."""
    folder = os.path.abspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"cannot write into {folder}: it is a file, not a folder")
    exists = os.path.isdir(folder)
    try:
        if not exists:
            os.makedirs(os.path.dirname(folder), exist_ok=True)
        # a temporary folder on the same file system: inside FOLDER, or beside it
        tmp = tempfile.mkdtemp(prefix=".netviz-", dir=folder if exists else os.path.dirname(folder))
    except OSError as exc:
        raise UsageError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    try:
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as fh:
                fh.write(data)
            os.chmod(os.path.join(tmp, name), 0o644)
        if not exists:
            os.chmod(tmp, 0o755)
            os.rename(tmp, folder)
        else:
            order = [n for n in files if n != last] + ([last] if last in files else [])
            for name in order:  # nothing is replaced unless everything can be
                dest = os.path.join(folder, name)
                if os.path.lexists(dest) and (os.path.isdir(dest) or not os.path.isfile(dest)):
                    raise UsageError(f"cannot write {dest}: it is a folder or not a regular file")
            _replace_all(tmp, folder, order)
        return [os.path.join(folder, n) for n in files]
    except OSError as exc:
        raise UsageError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace_all(tmp: str, folder: str, names: list[str]) -> None:
    """Move TMP/NAME onto FOLDER/NAME for every name, all or nothing: the files
    replaced are kept in TMP until the last move succeeded, and put back if
    one fails."""
    keep = os.path.join(tmp, ".replaced")
    os.mkdir(keep)
    saved, moved = [], []
    try:
        for name in names:
            dest = os.path.join(folder, name)
            if os.path.lexists(dest):
                os.link(dest, os.path.join(keep, name)) if not os.path.islink(dest) else \
                    shutil.copy2(dest, os.path.join(keep, name), follow_symlinks=False)
                saved.append(name)
            os.replace(os.path.join(tmp, name), dest)
            moved.append(name)
    except BaseException:
        for name in moved:
            dest = os.path.join(folder, name)
            if name in saved:
                with contextlib.suppress(OSError):
                    os.replace(os.path.join(keep, name), dest)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(dest)
        raise


def gallery(models=None, out_dir: str = "gallery", *, styles=None, theme: str = "default",
            legend: bool = True, title: str | None = None, template_dir: str | None = None,
            interactive: bool = False, **trace_options) -> str:
    """Write DIR/index.html: every model (the zoo by default) in every style,
    with its table, warnings and legend; with INTERACTIVE, each model's
    interactive page beside it (SLUG-interactive.html), linked from the
    gallery. Returns the gallery page's path."""
    from . import zoo

    models = list(models) if models else zoo.names()
    if not models:
        raise UsageError("no models to draw")
    views, used = [], set()
    for model in models:
        key = slug(model_name(model))
        n = 1
        while key in used:
            n += 1
            key = f"{slug(model_name(model))}-{n}"
        used.add(key)
        views.append(model_view(model, styles, theme=theme, legend=legend, prefix=key,
                                interactive=interactive, **trace_options))
    files = {}
    for view in views:
        if view["interactive"] is not None:
            view["link"] = interactive_name(view["slug"])
            files[view["link"]] = view["interactive"]
    page = render_template("gallery.html.j2", template_dir, **_context(
        title=_visible(title or "netviz gallery"), models=views,
        styles=[f["style"] for f in views[0]["figures"]]))
    files["index.html"] = page.encode("utf-8")
    written = write_group(out_dir, files, last="index.html")
    return written[-1]


REPORT_FORMATS = {".md": "report.md.j2", ".markdown": "report.md.j2", ".html": "report.html.j2",
                  ".htm": "report.html.j2"}


def _all_styles():
    from . import styles as style_table
    return list(style_table.STYLES)


def report(model, output: str, *, styles=None, input=None, theme: str = "default",
           legend: bool = True, figure_format: str = "svg", template_dir: str | None = None,
           interactive: bool = False, **trace_options) -> list[str]:
    """Write one model's figures and table: FILE.md with the figures beside it
    (FILE-STYLE.svg), or FILE.html as a single self-contained page; with
    INTERACTIVE, the interactive page beside it too (FILE-interactive.html),
    linked from the report."""
    ext = os.path.splitext(output)[1].lower()
    if ext not in REPORT_FORMATS:
        raise UsageError(f"cannot write {output}: a report is .md or .html, not "
                         f"{ext or 'a file without extension'}")
    if os.path.isdir(output):
        raise UsageError(f"cannot write {output}: it is a folder")
    if figure_format not in ("svg", "png"):
        raise UsageError(f"figure format must be svg or png, not {figure_format!r}")
    markdown = REPORT_FORMATS[ext].startswith("report.md")
    from .fileio import check_not_input
    stem = os.path.splitext(os.path.basename(output))[0]
    folder = os.path.dirname(output) or "."
    for name in [os.path.basename(output)] + [f"{stem}-{st}.{figure_format}" for st in (styles or _all_styles())]:
        check_not_input(os.path.join(folder, name), [model], "report file")
    view = model_view(model, styles, input=input, theme=theme, legend=legend,
                      fmt=figure_format if markdown else "svg", interactive=interactive, **trace_options)
    stem = os.path.splitext(os.path.basename(output))[0]
    files = {}
    if view["interactive"] is not None:
        view["link"] = interactive_name(stem)
        files[view["link"]] = view["interactive"]
    for fig in view["figures"]:
        fig["file"] = f"{stem}-{fig['style']}.{figure_format}"
        if markdown:
            files[fig["file"]] = fig["data"]
    text = render_template(REPORT_FORMATS[ext], template_dir, **_context(model=view))
    files[os.path.basename(output)] = text.encode("utf-8")
    return write_group(os.path.dirname(output) or ".", files, last=os.path.basename(output))
