"""The run pipeline: collect -> train -> evaluate, into one run directory.

Layout of a run directory::

    config.yaml            the resolved configuration
    data/dataset.h5        the exploration dataset
    checkpoints/           model.safetensors + config.yaml
    tb/                    TensorBoard logs
    gcbc/<key>/            the GCBC baseline, when evaluated (model.safetensors + config.yaml)
    eval/<label>/results.json, results.md, videos/*.mp4   (label: mpc-cem, oracle-cem, random, gcbc, ...)
    eval/results.md        one row per evaluated label
    eval/offset/...        the same under the ``offset`` protocol (``eval.protocols``)
"""

from __future__ import annotations

import dataclasses
import json
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import torch

from agents import parallel
from agents.factory import MODEL_AGENTS, PLANNING_AGENTS, build_agent, result_label
from agents.gcbc_train import fit_or_load
from agents.report import results_table
from agents.video import VideoOptions, find_decoder_probe
from envs.collect import collect
from envs.dataset import Episodes, read_dataset, state_scale
from envs.offset import OffsetProtocol
from envs.registration import make_env
from wm.config import RunConfig, config_hash, dump_config, to_dict
from wm.provenance import git_commit, git_dirty, versions
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


def _gcbc_policy(cfg: RunConfig, run_dir: Path, progress: bool):
    """Train GCBC on the run's dataset, or load it when trained before with the same settings."""
    e = cfg.eval
    fit = partial(fit_or_load, dataset_path(cfg, run_dir), run_dir / "gcbc", e.gcbc_steps, e.gcbc_batch_size,
                  e.gcbc_lr, e.gcbc_hidden, e.gcbc_seed, e.device)
    rank, _ = parallel.distributed_context()
    if rank == 0:
        policy, _ = fit(progress=progress)
    parallel.barrier()  # under torchrun the other ranks load what rank 0 trained
    if rank != 0:
        policy, _ = fit(progress=False)
    return policy


def write_results_table(cfg: RunConfig, run_dir: Path, protocol: str = "task") -> Path:
    """``eval/results.md`` (``eval/offset/results.md``): one row per ``results.json`` of that protocol."""
    order = {"mpc": 0, "sim-latent": 1, "oracle-goal": 2, "oracle": 3, "gcbc": 4, "random": 5}
    root = eval_root(run_dir, protocol)
    found = [json.loads(p.read_text()) for p in sorted(root.glob("*/results.json"))]
    found.sort(key=lambda s: (order.get(s["agent"], 9), s.get("planner") or ""))
    path = root / "results.md"
    title = f"# {cfg.env.id} ({cfg.env.obs_type}){', offset protocol' if protocol == 'offset' else ''}"
    path.write_text(f"{title}\n\n{results_table(found)}\n")
    return path


def eval_root(run_dir: Path, protocol: str) -> Path:
    """Where a protocol's results go: ``eval/`` (task) or ``eval/offset/``."""
    return run_dir / "eval" / ("offset" if protocol == "offset" else "")


def offset_protocol(cfg: RunConfig) -> OffsetProtocol:
    """The ``offset`` protocol of a run: the run's data policy, ``eval.offset`` steps, starts within an episode."""
    d = cfg.data
    return OffsetProtocol(offset=cfg.eval.offset, max_start=max(0, d.episode_steps - cfg.eval.offset),
                          policy=d.policy, smoothing=d.smoothing, noise=d.noise,
                          goal_velocity=cfg.eval.offset_goal_velocity)


def _agent_meta(cfg: RunConfig, name: str) -> dict[str, Any]:
    """Provenance for ``results.json``; planning agents also record their planner and plan config."""
    planning = name in PLANNING_AGENTS
    return {"obs_type": cfg.env.obs_type, "config_hash": config_hash(cfg), "git_commit": git_commit(),
            "git_dirty": git_dirty(), "versions": versions(), "planner": cfg.plan.planner if planning else None,
            "protocol": "task", "data_seeds": [cfg.data.seed, cfg.data.seed + cfg.data.episodes],
            **({"plan": dataclasses.asdict(cfg.plan)} if planning else {})}


def _eval_context(cfg: RunConfig, run_dir: Path, checkpoint: Path | None, progress: bool) -> dict[str, Any]:
    """What the agents of ``cfg.eval.agents`` are built from: model, GCBC policy, decoder, state scale."""
    agents, e = cfg.eval.all_agents(), cfg.eval
    ckpt = checkpoint or run_dir / "checkpoints"
    model = load_model(ckpt, e.device) if set(agents) & set(MODEL_AGENTS) else None
    return {"model": model,
            "policy": _gcbc_policy(cfg, run_dir, progress) if "gcbc" in agents else None,
            "decoder": find_decoder_probe(ckpt, e.device) if e.videos and model is not None else None,
            "state_scale": state_scale(dataset_path(cfg, run_dir)) if "oracle-goal" in agents else None}


def evaluate_agents(cfg: RunConfig, run_dir: Path, checkpoint: Path | None = None,
                    progress: bool = True) -> list[dict[str, Any]]:
    """``wm eval``: evaluate, under every protocol of ``cfg.eval.protocols``, its agents
    (``eval.agents`` / ``eval.offset_agents``) into ``eval/[offset/]<agent>[-<planner>]/``.

    Episodes are split across ``eval.workers`` processes, or across the ranks under torchrun
    (rank 0 writes; the other ranks return nothing).
    """
    rank, _ = parallel.distributed_context()
    ctx = _eval_context(cfg, run_dir, checkpoint, progress)
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    summaries = []
    with ExitStack() as stack:
        pool = stack.enter_context(parallel.worker_pool(cfg.eval.workers)) if cfg.eval.workers > 1 else None
        for protocol in cfg.eval.protocols:
            for name in cfg.eval.agents_for(protocol):
                agent = build_agent(name, cfg.plan, env.action_space, ctx["model"], cfg.model.frameskip,
                                    cfg.eval.device, ctx["policy"], ctx["state_scale"])
                summary = _evaluate_one(cfg, run_dir, name, agent, protocol, ctx["decoder"], pool, progress)
                if rank == 0:
                    summaries.append(summary)
            if rank == 0:
                write_results_table(cfg, run_dir, protocol)
    env.close()
    return summaries


def _evaluate_one(cfg: RunConfig, run_dir: Path, name: str, agent: Any, protocol: str, decoder: Any,
                  pool: Any, progress: bool) -> dict[str, Any]:
    """Evaluate one agent under one protocol; rank 0 writes ``results.json`` and returns its summary."""
    rank, _ = parallel.distributed_context()
    e = cfg.eval
    out = eval_root(run_dir, protocol) / result_label(name, cfg.plan)
    video = VideoOptions(tuple(range(e.videos)), out / "videos", decoder if name == "mpc" else None) \
        if e.videos else None
    offset = offset_protocol(cfg) if protocol == "offset" else None
    max_steps = e.offset_budget if offset is not None else e.max_steps
    with torch.inference_mode(False):
        result = parallel.evaluate_sharded(
            agent, e.episodes, e.workers, progress and rank == 0, pool, env_id=cfg.env.id,
            seed=e.seed, env_kwargs={**cfg.env.make_kwargs(), **e.env_kwargs}, max_steps=max_steps,
            name=name, meta=_agent_meta(cfg, name), video=video, protocol=offset)
    if rank == 0:
        result.write_dir(out)
    return result.summary()


def run(cfg: RunConfig, run_dir: Path, progress: bool = True) -> list[dict[str, Any]]:
    """``wm run``: collect (unless ``data.path`` is set), train, evaluate."""
    if not cfg.data.path:
        collect_data(cfg, run_dir, progress=progress)
    train_model(cfg, run_dir, progress=progress)
    return evaluate_agents(cfg, run_dir, progress=progress)
