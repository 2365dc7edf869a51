"""Small network building blocks."""

from __future__ import annotations

from torch import nn


def mlp(in_dim: int, hidden: int, out_dim: int, depth: int, norm: bool = True) -> nn.Sequential:
    """``depth`` hidden layers of ``Linear -> LayerNorm -> GELU``, then a linear output."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.LayerNorm(hidden) if norm else nn.Identity(), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)
