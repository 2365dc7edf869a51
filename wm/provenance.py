"""Provenance of results: git commit and package versions."""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

from envs.collect import code_version as git_commit

__all__ = ["LIBRARY_PATHS", "code_at_start", "code_record", "git_commit", "git_dirty", "versions"]

LIBRARY_PATHS = ("agents", "envs", "worldmodel", "wm", "configs", "pyproject.toml")
"""The code and configs that results depend on (changes elsewhere, e.g. docs, do not make a tree dirty)."""


def git_dirty() -> bool | None:
    """Whether the library's code or configs differ from the commit (None outside a checkout)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", *LIBRARY_PATHS], capture_output=True,
                             text=True, timeout=10, cwd=Path(__file__).resolve().parent.parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def versions() -> dict[str, str]:
    """Installed versions of the packages results depend on."""
    out = {}
    for pkg in ("torch", "mujoco", "gymnasium", "numpy"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


@functools.cache
def code_at_start() -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the code this process runs: the first call's answer, kept for the process.

    Long runs (``wm bench`` takes hours) record it, not the tree at the end: edits made to the checkout
    while they run do not change the code already loaded. The CLI calls it as it starts.
    """
    return git_commit(), git_dirty()


def code_record() -> dict[str, Any]:
    """:func:`code_at_start` as results fields: ``{"git_commit": ..., "git_dirty": ...}``."""
    commit, dirty = code_at_start()
    return {"git_commit": commit, "git_dirty": dirty}
