"""gymnasium-robotics ``AntMaze_<map>-v5`` by id (:mod:`envs.antmaze`): the ant's full state, its goal
observation, the env's own success rule and episode limit, the maze geodesic (also over a wall), exact
oracle rollouts, pixels, a tiny ``wm run`` and the one-line error of an unknown map."""

from __future__ import annotations

import json

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from mujoco import rollout

from envs.antmaze import AntMazeGoalEnv, nearest_free_nodes
from envs.registration import env_facts, make_env, registered_steps
from tests.envs_helpers import ROOT
from wm.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is:UserWarning")

ID = "AntMaze_UMaze-v5"


@pytest.fixture(scope="module")
def ant():
    env = make_env(ID)
    yield env
    env.close()


def test_the_id_makes_the_ant_with_its_own_limit_label_and_units(ant):
    assert isinstance(ant.unwrapped, AntMazeGoalEnv)
    assert ant.action_space.shape == (8,) and ant.observation_space.shape == (29,)
    assert env_facts(ant) == {"env_label": ID, "max_episode_steps": 700, "distance_kind": "maze geodesic",
                              "distance_units": "m"}
    assert registered_steps(ID) == gym.spec(ID).max_episode_steps == 700
    check_env(ant.unwrapped, skip_render_check=True)


def test_state_is_qpos_qvel_with_the_torso_xy(ant):
    base = ant.unwrapped
    obs, _ = ant.reset(seed=0)
    for _ in range(3):
        obs, *_ = ant.step(ant.action_space.sample())
    inner = base.inner_obs
    np.testing.assert_allclose(obs[:2], inner["achieved_goal"], atol=1e-6)   # the torso x, y
    np.testing.assert_allclose(obs[2:], inner["observation"][:27], rtol=1e-5, atol=1e-5)  # the rest of qpos, qvel
    np.testing.assert_allclose(base.state_from_physics(base.get_sim_state()[None])[0], obs)


def test_goal_observation_puts_the_ant_at_rest_at_the_goal(ant):
    base = ant.unwrapped
    for seed in range(3):
        _, info = ant.reset(seed=seed)
        goal = info["goal"]
        np.testing.assert_allclose(goal[:2], base.inner.goal, atol=1e-6)
        np.testing.assert_allclose(goal[2:15], base.rest_pose, atol=1e-6)
        np.testing.assert_array_equal(goal[15:], 0.0)
        assert not info["success"] and info["distance"] > 1.0
    z, quat = base.rest_pose[0], base.rest_pose[1:5]
    assert 0.4 < z < 0.75 and quat[0] > 0.99  # dropped onto its legs, upright


def test_at_the_goal_success_and_zero_distance(ant):
    base = ant.unwrapped
    ant.reset(seed=4)
    base._apply_goal_config()
    mujoco.mj_forward(base.model, base.data)
    assert base.is_success() and base.distance() < 0.2  # the 0.2 m grid's reading at its own node
    base.data.qpos[:2] = base.goal + np.array([0.44, 0.0])
    assert base.is_success()
    base.data.qpos[:2] = base.goal + np.array([0.46, 0.0])
    assert not base.is_success()


def test_success_is_the_envs_own_and_distance_the_geodesic(ant):
    base = ant.unwrapped
    ant.reset(seed=1)
    for _ in range(20):
        _, _, _, _, info = ant.step(ant.action_space.sample())
        assert info["success"] == base.inner_info["success"]
        assert info["distance"] >= np.linalg.norm(base.data.qpos[:2] - base.goal) - 0.05
    states = np.stack([base.get_sim_state()] * 2)
    np.testing.assert_allclose(base.distance_from_physics(states), base.distance())


def test_over_a_wall_the_distance_is_via_the_nearest_corridor(ant):
    """The torso on the middle wall of the U reads the geodesic of the corridor beside it."""
    base = ant.unwrapped
    ant.reset(seed=0, options={"reset_cell": np.array([3, 1]), "goal_cell": np.array([1, 1])})
    state = base.get_sim_state()
    on_wall, beside = state.copy(), state.copy()
    on_wall[1:3], beside[1:3] = [-4.0, -1.2], [-4.0, -2.5]  # wall y in [-2, 2]; the start's corridor below
    over, below = base.distance_from_physics(np.stack([on_wall, beside]))
    straight = np.linalg.norm(on_wall[1:3] - base.goal)
    assert below > 10 and over == pytest.approx(below + 1.2, abs=0.3) and over > straight + 5
    g = base.geodesic
    near = nearest_free_nodes(g)
    assert g.free[near[..., 0], near[..., 1]].all()


def test_oracle_rollouts_reproduce_the_env(ant):
    base = ant.unwrapped
    ant.reset(seed=2)
    actions = np.random.default_rng(0).uniform(-1, 1, (6, 8))
    start = base.get_sim_state()
    ctrl = np.repeat(actions, base.frame_skip, axis=0)[None]
    states, _ = rollout.rollout(base.model, [mujoco.MjData(base.model)], start[None], ctrl)
    for a in actions:
        ant.step(a.astype(np.float32))
    np.testing.assert_allclose(base.state_from_physics(states[0, -1]), base.state_vector(), atol=1e-4)


def test_pixels_are_the_top_down_view():
    env = make_env(ID, obs_type="pixels")
    obs, info = env.reset(seed=3)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8 and obs.std() > 0
    assert not np.array_equal(obs, info["goal"])
    shown = make_env(ID, obs_type="pixels", show_goal=True)
    assert not np.array_equal(shown.reset(seed=3)[0], obs)
    env.close()
    shown.close()


def test_tiny_run_end_to_end(tmp_path, tiny_overrides, capsys):
    run = tmp_path / "run"
    sets = [x for o in [*tiny_overrides, "data.episodes=4", "data.episode_steps=25", "eval.max_steps=10",
                        "plan.samples=8", "plan.iterations=1", "eval.workers=1", "data.workers=1"]
            for x in ("--set", o)]
    config = str(ROOT / "configs" / "antmaze_state.yaml")
    assert main(["run", "--config", config, "--out", str(run), "--quiet", *sets]) == 0
    assert "| oracle |" in capsys.readouterr().out
    result = json.loads((run / "eval" / "mpc-cem" / "results.json").read_text())
    assert result["env_label"] == ID and result["max_episode_steps"] == 700
    assert result["distance_kind"] == "maze geodesic" and result["distance_units"] == "m"


def test_unknown_ant_map_is_one_line(tmp_path, capsys):
    assert main(["collect", "--out", str(tmp_path / "x"), "--quiet", "--set", "env.id=AntMaze_Nope-v5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown env id 'AntMaze_Nope-v5'" in err and "AntMaze_<map>-v5" in err
