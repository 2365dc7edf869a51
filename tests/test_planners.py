"""Every planner on analytic costs: convergence, bounds, warm start, budget, non-finite costs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.config import PLANNERS, PlanConfig
from agents.planners import CEM, CEMGD, NonDifferentiableCost, build_planner

LOW, HIGH = -torch.ones(2), torch.ones(2)
TARGET = torch.tensor([[0.3, -0.7], [0.5, 0.1], [-0.2, 0.9]])


def make(name: str, samples: int = 100, iterations: int = 10, seed: int = 0, **kw):
    """The planner ``name`` as the MPC agents build it (through :func:`build_planner`)."""
    cfg = PlanConfig(planner=name, samples=samples, iterations=iterations, elites=max(1, samples // 10), **kw)
    planner = build_planner(cfg)
    planner.seed(seed)
    return planner


def quadratic(target: torch.Tensor):
    def cost(actions: torch.Tensor) -> torch.Tensor:  # (N, H, A) -> (N,)
        return (actions - target).pow(2).sum(dim=(1, 2))

    return cost


class Recorder:
    """Wraps a cost; remembers every evaluated sequence and its (raw) cost."""

    def __init__(self, cost):
        self.cost, self.seqs, self.costs, self.calls = cost, [], [], 0

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        c = self.cost(actions)
        self.seqs.append(actions.detach().clone())
        self.costs.append(c.detach().clone())
        return c

    def rows(self) -> int:
        return sum(len(s) for s in self.seqs)

    def cost_of(self, plan: torch.Tensor) -> torch.Tensor:
        """Raw costs recorded for sequences equal to ``plan (H, A)``."""
        seqs, costs = torch.cat(self.seqs), torch.cat(self.costs)
        return costs[(seqs == plan).flatten(1).all(1)]


@pytest.mark.parametrize("name", PLANNERS)
def test_converges_on_quadratic(name):
    budget = {"gd": (20, 60)}.get(name, (200, 15))
    plan = make(name, *budget).plan(quadratic(TARGET), 3, LOW, HIGH)
    assert plan.shape == (3, 2)
    assert torch.allclose(plan, TARGET, atol=0.05), (plan - TARGET).abs().max()


@pytest.mark.parametrize("name", PLANNERS)
def test_optimum_outside_bounds_is_clipped_to_the_boundary(name):
    target = torch.tensor([[3.0, -3.0]] * 4)
    plan = make(name, 200, 15).plan(quadratic(target), 4, LOW, HIGH)
    assert torch.allclose(plan, torch.tensor([[1.0, -1.0]] * 4), atol=1e-3)


@pytest.mark.parametrize("name", PLANNERS)
def test_warm_start_is_kept_when_optimal(name):
    target = torch.tensor([[0.25, -0.5]] * 5)
    plan = make(name, 16, 2, seed=2).plan(quadratic(target), 5, LOW, HIGH, init=target)
    assert torch.equal(plan, target)


@pytest.mark.parametrize("name", PLANNERS)
def test_deterministic_for_a_seed_and_seed_matters(name):
    cost = quadratic(TARGET)
    a = make(name, 30, 3, seed=4).plan(cost, 3, LOW, HIGH)
    b = make(name, 30, 3, seed=4).plan(cost, 3, LOW, HIGH)
    c = make(name, 30, 3, seed=5).plan(cost, 3, LOW, HIGH)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", PLANNERS)
def test_budget_is_samples_times_iterations(name):
    rec = Recorder(quadratic(TARGET))
    make(name, 40, 6).plan(rec, 3, LOW, HIGH)
    extra = PlanConfig().refine_steps if name == "cem_gd" else 0
    assert rec.rows() == 40 * 6 + extra == PlanConfig(planner=name, samples=40, iterations=6, elites=4).budget


@pytest.mark.parametrize("name", PLANNERS)
def test_init_of_wrong_shape_is_refused(name):
    with pytest.raises(ValueError, match="init: expected shape"):
        make(name).plan(quadratic(TARGET), 3, LOW, HIGH, init=torch.zeros(2, 2))


def test_cem_gd_refines_cem():
    """Same seed: the gradient stage can only improve CEM's answer, and on a quadratic it does."""
    cost = quadratic(TARGET)
    cem = CEM(20, 3, 4, seed=1).plan(cost, 3, LOW, HIGH)
    hybrid = CEMGD(20, 3, 4, lr=0.05, refine_steps=30, seed=1).plan(cost, 3, LOW, HIGH)
    assert cost(hybrid[None]) < 0.25 * cost(cem[None])


@pytest.mark.parametrize("name", ["gd", "cem_gd"])
def test_gradient_planners_refuse_a_black_box_cost(name):
    def black_box(actions):
        return torch.as_tensor(quadratic(TARGET)(actions).detach().numpy())

    with pytest.raises(NonDifferentiableCost, match=name):
        make(name).plan(black_box, 3, LOW, HIGH)


def test_gd_is_local_and_cem_is_global():
    """A double well: GD from the centre's side goes to the near minimum, CEM to the global one."""
    def double_well(actions):  # (N, 1, 1); minima at -0.6 (cost 0.3) and +0.6 (cost 0)
        x = actions[:, 0, 0]
        return 20 * (x.pow(2) - 0.36).pow(2) + 0.25 * (0.6 - x)

    lo, hi = -torch.ones(1), torch.ones(1)
    init = torch.full((1, 1), -0.3)
    gd = make("gd", 1, 100, lr=0.05).plan(double_well, 1, lo, hi, init=init)
    cem = make("cem", 100, 10).plan(double_well, 1, lo, hi, init=init)
    assert gd[0, 0] == pytest.approx(-0.6, abs=0.05)
    assert cem[0, 0] == pytest.approx(0.6, abs=0.05)


def _poisoned(seed: int, fraction: float):
    """A quadratic whose value is NaN, +inf or -inf on a pseudo-random subset of sequences."""
    base = quadratic(TARGET[:1])

    def cost(actions):
        c = base(actions).clone()
        key = torch.frac(torch.sin(actions.detach().flatten(1).sum(1) * 1e3 + seed) * 1e4).abs()
        c[key < fraction / 3] = float("nan")
        c[(key >= fraction / 3) & (key < 2 * fraction / 3)] = float("inf")
        c[(key >= 2 * fraction / 3) & (key < fraction)] = float("-inf")
        return c

    return cost


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(PLANNERS), seed=st.integers(0, 2**31 - 1), fraction=st.floats(0.0, 1.0))
def test_non_finite_costs_are_never_selected(name, seed, fraction):
    rec = Recorder(_poisoned(seed, fraction))
    plan = make(name, 12, 3, seed=seed).plan(rec, 1, LOW, HIGH)
    recorded = rec.cost_of(plan)
    finite_seen = torch.isfinite(torch.cat(rec.costs)).any()
    if not finite_seen:  # nothing finite: the initial sequence (box centre) comes back
        assert torch.equal(plan, torch.zeros(1, 2))
    else:
        assert len(recorded) and torch.isfinite(recorded).all(), f"{name} selected cost {recorded}"


@settings(max_examples=20, deadline=None)
@given(
    name=st.sampled_from(PLANNERS), low=st.floats(-5, 0.9), width=st.floats(0.01, 5),
    horizon=st.integers(1, 6), shift=st.floats(-20, 20), seed=st.integers(0, 2**31 - 1),
    warm=st.booleans(),
)
def test_never_leaves_bounds(name, low, width, horizon, shift, seed, warm):
    lo, hi = torch.tensor([low, low - 1]), torch.tensor([low + width, low - 1 + width])
    target = torch.full((horizon, 2), shift)
    init = torch.full((horizon, 2), shift) if warm else None  # an out-of-bounds warm start
    plan = make(name, 10, 3, seed=seed).plan(quadratic(target), horizon, lo, hi, init)
    assert plan.shape == (horizon, 2)
    assert (plan >= lo).all() and (plan <= hi).all()


SAMPLING = ("cem", "icem", "mppi", "cem_gd")


@pytest.mark.parametrize("name", SAMPLING)
def test_stop_tol_ends_a_converged_plan_early(name):
    rec = Recorder(quadratic(TARGET))
    planner = make(name, 200, 40, stop_tol=0.02)
    plan = planner.plan(rec, 3, LOW, HIGH)
    extra = PlanConfig().refine_steps if name == "cem_gd" else 0
    assert planner.last_iterations < 40 and rec.rows() == 200 * planner.last_iterations + extra
    assert torch.allclose(plan, TARGET, atol=0.05), (plan - TARGET).abs().max()


@pytest.mark.parametrize("name", PLANNERS)
def test_stop_tol_off_by_default_runs_every_iteration(name):
    assert PlanConfig().stop_tol == 0
    planner = make(name, 40, 6)
    assert planner.last_iterations is None
    planner.plan(quadratic(TARGET), 3, LOW, HIGH)
    assert planner.last_iterations == 6


@pytest.mark.parametrize("name", SAMPLING)
def test_stopping_early_is_running_fewer_iterations(name):
    """A plan stopped at iteration k is the plan of ``iterations = k`` with the tolerance off: the stop
    changes nothing before it, so the default (off) is the planner as it was; same seed, same stop."""
    cost = quadratic(TARGET)
    early = make(name, 100, 30, seed=5, stop_tol=0.03)
    plan = early.plan(cost, 3, LOW, HIGH)
    again = make(name, 100, 30, seed=5, stop_tol=0.03)
    assert torch.equal(again.plan(cost, 3, LOW, HIGH), plan) and again.last_iterations == early.last_iterations
    k = early.last_iterations
    assert 1 <= k < 30
    assert torch.equal(make(name, 100, k, seed=5).plan(cost, 3, LOW, HIGH), plan)
