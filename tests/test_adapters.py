"""Adapters of existing benchmarks (PointMaze, Reacher) and the maze geodesic."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.config import PlanConfig
from agents.evaluate import evaluate
from agents.factory import build_agent
from envs.geodesic import GridGeodesic
from envs.pointmaze import PointMazeGoalEnv
from envs.reacher import ReacherGoalEnv


@pytest.fixture(scope="module")
def reacher():
    env = ReacherGoalEnv()
    yield env
    env.close()


@pytest.fixture(scope="module")
def maze():
    env = PointMazeGoalEnv()
    yield env
    env.close()


# ----------------------------------------------------------------------------- Reacher
@settings(max_examples=60, deadline=None)
@given(r=st.floats(0.03, 0.209), phi=st.floats(-np.pi, np.pi))
def test_reacher_inverse_kinematics(reacher, r, phi):
    target = reacher.base + r * np.array([np.cos(phi), np.sin(phi)])
    q = reacher.inverse_kinematics(target)
    assert 0 <= q[1] <= reacher.q2_max
    np.testing.assert_allclose(reacher.fingertip(q), target, atol=1e-9)


def test_reacher_kinematics_match_mujoco(reacher):
    reacher.reset(seed=0)
    for _ in range(5):
        reacher.step(reacher.action_space.sample())
        mujoco.mj_kinematics(reacher.model, reacher.data)  # after mj_step, xpos lags qpos by one step
        np.testing.assert_allclose(reacher.fingertip(reacher.data.qpos), reacher.data.body("fingertip").xpos[:2],
                                   atol=1e-9)


def test_reacher_state_is_inner_observation_without_the_target(reacher):
    obs, _ = reacher.reset(seed=1)
    for _ in range(4):
        obs, *_ = reacher.step(reacher.action_space.sample())
        inner = reacher.inner_obs
        np.testing.assert_allclose(obs, inner[[0, 1, 2, 3, 6, 7]], rtol=1e-6, atol=1e-6)


def test_reacher_goal_observation_puts_the_fingertip_on_the_target(reacher):
    for seed in range(10):
        _, info = reacher.reset(seed=seed)
        g = info["goal"]
        q = np.arctan2(g[2:4], g[0:2])
        np.testing.assert_allclose(reacher.fingertip(q), reacher.goal, atol=1e-5)
        np.testing.assert_array_equal(g[4:], 0.0)
        np.testing.assert_allclose(reacher.goal, reacher.data.qpos[2:4])  # the inner env's own target


# ----------------------------------------------------------------------------- PointMaze
def test_pointmaze_success_is_the_benchmarks_own(maze):
    maze.reset(seed=0, options={"reset_cell": np.array([1, 2]), "goal_cell": np.array([1, 3])})
    flags = []
    for _ in range(60):
        _, _, _, _, info = maze.step(np.array([1.0, 0.0], dtype=np.float32))
        assert info["success"] == maze.inner_info["success"]
        flags.append(info["success"])
    assert any(flags) and not all(flags)


def test_pointmaze_goal_observation(maze):
    _, info = maze.reset(seed=2)
    np.testing.assert_allclose(info["goal"][:2], maze.goal, atol=1e-6)
    np.testing.assert_array_equal(info["goal"][2:], 0.0)


def test_pointmaze_geodesic_goes_round_the_u(maze):
    maze.reset(seed=0, options={"reset_cell": np.array([3, 1]), "goal_cell": np.array([1, 1])})
    maze.goal = np.array([-1.0, 1.0])
    maze._field = maze.geodesic.field(maze.goal)
    start = np.array([-1.0, -1.0])
    # the wall x in [-2.5, 0.5], |y| < 0.5 is passed round its end, whose corners are rounded by
    # the clearance r: per side a tangent from the start to the corner circle and an arc, plus the
    # 1 m straight along the wall's end
    r = 0.09
    to_corner = np.hypot(1.5, 0.5)
    angle = np.pi / 2 - np.arctan2(0.5, 1.5) - np.arcsin(r / to_corner)
    exact = 2 * (np.sqrt(to_corner**2 - r**2) + r * angle) + 1.0
    geo = float(maze.geodesic.query(maze._field, start))
    assert geo == pytest.approx(exact, rel=0.05) and geo > np.linalg.norm(start - maze.goal) + 2
    # in line of sight it is the straight line
    near = np.array([-0.3, 1.1])
    assert float(maze.geodesic.query(maze._field, near)) == pytest.approx(0.71, rel=0.03)


def test_grid_geodesic_open_field_and_detour():
    open_field = GridGeodesic(np.zeros((0, 4)), (-1, -1, 1, 1), radius=0.0)
    field = open_field.field(np.array([0.0, 0.0]))
    pts = np.random.default_rng(0).uniform(-0.9, 0.9, (200, 2))
    np.testing.assert_allclose(open_field.query(field, pts), np.linalg.norm(pts, axis=1), rtol=0.03, atol=0.03)
    wall = GridGeodesic(np.array([[-0.05, -1.0, 0.05, 0.5]]), (-1, -1, 1, 1), radius=0.0, resolution=0.025)
    f = wall.field(np.array([0.5, 0.0]))
    expected = 2 * np.hypot(0.45, 0.5) + 0.1  # over the wall's top corners (-0.05, 0.5), (0.05, 0.5)
    assert float(wall.query(f, np.array([-0.5, 0.0]))) == pytest.approx(expected, rel=0.03)


# ----------------------------------------------------------------------------- oracles
@pytest.mark.slow
@pytest.mark.parametrize(("env_id", "repeat", "plan"), [
    ("wm/Reacher-v0", 1, PlanConfig(samples=200, iterations=5, elites=20, horizon=8)),
    ("wm/PointMaze-UMaze-v0", 5, PlanConfig(samples=100, iterations=5, elites=10, horizon=10)),
])
def test_oracle_solves_adapted_benchmarks(env_id, repeat, plan):
    torch.set_num_threads(1)
    env = ReacherGoalEnv() if "Reacher" in env_id else PointMazeGoalEnv()
    agent = build_agent("oracle", plan, env.action_space, None, frameskip=repeat)
    result = evaluate(agent, env_id, episodes=6, seed=1000, progress=False)
    assert result.success_rate >= 0.8


def test_a_maze_leaves_no_model_file_in_the_temp_directory(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # gymnasium-robotics writes its MJCF there
    env = PointMazeGoalEnv()
    try:
        env.reset(seed=0)
        env.step(np.zeros(2))  # the model was loaded before the file went
    finally:
        env.close()
    assert list(tmp_path.glob("*.xml")) == []
