"""Push-T offset goals: how far each turns the block, and who succeeds on the goals that need a turn.

For the episodes of an offset results file it rebuilds each start and goal (the protocol's settings are
read from that file), measures the block's turn from start to goal, and splits every given agent's
successes into goals whose turn is within the success angle (a cost blind to the angle can succeed by
leaving it alone) and goals that need a larger turn. A latent that lacks the angle is capped by the first
group's share; successes in the second come from turns it cannot aim for.

Usage: ``python -m benchmarks.pusht_goal_turns OUT.json RESULTS.json [RESULTS.json ...]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.timing import write_artifact
from envs.offset import OffsetProtocol
from envs.pusht import wrap_angle
from envs.registration import make_env
from wm.provenance import code_at_start


def goal_turns(results: dict) -> list[dict]:
    """Per episode of an offset ``results`` dict: seed, the block's turn (rad) and the 4-vector change (m)."""
    proto = OffsetProtocol(offset=results["offset"], max_start=results["max_start"], policy=results["policy"],
                           smoothing=results["smoothing"], noise=results["noise"],
                           goal_velocity=results["goal_velocity"])
    env = make_env(results["env_id"], obs_type="state")
    base = env.unwrapped
    episodes = []
    for e in results["per_episode"]:
        opts = proto.reset_options(env, e["seed"])
        q0, q1 = base.qpos_from_physics(opts["start_state"]), base.qpos_from_physics(opts["goal_state"])
        turn = float(abs(wrap_angle(q1[2] - q0[2])))
        episodes.append({"seed": e["seed"], "turn_rad": round(turn, 4),
                         "pos_change_m": round(float(np.linalg.norm(q1[[3, 4, 0, 1]] - q0[[3, 4, 0, 1]])), 4),
                         "needs_turn": bool(turn >= base.success_angle)})
    env.close()
    return episodes


def split_successes(path: Path, episodes: list[dict]) -> dict:
    """One agent's successes on the turn-free goals and on the goals that need a turn (``k/n`` each)."""
    d = json.loads(path.read_text())
    by_seed = {x["seed"]: x["success"] for x in d["per_episode"]}
    ran = np.array([e["seed"] in by_seed for e in episodes])
    ok = np.array([by_seed.get(e["seed"], False) for e in episodes])
    need = np.array([e["needs_turn"] for e in episodes])
    plan = d.get("plan")
    return {"results": str(path), "agent": d["agent"],
            "plan": f"{plan['planner']} {plan['samples']}x{plan['iterations']}" if plan else "-",
            "episodes": int(ran.sum()), "success": float(ok[ran].mean()),
            "success_on_turn_free_goals": f"{int(ok[~need & ran].sum())}/{int((~need & ran).sum())}",
            "success_on_goals_needing_a_turn": f"{int(ok[need & ran].sum())}/{int((need & ran).sum())}"}


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    out, paths = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    for p in paths:
        if not p.is_file():
            sys.exit(f"results file not found: {p}")
    episodes = goal_turns(json.loads(paths[0].read_text()))
    commit, dirty = code_at_start()
    res = {"git_commit": commit, "git_dirty": dirty, "goals": len(episodes),
           "goals_needing_a_turn": sum(e["needs_turn"] for e in episodes),
           "median_turn_rad": float(np.median([e["turn_rad"] for e in episodes])),
           "agents": [split_successes(p, episodes) for p in paths], "episodes": episodes}
    write_artifact(res, out)
    print(json.dumps({k: v for k, v in res.items() if k != "episodes"}, indent=1))


if __name__ == "__main__":
    main()
