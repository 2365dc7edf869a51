"""Success per CPU-second of planning: CEM with and without early stopping (``plan.stop_tol``), fp32 and bf16.

On a small trained state model of the embedded default (TwoRoom, state;
:mod:`benchmarks.state_model`, trained in-process once and cached), each variant is the latent
MPC agent with CEM at one budget (``--samples`` x ``--iterations``, horizon ``--horizon``) and
one ``(precision, stop_tol)``; every variant plays the same evaluation episodes (the config's
``eval.seed`` onwards, :func:`agents.evaluate.evaluate`).  Episodes are interleaved: episode
``i`` is played by every variant before episode ``i + 1``, so load from other processes falls
on all variants alike.  Per variant: successes, planning CPU seconds (``time.process_time``
around each ``plan`` call, one thread), CPU seconds per solved episode, successes per planning
CPU-second, iterations used per plan, and predictor GFLOP per solved episode (``2 x in x out``
per linear layer, per candidate and model step, over the iterations actually run).  ``bf16``
is measured only where the CPU has native bfloat16 arithmetic (``avx512_bf16`` or
``amx_bf16``), unless ``--bf16 on``.

Results go to ``benchmarks/results/plan_flops.json`` (``--quick``: ``plan_flops_quick.json``).

Usage: ``python -m benchmarks.plan_flops [--episodes 20] [--tols 0 0.02 0.05 0.1] [--quick]``
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.config import PlanConfig
from agents.evaluate import EvalResult, evaluate
from agents.mpc import MPCAgent
from agents.planners import CEM, CostFn, Planner
from benchmarks.state_model import add_budget_args, budget_args, trained_state_model
from benchmarks.timing import machine_info, write_artifact
from envs.registration import make_env
from wm.config import RunConfig
from wm.provenance import git_dirty
from worldmodel.model import WorldModel

RESULTS = Path(__file__).resolve().parent / "results"


def native_bf16() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (``avx512_bf16`` or ``amx_bf16`` in ``/proc/cpuinfo``)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class TimedPlanner:
    """A planner wrapped to record the CPU seconds of every plan (its iterations reach the episode
    records through ``last_iterations``)."""

    def __init__(self, inner: Planner):
        self.inner, self.needs_gradient = inner, inner.needs_gradient
        self.cpu_s: list[float] = []

    @property
    def last_iterations(self) -> int | None:
        return self.inner.last_iterations

    def seed(self, seed: int) -> None:
        self.inner.seed(seed)

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """The inner plan ``(H, A)``, timed in process CPU seconds."""
        t0 = time.process_time()
        out = self.inner.plan(cost_fn, horizon, low, high, init)
        self.cpu_s.append(time.process_time() - t0)
        return out


@dataclass
class Variant:
    """One agent under test and what it has played so far."""

    name: str
    agent: Any
    timer: TimedPlanner
    env: Any
    samples: int
    parts: list[EvalResult] = field(default_factory=list)
    episode_cpu_s: list[float] = field(default_factory=list)


def predictor_flops(model: WorldModel) -> int:
    """Multiply-add FLOPs of one predictor call on one latent: ``2 x in x out`` per linear layer."""
    return sum(2 * m.in_features * m.out_features for m in model.predictor.modules()
               if isinstance(m, torch.nn.Linear))


def play_episode(v: Variant, cfg: RunConfig, episodes: int, index: int) -> None:
    """Episode ``index`` of ``v`` (seed ``eval.seed + index``) and its planning CPU time."""
    n = len(v.timer.cpu_s)
    v.parts.append(evaluate(v.agent, v.env, episodes, seed=cfg.eval.seed, indices=[index], name=v.name,
                            progress=False, max_steps=cfg.eval.max_steps))
    v.episode_cpu_s.append(float(sum(v.timer.cpu_s[n:])))


def interleaved(variants: list[Variant], cfg: RunConfig, episodes: int) -> None:
    """Every variant plays episode 0, then every variant episode 1, ... (fair under others' load)."""
    for i in range(episodes):
        for v in variants:
            play_episode(v, cfg, episodes, i)


def variant_summary(v: Variant, flops_per_step: int, horizon: int) -> dict[str, Any]:
    """Success, planning CPU time and work of one variant over its episodes."""
    res = EvalResult.merge(v.parts)
    wins = sum(e.success for e in res.episodes)
    cpu = float(sum(v.episode_cpu_s))
    iters = [k for e in res.episodes for k in e.plan_iterations]
    gflop = flops_per_step * v.samples * horizon * sum(iters) / 1e9
    plans = [ms for e in res.episodes for ms in e.plan_ms]
    return {"successes": wins, "episodes": len(res.episodes), "success_rate": wins / len(res.episodes),
            "plans": len(iters), "plan_cpu_s": cpu, "cpu_s_per_solved": cpu / wins if wins else None,
            "solved_per_cpu_s": wins / cpu if cpu else None, "iterations_mean": float(np.mean(iters)),
            "iterations_min": int(min(iters)), "gflop": gflop, "gflop_per_solved": gflop / wins if wins else None,
            "plan_ms_median": float(np.median(plans)), "steps_mean": res.summary()["steps_mean"],
            "per_episode": [{"success": e.success, "steps": e.steps, "plan_cpu_s": c, "iterations": e.plan_iterations}
                            for e, c in zip(res.episodes, v.episode_cpu_s, strict=True)]}


def cem_variant(model: WorldModel, cfg: RunConfig, plan: PlanConfig, name: str) -> Variant:
    """The latent MPC agent with (timed) CEM at ``plan``'s budget, precision and ``stop_tol``."""
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    timer = TimedPlanner(CEM(plan.samples, plan.iterations, plan.elites, plan.init_std, plan.min_std,
                             stop_tol=plan.stop_tol))
    agent = MPCAgent(model, timer, plan, env.action_space.low, env.action_space.high)
    return Variant(name, agent, timer, env, plan.samples)


def base_plan(args: argparse.Namespace, cfg: RunConfig) -> PlanConfig:
    """The config's plan section at the benchmark's budget."""
    return PlanConfig(**{**cfg.plan.__dict__, "samples": args.samples, "iterations": args.iterations,
                         "elites": min(args.elites, args.samples), "horizon": args.horizon})


def precisions(mode: str) -> list[str]:
    """``fp32``, plus ``bf16`` when asked (``on``) or when the CPU has it natively (``auto``)."""
    return ["fp32"] + (["bf16"] if mode == "on" or (mode == "auto" and native_bf16()) else [])


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Train (or read) the model, play every variant interleaved, summarise."""
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, cfg, ckpt = trained_state_model(args.data_episodes, args.train_steps, args.threads, args.cache)
    train_s = time.perf_counter() - t0
    plan = base_plan(args, cfg)
    variants = [cem_variant(model, cfg, PlanConfig(**{**plan.__dict__, "precision": p, "stop_tol": tol}),
                            f"cem {p} stop_tol={tol:g}") for p in precisions(args.bf16) for tol in args.tols]
    t0 = time.perf_counter()
    interleaved(variants, cfg, args.episodes)
    flops = predictor_flops(model)
    out = {v.name: variant_summary(v, flops, plan.horizon) for v in variants}
    for v in variants:
        v.env.close()
    return {"model": {"config": "configs/tworoom_state.yaml", "data_episodes": args.data_episodes,
                      "train_steps": args.train_steps, "checkpoint": str(ckpt), "train_or_load_s": train_s,
                      "predictor_flops_per_step": flops},
            "eval_s": time.perf_counter() - t0, "variants": out}


def ratios(variants: dict[str, dict]) -> dict[str, float]:
    """CPU seconds per solved episode of each variant over the first (the fp32, stop_tol 0 baseline)."""
    base = next(iter(variants.values()))["cpu_s_per_solved"]
    return {name: base / v["cpu_s_per_solved"] for name, v in variants.items()
            if base and v["cpu_s_per_solved"]}


def report(res: dict) -> str:
    """Human-readable lines of a results dict."""
    b = res["budget"]
    lines = [f"CEM {b['samples']} x {b['iterations']}, horizon {b['horizon']}, {res['episodes']} episodes; "
             f"{res['machine']['cpu']}, {res['threads']} thread(s), native bf16: {res['native_bf16']}"]
    for name, v in res["variants"].items():
        per = v["cpu_s_per_solved"]
        lines.append(f"  {name:24s} success {v['successes']}/{v['episodes']}, iterations/plan "
                     f"{v['iterations_mean']:.1f}, plan CPU {v['plan_cpu_s']:.1f} s, "
                     f"CPU s/solved {per if per is None else round(per, 3)}, "
                     f"speed-up per solved {res['speedup_per_solved'].get(name, float('nan')):.2f}x")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_budget_args(ap)
    ap.add_argument("--tols", type=float, nargs="+", default=[0.0, 0.02, 0.05, 0.1],
                    help="stop_tol values (the first is the baseline)")
    ap.add_argument("--bf16", choices=("auto", "on", "off"), default="auto")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    budget = budget_args(args)
    res = {"quick": args.quick, "machine": {**machine_info(), "git_dirty": git_dirty()}, "threads": args.threads,
           "native_bf16": native_bf16(),
           "budget": budget, "episodes": args.episodes, **measure(args)}
    res["speedup_per_solved"] = ratios(res["variants"])
    out = args.out or RESULTS / ("plan_flops_quick.json" if args.quick else "plan_flops.json")
    write_artifact(res, out)
    print(report(res))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
