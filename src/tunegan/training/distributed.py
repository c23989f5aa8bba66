"""Process-group set-up for ``torchrun``: data parallelism, NCCL on CUDA and gloo on the CPU.

State is explicit: :class:`DistInfo` is passed around; nothing global. Gradients are averaged
with :func:`average_gradients` after each backward, which works for every way our modules are
called (including the Gumbel rollout that calls ``forward_soft``), unlike a DDP wrapper that
only hooks ``forward``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | torch.device | None = "cpu") -> DistInfo:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1), else single process.

    ``device`` (``auto``, ``cpu``, ``cuda``...) is resolved once; under ``torchrun`` on CUDA each
    rank takes ``cuda:LOCAL_RANK`` and the group uses NCCL, on the CPU gloo. Works across machines
    with torchrun's rendezvous (``--nnodes``, ``--rdzv-endpoint``)."""
    from ..device import resolve_device

    dev = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=dev)
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), dev)


def set_threads(threads: int, info: DistInfo) -> int:
    """Set torch's intra-op threads: explicit value, else one per rank under torchrun, else all cores.
    ``TUNEGAN_THREADS`` overrides."""
    env = os.environ.get("TUNEGAN_THREADS")
    n = int(env) if env else threads or (1 if info.world_size > 1 else (os.cpu_count() or 1))
    torch.set_num_threads(max(1, n))
    return n


def average_gradients(module: torch.nn.Module, info: DistInfo) -> None:
    if info.world_size <= 1:
        return
    for p in module.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= info.world_size


@torch.no_grad()
def replica_difference(module: torch.nn.Module, info: DistInfo) -> float:
    """Largest difference of any weight from its mean over the ranks (0.0 when every rank holds
    the same network, as data parallelism requires; 0.0 in a single process)."""
    if info.world_size <= 1:
        return 0.0
    worst = torch.zeros((), dtype=torch.float64, device=info.device)
    for p in module.parameters():
        mean = p.detach().clone()
        dist.all_reduce(mean, op=dist.ReduceOp.SUM)
        worst = torch.maximum(worst, (p.detach() - mean / info.world_size).abs().max().double())
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return float(worst)


def all_mean(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Average a dict of floats across ranks (for logging and validation)."""
    if info.world_size <= 1 or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {k: float(v) / info.world_size for k, v in zip(keys, t.cpu().tolist())}


def barrier(info: DistInfo) -> None:
    if info.world_size > 1:
        dist.barrier()


def shutdown_distributed(info: DistInfo) -> None:
    """Leave the process group once every rank is done. Without it a rank that exits first can tear
    down gloo's threads under the other's feet ("terminate called without an active exception",
    SIGABRT), failing a run whose work is all saved."""
    if info.world_size > 1 and dist.is_initialized():
        barrier(info)
        dist.destroy_process_group()
