"""Planner sweeps on a trained run, plotted: success vs budget, success vs horizon, plan time vs samples.

    python -m benchmarks.plot_planning --run RUN [--episodes 20] [--planners cem icem mppi gd cem_gd]

Writes ``RUN/plots/`` (or ``--out``): ``success_vs_budget.png``, ``success_vs_horizon.png``,
``steps_vs_horizon.png``, ``plan_time_vs_samples.png`` and ``sweeps.json`` with every measured
point.  Episodes are those of ``wm eval`` (``eval.seed + i``); budgets are ``samples x iterations`` with 10 % elites (at
least 2).  The default grids are small on purpose: on the default TwoRoom model every planner
already succeeds at budget 10 x 10, so the interesting part of the curves is below it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from functools import partial
from pathlib import Path

import torch

from agents.config import PLANNERS, PlanConfig
from agents.factory import build_agent
from agents.parallel import worker_pool
from agents.plots import line_plot
from agents.sweeps import budget_plan, plan_times, success_sweep
from envs.registration import make_env
from wm.config import load_config
from worldmodel.checkpoint import load_model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="run directory with config.yaml and checkpoints/")
    p.add_argument("--out", type=Path, help="output directory (default: RUN/plots)")
    p.add_argument("--episodes", type=int, default=20, help="episodes per point")
    p.add_argument("--planners", nargs="+", default=list(PLANNERS), choices=PLANNERS)
    p.add_argument("--samples", type=int, nargs="+", default=[1, 2, 4, 8, 16, 64], help="budget sweep: samples")
    p.add_argument("--iterations", type=int, default=2, help="budget and horizon sweeps: iterations per plan")
    p.add_argument("--horizons", type=int, nargs="+", default=[1, 2, 4, 10])
    p.add_argument("--horizon-samples", type=int, default=16, help="horizon sweep: samples per iteration")
    p.add_argument("--time-samples", type=int, nargs="+", default=[30, 100, 300, 1000, 3000])
    p.add_argument("--time-starts", type=int, default=5, help="plans timed per point")
    p.add_argument("--workers", type=int, default=1, help="evaluation processes per point")
    p.add_argument("--threads", type=int, default=1, help="torch threads in this process")
    return p.parse_args(argv)


def _agent(name, env, model, cfg, plan: PlanConfig):
    return build_agent(name, plan, env.action_space, model, cfg.model.frameskip, cfg.eval.device)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.run / "config.yaml")
    out = args.out or args.run / "plots"
    model = load_model(args.run / "checkpoints", cfg.eval.device)
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    env_kwargs = {**cfg.env.make_kwargs(), **cfg.eval.env_kwargs}
    mpc, oracle = partial(_agent, "mpc", env, model, cfg), partial(_agent, "oracle", env, None, cfg)
    pool = worker_pool(args.workers) if args.workers > 1 else None
    common = {"env_id": cfg.env.id, "episodes": args.episodes, "seed": cfg.eval.seed, "env_kwargs": env_kwargs,
              "max_steps": cfg.eval.max_steps, "workers": args.workers, "pool": pool}
    records: dict[str, list] = {"budget": [], "horizon": [], "time": []}
    start = time.perf_counter()
    for planner in args.planners:
        base = dataclasses.replace(cfg.plan, planner=planner)
        budgets = [budget_plan(base, s, args.iterations) for s in args.samples]
        records["budget"] += success_sweep(mpc, budgets, **common)
        small = budget_plan(base, args.horizon_samples, args.iterations)
        records["horizon"] += success_sweep(mpc, [dataclasses.replace(small, horizon=h) for h in args.horizons],
                                            **common)
        timed = [budget_plan(base, s, cfg.plan.iterations) for s in args.time_samples]
        records["time"] += [{**r, "agent": f"mpc-{planner}"} for r in
                            plan_times(mpc, timed, cfg.env.id, args.time_starts, cfg.eval.seed, env_kwargs)]
        print(f"{planner}: done at {time.perf_counter() - start:.0f}s", flush=True)
    if pool is not None:
        pool.shutdown()
    timed = [budget_plan(cfg.plan, s, cfg.plan.iterations) for s in args.time_samples]
    records["time"] += [{**r, "agent": f"oracle-{cfg.plan.planner}"} for r in
                        plan_times(oracle, timed, cfg.env.id, args.time_starts, cfg.eval.seed, env_kwargs)]
    write_outputs(records, out, cfg, args)
    return 0


def write_outputs(records: dict[str, list], out: Path, cfg, args: argparse.Namespace) -> None:
    title = f"{cfg.env.id} ({cfg.env.obs_type}), {args.episodes} episodes per point"
    line_plot(records["budget"], "budget", "success_rate", "planner", out / "success_vs_budget.png",
              xlabel=f"budget: cost evaluations per plan (samples x {args.iterations} iterations; cem_gd + "
                     f"{cfg.plan.refine_steps} refinement steps)", ylabel="success rate", title=title,
              logx=True)
    line_plot(records["horizon"], "horizon", "success_rate", "planner", out / "success_vs_horizon.png",
              xlabel=f"horizon (model steps of {cfg.model.frameskip} env steps); budget "
                     f"{args.horizon_samples} x {args.iterations}", ylabel="success rate", title=title)
    line_plot(records["horizon"], "horizon", "steps_mean", "planner", out / "steps_vs_horizon.png",
              xlabel=f"horizon (model steps of {cfg.model.frameskip} env steps); budget "
                     f"{args.horizon_samples} x {args.iterations}", ylabel="env steps per episode (mean)", title=title)
    line_plot(records["time"], "samples", "plan_ms_median", "agent", out / "plan_time_vs_samples.png",
              xlabel=f"samples per iteration ({cfg.plan.iterations} iterations, horizon {cfg.plan.horizon})",
              ylabel="ms per plan (median)", title=f"{cfg.env.id}: planning time", logx=True, logy=True)
    (out / "sweeps.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                 **records}, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
