"""Push-T: geometry, reachable goals, success thresholds, quasi-static dynamics, the scripted
explorer and the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.config import PlanConfig
from agents.evaluate import evaluate
from agents.factory import build_agent
from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from envs.pusht import ANGLE_WEIGHT, PushTEnv, block_moved, wrap_angle
from envs.tshape import BAR_CENTER, BAR_HALF, OUTLINE, STEM_CENTER, STEM_HALF, UNIT


def test_t_frame_is_at_the_centre_of_mass():
    bar, stem = 4 * BAR_HALF.prod(), 4 * STEM_HALF.prod()
    np.testing.assert_allclose((bar * BAR_CENTER + stem * STEM_CENTER) / (bar + stem), 0, atol=1e-12)
    x, y = OUTLINE.T  # shoelace: the outline encloses the 7 unit squares of the T
    assert 0.5 * abs(x @ np.roll(y, -1) - y @ np.roll(x, -1)) == pytest.approx(7 * UNIT**2)
    env = PushTEnv()
    np.testing.assert_allclose(env.model.body("block").ipos, 0, atol=1e-9)


def test_goals_are_reached_by_a_push_and_not_already_met():
    env = PushTEnv()
    for seed in range(15):
        _, info = env.reset(seed=seed)
        assert not info["success"]
        pos, ang = env.pose_errors(env.block_pose())
        assert pos >= 2 * env.success_pos or ang >= 2 * env.success_angle
        assert np.all(np.abs(env.goal[:2]) < 0.5)
        goal = info["goal"]  # state goal: block at the goal pose, pusher where the push left it
        np.testing.assert_allclose(goal[2:4], env.goal[:2], atol=1e-6)
        assert np.arctan2(goal[4], goal[5]) == pytest.approx(wrap_angle(env.goal[2]), abs=1e-5)
        np.testing.assert_allclose(goal[:2], env.goal_pusher, atol=1e-6)


def test_success_thresholds_and_distance():
    env = PushTEnv()
    env.reset(seed=0)
    g = env.goal.copy()

    def place(dx: float, dtheta: float) -> None:
        env._place(np.array([0.45, 0.45]), g + np.array([dx, 0.0, dtheta]))

    place(0.03, np.radians(15) + 2 * np.pi)  # angle wraps
    assert env.is_success() and env.distance() == pytest.approx(0.03 + ANGLE_WEIGHT * np.radians(15))
    place(0.05, 0.0)
    assert not env.is_success()
    place(0.0, np.radians(25))
    assert not env.is_success()


def test_positions_are_nearly_markov():
    """Restarting a step from the same positions at rest barely changes the next state."""
    env = PushTEnv()
    env.reset(seed=0)
    policy = env.scripted_policy()
    policy.reset(np.random.default_rng(0))
    nq, nv = env.model.nq, env.model.nv
    errors = []
    for _ in range(300):
        action = policy(None, env.state_vector())
        state = env.get_sim_state()
        env.step(action)
        after, full = env.state_vector(), env.get_sim_state()
        rest = state.copy()
        rest[1 + nq:1 + nq + nv] = 0.0
        env.set_sim_state(rest)
        env.step(action)
        errors.append(np.abs(env.state_vector() - after))
        env.set_sim_state(full)
    mean = np.mean(errors, axis=0)
    assert mean[:4].max() < 3e-3       # pusher and block positions: < 3 mm on average
    assert mean[4:].max() < 0.025      # sin / cos of the angle: < ~1.5 deg


def _moving_fraction(policy: str) -> float:
    data = collect(EnvConfig(id="wm/PushT-v0"), DataConfig(episodes=3, episode_steps=80, policy=policy), None,
                   progress=False)
    return float(np.mean([block_moved(data.episode(i)["states"]).mean() for i in range(data.num_episodes)]))


def test_scripted_pusher_moves_the_block_random_motion_rarely_does():
    scripted, walk = _moving_fraction("scripted"), _moving_fraction("random_walk")
    assert scripted > 0.3
    assert walk < scripted / 3


def test_scripted_policy_needs_an_env_that_has_one():
    with pytest.raises(ValueError, match="scripted"):
        collect(EnvConfig(), DataConfig(episodes=1, episode_steps=5, policy="scripted"), None, progress=False)


def test_block_moved_counts_turns_and_travel():
    s = np.zeros((4, 6))
    s[:, 5] = 1.0
    s[1, 2] = 0.01                                            # step 0: travels 1 cm
    s[2, 2] = 0.01                                            # step 1: still
    s[3, 2], s[3, 4], s[3, 5] = 0.01, np.sin(0.1), np.cos(0.1)  # step 2: turns 0.1 rad
    assert block_moved(s).tolist() == [True, False, True]


@pytest.mark.slow
def test_oracle_solves_push_t():
    torch.set_num_threads(1)
    plan = PlanConfig(samples=100, iterations=5, elites=10, horizon=6)
    env = PushTEnv()
    agent = build_agent("oracle", plan, env.action_space, None, frameskip=5)
    result = evaluate(agent, "wm/PushT-v0", episodes=10, seed=1000, progress=False)
    assert result.success_rate >= 0.8


def test_two_tone_colours_only_the_stem_and_leaves_the_dynamics():
    plain = PushTEnv(obs_type="pixels", image_size=32)
    tone = PushTEnv(obs_type="pixels", image_size=32, two_tone=True)
    a, _ = plain.reset(seed=5)
    b, _ = tone.reset(seed=5)
    changed = (a != b).any(axis=-1)
    assert 0 < changed.sum() < 0.05 * changed.size  # a few pixels: the stem's
    assert np.array_equal(plain.state_vector(), tone.state_vector())
    for _ in range(5):
        action = np.array([0.6, -0.3], dtype=np.float32)
        plain.step(action)
        tone.step(action)
    assert np.array_equal(plain.state_vector(), tone.state_vector())
    plain.close()
    tone.close()
