"""The world model: ``encode``, ``predict``, ``rollout`` (the only interface planners see).

Action repeat has one name, ``frameskip`` (``model.frameskip`` in the config, :attr:`WorldModel.frameskip`):
one model step spans ``frameskip`` env steps, during which one env action ``(A,)`` is held; the
predictor's *model action* is those ``frameskip`` copies concatenated, ``(frameskip * A,)``.
:meth:`WorldModel.model_actions` does that repeat-and-stack, :meth:`WorldModel.rollout_env_actions`
rolls out env-level action sequences (numpy or torch) with it.  (Not to be confused with a MuJoCo
env's ``frame_skip``: physics substeps per env step.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from worldmodel.config import ModelConfig
from worldmodel.encoders import build_encoder
from worldmodel.predictors import build_predictor


class WorldModel(nn.Module):
    """Encoder and action-conditioned predictor over latents of size ``D``.

    One model step spans ``frameskip`` environment steps; its action is the env action held
    for those steps, the ``frameskip`` copies concatenated, ``(k * A,)`` with ``k = frameskip``.  The predictor sees the
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

    @property
    def frameskip(self) -> int:
        """Env steps per model step, each holding one env action (``cfg.frameskip``)."""
        return self.cfg.frameskip

    def _tensor(self, x: Any, dtype: torch.dtype | None = torch.float32) -> torch.Tensor:
        """``x`` (numpy, list or tensor) on the model's device; ``dtype`` None keeps numpy's dtype (images: uint8)."""
        device = next(self.parameters()).device
        if isinstance(x, torch.Tensor):
            return x.to(device=device, dtype=dtype) if dtype is not None else x.to(device)
        return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)

    def _check_model_action(self, a: torch.Tensor) -> None:
        if a.shape[-1] != self.action_dim:
            hint = ("; that is an env action: hold it with model_actions() or use rollout_env_actions()"
                    if a.shape[-1] == self.env_action_dim else "")
            raise ValueError(f"model action: expected last dim frameskip x A = {self.frameskip} x "
                             f"{self.env_action_dim} = {self.action_dim}, got shape {tuple(a.shape)}{hint}")

    def model_actions(self, actions: Any) -> torch.Tensor:
        """Env actions ``(..., H, A)`` (numpy or torch) -> model actions ``(..., H, frameskip * A)``.

        Each env action is held for ``frameskip`` env steps: its ``frameskip`` copies, concatenated.
        """
        a = self._tensor(actions)
        if a.ndim < 1 or a.shape[-1] != self.env_action_dim:
            raise ValueError(f"actions: expected env actions (..., {self.env_action_dim}), got shape {tuple(a.shape)}")
        lead = a.shape[:-1]
        return a.unsqueeze(-2).expand(*lead, self.frameskip, a.shape[-1]).reshape(*lead, -1)

    def rollout_env_actions(self, z0: Any, actions: Any, rollout: Callable[..., torch.Tensor] | None = None,
                            past: torch.Tensor | None = None) -> torch.Tensor:
        """Latents predicted for env-level action sequences, each action held ``frameskip`` env steps.

        ``z0``: the start latent ``(D,)`` or ``(1, D)`` (shared by every sequence), ``(N, D)``, or a
        history ``(N, T, D)`` (``(1, T, D)``: shared); ``actions``: ``(N, H, A)``, or one sequence ``(H, A)``;
        numpy or torch.
        Returns ``(N, H, D)`` (``(H, D)`` for one sequence); step ``t`` is the latent after
        ``(t + 1) * frameskip`` env steps.  ``rollout(z0 (N, D), model actions (N, H, k*A)) -> (N, H, D)``
        is the rollout used: :meth:`rollout` by default; planners pass
        :func:`worldmodel.fast_rollout.planning_rollout` of this model.  ``past``: the model actions taken
        from the history's latents but its last, ``(N or 1, T - 1, k*A)`` (``action_history`` models).
        """
        a = self._tensor(actions)
        single = a.ndim == 2
        a = a[None] if single else a
        if a.ndim != 3:
            raise ValueError(f"actions: expected (N, H, {self.env_action_dim}) or (H, {self.env_action_dim}), "
                             f"got shape {tuple(a.shape)}")
        z = self._tensor(z0)
        if z.ndim == 1 or (z.ndim == 2 and z.shape[0] == 1 < a.shape[0]):
            z = z.reshape(-1).expand(a.shape[0], -1)  # stride 0: a fast rollout computes the shared first step once
        elif z.ndim == 3 and z.shape[0] == 1 < a.shape[0]:
            z = z.expand(a.shape[0], -1, -1)  # one history shared by every sequence
        roll, ma = rollout or self.rollout, self.model_actions(a)
        out = roll(z, ma) if past is None else roll(z, ma, self._tensor(past).expand(ma.shape[0], -1, -1))
        return out[0] if single else out

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

    def encode(self, obs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``obs (B, *obs_shape)`` (torch, or numpy) -> ``z (B, D)``."""
        if not isinstance(obs, torch.Tensor):
            obs = self._tensor(obs, dtype=None)
        return self.encode_posterior(obs)[0]

    def predict(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One model step from ``z (B, D)`` or a history ``(B, T, D)`` (oldest first), ``a (B, k*A)`` -> ``(B, D)``.

        ``a`` is the model action (``frameskip`` env actions concatenated, see :meth:`model_actions`).
        """
        self._check_model_action(a)
        return self.predictor(z, a)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor, past: torch.Tensor | None = None) -> torch.Tensor:
        """Autoregressive rollout from ``z0 (B, D)`` or a history ``(B, T, D)``.

        ``actions (B, H, k*A)`` -> ``(B, H, D)``; the predictor sees a sliding window of the
        last ``cfg.history`` latents (observed, then predicted) and of the actions taken from them,
        ``past (B, T - 1, k*A)`` being those of the history's latents but its last (none: zeros).
        This is the reference path (training, diagnostics); planners use
        :func:`worldmodel.fast_rollout.planning_rollout`.
        """
        self._check_model_action(actions)
        k = self.cfg.history
        window = z0[:, None] if z0.ndim == 2 else z0[:, -k:]
        acts = actions[:, :0] if past is None or k == 1 else past[:, -(k - 1):]
        out = []
        for t in range(actions.shape[1]):
            acts = torch.cat([acts, actions[:, t:t + 1]], dim=1)[:, -k:]
            z = self.predictor(window, acts)
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
        return torch.stack([self.predictor(z_seq[:, max(0, i - k + 1):i + 1], actions[:, max(0, i - k + 1):i + 1])
                            for i in range(t)], dim=1)

    def encode_seq(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, T, *obs_shape)`` -> ``z (B, T, D)`` in one batched call."""
        return self.encode_seq_posterior(obs)[0]

    def encode_seq_posterior(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``obs (B, T, *obs_shape)`` -> ``(z (B, T, D), logvar (B, T, D) or None)``."""
        b, t = obs.shape[:2]
        z, logvar = self.encode_posterior(obs.reshape(b * t, *obs.shape[2:]))
        return z.reshape(b, t, -1), None if logvar is None else logvar.reshape(b, t, -1)
