"""The offset protocol: start and goal from one held-out trajectory, the peers' success rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.evaluate import evaluate
from envs.goal_env import MujocoGoalEnv
from envs.offset import OffsetProtocol
from envs.registration import make_env
from tests.envs_helpers import IDS, make

RULES = ["wm/TwoRoom-v0", "wm/TwoRoomRandomWall-v0", "wm/PushT-v0", "wm/PointMaze-UMaze-v0", "wm/Reacher-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_state_from_physics_matches_state_vector(env_id):
    """The vectorised state of rollout states equals the state observation read from the live sim."""
    env = make(env_id)
    base = env.unwrapped
    env.reset(seed=3)
    states, vectors = [], []
    for _ in range(6):
        env.step(env.action_space.sample())
        states.append(base.get_sim_state())
        vectors.append(base.state_vector())
    got = base.state_from_physics(np.stack(states)[None])  # (1, 6, S)
    np.testing.assert_allclose(got[0], np.stack(vectors), atol=1e-5)
    generic = MujocoGoalEnv.state_from_physics(base, np.stack(states))
    np.testing.assert_allclose(generic, np.stack(vectors), atol=1e-5)


@pytest.mark.parametrize("env_id", RULES)
def test_offset_reset_starts_at_the_start_and_shows_the_goal_state(env_id):
    env = make_env(env_id)
    base = env.unwrapped
    protocol = OffsetProtocol(offset=10, max_start=5)
    options = protocol.reset_options(env, 11)
    _obs, info = env.reset(seed=11, options=options)
    np.testing.assert_allclose(base.get_sim_state()[1:], options["start_state"][1:])
    assert base.offset_goal is not None
    goal_vec = base.state_from_physics(options["goal_state"])
    np.testing.assert_allclose(info["goal"], goal_vec, atol=1e-5)
    np.testing.assert_allclose(base.goal_state, goal_vec, atol=1e-5)
    # the goal state itself scores a zero margin and success
    assert base.offset_margin_from_physics(options["goal_state"], options["goal_state"]) == pytest.approx(0.0)
    env.reset(seed=11)
    assert base.offset_goal is None  # a plain reset is the task protocol again


def test_offset_trajectory_is_the_data_policy_replayed():
    """Same seed, same start and goal; the goal is the state ``offset`` steps after the start."""
    env = make_env("wm/TwoRoom-v0")
    protocol = OffsetProtocol(offset=8, max_start=4, smoothing=0.5)
    a, b = protocol.reset_options(env, 5), protocol.reset_options(env, 5)
    np.testing.assert_array_equal(a["goal_state"], b["goal_state"])
    assert not np.allclose(a["start_state"], a["goal_state"])
    other = protocol.reset_options(env, 6)
    assert not np.allclose(other["goal_state"], a["goal_state"])


def test_reacher_rule_is_both_joints_within_005_rad():
    env = make_env("wm/Reacher-v0")
    base = env.unwrapped
    env.reset(seed=0)
    goal = base.get_sim_state()
    near, far = goal.copy(), goal.copy()
    near[1:3] += [0.04, -0.04]
    far[1:3] += [0.0, 0.06]
    assert base.offset_margin_from_physics(near, goal) < 1 < base.offset_margin_from_physics(far, goal)


def test_reacher_rule_wraps_the_unlimited_shoulder_only():
    env = make_env("wm/Reacher-v0")
    base = env.unwrapped
    env.reset(seed=0)
    goal = base.get_sim_state()
    turned, elbow_turned = goal.copy(), goal.copy()
    turned[1] += 2 * np.pi + 0.03  # a full shoulder turn away: the same pose
    assert base.offset_margin_from_physics(turned, goal) == pytest.approx(0.6)
    elbow_turned[2] += 0.5
    assert base.offset_margin_from_physics(elbow_turned, goal) == pytest.approx(10.0)


@settings(max_examples=25, deadline=None)
@given(dx=st.floats(-0.1, 0.1), dy=st.floats(-0.1, 0.1), da=st.floats(-0.6, 0.6))
def test_pusht_rule_needs_position_and_angle(dx, dy, da):
    env = make_env("wm/PushT-v0")
    base = env.unwrapped
    env.reset(seed=0)
    goal = base.get_sim_state()
    s = goal.copy()
    s[1:4] += [dx, dy, da]  # block x, y, angle
    inside = np.hypot(dx, dy) < base.success_pos and abs(da) < base.success_angle
    assert (base.offset_margin_from_physics(s, goal) < 1) == inside


def test_offset_episodes_end_at_the_budget_and_record_the_protocol():
    protocol = OffsetProtocol(offset=10, max_start=5)
    result = evaluate(lambda obs, goal: np.zeros(2, np.float32), "wm/TwoRoom-v0", 3, seed=100_000,
                      max_steps=12, progress=False, protocol=protocol)
    summary = result.summary()
    assert summary["protocol"] == "offset" and summary["offset"] == 10
    assert all(e.steps <= 12 for e in result.episodes)


def test_oracle_reaches_offset_goals():
    """The privileged oracle under the offset protocol: a goal 25 steps along a trajectory is reachable."""
    from agents.config import PlanConfig
    from agents.factory import build_agent

    env = make_env("wm/TwoRoom-v0")
    plan = PlanConfig(samples=64, iterations=4, elites=8, horizon=6)
    oracle = build_agent("oracle", plan, env.action_space, frameskip=5)
    result = evaluate(oracle, "wm/TwoRoom-v0", 3, seed=100_000, max_steps=50, progress=False,
                      protocol=OffsetProtocol(offset=25, max_start=10))
    assert result.success_rate == 1.0, [e.final_distance for e in result.episodes]


def test_protocol_settings_are_checked():
    with pytest.raises(ValueError, match="offset"):
        OffsetProtocol(offset=0)
    with pytest.raises(ValueError, match="max_start"):
        OffsetProtocol(max_start=-1)
    env = make_env("wm/TwoRoom-v0")
    with pytest.raises(ValueError, match="start_state"):
        env.reset(seed=0, options={"goal_state": np.zeros(3)})
    with pytest.raises(ValueError, match="shape"):
        env.reset(seed=0, options={"start_state": np.zeros(3), "goal_state": np.zeros(3)})
