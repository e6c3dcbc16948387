"""Branching networks in the bars style: the module layout (frames, lanes,
repeats) against the one-row layout with brackets that netviz falls back to,
measured in the same run; and how the time grows with the number of blocks.

Run: python benchmarks/bench_branching.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import time
from unittest import mock


def residual_chain(blocks: int):
    """BLOCKS residual blocks (two 3x3 convs with batchnorm, identity
    shortcut), alternating kernel sizes so that no two neighbours repeat."""
    from netviz.readers import parse_spec
    text, src = "name: chain\ninput: 8x16x16\nlayers:\n", "input"
    for i in range(blocks):
        k = 1 + 2 * (i % 2)
        text += (f"  - conv: {{name: c{i}a, out: 8, kernel: {k}, pad: {k // 2}, inputs: {src}}}\n"
                 f"  - batchnorm\n  - relu\n  - conv: {{name: c{i}b, out: 8, kernel: 3, pad: 1}}\n"
                 f"  - batchnorm: {{name: n{i}b}}\n  - add: {{name: s{i}, inputs: [n{i}b, {src}]}}\n"
                 f"  - relu: {{name: r{i}}}\n")
        src = f"r{i}"
    return parse_spec(text)


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import netviz

    print("| network | layers | modules, every one drawn (--expand): scene + SVG | size "
          "| one row with brackets | size | modules, repeats folded: size |")
    print("| --- | ---: | ---: | --- | ---: | --- | --- |")
    cases = [("resnet50", netviz.shaped("resnet50")), ("googlenet", netviz.shaped("googlenet"))]
    cases += [(f"{n} residual blocks", netviz.shaped(residual_chain(n))) for n in (100, 1000)]
    for name, shaped in cases:
        def draw():
            return netviz.render(shaped, style="bars", expand=True).svg()
        fig = netviz.render(shaped, style="bars", expand=True)
        folded = netviz.render(shaped, style="bars").scene
        t_mod = timed(draw, args.runs)
        with mock.patch("netviz.styles.modules.plan", return_value=None):
            flat = netviz.render(shaped, style="bars")
            t_flat = timed(draw, args.runs)
        print(f"| {name} | {len(shaped.layers)} | {t_mod * 1000:.0f} ms | {fig.scene.width}x{fig.scene.height} "
              f"| {t_flat * 1000:.0f} ms | {flat.scene.width}x{flat.scene.height} "
              f"| {folded.width}x{folded.height} |")


if __name__ == "__main__":
    main()
