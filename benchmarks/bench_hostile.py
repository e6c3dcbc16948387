"""Time, peak memory and figure size of specs of a few hundred bytes with
extreme numbers or long text, drawn in every style, beside AlexNet drawn the
same way in the same run: each command in a fresh process, its peak
resident size from getrusage.

Run: python benchmarks/bench_hostile.py [--tree PATH ...]

Each --tree is a netviz source tree to measure (put first on PYTHONPATH), so
a tree before a change and one after it are measured in one run, taking
turns; without --tree, this checkout.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAD = "input: 3x32x32\nlayers:\n"
SPECS = {
    "alexnet (reference)": None,
    "map of 10^12 (1x10^6x10^6)": HEAD + "  - custom: {kind: x, output: [1, 1000000, 1000000]}\n  - relu\n",
    "vector of 10^12": HEAD + "  - custom: {kind: x, output: [1000000000000]}\n  - fc: 10\n",
    "10^9 channels": HEAD + "  - conv: {out: 1000000000, kernel: 1}\n  - relu\n",
    "deconv x1000": HEAD + "  - deconv: {out: 1, kernel: 1000, stride: 1000}\n  - relu\n",
    "kind of 5,000 chars": HEAD + "  - custom: {kind: " + "k" * 5000 + ", output: [3, 32, 32]}\n  - relu\n",
    "conv out 10^14 (refused)": HEAD + "  - conv: {out: 100000000000000, kernel: 3}\n",
}
STYLES = ["bars", "short", "org", "stack", "blocks", "graph"]

_ONE = r"""
import json, resource, sys, time
from netviz import cli
start = time.perf_counter()
try:
    cli.run(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
print(json.dumps([code, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))
"""


def measure(tree: str, argv: list[str], cwd: str) -> tuple[int, float, float]:
    env = dict(os.environ, PYTHONPATH=tree)
    proc = subprocess.run([sys.executable, "-c", _ONE, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    return tuple(json.loads(proc.stdout.strip().splitlines()[-1]))


def figure_size(path: str) -> str:
    import xml.etree.ElementTree as ET
    if not os.path.exists(path):
        return "-"
    root = ET.parse(path).getroot()
    return f"{float(root.get('width')):.0f}x{float(root.get('height')):.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", action="append", default=None)
    opts = ap.parse_args()
    trees = opts.tree or [ROOT]
    work = tempfile.mkdtemp()
    print("| spec | style | " + " | ".join(f"tree {k + 1}: s, peak MB, figure px" for k in range(len(trees))) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in trees) + " |")
    for name, text in SPECS.items():
        model = "alexnet"
        if text is not None:
            model = "net.yaml"
            with open(os.path.join(work, model), "w", encoding="utf-8") as fh:
                fh.write(text)
        for style in STYLES:
            cells = []
            for k, tree in enumerate(trees):  # the trees take turns
                out = f"t{k}-{style}.svg"
                code, seconds, mb = measure(tree, ["render", model, "-s", style, "-o", out], work)
                size = figure_size(os.path.join(work, out)) if code == 0 else f"refused ({code})"
                cells.append(f"{seconds:.2f}, {mb:.0f}, {size}")
                if os.path.exists(os.path.join(work, out)):
                    os.remove(os.path.join(work, out))
            print(f"| {name} | {style} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
