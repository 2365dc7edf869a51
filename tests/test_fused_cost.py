"""The fused planning cost (agents.fused_cost) equals the Python path's costs bit for bit."""

from __future__ import annotations

import pytest
import torch

from agents import fused_cost as fc
from agents.config import PlanConfig
from agents.costs import goal_cost
from agents.factory import build_agent
from envs.registration import make_env
from worldmodel.config import ModelConfig
from worldmodel.fast_rollout import MLPRollout, planning_rollout
from worldmodel.model import WorldModel

D, A = 8, 3


def _model(seed: int = 0, **kw) -> WorldModel:
    torch.manual_seed(seed)
    m = WorldModel(ModelConfig(latent_dim=D, hidden_dim=32, depth=2, frameskip=2, **kw), (4,), A).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return m


def _python_costs(m: WorldModel, z0, past, actions, z_goal, plan: PlanConfig) -> torch.Tensor:
    with torch.inference_mode():
        z = m.rollout_env_actions(z0, actions, MLPRollout(m.predictor, D), past)
        return goal_cost(z, z_goal, plan.distance, plan.running_weight, plan.terminal_steps)


@pytest.mark.parametrize("history,action_history,window", [(1, False, 0), (1, False, 2), (3, True, 3),
                                                            (2, False, 2), (3, False, 1), (3, True, 2)])
@pytest.mark.parametrize("distance,running_weight,terminal_steps", [("l2", 1.0, 1), ("cosine", 0.0, 2)])
def test_fused_costs_equal_the_python_path(history, action_history, window, distance, running_weight,
                                           terminal_steps):
    """Start ``(D,)`` (window 0) or a history ``(1, window, D)``; a window shorter than c is padded alike."""
    m = _model(history, history=history, action_history=action_history)
    g = torch.Generator().manual_seed(window)
    z0 = torch.randn(D, generator=g) if window == 0 else torch.randn(1, window, D, generator=g)
    past = torch.randn(1, window - 1, 2 * A, generator=g) if action_history else None
    actions, z_goal = torch.rand(40, 4, A, generator=g) * 2 - 1, torch.randn(D, generator=g)
    plan = PlanConfig(distance=distance, running_weight=running_weight, terminal_steps=terminal_steps)
    cost = fc.fused_cost(MLPRollout(m.predictor, D), z0, past, m.frameskip, z_goal, plan)
    expected = _python_costs(m, z0, past, actions, z_goal, plan)
    for _ in range(3):  # and past TorchScript's profiling runs
        assert torch.equal(cost(actions), expected)
    one = _python_costs(m, z0, past, actions[:1], z_goal, plan)  # one row: no shared first step on either path
    assert torch.equal(cost(actions[:1]), one)


def test_the_fused_cost_is_scripted_and_equals_its_eager_form(monkeypatch):
    assert isinstance(fc._script(), torch.jit.ScriptFunction)
    m = _model(5, history=2, action_history=True)
    z0, past, z_goal = torch.randn(1, 2, D), torch.randn(1, 1, 2 * A), torch.randn(D)
    actions = torch.rand(30, 5, A) * 2 - 1
    cost = fc.fused_cost(MLPRollout(m.predictor, D), z0, past, m.frameskip, z_goal, PlanConfig())
    scripted = cost(actions)
    monkeypatch.setattr(fc, "_script", lambda: fc._costs)
    assert torch.equal(cost(actions), scripted)


def test_other_rollouts_keep_their_own_path():
    m, z = _model(1), torch.randn(D)
    assert fc.fused_cost(MLPRollout(m.predictor, D, torch.bfloat16), z, None, 2, z, PlanConfig()) is None
    assert fc.fused_cost(m.rollout, z, None, 2, z, PlanConfig()) is None
    t = WorldModel(ModelConfig(latent_dim=D, hidden_dim=32, depth=1, predictor="transformer", history=2), (4,), A)
    assert fc.fused_cost(planning_rollout(t), z, None, 1, z, PlanConfig()) is None


def _agent(planner: str = "cem") -> object:
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(latent_dim=16, hidden_dim=64, depth=2, frameskip=5), (4,), 2).eval()
    env = make_env("wm/TwoRoom-v0")
    plan = PlanConfig(planner=planner, samples=100, iterations=2, elites=10, horizon=4)
    agent = build_agent("mpc", plan, env.action_space, model, plan_threads=1)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    agent._begin(obs)
    env.close()
    return agent


def test_the_mpc_agent_scores_through_the_fused_cost():
    agent = _agent()
    assert agent._fused is not None
    actions = torch.rand(100, 4, 2) * 2 - 1
    fused = agent._score(actions)
    agent._fused = None  # the Python path
    assert torch.equal(fused, agent._score(actions))


def test_gradient_calls_bypass_the_fused_cost():
    agent = _agent("gd")
    actions = (torch.rand(8, 4, 2) * 2 - 1).requires_grad_(True)
    (grad,) = torch.autograd.grad(agent._score(actions).sum(), actions)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
