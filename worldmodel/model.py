"""The world model: ``encode``, ``predict``, ``rollout`` (the only interface planners see)."""

from __future__ import annotations

import torch
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.encoders import build_encoder
from worldmodel.predictors import build_predictor


class WorldModel(nn.Module):
    """Encoder and action-conditioned predictor over latents of size ``D``.

    One model step spans ``cfg.frameskip`` environment steps; its action is the
    ``frameskip`` environment actions concatenated, ``(k * A,)``.
    """

    def __init__(self, cfg: ModelConfig, obs_shape: tuple[int, ...], env_action_dim: int):
        super().__init__()
        self.cfg = cfg
        self.obs_shape = tuple(obs_shape)
        self.env_action_dim = env_action_dim
        self.action_dim = env_action_dim * cfg.frameskip
        self.encoder = build_encoder(cfg, self.obs_shape)
        self.predictor = build_predictor(cfg, self.action_dim)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, *obs_shape)`` -> ``z (B, D)``."""
        return self.encoder(obs)

    def predict(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One model step: ``z (B, D)``, ``a (B, k*A)`` -> ``z' (B, D)``."""
        return self.predictor(z, a)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Autoregressive rollout: ``z0 (B, D)``, ``actions (B, H, k*A)`` -> ``(B, H, D)``."""
        z, out = z0, []
        for t in range(actions.shape[1]):
            z = self.predictor(z, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)

    def encode_seq(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, T, *obs_shape)`` -> ``z (B, T, D)`` in one batched call."""
        b, t = obs.shape[:2]
        return self.encode(obs.reshape(b * t, *obs.shape[2:])).reshape(b, t, -1)
