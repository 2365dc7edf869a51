"""Scoring a planner's population on several cores: one slice of the candidates per thread.

Torch's own intra-op threads split each op of a rollout across cores. For a planning rollout
(hundreds of rows, hidden width a few hundred) most ops take tens of microseconds, and on a
machine with ``OMP_WAIT_POLICY=PASSIVE`` every op then pays for waking the sleeping workers:
two intra-op threads plan *slower* than one (``benchmarks/plan_speed.py``). Splitting the
population instead runs whole rollouts side by side: slice ``i`` of the ``(N, H, A)`` candidates
is rolled out and scored on thread ``i`` with one torch thread (slice 0 on the calling thread, its torch
thread count set to one for that slice), and the costs are concatenated.
Torch releases the GIL inside its ops, and the latent agent scores a slice in one compiled call
(:mod:`agents.fused_cost`), so the slices run in parallel; rows never interact, so
the costs are those of the unsplit call (bit-identical on the CPUs tested, see the tests).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import torch

MIN_ROWS = 32
"""Fewest candidates per slice: below it the thread hand-off costs more than it saves."""


def _one_torch_thread() -> None:
    """A pool thread's initializer. Torch sets a thread's count from the process-wide one at the thread's
    first parallel call, once: that first call is made here, before setting one, so that a later change
    of the process-wide count (the caller restoring its own) does not reach this thread."""
    torch.get_num_threads()
    torch.set_num_threads(1)


@contextlib.contextmanager
def _one_torch_thread_here() -> Iterator[None]:
    """The calling thread on one torch thread for the block (its slice must not wake intra-op workers)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _score(fn: Callable[[torch.Tensor], torch.Tensor], chunk: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():  # grad mode is per thread: the caller's no_grad does not reach the pool's
        return fn(chunk)


class PopulationSplitter:
    """``split(fn, actions (N, H, A)) -> fn(actions) (N,)``, computed over ``threads`` slices of the rows.

    ``threads=0`` takes torch's thread count of the calling process when it is first used
    (``wm`` sets it to the free cores; an evaluation worker to its share). One slice, a call that
    needs gradients, or fewer than ``2 * MIN_ROWS`` rows call ``fn`` directly. The thread pool is
    created on first use and is not pickled (agents travel to evaluation workers).
    """

    def __init__(self, threads: int = 0):
        if threads < 0:
            raise ValueError(f"threads: must be >= 0, got {threads}")
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0

    def slices(self, rows: int) -> int:
        """How many slices ``rows`` candidates are scored in."""
        threads = self.threads or torch.get_num_threads()
        return max(1, min(threads, rows // MIN_ROWS))

    def __call__(self, fn: Callable[[torch.Tensor], torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
        n = self.slices(actions.shape[0])
        if n == 1 or (actions.requires_grad and torch.is_grad_enabled()):
            return fn(actions)
        chunks = actions.tensor_split(n)
        futures = [self._executor(n - 1).submit(_score, fn, chunk) for chunk in chunks[1:]]
        with _one_torch_thread_here():  # the calling thread scores the first slice: one thread fewer to wake
            first = _score(fn, chunks[0])
        return torch.cat([first, *(f.result() for f in futures)])

    def _executor(self, n: int) -> ThreadPoolExecutor:
        if self._pool is None or self._size != n:
            self.close()
            self._pool, self._size = ThreadPoolExecutor(n, thread_name_prefix="wm-plan",
                                                        initializer=_one_torch_thread), n
        return self._pool

    def close(self) -> None:
        """Stop the threads (a later call starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pool, self._size = None, 0

    def __getstate__(self) -> dict:
        return {"threads": self.threads, "_pool": None, "_size": 0}
