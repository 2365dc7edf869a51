"""Distributed data parallel helpers: process-group setup and collectives with autograd.

Gradient bookkeeping.  DDP averages parameter gradients over the ``W`` ranks.  A loss term
computed from *global* batch statistics (identical on every rank) must therefore send each
rank ``W`` times its share of the gradient, so that the average is the single-process
gradient.  Both collectives below do exactly that: the backward of a sum all-reduce is a
sum all-reduce of the incoming gradients, the backward of an all-gather is the sum
all-reduce of the gathered gradient, sliced to the rank's own rows.  Without a process
group they are the identity.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


class _AllGather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rows, ctx.rank = x.shape[0], dist.get_rank()
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean of ``x`` over ranks, differentiable (identity without a process group)."""
    if not is_distributed():
        return x
    return _AllReduceSum.apply(x) / dist.get_world_size()


def gather_batch(x: torch.Tensor) -> torch.Tensor:
    """``x (N, ...)`` of every rank concatenated in rank order ``(W*N, ...)``, differentiable."""
    if not is_distributed():
        return x
    return _AllGather.apply(x)


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: rank, world size, its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` with the rank's index (``LOCAL_RANK``) when running under torchrun on an accelerator."""
    device = torch.device(device)
    if device.type != "cpu" and device.index is None and "LOCAL_RANK" in os.environ:
        device = torch.device(device.type, int(os.environ["LOCAL_RANK"]))
    return device


def init_from_env(device: str | torch.device) -> DistContext:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE > 1``), else stay single.

    The backend is the default one for the device type (gloo on CPU, nccl on CUDA).  An
    existing process group (set up by the caller) is used as is.
    """
    dev = resolve_device(device)
    if not is_distributed() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        if dev.type != "cpu":
            getattr(torch, dev.type).set_device(dev)
        dist.init_process_group(backend=dist.get_default_backend_for_device(dev))
    return DistContext(rank(), world_size(), dev)


@contextmanager
def distributed(device: str | torch.device) -> Iterator[DistContext]:
    """:func:`init_from_env` for the duration of a block; leaves the group only if it joined it."""
    joined = not is_distributed()
    ctx = init_from_env(device)
    try:
        yield ctx
    finally:
        if joined and is_distributed():
            dist.destroy_process_group()
