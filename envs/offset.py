"""The ``offset`` evaluation protocol (the peers'): start and goal from one held-out trajectory.

DINO-WM, LeWM and stable-worldmodel start an episode from a state of a recorded trajectory
of the data policy and take as goal the state ``offset`` env steps later along it, then give
the agent a small step budget (50).  Here the trajectory is recorded on the fly, so no eval
dataset has to ship: episode seed ``s`` resets the env with ``s`` (its layout and start),
runs the data policy seeded with ``s`` for ``t0 + offset`` steps with ``t0`` drawn uniformly
in ``[0, max_start]``, and keeps the simulator states at ``t0`` and ``t0 + offset``.  The
evaluation seeds (100,000 and up by default) are disjoint from the data seeds (0 and up),
so these trajectories are held out from training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from envs.explore import make_policy

GOAL_VELOCITIES = ("keep", "zero")
"""``OffsetProtocol.goal_velocity`` values."""


@dataclass(frozen=True)
class OffsetProtocol:
    """Where an ``offset`` episode starts and what its goal is (see the module docstring)."""

    offset: int = 25
    """Env steps between the start state and the goal state on the trajectory."""
    max_start: int = 25
    """Latest start step on the trajectory (the start is uniform in ``[0, max_start]``)."""
    policy: str = "random_walk"
    """The data policy that records the trajectory (as ``data.policy``)."""
    smoothing: float = 0.9
    """``random_walk`` correlation (as ``data.smoothing``)."""
    noise: float = 0.3
    """``scripted`` noise (as ``data.noise``)."""
    goal_velocity: str = "keep"
    """``keep`` the goal state's joint velocities, or ``zero`` them (what one goal frame shows)."""

    def __post_init__(self) -> None:
        if self.offset < 1:
            raise ValueError(f"offset: must be >= 1, got {self.offset}")
        if self.max_start < 0:
            raise ValueError(f"max_start: must be >= 0, got {self.max_start}")
        if self.goal_velocity not in GOAL_VELOCITIES:
            raise ValueError(f"goal_velocity: must be one of {GOAL_VELOCITIES}, got {self.goal_velocity!r}")

    def record(self) -> dict[str, Any]:
        """The protocol's settings, for ``results.json``."""
        return {"protocol": "offset", **asdict(self)}

    def reset_options(self, env, seed: int) -> dict[str, np.ndarray]:
        """``{"start_state", "goal_state"}`` of episode ``seed`` (flat simulator states ``(nstate,)``).

        Leaves ``env`` mid-trajectory; the caller resets it with these options and ``seed``.
        """
        base = env.unwrapped
        rng = np.random.default_rng([seed, 7])
        t0 = int(rng.integers(self.max_start + 1))
        obs, _ = env.reset(seed=seed)
        policy = make_policy(self.policy, env.action_space, self.smoothing, env, self.noise)
        policy.reset(rng)
        terminate, base.terminate_on_success = base.terminate_on_success, False
        try:
            states = [base.get_sim_state()]
            for _ in range(t0 + self.offset):
                obs = base.step(policy(obs, base.state_vector()))[0]
                states.append(base.get_sim_state())
        finally:
            base.terminate_on_success = terminate
        goal = states[t0 + self.offset]
        if self.goal_velocity == "zero":
            nq, nv = base.model.nq, base.model.nv
            goal[1 + nq:1 + nq + nv] = 0.0  # mjSTATE_FULLPHYSICS layout: time, qpos, qvel, ...
        return {"start_state": states[t0], "goal_state": goal}
