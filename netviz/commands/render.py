"""``netviz render``: draw a network to SVG, PNG, PDF or an interactive HTML page."""
from __future__ import annotations

import sys

import click

from ..cli import input_option, say, trace_kwargs, trace_options


@click.command("render", short_help="Draw MODEL as a figure: SVG, PNG, PDF or interactive HTML.")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--style", "-s", default="bars", show_default=True, metavar="STYLE",
              help="bars (cells and a bar chart), short (conv+pool merged), org (the paper's "
                   "two-stream figure), stack (a column of labelled boxes), blocks (3D boxes) or "
                   "graph (cells laid out by Graphviz).")
@click.option("-o", "--output", "output", default=None, metavar="FILE",
              help="Output file; the format follows its extension (.svg, .png, .pdf, or .html: "
                   "the interactive figure in one file). '-' writes SVG to stdout. "
                   "Default: MODEL-STYLE.svg.")
@input_option
@click.option("--title", default=None,
              help="A title drawn above the figure (default: the spec's title; --title '' for none).")
@click.option("--labels/--no-labels", default=True, show_default=True, help="Draw kernel and size labels.")
@click.option("--legend/--no-legend", default=False, help="Add a legend of the kinds drawn (every style but org).")
@click.option("--theme", default="default", show_default=True, metavar="THEME",
              help="default (the reference colours) or colorblind (Okabe-Ito).")
@click.option("--width", type=float, default=None, help="Output width in pixels (keeps the aspect).")
@click.option("--scale", type=float, default=None, help="Output size factor (2 for a sharper PNG).")
@click.option("--streams", type=click.IntRange(min=1), default=None,
              help="org style: split the network into N streams.")
@click.option("--bar-metric", default="size", show_default=True,
              type=click.Choice(["size", "params", "macs", "time", "memory"]),
              help="What the bars of the bars style show (time and memory need --profile).")
@click.option("--expand", is_flag=True, default=False,
              help="bars, short, graph: draw every repeated module (ResNet's blocks) instead of one marked xN.")
@click.option("--fit", default=None, metavar="WIDTH",
              help="Lay the figure out for a printed width: column (85 mm), page (178 mm) or e.g. 120mm; "
                   "long rows wrap so that text prints at 6 pt or more, and the SVG and PDF carry that size.")
@click.option("--fold", type=click.Choice(["structure", "exact"]), default=None,
              help="bars, short: fold modules of one structure, drawn once with their count and a table "
                   "of what differs (default), or only identical ones (exact).")
@click.option("--tangles", type=click.Choice(["graph", "brackets"]), default=None,
              help="bars, short: draw a part that does not split into modules in a frame laid out by "
                   "Graphviz (graph, the default where dot is installed) or keep the row with brackets "
                   "over it (brackets).")
@click.option("--direction", type=click.Choice(["TB", "LR"], case_sensitive=False), default=None,
              help="graph: top-down (TB, the default) or left to right (LR).")
@click.option("--max-nodes", type=click.IntRange(min=1), default=None,
              help="graph: refuse a network of more cells and edges than this (default 1000) "
                   "rather than wait minutes for Graphviz; bars, short: keep the row with brackets "
                   "where a part laid out by Graphviz would have more (at most 120).")
@trace_options
def render(models, style, output, input_shape, title, labels, legend, theme, width, scale, streams,
           bar_metric, expand, fold, tangles, fit, direction, max_nodes, device, depth, profile):
    """Draw MODEL as a figure (e.g. netviz render alexnet --style short -o alexnet.svg).

    Several models (netviz render vgg11 vgg13 vgg16 vgg19) are drawn one row
    each, aligned on their feature-map sizes, in the bars or short style.
    """
    from ..figure import check_destination, default_name
    from ..fileio import check_not_input
    from ..figure import render as do_render

    if models.count("-") > 1:
        from ..errors import UsageError
        raise UsageError("standard input ('-') holds one spec: give it once")
    model = models[0] if len(models) == 1 else list(models)
    stem = "-".join(default_name(m, style)[:-len(f"-{style}.svg")] for m in models)
    if output is None and "-" not in models:
        output = default_name(models[0], style) if len(models) == 1 else default_name(stem, style)
    if output not in (None, "-"):
        check_destination(output)  # a bad extension or folder is refused before any work
        check_not_input(output, models)
    fig = do_render(model, style=style, input=input_shape, title=title, labels=labels, legend=legend,
                    theme=theme, width=width, scale=scale, streams=streams, bar_metric=bar_metric,
                    expand=expand, fold=fold, tangles=tangles, fit=fit, direction=direction,
                    max_nodes=max_nodes, **trace_kwargs(device, depth, profile))
    if output is None:  # a spec from standard input: named by its name
        shapeds = fig.shaped if isinstance(fig.shaped, list) else [fig.shaped]
        from ..safetext import file_stem
        output = f"{file_stem('-'.join(s.network.name for s in shapeds))}-{style}.svg"
    for warning in fig.warnings:
        say(f"warning: {warning}")
    if output == "-":
        sys.stdout.write(fig.svg())
        sys.stdout.flush()
        return
    fig.save(output)
    say(f"wrote {output} ({fig.scene.width * fig.scene.scale:.0f}x"
        f"{fig.scene.height * fig.scene.scale:.0f}, {fig.style})")
