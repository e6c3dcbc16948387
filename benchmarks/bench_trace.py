"""Speed and memory of the tracer.

1. Tracing resnet152 and vit_b_16 on meta with netviz (torch.fx, then the
   hooks fallback) beside torchview's draw_graph on the same model object,
   the three taking turns in each round; best of --runs.
2. Peak resident memory of a process that traces vit_h_14 (632M parameters)
   on meta, beside a process that only imports torch and torchvision and
   builds the same model on meta (the floor).
3. Trace time against depth: a chain of N conv-bn-relu blocks (N = 16 ... 256)
   and N blocks nested N modules deep, on meta; time per block should stay
   flat if the time grows linearly.
4. Cold start: a fresh process running `netviz render torchvision:resnet152
   -o r.svg` (default --device auto, which is meta without a GPU), beside a
   fresh `python -c "import torch, torchvision"` (the floor) and the same
   render with --device cpu (a real forward, every weight initialised) and
   --device meta, taking turns; median of --runs.

Run: python benchmarks/bench_trace.py [--runs N] [--only cold]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RSS_SCRIPT = """
import resource, sys, warnings
warnings.simplefilter("ignore")
import torch, torchvision
if sys.argv[1] == "trace":
    from netviz.trace import trace_target
    s = trace_target("torchvision:vit_h_14", device="meta")
    assert s.total_params == 632045800, s.total_params
else:
    with torch.device("meta"):
        torchvision.models.vit_h_14()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def best(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def versus_torchview(runs):
    import torch
    import torchvision
    from torchview import draw_graph

    from netviz.trace import trace_module
    rows = []
    for name in ("resnet152", "vit_b_16"):
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None)
        shape = (3, 224, 224)
        fx, hooks, tv = [], [], []
        for _ in range(runs):  # turns: load on the machine falls on all alike
            fx.append(best(lambda: trace_module(model, shape, device="meta"), 1))
            hooks.append(best(lambda: trace_module(model, shape, device="meta",
                                                   method="hooks"), 1))
            tv.append(best(lambda: draw_graph(model, input_size=(1, *shape), device="meta"), 1))
        layers = len(trace_module(model, shape, device="meta").layers)
        rows.append((name, layers, min(fx), min(hooks), min(tv)))
    print("| model | layers | netviz (torch.fx) | netviz (hooks) | torchview draw_graph | "
          "torchview / netviz fx |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, layers, fx, hooks, tv in rows:
        print(f"| {name} | {layers} | {fx * 1e3:.0f} ms | {hooks * 1e3:.0f} ms | "
              f"{tv * 1e3:.0f} ms | {tv / fx:.1f}x |")


def peak_memory():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = {}
    for what in ("floor", "trace"):
        r = subprocess.run([sys.executable, "-c", RSS_SCRIPT, what], capture_output=True,
                           text=True, env=env, check=True)
        out[what] = int(r.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux
    print("| process | peak RSS |")
    print("| --- | --- |")
    print(f"| import torch, torchvision; build vit_h_14 on meta (floor) | {out['floor']:.0f} MB |")
    print(f"| same + netviz trace of vit_h_14 on meta | {out['trace']:.0f} MB |")


def chain(n):
    from torch import nn
    blocks = [nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
              for _ in range(n)]
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), *blocks)


def nested(n):
    from torch import nn

    class Level(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.conv = nn.Conv2d(16, 16, 3, padding=1)
            self.inner = inner

        def forward(self, x):
            x = self.conv(x).relu()
            return self.inner(x) if self.inner is not None else x

    model = None
    for _ in range(n):
        model = Level(model)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), model)


def depth_scaling(runs):
    import torch

    from netviz.trace import trace_module
    print("| blocks N | chain: time | per block | nested N deep: time | per block |")
    print("| --- | --- | --- | --- | --- |")
    for n in (16, 32, 64, 128, 256):
        with torch.device("meta"):
            a, b = chain(n), nested(n)
        ta = best(lambda: trace_module(a, (3, 32, 32), device="meta"), runs)
        tb = best(lambda: trace_module(b, (3, 32, 32), device="meta"), runs)
        print(f"| {n} | {ta * 1e3:.1f} ms | {ta / n * 1e3:.3f} ms | {tb * 1e3:.1f} ms | "
              f"{tb / n * 1e3:.3f} ms |")


def cold_start(runs):
    import statistics
    import tempfile
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.svg")
        render = [sys.executable, "-m", "netviz", "render", "torchvision:resnet152", "-o", out]
        commands = {
            "python -c \"import torch, torchvision\" (floor)":
                [sys.executable, "-c", "import torch, torchvision"],
            "netviz render torchvision:resnet152 -o r.svg (--device auto)": render,
            "same, --device meta": render + ["--device", "meta"],
            "same, --device cpu": render + ["--device", "cpu"],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(runs):  # turns: load on the machine falls on all alike
            for label, cmd in commands.items():
                t = time.perf_counter()
                subprocess.run(cmd, check=True, env=env, capture_output=True)
                times[label].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = next(iter(med.values()))
    print("| command (fresh process) | median | / floor |")
    print("| --- | ---: | ---: |")
    for label, t in med.items():
        print(f"| {label} | {t:.2f} s | {t / floor:.2f}x |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=["cold"], default=None)
    args = ap.parse_args()
    runs = args.runs
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(10000)
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    if args.only == "cold":
        cold_start(runs)
        return
    versus_torchview(runs)
    print()
    peak_memory()
    print()
    depth_scaling(max(1, runs // 2))
    print()
    cold_start(runs)


if __name__ == "__main__":
    main()
