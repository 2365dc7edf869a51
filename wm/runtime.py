"""Process defaults for the ``wm`` command, applied before torch loads.

Two settings, both measured in ``benchmarks/train_alloc.py``:

* **Allocator.** glibc serves every allocation above its mmap threshold (at most 32 MiB) with a
  fresh ``mmap`` and unmaps it on free, so a pixel training step re-faults its conv activations
  page by page each step and throughput *falls* as the batch grows. ``keep_freed_memory`` turns
  mmap-backed allocations off and raises the trim threshold, so freed pages stay in the heap and
  are reused. Peak memory is unchanged (the same blocks are live at the peak); the process keeps
  its high-water mark instead of returning it between steps.
* **Threads.** The thread count defaults to the cores that are free at start: usable cores minus
  the cores busy over a short sample of ``/proc/stat`` (a core counts from three quarters busy; at least
  one thread). The one-minute load average, the fallback where ``/proc/stat`` cannot be read, lags:
  it still counts a job that ended a minute ago and misses one that just started. OpenMP workers that
  spin while waiting thrash a shared machine (two such processes on two cores run several times
  slower), so where some cores are busy (or the thread count was set by hand)
  ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep. On an idle machine the OpenMP default (a short spin,
  then sleep) is kept: passive waiting there cost small-model training 40 % of its speed. Both must be
  in the environment before the OpenMP runtime loads, i.e. before ``import torch``; an explicit
  ``train.threads`` still wins.

Each can be switched off: ``WM_ALLOCATOR=system`` keeps glibc's defaults; an ``OMP_WAIT_POLICY``
or ``OMP_NUM_THREADS`` already in the environment is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed heap before giving it back


def keep_freed_memory() -> bool:
    """Tell glibc malloc to keep freed memory for reuse; False where libc is not glibc or refuses."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


PROC_STAT = "/proc/stat"
SAMPLE_S = 0.2  # 20 scheduler ticks per core at 100 Hz
BUSY_FRACTION = 0.75
"""How much of a core the sample must see used for it to count as busy. A process that keeps a core busy
shows as about 1.0; shells and interpreters starting around the sample (a script that launches ``wm``
right after another command) added up to about 0.3 here, and with rounding at 0.5 such noise twice cost a
training run on an idle machine one of its two threads."""


def cpu_times(path: str = PROC_STAT) -> tuple[int, int, int] | None:
    """``(busy, total, cpus)`` from ``path`` (``/proc/stat``): jiffies summed over all CPUs, and the count
    of per-CPU lines; None where the file cannot be read or parsed."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
        fields = [int(v) for v in lines[0].split()[1:9]]  # user nice system idle iowait irq softirq steal
    except (OSError, IndexError, ValueError):
        return None
    cpus = sum(1 for line in lines[1:] if line.startswith("cpu"))
    total = sum(fields)
    return total - fields[3] - (fields[4] if len(fields) > 4 else 0), total, max(cpus, 1)


def busy_cores(interval: float = SAMPLE_S, path: str = PROC_STAT) -> float | None:
    """Cores kept busy by all processes over ``interval`` seconds (from two reads of ``path``); None
    where it cannot be read or no time was counted."""
    first = cpu_times(path)
    time.sleep(interval)
    second = cpu_times(path)
    if first is None or second is None or second[1] <= first[1]:
        return None
    return (second[0] - first[0]) / (second[1] - first[1]) * second[2]


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def free_cores() -> int:
    """Usable cores minus the busy cores (:func:`busy_cores`, else the one-minute load average; a core counts
    from ``BUSY_FRACTION`` of one), at least 1."""
    usable = usable_cores()
    busy = busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except OSError:
            busy = 0.0
    return max(1, usable - int(busy + 1.0 - BUSY_FRACTION))


def configure_process(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Apply the defaults above to this process; returns what was applied, e.g. ``{"allocator": "retain"}``."""
    env = os.environ if environ is None else environ
    applied: dict[str, str] = {}
    shared = True  # a thread count set by hand: assume others share the cores
    if "OMP_NUM_THREADS" not in env:
        free = free_cores()
        shared = free < usable_cores()
        env["OMP_NUM_THREADS"] = applied["OMP_NUM_THREADS"] = str(free)
    if "OMP_WAIT_POLICY" not in env and shared:
        env["OMP_WAIT_POLICY"] = applied["OMP_WAIT_POLICY"] = "PASSIVE"
    if env.get("WM_ALLOCATOR", "retain") == "retain" and keep_freed_memory():
        applied["allocator"] = "retain"
    return applied
