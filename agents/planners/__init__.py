"""Planners: pure function objects ``plan(cost_fn, horizon, low, high, init) -> (H, A)``."""

from agents.planners.base import CostFn, NonDifferentiableCost, Planner, build_planner
from agents.planners.cem import CEM
from agents.planners.cem_gd import CEMGD
from agents.planners.finite_diff import finite_difference
from agents.planners.gd import GradientDescent
from agents.planners.icem import ICEM
from agents.planners.mppi import MPPI

__all__ = ["CEM", "CEMGD", "ICEM", "MPPI", "CostFn", "GradientDescent", "NonDifferentiableCost", "Planner",
           "build_planner", "finite_difference"]
