"""Temp files of atomic writes: ``.<name>.tmp<pid>`` beside the target, removed once their writer is gone.

Every atomic write in the library (datasets, checkpoints, training states) writes
``.<name>.tmp<pid>`` next to ``<name>`` and renames it into place; a checkpoint is written as a
temp *directory* of the same form (see :mod:`worldmodel.checkpoint`).  A write killed part-way
leaves that temp file or directory behind; :func:`remove_stale_temps` (called by the next write
of the same file) and :func:`remove_dead_temps` (every temp in a directory, called when training
starts) delete those whose writing process no longer exists, and keep those of live writers.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

TEMP = re.compile(r"\.(.+)\.tmp(\d+)")
"""The name of a temp file or directory: ``.<target name>.tmp<writer pid>``."""


def temp_path(path: Path) -> Path:
    """The temp file this process writes ``path`` through."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temp files of ``path`` left by writers that no longer run; return them."""
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        match = TEMP.fullmatch(candidate.name)
        if match and match.group(1) == path.name and not _alive(int(match.group(2))):
            _remove(candidate)
            removed.append(candidate)
    return removed


def remove_dead_temps(directory: Path) -> list[Path]:
    """Delete every temp file or directory in ``directory`` whose writer no longer runs; return them."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for candidate in sorted(directory.iterdir()):
        match = TEMP.fullmatch(candidate.name)
        if match and not _alive(int(match.group(2))):
            _remove(candidate)
            removed.append(candidate)
    return removed


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a rename into it) durable; a no-op where directories cannot be synced."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
