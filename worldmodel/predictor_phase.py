"""The predictor phase: the predictor alone, trained on the frozen encoder's latents.

After the joint steps (``train.steps``) the trainer may run ``train.predictor_steps`` more in which
every frame of the dataset is encoded once by the now frozen encoder and the predictor is fitted to
those latents with the same multi-step loss (``train.pred_steps``, ``train.pred_mode``), at batch
``train.predictor_batch_size``.  A step then costs an MLP rollout on ``(B, T+1, D)`` latents instead
of a CNN forward and backward on ``(B, T+1, H, W, C)`` frames, so on pixels the predictor sees ten
times the windows in minutes.  The targets are ``model.encode`` (what a planner compares against),
for every regulariser family.  Under DDP every rank runs the same steps on the same full batch (the
phase is cheap), so the ranks stay identical without communication.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

from envs.dataset import Episodes
from worldmodel.config import TrainConfig
from worldmodel.data import WindowSampler
from worldmodel.losses import predict_sequence
from worldmodel.model import WorldModel


def cosine_factor(step: int, total: int) -> float:
    """Learning-rate factor at ``step`` of ``total``: linear warm-up (up to 100 steps), cosine to 0.1."""
    warmup = min(100, total // 10)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress)))


def encode_frames(model: WorldModel, obs: np.ndarray, device: torch.device, chunk: int = 1024) -> np.ndarray:
    """Latents ``(N, D)`` float32 of observations ``(N, *obs_shape)``, in eval mode, in chunks."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        z = [model.encode(torch.as_tensor(obs[i:i + chunk]).to(device)).cpu() for i in range(0, len(obs), chunk)]
    model.train(was_training)
    return torch.cat(z).numpy()


class PredictorPhase:
    """Optimiser, schedule and latent windows of the predictor phase (see the module docstring)."""

    def __init__(self, model: WorldModel, cfg: TrainConfig, data: Episodes, episodes: np.ndarray,
                 device: torch.device):
        self.model, self.cfg = model, cfg
        latents = dataclasses.replace(data, obs=encode_frames(model, data.obs, device))
        self.sampler = WindowSampler(latents, cfg.pred_steps, model.frameskip, device, episodes)
        params = list(model.predictor.parameters())
        self.opt = torch.optim.AdamW(params, lr=cfg.predictor_lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: cosine_factor(s, cfg.predictor_steps))

    def step(self, gen: torch.Generator) -> dict[str, float]:
        """One optimisation step of the predictor on a batch of latent windows ``(B, T+1, D)``."""
        batch = self.sampler.sample(self.cfg.predictor_batch_size, gen)
        z = batch["obs"]
        pred = predict_sequence(self.model, z, batch["actions"], self.cfg.pred_mode)
        loss = (pred - z[:, 1:]).pow(2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.predictor.parameters(), self.cfg.grad_clip or math.inf)
        self.opt.step()
        self.sched.step()
        return {"predictor_phase/loss_pred": loss.item(), "predictor_phase/lr": self.sched.get_last_lr()[0]}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
