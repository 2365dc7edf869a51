"""gymnasium-robotics ``AntMaze_<map>-v5`` as a goal-conditioned env (``env.id: AntMaze_UMaze-v5``).

The inner env (``continuing_task=True, reset_target=False``, as for PointMaze) samples start
and goal cells and runs gymnasium's ``Ant-v5`` quadruped (8 hinge torques in ``[-1, 1]``,
5 MuJoCo steps of 0.01 s per env step) among walls of 4 m cells.  Its own ``observation``
leaves out the torso's ``x, y`` (they are the ``achieved_goal``), so this adapter observes
the whole simulator state instead:

* state observation ``(29,)``: ``qpos (15)`` = torso ``x, y, z``, torso quaternion
  ``w, x, y, z``, 8 joint angles; then ``qvel (14)`` = torso linear and angular velocity,
  8 joint velocities; pixel observation: the top-down view of the whole maze (the ant is a
  few pixels across at 64x64), the target marker hidden unless ``show_goal``;
* the goal observation: the ant at the goal in its rest pose, zero velocity.  The rest pose
  is the inner env's initial pose (torso 0.75 m up, upright, joints at 0) after one second
  under zero torque: the drop onto its legs, which pushes the ankles into their ranges;
  afterwards it only creeps (under 0.03 m/s).  The heading is the initial one (+x);
* ``success``: the inner env's own rule, torso ``x, y`` within 0.45 m of the goal;
* ``distance``: the shortest path of the torso to the goal through the maze (metres,
  :mod:`envs.geodesic`, grid of 0.2 m: a twentieth of a cell, as in PointMaze), which the
  oracle minimises.  The ant can climb onto the 2 m walls (the oracle finds it: tumbling
  over them, its torso 3 m up); over a wall the distance is that of the nearest free grid
  node plus the straight line to it, not PointMaze's straight line to the goal, which
  would reward climbing any wall between the ant and the goal.

The inner env's step adds nothing to the dynamics beyond ``mj_step`` (it only computes
contact forces for its reward), so the oracle's ``mujoco.rollout`` predictions are exact.
The ``offset`` protocol is not supported: the peers publish no AntMaze rule for it.
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.adapter import make_inner
from envs.geodesic import GridGeodesic
from envs.pointmaze import MazeGoalEnv

TORSO_RADIUS = 0.25   # the ant's torso sphere (gymnasium's ant.xml)
SETTLE_STEPS = 100    # MuJoCo steps (1 s) of the drop into the rest pose
_NEIGHBOURS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)]


def nearest_free_nodes(geodesic: GridGeodesic) -> np.ndarray:
    """Grid index ``(i, j)`` of a nearest free node, for every node ``(nx, ny, 2)`` int.

    Propagated from the free nodes over 8 neighbours (each node takes the neighbours' nearest
    if it is closer than its own), which is exact up to a fraction of the grid spacing.  Free
    nodes are their own; without any free node every node is its own.
    """
    free = geodesic.free
    nx, ny = free.shape
    idx = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij"), axis=-1)   # (nx, ny, 2)
    near, dist = idx.copy(), np.where(free, 0.0, np.inf)
    changed = bool(free.any())
    while changed:
        changed = False
        for dx, dy in _NEIGHBOURS:
            src = (slice(max(0, dx), nx + min(0, dx)), slice(max(0, dy), ny + min(0, dy)))
            dst = (slice(max(0, -dx), nx + min(0, -dx)), slice(max(0, -dy), ny + min(0, -dy)))
            cand = near[src]
            d = np.where(np.isfinite(dist[src]), np.linalg.norm((cand - idx[dst]).astype(np.float64), axis=-1),
                         np.inf)
            better = d < dist[dst] - 1e-9
            if better.any():
                near_dst, dist_dst = near[dst], dist[dst]   # views
                near_dst[better], dist_dst[better] = cand[better], d[better]
                changed = True
    return near


class AntMazeGoalEnv(MazeGoalEnv):
    """Adapter of ``AntMaze_UMaze-v5`` (any ``AntMaze_<map>-v5`` via ``maze_id``).  See the module docstring."""

    agent_radius = TORSO_RADIUS

    def __init__(self, obs_type: str = "state", image_size: int = 64, render_mode: str | None = None,
                 show_goal: bool = False, terminate_on_success: bool = True, maze_id: str = "AntMaze_UMaze-v5"):
        import gymnasium_robotics  # noqa: F401  (registers the AntMaze ids)

        inner = make_inner(maze_id, continuing_task=True, reset_target=False)
        if not hasattr(inner, "ant_env"):
            raise ValueError(f"{maze_id!r} is not a gymnasium-robotics AntMaze env (no ant_env)")
        state_dim = inner.model.nq + inner.model.nv
        super().__init__(inner, maze_id, frame_skip=inner.ant_env.frame_skip, state_dim=state_dim,
                         obs_type=obs_type, image_size=image_size, render_mode=render_mode, show_goal=show_goal,
                         terminate_on_success=terminate_on_success)
        self.rest_pose = self._rest_pose()
        """``qpos[2:]`` ``(nq - 2,)`` of the goal configuration: torso height, quaternion, joints."""
        self._nearest_free = nearest_free_nodes(self.geodesic)

    def _rest_pose(self) -> np.ndarray:
        """The initial pose after :data:`SETTLE_STEPS` under zero torque, in a free cell -> ``(nq - 2,)``."""
        data = mujoco.MjData(self.model)
        data.qpos[:] = self.inner.ant_env.init_qpos
        data.qpos[:2] = self.maze.unique_reset_locations[0]
        mujoco.mj_step(self.model, data, nstep=SETTLE_STEPS)
        return data.qpos[2:].copy()

    def state_bounds(self, state_dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Torso ``x, y`` within the maze, everything else unbounded; each ``(S,)``."""
        high = np.full(state_dim, np.inf, dtype=np.float32)
        high[:2] = self.half_extent
        return -high, high

    def _apply_goal_config(self) -> None:
        self.data.qpos[:2] = self.goal
        self.data.qpos[2:] = self.rest_pose
        self.data.qvel[:] = 0.0

    def state_vector(self) -> np.ndarray:
        """``qpos, qvel`` ``(29,)`` float32."""
        return np.concatenate([self.data.qpos, self.data.qvel]).astype(np.float32)

    def state_from_physics(self, states: np.ndarray) -> np.ndarray:
        """``qpos, qvel`` ``(..., 29)`` of simulator states ``(..., nstate)``."""
        return np.concatenate([self.qpos_from_physics(states), self.qvel_from_physics(states)],
                              axis=-1).astype(np.float32)

    def speed_from_states(self, states: np.ndarray) -> np.ndarray:
        """Torso speed in the plane ``(N,)`` of recorded state vectors ``(N, 29)``."""
        nq = self.model.nq
        return np.linalg.norm(np.asarray(states)[..., nq:nq + 2], axis=-1)

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """Maze geodesic of the torso for simulator states ``(..., nstate)`` -> ``(...)``.

        Off the grid's free space (over a wall) it is the geodesic of the nearest free node plus
        the straight line to that node; the straight line to the goal only if no free node connects.
        """
        pos = self.qpos_from_physics(states)[..., :2]
        geo = self.geodesic.query(self._field, pos)
        off = ~np.isfinite(geo)
        if off.any():
            geo = np.where(off, self._over_wall(pos), geo)
        return geo

    def _over_wall(self, pos: np.ndarray) -> np.ndarray:
        """Distance via the nearest free grid node, for torso positions ``(..., 2)`` -> ``(...)``."""
        g = self.geodesic
        node = np.rint((pos - g.origin) / g.resolution).astype(int)
        node = np.clip(node, 0, np.array(g.free.shape) - 1)
        i, j = np.moveaxis(self._nearest_free[node[..., 0], node[..., 1]], -1, 0)
        via = self._field[i, j] + np.linalg.norm(pos - g.points[i, j], axis=-1)
        return np.where(np.isfinite(via), via, np.linalg.norm(pos - self.goal, axis=-1))
