"""Would ``torch.jit.fork`` make a better population split than the thread pool?  Speed, equality, exit.

The planner scores a population on two cores in slices side by side, a Python thread pool running
one compiled call per slice (:mod:`agents.population`, :mod:`agents.fused_cost`). The alternative
measured here forks the slices from inside one TorchScript call onto torch's inter-op threads
(the script is defined in this file, not in the library). Three measurements:

* ``speed``: a full CEM plan (``--samples`` x ``--iterations``, horizon ``--horizon``) of the
  pixel model of ``--config``, pool split vs fork split vs one thread, timed round-robin;
  whether the fork split's costs and plan equal the pool's bit for bit.
* ``exit_checks``: ``--procs`` fresh processes that score a population with the fork split and exit,
  and as many running a ten-line script of plain torch ops and no project code (which tells a torch
  defect from one of ours), each on an idle machine and beside ``--competitors`` processes that keep
  cores busy: how many ended abnormally (a process killed by a signal has a negative return code).

(``torch.jit.fork`` and ``torch.jit.wait`` also warn that they are deprecated in this torch.)

Usage: ``python -m benchmarks.fork_check [--procs 20] [--competitors 2]``; results go to
``benchmarks/results/fork_check.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from agents.config import PlanConfig
from agents.fused_cost import _costs
from agents.population import _one_torch_thread_here
from benchmarks.threads_contention import COMPETITOR
from benchmarks.timing import interleaved_medians, machine_info, write_artifact
from worldmodel.fast_rollout import Layers, compiled

RESULTS = Path(__file__).resolve().parent / "results"


def _fork_costs(window: torch.Tensor, prefix: torch.Tensor | None, actions: torch.Tensor, frameskip: int,
                layers: Layers, eps: float, c: int, z_goal: torch.Tensor, kind: str, running_weight: float,
                terminal_steps: int, slices: int) -> torch.Tensor:
    """The fused cost of ``actions (N, H, A)`` in ``slices`` row slices, all but the first forked -> ``(N,)``."""
    chunks = actions.tensor_split(slices)
    futures = [torch.jit.fork(_costs, window, prefix, chunks[i], frameskip, layers, eps, c, z_goal, kind,
                              running_weight, terminal_steps) for i in range(1, slices)]
    out = [_costs(window, prefix, chunks[0], frameskip, layers, eps, c, z_goal, kind, running_weight,
                  terminal_steps)]
    for f in futures:
        out.append(torch.jit.wait(f))
    return torch.cat(out)


def _planner(config: str, plan: PlanConfig):
    """The plan-speed benchmark's 2-thread split agent on ``config``'s (untrained) model, and a fork-split
    cost of the same start and goal: ``(agent, fork_cost)``."""
    from benchmarks.plan_speed import latent_agent
    from envs.registration import make_env
    from wm.config import load_config
    from worldmodel.model import WorldModel

    cfg = load_config(config, [])
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    obs, info = env.reset(seed=0)
    torch.manual_seed(0)
    model = WorldModel(cfg.model, obs.shape, env.action_space.shape[0]).eval()
    agent = latent_agent(model, plan, env, obs, info, "fp32_split")
    fc, script = agent._fused, compiled(_fork_costs)

    def fork_cost(actions: torch.Tensor) -> torch.Tensor:
        with _one_torch_thread_here(), torch.inference_mode():  # as the pool's calling thread scores its slice
            return script(fc.window, fc.prefix, actions, fc.frameskip, fc.layers, fc.eps, fc.c, fc.z_goal,
                          plan.distance, plan.running_weight, plan.terminal_steps, 2)
    return agent, fork_cost


def speed(args: argparse.Namespace) -> dict:
    """Plan times (ms) of the pool split, the fork split and one thread; equality of costs and plans."""
    torch.set_num_threads(2)
    plan = PlanConfig(samples=args.samples, iterations=args.iterations, elites=30, horizon=args.horizon)
    agent, fork_cost = _planner(args.config, plan)

    def plan_with(cost, threads: int = 2) -> torch.Tensor:
        torch.set_num_threads(threads)
        agent.planner.seed(0)
        try:
            return agent.planner.plan(cost, plan.horizon, agent.low, agent.high)
        finally:
            torch.set_num_threads(2)
    acts = torch.rand(args.samples, plan.horizon, 2) * 2 - 1
    equal_costs = torch.equal(agent._cost(acts), fork_cost(acts))
    equal_plans = torch.equal(plan_with(agent._cost), plan_with(fork_cost))
    pool, fork, one = interleaved_medians([lambda: plan_with(agent._cost), lambda: plan_with(fork_cost),
                                           lambda: plan_with(agent._fused, 1)], args.repeats)
    return {"pool_split_ms": 1000 * pool, "fork_split_ms": 1000 * fork, "one_thread_ms": 1000 * one,
            "pool_over_fork": pool / fork, "costs_equal": equal_costs, "plans_equal": equal_plans}


def speed_in_child(argv: list[str]) -> dict:
    """:func:`speed` in a fresh process given this one's options ``argv`` (its forks do not share this
    process's exit), with that process's return code."""
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    out = subprocess.run([sys.executable, "-m", "benchmarks.fork_check", "--speed-worker", *argv],
                         capture_output=True, text=True, env=env, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"fork_check speed worker failed (return code {out.returncode}):\n{out.stderr[-3000:]}")
    return {**json.loads(lines[-1]), "worker_return_code": out.returncode}


MINIMAL = """
import torch
def f(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x @ x.t()).sum(1)
@torch.jit.script
def g(x: torch.Tensor, n: int) -> torch.Tensor:
    ch = x.tensor_split(n)
    futs = [torch.jit.fork(f, ch[i]) for i in range(1, n)]
    return torch.cat([f(ch[0])] + [torch.jit.wait(u) for u in futs])
torch.set_num_threads(1)
for _ in range(5):
    g(torch.randn(300, 64), 2)
"""


def exits(cmd: list[str], procs: int, competitors: int = 0) -> dict:
    """Return codes of ``procs`` runs of ``cmd`` (one thread each) while ``competitors`` processes keep cores
    busy (:data:`benchmarks.threads_contention.COMPETITOR`): how many ended abnormally, and the last line of
    the first abnormal run's stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    busy = [subprocess.Popen([sys.executable, "-c", COMPETITOR], env=env) for _ in range(competitors)]
    try:
        runs = [subprocess.run(cmd, capture_output=True, text=True, env=env, check=False) for _ in range(procs)]
    finally:
        for b in busy:
            b.kill()
            b.wait()
    bad = [r for r in runs if r.returncode != 0]
    return {"procs": procs, "competitors": competitors, "abnormal": len(bad),
            "return_codes": sorted({r.returncode for r in runs}),
            "stderr": bad[0].stderr.strip().splitlines()[-1] if bad and bad[0].stderr.strip() else ""}


def exits_minimal(procs: int, competitors: int = 0) -> dict:
    """:func:`exits` of :data:`MINIMAL` (TorchScript needs the source in a file)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "fork_minimal.py"
        script.write_text(MINIMAL)
        return exits([sys.executable, str(script)], procs, competitors)


def exit_checks(args: argparse.Namespace) -> list[dict]:
    """:func:`exits` of the planner's fork split and of :data:`MINIMAL`, on an idle machine and beside
    ``--competitors`` busy processes."""
    planner = [sys.executable, "-m", "benchmarks.fork_check", "--exit-worker", "--config", args.config]
    out = []
    for competitors in (0, args.competitors):
        out.append({"script": "planner", **exits(planner, args.procs, competitors)})
        out.append({"script": "plain-torch", **exits_minimal(args.procs, competitors)})
    return out


def exit_worker(config: str) -> None:
    """Score one population with the fork split a few times, then exit normally."""
    plan = PlanConfig(samples=300, iterations=3, elites=30, horizon=5)
    _, fork_cost = _planner(config, plan)
    for _ in range(5):
        fork_cost(torch.rand(300, 5, 2) * 2 - 1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/tworoom_pixels.yaml")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--procs", type=int, default=20, help="fresh processes per exit check")
    ap.add_argument("--competitors", type=int, default=2, help="busy processes beside the loaded exit checks")
    ap.add_argument("--out", type=Path, default=RESULTS / "fork_check.json")
    ap.add_argument("--exit-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--speed-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.exit_worker:
        exit_worker(args.config)
        return
    if args.speed_worker:
        print(json.dumps(speed(args)), flush=True)
        return
    res = {"config": args.config, "machine": machine_info(),
           "budget": {"samples": args.samples, "iterations": args.iterations, "horizon": args.horizon,
                      "repeats": args.repeats},
           "speed": speed_in_child(sys.argv[1:] if argv is None else argv),
           "exit_checks": exit_checks(args)}
    write_artifact(res, args.out)
    s = res["speed"]
    print(f"plan on 2 cores: pool split {s['pool_split_ms']:.1f} ms, fork split {s['fork_split_ms']:.1f} ms "
          f"(pool / fork {s['pool_over_fork']:.2f}), one thread {s['one_thread_ms']:.1f} ms; costs equal "
          f"{s['costs_equal']}, plans equal {s['plans_equal']}; that process's return code "
          f"{s['worker_return_code']}")
    for c in res["exit_checks"]:
        print(f"{c['script']} fork script, {c['competitors']} busy core(s) beside it: {c['abnormal']} of "
              f"{c['procs']} processes ended abnormally (return codes {c['return_codes']}, {c['stderr']!r})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
