"""Smallest text of every figure when printed at a paper's column (85 mm)
and page (178 mm) width: as drawn, and laid out with --fit.

Run: python benchmarks/print_sizes.py [--traced]   (a Markdown table)
--traced adds torchvision's vit_b_16 and densenet121, traced on the meta device.
"""
from __future__ import annotations

import argparse
import warnings

import netviz
from netviz import pagefit, zoo
from netviz.errors import UsageError
from netviz.styles import STYLES


def row(name: str, shaped, style: str) -> str | None:
    try:
        plain = netviz.render(shaped, style=style)
    except UsageError:  # org draws chains only
        return None
    cells = [f"{plain.scene.width:.0f}"]
    for mm in (85, 178):
        cells.append(f"{pagefit.printed_pt(plain.scene, mm):.1f}")
    for fit in ("column", "page"):
        fig = netviz.render(shaped, style=style, fit=fit)
        pt = pagefit.printed_pt(fig.scene, fig.scene.print_width)
        cells.append(f"{pt:.1f}" + (" (warned)" if fig.notes else ""))
    cells.append(f"{fig.scene.width}x{fig.scene.height}")
    return f"| {name} | {style} | " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traced", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print("| model | style | width px | pt at 85 mm, as drawn | pt at 178 mm, as drawn | pt, --fit column | "
          "pt, --fit page | --fit page size px |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    models = [(m, {}) for m in zoo.names()]
    if args.traced:
        models += [(f"torchvision:{m}", {"device": "meta"}) for m in ("vit_b_16", "densenet121")]
    for model, kw in models:
        shaped = netviz.shaped(model, **kw)  # shaped (or traced) once, drawn three times per style
        for style in STYLES:
            line = row(model, shaped, style)
            if line:
                print(line)


if __name__ == "__main__":
    main()
