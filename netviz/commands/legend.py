"""``netviz legend``: the key to the cells, as a figure of its own."""
from __future__ import annotations

import sys

import click


@click.command("legend")
@click.option("-o", "--output", "output", default="netviz-legend.svg", show_default=True, metavar="FILE",
              help="Output file; the format follows its extension (.svg, .png, .pdf). '-' writes SVG "
                   "to stdout.")
@click.option("--theme", default="default", show_default=True, metavar="THEME",
              help="default (the reference colours) or colorblind (Okabe-Ito).")
@click.option("--columns", type=click.IntRange(min=1, max=8), default=4, show_default=True,
              help="How many columns the groups are set in.")
@click.option("--scale", type=float, default=None, help="Output size factor (2 for a sharper PNG).")
def legend_cmd(output, theme, columns, scale):
    """Draw the key to the cells: every cell kind with its name (e.g. netviz legend -o key.png).

    The kinds are grouped as inputs and outputs, hidden, convolution, pooling,
    normalisation, memory, attention and connections: one key for all the bars
    and short figures of a document.
    """
    from dataclasses import replace

    from ..errors import UsageError
    from ..figure import check_destination, legend

    if scale is not None and scale <= 0:
        raise UsageError("--scale must be positive")
    if output != "-":
        check_destination(output)
    fig = legend(theme=theme, columns=columns)
    if scale is not None:
        fig.scene = replace(fig.scene, scale=scale)
    if output == "-":
        sys.stdout.write(fig.svg())
        return
    fig.save(output)
    click.echo(f"wrote {output} ({fig.scene.width * fig.scene.scale:.0f}x"
               f"{fig.scene.height * fig.scene.scale:.0f}, legend)", err=True)
