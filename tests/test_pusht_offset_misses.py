"""The Push-T offset-miss breakdown: closest approach per episode, errors consistent with the margin."""

from __future__ import annotations

import numpy as np

from benchmarks.pusht_offset_misses import NEAR, episode_misses, errors, summarise
from envs.offset import OffsetProtocol
from envs.registration import make_env
from tests.envs_helpers import StillAgent


def _env():
    env = make_env("wm/PushT-v0", obs_type="state", max_episode_steps=100)
    env.unwrapped.terminate_on_success = False
    return env


def test_errors_agree_with_the_env_margin_and_vanish_at_the_goal():
    env = _env()
    opts = OffsetProtocol(policy="scripted").reset_options(env, 100003)
    base = env.unwrapped
    at_goal = errors(base, opts["goal_state"], opts["goal_state"])
    assert at_goal == {"margin": 0.0, "pusher_m": 0.0, "block_m": 0.0, "angle_rad": 0.0}
    e = errors(base, opts["start_state"], opts["goal_state"])
    expect = max(np.hypot(e["pusher_m"], e["block_m"]) / base.success_pos, e["angle_rad"] / base.success_angle)
    assert np.isclose(e["margin"], expect)
    env.close()


def test_a_still_agent_misses_from_where_it_started_and_the_summary_counts_it():
    env = _env()
    proto = OffsetProtocol(policy="scripted")
    rows = [episode_misses(env, StillAgent(), proto, seed, budget=5) for seed in (100000, 100001)]
    again = episode_misses(env, StillAgent(), proto, 100000, budget=5)
    assert again == rows[0]  # deterministic
    for r in rows:
        assert not r["success"] and 0 <= r["step"] <= 5
        # the pusher stays put (the block too), so the best margin is within a hair of the start's
        assert abs(r["pusher_m"] - r["goal_pusher_moved_m"]) < 0.01
    s = summarise(rows, env.unwrapped.success_pos, env.unwrapped.success_angle)
    assert s["episodes"] == 2 and s["successes"] == 0 and s["failures"] == 2
    assert s["near_misses"] == sum(r["margin"] < NEAR for r in rows)
    assert s["failures_bound_by_position"] + s["failures_bound_by_angle"] == 2
    assert s["median_success"] == {}
    env.close()
