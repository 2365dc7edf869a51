"""The trainer: multi-step JEPA loss, diagnostics in TensorBoard, checkpoints."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from envs.dataset import Episodes
from worldmodel.checkpoint import save_model
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import WindowSampler
from worldmodel.diagnostics import collapse_warning, effective_rank, error_by_horizon, probe_r2
from worldmodel.logger import Logger
from worldmodel.losses import jepa_loss
from worldmodel.model import WorldModel
from worldmodel.regularizers import build_regularizer


@dataclass
class TrainResult:
    """What a training run produced."""

    model: WorldModel
    checkpoint: Path | None
    metrics: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0


def split_episodes(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic train / held-out episode indices (at least one of each when n >= 2)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_hold = min(n - 1, max(1, round(holdout * n))) if n >= 2 else 0
    return np.sort(perm[n_hold:]), np.sort(perm[:n_hold]) if n_hold else np.sort(perm)


class Trainer:
    """Trains a :class:`WorldModel` on a dataset of episodes (see :func:`train`)."""

    def __init__(self, model_cfg: ModelConfig, cfg: TrainConfig, data: Episodes,
                 out_dir: str | Path | None = None, progress: bool = True):
        self.cfg, self.out_dir, self.progress = cfg, Path(out_dir) if out_dir else None, progress
        torch.manual_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        action_dim = data.actions.shape[1]
        self.model = WorldModel(model_cfg, data.obs.shape[1:], action_dim).to(self.device)
        self.reg = build_regularizer(model_cfg, self.model.action_dim).to(self.device)
        train_ids, hold_ids = split_episodes(data.num_episodes, 0.1, cfg.seed)
        k = model_cfg.frameskip
        self.sampler = WindowSampler(data, cfg.pred_steps, k, self.device, train_ids)
        self.holdout = WindowSampler(data, cfg.pred_steps, k, self.device, hold_ids)
        if hasattr(self.model.encoder, "fit_normalizer"):
            self.model.encoder.fit_normalizer(self.sampler.obs[: len(self.sampler.obs)])
        params = list(self.model.parameters()) + list(self.reg.parameters())
        self.opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, self._lr_factor)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.logger = Logger(self.out_dir / "tb" if self.out_dir else None)
        self.step_count = 0

    def _lr_factor(self, step: int) -> float:
        warmup = min(100, self.cfg.steps // 10)
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, self.cfg.steps - warmup)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress)))

    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns its metrics."""
        self.model.train()
        batch = self.sampler.sample(self.cfg.batch_size, self.gen)
        # Step 1. forward: encode frames, roll the predictor out, add the regulariser
        loss, metrics, _ = jepa_loss(self.model, self.reg, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at step {self.step_count}")
        # Step 2. backward, clip, update
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        self.sched.step()
        self.step_count += 1
        metrics["train/lr"] = self.sched.get_last_lr()[0]
        return metrics

    @torch.no_grad()
    def diagnostics(self, n: int = 2048) -> dict[str, float]:
        """Std, effective rank, probe R^2 (train -> held-out) and error by horizon."""
        self.model.eval()
        gen = torch.Generator().manual_seed(12345)
        tr = self.sampler.sample(n, gen)
        ho = self.holdout.sample(min(n, 4 * len(self.holdout)), gen)
        z_tr = self.model.encode(tr["obs"][:, 0])
        _, _, aux = jepa_loss(self.model, self.reg, ho)
        z_ho = aux["z"][:, 0]
        std = z_tr.std(0)
        rank = effective_rank(z_tr.cpu())
        r2 = probe_r2(z_tr.cpu(), tr["states"][:, 0].cpu(), z_ho.cpu(), ho["states"][:, 0].cpu())
        err = error_by_horizon(aux["pred"], aux["z"][:, 1:])
        m = {"collapse/std_mean": float(std.mean()), "collapse/std_min": float(std.min()),
             "collapse/eff_rank": rank, "probe/r2_mean": float(r2.mean())}
        m.update({f"probe/r2_dim{i}": float(v) for i, v in enumerate(r2)})
        m.update({f"pred/err_h{t + 1}": float(v) for t, v in enumerate(err)})
        m["pred/rel_err_last"] = float(err[-1] / aux["z"].var(dim=(0, 1)).mean().clamp_min(1e-12))
        self.logger.histogram("collapse/std_per_dim", std, self.step_count)
        warning = collapse_warning(std, rank, self.model.cfg.latent_dim)
        if warning:
            tqdm.write(f"warning: {warning} at step {self.step_count}")
        return m

    def save(self, extra: dict | None = None) -> Path | None:
        if self.out_dir is None:
            return None
        return save_model(self.out_dir / "checkpoints", self.model, extra)

    def fit(self, extra: dict | None = None) -> TrainResult:
        """Train for ``cfg.steps`` steps, logging and checkpointing; return the result."""
        cfg, start = self.cfg, time.perf_counter()
        bar = tqdm(total=cfg.steps, desc="train", unit="step", disable=not self.progress)
        tick, tick_step = time.perf_counter(), 0
        while self.step_count < cfg.steps:
            metrics = self.train_step()
            bar.update(1)
            s = self.step_count
            if s % cfg.log_every == 0 or s == cfg.steps:
                now = time.perf_counter()
                metrics["perf/samples_per_s"] = (s - tick_step) * cfg.batch_size / max(now - tick, 1e-9)
                tick, tick_step = now, s
                self.logger.scalars(metrics, s)
                bar.set_postfix(loss=f"{metrics['train/loss']:.4f}")
            if s % cfg.eval_every == 0 or s == cfg.steps:
                self.logger.scalars(self.diagnostics(), s)
            if s % cfg.checkpoint_every == 0 and s < cfg.steps:
                self.save(extra)
        bar.close()
        ckpt = self.save(extra)
        self.logger.close()
        return TrainResult(self.model.eval(), ckpt, dict(self.logger.last), time.perf_counter() - start)


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, data: Episodes, out_dir: str | Path | None = None,
          progress: bool = True, extra: dict | None = None) -> TrainResult:
    """Train a world model on ``data``; checkpoints go to ``out_dir/checkpoints``."""
    return Trainer(model_cfg, train_cfg, data, out_dir, progress).fit(extra)
