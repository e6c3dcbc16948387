"""The graph style beside torchview, model by model, measured in one run:
figure size (PNG pixels) and time, as a cold process (`netviz render ...
--style graph -o x.png`; a `python -c` that imports torchview, draws the
same model and writes its PNG) and in process (scene + PNG, after the
imports). Then cold `netviz render resnet50` in the graph and bars styles.

Spec models are handed to torchview as the torch module netviz builds from
the spec (netviz.build), so both draw the same network.

Run: python benchmarks/bench_graph.py [--models a,b] [--no-cold]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {  # netviz MODEL, its input
    "alexnet": ("alexnet", (3, 227, 227)),
    "resnet50": ("resnet50", (3, 224, 224)),
    "googlenet": ("googlenet", (3, 224, 224)),
    "torchvision resnet18": ("torchvision:resnet18", (3, 224, 224)),
    "vit_b_16": ("torchvision:vit_b_16", (3, 224, 224)),
    "U-Net": (os.path.join(ROOT, "examples", "unet.yaml"), (1, 64, 64)),
    "two heads": (os.path.join(ROOT, "examples", "two_heads.yaml"), (3, 32, 32)),
}

TORCHVIEW = """
import sys, time
t = time.perf_counter()
import torch, torchview
model, size, out = sys.argv[1], tuple(map(int, sys.argv[2].split("x"))), sys.argv[3]
if model.startswith("torchvision:"):
    import torchvision
    m = getattr(torchvision.models, model.split(":")[1])(weights=None)
else:
    import netviz.build
    m = netviz.build.build(model)
m.eval()
g = torchview.draw_graph(m, input_size=(1,) + size, device="meta", depth=3)
g.visual_graph.render(out, format="png", cleanup=True)
"""


def png_size(path: str) -> tuple[int, int]:
    from PIL import Image
    with Image.open(path) as im:
        return im.size


def cold(cmd: list[str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True)
    return time.perf_counter() - t if r.returncode == 0 else float("nan")


def netviz_in_process(model: str, out: str) -> float:
    import netviz
    kw = {"device": "meta"} if ":" in model else {}
    t = time.perf_counter()
    netviz.render(model, style="graph", **kw).save(out)
    return time.perf_counter() - t


def torchview_in_process(model: str, size, out: str) -> float:
    import torchview
    if model.startswith("torchvision:"):
        import torchvision
        m = getattr(torchvision.models, model.split(":")[1])(weights=None)
    else:
        import netviz.build
        m = netviz.build.build(model)
    m.eval()
    t = time.perf_counter()
    g = torchview.draw_graph(m, input_size=(1,) + size, device="meta", depth=3)
    g.visual_graph.render(out, format="png", cleanup=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--no-cold", action="store_true")
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=ROOT)
    rows = []
    for name in opts.models.split(","):
        model, size = MODELS[name]
        nv, tv = os.path.join(tmp, "nv.png"), os.path.join(tmp, "tv")
        dev = ["--device", "meta"] if ":" in model else []
        nv_cold = tv_cold = float("nan")
        if not opts.no_cold:
            nv_cold = cold([sys.executable, "-m", "netviz", "render", model, "--style", "graph", *dev, "-o", nv])
            tv_cold = cold([sys.executable, "-c", TORCHVIEW, model, "x".join(map(str, size)), tv])
        netviz_in_process(model, nv)  # imports and the zoo's caches warm
        nv_in = netviz_in_process(model, nv)
        try:
            tv_in = torchview_in_process(model, size, tv)
            tv_size = png_size(tv + ".png")
        except Exception as exc:  # torchview cannot trace it (a module of two outputs built from a spec)
            print(f"torchview, {name}: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}", flush=True)
            tv_in, tv_size = float("nan"), (0, 0)
        rows.append((name, png_size(nv), nv_cold, nv_in, tv_size, tv_cold, tv_in))
        print(rows[-1], flush=True)
    print("| model | netviz graph: PNG | cold | in process | torchview: PNG | cold | in process |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: |")
    for name, a, ac, ai, b, bc, bi in rows:
        print(f"| {name} | {a[0]}x{a[1]} | {ac:.2f} s | {ai:.2f} s | {b[0]}x{b[1]} | {bc:.2f} s | {bi:.2f} s |")
    if not opts.no_cold:
        out = os.path.join(tmp, "r.svg")
        times = {style: cold([sys.executable, "-m", "netviz", "render", "resnet50", "--style", style, "-o", out])
                 for style in ("bars", "graph", "bars", "graph")}
        print(f"cold netviz render resnet50: graph {times['graph']:.2f} s, bars {times['bars']:.2f} s "
              f"(second of two turns each), ratio {times['graph'] / times['bars']:.2f}")
    _ = env


if __name__ == "__main__":
    main()
