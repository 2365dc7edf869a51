"""The agent contract of the evaluator (:func:`agents.evaluate.evaluate`), as a type.

An agent is anything with ``reset(obs, info)`` (``info["goal"]`` is the goal observation) and
``act(obs) -> action (A,)``; :class:`Agent` is that :class:`typing.Protocol`.  The evaluator
also calls four hooks, which :class:`BaseAgent` provides as no-ops:

* ``seed(seed)``: called with each episode's seed before its ``reset`` (results then do not
  depend on episode order or on the process an episode runs in);
* ``attach(env)``: called once with the live env (agents that plan on the simulator);
* ``last_plan_ms``: the time of the plan the last ``act`` made, or None when it did not plan;
  ``last_plan_iterations`` is that plan's iterations (fewer than budgeted when ``plan.stop_tol``
  ended it early), or None;
* ``imagined_latents() -> (H, D) | None``: the latents the current plan is predicted to visit,
  shown in videos when ``imagines`` is True (see :mod:`agents.video`).

:func:`as_agent` turns what a user passes into a :class:`BaseAgent`: a subclass as it is, any
other object with ``reset``/``act`` wrapped so that its missing hooks are the no-ops, and a
plain policy ``policy(obs)`` or ``policy(obs, goal)`` wrapped as an agent.  An attribute whose
name is close to a hook's but not equal (``seeds``, ``imagined_latent``) is never called, so it
is reported with a warning.
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Union, runtime_checkable

import numpy as np

HOOKS = ("seed", "attach", "last_plan_ms", "last_plan_iterations", "imagined_latents")
METHODS = ("reset", "act")


@runtime_checkable
class Agent(Protocol):
    """What the evaluator calls (see the module docstring)."""

    last_plan_ms: float | None

    def reset(self, obs: np.ndarray, info: dict) -> None: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def seed(self, seed: int) -> None: ...

    def attach(self, env: Any) -> None: ...

    def imagined_latents(self) -> Any: ...


AgentLike = Union[Agent, "BaseAgent", Callable[..., Any]]
"""What the evaluator accepts: an agent (any object with ``reset``/``act``) or a policy ``(obs[, goal])``."""


def near_misses(names: Any) -> list[tuple[str, str]]:
    """``(name, hook)`` for each public name close to, but not, a hook or method name."""
    known = HOOKS + METHODS
    found = []
    for name in names:
        if name.startswith("_") or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if close:
            found.append((name, close[0]))
    return found


def _warn_near_misses(owner: str, names: Any) -> None:
    for name, hook in near_misses(names):
        warnings.warn(f"{owner}.{name} looks like the agent hook '{hook}' but is not named so: "
                      "the evaluator never calls it", stacklevel=3)


class BaseAgent:
    """No-op hooks for agents: subclasses implement ``act`` (and ``reset`` when they keep state)."""

    imagines: ClassVar[bool] = False
    """Whether :meth:`imagined_latents` can return latents (videos then show the imagination)."""
    last_plan_ms: float | None = None
    last_plan_iterations: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _warn_near_misses(cls.__name__, vars(cls))

    def seed(self, seed: int) -> None:
        """Reseed the agent's randomness for an episode (no-op)."""

    def attach(self, env: Any) -> None:
        """Receive the live env before the first episode (no-op)."""

    def reset(self, obs: np.ndarray, info: dict) -> None:
        """Start an episode from ``obs``; ``info["goal"]`` is the goal observation (no-op)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The env action ``(A,)`` for ``obs``."""
        raise NotImplementedError

    def imagined_latents(self) -> Any:
        """The latents ``(H, D)`` the current plan is predicted to visit (None: no plan)."""
        return None


class HookDefaults(BaseAgent):
    """An object with ``reset``/``act`` that is no :class:`BaseAgent`, with its missing hooks as no-ops."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.imagines = hasattr(inner, "imagined_latents")
        _warn_near_misses(type(inner).__name__, dir(inner))

    def __repr__(self) -> str:
        return f"HookDefaults({self.inner!r})"

    @property
    def last_plan_ms(self) -> float | None:  # type: ignore[override]
        return getattr(self.inner, "last_plan_ms", None)

    @property
    def last_plan_iterations(self) -> int | None:  # type: ignore[override]
        return getattr(self.inner, "last_plan_iterations", None)

    def seed(self, seed: int) -> None:
        if hasattr(self.inner, "seed"):
            self.inner.seed(seed)

    def attach(self, env: Any) -> None:
        if hasattr(self.inner, "attach"):
            self.inner.attach(env)

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self.inner.reset(obs, info)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.inner.act(obs)

    def imagined_latents(self) -> Any:
        return self.inner.imagined_latents() if self.imagines else None


def takes_goal(policy: Callable[..., Any]) -> bool:
    """Whether ``policy`` is called as ``policy(obs, goal)`` (two or more positional parameters,
    or ``*args``) rather than ``policy(obs)``; unknown signatures count as ``(obs, goal)``."""
    try:
        params = inspect.signature(policy).parameters.values()
    except (TypeError, ValueError):
        return True
    kinds = [p.kind for p in params]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(k in positional for k in kinds) >= 2


class PolicyAgent(BaseAgent):
    """A plain policy as an agent: ``policy(obs, goal) -> action`` or ``policy(obs) -> action``."""

    def __init__(self, policy: Callable[..., Any]):
        self.policy, self.with_goal, self.goal = policy, takes_goal(policy), None
        self.name = getattr(policy, "__name__", type(policy).__name__)

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self.goal = info.get("goal")

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.policy(obs, self.goal) if self.with_goal else self.policy(obs)


def as_agent(agent: Any) -> BaseAgent:
    """``agent`` as a :class:`BaseAgent` (see the module docstring); a TypeError names what is missing."""
    if isinstance(agent, BaseAgent):
        return agent
    if hasattr(agent, "act"):
        missing = [m for m in METHODS if not callable(getattr(agent, m, None))]
        if missing:
            raise TypeError(f"agent {type(agent).__name__}: needs methods reset(obs, info) and act(obs); "
                            f"missing {', '.join(missing)}")
        return HookDefaults(agent)
    if callable(agent):
        return PolicyAgent(agent)
    raise TypeError(f"expected an agent (reset(obs, info), act(obs)) or a policy(obs[, goal]), "
                    f"got {type(agent).__name__}")


def describe(agent: BaseAgent) -> str:
    """How errors name an agent: ``policy 'toward_goal'`` or ``agent MPCAgent``."""
    if isinstance(agent, PolicyAgent):
        return f"policy {agent.name!r}"
    inner = agent.inner if isinstance(agent, HookDefaults) else agent
    return f"agent {type(inner).__name__}"
