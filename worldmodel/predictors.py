"""Action-conditioned latent predictors: ``(window (B, W, D), a (B, k*A)) -> z' (B, D)``.

``window`` holds the last ``W <= history`` latents, oldest first; ``z'`` follows the last one.
"""

from __future__ import annotations

import torch
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.networks import mlp


class ResidualMLPPredictor(nn.Module):
    """``z' = z + f([z, a])`` with ``f`` an MLP, on the last latent of the window."""

    def __init__(self, action_dim: int, cfg: ModelConfig):
        super().__init__()
        self.net = mlp(cfg.latent_dim + action_dim, cfg.hidden_dim, cfg.latent_dim, cfg.depth)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (B, D)`` or window ``(B, W, D)``, ``a (B, k*A)`` -> ``z' (B, D)``."""
        if z.ndim == 3:
            z = z[:, -1]
        return z + self.net(torch.cat([z, a], dim=-1))


def build_predictor(cfg: ModelConfig, action_dim: int) -> nn.Module:
    """The predictor named by ``cfg.predictor``; ``action_dim`` is ``frameskip * A``."""
    if cfg.predictor == "mlp":
        return ResidualMLPPredictor(action_dim, cfg)
    if cfg.predictor == "transformer":
        from worldmodel.transformer_predictor import CausalTransformerPredictor

        return CausalTransformerPredictor(action_dim, cfg)
    raise ValueError(f"predictor: unknown {cfg.predictor!r}")
