"""Multi-process training on PyTorch's own stack: torchrun sets the environment, this module joins
the process group (NCCL on GPUs, gloo on CPUs) and wraps the training objectives in
DistributedDataParallel.

    torchrun --nproc_per_node 2 -m vaegan_vc train DATASET RUN --model fast          # one machine
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 -m vaegan_vc train …

Without torchrun's variables (WORLD_SIZE unset or 1) nothing here is used and training is the
single-process code path, bit for bit.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .errors import VaeganError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = DistContext(0, 1, 0)


def from_environment() -> DistContext:
    """The torchrun context (RANK, WORLD_SIZE, LOCAL_RANK), or SINGLE when not launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    return DistContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(ctx: DistContext, device: torch.device) -> torch.device:
    """Join the process group; returns this rank's device (cuda:LOCAL_RANK on GPUs)."""
    if ctx.world == 1:
        return device
    if device.type == "cuda":
        torch.cuda.set_device(ctx.local_rank)
        device = torch.device("cuda", ctx.local_rank)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise VaeganError(f"multi-process training runs on CUDA (NCCL) or the CPU (gloo), not on {device.type}")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    if ctx.main:
        log.info("distributed training: %d processes (%s)", ctx.world, backend)
    return device


def wrap(module: torch.nn.Module, ctx: DistContext, device: torch.device, partial: bool) -> torch.nn.Module:
    """DistributedDataParallel around `module` (its weights are broadcast from rank 0). `partial`:
    a step leaves some parameters unused (with more than two speakers, only one pair's generators
    and discriminators train), which DDP must be told."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=partial)


def barrier(ctx: DistContext) -> None:
    if ctx.world > 1:
        dist.barrier()


def gather(ctx: DistContext, obj) -> list:
    """Every rank's `obj`, in rank order (a collective: every rank must call it)."""
    if ctx.world == 1:
        return [obj]
    out = [None] * ctx.world
    dist.all_gather_object(out, obj)
    return out


def broadcast(ctx: DistContext, obj):
    """Rank 0's `obj` on every rank (a collective)."""
    if ctx.world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(ctx: DistContext, fn, *args):
    """fn(*args) on rank 0 only; every rank gets its result, or the same VaeganError, so that
    a refusal on rank 0 stops all ranks instead of leaving them waiting (a collective)."""
    result, error = None, None
    if ctx.main:
        try:
            result = fn(*args)
        except VaeganError as exc:
            error = str(exc)
    result, error = broadcast(ctx, (result, error))
    if error:
        raise VaeganError(error)
    return result


def close(ctx: DistContext) -> None:
    if ctx.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
