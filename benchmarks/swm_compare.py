"""Planning CPU time per solved episode: our CEM / MPPI vs stable-worldmodel 0.1.1's ``CEMSolver`` / ``MPPISolver``.

stable-worldmodel stays out of this project's environment (its torchvision pin would replace
the CPU torch, and ``import stable_worldmodel`` needs cv2): its wheel is unpacked into a
directory of its own and only its solver sources are loaded from there
(:func:`load_swm_solvers`: ``solver/cem.py``, ``solver/mppi.py`` and the small files they
import, ``solver/utils.py``, ``solver/solver.py``, ``solver/callbacks/``, ``protocols.py``;
never its package ``__init__``).  Prepare it once with::

    pip download stable-worldmodel==0.1.1 --no-deps -d /tmp/swm
    python -m zipfile -e /tmp/swm/stable_worldmodel-0.1.1-py3-none-any.whl /tmp/swm/pkg

Both sides plan with the same model (:mod:`benchmarks.state_model`, TwoRoom state), the same
latent cost and the same receding-horizon loop (``MPCAgent``: same encoding, warm start from
the previous plan shifted by one step, replanning every ``frameskip`` steps); only the
planner differs, at the same samples, iterations, elites and horizon.  Their solvers sample
unclipped actions and return the final mean: here their candidates are clipped to the action
box before the cost (the cost of what would be executed) and their answer is clipped before
it is executed.  Episodes are interleaved across variants (:mod:`benchmarks.plan_flops`).

Results go to ``benchmarks/results/swm_compare.json`` (``--quick``: ``swm_compare_quick.json``).

Usage: ``python -m benchmarks.swm_compare [--swm /tmp/swm/pkg] [--episodes 20]``
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import logging
import sys
import time
import types
from pathlib import Path
from typing import Any

import torch
from gymnasium.spaces import Box

from agents.config import PlanConfig
from agents.mpc import MPCAgent
from agents.planners import CEM, MPPI, CostFn
from benchmarks.plan_flops import (
    TimedPlanner,
    Variant,
    base_plan,
    interleaved,
    predictor_flops,
    ratios,
    variant_summary,
)
from benchmarks.state_model import add_budget_args, budget_args, trained_state_model
from benchmarks.timing import machine_info, write_artifact
from envs.registration import make_env
from wm.config import RunConfig
from wm.provenance import git_dirty

RESULTS = Path(__file__).resolve().parent / "results"
SWM_VERSION = "0.1.1"


def _package(name: str, path: Path) -> None:
    """Register an empty package ``name`` whose submodules load from ``path`` (its ``__init__`` never runs)."""
    if name not in sys.modules:
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)]  # type: ignore[attr-defined]
        sys.modules[name] = mod


def _loguru_stand_in() -> None:
    """``loguru.logger`` as a standard logger when loguru is not installed (the solvers only warn with it)."""
    try:
        import loguru  # noqa: F401
    except ImportError:
        stub = types.ModuleType("loguru")
        stub.logger = logging.getLogger("stable_worldmodel")  # type: ignore[attr-defined]
        sys.modules["loguru"] = stub


def swm_version(root: Path) -> str:
    """The version in the unpacked wheel's ``*.dist-info/METADATA`` ("unknown" without one)."""
    for meta in root.glob("stable_worldmodel-*.dist-info/METADATA"):
        for line in meta.read_text().splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def load_swm_solvers(root: Path) -> tuple[type, type]:
    """``(CEMSolver, MPPISolver)`` from the unpacked stable-worldmodel wheel at ``root``."""
    pkg = Path(root) / "stable_worldmodel"
    if not (pkg / "solver" / "cem.py").is_file():
        raise FileNotFoundError(f"{root}: no stable_worldmodel/solver/cem.py (see this module's docstring)")
    if swm_version(Path(root)) != SWM_VERSION:
        raise ValueError(f"{root}: stable-worldmodel {swm_version(Path(root))}, expected {SWM_VERSION}")
    _loguru_stand_in()
    _package("stable_worldmodel", pkg)
    _package("stable_worldmodel.solver", pkg / "solver")
    cem = importlib.import_module("stable_worldmodel.solver.cem")
    mppi = importlib.import_module("stable_worldmodel.solver.mppi")
    return cem.CEMSolver, mppi.MPPISolver


class _ClippedCost:
    """stable-worldmodel's cost-model protocol over our cost: ``get_cost(info, (1, N, H, A)) -> (1, N)``."""

    def __init__(self) -> None:
        self.cost_fn: CostFn | None = None
        self.low = self.high = torch.zeros(0)

    def get_cost(self, info: dict, candidates: torch.Tensor) -> torch.Tensor:
        return self.cost_fn(torch.clamp(candidates[0], self.low, self.high))[None]


class SWMPlanner:
    """One of their solvers behind our planner interface (``plan(cost_fn, H, low, high, init) -> (H, A)``)."""

    needs_gradient = False

    def __init__(self, solver_cls: type, **kwargs: Any):
        self.model = _ClippedCost()
        self.solver = solver_cls(self.model, **kwargs)
        self.last_iterations: int | None = None
        self._configured: tuple[int, int] | None = None

    def seed(self, seed: int) -> None:
        self.solver.torch_gen.manual_seed(seed)

    def _configure(self, horizon: int, low: torch.Tensor, high: torch.Tensor) -> None:
        if self._configured != (horizon, low.shape[0]):
            space = Box(low.numpy()[None], high.numpy()[None])  # (n_envs = 1, A)
            self.solver.configure(action_space=space, n_envs=1,
                                  config=types.SimpleNamespace(horizon=horizon, action_block=1))
            self._configured = (horizon, low.shape[0])

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Their ``solve`` on one env; ``init (H, A)`` is their ``init_action (1, H, A)``; -> ``(H, A)``."""
        low, high = low.float(), high.float()
        self._configure(horizon, low, high)
        self.model.cost_fn, self.model.low, self.model.high = cost_fn, low, high
        with contextlib.redirect_stdout(io.StringIO()):  # they print every solve's time
            out = self.solver.solve({"env": torch.zeros(1)}, init_action=None if init is None else init[None])
        self.last_iterations = self.solver.n_steps
        return torch.clamp(out["actions"][0].float(), low, high)


def agent_variant(model, cfg: RunConfig, plan: PlanConfig, planner, name: str) -> Variant:
    """The latent MPC agent around ``planner`` (timed), on its own env."""
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    timer = TimedPlanner(planner)
    agent = MPCAgent(model, timer, plan, env.action_space.low, env.action_space.high)
    return Variant(name, agent, timer, env, plan.samples)


def planners(args: argparse.Namespace, plan: PlanConfig) -> dict[str, Any]:
    """The planners compared, by name, at one budget: ours (CEM, CEM with ``stop_tol``, MPPI) and theirs."""
    cem_cls, mppi_cls = load_swm_solvers(args.swm)
    n, k, e = plan.samples, plan.iterations, plan.elites
    out = {"ours cem": CEM(n, k, e, plan.init_std, plan.min_std),
           **{f"ours cem stop_tol={t:g}": CEM(n, k, e, plan.init_std, plan.min_std, stop_tol=t) for t in args.tols},
           "swm CEMSolver": SWMPlanner(cem_cls, num_samples=n, n_steps=k, topk=e, var_scale=plan.init_std)}
    if not args.no_mppi:
        out["ours mppi"] = MPPI(n, k, plan.init_std, plan.temperature, plan.min_std)
        out["swm MPPISolver"] = SWMPlanner(mppi_cls, num_samples=n, n_steps=k, topk=e, var_scale=plan.init_std,
                                           temperature=args.swm_temperature)
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Train (or read) the model, play every planner's agent interleaved, summarise."""
    torch.set_num_threads(args.threads)
    model, cfg, ckpt = trained_state_model(args.data_episodes, args.train_steps, args.threads, args.cache)
    plan = PlanConfig(**{**base_plan(args, cfg).__dict__, "precision": args.precision})
    variants = [agent_variant(model, cfg, plan, p, name) for name, p in planners(args, plan).items()]
    t0 = time.perf_counter()
    interleaved(variants, cfg, args.episodes)
    out = {v.name: variant_summary(v, predictor_flops(model), plan.horizon) for v in variants}
    for v in variants:
        v.env.close()
    return {"model": {"config": "configs/tworoom_state.yaml", "data_episodes": args.data_episodes,
                      "train_steps": args.train_steps, "checkpoint": str(ckpt)},
            "eval_s": time.perf_counter() - t0, "variants": out}


def ours_over_theirs(variants: dict[str, dict]) -> dict[str, float]:
    """Their CPU seconds per solved episode over ours, for each of our planners against their same method."""
    out = {}
    for name, v in variants.items():
        theirs = variants.get("swm MPPISolver" if "mppi" in name else "swm CEMSolver")
        if name.startswith("ours") and theirs and theirs["cpu_s_per_solved"] and v["cpu_s_per_solved"]:
            out[name] = theirs["cpu_s_per_solved"] / v["cpu_s_per_solved"]
    return out


def wheel_sha256(root: Path) -> str | None:
    """sha256 of the wheel next to the unpacked directory, when it is there."""
    wheels = sorted(Path(root).parent.glob(f"stable_worldmodel-{SWM_VERSION}-*.whl"))
    return hashlib.sha256(wheels[0].read_bytes()).hexdigest() if wheels else None


def report(res: dict) -> str:
    b = res["budget"]
    lines = [f"{b['samples']} samples x {b['iterations']} iterations, {b['elites']} elites, horizon {b['horizon']}, "
             f"{res['precision']}, {res['episodes']} episodes; stable-worldmodel {res['swm']['version']}; "
             f"{res['machine']['cpu']}, {res['threads']} thread(s)"]
    for name, v in res["variants"].items():
        per = v["cpu_s_per_solved"]
        lines.append(f"  {name:26s} success {v['successes']}/{v['episodes']}, steps {v['steps_mean']:.1f}, "
                     f"iterations/plan {v['iterations_mean']:.1f}, plan CPU {v['plan_cpu_s']:.1f} s, "
                     f"CPU s/solved {per if per is None else round(per, 3)}, "
                     f"theirs/ours {res['theirs_over_ours'].get(name, float('nan')):.2f}x")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--swm", type=Path, default=Path("/tmp/swm/pkg"), help="the unpacked stable-worldmodel wheel")
    add_budget_args(ap)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="the latent rollout, both sides")
    ap.add_argument("--tols", type=float, nargs="*", default=[0.05], help="our CEM's stop_tol variants")
    ap.add_argument("--no-mppi", action="store_true")
    ap.add_argument("--swm-temperature", type=float, default=0.5, help="their MPPISolver's temperature (default)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    budget = budget_args(args)
    res = {"quick": args.quick, "machine": {**machine_info(), "git_dirty": git_dirty()}, "threads": args.threads,
           "precision": args.precision,
           "swm": {"version": swm_version(args.swm), "wheel_sha256": wheel_sha256(args.swm),
                   "mppi_temperature": args.swm_temperature},
           "budget": budget, "episodes": args.episodes, **measure(args)}
    res["theirs_over_ours"] = ours_over_theirs(res["variants"])
    res["speedup_per_solved_vs_ours_cem"] = ratios(res["variants"])
    out = args.out or RESULTS / ("swm_compare_quick.json" if args.quick else "swm_compare.json")
    write_artifact(res, out)
    print(report(res))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
