"""Smallest text of every figure when printed at a paper's column (85 mm)
and page (178 mm) width: as drawn, and laid out with --fit.

Run: python benchmarks/print_sizes.py [--traced] [--style STYLE] [--time] [MODEL ...]
(a Markdown table). --traced adds torchvision's vit_b_16 and densenet121,
traced on the meta device; --style draws one style only; MODEL arguments
(zoo names, spec files, PyTorch targets) replace the zoo; --time adds the
median of 3 renders (scene only) with --fit column.
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import netviz
from netviz import pagefit, zoo
from netviz.errors import UsageError
from netviz.styles import STYLES


def column_ms(shaped, style: str) -> str:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        netviz.render(shaped, style=style, fit="column")
        times.append(time.perf_counter() - t)
    return f"{statistics.median(times) * 1000:.0f}"


def row(name: str, shaped, style: str, timed: bool = False) -> str | None:
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
    if timed:
        cells.append(column_ms(shaped, style))
    return f"| {name} | {style} | " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traced", action="store_true")
    ap.add_argument("--style", choices=list(STYLES))
    ap.add_argument("--time", action="store_true")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print("| model | style | width px | pt at 85 mm, as drawn | pt at 178 mm, as drawn | pt, --fit column | "
          "pt, --fit page | --fit page size px |" + (" --fit column ms |" if args.time else ""))
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |" + (" ---: |" if args.time else ""))
    models = [(m, {}) for m in args.models or zoo.names()]
    if args.traced:
        models += [(f"torchvision:{m}", {"device": "meta"}) for m in ("vit_b_16", "densenet121")]
    for model, kw in models:
        shaped = netviz.shaped(model, **kw)  # shaped (or traced) once, drawn three times per style
        for style in [args.style] if args.style else STYLES:
            line = row(model, shaped, style, args.time)
            if line:
                print(line)


if __name__ == "__main__":
    main()
