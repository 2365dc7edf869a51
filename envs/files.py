"""Temp files of atomic writes: ``.<name>.tmp<pid>`` beside the target, removed once their writer is gone.

Every atomic write in the library (datasets, checkpoints, training states) writes
``.<name>.tmp<pid>`` next to ``<name>`` and renames it into place.  A write killed part-way
leaves that temp file behind; :func:`remove_stale_temps` (called by the next write of the same
file) deletes those whose writing process no longer exists, and keeps those of live writers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


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


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temp files of ``path`` left by writers that no longer run; return them."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.tmp(\d+)")
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        match = pattern.fullmatch(candidate.name)
        if match and not _alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed
