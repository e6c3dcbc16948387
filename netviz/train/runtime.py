"""The device and the fast path: autocast, memory format, cuDNN, torch.compile.

On CUDA the default is bf16 autocast, channels_last, cudnn.benchmark, TF32
matmuls and, for long runs, torch.compile; on a CPU, eager, fp32 or (heavy
models on CPUs with AMX bf16) bf16 autocast with channels_last. The benchmark and the trainer share these
functions, so what is measured is what trains.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..errors import UsageError


@dataclass
class FastPath:
    device: object  # torch.device
    bf16: bool
    channels_last: bool
    compile: bool
    deterministic: bool = False

    def autocast(self):
        import torch
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def describe(self) -> str:
        parts = ["bf16 autocast" if self.bf16 else "fp32"]
        if self.channels_last:
            parts.append("channels_last")
        parts.append("torch.compile" if self.compile else "eager")
        if self.deterministic:
            parts.append("deterministic")
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {"bf16": self.bf16, "channels_last": self.channels_last, "compile": self.compile,
                "deterministic": self.deterministic}


def cpu_threads(macs_per_step: float | None) -> int:
    """Threads for a CPU run: one for small models, whose steps are too short
    to share between threads (and which stall badly on busy shared cores)."""
    import torch
    if macs_per_step is not None and macs_per_step < HEAVY_MACS_PER_STEP:
        torch.set_num_threads(1)
    return torch.get_num_threads()


def cpu_has_bf16() -> bool:
    """A CPU with AMX bf16 tiles (oneDNN runs bf16 convolutions and matmuls on them)."""
    import torch
    try:
        return bool(torch.cpu._is_amx_tile_supported() and torch.cpu._is_avx512_bf16_supported())
    except AttributeError:
        return False


HEAVY_MACS_PER_STEP = 2e8  # below this a step is too short for threads or bf16 to pay
COMPILE_MIN_IMAGES = 5e6  # --compile auto compiles runs this long: compiling costs ~a minute


def compile_pays(images: float) -> bool:
    return images >= COMPILE_MIN_IMAGES


def fast_path(device, precision="auto", compile="auto", channels_last="auto",
              deterministic=False, heavy=True) -> FastPath:
    """The fast path for ``device``. On a CPU, bf16 autocast and channels_last are
    used for heavy models on CPUs with AMX bf16 (1.6-1.9x for AlexNet at 131x131
    on such a CPU), plain fp32 otherwise. ``compile`` auto means on CUDA here;
    the trainer narrows it to runs where compiling pays (:func:`compile_pays`)."""
    import torch
    cuda = device.type == "cuda"
    if precision == "bf16":
        if cuda and not torch.cuda.is_bf16_supported():
            raise UsageError("--precision bf16: this GPU does not support bfloat16; use fp32")
        bf16 = True
    elif precision == "fp32":
        bf16 = False
    elif deterministic:
        bf16 = False
    elif cuda:
        bf16 = torch.cuda.is_bf16_supported()
    else:
        bf16 = heavy and cpu_has_bf16()
    if channels_last == "auto":
        cl = cuda or (bf16 and heavy)
    else:
        cl = channels_last == "on"
    if compile == "on":
        comp = True
    elif compile == "off" or deterministic:
        comp = False
    else:
        comp = cuda
    return FastPath(device, bf16, cl, comp, deterministic)


def setup_backends(device, deterministic: bool, seed: int):
    import torch
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


@contextlib.contextmanager
def global_state():
    """Restore torch's process-wide settings that a run changes (for callers
    that train from Python and go on doing other work)."""
    import torch
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
             torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
        (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
         torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) = saved[3:]


def compiled(model, fp: FastPath, strict: bool):
    """torch.compile the model when the fast path says so; with ``strict`` off
    (``--compile auto``) a failure to compile falls back to eager."""
    if not fp.compile:
        return model
    import torch
    if not strict:
        import torch._dynamo
        torch._dynamo.config.suppress_errors = True
    return torch.compile(model)


def make_optimizer(params, name: str, lr: float, momentum: float, weight_decay: float, device):
    import torch
    params = list(params)
    cuda = device.type == "cuda"
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay,
                                 **({"fused": True} if cuda else {}))
    if name == "sgd":
        extra = {"fused": True} if cuda else {"foreach": True}
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **extra)
    raise UsageError(f"unknown optimizer {name!r}: use sgd or adamw")


def device_name(device) -> str:
    import os
    import platform
    import torch
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or platform.machine() or "CPU"
    return f"{cores}-core CPU ({cpu})"
