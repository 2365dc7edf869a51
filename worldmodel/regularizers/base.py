"""The regulariser interface and its factory."""

from __future__ import annotations

import torch
from torch import nn

from worldmodel.config import ModelConfig


class Regularizer(nn.Module):
    """Base class: ``forward(z_seq (B, T+1, D), extras) -> (loss (), metrics)``."""

    def forward(self, z_seq: torch.Tensor, extras: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError


def build_regularizer(cfg: ModelConfig, action_dim: int) -> Regularizer:
    """The regulariser named by ``cfg.regularizer``; ``action_dim`` is ``k * A``."""
    if cfg.regularizer == "vicreg":
        from worldmodel.regularizers.vicreg import VICReg

        return VICReg(cfg, action_dim)
    raise ValueError(f"regularizer: unknown {cfg.regularizer!r}")
