"""Agents on TwoRoom: latent MPC with every planner, the oracle with every planner."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from agents.config import PLANNERS, PlanConfig
from agents.evaluate import evaluate
from agents.factory import build_agent, result_label
from envs.registration import make_env
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel


def random_model(frameskip: int = 5) -> WorldModel:
    """An untrained state model: enough to exercise the agent machinery."""
    torch.manual_seed(0)
    return WorldModel(ModelConfig(latent_dim=8, hidden_dim=32, depth=1, frameskip=frameskip), (4,), 2).eval()


def small_plan(planner: str, **kw) -> PlanConfig:
    return PlanConfig(**{"planner": planner, "samples": 16, "iterations": 3, "elites": 4, "horizon": 4,
                         "refine_steps": 3, **kw})


@pytest.mark.parametrize("planner", PLANNERS)
def test_latent_mpc_with_every_planner(planner):
    env = make_env("wm/TwoRoom-v0")
    agent = build_agent("mpc", small_plan(planner), env.action_space, random_model())
    agent.seed(0)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    assert agent.imagined_latents() is None
    for step in range(7):  # two plans (replan every frameskip = 5 env steps)
        action = agent.act(obs)
        assert agent.last_plan_iterations == (3 if step % 5 == 0 else None)
        assert action.shape == (2,) and action.dtype == np.float32
        assert (action >= -1).all() and (action <= 1).all()
        obs, *_ = env.step(action)
    assert agent.imagined_latents().shape == (4, 8)


@pytest.mark.parametrize("planner", ["cem", "gd"])
def test_history_mpc_starts_each_plan_from_the_last_observations_a_model_step_apart(planner):
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(latent_dim=8, hidden_dim=32, depth=1, frameskip=2, history=3), (4,), 2).eval()
    env = make_env("wm/TwoRoom-v0")
    agent = build_agent("mpc", small_plan(planner), env.action_space, model)
    agent.seed(0)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    seen = []
    for _ in range(7):  # plans at env steps 0, 2, 4, 6 (replan every frameskip)
        seen.append(obs)
        action = agent.act(obs)
        obs, *_ = env.step(action)
    expected = model.encode(np.stack([seen[2], seen[4], seen[6]]))[None]  # (1, c, D), oldest first
    torch.testing.assert_close(agent._z0, expected)
    assert agent.imagined_latents().shape == (4, 8)
    agent.reset(obs, info)
    agent.act(obs)  # a new episode: its first observation stands in for the ones before it
    torch.testing.assert_close(agent._z0, model.encode(np.stack([obs] * 3))[None])


def test_action_history_mpc_passes_the_actions_executed_between_its_frames():
    torch.manual_seed(0)
    cfg = ModelConfig(latent_dim=8, hidden_dim=32, depth=1, frameskip=2, history=3, action_history=True)
    model = WorldModel(cfg, (4,), 2).eval()
    env = make_env("wm/TwoRoom-v0")
    agent = build_agent("mpc", small_plan("cem"), env.action_space, model)
    agent.seed(0)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    done = []
    for step in range(7):  # plans at env steps 0, 2, 4, 6: the last starts from frames 2, 4, 6
        action = agent.act(obs)
        if step == 0:
            torch.testing.assert_close(agent._past, torch.zeros(1, 2, 4))  # nothing before the first frame
        done.append(np.asarray(action, dtype=np.float32))
        obs, *_ = env.step(action)
    expected = torch.as_tensor(np.stack([np.concatenate(done[2:4]), np.concatenate(done[4:6])]))[None]
    torch.testing.assert_close(agent._past, expected)  # (1, c - 1, frameskip * A), oldest first
    assert agent.imagined_latents().shape == (4, 8)


def test_latent_cost_is_differentiable_only_when_asked():
    env = make_env("wm/TwoRoom-v0")
    agent = build_agent("mpc", small_plan("gd"), env.action_space, random_model())
    obs, info = env.reset(seed=1)
    agent.reset(obs, info)
    agent._begin(obs)
    actions = torch.zeros(3, 4, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(agent._cost(actions).sum(), actions)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    plain = agent._cost(torch.zeros(3, 4, 2))
    assert not plain.requires_grad and plain.shape == (3,)


@pytest.mark.parametrize("planner", PLANNERS)
def test_oracle_with_every_planner_reaches_a_goal_in_the_same_room(planner):
    """``gd`` and ``cem_gd`` get finite-difference gradients of the simulator cost."""
    env = make_env("wm/TwoRoom-v0")
    oracle = build_agent("oracle", small_plan(planner, samples=32, iterations=4), env.action_space, frameskip=5)
    result = evaluate(oracle, "wm/TwoRoom-v0", 2, seed=7, env_kwargs={"same_room": True}, max_steps=80,
                      progress=False)
    assert result.success_rate == 1.0, [e.final_distance for e in result.episodes]


@pytest.mark.parametrize("planner", PLANNERS)
def test_agents_pickle_for_worker_processes(planner):
    env = make_env("wm/TwoRoom-v0")
    for name in ("mpc", "oracle"):
        agent = build_agent(name, small_plan(planner), env.action_space, random_model() if name == "mpc" else None,
                            frameskip=5)
        copy = pickle.loads(pickle.dumps(agent))
        assert type(copy) is type(agent) and type(copy.planner) is type(agent.planner)


def test_result_labels():
    assert result_label("mpc", PlanConfig(planner="icem")) == "mpc-icem"
    assert result_label("oracle", PlanConfig()) == "oracle-cem"
    assert result_label("random", PlanConfig(planner="gd")) == "random"
