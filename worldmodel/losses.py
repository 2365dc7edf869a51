"""The JEPA training objective: multi-step latent prediction plus an anti-collapse term.

``L = mean_t || rollout(z_0, a_{0:t})_t - z_t ||^2 + R(z_{0:T})``: the predictor is rolled
out autoregressively from the first encoding for ``T`` model steps and compared with the
encodings of the observed frames; ``R`` is the configured regulariser.
"""

from __future__ import annotations

import torch

from worldmodel.model import WorldModel
from worldmodel.regularizers import Regularizer


def jepa_loss(model: WorldModel, reg: Regularizer, batch: dict[str, torch.Tensor]
              ) -> tuple[torch.Tensor, dict[str, float], dict[str, torch.Tensor]]:
    """``batch``: ``obs (B, T+1, *obs)``, ``actions (B, T, k*A)``.

    Returns the loss, scalar metrics and tensors ``z (B, T+1, D)``, ``pred (B, T, D)``.
    """
    z = model.encode_seq(batch["obs"])
    pred = model.rollout(z[:, 0], batch["actions"])
    loss_pred = (pred - z[:, 1:]).pow(2).mean()
    loss_reg, metrics = reg(z, {"actions": batch["actions"], "pred": pred})
    loss = loss_pred + loss_reg
    metrics = {"train/loss": loss.item(), "train/loss_pred": loss_pred.item(), **metrics}
    return loss, metrics, {"z": z, "pred": pred}
