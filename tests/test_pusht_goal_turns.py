"""The Push-T goal-turn split: rebuilt offset goals and successes counted per group."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.pusht_goal_turns import goal_turns, split_successes


def _results(seeds: list[int], successes: list[bool]) -> dict:
    return {"env_id": "wm/PushT-v0", "agent": "mpc", "offset": 25, "max_start": 25, "policy": "scripted",
            "smoothing": 0.9, "noise": 0.3, "goal_velocity": "keep",
            "per_episode": [{"seed": s, "success": ok} for s, ok in zip(seeds, successes, strict=True)]}


def test_goal_turns_are_deterministic_and_flag_the_large_ones():
    res = _results([100000, 100001, 100002], [True, False, True])
    a, b = goal_turns(res), goal_turns(res)
    assert a == b and [e["seed"] for e in a] == [100000, 100001, 100002]
    for e in a:
        assert 0 <= e["turn_rad"] <= np.pi and e["needs_turn"] == (e["turn_rad"] >= np.pi / 9)


def test_successes_split_by_group_and_missing_episodes_are_not_counted(tmp_path):
    episodes = [{"seed": 1, "needs_turn": False}, {"seed": 2, "needs_turn": True}, {"seed": 3, "needs_turn": True}]
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"agent": "mpc", "per_episode": [{"seed": 1, "success": True},
                                                                 {"seed": 2, "success": True}]}))
    out = split_successes(path, episodes)
    assert out["episodes"] == 2 and out["success"] == 1.0 and out["plan"] == "-"
    assert out["success_on_turn_free_goals"] == "1/1" and out["success_on_goals_needing_a_turn"] == "1/1"
