"""Speed of the ``org`` style: the paper's AlexNet figure to SVG as a cold
process (the target: median <= 0.3 s), beside the ``bars`` style and a bare
interpreter start measured in the same run, and the style's own build time.

Run: python benchmarks/bench_org.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def cold(commands: dict, runs: int) -> dict:
    """Median wall time and CPU time (user + system) of each command as a fresh
    process; the commands take turns, so that load from elsewhere falls on all
    of them alike. CPU time is what the process itself costs, whatever else
    the machine is doing."""
    wall = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            wall[name].append(time.perf_counter() - t)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in commands}


def best(fn, repeat=20):
    out = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    opts = ap.parse_args()
    out = tempfile.mkdtemp()
    py = [sys.executable]
    rows = []
    try:
        cmd = py + ["-m", "netviz", "render", "alexnet", "-o"]
        med = cold({
            "org": cmd + [os.path.join(out, "a.svg"), "--style", "org"],
            "bars": cmd + [os.path.join(out, "b.svg"), "--style", "bars"],
            "bare": py + ["-c", "import netviz.cli"],
        }, opts.runs)
        rows.append(("`netviz render alexnet --style org -o a.svg`, cold process, median wall time",
                     med["org"][0], "<= 0.3 s"))
        rows.append(("same, median CPU time (user + system)", med["org"][1], ""))
        rows.append(("`--style bars` (comparison), cold process, median wall time", med["bars"][0], ""))
        rows.append(("same, median CPU time", med["bars"][1], ""))
        rows.append(("`python -c 'import netviz.cli'` (start-up floor), median wall time", med["bare"][0], ""))
        rows.append(("same, median CPU time", med["bare"][1], ""))

        from netviz.figure import render
        from netviz.models import shaped
        from netviz.styles import common, org as org_style

        net = shaped("alexnet")
        options = common.RenderOptions()
        rows.append(("org build of alexnet (scene only), in process, best of 20",
                     best(lambda: org_style.build(net, options)), ""))
        vgg = shaped("vgg16")
        rows.append(("org build of vgg16, streams 2, in process, best of 20",
                     best(lambda: org_style.build(vgg, common.RenderOptions(streams=2))), ""))
        rows.append(("alexnet org to SVG text, in process, best of 20",
                     best(lambda: render("alexnet", style="org").svg()), ""))
    finally:
        shutil.rmtree(out)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| measurement | result | target |")
    print("| --- | --- | --- |")
    for name, value, target in rows:
        print(f"| {name} | {value:.3f} s | {target} |")


if __name__ == "__main__":
    main()
