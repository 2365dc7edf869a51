"""Observation encoders: ``encode(obs (B, *obs_shape)) -> z (B, D)``."""

from __future__ import annotations

import math

import torch
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.networks import mlp


class StateEncoder(nn.Module):
    """MLP on a normalised state vector.

    The normalisation statistics are buffers, so they are saved with the weights.
    """

    def __init__(self, obs_dim: int, cfg: ModelConfig):
        super().__init__()
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.net = mlp(obs_dim, cfg.hidden_dim, cfg.latent_dim, cfg.depth)

    @torch.no_grad()
    def fit_normalizer(self, obs: torch.Tensor) -> None:
        """Set mean and std from observations ``(N, obs_dim)``."""
        self.obs_mean.copy_(obs.float().mean(0))
        self.obs_std.copy_(obs.float().std(0).clamp_min(1e-3))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` -> ``z (B, D)``."""
        return self.net((obs.float() - self.obs_mean) / self.obs_std)


def build_encoder(cfg: ModelConfig, obs_shape: tuple[int, ...]) -> nn.Module:
    """The encoder named by ``cfg.encoder`` for observations of ``obs_shape``."""
    if cfg.encoder == "mlp":
        return StateEncoder(math.prod(obs_shape), cfg)
    raise ValueError(f"encoder: unknown {cfg.encoder!r}")
