"""Build the configured agents (``eval.agents``) for an env."""

from __future__ import annotations

from typing import Any

from agents.baselines import RandomAgent
from agents.config import PlanConfig
from agents.gcbc import GCBCAgent, GCBCPolicy
from agents.ladder import OracleGoalAgent, SimLatentAgent
from agents.mpc import MPCAgent
from agents.oracle import OracleMPCAgent
from agents.planners import build_planner
from agents.protocol import BaseAgent
from worldmodel.model import WorldModel

PLANNING_AGENTS = ("mpc", "oracle", "oracle-goal", "sim-latent")
MODEL_AGENTS = ("mpc", "sim-latent")


def build_agent(name: str, plan: PlanConfig, action_space, model: WorldModel | None = None,
                frameskip: int = 1, device: str = "cpu", policy: GCBCPolicy | None = None,
                state_scale: Any = None, plan_threads: int = 0) -> BaseAgent:
    """``mpc`` (needs ``model``), ``oracle`` (same planner and budget, true simulator), the ladder's
    ``oracle-goal`` (needs ``state_scale (S,)``, the data's state std) and ``sim-latent`` (needs a state
    ``model``), ``random`` or ``gcbc`` (needs a trained ``policy``).

    ``frameskip`` (env steps each planned action is held) is the oracle's; it uses the model's
    when a model is given, so both planners search the same space. ``plan_threads`` is the latent
    ``mpc`` agent's population split (:class:`agents.population.PopulationSplitter`).
    """
    low, high = action_space.low, action_space.high
    frameskip = model.frameskip if model is not None else frameskip
    if name == "mpc":
        if model is None:
            raise ValueError("agent 'mpc' needs a trained model (checkpoint)")
        return MPCAgent(model, build_planner(plan), plan, low, high, device, plan_threads)
    if name == "oracle":
        return OracleMPCAgent(build_planner(plan), plan, low, high, frameskip)
    if name == "oracle-goal":
        if state_scale is None:
            raise ValueError("agent 'oracle-goal' needs the data's state scale")
        return OracleGoalAgent(build_planner(plan), plan, low, high, frameskip, state_scale)
    if name == "sim-latent":
        if model is None:
            raise ValueError("agent 'sim-latent' needs a trained model (checkpoint)")
        return SimLatentAgent(model, build_planner(plan), plan, low, high, device)
    if name == "random":
        return RandomAgent(low, high)
    if name == "gcbc":
        if policy is None:
            raise ValueError("agent 'gcbc' needs a trained policy")
        return GCBCAgent(policy, device)
    raise ValueError(f"unknown agent {name!r}")


def result_label(name: str, plan: PlanConfig) -> str:
    """Directory / row name of an agent's results: ``mpc-icem``, ``oracle-cem``, ``oracle-goal-cem``, ``random``."""
    return f"{name}-{plan.planner}" if name in PLANNING_AGENTS else name
