"""``wm/PointMaze-UMaze-v0``: gymnasium-robotics ``PointMaze_UMaze-v3`` as a goal-conditioned env.

The inner env (``continuing_task=True, reset_target=False``: it never terminates or moves
the goal by itself) samples start and goal cells and runs the ball, including its
velocity clipping to 5 m/s.  This adapter adds:

* state observation ``(4,)``: ball ``x, y, vx, vy`` (the inner ``observation``);
  pixel observation: a top-down view of the whole maze, the target marker hidden unless
  ``show_goal``;
* the goal observation: the ball put at the goal with zero velocity;
* ``success``: the benchmark's own rule, ball within 0.45 m of the goal (straight line);
* ``distance``: the shortest-path length to the goal through the maze (metres, see
  :mod:`envs.geodesic`), which is also what the oracle minimises: through a U the
  straight-line distance points into the wall.

The oracle's ``mujoco.rollout`` does not reproduce the inner env's velocity clipping, so
its predictions are exact only below 5 m/s.

:class:`MazeGoalEnv` is what every gymnasium-robotics maze adapter shares (the agent's
``x, y`` are ``qpos[:2]``): the goal, success radius, geodesic, camera and reset options;
:mod:`envs.antmaze` is the other one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.adapter import AdapterGoalEnv, make_inner
from envs.geodesic import GridGeodesic
from envs.render import FreeCamera

SUCCESS_RADIUS = 0.45   # gymnasium-robotics' own threshold
OFFSET_RADIUS = 0.5     # DINO-WM's PointMaze rule (offset protocol)
BALL_RADIUS = 0.1
GRID_CELL_FRACTION = 0.05  # geodesic grid spacing, in maze cells (0.05 m in PointMaze)


def maze_boxes(maze) -> np.ndarray:
    """Wall cells of a gymnasium-robotics ``Maze`` as boxes ``(K, 4)`` (``x0, y0, x1, y1``)."""
    s = maze.maze_size_scaling
    boxes = []
    for i, row in enumerate(maze.maze_map):
        for j, cell in enumerate(row):
            if cell == 1:
                c = maze.cell_rowcol_to_xy(np.array([i, j]))
                boxes.append([c[0] - s / 2, c[1] - s / 2, c[0] + s / 2, c[1] + s / 2])
    return np.array(boxes)


class MazeGoalEnv(AdapterGoalEnv):
    """Base of the gymnasium-robotics maze adapters: an agent whose ``x, y`` are ``qpos[:2]``.

    Subclasses make the inner env, pass its agent's ``frame_skip`` and state size, and define
    the state vector and the goal configuration; ``agent_radius`` (m) is the clearance of the
    geodesic grid (the agent's centre stays that far from the walls).
    """

    distance_kind, distance_units = "maze geodesic", "m"
    agent_radius = BALL_RADIUS

    def __init__(self, inner: Any, label: str, frame_skip: int, state_dim: int, obs_type: str = "state",
                 image_size: int = 64, render_mode: str | None = None, show_goal: bool = False,
                 terminate_on_success: bool = True):
        self.maze = inner.maze
        self.label = label
        self.half_extent = np.array([self.maze.x_map_center, self.maze.y_map_center])
        super().__init__(inner, frame_skip=frame_skip, state_dim=state_dim, obs_type=obs_type,
                         image_size=image_size, render_mode=render_mode,
                         terminate_on_success=terminate_on_success)
        target = inner.target_site_id
        if not show_goal:
            self.model.site_rgba[target][3] = 0.0
        bounds = (*(-self.half_extent), *self.half_extent)
        self.geodesic = GridGeodesic(maze_boxes(self.maze), bounds, radius=self.agent_radius - 0.01,
                                     resolution=GRID_CELL_FRACTION * self.maze.maze_size_scaling)
        self.goal = np.zeros(2)
        self._field = np.zeros_like(self.geodesic.free, dtype=np.float64)

    def _camera_name(self) -> FreeCamera:
        """Top-down, framing the inside of the outer wall (0.1 cell of it stays in view)."""
        scale = self.maze.maze_size_scaling
        half = float(self.half_extent.max()) - 0.9 * scale
        wall_top = self.maze.maze_height * scale
        return FreeCamera(lookat=(0.0, 0.0, 0.0), distance=half / np.tan(np.radians(22.5)) + wall_top)

    def _inner_options(self, options: dict[str, Any]) -> dict[str, Any] | None:
        keys = {k: options[k] for k in ("goal_cell", "reset_cell") if k in options}
        return keys or None

    def _after_inner_reset(self, options: dict[str, Any]) -> None:
        self.goal = np.asarray(self.inner.goal, dtype=np.float64).copy()
        self._field = self.geodesic.field(self.goal)

    def achieved_from_states(self, states: np.ndarray) -> np.ndarray:
        """The agent's ``x, y`` of recorded state vectors ``(N, S)`` -> ``(N, 2)`` (the state's first two)."""
        return np.asarray(states)[..., :2]

    def distance(self) -> float:
        """Shortest-path length (m) from the agent to the goal through the maze."""
        return float(self.distance_from_physics(self.get_sim_state()))

    def is_success(self) -> bool:
        return float(np.linalg.norm(self.data.qpos[:2] - self.goal)) <= SUCCESS_RADIUS

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """Maze geodesic for simulator states ``(..., nstate)`` -> ``(...)``.

        A point off the grid's free space (pressed into a wall corner) reads its straight-line
        distance instead of ``inf``.
        """
        pos = self.qpos_from_physics(states)[..., :2]
        geo = self.geodesic.query(self._field, pos)
        return np.where(np.isfinite(geo), geo, np.linalg.norm(pos - self.goal, axis=-1))


class PointMazeGoalEnv(MazeGoalEnv):
    """Adapter of ``PointMaze_UMaze-v3`` (any maze via ``maze_id``).  See the module docstring."""

    def __init__(self, obs_type: str = "state", image_size: int = 64, render_mode: str | None = None,
                 show_goal: bool = False, terminate_on_success: bool = True,
                 maze_id: str = "PointMaze_UMaze-v3"):
        import gymnasium_robotics  # noqa: F401  (registers the PointMaze ids)

        inner = make_inner(maze_id, continuing_task=True, reset_target=False)
        super().__init__(inner, maze_id, frame_skip=inner.point_env.frame_skip, state_dim=4, obs_type=obs_type,
                         image_size=image_size, render_mode=render_mode, show_goal=show_goal,
                         terminate_on_success=terminate_on_success)

    def state_bounds(self, state_dim: int) -> tuple[np.ndarray, np.ndarray]:
        high = np.array([*self.half_extent, np.inf, np.inf], dtype=np.float32)
        return -high, high

    def _apply_goal_config(self) -> None:
        self.data.qpos[:2] = self.goal
        self.data.qvel[:] = 0.0

    def state_vector(self) -> np.ndarray:
        return np.concatenate([self.data.qpos[:2], self.data.qvel[:2]]).astype(np.float32)

    def state_from_physics(self, states: np.ndarray) -> np.ndarray:
        """``x, y, vx, vy`` ``(..., 4)`` of simulator states ``(..., nstate)``."""
        q, v = self.qpos_from_physics(states)[..., :2], self.qvel_from_physics(states)[..., :2]
        return np.concatenate([q, v], axis=-1).astype(np.float32)

    def speed_from_states(self, states: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(states)[..., 2:4], axis=-1)

    def offset_margin_from_physics(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """DINO-WM's rule: ball-goal distance over 0.5 (maze units) ``(...)``."""
        err = self.qpos_from_physics(states)[..., :2] - self.qpos_from_physics(goal)[:2]
        return np.linalg.norm(err, axis=-1) / OFFSET_RADIUS
