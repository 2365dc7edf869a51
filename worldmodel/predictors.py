"""Action-conditioned latent predictors: ``(z (B, D), a (B, k*A)) -> z' (B, D)``."""

from __future__ import annotations

import torch
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.networks import mlp


class ResidualMLPPredictor(nn.Module):
    """``z' = z + f([z, a])`` with ``f`` an MLP."""

    def __init__(self, action_dim: int, cfg: ModelConfig):
        super().__init__()
        self.net = mlp(cfg.latent_dim + action_dim, cfg.hidden_dim, cfg.latent_dim, cfg.depth)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (B, D)``, ``a (B, k*A)`` -> ``z' (B, D)``."""
        return z + self.net(torch.cat([z, a], dim=-1))


def build_predictor(cfg: ModelConfig, action_dim: int) -> nn.Module:
    """The predictor named by ``cfg.predictor``; ``action_dim`` is ``frameskip * A``."""
    if cfg.predictor == "mlp":
        return ResidualMLPPredictor(action_dim, cfg)
    raise ValueError(f"predictor: unknown {cfg.predictor!r}")
