"""Running under torchrun: one process per GPU (or several on CPUs), DDP.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; when they are present the
trainer joins the process group (NCCL on GPUs, gloo on CPUs), wraps the model
in DistributedDataParallel, gives each rank its own slice of every global
batch, and lets rank 0 alone print and write files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    initialised: bool = False

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def from_env() -> Dist:
    """Read torchrun's environment (a single process when it is absent)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        return Dist()
    return Dist(rank, world, local) if world > 1 else Dist()


def init(dist: Dist, device) -> Dist:
    """Join the process group for ``device`` (NCCL on CUDA, gloo otherwise)."""
    if not dist.enabled or dist.initialised:
        return dist
    import torch.distributed as td
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not td.is_initialized():
        kwargs = {"device_id": device} if device.type == "cuda" else {}
        td.init_process_group(backend=backend, **kwargs)
    dist.initialised = True
    return dist


def close(dist: Dist):
    if dist.initialised:
        import torch.distributed as td
        if td.is_initialized():
            # DDP's reducer sits in reference cycles and holds gloo's pending work;
            # freed by the collector at interpreter exit, that work's threads are
            # torn down too late and abort the process. Free it now.
            import gc
            gc.collect()
            try:  # every rank done before any tears the group down: a rank that
                td.barrier()  # leaves first can abort its peer's gloo threads
            except Exception:  # noqa: BLE001 - a peer already gone: tear down all the same
                pass
            td.destroy_process_group()
        dist.initialised = False


def wrap(model, dist: Dist, device):
    if not dist.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP
    ids = [device.index] if device.type == "cuda" else None
    # Buffers (batchnorm's running statistics) are synced from rank 0 at every
    # forward: DDP's default in every torch version. It is left to the default
    # rather than named, since torch 2.14 deprecates the broadcast_buffers
    # argument with a warning from each rank, and older versions lack its successor.
    return DDP(model, device_ids=ids)


def all_sum(values, dist: Dist, device):
    """Sum a list of floats over the ranks."""
    if not dist.enabled:
        return list(values)
    import torch
    import torch.distributed as td
    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    td.all_reduce(t)
    return t.tolist()


def barrier(dist: Dist):
    if dist.enabled:
        import torch.distributed as td
        td.barrier()


def average_buffers(model, dist: Dist):
    """Average floating-point buffers (batchnorm running statistics) over the
    ranks: DDP keeps each rank's own, updated by its own last forward."""
    if not dist.enabled:
        return
    import torch.distributed as td
    for b in model.buffers():
        if b.is_floating_point():
            td.all_reduce(b)
            b.div_(dist.world)


def params_in_sync(model, dist: Dist, device) -> bool:
    """True when every rank holds the same parameters and floating-point buffers
    (compares checksums)."""
    if not dist.enabled:
        return True
    import torch
    import torch.distributed as td
    total = torch.zeros(2, dtype=torch.float64, device=device)
    tensors = [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]
    for p in tensors:
        d = p.detach().double()
        total[0] += d.sum()
        total[1] += (d * d).sum()
    lo, hi = total.clone(), total.clone()
    td.all_reduce(lo, op=td.ReduceOp.MIN)
    td.all_reduce(hi, op=td.ReduceOp.MAX)
    return bool(torch.equal(lo, hi))
