"""The trainer: multi-step JEPA loss, diagnostics in TensorBoard, checkpoints, exact resume, DDP.

Under ``torchrun`` (or any initialised process group) the loss module is wrapped in
``DistributedDataParallel``; every rank draws the same global batch indices and trains on
its own contiguous share, so ``N`` ranks follow the single-process trajectory on the same
global batch.  Rank 0 alone logs, runs diagnostics and writes checkpoints.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from envs.dataset import Episodes
from worldmodel.checkpoint import (
    TRAIN_STATE,
    CheckpointError,
    check_finite,
    checkpoint_dir,
    clean_checkpoints,
    model_files,
    write_checkpoint,
)
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import WindowSampler
from worldmodel.diagnostics import collapse_warning, encode_windows, latent_diagnostics
from worldmodel.distributed import DistContext, is_distributed, rank, resolve_device, world_size
from worldmodel.logger import Logger
from worldmodel.losses import LossModule
from worldmodel.model import WorldModel
from worldmodel.predictor_phase import PredictorPhase, cosine_factor
from worldmodel.regularizers import build_regularizer
from worldmodel.train_state import load_train_state, rng_state, set_rng_state, train_state_bytes

ENCODE_DTYPES = {"fp32": None, "bf16": torch.bfloat16}
"""``train.precision`` -> the encoder's autocast dtype in the joint steps (None: float32, no autocast)."""
PHASE_THREADS = 1
"""CPU threads of the predictor phase. Its steps are small MLP updates (``predictor_batch_size`` x
``pred_steps`` rows), which two threads run slower than one (Push-T pixels, 20,000 phase steps: 38 steps/s on
two threads, 58 on one). The shipped rows were trained on one thread throughout, so their phases ran so too."""
RESUME_FREE = ("log_every", "eval_every", "checkpoint_every", "probe_steps", "device", "threads")
"""Train settings that may differ on resume (they do not change the trajectory).  ``train.steps``
may change only once the run has reached its own (see :meth:`Trainer._check_steps`)."""
PHASE_KEYS = ("predictor_steps", "predictor_batch_size", "predictor_lr", "planner_episodes", "planner_offset_episodes",
              "planner_noise", "planner_seed")
"""Settings of the predictor phase and its data, which may differ on resume until the phase has begun."""


class DivergenceError(ValueError):
    """A non-finite loss or gradient: training stopped, the last good checkpoint is kept."""


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
    """Trains a :class:`WorldModel` on a dataset of episodes (see :func:`train`).

    ``resume=True`` restores ``out_dir/checkpoints/train_state.pt`` (model, regulariser,
    optimiser, scheduler, step, sampler position, every RNG): the run then continues
    bit-identically to one that was never stopped.  The learning-rate schedule depends on
    ``train.steps``, so a resume keeps the checkpoint's ``train.steps`` until the run has reached
    it; a finished run may then be extended (the schedule of the new ``train.steps`` applies from
    there on, whatever interruptions came before).  Rank 0 removes what killed saves left in
    ``out_dir/checkpoints`` before anything else (:func:`worldmodel.checkpoint.clean_checkpoints`).
    """

    def __init__(self, model_cfg: ModelConfig, cfg: TrainConfig, data: Episodes,
                 out_dir: str | Path | None = None, progress: bool = True, resume: bool = False):
        self.cfg, self.out_dir = cfg, Path(out_dir) if out_dir else None
        self.ctx = DistContext(rank(), world_size(), resolve_device(cfg.device))
        self.progress = progress and self.ctx.is_main
        torch.manual_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = self.ctx.device
        self.model = WorldModel(model_cfg, data.obs.shape[1:], data.actions.shape[1]).to(self.device)
        train_ids, hold_ids = split_episodes(data.num_episodes, 0.1, cfg.seed)
        self.data, self.train_ids, self.phase = data, train_ids, None
        self._frozen_windows = None  # the diagnostics' encoded windows, once the encoder is frozen
        k = model_cfg.frameskip
        self.sampler = WindowSampler(data, cfg.pred_steps, k, self.device, train_ids)
        self.holdout = WindowSampler(data, cfg.pred_steps, k, self.device, hold_ids)
        self.model.encoder.fit_normalizer(self.sampler.obs)
        self.reg = build_regularizer(self.model, data.states.shape[-1]).to(self.device)
        self.loss_module = LossModule(self.model, self.reg, cfg.pred_mode, ENCODE_DTYPES[cfg.precision])
        self.forward = self.loss_module
        if is_distributed():
            ids = None if self.device.type == "cpu" else [self.device.index]
            self.forward = DistributedDataParallel(self.loss_module, device_ids=ids)
        params = [p for p in self.loss_module.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, self._lr_factor)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step_count, self.saved_step = 0, None
        if self.ckpt_dir is not None and self.ctx.is_main:
            clean_checkpoints(self.ckpt_dir)
        if resume:
            self._restore()
        tb = self.out_dir / "tb" if self.out_dir and self.ctx.is_main else None
        self.logger = Logger(tb, purge_step=self.step_count if resume else None)

    @property
    def ckpt_dir(self) -> Path | None:
        return self.out_dir / "checkpoints" if self.out_dir else None

    def _lr_factor(self, step: int) -> float:
        return cosine_factor(step, self.cfg.steps)

    @property
    def total_steps(self) -> int:
        """The joint steps, then the predictor phase's (:mod:`worldmodel.predictor_phase`)."""
        return self.cfg.steps + self.cfg.predictor_steps

    def _predictor_phase(self) -> PredictorPhase:
        if self.phase is None:
            self.phase = PredictorPhase(self.model, self.cfg, self.data, self.train_ids, self.device)
        return self.phase

    def _check_finite(self, value: torch.Tensor, what: str) -> None:
        """Stop (every rank at once) on a non-finite ``value``; the last checkpoint stays as it was."""
        bad = (~torch.isfinite(value.detach())).float().reshape(1)
        if is_distributed():
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        if bad.item() > 0:
            kept = (f"last good checkpoint (step {self.saved_step}) kept in {self.ckpt_dir}"
                    if self.saved_step is not None else "no checkpoint written yet")
            raise DivergenceError(f"train: non-finite {what} ({value.item()}) at step {self.step_count}; "
                                  f"training stopped, {kept}")

    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns its metrics."""
        cfg, ctx = self.cfg, self.ctx
        self.loss_module.train()
        if self.step_count >= cfg.steps:  # the predictor phase: the encoder frozen
            metrics = self._predictor_phase().step(self.gen)
            self._check_finite(torch.tensor(metrics["predictor_phase/loss_pred"]), "predictor-phase loss")
            self.step_count += 1
            return metrics
        batch = self.sampler.sample(cfg.batch_size, self.gen, ctx.rank, ctx.world_size)
        # Step 1. forward: encode frames, targets, multi-step prediction, the regulariser
        loss, metrics, _ = self.forward(batch, self.step_count)
        self._check_finite(loss, "loss")
        # Step 2. backward (DDP averages the gradients over ranks), clip the model's gradients
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip or math.inf)
        self._check_finite(norm, "gradient norm")
        # Step 3. optimiser and learning-rate schedule
        self.opt.step()
        self.sched.step()
        # Step 4. the regulariser's own update (the EMA target's momentum step)
        self.reg.after_step(self.model)
        self.step_count += 1
        metrics["train/lr"] = self.sched.get_last_lr()[0]
        return metrics

    def diagnostics(self) -> dict[str, float]:
        """Std, effective rank, probe R^2 (train -> held-out) and error by horizon; warns on collapse."""
        n = 1024 if len(self.model.obs_shape) == 3 else 2048
        windows = self._frozen_windows
        if windows is None:
            windows = encode_windows(self.model, self.sampler, self.holdout, n)
            if self.step_count > self.cfg.steps:  # the predictor phase: the encoder is frozen, encode once
                self._frozen_windows = windows
        metrics, std = latent_diagnostics(self.model, windows, self.cfg.pred_mode)
        self.logger.histogram("collapse/std_per_dim", std, self.step_count)
        warning = collapse_warning(std, metrics["collapse/eff_rank"], self.model.cfg.latent_dim)
        if warning:
            tqdm.write(f"warning: {warning} at step {self.step_count}")
        return metrics

    def state(self) -> dict[str, Any]:
        """Everything :meth:`_restore` needs, as tensors and plain values."""
        return {"step": self.step_count, "model": self.model.state_dict(), "reg": self.reg.state_dict(),
                "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                "sampler_generator": self.gen.get_state(), "rng": rng_state(),
                "model_cfg": dataclasses.asdict(self.model.cfg), "train_cfg": dataclasses.asdict(self.cfg),
                **({"predictor_phase": self.phase.state_dict()} if self.phase is not None else {})}

    def _restore(self) -> None:
        if self.ckpt_dir is None:
            raise CheckpointError("resume: needs an output directory with checkpoints/train_state.pt")
        state = load_train_state(self.ckpt_dir)
        where = checkpoint_dir(self.ckpt_dir) / TRAIN_STATE
        self._check_steps(state, where)
        now_model, now_train = dataclasses.asdict(self.model.cfg), dataclasses.asdict(self.cfg)
        # a key added to the config since the checkpoint was written had its default's behaviour then
        was_model = {**dataclasses.asdict(ModelConfig()), **state["model_cfg"]}
        was_train = {**dataclasses.asdict(TrainConfig()), **state["train_cfg"]}
        diff = [f"model.{k}" for k in now_model if was_model[k] != now_model[k]]
        begun = int(state["step"]) > int(state["train_cfg"].get("steps", self.cfg.steps))
        free = (*RESUME_FREE, "steps", *(() if begun else PHASE_KEYS))
        diff += [f"train.{k}" for k in now_train if k not in free and was_train[k] != now_train[k]]
        if diff:
            raise CheckpointError(f"{where}: config differs from the checkpoint's in {', '.join(diff)}")
        check_finite(state.get("model", {}), where)
        try:
            self.model.load_state_dict(state["model"])
            self.reg.load_state_dict(state["reg"])
            self.opt.load_state_dict(state["optimizer"])
            self.sched.load_state_dict(state["scheduler"])
        except (KeyError, RuntimeError, ValueError) as err:
            raise CheckpointError(f"{where}: does not fit the model ({str(err).splitlines()[0]})") from None
        if "predictor_phase" in state:
            try:
                self._predictor_phase().load_state_dict(state["predictor_phase"])
            except (KeyError, RuntimeError, ValueError) as err:
                raise CheckpointError(f"{where}: predictor phase does not fit ({str(err).splitlines()[0]})") from None
        self.gen.set_state(state["sampler_generator"])
        set_rng_state(state["rng"])
        self.step_count = self.saved_step = int(state["step"])

    def _check_steps(self, state: dict[str, Any], where: Path) -> None:
        """``train.steps`` on resume: the checkpoint's until the run reached it, then any from its step on."""
        old, new, at = int(state["train_cfg"].get("steps", self.cfg.steps)), self.cfg.steps, int(state["step"])
        if new != old and at > old:
            raise CheckpointError(f"{where}: train.steps={new} differs from the checkpoint's {old}, whose predictor "
                                  f"phase had begun (step {at}); resume with train.steps={old}")
        if new != old and at < old:
            raise CheckpointError(f"{where}: train.steps={new} differs from the checkpoint's {old}, which stopped at "
                                  f"step {at}; the learning-rate schedule depends on train.steps, so resume with "
                                  f"train.steps={old} (a finished run can then be extended)")
        if new < at and new != old:
            raise CheckpointError(f"{where}: train.steps={new} is below the checkpoint's step {at} "
                                  f"(train.steps can only grow on resume)")

    def save(self, extra: dict | None = None) -> Path | None:
        """Model checkpoint + training state of the current step, one unit switched atomically (rank 0)."""
        if self.ckpt_dir is None or not self.ctx.is_main:
            return None
        files = model_files(self.model, {**(extra or {}), "step": self.step_count})
        files[TRAIN_STATE] = train_state_bytes(self.state())
        write_checkpoint(self.ckpt_dir, self.step_count, files)
        self.saved_step = self.step_count
        return self.ckpt_dir

    def _log(self, metrics: dict[str, float], clock: list[float], end: int) -> None:
        cfg, s = self.cfg, self.step_count
        if s % cfg.log_every == 0 or s == end:
            now = time.perf_counter()
            batch = cfg.batch_size if s <= cfg.steps else cfg.predictor_batch_size
            metrics["perf/samples_per_s"] = (s - clock[1]) * batch / max(now - clock[0], 1e-9)
            clock[:] = [now, s]
            self.logger.scalars(metrics, s)
        if self.ctx.is_main and (s % cfg.eval_every == 0 or s == end):
            self.logger.scalars(self.diagnostics(), s)

    def _loop(self, end: int, bar: tqdm, clock: list[float], extra: dict | None) -> None:
        """Steps up to ``end``: logging, checkpoints; the predictor phase's on ``PHASE_THREADS`` CPU threads."""
        cfg, in_phase = self.cfg, False
        while self.step_count < end:
            if not in_phase and self.step_count >= cfg.steps and self.device.type == "cpu":
                torch.set_num_threads(PHASE_THREADS)
                in_phase = True
            metrics = self.train_step()
            bar.update(1)
            self._log(metrics, clock, end)
            if self.step_count % cfg.checkpoint_every == 0 and self.step_count < end:
                self.save(extra)
            if self.step_count % cfg.log_every == 0:
                loss = metrics.get("train/loss", metrics.get("predictor_phase/loss_pred", math.nan))
                bar.set_postfix(loss=f"{loss:.4f}")

    def fit(self, extra: dict | None = None, stop_after: int | None = None) -> TrainResult:
        """Train to ``cfg.steps`` and the predictor phase's ``cfg.predictor_steps`` (or stop at step ``stop_after``),
        logging and checkpointing."""
        start = time.perf_counter()
        end = min(self.total_steps, stop_after) if stop_after is not None else self.total_steps
        bar = tqdm(total=self.total_steps, initial=self.step_count, desc="train", unit="step",
                   disable=not self.progress)
        clock = [time.perf_counter(), self.step_count]
        threads = torch.get_num_threads()
        try:
            self._loop(end, bar, clock, extra)
        finally:
            torch.set_num_threads(threads)  # the predictor phase's one thread (see PHASE_THREADS) ends here
        bar.close()
        kept = self.step_count == self.saved_step  # a resumed run that had already finished: left as it is
        ckpt = (self.ckpt_dir if self.ctx.is_main else None) if kept else self.save(extra)
        self.logger.close()
        return TrainResult(self.model.eval(), ckpt, dict(self.logger.last), time.perf_counter() - start)


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, data: Episodes, out_dir: str | Path | None = None,
          progress: bool = True, extra: dict | None = None, resume: bool = False,
          ready: Callable[[], None] | None = None) -> TrainResult:
    """Train a world model on ``data``; checkpoints go to ``out_dir/checkpoints``.

    ``ready`` is called once the trainer is built (a resume's checks passed) and before the
    first step.  For image observations a decoder probe is then fitted on the frozen latents
    (``train.probe_steps``) and saved next to the model (rank 0).
    """
    trainer = Trainer(model_cfg, train_cfg, data, out_dir, progress, resume)
    if ready is not None:
        ready()
    result = trainer.fit(extra)
    if len(trainer.model.obs_shape) == 3 and train_cfg.probe_steps and trainer.ctx.is_main:
        from worldmodel.decoder_probe import fit_decoder_probe

        probe_metrics = fit_decoder_probe(trainer.model, data, train_cfg, trainer.ckpt_dir, progress)
        result.metrics.update(probe_metrics)
    return result
