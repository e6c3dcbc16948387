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


def cold_style_rows(styles: list[str], target: str, out: str, runs: int) -> list:
    """Rows for `netviz render alexnet --style S` as a cold process for each of
    STYLES (the first is measured against TARGET, the others are there to
    compare) and for a bare `import netviz.cli`, the start-up floor."""
    cmd = [sys.executable, "-m", "netviz", "render", "alexnet", "-o"]
    commands = {s: cmd + [os.path.join(out, f"{s}.svg"), "--style", s] for s in styles}
    commands["bare"] = [sys.executable, "-c", "import netviz.cli"]
    med = cold(commands, runs)
    rows = []
    for name in commands:
        label = ("`python -c 'import netviz.cli'` (start-up floor)" if name == "bare" else
                 f"`netviz render alexnet --style {name} -o a.svg`" if name == styles[0] else
                 f"`--style {name}` (comparison)")
        rows.append((f"{label}, cold process, median wall time", med[name][0],
                     target if name == styles[0] else ""))
        rows.append(("same, median CPU time (user + system)", med[name][1], ""))
    return rows


def print_rows(rows) -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| measurement | result | target |")
    print("| --- | --- | --- |")
    for name, value, target in rows:
        shown = f"{value:.3f} s" if value >= 0.05 else f"{value * 1000:.2f} ms"
        print(f"| {name} | {shown} | {target} |")


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
    try:
        rows = cold_style_rows(["org", "bars"], "<= 0.3 s", out, opts.runs)

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
    print_rows(rows)


if __name__ == "__main__":
    main()
