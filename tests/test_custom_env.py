"""Your own env through wm/Custom-v0: config errors named, any MuJoCo gymnasium env, and the
README's worked example end to end (collect -> train -> eval) with no library change."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.custom import CustomSpec
from envs.registration import make_env
from tests.envs_helpers import ROOT, custom_kwargs
from wm.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is:UserWarning")


@pytest.mark.parametrize(("change", "message"), [
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"env_id": "PointMaze_UMaze-v3"}, "exactly one of 'env_id' and 'entry_point'"),
    ({"goal": "target"}, "env.kwargs.goal"),
    ({"achieved": "qpos[0]"}, "env.kwargs.achieved"),
    ({"success": "is_success"}, "env.kwargs.success"),
    ({"state": "pixels"}, "env.kwargs.state"),
])
def test_bad_spec_is_named(change, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        CustomSpec.from_kwargs({**custom_kwargs(), **change})


def test_bad_names_are_named():
    with pytest.raises(ValueError, match="no geom or site named 'flag'"):
        make_env("wm/Custom-v0", **{**custom_kwargs(), "hide": ["flag"]})
    with pytest.raises(ValueError, match="no such file"):
        make_env("wm/Custom-v0", **{**custom_kwargs(), "entry_point": "nowhere.py:Env"})
    env = make_env("wm/Custom-v0", **{**custom_kwargs(), "goal": "attr:goal_position"})
    with pytest.raises(ValueError, match="'attr:goal_position' not found after reset"):
        env.reset(seed=0)


def test_example_goal_and_success_are_read_as_configured():
    env = make_env("wm/Custom-v0", **custom_kwargs()).unwrapped
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(env.goal, env.inner.target)
    np.testing.assert_allclose(info["goal"], [*env.inner.target, 0.0, 0.0], atol=1e-6)
    assert info["distance"] == pytest.approx(np.linalg.norm(obs[:2] - env.inner.target), rel=1e-5)
    env.data.qpos[:2] = env.inner.target  # put the point on the target: the env's own flag turns on
    _, _, terminated, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert info["success"] and terminated


def test_a_registered_gymnasium_robotics_env_by_config():
    """PointMaze straight from gymnasium-robotics: goal in a dict observation, its own success flag."""
    kwargs = {"env_id": "gymnasium_robotics:PointMaze_UMaze-v3", "goal": "obs:desired_goal",
              "achieved": "qpos[0:2]", "success": "info:success", "hide": ["target"],
              "camera": {"lookat": [0, 0, 0], "distance": 8.0}}
    for obs_type in ("state", "pixels"):
        env = make_env("wm/Custom-v0", obs_type=obs_type, **kwargs)
        check_env(env.unwrapped, skip_render_check=True)
        obs, info = env.reset(seed=0)
        np.testing.assert_array_equal(env.unwrapped.goal, env.unwrapped.inner.goal)
        assert info["goal"].shape == obs.shape
        env.close()


def test_site_achieved_uses_forward_kinematics():
    env = make_env("wm/Custom-v0", **{**custom_kwargs(), "achieved": "body:point"}).unwrapped
    env.reset(seed=1)
    states = []
    for _ in range(3):
        env.step(env.action_space.sample())
        states.append(env.get_sim_state())
    qpos_based = make_env("wm/Custom-v0", **custom_kwargs()).unwrapped
    qpos_based.reset(seed=1)
    np.testing.assert_allclose(env.distance_from_physics(np.stack(states)),
                               qpos_based.distance_from_physics(np.stack(states)), atol=1e-9)


def test_worked_example_end_to_end(tmp_path, tiny_overrides, capsys):
    run = tmp_path / "run"
    config = ROOT / "configs" / "custom_pointreach_state.yaml"
    entry = f"env.kwargs.entry_point={ROOT / 'examples' / 'point_reach.py'}:PointReachEnv"
    sets = [x for o in [*tiny_overrides, entry] for x in ("--set", o)]
    assert main(["run", "--config", str(config), "--out", str(run), "--quiet", *sets]) == 0
    out = capsys.readouterr().out
    assert "| mpc |" in out and "| oracle |" in out and "| random |" in out
    result = json.loads((run / "eval" / "oracle-cem" / "results.json").read_text())
    assert result["env_id"] == "wm/Custom-v0" and result["episodes"] == 2
