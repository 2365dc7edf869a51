"""The run pipeline: collect -> train -> evaluate, into one run directory.

Layout of a run directory::

    config.yaml            the resolved configuration
    data/dataset.h5        the exploration dataset
    checkpoints/LATEST     names the current unit, step-<N>/ (worldmodel/checkpoint.py)
    checkpoints/step-<N>/  model.safetensors + config.yaml + train_state.pt (+ decoder probe)
    tb/                    TensorBoard logs
    gcbc/<key>/            the GCBC baseline, when evaluated (model.safetensors + config.yaml; wm.load_agent
                           loads it with agent="gcbc")
    eval/<label>/results.json, results.md, videos/*.mp4   (label: mpc-cem, oracle-cem, random, gcbc, ...)
    eval/results.md        one row per evaluated label
    eval/offset/...        the same under the ``offset`` protocol (``eval.protocols``)
"""

from __future__ import annotations

import dataclasses
import hashlib
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
from envs.dataset import Episodes, dataset_seed_ranges, read_dataset, state_scale
from envs.offset import OffsetProtocol
from envs.registration import env_facts, make_env
from wm import guards, planner_stage
from wm.config import RunConfig, config_hash, dump_config, to_dict
from wm.provenance import code_record, versions
from worldmodel.checkpoint import checkpoint_dir, load_model, read_checkpoint_config
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
    """``wm collect``: record ``cfg.data`` episodes into the run's dataset file.

    Every check (env id and kwargs, an existing dataset, a writable run directory) comes
    before anything is written; the run's ``config.yaml`` is written once the data is.
    """
    check_seeds(cfg)
    make_env(cfg.env.id, **cfg.env.make_kwargs()).close()  # bad ids or kwargs fail before anything is written
    path = dataset_path(cfg, run_dir)
    if path.exists() and not append:
        raise FileExistsError(f"{path}: dataset exists (wm collect --append adds to it)")
    if path.exists():  # appending the same seeds again would record the same episodes twice
        guards.check_dataset_seeds(path, dataset_seed_ranges(path), cfg.data.seed, cfg.data.episodes,
                                   "new data (data.seed, data.episodes)")
    guards.prepare_run_dir(run_dir, *(() if cfg.data.path else ("data",)))
    data = collect(cfg.env, cfg.data, path, append=append, progress=progress)
    write_config(cfg, run_dir)
    return data


def check_seeds(cfg: RunConfig, run_dir: Path | None = None) -> None:
    """The evaluation seeds are disjoint from the data seeds (:func:`wm.guards.check_seeds_disjoint`)
    and, given ``run_dir``, from those its dataset file records (``data.path``, appends)."""
    guards.check_seeds_disjoint(cfg.data.seed, cfg.data.episodes, cfg.eval.seed, cfg.eval.episodes)
    if planner_stage.wanted(cfg.train):
        guards.check_dataset_seeds(Path("train.planner_seed"), [planner_stage.planner_seed_range(cfg.train)],
                                   cfg.eval.seed, cfg.eval.episodes, "evaluation (eval.seed, eval.episodes)")
    path = dataset_path(cfg, run_dir) if run_dir is not None else None
    if path is not None and path.is_file():
        guards.check_dataset_seeds(path, dataset_seed_ranges(path), cfg.eval.seed, cfg.eval.episodes,
                                   "evaluation (eval.seed, eval.episodes)")


def check_dataset(cfg: RunConfig, data: Episodes, path: Path) -> None:
    """The dataset was recorded on the configured env, with its observation and action shapes."""
    if data.meta["env_id"] != cfg.env.id or data.meta["obs_type"] != cfg.env.obs_type:
        raise ValueError(f"{path}: dataset is {data.meta['env_id']} ({data.meta['obs_type']}), "
                         f"config asks {cfg.env.id} ({cfg.env.obs_type})")
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    try:
        guards.check_shapes(f"{path}: dataset", data.obs.shape[1:], data.actions.shape[1], env,
                            guards.env_name(to_dict(cfg)["env"]))
    finally:
        env.close()


def train_model(cfg: RunConfig, run_dir: Path, progress: bool = True, resume: bool = False,
                force: bool = False) -> dict[str, Any] | None:
    """``wm train``: train on the run's dataset; returns the final metrics (None on DDP ranks > 0).

    Under ``torchrun`` every rank runs this; rank 0 writes the config, checkpoints and metrics.
    ``resume`` continues from ``run_dir/checkpoints/train_state.pt``; trained weights already
    there are refused unless ``resume`` or ``force`` (which removes them, and the planner episodes,
    before the first step). With ``train.planner_episodes`` the joint steps, the planner's episodes and
    the predictor phase run in turn (:mod:`wm.planner_stage`).
    The run's ``config.yaml`` is written only once every check (and a resume's) has passed.
    """
    ckpt, start = run_dir / "checkpoints", time.perf_counter()
    staged = planner_stage.wanted(cfg.train) > 0
    if staged:
        check_seeds(cfg)
    with distributed(cfg.train.device) as ctx:
        guards.refuse_retrain(ckpt, resume, force)
        if staged and ctx.world_size > 1:
            raise guards.RunError("train.planner_episodes: the planner stage runs in one process, not under "
                                  "torchrun; train the joint steps there, then wm train --resume in one process")
        data = read_dataset(dataset_path(cfg, run_dir))
        check_dataset(cfg, data, dataset_path(cfg, run_dir))
        guards.prepare_run_dir(run_dir, "checkpoints")

        def ready() -> None:
            if ctx.is_main:
                if force and not resume:
                    guards.clear_checkpoints(ckpt)
                    planner_stage.planner_episodes_path(run_dir).unlink(missing_ok=True)
                write_config(cfg, run_dir)

        extra = {"env": to_dict(cfg)["env"]}
        episodes = planner_stage.planner_episodes_path(run_dir)
        if not staged or not (resume and episodes.exists()):  # the joint part (all of it when not staged)
            result = train(cfg.model, planner_stage.joint_part(cfg.train), data, run_dir, progress=progress,
                           extra=extra, resume=resume, ready=ready)
        if staged:
            kwargs = {**cfg.env.make_kwargs(), **goal_kwargs(cfg, run_dir)}
            planner_stage.record_planner_episodes(cfg, run_dir, kwargs, offset_protocol(cfg), progress)
            data = planner_stage.with_planner_episodes(data, episodes)
            result = train(cfg.model, cfg.train, data, run_dir, progress=progress, extra=extra, resume=True,
                           ready=ready)
    if not ctx.is_main:
        return None
    metrics = {**result.metrics, "wall_s": time.perf_counter() - start if staged else result.wall_s,
               "threads": torch.get_num_threads()}  # the training's CPU threads (its predictor phase runs on one)
    (ckpt / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
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
    env = (cfg.env.id, cfg.env.obs_type)
    found = [s for s in found if (s.get("env_id"), s.get("obs_type", env[1])) == env]  # never another env's rows
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
    return {"obs_type": cfg.env.obs_type, "config_hash": config_hash(cfg), **code_record(),
            "versions": versions(), "planner": cfg.plan.planner if planning else None,
            "protocol": "task", "data_seeds": [cfg.data.seed, cfg.data.seed + cfg.data.episodes],
            "eval_key": _eval_key(cfg, name), **({"plan": dataclasses.asdict(cfg.plan)} if planning else {})}


def _eval_key(cfg: RunConfig, name: str) -> str:
    """Hash of what decides an agent's results (not videos, workers or device): equal keys, equal results."""
    e = dataclasses.asdict(cfg.eval)
    keep = ["episodes", "seed", "max_steps", "env_kwargs", "offset", "offset_budget"]
    keep += [k for k in e if k.startswith("gcbc_")] if name == "gcbc" else []
    body = {"env": to_dict(cfg)["env"], "eval": {k: e[k] for k in keep}, "agent": name,
            "plan": dataclasses.asdict(cfg.plan) if name in PLANNING_AGENTS else None}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _planned(cfg: RunConfig, name: str) -> dict[str, Any]:
    """The identity fields (:data:`wm.guards.EVAL_IDENTITY`) that ``results.json`` of ``name`` will hold."""
    meta = {"env_id": cfg.env.id, "episodes": cfg.eval.episodes, "seed": cfg.eval.seed, **_agent_meta(cfg, name)}
    return json.loads(json.dumps({k: meta.get(k) for k in guards.EVAL_IDENTITY if k in meta}, default=str))


def check_eval(cfg: RunConfig, run_dir: Path, checkpoint: Path | None, force: bool) -> None:
    """Before any work: evaluation seeds are not data seeds, the run's and the checkpoint's env are the
    config's, the checkpoint's shapes fit the env, and no results of another evaluation would be
    replaced (unless ``force``)."""
    check_seeds(cfg, run_dir)
    ours = to_dict(cfg)["env"]
    guards.check_same_env(run_dir / "config.yaml", guards.run_config_env(run_dir), ours, "run is")
    if set(cfg.eval.all_agents()) & set(MODEL_AGENTS):
        ckpt = checkpoint_dir(checkpoint or run_dir / "checkpoints")
        config = read_checkpoint_config(ckpt)
        guards.check_same_env(ckpt / "config.yaml", config.get("env"), ours, "checkpoint was trained on")
        env = make_env(cfg.env.id, **cfg.env.make_kwargs())
        try:
            guards.check_shapes(f"{ckpt / 'config.yaml'}: checkpoint", tuple(config["obs_shape"]),
                                config["env_action_dim"], env, guards.env_name(ours))
        finally:
            env.close()
    guards.prepare_run_dir(run_dir, "eval")
    for protocol in cfg.eval.protocols:
        for name in cfg.eval.agents_for(protocol):
            path = eval_root(run_dir, protocol) / result_label(name, cfg.plan) / "results.json"
            guards.refuse_replacing_results(path, _planned(cfg, name), force)


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
                    progress: bool = True, force: bool = False) -> list[dict[str, Any]]:
    """``wm eval``: evaluate, under every protocol of ``cfg.eval.protocols``, its agents
    (``eval.agents`` / ``eval.offset_agents``) into ``eval/[offset/]<agent>[-<planner>]/``.

    Episodes are split across ``eval.workers`` processes, or across the ranks under torchrun
    (rank 0 writes; the other ranks return nothing).  :func:`check_eval` runs first; ``force``
    lets results of a different evaluation be replaced.
    """
    rank, _ = parallel.distributed_context()
    check_eval(cfg, run_dir, checkpoint, force)
    ctx = _eval_context(cfg, run_dir, checkpoint, progress)
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    summaries = []
    with ExitStack() as stack:
        pool = stack.enter_context(parallel.worker_pool(cfg.eval.workers)) if cfg.eval.workers > 1 else None
        for protocol in cfg.eval.protocols:
            for name in cfg.eval.agents_for(protocol):
                agent = build_agent(name, cfg.plan, env.action_space, ctx["model"], cfg.model.frameskip,
                                    cfg.eval.device, ctx["policy"], ctx["state_scale"], cfg.eval.plan_threads)
                summary = _evaluate_one(cfg, run_dir, name, agent, protocol, ctx["decoder"], pool, progress,
                                        protocol_facts(env_facts(env), protocol))
                if rank == 0:
                    summaries.append(summary)
            if rank == 0:
                write_results_table(cfg, run_dir, protocol)
    env.close()
    return summaries


def protocol_facts(facts: dict[str, Any], protocol: str) -> dict[str, Any]:
    """The env's facts for results of ``protocol``: an ``offset`` episode's final distance is the peers'
    success margin (in tolerances, success iff < 1), not the env's own distance."""
    if protocol != "offset":
        return facts
    return {**facts, "distance_kind": "offset margin", "distance_units": "tol"}


def goal_kwargs(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """``env.goal_source: dataset``: the env kwarg naming the run's dataset, where goals are retrieved from."""
    if cfg.env.goal_source != "dataset":
        return {}
    return {"goal_dataset": str(dataset_path(cfg, run_dir).resolve())}


def _evaluate_one(cfg: RunConfig, run_dir: Path, name: str, agent: Any, protocol: str, decoder: Any,
                  pool: Any, progress: bool, facts: dict[str, Any] | None = None) -> dict[str, Any]:
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
            seed=e.seed, env_kwargs={**cfg.env.make_kwargs(), **e.env_kwargs, **goal_kwargs(cfg, run_dir)},
            max_steps=max_steps, name=name, meta={**_agent_meta(cfg, name), **(facts or {})}, video=video,
            protocol=offset)
    if rank == 0:
        result.write_dir(out)
        guards.write_strict_json(out / "results.json")
    return result.summary()


def run(cfg: RunConfig, run_dir: Path, progress: bool = True) -> list[dict[str, Any]]:
    """``wm run``: collect (unless ``data.path`` is set), train, evaluate, into a new run directory."""
    check_seeds(cfg, run_dir)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise guards.RunError(f"{run_dir}: run directory exists and is not empty; wm run starts a new run, so "
                              f"choose another --out (on an existing run: wm collect --append, wm train --resume, "
                              f"wm eval)")
    if not cfg.data.path:
        collect_data(cfg, run_dir, progress=progress)
    train_model(cfg, run_dir, progress=progress)
    return evaluate_agents(cfg, run_dir, progress=progress)
