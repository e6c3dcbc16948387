"""Speed of the ``blocks`` style: AlexNet to SVG as a cold process beside the
``org`` and ``short`` styles and a bare interpreter start, measured in the
same run (the commands take turns), and the style's own build time in process.

Run: python benchmarks/bench_blocks.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

from bench_org import best, cold  # noqa: E402  (the same turn-taking measurement)


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
            "blocks": cmd + [os.path.join(out, "a.svg"), "--style", "blocks"],
            "org": cmd + [os.path.join(out, "b.svg"), "--style", "org"],
            "short": cmd + [os.path.join(out, "c.svg"), "--style", "short"],
            "bare": py + ["-c", "import netviz.cli"],
        }, opts.runs)
        for name, label in (("blocks", "`netviz render alexnet --style blocks -o a.svg`"),
                            ("org", "`--style org` (comparison)"), ("short", "`--style short` (comparison)"),
                            ("bare", "`python -c 'import netviz.cli'` (start-up floor)")):
            rows.append((f"{label}, cold process, median wall time", med[name][0],
                         "<= 0.25 s" if name == "blocks" else ""))
            rows.append(("same, median CPU time (user + system)", med[name][1], ""))

        from netviz.backends import write_bytes
        from netviz.models import shaped
        from netviz.styles import blocks, common, org

        options = common.RenderOptions()
        for model in ("alexnet", "vgg16", "googlenet"):
            net = shaped(model)
            rows.append((f"blocks build of {model} (scene only), in process, best of 20",
                         best(lambda: blocks.build(net, options)), ""))
            if net.network.is_chain:
                rows.append((f"org build of {model} (comparison), in process, best of 20",
                             best(lambda: org.build(net, options)), ""))
        scene = blocks.build(shaped("alexnet"), options)
        rows.append(("alexnet blocks scene to SVG text, in process, best of 20",
                     best(lambda: write_bytes(scene, "svg")), ""))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print("| measurement | result | target |")
    print("| --- | --- | --- |")
    for name, value, target in rows:
        shown = f"{value:.3f} s" if value >= 0.05 else f"{value * 1000:.2f} ms"
        print(f"| {name} | {shown} | {target} |")


if __name__ == "__main__":
    main()
