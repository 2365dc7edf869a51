"""Does latent MPC exploit its predictor? The plans it executes, scored by the predictor and by the simulator.

The control ladder says *which* rung loses success (``sim-latent -> mpc``: the predictor); this probe
shows *how*. Latent MPC runs its episodes (``--protocol task`` or ``offset``) as ``wm eval`` would; at every plan, the
action sequence it chose ``(H, A)`` is scored with its own latent goal cost twice:

* ``pred``: through the learned predictor (what the planner believed when it chose the plan);
* ``true``: through the true simulator from the same state, each step's observation encoded by the
  same encoder (the ``sim-latent`` rung's cost of that sequence);

beside ``now``, the cost of staying where the agent is (the current latent held over the horizon).
A plan the planner believes makes progress (``pred < now``) while the simulator says it does not
(``true >= now``) is *illusory progress*: the planner optimised against a predictor error. Where the
failing episodes are full of such plans and the successful ones are not, the loss is the predictor
being exploited, not a weak planner or a wrong latent geometry.

Usage: ``python -m benchmarks.plan_optimism RUN [RUN ...] [--episodes 20] [--protocol offset] [--out FILE]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import wm
from agents.costs import goal_cost
from benchmarks.timing import write_artifact
from wm.pipeline import offset_protocol
from wm.provenance import code_at_start

RESULTS = Path(__file__).resolve().parent / "results"


def plan_scores(mpc, sim, obs: np.ndarray) -> dict[str, float]:
    """``pred``, ``true`` and ``now`` costs of the plan ``mpc`` just made from ``obs``."""
    plan = mpc._plan[None]  # (1, H, A)
    sim._begin(obs)
    with torch.inference_mode():
        pred = float(mpc._cost(plan)[0])
        true = float(sim._sim_cost(plan)[0])
        z_now = mpc._z0.reshape(-1, mpc._z0.shape[-1])[-1]  # the latest latent (history models: the last)
        held = z_now.expand(1, plan.shape[1], -1)
        now = float(goal_cost(held, mpc._z_goal, mpc.cfg.distance, mpc.cfg.running_weight,
                              mpc.cfg.terminal_steps)[0])
    return {"pred": pred, "true": true, "now": now}


def run_episode(mpc, sim, env, seed: int, max_steps: int | None = None, protocol=None) -> dict:
    """One episode of latent MPC with every plan scored (see the module docstring); at most ``max_steps``
    env steps (None: the env's own limit); ``protocol``: an ``OffsetProtocol`` (None: the task's), as
    ``wm eval`` runs it."""
    mpc.seed(seed)
    options = protocol.reset_options(env, seed) if protocol is not None else None
    obs, info = env.reset(seed=seed, options=options)
    mpc.reset(obs, info)
    sim.reset(obs, info)
    plans, success, done, t = [], bool(info["success"]), False, 0
    while not done and (max_steps is None or t < max_steps):
        action = mpc.act(obs)
        if mpc.last_plan_ms is not None:
            plans.append(plan_scores(mpc, sim, obs))
        obs, _, terminated, truncated, info = env.step(action)
        success |= bool(info["success"])
        done, t = terminated or truncated, t + 1
    illusory = [p["pred"] < p["now"] <= p["true"] for p in plans]
    return {"seed": seed, "success": success, "plans": len(plans),
            "illusory_fraction": float(np.mean(illusory)) if plans else 0.0,
            "optimism_median": float(np.median([p["true"] - p["pred"] for p in plans])) if plans else 0.0,
            "scores": [{k: round(v, 4) for k, v in p.items()} for p in plans]}


def summarise(eps: list[dict], key: str) -> dict[str, float | int | None]:
    """Median of ``key`` over the episodes (None when none) and their count."""
    vals = [e[key] for e in eps]
    return {"episodes": len(vals), "median": float(np.median(vals)) if vals else None}


def probe_run(run: Path, episodes: int, seed: int | None = None, protocol: str = "task") -> dict:
    """The probe on one trained run under ``protocol`` (``task`` or ``offset``): per-episode records and
    successes against failures; episode ``i`` resets with ``seed + i`` (None: the run's ``eval.seed``, the
    episodes ``wm eval`` runs)."""
    cfg = wm.load_run_config(run)
    seed = cfg.eval.seed if seed is None else seed
    offset = offset_protocol(cfg) if protocol == "offset" else None
    max_steps = cfg.eval.offset_budget if offset is not None else cfg.eval.max_steps or None
    mpc, sim = wm.load_agent(run), wm.load_agent(run, agent="sim-latent")
    env = wm.make_env(run)
    sim.attach(env)
    eps = [run_episode(mpc, sim, env, seed + i, max_steps, offset) for i in range(episodes)]
    env.close()
    wins, fails = [e for e in eps if e["success"]], [e for e in eps if not e["success"]]
    return {"run": str(run), "protocol": protocol, "seed": seed, "env_id": cfg.env.id, "obs_type": cfg.env.obs_type,
            "train_steps": cfg.train.steps, "predictor_steps": cfg.train.predictor_steps, "episodes": episodes,
            "successes": len(wins),
            "illusory_fraction": {"successes": summarise(wins, "illusory_fraction"),
                                  "failures": summarise(fails, "illusory_fraction")},
            "optimism": {"successes": summarise(wins, "optimism_median"),
                         "failures": summarise(fails, "optimism_median")},
            "episode_records": eps}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--seed", type=int, default=None, help="first episode seed (default: the run's eval.seed)")
    p.add_argument("--protocol", choices=("task", "offset"), default="task")
    p.add_argument("--out", type=Path, default=RESULTS / "plan_optimism.json")
    args = p.parse_args(argv)
    commit, dirty = code_at_start()
    runs = [probe_run(r, args.episodes, args.seed, args.protocol) for r in args.runs]
    for r in runs:
        med = {k: v["median"] for k, v in r["illusory_fraction"].items()}
        print(f"{r['run']}: {r['successes']}/{r['episodes']} successes; illusory-progress plans, median per "
              f"episode: " + ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in med.items()))
    write_artifact({"git_commit": commit, "git_dirty": dirty, "runs": runs}, args.out)


if __name__ == "__main__":
    main()
