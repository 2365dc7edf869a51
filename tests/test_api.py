"""The Python front door (``import wm``): load a run's agent and model, evaluate agents and policies,
env-level rollouts, the agent contract, and the README's Python example run on a tiny run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import wm
from agents.mpc import MPCAgent
from agents.protocol import BaseAgent, as_agent, takes_goal
from tests.conftest import TINY
from wm import pipeline
from wm.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """``runs/demo`` under a temporary folder: a TwoRoom (state) run trained for a few steps."""
    run = tmp_path_factory.mktemp("api") / "runs" / "demo"
    cfg = load_config(None, TINY)
    pipeline.collect_data(cfg, run, progress=False)
    pipeline.train_model(cfg, run, progress=False)
    return run


def readme_python_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs_on_a_tiny_run(tiny_run, monkeypatch, capsys):
    block = readme_python_block()
    assert len(block.strip().splitlines()) == 5 and "wm.load_agent" in block and "wm.evaluate" in block
    monkeypatch.chdir(tiny_run.parent.parent)  # the block names runs/demo
    exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["MPCAgent", "function"]
    assert all(0 <= float(line.split()[1]) <= 1 for line in lines)


def test_import_wm_loads_neither_torch_nor_mujoco():
    code = "import sys, wm; print(sorted(m for m in ('torch', 'mujoco', 'gymnasium') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_load_agent_applies_plan_overrides_and_checks_them(tiny_run):
    agent = wm.load_agent(tiny_run, samples=12, planner="icem")
    assert isinstance(agent, MPCAgent) and isinstance(agent, wm.Agent)
    assert agent.cfg.samples == 12 and agent.cfg.planner == "icem" and agent.cfg.horizon == 3  # the run's
    assert agent.run_env.id == "wm/TwoRoom-v0" and agent.run_env.max_steps == 15
    with pytest.raises(ConfigError, match="unknown config key 'plan.sample'"):
        wm.load_agent(tiny_run, sample=12)
    with pytest.raises(ConfigError, match="plan.elites: must be <= samples"):
        wm.load_agent(tiny_run, samples=2)
    with pytest.raises(FileNotFoundError, match="not a trained run"):
        wm.load_agent(tiny_run.parent / "nothing")
    assert type(wm.load_agent(tiny_run / "checkpoints")).__name__ == "MPCAgent"  # a bare checkpoint dir
    assert type(wm.load_agent(tiny_run, "random")).__name__ == "RandomAgent"


def test_load_agent_gcbc_loads_the_policy_wm_eval_trained(tiny_run, tmp_path):
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    with pytest.raises(FileNotFoundError, match=r"no GCBC policy trained on .*eval.agents=\[gcbc\]"):
        wm.load_agent(run, "gcbc")
    cfg = load_config(run / "config.yaml", ["eval.agents=[gcbc]", "eval.gcbc_steps=20", "eval.gcbc_hidden=16"])
    pipeline.evaluate_agents(cfg, run, progress=False)  # trains GCBC, saves it in RUN/gcbc/<key>/
    agent = wm.load_agent(run, "gcbc")
    assert type(agent).__name__ == "GCBCAgent" and agent.policy.hidden == 16
    result = wm.evaluate(agent, episodes=cfg.eval.episodes, progress=False)  # the run's env and seeds, as wm eval
    recorded = json.loads((run / "eval" / "gcbc" / "results.json").read_text())["per_episode"]
    assert [e.final_distance for e in result.episodes] == [e["final_distance"] for e in recorded]


def test_rollout_env_actions_takes_numpy_or_torch_and_holds_each_action(tiny_run):
    model = wm.load_model(tiny_run)
    obs = np.zeros((1, 4), np.float32)
    z0 = model.encode(obs)[0]  # numpy observations are accepted
    actions = np.random.default_rng(0).uniform(-1, 1, (6, 3, 2)).astype(np.float32)
    with torch.no_grad():
        z = model.rollout_env_actions(z0, actions)
        macro = torch.as_tensor(actions).repeat_interleave(model.frameskip, dim=1).reshape(6, 3, -1)
        reference = model.rollout(z0.expand(6, -1), macro)
        torch.testing.assert_close(z, reference, rtol=0, atol=0)
        torch.testing.assert_close(model.rollout_env_actions(z0, torch.as_tensor(actions[2])), reference[2])
    assert z.shape == (6, 3, model.cfg.latent_dim)
    with pytest.raises(ValueError, match="that is an env action"):
        model.predict(z0[None], torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"expected env actions \(\.\.\., 2\)"):
        model.rollout_env_actions(z0, np.zeros((6, 3, 10)))


def test_mpc_plans_through_the_model_rollout(tiny_run):
    agent = wm.load_agent(tiny_run)
    env = wm.make_env(tiny_run)
    obs, info = env.reset(seed=0)
    agent.seed(0)
    agent.reset(obs, info)
    agent.act(obs)
    with torch.no_grad():
        expected = agent.model.rollout_env_actions(agent.model.encode(obs[None])[0], agent._plan)
    torch.testing.assert_close(agent.imagined_latents(), expected, rtol=1e-5, atol=1e-5)


def toward_goal(obs, goal):
    return np.clip(5 * (goal[:2] - obs[:2]), -1, 1).astype(np.float32)


def test_evaluate_takes_an_id_or_an_instance_and_both_policy_signatures():
    by_id = wm.evaluate(toward_goal, "wm/TwoRoom-v0", episodes=2, seed=3, max_steps=20, progress=False)
    env = gym.make("wm/TwoRoom-v0")
    by_instance = wm.evaluate(toward_goal, env, episodes=2, seed=3, max_steps=20, progress=False)
    assert [e.final_distance for e in by_id.episodes] == [e.final_distance for e in by_instance.episodes]
    assert by_instance.env_id == "wm/TwoRoom-v0" and by_id.agent == "toward_goal"
    env.reset(seed=0)  # the caller's env is not closed
    blind = wm.evaluate(lambda obs: np.zeros(2, np.float32), env, episodes=1, max_steps=5, progress=False)
    assert blind.episodes[0].steps == 5
    assert takes_goal(toward_goal) and not takes_goal(lambda obs: obs) and takes_goal(lambda *a: a)


class NoGoalEnv(gym.Env):
    """A gymnasium env without the goal contract."""

    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.Box(-1, 1, (2,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, True, {}


def test_clear_errors_for_envs_without_goals_and_bad_actions():
    with pytest.raises(ValueError, match=r"NoGoalEnv is not a goal-conditioned env: its reset\(\) info has no 'goal'"):
        wm.evaluate(lambda obs: obs, NoGoalEnv(), episodes=1, progress=False)

    def unfinished(obs, goal):
        ...

    with pytest.raises(ValueError, match=r"policy 'unfinished' returned None instead of an action of shape \(2,\)"):
        wm.evaluate(unfinished, "wm/TwoRoom-v0", episodes=1, progress=False)
    with pytest.raises(ValueError, match=r"returned an action of shape \(3,\); the env's action space is"):
        wm.evaluate(lambda obs: np.zeros(3), "wm/TwoRoom-v0", episodes=1, progress=False)
    with pytest.raises(ValueError, match="returned a non-finite action"):
        wm.evaluate(lambda obs: np.full(2, np.nan), "wm/TwoRoom-v0", episodes=1, progress=False)
    with pytest.raises(TypeError, match="name the env"):
        wm.evaluate(toward_goal)


def test_a_pixel_env_for_a_state_model_is_refused(tiny_run):
    agent = wm.load_agent(tiny_run)
    with pytest.raises(ValueError, match=r"takes observations of shape \(4,\), the env gives \(64, 64, 3\)"):
        wm.evaluate(agent, "wm/TwoRoom-v0", episodes=1, env_kwargs={"obs_type": "pixels"}, progress=False)


def test_foreign_agents_get_no_op_hooks_and_misspelled_hooks_warn():
    class Plain:  # reset/act only: no hooks
        def reset(self, obs, info):
            self.goal = info["goal"]

        def act(self, obs):
            return toward_goal(obs, self.goal)

    result = wm.evaluate(Plain(), "wm/TwoRoom-v0", episodes=1, max_steps=5, progress=False)
    assert result.agent == "Plain" and result.episodes[0].plan_ms == []

    class Typo(Plain):
        def seeds(self, seed):
            pass

    with pytest.warns(UserWarning, match=r"Typo.seeds looks like the agent hook 'seed'"):
        as_agent(Typo())
    with pytest.warns(UserWarning, match="imagined_latent looks like the agent hook 'imagined_latents'"):
        type("Sub", (BaseAgent,), {"imagined_latent": lambda self: None})
    with pytest.raises(TypeError, match="missing reset"):
        as_agent(type("OnlyAct", (), {"act": lambda self, obs: obs})())
