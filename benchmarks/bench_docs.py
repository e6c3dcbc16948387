"""Speed of the pages: the zoo gallery (cold process and in process), a
Markdown report, and the project's Sphinx docs built from nothing beside a
rebuild that reads every page again but finds every figure in the cache
(the comparison that shows what the directive's cache saves), with the
number of figures each build drew.

Run: python benchmarks/bench_docs.py [--runs N]
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sphinx(src, out, freshenv):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    with patch_docutils(src), docutils_namespace():
        app = Sphinx(src, src, out, os.path.join(out, ".doctrees"), "html", status=None,
                     warning=io.StringIO(), freshenv=freshenv)
        app.build()
    assert app.statuscode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs

    import netviz.figure
    from netviz.reports import gallery, report

    drawn = []
    real = netviz.figure.render

    def counting(*a, **k):
        drawn.append(a[0])
        return real(*a, **k)
    netviz.figure.render = counting

    tmp = tempfile.mkdtemp(prefix="bench-docs-")
    try:
        cold = []
        for i in range(runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "netviz", "gallery", "-o", os.path.join(tmp, f"c{i}")],
                           check=True, capture_output=True)
            cold.append(time.perf_counter() - t)
        warm, rep = [], []
        for i in range(runs):
            t = time.perf_counter()
            gallery(None, os.path.join(tmp, f"g{i}"))
            warm.append(time.perf_counter() - t)
            t = time.perf_counter()
            report("alexnet", os.path.join(tmp, f"r{i}", "alexnet.md"))
            rep.append(time.perf_counter() - t)
        docs = os.path.join(ROOT, "docs")
        fresh, cached, fresh_drawn, cached_drawn = [], [], 0, 0
        for i in range(runs):  # the two builds take turns, so load falls on both alike
            out = os.path.join(tmp, f"d{i}")
            n = len(drawn)
            t = time.perf_counter()
            sphinx(docs, out, freshenv=True)
            fresh.append(time.perf_counter() - t)
            fresh_drawn = len(drawn) - n
            n = len(drawn)
            t = time.perf_counter()
            sphinx(docs, out, freshenv=True)  # every page read again, figures from the cache
            cached.append(time.perf_counter() - t)
            cached_drawn = len(drawn) - n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"netviz gallery (zoo), cold process, median of {runs}: {statistics.median(cold):.3f} s")
    print(f"gallery() of the zoo, in process, best of {runs}: {min(warm):.3f} s")
    print(f"report('alexnet', 'alexnet.md'), in process, best of {runs}: {min(rep):.3f} s")
    print(f"docs build from nothing, in process, median of {runs}: {statistics.median(fresh):.3f} s "
          f"({fresh_drawn} figures drawn)")
    print(f"docs rebuild, every page read, figures cached, median of {runs}: "
          f"{statistics.median(cached):.3f} s ({cached_drawn} figures drawn)")


if __name__ == "__main__":
    main()
