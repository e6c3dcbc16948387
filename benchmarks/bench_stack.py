"""Speed of the ``stack`` style: AlexNet to SVG as a cold process beside the
``short`` style and a bare interpreter start, measured in the same run (the
commands take turns), and the style's own build time in process.

Run: python benchmarks/bench_stack.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

from bench_org import best, cold_style_rows, print_rows  # noqa: E402  (the same turn-taking measurement)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    opts = ap.parse_args()
    out = tempfile.mkdtemp()
    try:
        rows = cold_style_rows(["stack", "short"], "<= 0.25 s", out, opts.runs)

        from netviz.backends import write_bytes
        from netviz.models import shaped
        from netviz.styles import common, short, stack

        options = common.RenderOptions()
        for model in ("alexnet", "resnet50"):
            net = shaped(model)
            rows.append((f"stack build of {model} (scene only), in process, best of 20",
                         best(lambda: stack.build(net, options)), ""))
            rows.append((f"short build of {model} (comparison), in process, best of 20",
                         best(lambda: short.build(net, options)), ""))
        scene = stack.build(shaped("alexnet"), options)
        rows.append(("alexnet stack scene to SVG text, in process, best of 20",
                     best(lambda: write_bytes(scene, "svg")), ""))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print_rows(rows)


if __name__ == "__main__":
    main()
