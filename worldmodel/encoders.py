"""Observation encoders: ``encode(obs (B, *obs_shape)) -> z (B, D)``.

Every encoder owns its observation normalisation (buffers saved with the weights):
``normalize(obs)`` maps raw observations to the network's input, ``fit_normalizer(obs)``
sets the statistics from data before training.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.networks import mlp

NORMALIZER_SAMPLES = 4096
"""Observations (evenly spaced) used to fit an image normaliser."""


class StateEncoder(nn.Module):
    """MLP on a normalised state vector ``(B, S)``."""

    def __init__(self, obs_dim: int, cfg: ModelConfig, out_dim: int):
        super().__init__()
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.net = mlp(obs_dim, cfg.hidden_dim, out_dim, cfg.depth)

    @torch.no_grad()
    def fit_normalizer(self, obs: torch.Tensor) -> None:
        """Set mean and std from observations ``(N, obs_dim)``."""
        self.obs_mean.copy_(obs.float().mean(0))
        self.obs_std.copy_(obs.float().std(0).clamp_min(1e-3))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, S)`` -> standardised float ``(B, S)``."""
        return (obs.float() - self.obs_mean) / self.obs_std

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` -> ``(B, out_dim)``."""
        return self.net(self.normalize(obs))


class ImageNormalizer(nn.Module):
    """uint8 ``(B, H, W, 3)`` in [0, 255] -> float ``(B, 3, H, W)`` standardised per channel.

    Float inputs are read on the same 0-255 scale.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("mean", torch.full((channels,), 0.5))
        self.register_buffer("std", torch.full((channels,), 0.25))

    @torch.no_grad()
    def fit(self, obs: torch.Tensor) -> None:
        """Per-channel mean and std of ``obs (N, H, W, C)`` (at most ``NORMALIZER_SAMPLES`` frames)."""
        idx = torch.linspace(0, len(obs) - 1, min(len(obs), NORMALIZER_SAMPLES)).long()
        x = obs[idx.to(obs.device)].float() / 255.0
        self.mean.copy_(x.mean(dim=(0, 1, 2)))
        self.std.copy_(x.std(dim=(0, 1, 2)).clamp_min(1e-3))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float().div(255.0).permute(0, 3, 1, 2)
        return (x - self.mean[:, None, None]) / self.std[:, None, None]


class ImageEncoder(nn.Module):
    """Base of the pixel encoders: normaliser, a backbone ``(B, 3, H, W) -> (B, F)``, an MLP head."""

    def __init__(self, obs_shape: tuple[int, ...], backbone: nn.Module, feat_dim: int, cfg: ModelConfig,
                 out_dim: int):
        super().__init__()
        self.norm = ImageNormalizer(obs_shape[-1])
        self.backbone = backbone
        self.head = mlp(feat_dim, cfg.hidden_dim, out_dim, 1)

    def fit_normalizer(self, obs: torch.Tensor) -> None:
        self.norm.fit(obs)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, H, W, 3)`` -> float ``(B, 3, H, W)``."""
        return self.norm(obs)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, H, W, 3)`` -> ``(B, out_dim)``."""
        return self.head(self.backbone(self.normalize(obs)))


def build_encoder(cfg: ModelConfig, obs_shape: tuple[int, ...], out_dim: int) -> nn.Module:
    """The encoder named by ``cfg.encoder`` for observations of ``obs_shape``, with ``out_dim`` outputs."""
    if cfg.encoder == "mlp":
        if len(obs_shape) != 1:
            raise ValueError(f"encoder: mlp takes state vectors, observations have shape {obs_shape}")
        return StateEncoder(math.prod(obs_shape), cfg, out_dim)
    if len(obs_shape) != 3 or obs_shape[-1] != 3:
        raise ValueError(f"encoder: {cfg.encoder} takes images (H, W, 3), observations have shape {obs_shape}")
    from worldmodel.pixel_encoders import build_backbone

    backbone, feat_dim = build_backbone(cfg, obs_shape)
    return ImageEncoder(obs_shape, backbone, feat_dim, cfg, out_dim)
