"""benchmarks.fork_check: the fork split's slicing and the exit counter (no scripted fork in this process:
a forked TorchScript task can abort the interpreter at exit, which is what the benchmark measures)."""

from __future__ import annotations

import sys

import pytest
import torch

from agents.config import PlanConfig
from agents.fused_cost import _costs
from benchmarks.fork_check import MINIMAL, _fork_costs, exits
from worldmodel.config import ModelConfig
from worldmodel.fast_rollout import MLPRollout
from worldmodel.model import WorldModel


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # deprecated in torch 2.13: see the benchmark
def test_the_fork_splits_costs_equal_the_unsplit_costs():
    """Eager ``torch.jit.fork`` runs each slice at once, in this thread: the slicing and concatenation."""
    torch.manual_seed(0)
    m = WorldModel(ModelConfig(latent_dim=8, hidden_dim=32, depth=2, frameskip=2), (4,), 3).eval()
    roll, plan = MLPRollout(m.predictor, 8), PlanConfig()
    window, prefix = roll.start(torch.randn(8), None)
    actions, z_goal = torch.rand(96, 4, 3) * 2 - 1, torch.randn(8)
    args = (window, prefix, actions, 2, roll.layers, roll.eps, roll.c, z_goal, plan.distance,
            plan.running_weight, plan.terminal_steps)
    with torch.inference_mode():
        whole = _costs(*args)
        for slices in (1, 2, 3):
            assert torch.equal(_fork_costs(*args, slices), whole)


def test_exits_counts_abnormal_ends():
    ok = exits([sys.executable, "-c", "pass"], 2)
    assert ok == {"procs": 2, "competitors": 0, "abnormal": 0, "return_codes": [0], "stderr": ""}
    bad = exits([sys.executable, "-c", "import sys; sys.exit('boom')"], 2, competitors=1)
    assert bad["abnormal"] == 2 and bad["return_codes"] == [1] and bad["stderr"] == "boom"


def test_the_minimal_script_is_plain_torch():
    assert "import torch" in MINIMAL and "agents" not in MINIMAL and "torch.jit.fork" in MINIMAL
