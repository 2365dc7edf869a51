"""Planning speed: a full CEM plan with a world model's predictor vs. its bare matmul chain and the oracle.

Prints, measured in one run on this machine:

* the median wall time of one CEM plan (``--samples`` x ``--iterations``, horizon ``--horizon``)
  through ``MPCAgent``'s latent cost (the predictor of the model built from ``--config``);
* the median time of the bare batched matmul chain of the predictor's exact shapes, for the same
  number of predictor calls: the floor set by arithmetic;
* planner time / matmul time (goal <= 2) and latent plan time / oracle plan time (the same CEM
  budget rolled out on the true simulator with ``mujoco.rollout``).

Usage: ``python benchmarks/plan_speed.py [--config configs/tworoom_state.yaml] [--set model.x=y]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from agents.config import PlanConfig
from agents.mpc import MPCAgent
from agents.oracle import OracleMPCAgent
from agents.planners import CEM
from envs.registration import make_env
from wm.config import load_config
from worldmodel.model import WorldModel


def median_time(fn, repeats: int, warmup: int = 2) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def linear_shapes(model: WorldModel) -> list[tuple[int, int]]:
    """``(in, out)`` of every linear layer of the predictor, in call order."""
    return [(m.in_features, m.out_features) for m in model.predictor.modules() if isinstance(m, torch.nn.Linear)]


def matmul_chain(shapes: list[tuple[int, int]], batch: int, calls: int):
    """A closure running ``calls`` passes of ``x @ W`` through ``shapes`` at ``batch`` rows."""
    weights = [torch.randn(i, o) / i**0.5 for i, o in shapes]
    x0 = torch.randn(batch, shapes[0][0])

    def run() -> None:
        with torch.inference_mode():
            for _ in range(calls):
                x = x0
                for w in weights:
                    x = x @ w
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="experiment config whose model is timed")
    ap.add_argument("--set", action="append", default=[], help="config overrides")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-oracle", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.set)
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    obs, info = env.reset(seed=0)
    torch.manual_seed(0)
    model = WorldModel(cfg.model, obs.shape, env.action_space.shape[0]).eval()
    plan = PlanConfig(samples=args.samples, iterations=args.iterations, elites=min(30, args.samples),
                      horizon=args.horizon)
    planner = CEM(plan.samples, plan.iterations, plan.elites, seed=0)
    agent = MPCAgent(model, planner, plan, env.action_space.low, env.action_space.high)
    agent.reset(obs, info)
    agent._begin(obs)
    low, high = agent.low, agent.high
    t_plan = median_time(lambda: planner.plan(agent._cost, plan.horizon, low, high), args.repeats)
    calls = args.iterations * args.horizon
    shapes = linear_shapes(model)
    t_mm = median_time(matmul_chain(shapes, args.samples, calls), args.repeats)
    print(f"model: {cfg.model.encoder}/{cfg.model.predictor}, latent {cfg.model.latent_dim}, predictor linears "
          f"{shapes}, {args.threads} threads")
    print(f"CEM plan {args.samples} samples x {args.iterations} iterations, horizon {args.horizon}: "
          f"median {1000 * t_plan:.1f} ms (goal <= 100 ms)")
    print(f"bare matmul chain, {calls} predictor calls of batch {args.samples}: median {1000 * t_mm:.1f} ms")
    print(f"planner / matmul = {t_plan / t_mm:.2f} (goal <= 2)")
    if not args.no_oracle:
        oracle = OracleMPCAgent(CEM(plan.samples, plan.iterations, plan.elites, seed=0), plan,
                                env.action_space.low, env.action_space.high, cfg.model.frameskip, args.threads)
        oracle.attach(env)
        oracle._begin(obs)
        t_or = median_time(lambda: oracle.planner.plan(oracle._cost, plan.horizon, low, high),
                           max(3, args.repeats // 3), warmup=1)
        print(f"oracle CEM plan (mujoco.rollout, same budget): median {1000 * t_or:.1f} ms; "
              f"latent / oracle = {t_plan / t_or:.3f}")
    env.close()


if __name__ == "__main__":
    main()
