"""The whole GPU check of netviz in one command, for the few minutes a GPU is at hand.

Run on a machine with one CUDA GPU (H100 or H200), from a clone:

    python benchmarks/gpu_check.py --out gpu-results

It does, in this order, each step in its own process with its own time
limit, so that one failure or hang does not stop the rest:

1. the card, its driver, torch's and CUDA's versions;
2. the GPU tests (tests/test_trace_gpu.py, tests/test_train_gpu.py): their
   pass/fail counts;
3. ``netviz shapes torchvision:alexnet --device cuda --profile``, and the
   paper AlexNet's spec built as a module and traced on CUDA, checked layer by
   layer against the trace on ``meta``;
4. benchmarks/train_throughput.py for alexnet and alexnet-torchvision at
   batch 256 and 1024: the naive baseline (fp32, eager, torch's LRN) beside
   the trainer's default fast path, images/s, in the same run; and LRN's share
   of the paper AlexNet's training step (the step timed with and without its
   LRN layers), for torch's LRN and netviz's band-matrix LRN;
5. a short ``netviz train alexnet --device cuda`` sanity run.

It writes ``gpu_check.json`` and ``gpu_check.md`` (a table ready to paste into
benchmarks/RESULTS.md) into ``--out``, and exits 1 if any step failed.

``--dry-run`` takes the same code path on the CPU with tiny sizes (a few
steps, small batches, AlexNet at 3x67x67), so the script is tested where
there is no GPU (tests/test_gpu_check.py runs it).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# Paper AlexNet >= 25,000 and torchvision AlexNet >= 50,000 images/s at batch
# 1024 on one H100/H200 (the fast path's targets).
TARGETS = {("alexnet", 1024): 25_000, ("alexnet-torchvision", 1024): 50_000}


def plan(dry: bool) -> dict:
    """Sizes and time limits (seconds) of each step: the real check, or the dry run's."""
    if dry:
        return dict(device="cpu", batches="2,4", input="3x67x67", steps=1, warmup=1, repeats=1,
                    train=["--steps", "3", "--batch-size", "8", "--train-size", "64",
                           "--val-size", "32", "--skip-checks"],
                    limits=dict(env=60, tests=120, shapes=120, trace=120, throughput=240,
                                lrn_share=180, train=180), budget=1000)
    return dict(device="cuda", batches="256,1024", input=None, steps=30, warmup=10, repeats=3,
                train=["--steps", "300", "--batch-size", "128"],
                limits=dict(env=30, tests=150, shapes=45, trace=60, throughput=150,
                            lrn_share=60, train=75), budget=470)


def run(cmd: list, limit: float, cwd: str = ROOT, env: dict | None = None) -> dict:
    """Run CMD with a time limit: its exit code, seconds and output (never raises)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=max(1.0, limit),
                           env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr or b"").decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    return {"cmd": " ".join(cmd), "rc": rc, "seconds": round(time.perf_counter() - t0, 1),
            "stdout": out[-6000:], "stderr": err[-6000:]}


def py(code: str) -> list:
    return [sys.executable, "-c", code]


def netviz(*args) -> list:
    return [sys.executable, "-m", "netviz", *args]


# -- the steps -----------------------------------------------------------------

ENV_CODE = r"""
import json, platform, subprocess, torch
d = {"python": platform.python_version(), "torch": torch.__version__,
     "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
if torch.cuda.is_available():
    d["card"] = torch.cuda.get_device_name(0)
    d["capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    d["memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    try:
        d["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                                      "--format=csv,noheader"], capture_output=True, text=True,
                                     timeout=20).stdout.strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        d["driver"] = f"unknown ({type(e).__name__})"
else:
    d["card"] = "none (CPU: " + (platform.processor() or platform.machine()) + ")"
print(json.dumps(d))
"""

TRACE_CODE = r"""
import json, sys
from netviz.build import build
from netviz.trace import trace_module
device, size = sys.argv[1], sys.argv[2]
shape = tuple(int(s) for s in size.split("x"))
module = build("alexnet", input=size)
real = trace_module(module, shape, device=device)
meta = trace_module(module, shape, device="meta")
same_layers = list(real.layers) == list(meta.layers)
diff = [n for n in meta.info if real.info.get(n) != meta.info[n]]
print(json.dumps({"notes": list(real.notes), "layers": len(real.layers), "same_layers": same_layers,
                  "differences": diff[:10], "ok": same_layers and not diff}))
"""


def step_env(p):
    r = run(py(ENV_CODE), p["limits"]["env"])
    r["result"] = _last_json(r["stdout"])
    r["ok"] = r["rc"] == 0 and r["result"] is not None
    return r


def step_tests(p):
    r = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/test_trace_gpu.py", "tests/test_train_gpu.py"], p["limits"]["tests"])
    counts = {k: 0 for k in ("passed", "failed", "skipped", "errors")}
    for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", r["stdout"]):
        counts["errors" if word.startswith("error") else word] = int(n)
    r["result"] = counts
    # pytest exits 0 (all passed) or 5 (none ran: every test skipped without a GPU)
    r["ok"] = r["rc"] in (0, 5) and counts["failed"] == 0 and counts["errors"] == 0
    return r


def step_shapes(p):
    size = ["--input", p["input"]] if p["input"] else []
    r = run(netviz("shapes", "torchvision:alexnet", "--device", p["device"], "--profile", *size),
            p["limits"]["shapes"])
    r["ok"] = r["rc"] == 0 and "total" in r["stdout"].lower()
    r["result"] = {"lines": len(r["stdout"].splitlines())}
    return r


def step_trace(p):
    r = run(py(TRACE_CODE) + [p["device"], p["input"] or "3x227x227"], p["limits"]["trace"])
    r["result"] = _last_json(r["stdout"])
    r["ok"] = r["rc"] == 0 and bool(r["result"] and r["result"]["ok"])
    return r


def step_throughput(p):
    args = ["--models", "alexnet,alexnet-torchvision", "--batch-sizes", p["batches"],
            "--device", p["device"], "--steps", str(p["steps"]), "--warmup", str(p["warmup"]),
            "--repeats", str(p["repeats"]), "--json"]
    if p["input"]:
        args += ["--input", p["input"]]
    r = run([sys.executable, "benchmarks/train_throughput.py", *args], p["limits"]["throughput"])
    r["result"] = _last_json(r["stdout"])
    r["ok"] = r["rc"] == 0 and r["result"] is not None
    return r


def step_lrn_share(p):
    batch = p["batches"].split(",")[0]
    args = ["--lrn-share", "--models", "alexnet", "--batch-sizes", batch, "--device", p["device"],
            "--steps", str(p["steps"]), "--warmup", str(p["warmup"]), "--repeats",
            str(p["repeats"]), "--json"]
    if p["input"]:
        args += ["--input", p["input"]]
    r = run([sys.executable, "benchmarks/train_throughput.py", *args], p["limits"]["lrn_share"])
    r["result"] = _last_json(r["stdout"])
    r["ok"] = r["rc"] == 0 and r["result"] is not None
    return r


def step_train(p, out_dir):
    metrics = os.path.join(os.path.abspath(out_dir), "train_metrics.json")
    r = run(netviz("train", "alexnet", "--device", p["device"], *p["train"], "--no-plot",
                   "--progress", "lines", "--metrics", metrics), p["limits"]["train"])
    m = None
    if os.path.exists(metrics):
        with open(metrics, encoding="utf-8") as f:
            m = json.load(f)
    r["result"] = m and {k: m.get(k) for k in ("device", "steps", "val_accuracy", "chance",
                                                "images_per_second", "stopped", "checks_passed")}
    r["ok"] = r["rc"] == 0 and m is not None
    return r


def _last_json(text: str):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


# -- the report ----------------------------------------------------------------

def markdown(report: dict) -> str:
    env = (report["steps"].get("env") or {}).get("result") or {}
    lines = [f"GPU check ({'dry run on the CPU' if report['dry_run'] else 'GPU'}), "
             f"{report['date']}: {env.get('card', '?')}, driver {env.get('driver', '-')}, "
             f"torch {env.get('torch', '?')}, CUDA {env.get('cuda') or '-'}, "
             f"python {env.get('python', '?')}; {report['seconds']:.0f} s in all.", "",
             "| step | result | time | ok |", "| --- | --- | --- | --- |"]
    for name, r in report["steps"].items():
        lines.append(f"| {name} | {_summary(name, r)} | {r['seconds']:.0f} s | "
                     f"{'yes' if r['ok'] else 'NO (' + str(r['rc']) + ')'} |")
    thr = (report["steps"].get("throughput") or {}).get("result")
    if thr:
        lines += ["", "| model | input | batch | naive fp32 eager (img/s) | netviz default (img/s) "
                  "| speed-up | target |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in thr["rows"]:
            target = TARGETS.get((row["model"], row["batch"]))
            met = "-" if target is None or report["dry_run"] else (
                f"{target:,} {'met' if row['netviz'] >= target else 'MISSED'}")
            up = f"{row['netviz'] / row['naive']:.2f}x" if row["naive"] else "-"
            lines.append(f"| {row['model']} | {row['input']} | {row['batch']} | {row['naive']:,.0f} "
                         f"| {row['netviz']:,.0f} | {up} | {met} |")
        lines += ["", f"netviz path: {thr.get('fast_path', '?')}"]
    return "\n".join(lines) + "\n"


def _summary(name: str, r: dict) -> str:
    res = r.get("result")
    if not res:
        return (r.get("stderr") or r.get("stdout") or "").strip().splitlines()[-1:][0][:120] \
            if (r.get("stderr") or r.get("stdout") or "").strip() else "no result"
    if name == "env":
        return f"{res.get('card')} ({res.get('memory_gib', '-')} GiB)"
    if name == "tests":
        return ", ".join(f"{v} {k}" for k, v in res.items() if v)
    if name == "shapes":
        return f"profiled table of {res['lines']} lines"
    if name == "trace":
        return (f"{res['layers']} layers, {'equal to' if res['ok'] else 'DIFFERENT from'} the meta "
                f"trace ({'; '.join(res['notes'])})")
    if name == "throughput":
        return f"{len(res['rows'])} measurements (table below)"
    if name == "lrn_share":
        return "; ".join(f"{k}: {v * 100:.0f}% of the step" for k, v in res["lrn_share"].items())
    if name == "train":
        acc = res.get("val_accuracy")
        return (f"{res.get('steps')} steps on {res.get('device')}, held-out accuracy "
                f"{acc * 100:.0f}% (chance {res.get('chance', 0) * 100:.0f}%), "
                f"{res.get('images_per_second') or 0:,.0f} img/s" if acc is not None else "no metrics")
    return "done"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, metavar="DIR", help="folder for gpu_check.json and .md")
    ap.add_argument("--dry-run", action="store_true",
                    help="the same steps on the CPU with tiny sizes (no GPU needed)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    p = plan(args.dry_run)
    t0 = time.perf_counter()
    steps = {"env": step_env, "tests": step_tests, "shapes": step_shapes, "trace": step_trace,
             "throughput": step_throughput, "lrn_share": step_lrn_share,
             "train": lambda q: step_train(q, args.out)}
    report = {"dry_run": args.dry_run, "date": datetime.date.today().isoformat(),
              "host": platform.node(), "steps": {}}
    for name, fn in steps.items():
        left = p["budget"] - (time.perf_counter() - t0)
        if left < 10:
            report["steps"][name] = {"cmd": "", "rc": "skipped", "seconds": 0.0, "ok": False,
                                     "result": None, "stdout": "", "stderr": "no time left"}
            continue
        q = {**p, "limits": {k: min(v, left) for k, v in p["limits"].items()}}
        print(f"gpu_check: {name} (at most {q['limits'][name]:.0f} s)", file=sys.stderr, flush=True)
        try:
            r = fn(q)
        except Exception as e:  # noqa: BLE001 - one step's failure must not stop the rest
            r = {"cmd": name, "rc": "error", "seconds": 0.0, "ok": False, "result": None,
                 "stdout": "", "stderr": f"{type(e).__name__}: {e}"}
        report["steps"][name] = r
        print(f"gpu_check: {name}: {'ok' if r['ok'] else 'FAILED'} in {r['seconds']:.0f} s",
              file=sys.stderr, flush=True)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["ok"] = all(r["ok"] for r in report["steps"].values())
    with open(os.path.join(args.out, "gpu_check.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    md = markdown(report)
    with open(os.path.join(args.out, "gpu_check.md"), "w", encoding="utf-8") as f:
        f.write(md)
    print(md)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
