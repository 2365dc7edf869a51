"""Provenance of results: git commit and package versions."""

from __future__ import annotations

import importlib.metadata

from envs.collect import code_version as git_commit

__all__ = ["git_commit", "versions"]


def versions() -> dict[str, str]:
    """Installed versions of the packages results depend on."""
    out = {}
    for pkg in ("torch", "mujoco", "gymnasium", "numpy"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out
