"""InfoNCE (CPC, van den Oord et al., 2018) between predictions and encodings.

For every time step ``t`` the prediction ``p_i = pred_t`` of sub-trajectory ``i`` must pick
its own encoding ``z_i = z_{t+1}`` out of the batch's encodings (global batch under DDP)::

    L = - mean_i log softmax_j( -||p_i - z_j||^2 / tau )_i

The score is the negative squared distance, the same energy the planner minimises, so the
negatives push different states apart in the metric used for planning and the latent
scale cannot shrink to zero without raising the loss.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from worldmodel.config import ModelConfig
from worldmodel.distributed import gather_batch, rank
from worldmodel.regularizers.base import Regularizer


def info_nce(pred: torch.Tensor, keys: torch.Tensor, labels: torch.Tensor, temp: float
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and top-1 accuracy: ``pred (N, D)`` against ``keys (M, D)``, positives ``labels (N,)`` into ``keys``."""
    logits = -torch.cdist(pred, keys).pow(2) / temp
    return F.cross_entropy(logits, labels), (logits.argmax(-1) == labels).float().mean()


class InfoNCE(Regularizer):
    """``coeff * mean_t InfoNCE(pred_t, z_{t+1})``, negatives from the other sub-trajectories."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)``, ``extras["pred"] (B, T, D)`` -> ``(loss, metrics)``."""
        pred = extras["pred"]
        b, steps = pred.shape[:2]
        labels = torch.arange(b, device=pred.device) + rank() * b
        losses, accs = [], []
        for t in range(steps):
            loss, acc = info_nce(pred[:, t], gather_batch(z_seq[:, t + 1]), labels, self.cfg.infonce_temp)
            losses.append(loss)
            accs.append(acc)
        loss = torch.stack(losses).mean()
        return self.cfg.infonce_coeff * loss, {"reg/infonce": loss.item(),
                                               "reg/infonce_acc": torch.stack(accs).mean().item()}
