"""Parts that do not split into modules, in the bars style: laid out by
Graphviz's dot in a frame in the row (the default) against the row with
brackets (--tangles brackets), measured in the same run, for the examples
and for dense blocks (every layer reads all before it) up to the largest
part dot is handed (120 cells and edges).

Run: python benchmarks/bench_tangles.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_branching import timed  # noqa: E402  (the same median of runs)


def dense_block(layers: int):
    """A stem, then LAYERS pairs of convolutions, each pair reading the
    concatenation of everything before it (written flat), then an fc."""
    from netviz.readers import parse_spec
    text, prev = "name: dense\ninput: 4x8x8\nlayers:\n  - conv: {name: stem, out: 8, kernel: 1}\n", ["stem"]
    for i in range(layers):
        src = prev[0] if len(prev) == 1 else f"cat{i}"
        if len(prev) > 1:
            text += f"  - concat: {{name: cat{i}, inputs: [{', '.join(prev)}]}}\n"
        text += (f"  - conv: {{name: b{i}, out: 8, kernel: 1, inputs: {src}}}\n"
                 f"  - conv: {{name: d{i}, out: 4, kernel: 3, pad: 1}}\n")
        prev.append(f"d{i}")
    text += f"  - concat: {{name: out, inputs: [{', '.join(prev)}]}}\n  - flatten\n  - fc: {{name: fc, out: 10}}\n"
    return parse_spec(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import netviz
    from netviz.styles import bars
    from netviz.styles.modules import Tangle, plan

    cases = [(name, netviz.shaped(os.path.join(ROOT, "examples", f"{name}.yaml")))
             for name in ("nas_cells", "two_heads")]
    cases += [(f"dense block of {n}", netviz.shaped(dense_block(n))) for n in (3, 6, 10)]
    print("| network | cells and edges in its parts | laid out by dot: scene + SVG | size "
          "| row with brackets | size |")
    print("| --- | --- | ---: | --- | ---: | --- |")
    for name, shaped in cases:
        items = plan(shaped.network, bars.columns(shaped), nested=False, tangles=120) or []
        sizes = [len(t.cols) + len(t.edges) for t in items if isinstance(t, Tangle)]
        fig = netviz.render(shaped, fold="exact")
        row = netviz.render(shaped, fold="exact", tangles="brackets")
        t_dot = timed(lambda: netviz.render(shaped, fold="exact").svg(), args.runs)
        t_row = timed(lambda: netviz.render(shaped, fold="exact", tangles="brackets").svg(), args.runs)
        print(f"| {name} | {', '.join(map(str, sizes)) or '-'} | {t_dot * 1000:.0f} ms "
              f"| {fig.scene.width}x{fig.scene.height} | {t_row * 1000:.0f} ms "
              f"| {row.scene.width}x{row.scene.height} |")


if __name__ == "__main__":
    main()
