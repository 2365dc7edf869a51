"""A plan's population scored in slices on threads: the same costs and plans as one slice."""

from __future__ import annotations

import pickle
import threading

import pytest
import torch

from agents.config import EvalConfig, PlanConfig
from agents.factory import build_agent
from agents.population import MIN_ROWS, PopulationSplitter
from envs.registration import make_env
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel


def _agent(threads: int, precision: str = "fp32", planner: str = "cem"):
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(latent_dim=16, hidden_dim=64, depth=2, frameskip=5), (4,), 2).eval()
    env = make_env("wm/TwoRoom-v0")
    plan = PlanConfig(planner=planner, samples=200, iterations=3, elites=20, horizon=5, precision=precision)
    agent = build_agent("mpc", plan, env.action_space, model, plan_threads=threads)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    agent._begin(obs)
    env.close()
    return agent


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("threads", [2, 3])
def test_sliced_costs_equal_the_unsliced_ones(threads, precision):
    one, many = _agent(1, precision), _agent(threads, precision)
    actions = torch.rand(200, 5, 2) * 2 - 1
    assert many.split.slices(200) == threads
    assert torch.equal(one._cost(actions), many._cost(actions))


def test_a_sliced_plan_is_the_unsliced_plan():
    plans = []
    for threads in (1, 2):
        agent = _agent(threads)
        agent.seed(0)
        plans.append(agent.planner.plan(agent._cost, 5, agent.low, agent.high))
    assert torch.equal(*plans)


def test_slices_follow_torch_threads_and_the_row_floor(monkeypatch):
    auto = PopulationSplitter(0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert auto.slices(300) == 2
    assert auto.slices(2 * MIN_ROWS - 1) == 1  # too few rows to pay for the hand-off
    assert PopulationSplitter(4).slices(300) == 4
    assert PopulationSplitter(1).slices(300) == 1


def test_gradient_calls_are_never_split():
    calls = []
    split = PopulationSplitter(2)

    def fn(a):
        calls.append(a.shape[0])
        return a.sum(dim=(1, 2))
    actions = torch.zeros(128, 3, 2, requires_grad=True)
    split(fn, actions).sum().backward()
    assert calls == [128] and actions.grad is not None
    with torch.no_grad():
        split(fn, actions)
    assert calls == [128, 64, 64]
    split.close()


def test_a_gradient_planner_through_a_split_agent_runs():
    agent = _agent(2, planner="gd")
    agent.seed(0)
    plan = agent.planner.plan(agent._cost, 5, agent.low, agent.high)
    assert plan.shape == (5, 2) and torch.isfinite(plan).all()


def test_the_splitter_pickles_without_its_threads():
    agent = _agent(2)
    agent._cost(torch.zeros(200, 5, 2))
    assert agent.split._pool is not None
    copy = pickle.loads(pickle.dumps(agent.split))
    assert copy.threads == 2 and copy._pool is None
    assert torch.equal(copy(lambda a: a.sum(dim=(1, 2)), torch.ones(100, 2, 2)), torch.full((100,), 4.0))


def test_bad_thread_counts_are_refused():
    with pytest.raises(ValueError, match="threads"):
        PopulationSplitter(-1)
    with pytest.raises(ValueError, match="plan_threads"):
        EvalConfig(plan_threads=-1)


def test_every_slice_runs_on_one_torch_thread_and_the_callers_count_returns():
    seen: dict[str, int] = {}
    split = PopulationSplitter(3)

    def fn(a):
        seen[threading.current_thread().name] = torch.get_num_threads()
        return a.sum(dim=(1, 2))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for _ in range(3):
            split(fn, torch.ones(120, 2, 2))
        assert torch.get_num_threads() == 2  # restored after the caller's own slice
    finally:
        torch.set_num_threads(before)
        split.close()
    assert threading.current_thread().name in seen  # slice 0 on the calling thread
    assert len(seen) >= 2 and set(seen.values()) == {1}  # a pool thread may take two slices of a call


def test_a_pool_thread_keeps_one_torch_thread_when_the_process_count_changes():
    """Torch sets a thread's count from the process-wide one at its first parallel call: a pool thread must
    make that call in its initializer, or the caller restoring its own count later reaches it."""
    from agents.population import _one_torch_thread
    ready, changed, seen = threading.Event(), threading.Event(), []

    def pool_thread():
        _one_torch_thread()
        ready.set()
        changed.wait(5)
        seen.append(torch.get_num_threads())
    before = torch.get_num_threads()
    t = threading.Thread(target=pool_thread)
    t.start()
    ready.wait(5)
    torch.set_num_threads(3)  # the process-wide count changes after the initializer ran
    changed.set()
    t.join()
    torch.set_num_threads(before)
    assert seen == [1]
