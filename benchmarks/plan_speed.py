"""Planning speed: a full CEM plan through a world model's predictor vs. its layer chains and the oracle.

Measured in one invocation, each thread count in a fresh process (``OMP_WAIT_POLICY=PASSIVE``):

* the median wall time of one CEM plan (``--samples`` x ``--iterations``, horizon ``--horizon``)
  through ``MPCAgent``'s latent cost, for three rollout paths: ``reference`` (the generic
  ``WorldModel.rollout``, the path before optimisation), ``fp32`` (the planning rollout,
  :mod:`worldmodel.fast_rollout`) and ``bf16`` (``plan.precision: bf16``), each on torch's
  intra-op threads; with more than one thread also ``fp32_split`` and ``bf16_split``, the
  population scored in one slice per thread (:mod:`agents.population`, the default of ``wm eval``);
  the goal is encoded once (``reset``), the start observation once per plan (timed apart);
* the median time of two floors of the predictor's exact shapes, for the same number of
  predictor calls (float32 and bfloat16): the bare batched matmul chain (``x @ W``, the
  floor set by arithmetic alone) and the layer chain the predictor runs (``addmm`` with the
  bias, then LayerNorm and GELU after every hidden layer: the floor of the model itself);
* planner / matmul (goal <= 2), planner / layer chain (goal <= 1.2) and latent / oracle plan
  time (the same CEM budget rolled out on the true simulator with ``mujoco.rollout``);
* the largest difference between the plans of the three paths (same seed, same model).

Every variant, the floors and the oracle are timed round-robin (:func:`benchmarks.timing.interleaved_medians`),
so other processes' load falls on all of them alike.

The model is freshly initialised from ``--config`` (seeded): time does not depend on the weights.
Results go to ``benchmarks/results/plan_speed.json`` (``--quick``: ``plan_speed_quick.json``).

Usage: ``python -m benchmarks.plan_speed [--config configs/tworoom_pixels.yaml] [--threads 1 2] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from agents.config import PlanConfig
from agents.mpc import MPCAgent
from agents.oracle import OracleMPCAgent
from agents.planners import CEM
from benchmarks.timing import interleaved_medians, machine_info, median_time, run_worker, write_artifact
from envs.registration import make_env
from wm.config import load_config
from wm.speed_report import DEFAULT_PLAN_CONFIG, PLAN_SPEED_FILES
from worldmodel.model import WorldModel

RESULTS = Path(__file__).resolve().parent / "results"
PATHS = ("reference", "fp32", "bf16")
SPLIT_PATHS = ("fp32_split", "bf16_split")


def linear_shapes(model: WorldModel) -> list[tuple[int, int]]:
    """``(in, out)`` of every linear layer of the predictor, in call order."""
    return [(m.in_features, m.out_features) for m in model.predictor.modules() if isinstance(m, torch.nn.Linear)]


def matmul_chain(shapes: list[tuple[int, int]], batch: int, calls: int, dtype: torch.dtype):
    """A closure running ``calls`` passes of ``x @ W`` through ``shapes`` at ``batch`` rows (no bias, no norm)."""
    weights = [(torch.randn(i, o) / i**0.5).to(dtype) for i, o in shapes]
    x0 = torch.randn(batch, shapes[0][0]).to(dtype)

    def run() -> None:
        with torch.inference_mode():
            for _ in range(calls):
                x = x0
                for w in weights:
                    x = x @ w
    return run


def layer_chain(shapes: list[tuple[int, int]], batch: int, calls: int, dtype: torch.dtype):
    """A closure running ``calls`` passes of the predictor's layers through ``shapes`` at ``batch`` rows:
    ``addmm`` (bias + product), then LayerNorm and GELU after every layer but the last."""
    weights = [((torch.randn(i, o) / i**0.5).to(dtype), torch.zeros(o, dtype=dtype)) for i, o in shapes]
    norms = [(torch.ones(o, dtype=dtype), torch.zeros(o, dtype=dtype)) for _, o in shapes[:-1]]
    x0 = torch.randn(batch, shapes[0][0]).to(dtype)

    def run() -> None:
        with torch.inference_mode():
            for _ in range(calls):
                x = x0
                for k, (w, b) in enumerate(weights):
                    x = torch.addmm(b, x, w)
                    if k < len(norms):
                        x = F.gelu(F.layer_norm(x, (x.shape[1],), norms[k][0], norms[k][1]))
    return run


def latent_agent(model: WorldModel, plan: PlanConfig, env, obs, info, path: str) -> MPCAgent:
    """An ``MPCAgent`` ready to plan from ``obs``; ``path='reference'`` swaps in ``model.rollout``;
    ``*_split`` paths score the population in one slice per torch thread, the others in one slice."""
    precision = "bf16" if path.startswith("bf16") else "fp32"
    cfg = PlanConfig(**{**plan.__dict__, "precision": precision})
    threads = torch.get_num_threads() if path.endswith("_split") else 1
    agent = MPCAgent(model, CEM(plan.samples, plan.iterations, plan.elites, seed=0), cfg,
                     env.action_space.low, env.action_space.high, threads=threads)
    agent.reset(obs, info)
    if path == "reference":
        agent._roll = model.rollout  # the generic, pre-optimisation rollout
    agent._begin(obs)
    return agent


def oracle_plan(cfg, plan: PlanConfig, env, obs, threads: int):
    """A closure running one CEM plan of ``plan``'s budget on the true simulator from ``obs``."""
    oracle = OracleMPCAgent(CEM(plan.samples, plan.iterations, plan.elites, seed=0), plan,
                            env.action_space.low, env.action_space.high, cfg.model.frameskip, threads)
    oracle.attach(env)
    oracle._begin(obs)

    def run() -> torch.Tensor:
        oracle.planner.seed(0)
        return oracle.planner.plan(oracle._cost, plan.horizon, oracle.low, oracle.high)
    return run


def measure(args: argparse.Namespace) -> dict:
    """Every timing of one thread count (see the module docstring); milliseconds."""
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.set)
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    obs, info = env.reset(seed=0)
    torch.manual_seed(0)
    model = WorldModel(cfg.model, obs.shape, env.action_space.shape[0]).eval()
    plan = PlanConfig(samples=args.samples, iterations=args.iterations, elites=min(30, args.samples),
                      horizon=args.horizon)
    out: dict = {"threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                 "plan_max_diff": {}}
    paths = PATHS + (SPLIT_PATHS if args.threads > 1 else ())
    agents = {path: latent_agent(model, plan, env, obs, info, path) for path in paths}

    def planner(agent: MPCAgent):
        def run() -> torch.Tensor:
            agent.planner.seed(0)
            return agent.planner.plan(agent._cost, plan.horizon, agent.low, agent.high)
        return run
    runs = [planner(agents[path]) for path in paths]
    calls, shapes = args.iterations * args.horizon, linear_shapes(model)
    floors = [chain(shapes, args.samples, calls, dtype) for chain in (matmul_chain, layer_chain)
              for dtype in (torch.float32, torch.bfloat16)]
    oracle = [] if args.no_oracle else [oracle_plan(cfg, plan, env, obs, args.threads)]
    times = [1000 * t for t in interleaved_medians(runs + floors + oracle, args.repeats)]  # round-robin
    n = len(paths)
    out["plan_ms"] = dict(zip(paths, times[:n], strict=True))
    out["matmul_ms"] = {"fp32": times[n], "bf16": times[n + 1]}
    out["floor_ms"] = {"fp32": times[n + 2], "bf16": times[n + 3]}
    if oracle:
        out["oracle_ms"], out["oracle_timing"] = times[n + 4], "interleaved"
    plans = {path: run() for path, run in zip(paths, runs, strict=True)}
    for path in paths[1:]:
        out["plan_max_diff"][path] = float((plans[path] - plans["reference"]).abs().max())
    out["encode_ms"] = 1000 * median_time(lambda: agents["fp32"]._encode(obs), args.repeats)
    env.close()
    out["model"] = {"encoder": cfg.model.encoder, "predictor": cfg.model.predictor, "linears": shapes,
                    "parameters": sum(p.numel() for p in model.parameters())}
    return out


def summarise(run: dict) -> dict:
    """Ratios of one thread count: planner / matmul chain and / layer chain per precision, latent / oracle."""
    s = {"planner_over_matmul": run["plan_ms"]["fp32"] / run["matmul_ms"]["fp32"],
         "planner_over_matmul_bf16": run["plan_ms"]["bf16"] / run["matmul_ms"]["bf16"],
         "planner_over_floor": run["plan_ms"]["fp32"] / run["floor_ms"]["fp32"],
         "planner_over_floor_bf16": run["plan_ms"]["bf16"] / run["floor_ms"]["bf16"],
         "reference_over_fp32": run["plan_ms"]["reference"] / run["plan_ms"]["fp32"],
         "reference_over_bf16": run["plan_ms"]["reference"] / run["plan_ms"]["bf16"]}
    if "fp32_split" in run["plan_ms"]:
        s["fp32_over_fp32_split"] = run["plan_ms"]["fp32"] / run["plan_ms"]["fp32_split"]
        s["bf16_over_bf16_split"] = run["plan_ms"]["bf16"] / run["plan_ms"]["bf16_split"]
    if "oracle_ms" in run:
        s["latent_over_oracle"] = run["plan_ms"]["fp32"] / run["oracle_ms"]
        s["latent_bf16_over_oracle"] = run["plan_ms"]["bf16"] / run["oracle_ms"]
    return s


def report(res: dict) -> str:
    """Human-readable lines of a results dict."""
    b = res["budget"]
    lines = [f"CEM {b['samples']} samples x {b['iterations']} iterations, horizon {b['horizon']} "
             f"({res['config']}); {res['machine']['cpu']}"]
    for run in res["runs"]:
        p, m, r = run["plan_ms"], run["matmul_ms"], run["ratios"]
        lines.append(f"[{run['threads']} threads] plan ms: reference {p['reference']:.1f}, fp32 {p['fp32']:.1f}, "
                     f"bf16 {p['bf16']:.1f} (goal <= 100); matmul chain ms: fp32 {m['fp32']:.1f}, "
                     f"bf16 {m['bf16']:.1f}; "
                     f"planner/matmul {r['planner_over_matmul']:.2f} (bf16 {r['planner_over_matmul_bf16']:.2f}, "
                     f"goal <= 2); encode {run['encode_ms']:.2f} ms")
        if "fp32_split" in p:
            lines.append(f"    population split over {run['threads']} threads ms: fp32 {p['fp32_split']:.1f}, "
                         f"bf16 {p['bf16_split']:.1f} (goal <= 100)")
        f = run["floor_ms"]
        lines.append(f"    layer chain (addmm + LayerNorm + GELU) ms: fp32 {f['fp32']:.1f}, bf16 {f['bf16']:.1f}; "
                     f"planner/layer chain {r['planner_over_floor']:.2f} (bf16 {r['planner_over_floor_bf16']:.2f}, "
                     "goal <= 1.2)")
        if "oracle_ms" in run:
            lines.append(f"    oracle {run['oracle_ms']:.1f} ms; latent/oracle {r['latent_over_oracle']:.3f} "
                         f"(bf16 {r['latent_bf16_over_oracle']:.3f}); plan max diff vs reference "
                         f"{run['plan_max_diff']}")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=DEFAULT_PLAN_CONFIG, help="experiment config whose model is timed")
    ap.add_argument("--set", action="append", default=[], help="config overrides")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-oracle", action="store_true")
    ap.add_argument("--quick", action="store_true", help="3 repeats, no oracle (< 1 minute)")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default benchmarks/results/...)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.quick:
        args.repeats, args.no_oracle = 3, True
    if args.worker:
        args.threads = args.threads[0]
        print(json.dumps(measure(args)))
        return
    fwd = ["--config", args.config, "--samples", str(args.samples), "--iterations", str(args.iterations),
           "--horizon", str(args.horizon), "--repeats", str(args.repeats)]
    fwd += [x for s in args.set for x in ("--set", s)] + (["--no-oracle"] if args.no_oracle else [])
    runs = []
    for threads in args.threads:
        run = run_worker("benchmarks.plan_speed", fwd, threads)
        run["ratios"] = summarise(run)
        runs.append(run)
    res = {"config": args.config, "overrides": args.set, "quick": args.quick, "machine": machine_info(),
           "budget": {"samples": args.samples, "iterations": args.iterations, "horizon": args.horizon,
                      "repeats": args.repeats}, "runs": runs}
    out = args.out or RESULTS / ("plan_speed_quick.json" if args.quick else PLAN_SPEED_FILES[0])
    write_artifact(res, out)
    print(report(res))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
