"""Goals given only in task space (``desired_goal``): a goal spec that cannot be right is one line,
``env.goal_source: dataset`` retrieves the goal observation from the run's data, and
gymnasium-robotics maze maps by id keep their own episode limit, label, units and distance."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from agents.config import PlanConfig
from agents.factory import build_agent
from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from envs.registration import env_facts, make_env
from tests.envs_helpers import ROOT, custom_kwargs
from wm.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is:UserWarning")

EXAMPLE = ROOT / "examples" / "polar_reach.yaml"
PACKAGE = ROOT / "examples" / "polar_reach"


@pytest.fixture(autouse=True, scope="module")
def polar_reach_importable():
    """The example's module importable here and in worker processes, as after ``pip install
    ./examples/polar_reach`` (tests/test_example_package.py runs that install)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(PACKAGE))
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PACKAGE), os.environ.get("PYTHONPATH")])))
        yield


def polar_env_config(**change) -> EnvConfig:
    """``env`` of ``examples/polar_reach.yaml`` (a GoalEnv with a task-space goal), changed by ``change``."""
    env = yaml.safe_load(EXAMPLE.read_text())["env"]
    env = {**env, **change}
    return EnvConfig(id=env["id"], obs_type=env["obs_type"], kwargs=env["kwargs"], imports=tuple(env["imports"]),
                     goal_source=env["goal_source"])


@pytest.fixture(scope="module")
def polar_dataset(tmp_path_factory):
    """12 random-walk episodes of 30 steps of the polar-reach example."""
    path = tmp_path_factory.mktemp("polar") / "dataset.h5"
    collect(polar_env_config(), DataConfig(episodes=12, episode_steps=30), path, progress=False)
    return path


def test_the_example_reaches_the_span_of_its_targets():
    """Its joints cover the targets' range (theta in [-2.2, 2.2] rad, r in [0.1, 0.4] m): the
    hinge limits are radians, not MuJoCo's default degrees."""
    import polar_reach

    env = polar_reach.PolarReachEnv()
    env.reset(seed=0)
    env.data.qpos[:] = [-2.2, 0.1]
    for _ in range(20):
        env.step(np.array([1.0, 1.0]))
    theta, r = env.data.qpos
    assert theta > 2.2 and r > 0.4


# ----------------------------------------------------------------------------- a goal that cannot be right
def test_qpos_default_on_a_task_space_goal_is_refused():
    env = make_env("wm/Custom-v0", **polar_env_config(goal_source="env").make_kwargs())
    with pytest.raises(ValueError) as err:
        env.reset(seed=0)
    message = str(err.value)
    assert "\n" not in message
    for part in ("polar_reach/PolarReach-v0", "2 values", "site:tip", "goal_source: dataset", "goal_qpos"):
        assert part in message


@pytest.mark.parametrize(("change", "message"), [
    ({"achieved": "qpos[0:1]"}, "achieved (qpos[0:1]) only 1"),
    ({"goal_qpos": [0, 1, 2]}, "goal_qpos: 3 entries, goal has 2"),
    ({"goal_qpos": [0, 7]}, "index 7 >= nq = 2"),
])
def test_wrong_lengths_are_named(change, message):
    env = make_env("wm/Custom-v0", **{**custom_kwargs(), **change})
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        env.reset(seed=0)


def test_cli_refuses_it_before_writing_data(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["collect", "--config", str(EXAMPLE), "--out", str(out), "--quiet",
                 "--set", "env.goal_source=env", "--set", "data.episodes=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot be written into qpos" in err
    assert not (out / "data" / "dataset.h5").exists()


def test_joint_space_goal_keeps_its_default():
    """``achieved: qpos[0:2]`` and a 2-value goal: the goal is those joints, written as before."""
    kwargs = {k: v for k, v in custom_kwargs().items() if k != "goal_qpos"}
    env = make_env("wm/Custom-v0", **kwargs).unwrapped
    _, info = env.reset(seed=0)
    np.testing.assert_allclose(info["goal"], [*env.inner.target, 0, 0], atol=1e-6)


# ----------------------------------------------------------------------------- goal_source: dataset
def test_dataset_goal_is_the_recorded_observation_nearest_the_goal(polar_dataset):
    from envs.dataset import read_dataset

    data = read_dataset(polar_dataset)
    env = make_env("wm/Custom-v0", goal_dataset=str(polar_dataset), **polar_env_config().make_kwargs()).unwrapped
    tips = env.achieved_from_states(data.states)[:, :2]
    for seed in range(5):
        _, info = env.reset(seed=seed)
        gaps = np.linalg.norm(tips - env.goal, axis=1)
        row = int(np.flatnonzero((data.obs == info["goal"]).all(1))[0])
        assert gaps[row] <= gaps.min() + 0.01 + 1e-9  # nearest, up to the at-rest tolerance
        assert env.goal_gap == pytest.approx(gaps[row])
        np.testing.assert_array_equal(env.goal_state, data.states[row])


def test_pixel_goal_is_a_recorded_frame(tmp_path):
    from envs.dataset import read_dataset

    cfg = polar_env_config(obs_type="pixels")
    path = tmp_path / "pixels.h5"
    collect(cfg, DataConfig(episodes=2, episode_steps=6), path, progress=False)
    env = make_env(cfg.id, goal_dataset=str(path), **cfg.make_kwargs()).unwrapped
    obs, info = env.reset(seed=0)
    frames = read_dataset(path).obs
    assert info["goal"].dtype == np.uint8 and info["goal"].shape == obs.shape
    assert any((frame == info["goal"]).all() for frame in frames)
    env.close()


def test_dataset_goal_needs_the_runs_dataset(polar_dataset):
    env = make_env("wm/Custom-v0", **polar_env_config().make_kwargs())
    with pytest.raises(ValueError, match="no dataset to retrieve goals from"):
        env.reset(seed=0)
    positions_only = polar_env_config(kwargs={**polar_env_config().kwargs, "state": "qpos"})
    with pytest.raises(ValueError, match=r"observations \(4,\), the env's are \(2,\)"):
        make_env("wm/Custom-v0", goal_dataset=str(polar_dataset), **positions_only.make_kwargs())
    with pytest.raises(ValueError, match="goal_source: must be one of"):
        polar_env_config(goal_source="oracle")


# ----------------------------------------------------------------------------- maze maps by id
def test_pointmaze_maps_by_id_keep_their_limit_and_label():
    env = make_env("PointMaze_Medium-v3")
    facts = env_facts(env)
    assert facts == {"env_label": "PointMaze_Medium-v3", "max_episode_steps": 600,
                     "distance_kind": "maze geodesic", "distance_units": "m"}
    assert len(env.unwrapped.maze.maze_map) == 8  # the medium map, not the U
    env.reset(seed=0)
    env.close()
    legacy = make_env("wm/PointMaze-UMaze-v0", maze_id="PointMaze_Large-v3")
    assert legacy.spec.max_episode_steps == 800
    legacy.close()
    assert make_env("wm/PointMaze-UMaze-v0").spec.max_episode_steps == 300


def test_unknown_maze_id_is_one_line():
    with pytest.raises(ValueError, match="not a gymnasium-robotics maze id"):
        make_env("PointMaze_Nowhere-v3")


def test_custom_route_to_a_maze_gets_the_geodesic_and_its_limit():
    kwargs = {"env_id": "gymnasium_robotics:PointMaze_Medium-v3", "goal": "obs:desired_goal",
              "achieved": "qpos[0:2]", "success": "info:success", "hide": ["target"]}
    env = make_env("wm/Custom-v0", **kwargs)
    assert env.spec.max_episode_steps == 600
    base = env.unwrapped
    base.reset(seed=3)
    assert base.distance_kind == "maze geodesic"
    straight = float(np.linalg.norm(base.data.qpos[:2] - base.goal))
    assert base.distance() >= straight - 1e-6
    states = np.stack([base.get_sim_state()] * 2)
    np.testing.assert_allclose(base.distance_from_physics(states), base.distance(), rtol=1e-6)
    env.close()


def test_oracle_warns_only_on_a_straight_line_fallback(capsys):
    plan = PlanConfig(samples=8, iterations=1, elites=2, horizon=2)
    line = make_env("wm/Custom-v0", **custom_kwargs())
    build_agent("oracle", plan, line.action_space, None, frameskip=1).attach(line)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: oracle:") and "straight line" in err[0]
    maze = make_env("PointMaze_UMaze-v3")
    build_agent("oracle", plan, maze.action_space, None, frameskip=1).attach(maze)
    assert capsys.readouterr().err == ""
