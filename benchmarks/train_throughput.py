"""Training-step throughput (images/s) of AlexNet as netviz builds and trains it.

For each model and batch size, in the same run:

- naive: the built network with torch.nn.LocalResponseNorm, fp32, eager,
  contiguous memory, no cudnn.benchmark, no TF32;
- netviz: the trainer's fast path on this device (on CUDA: bf16 autocast,
  channels_last, cudnn.benchmark, TF32, torch.compile, fused SGD, the
  band-matrix LRN; on a CPU: eager with the band-matrix LRN, and bf16
  autocast with channels_last on CPUs with AMX bf16).

Each step is a forward, cross-entropy loss, backward and SGD (momentum 0.9,
weight decay 5e-4) step on a synthetic batch already on the device, as in
the measurements of the design notes. Images/s is from the best of
--repeats timings of --steps steps each, after --warmup steps (which include
torch.compile's compilation). LRN alone (forward + backward at conv1's
output) is timed too. The script prints a Markdown table headed by the
device's name, ready to paste into benchmarks/RESULTS.md.

Run (GPU):  python benchmarks/train_throughput.py
Run (CPU):  python benchmarks/train_throughput.py --input 3x67x67 --batch-sizes 32,64 \
                --steps 3 --repeats 2 --warmup 1
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_model(name, input_shape, naive, lrn=None):
    """The built network; its LRN layers as netviz builds them ("band"), torch's
    own ("torch", the naive default) or left out ("none")."""
    import torch
    from netviz.build import build, lrn_class
    model = build(name, input=input_shape)
    lrn = lrn or ("torch" if naive else "band")
    if lrn != "band":
        fast = lrn_class()
        for parent in list(model.modules()):
            for child_name, child in list(parent.named_children()):
                if isinstance(child, fast):
                    setattr(parent, child_name, torch.nn.LocalResponseNorm(
                        child.size, child.alpha, child.beta, child.k) if lrn == "torch"
                        else torch.nn.Identity())
    return model


def set_backends(device, fast):
    import torch
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = fast
        torch.backends.cuda.matmul.allow_tf32 = fast
        torch.backends.cudnn.allow_tf32 = fast


def make_step(name, input_shape, batch, device, naive, compile_mode, lrn=None):
    """(step function, fast path) for one training configuration."""
    import torch
    import torch.nn.functional as F
    from netviz.train.runtime import compiled, fast_path, make_optimizer
    torch.manual_seed(0)
    if naive:
        fp = fast_path(device, precision="fp32", compile="off", channels_last="off")
    else:
        fp = fast_path(device, compile=compile_mode)
    model = build_model(name, input_shape, naive, lrn).to(device)
    shape = next(layer.attrs["shape"] for layer in _load(name, input_shape) if layer.type == "input")
    x = torch.randn(batch, *shape, device=device)
    if fp.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,), device=device)
    step_model = compiled(model, fp, strict=False)
    if naive:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    else:
        opt = make_optimizer(model.parameters(), "sgd", 0.01, 0.9, 5e-4, device)

    def step():
        set_backends(device, not naive)
        with fp.autocast():
            loss = F.cross_entropy(step_model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    step.model, step.x = model, x
    return step, fp


def measure(name, input_shape, batch, device, steps, warmup, repeats, compile_mode,
            configs=((True, None), (False, None))):
    """Images/s of each (naive, lrn) configuration (by default: naive, netviz) and
    the fast path's description. They take turns in each round, so load from
    other work falls on all alike."""
    import torch

    runs = [make_step(name, input_shape, batch, device, naive, compile_mode, lrn)
            for naive, lrn in configs]
    best = best_times([step for step, _ in runs], device, steps, warmup, repeats)
    del runs
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return [batch * steps / t for t in best], make_desc(device, compile_mode)


def best_times(fns, device, steps, warmup, repeats):
    """Seconds for STEPS calls of each of FNS, the best of REPEATS rounds
    after WARMUP calls each; they take turns in each round, so load from
    other work falls on all alike."""
    import torch

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for fn in fns:
        for _ in range(warmup):
            fn()
    sync()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            sync()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def make_desc(device, compile_mode):
    from netviz.train.runtime import fast_path
    return fast_path(device, compile=compile_mode).describe()


def _load(name, input_shape):
    from netviz.models import load
    return load(name, input=input_shape)


def lrn_times(device, batch, repeats=5):
    """(torch LRN, band-matrix LRN) seconds for forward + backward at conv1's output."""
    import torch
    from netviz.build import lrn_class
    out = []
    for module in (torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), lrn_class()(5, 1e-4, 0.75, 2.0, 96)):
        module = module.to(device)
        x = torch.relu(torch.randn(batch, 96, 55, 55, device=device)).requires_grad_()
        best = float("inf")
        for _ in range(repeats + 1):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            module(x).sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - t0)
        out.append(best)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="alexnet,alexnet-torchvision")
    ap.add_argument("--batch-sizes", default="256,1024")
    ap.add_argument("--input", default=None, help="CxHxW for every model (default: each spec's)")
    ap.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                    help="torch.compile in the netviz column (auto: on CUDA)")
    ap.add_argument("--lrn-batch", type=int, default=None, help="batch of the LRN timing "
                    "(default: the first batch size)")
    ap.add_argument("--lrn-share", action="store_true",
                    help="instead of the table: LRN's share of each model's training step, "
                         "the LRN layers timed alone against the whole step (torch's LRN in the "
                         "naive path, the band-matrix LRN in netviz's)")
    ap.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = ap.parse_args()

    import torch
    from netviz.devices import resolve_device
    from netviz.train.runtime import device_name
    device = resolve_device(args.device, meta=False)
    if args.compile == "auto":  # steady-state throughput: compile wherever the trainer may
        args.compile = "on" if device.type == "cuda" else "off"
    batches = [int(b) for b in args.batch_sizes.split(",")]
    models = args.models.split(",")
    if args.lrn_share:
        return print_lrn_share(models, batches, args, device)
    rows, fast_desc = [], ""
    for name in models:
        for batch in batches:
            try:
                cells, fast_desc = measure(name, args.input, batch, device, args.steps,
                                           args.warmup, args.repeats, args.compile)
            except torch.OutOfMemoryError:
                cells = [float("nan"), float("nan")]
                torch.cuda.empty_cache()
            print(f"# {name} batch {batch}: naive {cells[0]:,.0f}, netviz {cells[1]:,.0f} img/s",
                  file=sys.stderr, flush=True)
            rows.append((name, batch, *cells))
    lrn_batch = args.lrn_batch or batches[0]
    t_torch, t_fast = lrn_times(device, lrn_batch)

    shape = {m: "x".join(map(str, next(l.attrs["shape"] for l in _load(m, args.input)
                                        if l.type == "input"))) for m in models}
    print(f"Device: {device_name(device)}; torch {torch.__version__}; "
          f"{datetime.date.today().isoformat()}; python {platform.python_version()}; "
          f"{args.steps} steps x best of {args.repeats} after {args.warmup} warm-up steps; "
          f"netviz path: {fast_desc}")
    print()
    print("| model | input | batch | naive fp32 eager (img/s) | netviz default (img/s) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, batch, naive, fast in rows:
        up = f"{fast / naive:.2f}x" if naive == naive and fast == fast and naive > 0 else "-"
        print(f"| {name} | {shape[name]} | {batch} | {naive:,.0f} | {fast:,.0f} | {up} |")
    print()
    print(f"LRN alone, forward + backward on {lrn_batch}x96x55x55 (fp32): "
          f"torch.nn.LocalResponseNorm {t_torch * 1e3:.1f} ms, netviz band-matrix LRN "
          f"{t_fast * 1e3:.1f} ms ({t_torch / t_fast:.1f}x)")
    if args.json:
        print(json.dumps({
            "device": device_name(device), "torch": torch.__version__, "fast_path": fast_desc,
            "rows": [{"model": n, "input": shape[n], "batch": b, "naive": _num(a), "netviz": _num(f)}
                     for n, b, a, f in rows],
            "lrn_ms": {"torch": t_torch * 1e3, "band": t_fast * 1e3, "batch": lrn_batch}}))


def _num(x: float):
    return None if x != x else round(x, 1)


def lrn_inputs(model, x, fp):
    """(LRN module, the shape, dtype and memory format of its input) for every
    LRN layer of the model, from one forward pass."""
    import torch
    from netviz.build import lrn_class
    kinds = (torch.nn.LocalResponseNorm, lrn_class())
    seen, hooks = [], []
    for module in model.modules():
        if isinstance(module, kinds):
            hooks.append(module.register_forward_hook(
                lambda m, args, out: seen.append((m, args[0].shape, args[0].dtype,
                                                  args[0].is_contiguous(
                                                      memory_format=torch.channels_last)))))
    with torch.no_grad(), fp.autocast():
        model(x)
    for hook in hooks:
        hook.remove()
    return seen


def measure_lrn_share(name, input_shape, batch, device, steps, warmup, repeats, compile_mode,
                      naive):
    """LRN's share of one training step: the step timed whole, and the model's LRN
    layers timed alone (forward + backward at the shapes, dtype and memory layout
    they see in the step), each the best of the repeats, taking turns.  A ratio of
    two measured times, so it lies between 0 and 1 however busy the machine is,
    where subtracting two throughputs does not."""
    import torch
    step, fp = make_step(name, input_shape, batch, device, naive, compile_mode,
                         "torch" if naive else "band")
    layers = lrn_inputs(step.model, step.x, fp)
    if not layers:
        raise SystemExit(f"{name} has no LRN layer")
    probes = []
    for module, shape, dtype, channels_last in layers:
        t = torch.relu(torch.randn(shape, device=device)).to(dtype)
        if channels_last:
            t = t.contiguous(memory_format=torch.channels_last)
        probes.append((module, t.requires_grad_()))

    def lrn_only():
        with fp.autocast():
            for module, t in probes:
                module(t).float().sum().backward()

    t_step, t_lrn = best_times((step, lrn_only), device, steps, warmup, repeats)
    return t_lrn / t_step  # the model and its probes are freed on return


def print_lrn_share(models, batches, args, device):
    """LRN's share of the step, on the naive path (torch's LRN) and on netviz's
    (the band-matrix LRN)."""
    shares = {}
    for name in models:
        for batch in batches:
            for naive, label in ((True, "torch LRN, naive path"), (False, "band LRN, netviz path")):
                shares[f"{name} batch {batch}, {label}"] = measure_lrn_share(
                    name, args.input, batch, device, args.steps, args.warmup, args.repeats,
                    args.compile, naive)
    for k, v in shares.items():
        print(f"LRN share of the step, {k}: {v * 100:.1f}%")
    if args.json:
        print(json.dumps({"lrn_share": shares}))


if __name__ == "__main__":
    main()
