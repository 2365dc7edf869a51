"""The planner interface and what every planner shares.

A planner minimises ``cost_fn(actions (N, H, A)) -> (N,)`` over action sequences inside
``[low, high]`` and returns the best sequence ``(H, A)``.  It knows nothing of envs,
models or logging.  Guarantees, for every planner:

* non-finite costs (NaN, +-inf) are treated as +inf and never selected; if no candidate
  ever has a finite cost, the initial sequence (``init``, else the box centre) is returned;
* no returned action leaves the bounds;
* the budget is ``samples x iterations`` cost evaluations of one sequence each
  (``cem_gd`` adds ``refine_steps`` single-sequence evaluations); with ``stop_tol > 0`` the
  sampling planners (``cem``, ``icem``, ``mppi``, ``cem_gd``'s CEM) may stop earlier, once their
  sampling mean has converged (:func:`converged`); ``last_iterations`` is what the last plan used;
* same seed (:meth:`Planner.seed`) and same costs -> same plan.

Gradients.  A cost is *differentiable* when, called on ``actions`` that require grad (with
grad enabled), it returns costs connected to them by autograd.  Planners that need gradients
(``needs_gradient = True``: ``gd``, ``cem_gd``) call the cost that way and raise
:class:`NonDifferentiableCost` otherwise; callers whose cost is a black box (the oracle's
simulator) wrap it with :func:`agents.planners.finite_diff.finite_difference` first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

CostFn = Callable[[torch.Tensor], torch.Tensor]


class NonDifferentiableCost(TypeError):
    """A gradient planner was given a cost that autograd cannot differentiate."""


class Planner(Protocol):
    needs_gradient: bool
    last_iterations: int | None
    """Iterations the last :meth:`plan` ran (None before the first); ``iterations`` unless it stopped early."""

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """``low, high (A,)``, ``init (H, A)`` or None -> actions ``(H, A)``."""
        ...

    def seed(self, seed: int) -> None:
        ...


def sanitize(costs: torch.Tensor) -> torch.Tensor:
    """Replace NaN / -inf / +inf costs by +inf so they can never be selected; ``(N,) -> (N,)``."""
    return torch.where(torch.isfinite(costs), costs, torch.full_like(costs, float("inf")))


def initial_mean(horizon: int, low: torch.Tensor, high: torch.Tensor,
                 init: torch.Tensor | None) -> torch.Tensor:
    """The starting sequence ``(H, A)``: ``init`` clipped to the box, else the box centre.

    Every planner starts here, so this is where its inputs are checked: finite bounds of one
    shape with ``low <= high``, and a finite ``init`` (else NaN would reach the returned plan).
    """
    check_inputs(low, high, init)
    if init is None:
        return ((high + low) / 2).expand(horizon, -1).clone()
    if init.shape != (horizon, low.shape[0]):
        raise ValueError(f"init: expected shape {(horizon, low.shape[0])}, got {tuple(init.shape)}")
    return torch.clamp(init.float(), low, high)


def check_inputs(low: torch.Tensor, high: torch.Tensor, init: torch.Tensor | None) -> None:
    """A ValueError naming the bad input: non-finite or mis-shaped bounds, ``low > high``, non-finite ``init``."""
    if low.shape != high.shape or low.ndim != 1:
        raise ValueError(f"bounds: low and high must be (A,) of one shape, got {tuple(low.shape)} and "
                         f"{tuple(high.shape)}")
    if not (torch.isfinite(low).all() and torch.isfinite(high).all()):
        raise ValueError(f"bounds: must be finite, got low {low.tolist()} and high {high.tolist()}")
    if (low > high).any():
        raise ValueError(f"bounds: low {low.tolist()} exceeds high {high.tolist()}")
    if init is not None and not torch.isfinite(init).all():
        raise ValueError("init: has non-finite values (NaN or inf)")


class SeededPlanner:
    """A planner's own random generator: same seed, same costs -> same plan."""

    def __init__(self, seed: int = 0):
        self.gen = torch.Generator().manual_seed(seed)
        self.last_iterations: int | None = None

    def seed(self, seed: int) -> None:
        self.gen.manual_seed(seed)


def search_start(horizon: int, low: torch.Tensor, high: torch.Tensor, init: torch.Tensor | None,
                 init_std: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Start of a sampling search: ``low, high, half (A,)`` as float, ``mean, std (H, A)``."""
    low, high = low.float(), high.float()
    half = (high - low) / 2
    mean = initial_mean(horizon, low, high, init)
    return low, high, half, mean, (init_std * half).expand(horizon, -1).clone()


def around(mean: torch.Tensor, std: torch.Tensor, noise: torch.Tensor, low: torch.Tensor,
           high: torch.Tensor) -> torch.Tensor:
    """Candidates ``clip(mean + std * noise) (N, H, A)``; the mean itself is candidate 0."""
    cand = torch.clamp(mean + std * noise, low, high)
    cand[0] = mean
    return cand


def converged(old_mean: torch.Tensor, new_mean: torch.Tensor, half: torch.Tensor, tol: float) -> bool:
    """Whether an iteration moved the sampling mean ``(H, A)`` by less than ``tol x half (A,)`` in every
    coordinate: the early-stopping test of the sampling planners (``tol = 0``: never converged).

    Only the mean is tested: the elite mean wanders by about ``std / sqrt(elites)`` per coordinate
    even on a flat cost, so the test can pass only once the sampling std has shrunk to a small
    multiple of ``tol x sqrt(elites)`` of the half range; the more coordinates (``H x A``), the later
    the largest one settles.
    """
    if tol <= 0:
        return False
    scale = torch.where(half > 0, half, torch.ones_like(half))
    return bool(((new_mean - old_mean).abs() / scale).max() < tol)


class Best:
    """The lowest finite-cost sequence seen so far (starts at ``fallback`` with cost +inf)."""

    def __init__(self, fallback: torch.Tensor):
        self.actions, self.cost = fallback.clone(), float("inf")

    def update(self, candidates: torch.Tensor, costs: torch.Tensor) -> None:
        """``candidates (N, H, A)``, sanitised ``costs (N,)``."""
        i = int(torch.argmin(costs))
        if float(costs[i]) < self.cost:
            self.cost, self.actions = float(costs[i]), candidates[i].detach().clone()


def evaluate_costs(cost_fn: CostFn, candidates: torch.Tensor) -> torch.Tensor:
    """Score ``candidates (N, H, A)`` without autograd; sanitised ``(N,)`` float32."""
    with torch.no_grad():
        costs = cost_fn(candidates)
    if costs.shape != (candidates.shape[0],):
        raise ValueError(f"cost_fn: expected costs of shape ({candidates.shape[0]},), got {tuple(costs.shape)}")
    return sanitize(costs.detach().float().cpu())


def build_planner(cfg) -> Planner:
    """The planner named by ``cfg.planner`` (an :class:`agents.config.PlanConfig`)."""
    from agents.planners.cem import CEM
    from agents.planners.cem_gd import CEMGD
    from agents.planners.gd import GradientDescent
    from agents.planners.icem import ICEM
    from agents.planners.mppi import MPPI

    common = {"samples": cfg.samples, "iterations": cfg.iterations, "init_std": cfg.init_std}
    sampling = {**common, "min_std": cfg.min_std, "stop_tol": cfg.stop_tol}
    if cfg.planner == "cem":
        return CEM(**sampling, elites=cfg.elites)
    if cfg.planner == "icem":
        return ICEM(**sampling, elites=cfg.elites, beta=cfg.noise_beta, keep_elites=cfg.keep_elites,
                    momentum=cfg.momentum)
    if cfg.planner == "mppi":
        return MPPI(**sampling, temperature=cfg.temperature)
    if cfg.planner == "gd":
        return GradientDescent(**common, lr=cfg.lr)
    if cfg.planner == "cem_gd":
        return CEMGD(**sampling, elites=cfg.elites, lr=cfg.lr, refine_steps=cfg.refine_steps)
    raise ValueError(f"planner: unknown {cfg.planner!r}")
