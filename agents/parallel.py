"""Sharded evaluation: local worker processes, or the ranks of a ``torchrun`` launch.

Episode ``i`` is seeded with ``seed + i`` and the agent is reseeded per episode, so episodes
are independent of the order and the process they run in.  Shards are round-robin
(``indices[r::n]``, which balances easy and hard episodes) and the gathered records, sorted
by index, are exactly those of a one-process run; only the timings differ.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import multiprocessing
import os
import pickle
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch

from agents.evaluate import EvalResult, evaluate
from agents.protocol import AgentLike, BaseAgent, as_agent


def shard_indices(indices: Sequence[int], rank: int, world: int) -> list[int]:
    """The episode indices of shard ``rank`` out of ``world`` (round-robin)."""
    return list(indices)[rank::world]


def _worker(agent: BaseAgent, threads: int, kwargs: dict[str, Any]) -> EvalResult:
    torch.set_num_threads(threads)
    return evaluate(agent, progress=False, workers=1, **kwargs)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, to share across several evaluations (use as a context manager)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def evaluate_in_workers(agent: AgentLike, workers: int, *, indices: Sequence[int],
                        pool: ProcessPoolExecutor | None = None, **kwargs: Any) -> EvalResult:
    """Run :func:`agents.evaluate.evaluate` on ``workers`` processes (of ``pool``, else a new
    pool) and merge the shards.  ``agent`` is pickled into every worker (its per-episode
    reseeding makes the copies equivalent)."""
    try:
        pickle.dumps(agent)
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise ValueError(f"workers > 1: the agent must be picklable ({err}); use a module-level "
                         "policy function or an agent object") from None
    shards = [s for s in (shard_indices(indices, r, workers) for r in range(workers)) if s]
    threads = max(1, (os.cpu_count() or 1) // len(shards))
    jobs = ([agent] * len(shards), [threads] * len(shards), [{**kwargs, "indices": s} for s in shards])
    start = time.perf_counter()
    if pool is None:
        with worker_pool(len(shards)) as own:
            parts = list(own.map(_worker, *jobs))
    else:
        parts = list(pool.map(_worker, *jobs))
    merged = EvalResult.merge(parts)
    merged.wall_s = time.perf_counter() - start
    return merged


def distributed_context() -> tuple[int, int]:
    """``(rank, world_size)`` of a ``torchrun`` launch (``(0, 1)`` otherwise); joins the gloo group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
        atexit.register(_leave_group)
    return dist.get_rank(), dist.get_world_size()


def _leave_group() -> None:
    """Meet the other ranks, then tear the gloo group down before the interpreter exits: a group left to
    the C++ destructors at exit can abort a rank ("terminate called without an active exception") after
    its results are written."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    with contextlib.suppress(RuntimeError):  # a rank already gone: torchrun reports it; still release ours
        dist.monitored_barrier(timeout=datetime.timedelta(seconds=120))
    dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op outside ``torchrun``)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def evaluate_sharded(agent: AgentLike, episodes: int, workers: int = 1, progress: bool = True,
                     pool: ProcessPoolExecutor | None = None, **kwargs: Any) -> EvalResult:
    """Evaluate across the ``torchrun`` ranks when launched so (every rank gets the merged result),
    else across ``workers`` local processes (1: in this process; ``pool``: reuse those processes)."""
    rank, world = distributed_context()
    if world == 1 and workers > 1:
        return evaluate_in_workers(as_agent(agent), workers, indices=range(episodes), pool=pool,
                                   episodes=episodes, **kwargs)
    if world == 1:
        return evaluate(agent, episodes=episodes, progress=progress, **kwargs)
    import torch.distributed as dist

    start = time.perf_counter()
    part = evaluate(agent, episodes=episodes, indices=shard_indices(range(episodes), rank, world),
                    progress=progress and rank == 0, **kwargs)
    parts: list[Any] = [None] * world
    dist.all_gather_object(parts, part)
    merged = EvalResult.merge(parts)
    merged.wall_s = time.perf_counter() - start
    return merged
