"""``wm/Custom-v0``: your own MuJoCo gymnasium env, made goal-conditioned by configuration.

No library code changes: the config names the env and says where its goal, its achieved
position and its success are read (``env.kwargs`` of the run config)::

    env:
      id: wm/Custom-v0
      obs_type: pixels
      kwargs:
        entry_point: examples/point_reach.py:PointReachEnv   # or env_id: my_pkg.envs:Reach-v0
        goal: attr:target            # attr:<name> | obs:<key> | info:<key>, read after reset
        achieved: qpos[0:2]          # qpos[i:j] | site:<name> | body:<name>
        goal_qpos: [0, 1]            # qpos entries set to the goal (default: those of achieved: qpos[i:j])
        success_threshold: 0.05      # success: |achieved - goal| < this (metres) ...
        success: ''                  # ... or info:<key>, the env's own success flag
        hide: [target]               # geoms / sites not drawn in pixel observations
        camera: {lookat: [0, 0, 0], distance: 1.2}

Requirements on the env: a gymnasium ``Env`` whose unwrapped object has ``model`` and
``data`` (MuJoCo) and ``frame_skip`` (``mj_step`` calls per ``step``, default 1), that
writes ``action`` to ``data.ctrl`` and steps the simulator (so the oracle's
``mujoco.rollout`` reproduces it).  The state observation is ``qpos`` + ``qvel``
(``state: qpos`` for positions only); the goal observation puts ``qpos[goal_qpos]`` at the
goal with zero velocity.  Without ``goal_qpos`` that is only done when ``achieved`` is a
``qpos[i:j]`` slice as long as the goal (the goal *is* those joint coordinates); a goal in task
space (``achieved: site:<name>``, or a length that differs) is refused at the first reset with
one line saying what to configure: ``goal_qpos``, or ``env.goal_source: dataset`` (the goal
observation retrieved from the run's data, :mod:`envs.goal_retrieval`), or an adapter like
``envs/reacher.py`` (inverse kinematics).

``distance`` is the straight line ``|achieved - goal|`` in the units of ``achieved``
(``distance_units``: ``m`` for sites and bodies, the joints' for ``qpos``), except on a
gymnasium-robotics maze (an inner env with a ``maze``), where it is the shortest path
through the maze, as for ``wm/PointMaze-UMaze-v0``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from envs.adapter import AdapterGoalEnv, make_inner
from envs.geodesic import GridGeodesic
from envs.render import FreeCamera

_QPOS = re.compile(r"^qpos\[(\d+):(\d+)\]$")


@dataclass(frozen=True)
class CustomSpec:
    """How to read a foreign env's goal and success (the keys of ``env.kwargs``)."""

    env_id: str = ""
    """A registered gymnasium id (``module:Id-v0`` imports ``module`` first)."""
    entry_point: str = ""
    """Instead of ``env_id``: ``pkg.module:Class`` or ``path/to/file.py:Class``."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Constructor keyword arguments of the env."""
    goal: str = "attr:goal"
    """Where the goal vector is after ``reset``: ``attr:<name>``, ``obs:<key>`` or ``info:<key>``."""
    achieved: str = "qpos[0:2]"
    """The position compared with the goal: ``qpos[i:j]``, ``site:<name>`` or ``body:<name>``."""
    goal_qpos: tuple[int, ...] | None = None
    """``qpos`` indices set to the goal's entries for the goal observation (default: the ``achieved``
    slice ``qpos[i:j]`` when it is as long as the goal; otherwise it must be given)."""
    success_threshold: float = 0.05
    """Success when ``|achieved - goal| <`` this (unless ``success`` names an info key)."""
    success: str = ""
    """``info:<key>``: use the env's own success flag instead of the threshold."""
    state: str = "qpos+qvel"
    """State observation: ``qpos+qvel`` or ``qpos``."""
    hide: tuple[str, ...] = ()
    """Geom or site names made invisible in pixel observations (goal markers)."""
    camera: Any = ""
    """A model camera name, or ``{lookat, distance, azimuth, elevation}``; empty: MuJoCo's free camera."""

    def __post_init__(self) -> None:
        if bool(self.env_id) == bool(self.entry_point):
            raise ValueError("env.kwargs: give exactly one of 'env_id' and 'entry_point'")
        if not re.match(r"^(attr|obs|info):\w+$", self.goal):
            raise ValueError(f"env.kwargs.goal: expected attr:<name>, obs:<key> or info:<key>, got {self.goal!r}")
        if not (_QPOS.match(self.achieved) or re.match(r"^(site|body):\w+$", self.achieved)):
            raise ValueError(f"env.kwargs.achieved: expected qpos[i:j], site:<name> or body:<name>, "
                             f"got {self.achieved!r}")
        if self.success and not re.match(r"^info:\w+$", self.success):
            raise ValueError(f"env.kwargs.success: expected info:<key> or '', got {self.success!r}")
        if self.state not in ("qpos+qvel", "qpos"):
            raise ValueError(f"env.kwargs.state: expected 'qpos+qvel' or 'qpos', got {self.state!r}")
        if self.success_threshold <= 0:
            raise ValueError(f"env.kwargs.success_threshold: must be > 0, got {self.success_threshold}")

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> CustomSpec:
        """Build from ``env.kwargs``, naming an unknown key."""
        known = [f.name for f in fields(cls)]
        for key in kwargs:
            if key not in known:
                raise ValueError(f"env.kwargs: unknown key {key!r} for wm/Custom-v0 (known: {', '.join(known)})")
        values = dict(kwargs)
        for key in ("goal_qpos", "hide"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


def load_entry_point(entry_point: str) -> type:
    """The class named by ``pkg.module:Class`` or ``path/to/file.py:Class``."""
    module_name, _, attr = entry_point.rpartition(":")
    if not module_name or not attr:
        raise ValueError(f"env.kwargs.entry_point: expected module:Class or file.py:Class, got {entry_point!r}")
    if module_name.endswith(".py"):
        path = Path(module_name).resolve()
        if not path.is_file():
            raise ValueError(f"env.kwargs.entry_point: no such file {path}")
        name = f"wm_custom_{path.stem}_{abs(hash(str(path)))}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        module = sys.modules[name]
    else:
        module = importlib.import_module(module_name)
    if not hasattr(module, attr):
        raise ValueError(f"env.kwargs.entry_point: {module_name} has no {attr!r}")
    return getattr(module, attr)


def _camera(spec: CustomSpec) -> str | int | FreeCamera:
    if isinstance(spec.camera, dict):
        return FreeCamera(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.camera.items()})
    return spec.camera or -1


class CustomGoalEnv(AdapterGoalEnv):
    """A user's MuJoCo env under the goal-conditioned contract; see the module docstring."""

    def __init__(self, obs_type: str = "state", image_size: int = 64, render_mode: str | None = None,
                 terminate_on_success: bool = True, **kwargs):
        self.custom = CustomSpec.from_kwargs(kwargs)
        if self.custom.entry_point:
            inner = load_entry_point(self.custom.entry_point)(**self.custom.env_kwargs)
        else:
            inner = make_inner(self.custom.env_id, **self.custom.env_kwargs)
        for name in ("model", "data"):
            if not isinstance(getattr(inner, name, None), (mujoco.MjModel, mujoco.MjData)):
                raise ValueError(f"env.kwargs: {type(inner).__name__} has no MuJoCo '{name}' attribute")
        model = inner.model
        state_dim = model.nq + (model.nv if self.custom.state == "qpos+qvel" else 0)
        self._camera_spec = _camera(self.custom)
        super().__init__(inner, frame_skip=int(getattr(inner, "frame_skip", 1)), state_dim=state_dim,
                         obs_type=obs_type, image_size=image_size, render_mode=render_mode,
                         terminate_on_success=terminate_on_success)
        self._hide_markers()
        self._scratch = mujoco.MjData(model)
        self.goal = np.zeros(0)
        self._goal_index: list[int] = []
        self.geodesic = _maze_geodesic(inner)
        self._field: np.ndarray | None = None
        self.distance_kind = "maze geodesic" if self.geodesic is not None else "straight line"
        self.distance_units = _units(model, self.custom.achieved)

    @property
    def label(self) -> str:
        """The user's env, as named in the config."""
        return self.custom.env_id or self.custom.entry_point

    def _hide_markers(self) -> None:
        m = self.model
        for name in self.custom.hide:
            if mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, name) >= 0:
                m.geom_rgba[m.geom(name).id][3] = 0.0
            elif mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, name) >= 0:
                m.site_rgba[m.site(name).id][3] = 0.0
            else:
                raise ValueError(f"env.kwargs.hide: no geom or site named {name!r}")

    def _camera_name(self) -> str | int | FreeCamera:
        return self._camera_spec

    # ----------------------------------------------------------------- task
    def _after_inner_reset(self, options: dict[str, Any]) -> None:
        kind, _, key = self.custom.goal.partition(":")
        if kind == "attr":
            value = getattr(self.inner, key, None)
        else:
            source = self.inner_obs if kind == "obs" else self.inner_info
            value = source.get(key) if isinstance(source, dict) else None
        if value is None:
            raise ValueError(f"env.kwargs.goal: {self.custom.goal!r} not found after reset")
        self.goal = np.asarray(value, dtype=np.float64).ravel().copy()
        achieved = len(self._achieved(self.data))
        if achieved < len(self.goal):
            raise ValueError(f"wm/Custom-v0 ({self.label}): the goal ({self.custom.goal}) has {len(self.goal)} "
                             f"values, achieved ({self.custom.achieved}) only {achieved}; set env.kwargs.achieved "
                             f"to what the goal is compared with")
        if self.goal_source == "env":
            self._goal_index = self._goal_mapping()
        if self.geodesic is not None:
            self._field = self.geodesic.field(self.goal[:2])

    def _goal_mapping(self) -> list[int]:
        """The qpos indices the goal observation writes the goal into; one line if none can be right."""
        n, spec = len(self.goal), self.custom
        if spec.goal_qpos is not None:
            if len(spec.goal_qpos) > n:
                raise ValueError(f"env.kwargs.goal_qpos: {len(spec.goal_qpos)} entries, goal has {n}")
            if max(spec.goal_qpos, default=0) >= self.model.nq:
                raise ValueError(f"env.kwargs.goal_qpos: index {max(spec.goal_qpos)} >= nq = {self.model.nq}")
            return list(spec.goal_qpos)
        match = _QPOS.match(spec.achieved)
        if match and int(match[2]) - int(match[1]) == n:
            return list(range(int(match[1]), int(match[2])))
        why = (f"a task-space position ({spec.achieved}), not joint coordinates" if not match else
               f"{spec.achieved} has {int(match[2]) - int(match[1])} entries")
        raise ValueError(f"wm/Custom-v0 ({self.label}): the goal ({spec.goal}, {n} values) is compared with {why}, "
                         f"so it cannot be written into qpos for the goal observation; set env.goal_source: dataset "
                         f"(the recorded observation nearest the goal), or env.kwargs.goal_qpos: [{n} qpos indices "
                         f"that equal the goal]")

    def _apply_goal_config(self) -> None:
        if self.goal_source == "dataset" and self.goal_state is not None:
            self.data.qpos[:] = self.goal_state[: self.model.nq]
        else:
            self.data.qpos[self._goal_index] = self.goal[: len(self._goal_index)]
        self.data.qvel[:] = 0.0

    def state_vector(self) -> np.ndarray:
        parts = [self.data.qpos, self.data.qvel] if self.custom.state == "qpos+qvel" else [self.data.qpos]
        return np.concatenate(parts).astype(np.float32)

    def achieved_from_states(self, states: np.ndarray) -> np.ndarray:
        """``achieved`` of recorded state vectors ``(N, S)`` (their first ``nq`` entries are qpos)."""
        return self._achieved_from_qpos(np.asarray(states, dtype=np.float64)[..., : self.model.nq])

    def speed_from_states(self, states: np.ndarray) -> np.ndarray:
        if self.custom.state == "qpos":
            return np.zeros(len(states))
        return np.linalg.norm(np.asarray(states)[:, self.model.nq:], axis=1)

    # ----------------------------------------------------------------- metrics
    def _achieved(self, data: mujoco.MjData) -> np.ndarray:
        kind, _, name = self.custom.achieved.partition(":")
        if kind == "site":
            return data.site(name).xpos
        if kind == "body":
            return data.body(name).xpos
        lo, hi = map(int, _QPOS.match(self.custom.achieved).groups())
        return data.qpos[lo:hi]

    def _achieved_from_qpos(self, qpos: np.ndarray) -> np.ndarray:
        """``achieved (..., G)`` of ``qpos (..., nq)``: a slice, or forward kinematics one state at a time."""
        match = _QPOS.match(self.custom.achieved)
        if match:
            lo, hi = map(int, match.groups())
            return qpos[..., lo:hi]
        flat = qpos.reshape(-1, qpos.shape[-1])
        achieved = np.empty((len(flat), 3))
        for i, q in enumerate(flat):
            self._scratch.qpos[:] = q
            mujoco.mj_kinematics(self.model, self._scratch)
            achieved[i] = self._achieved(self._scratch)
        return achieved.reshape(*qpos.shape[:-1], 3)

    def _distance_of(self, achieved: np.ndarray) -> np.ndarray:
        """Maze geodesic (off the free grid: straight line), or ``|achieved - goal|``, ``(...)``."""
        line = np.linalg.norm(achieved[..., : len(self.goal)] - self.goal, axis=-1)
        if self.geodesic is None or self._field is None:
            return line
        geo = self.geodesic.query(self._field, achieved[..., :2])
        return np.where(np.isfinite(geo), geo, line)

    def distance(self) -> float:
        """The goal distance of the current state (see the module docstring)."""
        return float(self._distance_of(np.asarray(self._achieved(self.data))))

    def is_success(self) -> bool:
        if self.custom.success:
            return bool(self.inner_info.get(self.custom.success.partition(":")[2], False))
        return float(np.linalg.norm(self._achieved(self.data)[: len(self.goal)] - self.goal)) \
            < self.custom.success_threshold

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """The goal distance of simulator states ``(..., nstate)`` -> ``(...)``."""
        return self._distance_of(self._achieved_from_qpos(self.qpos_from_physics(states)))


def _maze_geodesic(inner: Any) -> GridGeodesic | None:
    """The shortest-path metric of a gymnasium-robotics maze (an inner env with ``maze``), else None."""
    maze = getattr(inner, "maze", None)
    if maze is None or not hasattr(maze, "maze_map"):
        return None
    from envs.pointmaze import BALL_RADIUS, maze_boxes

    half = np.array([maze.x_map_center, maze.y_map_center])
    return GridGeodesic(maze_boxes(maze), (*(-half), *half), radius=BALL_RADIUS - 0.01, resolution=0.05)


def _units(model: mujoco.MjModel, achieved: str) -> str:
    """Units of ``achieved``: ``m`` (sites, bodies, slide joints), ``rad`` (hinges), or both."""
    match = _QPOS.match(achieved)
    if not match:
        return "m"
    kinds = set()
    for idx in range(int(match[1]), int(match[2])):
        joint = int(np.searchsorted(model.jnt_qposadr, idx, side="right") - 1)
        jtype, offset = model.jnt_type[joint], idx - model.jnt_qposadr[joint]
        slide = jtype == mujoco.mjtJoint.mjJNT_SLIDE or (jtype == mujoco.mjtJoint.mjJNT_FREE and offset < 3)
        kinds.add("m" if slide else "rad")
    return "+".join(sorted(kinds))
