"""``netviz gallery`` and ``netviz report``: pages of figures for docs, READMEs and wikis."""
from __future__ import annotations

import os

import click

from ..cli import input_option, model_argument, trace_kwargs, trace_options


def _style_option(f):
    return click.option("--style", "-s", "styles", multiple=True, metavar="STYLE",
                        help="Draw only this style (repeatable). Default: every style.")(f)


def _page_options(f):
    f = click.option("--interactive", is_flag=True, default=False,
                     help="Also write each model's interactive page (pan, zoom, unfold, inspect, "
                          "search; one self-contained HTML file) beside the page, and link it.")(f)
    f = click.option("--template-dir", type=click.Path(file_okay=False), default=None,
                     help="A folder of jinja2 templates that replace the built-in ones "
                          "of the same name.")(f)
    f = click.option("--legend/--no-legend", default=True, show_default=True,
                     help="Draw the legend of cell kinds under each figure.")(f)
    f = click.option("--theme", default="default", show_default=True, help="default or colorblind.")(f)
    return f


@click.command("gallery")
@click.argument("models", nargs=-1, metavar="[MODELS]...")
@click.option("-o", "--output", "out_dir", required=True, metavar="DIR",
              help="Folder to write index.html into (created if missing).")
@_style_option
@click.option("--title", default=None, help="The page's title (default: netviz gallery).")
@_page_options
@trace_options
def gallery_cmd(models, out_dir, styles, title, theme, legend, template_dir, interactive, device, depth,
                profile):
    """A static HTML page of MODELS (default: the whole zoo) in every style.

    Each model comes with its table of shapes, parameters and multiply-adds,
    its warnings and the legend of cell kinds. The page is one file with
    inline SVG: it opens from the file system, with no scripts or web fonts.
    With --interactive, each model's interactive page is written beside it
    (MODEL-interactive.html) and linked.
    """
    from ..reports import gallery

    path = gallery(list(models), out_dir, styles=list(styles) or None, theme=theme, legend=legend,
                   title=title, template_dir=template_dir, interactive=interactive,
                   **trace_kwargs(device, depth, profile))
    click.echo(f"wrote {os.path.relpath(path)}", err=True)


@click.command("report")
@model_argument
@click.option("-o", "--output", required=True, metavar="FILE",
              help="FILE.md (figures are written beside it as FILE-STYLE.svg) "
                   "or FILE.html (one self-contained page).")
@_style_option
@input_option
@click.option("--figure-format", type=click.Choice(["svg", "png"]), default="svg", show_default=True,
              help="Format of the figure files beside a Markdown report.")
@_page_options
@trace_options
def report_cmd(model, output, styles, input_shape, figure_format, theme, legend, template_dir,
               interactive, device, depth, profile):
    """One model's figures and table, as Markdown or a single HTML file.

    For READMEs, MkDocs and wikis: e.g. netviz report alexnet -o alexnet.md
    """
    from ..reports import report

    written = report(model, output, styles=list(styles) or None, input=input_shape, theme=theme,
                     legend=legend, figure_format=figure_format, template_dir=template_dir,
                     interactive=interactive, **trace_kwargs(device, depth, profile))
    click.echo("wrote " + ", ".join(os.path.relpath(p) for p in written), err=True)
