"""Folding by structure against folding identical modules only
(``--fold exact``), measured in the same run: the width of each figure at
the default scale, and the time to draw the branching benchmark's chains of
residual blocks (folding must stay linear in the graph).

Run: python benchmarks/bench_fold.py [--runs N] [--no-trace]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench_branching import residual_chain, timed  # noqa: E402

ZOO = ("resnet50", "resnet18", "googlenet")
TRACED = ("densenet121", "efficientnet_b0", "mobilenet_v2", "vit_b_16")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-trace", action="store_true", help="leave out the traced torchvision models")
    args = ap.parse_args()
    import netviz

    models = [(name, netviz.shaped(name)) for name in ZOO]
    if not args.no_trace:
        models += [(name, netviz.shaped(f"torchvision:{name}", device="meta")) for name in TRACED]
    print("| network | style | --fold exact: width | by structure (default): width | xN marks |")
    print("| --- | --- | ---: | ---: | --- |")
    for name, shaped in models:
        for style in ("bars", "short"):
            exact = netviz.render(shaped, style=style, fold="exact").scene
            folded = netviz.render(shaped, style=style)
            found = [c.text for g in _walk(folded.scene) if getattr(g, "cls", None) == "repeats"
                     for c in g.children]
            print(f"| {name} | {style} | {exact.width} | {folded.scene.width} | {' '.join(found) or '-'} |")
    print()
    print("| network | layers | --fold exact: scene + SVG | by structure: scene + SVG |")
    print("| --- | ---: | ---: | ---: |")
    for n in (100, 1000):
        shaped = netviz.shaped(residual_chain(n))
        t_exact = timed(lambda: netviz.render(shaped, style="bars", fold="exact").svg(), args.runs)
        t_struct = timed(lambda: netviz.render(shaped, style="bars").svg(), args.runs)
        print(f"| {n} residual blocks | {len(shaped.layers)} | {t_exact * 1000:.0f} ms | {t_struct * 1000:.0f} ms |")


def _walk(scene):
    stack = list(scene.children)
    while stack:
        item = stack.pop()
        yield item
        stack.extend(getattr(item, "children", ()))


if __name__ == "__main__":
    main()
