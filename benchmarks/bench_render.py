"""Rendering speed: the CLI as a cold process (SVG and PNG), a long generated
chain (growth with size), and torchview + graphviz on the same network.

Run: python benchmarks/bench_render.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))


def cold(args, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "netviz", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def chain(n: int):
    from netviz.ir import Layer, Network
    layers = [Layer("input", "input", {"shape": (8, 32, 32)})]
    prev = "input"
    for i in range(n - 1):
        name = f"conv{i}" if i % 2 == 0 else f"relu{i}"
        if i % 2 == 0:
            layers.append(Layer(name, "conv", {"out": 8, "kernel": (3, 3), "stride": (1, 1), "pad": (1, 1),
                                               "dilation": (1, 1), "groups": 1, "bias": True}, (prev,)))
        else:
            layers.append(Layer(name, "relu", {}, (prev,)))
        prev = name
    return Network("chain", tuple(layers))


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    opts = ap.parse_args()
    out = tempfile.mkdtemp()
    rows = []
    svg = cold(["render", "alexnet", "--style", "short", "-o", os.path.join(out, "a.svg")], opts.runs)
    rows.append(("`netviz render alexnet --style short -o a.svg`, cold process, median", svg, 0.25))
    png = cold(["render", "alexnet", "--style", "short", "-o", os.path.join(out, "a.png")], max(5, opts.runs // 3))
    rows.append(("same, `-o a.png`, cold process, median", png, 1.5))

    import netviz
    sizes = {}
    for n in (2000, 20000):
        net = chain(n)
        sizes[n] = timed(lambda: netviz.render(net, style="bars").svg())
    rows.append(("2,000-layer chain to SVG (bars), in process, best of 3", sizes[2000], 1.0))
    rows.append(("20,000-layer chain to SVG, ratio to 2,000 (linear = 10)", sizes[20000] / sizes[2000], 12))

    tv = None
    try:
        import torchvision
        from torchview import draw_graph
        if shutil.which("dot"):
            def torchview_svg():
                model = torchvision.models.alexnet(weights=None)
                g = draw_graph(model, input_size=(1, 3, 224, 224), device="cpu")
                g.visual_graph.pipe(format="svg")
            tv = timed(torchview_svg)
            nv = timed(lambda: netviz.render("alexnet-torchvision", style="bars").svg())
            rows.append(("torchview draw_graph(torchvision alexnet) to SVG with graphviz, in process", tv, None))
            rows.append(("netviz alexnet-torchvision to SVG, in process", nv, None))
            rows.append(("torchview time / netviz time (target >= 10)", tv / nv, 10))
            nt = timed(lambda: netviz.render("torchvision:alexnet", style="bars", device="meta").svg())
            rows.append(("netviz `torchvision:alexnet` traced on meta and drawn to SVG, in process", nt, None))
            rows.append(("torchview time / netviz traced time (target >= 10)", tv / nt, 10))
    except ImportError as exc:
        print(f"torchview comparison skipped: {exc}")

    print("| measurement | result | target |")
    print("| --- | --- | --- |")
    for name, value, target in rows:
        unit = "" if "ratio" in name or "/" in name else " s"
        tgt = "" if target is None else (f">= {target}" if "target >=" in name else f"<= {target}{unit}")
        print(f"| {name} | {value:.3f}{unit} | {tgt} |")
    shutil.rmtree(out)


if __name__ == "__main__":
    main()
