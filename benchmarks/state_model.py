"""A small trained state model of the embedded default (TwoRoom, state) for the planning benchmarks.

Collects ``episodes`` random-walk episodes and trains ``steps`` gradient steps in this process
(one thread: about two minutes on an idle core at the defaults), then caches the checkpoint
under ``cache`` keyed by the hash of what decides the weights (env, data, model and train
sections), so the planning benchmarks (:mod:`benchmarks.plan_flops`,
:mod:`benchmarks.swm_compare`) share one model and a rerun does not retrain.
"""

from __future__ import annotations

import argparse
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


def add_budget_args(ap: argparse.ArgumentParser) -> None:
    """The options the planning benchmarks on this model share: the CEM budget, the episodes,
    the threads, the model's data and steps, its cache, ``--quick`` and ``--out``."""
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--elites", type=int, default=30)
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-episodes", type=int, default=300)
    ap.add_argument("--train-steps", type=int, default=3000)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the trained model is cached")
    ap.add_argument("--quick", action="store_true", help="2 episodes, 60 data episodes, 200 steps (< 1 minute)")
    ap.add_argument("--out", type=Path, default=None)


def budget_args(args: argparse.Namespace) -> dict:
    """``args`` with ``--quick`` applied (in place) -> the ``budget`` record of the results."""
    if args.quick:
        args.episodes, args.data_episodes, args.train_steps = 2, 60, 200
    return {"samples": args.samples, "iterations": args.iterations, "elites": args.elites, "horizon": args.horizon}
