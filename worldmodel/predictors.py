"""Action-conditioned latent predictors: ``(window (B, W, D), a (B, k*A)) -> z' (B, D)``.

``window`` holds the last ``W <= history`` latents, oldest first; ``z'`` follows the last one.
"""

from __future__ import annotations

import torch
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.networks import mlp


def pad_window(window: torch.Tensor, c: int) -> torch.Tensor:
    """The last ``c`` latents of ``window (B, W, D)``, a shorter one padded on the left with copies of
    its oldest latent (as if the scene had been still before it) -> ``(B, c, D)``."""
    window = window[:, -c:]
    if window.shape[1] < c:
        window = torch.cat([window[:, :1].expand(-1, c - window.shape[1], -1), window], dim=1)
    return window


def pad_actions(window: torch.Tensor, c: int) -> torch.Tensor:
    """The last ``c`` actions of ``window (B, W, k*A)``, a shorter one padded on the left with zeros (no
    action before the window's start, as :func:`pad_window` has the scene still) -> ``(B, c, k*A)``."""
    window = window[:, -c:]
    if window.shape[1] < c:
        window = torch.cat([window.new_zeros(window.shape[0], c - window.shape[1], window.shape[2]), window], dim=1)
    return window


class ResidualMLPPredictor(nn.Module):
    """``z' = z_t + f([z_{t-c+1}, ..., z_t, a])`` with ``f`` an MLP over the last ``c = cfg.history`` latents.

    With ``history: 1`` the input is ``[z_t, a]``.  With more, the window's latents are concatenated
    oldest first (their differences carry what one latent cannot show, e.g. a velocity seen in
    frames); a window shorter than ``c`` is padded on the left with copies of its oldest latent,
    i.e. as if the scene had been still before it.  With ``action_history`` the actions taken from
    the window's latents are concatenated too (oldest first, the step's own last; zeros before the start).
    """

    def __init__(self, action_dim: int, cfg: ModelConfig):
        super().__init__()
        self.history = cfg.history
        self.action_window = cfg.history if cfg.action_history else 1
        self.net = mlp(cfg.history * cfg.latent_dim + self.action_window * action_dim, cfg.hidden_dim,
                       cfg.latent_dim, cfg.depth)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (B, D)`` or window ``(B, W, D)``, ``a (B, k*A)`` or the window's actions ``(B, W, k*A)`` (the
        last: this step's) -> ``z' (B, D)``."""
        if z.ndim == 2:
            z = z[:, None]
        last = z[:, -1]
        if self.action_window == 1:
            a = a[:, -1] if a.ndim == 3 else a
        else:
            a = pad_actions(a[:, None] if a.ndim == 2 else a, self.action_window).flatten(1)
        if self.history == 1:
            return last + self.net(torch.cat([last, a], dim=-1))
        return last + self.net(torch.cat([pad_window(z, self.history).flatten(1), a], dim=-1))


def build_predictor(cfg: ModelConfig, action_dim: int) -> nn.Module:
    """The predictor named by ``cfg.predictor``; ``action_dim`` is ``frameskip * A``."""
    if cfg.predictor == "mlp":
        return ResidualMLPPredictor(action_dim, cfg)
    if cfg.predictor == "transformer":
        from worldmodel.transformer_predictor import CausalTransformerPredictor

        return CausalTransformerPredictor(action_dim, cfg)
    raise ValueError(f"predictor: unknown {cfg.predictor!r}")
