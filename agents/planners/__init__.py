"""Planners: pure function objects ``plan(cost_fn, horizon, low, high, init) -> (H, A)``."""

from agents.planners.base import CostFn, Planner, build_planner
from agents.planners.cem import CEM

__all__ = ["CEM", "CostFn", "Planner", "build_planner"]
