"""``wm/TwoRoom-v0``: a point agent in a square arena split by a wall with one door.

Geometry (metres): the arena is ``[-1, 1]^2``; a wall of thickness ``2 * WALL_HALF``
at ``x = wall_x`` has a door of width ``door_width`` centred at ``y = door_y``.  The
agent is a disc of radius ``AGENT_RADIUS`` driven by a 2-D force (action in
``[-1, 1]^2``) against viscous damping, so its top speed is about 1 m/s, i.e. 0.1 m per
step (``dt = 0.1`` s).  By default start and goal lie in opposite rooms and the straight
segment between them hits the wall, so the door must be found.  Success: the agent
centre within ``success_radius`` of the goal.

State observation ``(4,)``: ``x, y, vx, vy``; with ``random_wall=True`` two more entries,
``wall_x, door_y`` (the layout is part of the state).  The goal observation is the
observation at the goal position with zero velocity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.goal_env import MujocoGoalEnv

ARENA = 1.0
OFFSET_RADIUS = 4.5 / 65 * 2 * ARENA  # EB-JEPA's 4.5 px of a 65-px arena, in metres (offset protocol)
WALL_HALF = 0.03
AGENT_RADIUS = 0.05
VISUAL_RADIUS = 0.08
"""Radius of the drawn agent disc: 4.5 px wide in a 64 px image of the 2.3 m view (the
physical disc, 0.05 m, would be under 3 px).  It is a massless, non-colliding geom, so the
dynamics are those of the 0.05 m disc."""
SEGMENT_HALF = 1.0  # half-length of each wall segment (they overhang the arena)

_XML = """
<mujoco model="tworoom">
  <option timestep="0.05" gravity="0 0 0" integrator="implicitfast"/>
  <visual><global offwidth="256" offheight="256"/></visual>
  <default>
    <geom contype="1" conaffinity="1" friction="0 0 0" solref="0.1 1"/>
  </default>
  <worldbody>
    <light pos="0 0 3" dir="0 0 -1" directional="true"/>
    <camera name="top" pos="0 0 2.75" xyaxes="1 0 0 0 1 0" fovy="45"/>
    <geom name="floor" type="plane" size="1.2 1.2 0.1" rgba="0.92 0.92 0.92 1" contype="0" conaffinity="0"/>
    <geom name="wall_e" type="box" pos=" 1.05 0 0" size="0.05 1.1 0.05" rgba="0.2 0.2 0.2 1"/>
    <geom name="wall_w" type="box" pos="-1.05 0 0" size="0.05 1.1 0.05" rgba="0.2 0.2 0.2 1"/>
    <geom name="wall_n" type="box" pos="0  1.05 0" size="1.1 0.05 0.05" rgba="0.2 0.2 0.2 1"/>
    <geom name="wall_s" type="box" pos="0 -1.05 0" size="1.1 0.05 0.05" rgba="0.2 0.2 0.2 1"/>
    <geom name="mid_lo" type="box" pos="0 -1 0" size="{wall_half} {seg_half} 0.05" rgba="0.2 0.2 0.2 1"/>
    <geom name="mid_hi" type="box" pos="0  1 0" size="{wall_half} {seg_half} 0.05" rgba="0.2 0.2 0.2 1"/>
    <site name="goal" pos="0 0 0.01" size="{goal_size} 0.005" type="cylinder" rgba="0.1 0.8 0.1 0"/>
    <body name="agent" pos="0 0 0">
      <joint name="ax" type="slide" axis="1 0 0" damping="10"/>
      <joint name="ay" type="slide" axis="0 1 0" damping="10"/>
      <geom name="agent" type="sphere" size="{agent_r}" mass="1" rgba="0.85 0.15 0.15 0"/>
      <geom name="agent_visual" type="cylinder" size="{visual_r} 0.01" mass="0" contype="0" conaffinity="0"
            rgba="0.85 0.15 0.15 1"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="ax" gear="10" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="ay" gear="10" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>
"""


class TwoRoomEnv(MujocoGoalEnv):
    """Point agent, two rooms, one door.  See the module docstring."""

    distance_kind, distance_units = "geodesic", "m"

    def __init__(
        self,
        obs_type: str = "state",
        image_size: int = 64,
        render_mode: str | None = None,
        random_wall: bool = False,
        door_width: float = 0.4,
        success_radius: float = 0.1,
        show_goal: bool = False,
        terminate_on_success: bool = True,
        same_room: bool = False,
    ):
        xml = _XML.format(wall_half=WALL_HALF, seg_half=SEGMENT_HALF, agent_r=AGENT_RADIUS, visual_r=VISUAL_RADIUS,
                          goal_size=success_radius)
        self.random_wall = random_wall
        self.door_width = door_width
        self.success_radius = success_radius
        self.show_goal = show_goal
        self.same_room = same_room
        state_dim = 6 if random_wall else 4
        super().__init__(xml, frame_skip=2, state_dim=state_dim, obs_type=obs_type,
                         image_size=image_size, render_mode=render_mode,
                         terminate_on_success=terminate_on_success)
        self._lo = self.model.geom("mid_lo").id
        self._hi = self.model.geom("mid_hi").id
        self._goal_site = self.model.site("goal").id
        self.wall_x, self.door_y = 0.0, 0.5
        self.goal = np.zeros(2)
        self._set_layout(self.wall_x, self.door_y)

    def state_bounds(self, state_dim: int) -> tuple[np.ndarray, np.ndarray]:
        high = np.array([ARENA, ARENA, 10.0, 10.0, ARENA, ARENA][:state_dim], dtype=np.float32)
        return -high, high

    def _camera_name(self) -> str:
        return "top"

    # ----------------------------------------------------------------- layout and task
    def _set_layout(self, wall_x: float, door_y: float) -> None:
        self.wall_x, self.door_y = float(wall_x), float(door_y)
        half = self.door_width / 2
        self.model.geom_pos[self._lo] = [wall_x, door_y - half - SEGMENT_HALF, 0]
        self.model.geom_pos[self._hi] = [wall_x, door_y + half + SEGMENT_HALF, 0]

    def _room_bounds(self, left: bool) -> tuple[np.ndarray, np.ndarray]:
        m = AGENT_RADIUS + 0.05
        if left:
            return np.array([-ARENA + m, -ARENA + m]), np.array([self.wall_x - WALL_HALF - m, ARENA - m])
        return np.array([self.wall_x + WALL_HALF + m, -ARENA + m]), np.array([ARENA - m, ARENA - m])

    def crosses_door(self, start: np.ndarray, goal: np.ndarray) -> bool:
        """Whether the straight segment ``start -> goal`` passes through the door gap."""
        if (start[0] - self.wall_x) * (goal[0] - self.wall_x) >= 0:
            return False
        t = (self.wall_x - start[0]) / (goal[0] - start[0])
        y = start[1] + t * (goal[1] - start[1])
        return abs(y - self.door_y) < self.door_width / 2 + AGENT_RADIUS

    def _sample_task(self, rng: np.random.Generator, options: dict[str, Any]) -> None:
        if self.random_wall:
            self._set_layout(rng.uniform(-0.35, 0.35), rng.uniform(-0.6, 0.6))
        same_room = bool(options.get("same_room", self.same_room))
        for _ in range(1000):
            left = bool(rng.integers(2))
            start = rng.uniform(*self._room_bounds(left))
            goal = rng.uniform(*self._room_bounds(left if same_room else not left))
            if same_room or not self.crosses_door(start, goal):
                break
        if "start" in options:
            start = np.asarray(options["start"], dtype=np.float64)
        if "goal" in options:
            goal = np.asarray(options["goal"], dtype=np.float64)
        self.goal = goal
        self.data.qpos[:] = start
        self.data.qvel[:] = 0.0
        self.model.site_pos[self._goal_site][:2] = goal
        self.model.site_rgba[self._goal_site][3] = 0.6 if self.show_goal else 0.0

    def _apply_goal_config(self) -> None:
        self.data.qpos[:] = self.goal
        self.data.qvel[:] = 0.0

    # ----------------------------------------------------------------- metrics
    def state_vector(self) -> np.ndarray:
        s = np.concatenate([self.data.qpos, self.data.qvel])
        if self.random_wall:
            s = np.concatenate([s, [self.wall_x, self.door_y]])
        return s.astype(np.float32)

    def geodesic(self, pos: np.ndarray) -> np.ndarray:
        """Shortest-path length from positions ``(..., 2)`` to the goal around the wall.

        The wall is treated as thin: a path between rooms passes the door where the agent
        centre fits, ``|y - door_y| <= door_width / 2 - AGENT_RADIUS``.  Within a room
        (rooms are convex) it is the Euclidean distance.
        """
        pos = np.asarray(pos, dtype=np.float64)
        g = self.goal
        direct = np.linalg.norm(pos - g, axis=-1)
        across = (pos[..., 0] - self.wall_x) * (g[0] - self.wall_x) < 0
        half = self.door_width / 2 - AGENT_RADIUS
        dx_p, dx_g = np.abs(pos[..., 0] - self.wall_x), abs(g[0] - self.wall_x)
        # crossing height of the straight line, clipped to the door opening
        t = dx_p / np.maximum(dx_p + dx_g, 1e-12)
        y = np.clip(pos[..., 1] + t * (g[1] - pos[..., 1]), self.door_y - half, self.door_y + half)
        via = np.hypot(dx_p, pos[..., 1] - y) + np.hypot(dx_g, g[1] - y)
        return np.where(across, via, direct)

    def state_from_physics(self, states: np.ndarray) -> np.ndarray:
        """State vectors ``(..., 4 or 6)`` of simulator states ``(..., nstate)`` (the layout is the current one)."""
        parts = [self.qpos_from_physics(states), self.qvel_from_physics(states)]
        if self.random_wall:
            parts.append(np.broadcast_to([self.wall_x, self.door_y], (*states.shape[:-1], 2)))
        return np.concatenate(parts, axis=-1).astype(np.float32)

    def offset_margin_from_physics(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """EB-JEPA's rule, scaled: distance over 4.5 px of their 65-px arena (0.138 m of our 2 m) ``(...)``."""
        err = self.qpos_from_physics(states)[..., :2] - self.qpos_from_physics(goal)[:2]
        return np.linalg.norm(err, axis=-1) / OFFSET_RADIUS

    def distance(self) -> float:
        """Geodesic (around-the-wall) distance of the agent to the goal, in metres."""
        return float(self.geodesic(self.data.qpos[:2]))

    def is_success(self) -> bool:
        return float(np.linalg.norm(self.data.qpos[:2] - self.goal)) < self.success_radius

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """Geodesic agent-goal distance for simulator states ``(..., nstate)`` -> ``(...)``."""
        return self.geodesic(self.qpos_from_physics(states)[..., :2])
