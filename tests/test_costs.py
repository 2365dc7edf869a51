"""Latent goal costs: terminal distance (L2 or cosine) plus a weighted running term."""

from __future__ import annotations

import pytest
import torch

from agents.config import PlanConfig
from agents.costs import goal_cost, horizon_cost, latent_distance


def test_latent_distances_on_known_vectors():
    z = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    goal = torch.tensor([0.0, 1.0])
    assert torch.allclose(latent_distance(z, goal, "l2"), torch.tensor([9.0 + 9.0, 1.0]))
    assert torch.allclose(latent_distance(z, goal, "cosine"), torch.tensor([1 - 0.8, 0.0]))
    with pytest.raises(ValueError, match="distance"):
        latent_distance(z, goal, "l1")


def test_goal_cost_terminal_and_running_terms():
    goal = torch.zeros(2)
    z = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]],   # ends at the goal, passes far
                      [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]])  # stays at distance 1
    terminal = goal_cost(z, goal, "l2", running_weight=0.0)
    assert torch.equal(terminal, torch.tensor([0.0, 1.0]))
    running = goal_cost(z, goal, "l2", running_weight=2.0)  # + 2 * mean over the horizon
    assert torch.allclose(running, torch.tensor([0.0 + 2 * 5 / 3, 1.0 + 2 * 1.0]))


def test_goal_cost_is_differentiable():
    z = torch.randn(4, 3, 5, requires_grad=True)
    (grad,) = torch.autograd.grad(goal_cost(z, torch.randn(5), "cosine", 1.0).sum(), z)
    assert torch.isfinite(grad).all() and (grad[:, -1] != 0).any()


def test_terminal_window_asks_to_stay_at_the_goal():
    goal = torch.zeros(1)
    z = torch.tensor([[[2.0], [1.0], [0.0]],    # passes through the goal on the last step
                      [[1.0], [0.0], [0.0]]])   # arrives one step earlier and stays
    assert torch.equal(goal_cost(z, goal, terminal_steps=1), torch.tensor([0.0, 0.0]))
    assert torch.equal(goal_cost(z, goal, terminal_steps=2), torch.tensor([0.5, 0.0]))
    assert torch.allclose(goal_cost(z, goal, terminal_steps=9), torch.tensor([5 / 3, 1 / 3]))  # whole horizon
    dist = torch.rand(4, 6)
    assert torch.allclose(horizon_cost(dist, 0.5, 3), dist[:, 3:].mean(1) + 0.5 * dist.mean(1))
    with pytest.raises(ValueError, match="terminal_steps"):
        PlanConfig(terminal_steps=0)
