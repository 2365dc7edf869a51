"""A noisy scripted pusher for Push-T: it goes round the block to a random face and pushes.

Random actions rarely touch the block (the pusher wanders, the T sits still); this policy
makes contact on most steps, so exploration data shows the block moving and turning.
It reads the true state ``(px, py, bx, by, sin, cos)``, never the image.
"""

from __future__ import annotations

import numpy as np

from envs.tshape import BOUND_RADIUS, DT, MAX_SPEED, PUSHER_RADIUS, rotation, sample_face_point

CLEARANCE = BOUND_RADIUS + PUSHER_RADIUS + 0.03   # circle the pusher travels round the block on
RECENTRE = 0.25                                   # blocks farther out are pushed back towards the centre


class ScriptedPusher:
    """Approach a random face of the T (around it, not through it), push, repeat.

    Phases: ``approach`` (travel on a circle round the block to the face's side, then in to
    a point just outside the face) and ``push`` (drive into the face, along its inward
    normal turned by up to 30 deg, for 4-12 steps).  A block more than ``RECENTRE`` from
    the table's centre gets the face, of 4 drawn, that pushes it most towards the centre,
    so long episodes do not end with the T stuck against a wall.  Gaussian noise of std ``noise`` is
    added to every action, which is then clipped to ``[-1, 1]``.
    """

    def __init__(self, noise: float = 0.3, max_approach: int = 40):
        self.noise, self.max_approach = noise, max_approach
        self.rng = np.random.default_rng(0)
        self._new_target()

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._new_target()

    def _new_target(self) -> None:
        self.face_point = None  # chosen at the next call, when the block's pose is known
        self.push_turn = self.rng.uniform(-np.pi / 6, np.pi / 6)
        self.push_speed = self.rng.uniform(0.5, 1.0)
        self.push_left = int(self.rng.integers(4, 13))
        self.phase, self.steps = "approach", 0

    def _choose_face(self, block: np.ndarray, rot: np.ndarray) -> None:
        """A random face; off-centre blocks get the best of 4 draws for pushing them back in."""
        candidates = [sample_face_point(self.rng) for _ in range(4 if np.linalg.norm(block) > RECENTRE else 1)]
        inward = [float(-(rot @ n) @ -block) for _, n in candidates]
        self.face_point, self.face_normal = candidates[int(np.argmax(inward))]

    def _waypoint(self, pusher: np.ndarray, block: np.ndarray, pre: np.ndarray) -> np.ndarray:
        """Next point on the way to ``pre`` that does not cross the block ``(2,)``."""
        rel, rel_pre = pusher - block, pre - block
        phi, phi_pre = np.arctan2(rel[1], rel[0]), np.arctan2(rel_pre[1], rel_pre[0])
        gap = (phi_pre - phi + np.pi) % (2 * np.pi) - np.pi
        if abs(gap) < 0.5:
            return pre
        phi_next = phi + np.sign(gap) * 0.5
        return block + CLEARANCE * np.array([np.cos(phi_next), np.sin(phi_next)])

    def __call__(self, obs, state: np.ndarray) -> np.ndarray:
        """Action ``(2,)`` in ``[-1, 1]`` from the true state ``(6,)`` (``obs`` is unused)."""
        pusher, block = np.asarray(state[:2], float), np.asarray(state[2:4], float)
        rot = rotation(float(np.arctan2(state[4], state[5])))
        if self.face_point is None:
            self._choose_face(block, rot)
        normal = rot @ self.face_normal
        contact = block + rot @ self.face_point
        if self.phase == "approach":
            pre = contact + normal * (PUSHER_RADIUS + 0.015)
            target = self._waypoint(pusher, block, pre)
            velocity = (target - pusher) / DT
            self.steps += 1
            if np.linalg.norm(pre - pusher) < 0.015:
                self.phase = "push"
            elif self.steps > self.max_approach:
                self._new_target()
        else:
            velocity = -(rotation(self.push_turn) @ normal) * self.push_speed * MAX_SPEED
            self.push_left -= 1
            if self.push_left <= 0:
                self._new_target()
        action = velocity / MAX_SPEED
        norm = np.linalg.norm(action)
        if norm > 1:
            action = action / norm
        action = action + self.noise * self.rng.standard_normal(2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
