"""``wm/Reacher-v0``: gymnasium ``Reacher-v5`` as a goal-conditioned env.

The inner env samples the arm's start (near straight, +-0.1 rad) and the target (uniform
in the disc of radius 0.2 m) and runs the arm.  This adapter adds:

* state observation ``(6,)``: ``cos q1, cos q2, sin q1, sin q2, dq1, dq2`` -- the inner
  observation without its target entries (the goal is given separately, not leaked into
  the input); pixel observation: a top-down view, the target sphere hidden unless
  ``show_goal``;
* the goal observation: the arm put, by analytic inverse kinematics, in the configuration
  whose fingertip is on the target (elbow ``q2 >= 0``), at rest.  Targets closer to the
  base than the arm can fold (|q2| <= 3 rad) are redrawn by resetting the inner env again;
* ``distance``: fingertip-target distance in the plane (m);
* ``success``: distance < ``success_radius`` = 0.02 m, i.e. the fingertip sphere (radius
  0.01) touches the target sphere (radius 0.009).
* ``offset`` protocol (LeWM / stable-worldmodel's ``qpos_match``): success when both joint
  angles are within 0.05 rad of the goal state's, unwrapped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.adapter import AdapterGoalEnv, make_inner
from envs.render import FreeCamera

OFFSET_JOINT_TOL = 0.05  # rad, per joint (LeWM's Reacher rule)


class ReacherGoalEnv(AdapterGoalEnv):
    """Adapter of ``Reacher-v5``.  See the module docstring."""

    def __init__(self, obs_type: str = "state", image_size: int = 64, render_mode: str | None = None,
                 show_goal: bool = False, terminate_on_success: bool = True, success_radius: float = 0.02):
        inner = make_inner("Reacher-v5")
        super().__init__(inner, frame_skip=inner.frame_skip, state_dim=6, obs_type=obs_type,
                         image_size=image_size, render_mode=render_mode,
                         terminate_on_success=terminate_on_success)
        self.success_radius = success_radius
        m = self.model
        self.base = m.body("body0").pos[:2].copy()
        self.l1 = float(m.body("body1").pos[0])
        self.l2 = float(m.body("fingertip").pos[0])
        self.q2_max = float(m.joint("joint1").range[1])
        self.min_reach = float(np.sqrt(self.l1**2 + self.l2**2 + 2 * self.l1 * self.l2 * np.cos(self.q2_max)))
        if not show_goal:
            m.geom_rgba[m.geom("target").id][3] = 0.0
        self.goal = np.zeros(2)
        self.goal_q = np.zeros(2)

    def _camera_name(self) -> FreeCamera:
        return FreeCamera(lookat=(0.0, 0.0, 0.0), distance=0.55)

    def _sample_task(self, rng: np.random.Generator, options: dict[str, Any]) -> None:
        for _ in range(100):
            super()._sample_task(rng, options)
            if np.linalg.norm(self.goal - self.base) > self.min_reach + 0.005:
                return
        raise RuntimeError("Reacher: no reachable target in 100 resets")

    def _after_inner_reset(self, options: dict[str, Any]) -> None:
        if "goal" in options:
            self.data.qpos[2:4] = np.asarray(options["goal"], dtype=np.float64)
        self.goal = self.data.qpos[2:4].copy()
        self.goal_q = self.inverse_kinematics(self.goal)

    def inverse_kinematics(self, target: np.ndarray) -> np.ndarray:
        """Joint angles ``(2,)`` (elbow ``q2 >= 0``) putting the fingertip on ``target (2,)``."""
        d = np.asarray(target, dtype=np.float64) - self.base
        r2 = float(d @ d)
        c2 = np.clip((r2 - self.l1**2 - self.l2**2) / (2 * self.l1 * self.l2), np.cos(self.q2_max), 1.0)
        q2 = float(np.arccos(c2))
        q1 = float(np.arctan2(d[1], d[0]) - np.arctan2(self.l2 * np.sin(q2), self.l1 + self.l2 * np.cos(q2)))
        return np.array([q1, q2])

    def fingertip(self, qpos: np.ndarray) -> np.ndarray:
        """Fingertip ``(..., 2)`` of arm angles ``qpos (..., >=2)`` (forward kinematics)."""
        q1, q12 = qpos[..., 0], qpos[..., 0] + qpos[..., 1]
        x = self.base[0] + self.l1 * np.cos(q1) + self.l2 * np.cos(q12)
        y = self.base[1] + self.l1 * np.sin(q1) + self.l2 * np.sin(q12)
        return np.stack([x, y], axis=-1)

    def _apply_goal_config(self) -> None:
        self.data.qpos[:2] = self.goal_q
        self.data.qvel[:] = 0.0

    def state_vector(self) -> np.ndarray:
        q, v = self.data.qpos[:2], self.data.qvel[:2]
        return np.concatenate([np.cos(q), np.sin(q), v]).astype(np.float32)

    def state_from_physics(self, states: np.ndarray) -> np.ndarray:
        """``cos q, sin q, dq`` ``(..., 6)`` of simulator states ``(..., nstate)``."""
        q, v = self.qpos_from_physics(states)[..., :2], self.qvel_from_physics(states)[..., :2]
        return np.concatenate([np.cos(q), np.sin(q), v], axis=-1).astype(np.float32)

    def offset_margin_from_physics(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Largest joint-angle error over 0.05 rad ``(...)`` (success iff < 1).

        The shoulder hinge is unlimited, so its error is taken modulo a full turn: poses a turn
        apart look the same (in a frame and in the ``cos, sin`` state), and no agent given the goal
        observation can tell how many turns the recorded trajectory made.  (LeWM's rule compares
        raw angles; the elbow, limited to +-3 rad, needs no wrap.)
        """
        diff = self.qpos_from_physics(states)[..., :2] - self.qpos_from_physics(goal)[:2]
        shoulder = np.abs(np.mod(diff[..., 0] + np.pi, 2 * np.pi) - np.pi)
        err = np.maximum(shoulder, np.abs(diff[..., 1]))
        return err / OFFSET_JOINT_TOL

    def distance(self) -> float:
        """Fingertip-target distance in the plane (m)."""
        return float(np.linalg.norm(self.fingertip(self.data.qpos) - self.goal))

    def is_success(self) -> bool:
        return self.distance() < self.success_radius

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """Fingertip-target distance for simulator states ``(..., nstate)`` -> ``(...)``."""
        qpos = self.qpos_from_physics(states)
        return np.linalg.norm(self.fingertip(qpos) - qpos[..., 2:4], axis=-1)
