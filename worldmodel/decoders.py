"""Decoders from latents back to (normalised) observations, for the VAE and the decoder probe."""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from worldmodel.networks import mlp


class ConvDecoder(nn.Module):
    """``z (B, D) -> (B, C, H, W)``: a linear map to ``4c x s x s`` maps, four x2 transposed convolutions.

    ``s = ceil(max(H, W) / 16)``; the output is resized to ``(H, W)`` when that is not a power-of-two multiple.
    """

    def __init__(self, latent_dim: int, height: int, width: int, out_channels: int = 3, c: int = 16):
        super().__init__()
        self.size, self.c = (height, width), c
        self.s = math.ceil(max(height, width) / 16)
        self.fc = nn.Linear(latent_dim, 4 * c * self.s * self.s)
        chans = (4 * c, 2 * c, 2 * c, c, c)
        layers: list[nn.Module] = []
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.GELU(), nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)]
        layers += [nn.GELU(), nn.Conv2d(c, out_channels, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z (B, D)`` -> ``(B, C, H, W)``."""
        x = self.net(self.fc(z).view(-1, 4 * self.c, self.s, self.s))
        if x.shape[-2:] != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return x


def build_decoder(latent_dim: int, obs_shape: tuple[int, ...], hidden_dim: int, depth: int,
                  channels: int = 16) -> nn.Module:
    """An MLP for state vectors ``(S,)``, a :class:`ConvDecoder` for images ``(H, W, C)`` (channels first out)."""
    if len(obs_shape) == 1:
        return mlp(latent_dim, hidden_dim, obs_shape[0], depth)
    if len(obs_shape) == 3:
        h, w, c = obs_shape
        return ConvDecoder(latent_dim, h, w, c, channels)
    raise ValueError(f"decoder: observations of shape {obs_shape} are neither vectors nor images")
