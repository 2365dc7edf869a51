"""A small trained state model of the embedded default (TwoRoom, state) for the planning benchmarks.

Collects ``episodes`` random-walk episodes and trains ``steps`` gradient steps in this process
(one thread: about two minutes on an idle core at the defaults), then caches the checkpoint
under ``cache`` keyed by the hash of what decides the weights (env, data, model and train
sections), so the planning benchmarks (:mod:`benchmarks.plan_flops`,
:mod:`benchmarks.swm_compare`) share one model and a rerun does not retrain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from envs.collect import collect
from wm.config import RunConfig, load_config, to_dict
from worldmodel.checkpoint import has_checkpoint, load_model
from worldmodel.model import WorldModel
from worldmodel.train import train

DEFAULT_CACHE = Path("/tmp/wm_bench_models")
CONFIG = "configs/tworoom_state.yaml"


def small_config(episodes: int, steps: int, threads: int) -> RunConfig:
    """The embedded default with ``episodes`` data episodes, ``steps`` training steps, ``threads`` threads."""
    cfg = load_config(CONFIG, [])
    data = replace(cfg.data, episodes=episodes, workers=1)
    tcfg = replace(cfg.train, steps=steps, threads=threads, checkpoint_every=steps, eval_every=steps)
    return replace(cfg, data=data, train=tcfg)


def weights_key(cfg: RunConfig) -> str:
    """Short hash of the sections that decide the trained weights (not threads or logging)."""
    d = to_dict(cfg)
    train_cfg = {k: v for k, v in d["train"].items() if k not in ("threads", "log_every", "device")}
    body = {"env": d["env"], "data": {k: v for k, v in d["data"].items() if k != "workers"},
            "model": d["model"], "train": train_cfg}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


def trained_state_model(episodes: int = 300, steps: int = 3000, threads: int = 1,
                        cache: Path = DEFAULT_CACHE) -> tuple[WorldModel, RunConfig, Path]:
    """``(model in eval mode, its config, its checkpoint directory)``, trained now or read from ``cache``."""
    cfg = small_config(episodes, steps, threads)
    run_dir = Path(cache) / f"tworoom_state_{weights_key(cfg)}"
    ckpt = run_dir / "checkpoints"
    if not has_checkpoint(ckpt):
        data = collect(cfg.env, cfg.data, progress=False)
        train(cfg.model, cfg.train, data, run_dir, progress=False, extra={"env": to_dict(cfg)["env"]})
    return load_model(ckpt).eval(), cfg, ckpt
