"""The JEPA training objective: multi-step latent prediction plus an anti-collapse term.

``L = mean_t || pred_t - target_{t+1} ||^2 + R(z_{0:T})`` where

* ``z_t = encode(o_t)`` and the targets are ``reg.target(z, o)``: ``z`` itself (gradients
  into both branches) or, for ``ema``, a stop-gradient target encoder's latents; for
  ``vae`` (``reg.detach_prediction``) the prediction loss reaches the predictor only;
* ``pred`` is the predictor's output over ``T`` model steps, either *autoregressive*
  (``rollout(z_{0..c-1}, a_{c-1:T})``, the predictor fed its own outputs after a context of
  ``c = history`` observed latents, as in planning) or
  *teacher-forced* (``predict(z_{t-k+1..t}, a_t)``, each step from observed latents);
* ``R`` is the configured regulariser.
"""

from __future__ import annotations

from typing import Any

import torch

from worldmodel.model import WorldModel
from worldmodel.regularizers import Regularizer


def predict_sequence(model: WorldModel, z: torch.Tensor, actions: torch.Tensor, mode: str) -> torch.Tensor:
    """``z (B, T+1, D)``, ``actions (B, T, k*A)`` -> predictions ``(B, T, D)`` of ``z_{1..T}``.

    ``autoregressive`` with a context of ``c = model.cfg.history`` latents, as planning runs: the
    first ``c - 1`` predictions are one step each from the observed latents before them (a
    shorter window at the start), the rest roll out from the observed ``z_{0..c-1}`` on the
    predictor's own outputs (``c = 1``: ``rollout(z_0, a_{0:T})``).
    """
    if mode == "teacher_forcing":
        return model.teacher_forced(z, actions)
    if mode != "autoregressive":
        raise ValueError(f"pred_mode: unknown {mode!r}")
    c = min(model.cfg.history, actions.shape[1])
    if c == 1:
        return model.rollout(z[:, 0], actions)
    warm = model.teacher_forced(z[:, :c], actions[:, :c - 1])  # z_1 .. z_{c-1}
    if actions.shape[1] == c - 1:
        return warm
    return torch.cat([warm, model.rollout(z[:, :c], actions[:, c - 1:], actions[:, :c - 1])], dim=1)


def encode_frames(model: WorldModel, obs: torch.Tensor, dtype: torch.dtype | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``obs (B, T, ...)`` -> float32 ``(z (B, T, D), logvar (B, T, D) or None)``; ``dtype`` (e.g. bfloat16):
    the encoder runs under ``torch.autocast`` at that precision (None: as its weights, float32)."""
    with torch.autocast(obs.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        z, logvar = model.encode_seq_posterior(obs)
    return z.float(), None if logvar is None else logvar.float()


def jepa_loss(model: WorldModel, reg: Regularizer, batch: dict[str, torch.Tensor],
              mode: str = "autoregressive", step: int = 0, encode_dtype: torch.dtype | None = None
              ) -> tuple[torch.Tensor, dict[str, float], dict[str, torch.Tensor]]:
    """Loss, metrics and ``{"z": (B, T+1, D), "pred": (B, T, D)}`` of a batch.

    ``batch``: ``obs (B, T+1, ...)``, ``actions (B, T, k*A)``; ``encode_dtype``: see :func:`encode_frames`.
    """
    # Step 1. encode every frame (posterior means for a VAE)
    z, logvar = encode_frames(model, batch["obs"], encode_dtype)
    # Step 2. prediction targets: z itself, or the family's own (EMA: stop-gradient target encoder);
    #         a family that shapes the encoder alone (VAE) sees the prediction loss train the predictor only
    z_in = z.detach() if reg.detach_prediction else z
    target = reg.target(z_in, batch["obs"])
    # Step 3. multi-step prediction and its error
    pred = predict_sequence(model, z_in, batch["actions"], mode)
    loss_pred = (pred - target[:, 1:]).pow(2).mean()
    # Step 4. the anti-collapse term
    extras: dict[str, Any] = {"actions": batch["actions"], "pred": pred, "obs": batch["obs"], "target": target,
                              "states": batch.get("states"), "step": step}
    if logvar is not None:
        extras["logvar"] = logvar
    loss_reg, metrics = reg(z, extras)
    loss = loss_pred + loss_reg
    metrics = {"train/loss": loss.item(), "train/loss_pred": loss_pred.item(), **metrics}
    return loss, metrics, {"z": z, "pred": pred}


class LossModule(torch.nn.Module):
    """Model + regulariser as one module whose ``forward`` is the loss (what DDP wraps)."""

    def __init__(self, model: WorldModel, reg: Regularizer, mode: str, encode_dtype: torch.dtype | None = None):
        super().__init__()
        self.model, self.reg, self.mode, self.encode_dtype = model, reg, mode, encode_dtype

    def forward(self, batch: dict[str, torch.Tensor], step: int
                ) -> tuple[torch.Tensor, dict[str, float], dict[str, torch.Tensor]]:
        return jepa_loss(self.model, self.reg, batch, self.mode, step, self.encode_dtype)
