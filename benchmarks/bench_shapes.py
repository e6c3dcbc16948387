"""Speed of `netviz shapes` and of the shape engine.

    python benchmarks/bench_shapes.py [--runs 15] [--sizes 10000 100000]

(a) `netviz shapes alexnet --json` as a cold process, median of --runs runs;
    compared with a bare `python -c pass` measured in the same run (the
    interpreter's own start-up, the floor of any Python CLI).
(b) The shape engine on generated chains of conv/relu layers, built as a
    Network in memory, and parsed from YAML text (the reader, then the
    engine); median of 5 runs each. Compared with a bare loop that reads
    each layer and builds one small object per layer, measured in the same
    run: what memory alone costs as the chain grows.

Targets: (a) <= 0.2 s; (b) 10,000 layers <= 0.5 s, and 100,000 layers
<= 12x the 10,000-layer time.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def cold(cmd, runs):
    """Median wall time and median CPU time (user + system) of a fresh process."""
    import resource
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def chain_network(n):
    from netviz.ir import Layer, Network
    conv = {"out": 8, "kernel": (3, 3), "stride": (1, 1), "pad": (1, 1), "dilation": (1, 1),
            "groups": 1, "bias": True}
    layers = [Layer("input", "input", {"shape": (3, 32, 32)})]
    for i in range(1, n):
        layers.append(Layer(f"l{i}", "conv" if i % 2 else "relu", conv if i % 2 else {},
                            (layers[-1].name,)))
    return Network(f"chain{n}", layers)


def chain_yaml(n):
    return "input: 3x32x32\nlayers:\n" + "".join(
        "  - conv: {out: 8, kernel: 3, pad: 1}\n" if i % 2 else "  - relu\n" for i in range(1, n))


def timed(fn, runs=5):
    """Median wall time and median CPU time of fn() in this process."""
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="cold-process runs (default 15)")
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000],
                        metavar=("SMALL", "LARGE"))
    args = parser.parse_args(argv)

    from netviz.shapes import infer
    from netviz.readers import parse_spec

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    script = shutil.which("netviz") or os.path.join(os.path.dirname(sys.executable), "netviz")
    cmd = [script] if os.path.exists(script) else [sys.executable, "-m", "netviz"]
    floor, floor_cpu = cold([sys.executable, "-c", "pass"], args.runs)
    med, med_cpu = cold(cmd + ["shapes", "alexnet", "--json"], args.runs)
    print(f"(a) netviz shapes alexnet --json, cold, median of {args.runs}: {med:.3f} s wall, "
          f"{med_cpu:.3f} s CPU (target <= 0.2 s) | python -c pass: {floor:.3f} s wall, "
          f"{floor_cpu:.3f} s CPU")

    small, large = args.sizes
    rows = {}
    for n in (small, large):
        net = chain_network(n)
        text = chain_yaml(n)
        layers = net.layers

        def baseline():
            return {layer.name: (layer.type, layer.inputs, dict(layer.attrs)) for layer in layers}

        rows[n] = {"memory": timed(lambda: infer(net)),
                   "yaml": timed(lambda: infer(parse_spec(text))),
                   "baseline": timed(baseline)}
        del net, text, layers
    for key, what in (("memory", "in-memory Network, infer()"),
                      ("yaml", "YAML text, parse_spec() + infer()"),
                      ("baseline", "bare loop over the layers (comparison)")):
        (a, ac), (b, bc) = rows[small][key], rows[large][key]
        print(f"(b) {what}: {small:,} layers {a:.3f} s ({ac:.3f} s CPU), {large:,} layers "
              f"{b:.3f} s ({bc:.3f} s CPU), ratio {b / a:.1f}x ({bc / ac:.1f}x CPU)")
    ok = (med <= 0.2 and rows[small]["memory"][0] <= 0.5 and rows[small]["yaml"][0] <= 0.5
          and all(rows[large][k][0] <= 12 * rows[small][k][0] for k in ("memory", "yaml")))
    print("targets met" if ok else "targets NOT all met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
