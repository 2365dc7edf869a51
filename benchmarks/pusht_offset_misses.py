"""Push-T offset episodes: how near the failures come, and which part of the goal they miss.

Runs a run's latent MPC on the offset protocol's episodes (the run's evaluation seeds and settings) and
records, per episode, the step at which the success margin was smallest (DINO-WM's rule: the pusher +
block xy 4-vector error over ``success_pos`` and the block's angle error over ``success_angle``; success
iff both are below 1), the pusher's and the block's position errors and the angle error at that step,
and how far the goal lies from the start. The summary splits the failures into near misses (best margin
below 2) and the rest, says which term binds there (position or angle) and gives the median errors of
successes and failures: it tells a plan that never got going from one that parked a few centimetres off.

Usage: ``python -m benchmarks.pusht_offset_misses RUN [--episodes 50] --out OUT.json``
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from benchmarks.timing import write_artifact
from envs.offset import OffsetProtocol
from envs.pusht import wrap_angle
from wm.api import load_agent, load_run_config, make_env
from wm.pipeline import offset_protocol
from wm.provenance import code_record

NEAR = 2.0
"""A failure whose best margin is below this is a near miss."""


def errors(base, state: np.ndarray, goal: np.ndarray) -> dict[str, float]:
    """Pusher and block position errors (m), the block's angle error (rad) and the success margin of a
    simulator ``state`` against the ``goal`` state (both flat ``(nstate,)``)."""
    q, g = base.qpos_from_physics(state), base.qpos_from_physics(goal)
    pusher, block = float(np.linalg.norm(q[3:5] - g[3:5])), float(np.linalg.norm(q[:2] - g[:2]))
    angle = float(abs(wrap_angle(q[2] - g[2])))
    return {"margin": float(base.offset_margin_from_physics(state, goal)), "pusher_m": pusher, "block_m": block,
            "angle_rad": angle}


def episode_misses(env, agent, protocol: OffsetProtocol, seed: int, budget: int) -> dict:
    """Run one offset episode of ``agent`` (``seed``, ``budget`` env steps, on past success) and return its
    closest approach: :func:`errors` at the best step, that step, and the start-to-goal change."""
    base = env.unwrapped
    opts = protocol.reset_options(env, seed)
    obs, info = env.reset(seed=seed, options=opts)
    agent.seed(seed)
    agent.reset(obs, info)
    best = {**errors(base, base.get_sim_state(), opts["goal_state"]), "step": 0}
    for t in range(1, budget + 1):
        obs, *_ = env.step(agent.act(obs))
        now = errors(base, base.get_sim_state(), opts["goal_state"])
        if now["margin"] < best["margin"]:
            best = {**now, "step": t}
    start = errors(base, opts["start_state"], opts["goal_state"])
    return {"seed": seed, "success": best["margin"] < 1.0, **best,
            "goal_block_moved_m": start["block_m"], "goal_block_turned_rad": start["angle_rad"],
            "goal_pusher_moved_m": start["pusher_m"]}


def summarise(rows: list[dict], success_pos: float, success_angle: float) -> dict:
    """Successes, near misses and the binding term of the failures, with median errors per group."""
    fails = [r for r in rows if not r["success"]]
    near = [r for r in fails if r["margin"] < NEAR]
    pos_binds = sum(np.hypot(r["pusher_m"], r["block_m"]) / success_pos >= r["angle_rad"] / success_angle
                    for r in fails)

    def medians(group: list[dict]) -> dict:
        keys = ("pusher_m", "block_m", "angle_rad", "margin", "goal_block_moved_m", "goal_block_turned_rad")
        return {k: round(float(np.median([r[k] for r in group])), 4) for k in keys} if group else {}
    return {"episodes": len(rows), "successes": len(rows) - len(fails), "failures": len(fails),
            "near_misses": len(near), "failures_bound_by_position": int(pos_binds),
            "failures_bound_by_angle": len(fails) - int(pos_binds),
            "median_success": medians([r for r in rows if r["success"]]), "median_failure": medians(fails),
            "median_near_miss": medians(near)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    code = code_record()  # the code at start, before the episodes run
    cfg = load_run_config(args.run)
    env = make_env(args.run, max_episode_steps=cfg.eval.offset_budget + 1)
    env.unwrapped.terminate_on_success = False
    agent, protocol = load_agent(args.run), offset_protocol(cfg)
    rows = [episode_misses(env, agent, protocol, cfg.eval.seed + i, cfg.eval.offset_budget)
            for i in range(args.episodes)]
    base = env.unwrapped
    summary = summarise(rows, base.success_pos, base.success_angle)
    env.close()
    print(summary)
    write_artifact({"run": str(args.run), "env_id": cfg.env.id, "obs_type": cfg.env.obs_type,
                    "plan": dataclasses.asdict(cfg.plan), "eval_seed": cfg.eval.seed, "near_miss_margin": NEAR,
                    "summary": summary, "episodes": rows, **code}, args.out)


if __name__ == "__main__":
    main()
