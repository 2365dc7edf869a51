"""The world model: ``encode``, ``predict``, ``rollout`` (the only interface planners see)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.encoders import build_encoder
from worldmodel.predictors import build_predictor


class WorldModel(nn.Module):
    """Encoder and action-conditioned predictor over latents of size ``D``.

    One model step spans ``cfg.frameskip`` environment steps; its action is the
    ``frameskip`` environment actions concatenated, ``(k * A,)``.  The predictor sees the
    last ``cfg.history`` latents.  With ``regularizer: vae`` the encoder outputs a Gaussian
    posterior ``(mean, log-variance)`` and the latent is its mean.
    """

    def __init__(self, cfg: ModelConfig, obs_shape: tuple[int, ...], env_action_dim: int):
        super().__init__()
        self.cfg = cfg
        self.obs_shape = tuple(obs_shape)
        self.env_action_dim = env_action_dim
        self.action_dim = env_action_dim * cfg.frameskip
        self.variational = cfg.regularizer == "vae"
        out_dim = cfg.latent_dim * (2 if self.variational else 1)
        self.encoder = build_encoder(cfg, self.obs_shape, out_dim)
        self.predictor = build_predictor(cfg, self.action_dim)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """The encoder's input: ``obs (B, *obs_shape)`` normalised (images become ``(B, 3, H, W)`` float)."""
        return self.encoder.normalize(obs)

    def encode_posterior(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``obs (B, *obs_shape)`` -> ``(z (B, D), logvar (B, D) or None)``; ``z`` is the posterior mean."""
        out = self.encoder(obs)
        logvar = None
        if self.variational:
            out, logvar = out.chunk(2, dim=-1)
            logvar = logvar.clamp(-10.0, 10.0)
        if self.cfg.latent_norm:
            out = F.layer_norm(out, out.shape[-1:])
        return out, logvar

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, *obs_shape)`` -> ``z (B, D)``."""
        return self.encode_posterior(obs)[0]

    def predict(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One model step from ``z (B, D)`` or a history ``(B, T, D)`` (oldest first), ``a (B, k*A)`` -> ``(B, D)``."""
        return self.predictor(z, a)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Autoregressive rollout from ``z0 (B, D)`` or a history ``(B, T, D)``.

        ``actions (B, H, k*A)`` -> ``(B, H, D)``; the predictor sees a sliding window of the
        last ``cfg.history`` latents (observed, then predicted).  This is the reference path
        (training, diagnostics); planners use :func:`worldmodel.fast_rollout.planning_rollout`.
        """
        k = self.cfg.history
        window = z0[:, None] if z0.ndim == 2 else z0[:, -k:]
        out = []
        for t in range(actions.shape[1]):
            z = self.predictor(window, actions[:, t])
            out.append(z)
            window = torch.cat([window, z[:, None]], dim=1)[:, -k:]
        return torch.stack(out, dim=1)

    def teacher_forced(self, z_seq: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """One-step predictions from observed latents: ``z_seq (B, T+1, D)``, ``actions (B, T, k*A)`` -> ``(B, T, D)``.

        Prediction ``t`` sees the observed latents ``z_{t-k+1..t}`` (fewer at the start).
        """
        b, t = actions.shape[:2]
        k = self.cfg.history
        if k == 1:
            flat = self.predictor(z_seq[:, :-1].reshape(b * t, -1), actions.reshape(b * t, -1))
            return flat.reshape(b, t, -1)
        return torch.stack([self.predictor(z_seq[:, max(0, i - k + 1):i + 1], actions[:, i])
                            for i in range(t)], dim=1)

    def encode_seq(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, T, *obs_shape)`` -> ``z (B, T, D)`` in one batched call."""
        return self.encode_seq_posterior(obs)[0]

    def encode_seq_posterior(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``obs (B, T, *obs_shape)`` -> ``(z (B, T, D), logvar (B, T, D) or None)``."""
        b, t = obs.shape[:2]
        z, logvar = self.encode_posterior(obs.reshape(b * t, *obs.shape[2:]))
        return z.reshape(b, t, -1), None if logvar is None else logvar.reshape(b, t, -1)
