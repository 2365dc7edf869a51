"""Environments: gymnasium's checker, determinism, the goal-conditioned contract, geometry."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.registration import ENV_SPECS, make_env
from envs.tworoom import TwoRoomEnv

IDS = sorted(ENV_SPECS)


def _rollout(env_id: str, seed: int, steps: int = 30, **kw) -> list[np.ndarray]:
    env = make_env(env_id, **kw)
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs, info["goal"]]
    for _ in range(steps):
        obs, reward, term, trunc, info = env.step(env.action_space.sample())
        out += [obs, np.array([reward, info["distance"], info["success"]])]
        if term or trunc:
            break
    env.close()
    return out


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = make_env(env_id)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_rollout(env_id):
    a, b = _rollout(env_id, 7), _rollout(env_id, 7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = _rollout(env_id, 8)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("env_id", IDS)
def test_goal_contract(env_id):
    env = make_env(env_id)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["goal"].shape == obs.shape and info["goal"].dtype == obs.dtype
    assert isinstance(info["success"], bool) and info["distance"] > 0
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert {"goal", "success", "distance"} <= info.keys()
    assert reward == -info["distance"]
    assert env.spec.max_episode_steps == 200


def test_unknown_env_id_names_it():
    with pytest.raises(ValueError, match="wm/Nope-v0"):
        make_env("wm/Nope-v0")


def test_start_and_goal_in_opposite_rooms_and_door_must_be_found():
    env = TwoRoomEnv()
    for seed in range(100):
        env.reset(seed=seed)
        start = env.data.qpos[:2].copy()
        assert (start[0] - env.wall_x) * (env.goal[0] - env.wall_x) < 0
        assert not env.crosses_door(start, env.goal)


def test_same_room_option():
    env = TwoRoomEnv()
    for seed in range(20):
        env.reset(seed=seed, options={"same_room": True})
        assert (env.data.qpos[0] - env.wall_x) * (env.goal[0] - env.wall_x) > 0


def test_wall_blocks_and_door_passes():
    env = TwoRoomEnv()
    env.reset(seed=0, options={"start": [-0.5, -0.5], "goal": [0.5, -0.5]})
    for _ in range(40):  # push right, below the door: the wall stops the agent
        env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert env.data.qpos[0] < env.wall_x
    env.reset(seed=0, options={"start": [-0.5, env.door_y], "goal": [0.5, env.door_y]})
    for _ in range(15):  # push right through the door
        env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert env.data.qpos[0] > env.wall_x + 0.1


def test_geodesic_distance():
    env = TwoRoomEnv()
    env.reset(seed=0, options={"start": [-0.5, -0.5], "goal": [0.5, -0.5]})
    # same room: Euclidean
    assert env.geodesic(np.array([0.6, -0.5])) == pytest.approx(0.1)
    # across the wall below the door: longer than the straight line, via the door edge
    half = env.door_width / 2 - 0.05
    corner = np.array([env.wall_x, env.door_y - half])
    expected = np.linalg.norm(np.array([-0.5, -0.5]) - corner) + np.linalg.norm(corner - env.goal)
    assert env.geodesic(np.array([-0.5, -0.5])) == pytest.approx(expected)
    assert env.distance() == pytest.approx(expected)


def test_sim_state_round_trip():
    env = TwoRoomEnv()
    env.reset(seed=3)
    for _ in range(5):
        env.step(env.action_space.sample())
    state = env.get_sim_state()
    obs = env.state_vector()
    env.step(np.ones(2, dtype=np.float32))
    env.set_sim_state(state)
    np.testing.assert_array_equal(env.state_vector(), obs)


def test_bad_obs_type_rejected():
    with pytest.raises(ValueError, match="obs_type"):
        TwoRoomEnv(obs_type="voxels")
