"""The run pipeline: collect -> train -> evaluate, into one run directory.

Layout of a run directory::

    config.yaml            the resolved configuration
    data/dataset.h5        the exploration dataset
    checkpoints/           model.safetensors + config.yaml
    tb/                    TensorBoard logs
    eval/<agent>/results.json, eval/results.md
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from agents.evaluate import evaluate
from agents.factory import build_agent
from agents.report import results_table
from envs.collect import collect
from envs.dataset import Episodes, read_dataset
from envs.registration import make_env
from wm.config import RunConfig, config_hash, dump_config, to_dict
from wm.provenance import git_commit, versions
from worldmodel.checkpoint import load_model
from worldmodel.distributed import distributed
from worldmodel.train import train


def default_run_dir(cfg: RunConfig) -> Path:
    name = cfg.env.id.split("/")[-1].lower()
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{cfg.env.obs_type}"


def dataset_path(cfg: RunConfig, run_dir: Path) -> Path:
    return Path(cfg.data.path) if cfg.data.path else run_dir / "data" / "dataset.h5"


def write_config(cfg: RunConfig, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(dump_config(cfg))


def collect_data(cfg: RunConfig, run_dir: Path, append: bool = False, progress: bool = True) -> Episodes:
    """``wm collect``: record ``cfg.data`` episodes into the run's dataset file."""
    make_env(cfg.env.id, **cfg.env.make_kwargs()).close()  # bad ids or kwargs fail before anything is written
    write_config(cfg, run_dir)
    return collect(cfg.env, cfg.data, dataset_path(cfg, run_dir), append=append, progress=progress)


def train_model(cfg: RunConfig, run_dir: Path, progress: bool = True, resume: bool = False) -> dict[str, Any] | None:
    """``wm train``: train on the run's dataset; returns the final metrics (None on DDP ranks > 0).

    Under ``torchrun`` every rank runs this; rank 0 writes the config, checkpoints and metrics.
    ``resume`` continues from ``run_dir/checkpoints/train_state.pt``.
    """
    with distributed(cfg.train.device) as ctx:
        data = read_dataset(dataset_path(cfg, run_dir))
        if data.meta["env_id"] != cfg.env.id or data.meta["obs_type"] != cfg.env.obs_type:
            raise ValueError(f"{dataset_path(cfg, run_dir)}: dataset is {data.meta['env_id']} "
                             f"({data.meta['obs_type']}), config asks {cfg.env.id} ({cfg.env.obs_type})")
        if ctx.is_main:
            write_config(cfg, run_dir)
        extra = {"env": to_dict(cfg)["env"]}
        result = train(cfg.model, cfg.train, data, run_dir, progress=progress, extra=extra, resume=resume)
    if not ctx.is_main:
        return None
    metrics = {**result.metrics, "wall_s": result.wall_s}
    (run_dir / "checkpoints" / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def evaluate_agents(cfg: RunConfig, run_dir: Path, checkpoint: Path | None = None,
                    progress: bool = True) -> list[dict[str, Any]]:
    """``wm eval``: evaluate every agent of ``cfg.eval.agents``; write results and a table."""
    model = None
    if "mpc" in cfg.eval.agents:
        model = load_model(checkpoint or run_dir / "checkpoints", cfg.eval.device)
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    meta = {"obs_type": cfg.env.obs_type, "config_hash": config_hash(cfg), "git_commit": git_commit(),
            "versions": versions()}
    summaries = []
    for name in cfg.eval.agents:
        agent = build_agent(name, cfg.plan, env.action_space, model, cfg.model.frameskip, cfg.eval.device)
        planner = cfg.plan.planner if name != "random" else None
        with torch.inference_mode(False):
            result = evaluate(agent, cfg.env.id, cfg.eval.episodes, cfg.eval.seed,
                              {**cfg.env.make_kwargs(), **cfg.eval.env_kwargs}, cfg.eval.max_steps, name,
                              progress, {**meta, "planner": planner})
        result.write(run_dir / "eval" / name / "results.json")
        summaries.append(result.summary())
    env.close()
    table = results_table(summaries)
    (run_dir / "eval" / "results.md").write_text(f"# {cfg.env.id} ({cfg.env.obs_type})\n\n{table}\n")
    return summaries


def run(cfg: RunConfig, run_dir: Path, progress: bool = True) -> list[dict[str, Any]]:
    """``wm run``: collect (unless ``data.path`` is set), train, evaluate."""
    if not cfg.data.path:
        collect_data(cfg, run_dir, progress=progress)
    train_model(cfg, run_dir, progress=progress)
    return evaluate_agents(cfg, run_dir, progress=progress)
