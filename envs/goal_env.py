"""Base class for goal-conditioned MuJoCo environments (the contract of ARCHITECTURE.md).

Contract:
    * ``reset(seed=, options=)`` -> ``(obs, info)`` with ``info["goal"]`` the goal
      *observation* (same space as ``obs``), ``info["success"]``, ``info["distance"]``.
    * ``step(a)`` -> ``(obs, reward, terminated, truncated, info)``; ``reward = -distance``,
      ``info`` carries ``success`` and ``distance`` (the task's own metric).
    * ``get_sim_state()`` / ``set_sim_state(s)``: the flat ``mjSTATE_FULLPHYSICS`` vector.
    * ``obs_type="state"`` gives a float32 vector, ``"pixels"`` a uint8 ``(H, W, 3)`` image.
    * ``distance_from_physics(states (..., nstate)) -> (...)``: the task distance of
      simulator states, so an oracle can score ``mujoco.rollout`` trajectories.
    * ``state_from_physics(states (..., nstate)) -> (..., S)``: the state vector of
      simulator states, and ``goal_state`` the state vector of the goal configuration
      (for the ``oracle-goal`` and ``sim-latent`` controls); ``frames_from_physics`` their
      camera images ``(..., H, W, 3)`` (``sim-latent`` of a pixel model).
    * The ``offset`` protocol: ``reset(options={"start_state": s, "goal_state": g})`` (flat
      simulator states, e.g. two states of one recorded trajectory) starts from ``s`` and
      takes the observation of ``g`` as the goal; ``success`` and ``distance`` then follow
      the peers' rule for the task, ``offset_margin_from_physics`` (success iff < 1).

A subclass either builds its own world from MJCF (``TwoRoomEnv``, ``PushTEnv``) or adapts an
existing gymnasium MuJoCo env by passing its ``model``/``data`` and overriding
:meth:`_simulate` (``envs/adapter.py``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from envs.render import FreeCamera, LazyRenderer

OBS_TYPES = ("state", "pixels")
STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS


class MujocoGoalEnv(gym.Env):
    """A MuJoCo world with a sampled start and goal; subclasses define the task."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        model: str | mujoco.MjModel,
        frame_skip: int,
        state_dim: int,
        obs_type: str = "state",
        image_size: int = 64,
        render_mode: str | None = None,
        terminate_on_success: bool = True,
        data: mujoco.MjData | None = None,
    ):
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {OBS_TYPES}, got {obs_type!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.model = mujoco.MjModel.from_xml_string(model) if isinstance(model, str) else model
        self.data = mujoco.MjData(self.model) if data is None else data
        self.frame_skip = frame_skip
        self.obs_type = obs_type
        self.image_size = image_size
        self.render_mode = render_mode
        self.terminate_on_success = terminate_on_success
        self._renderer = LazyRenderer(self.model, image_size, image_size, camera=self._camera_name())
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.dt)}
        nu = self.model.nu
        lo, hi = self.model.actuator_ctrlrange[:, 0], self.model.actuator_ctrlrange[:, 1]
        self.action_space = gym.spaces.Box(lo.astype(np.float32), hi.astype(np.float32), (nu,), np.float32)
        if obs_type == "state":
            low, high = self.state_bounds(state_dim)
            self.observation_space = gym.spaces.Box(low, high, (state_dim,), np.float32)
        else:
            self.observation_space = gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        self._goal_obs: np.ndarray | None = None
        self.goal_state: np.ndarray | None = None
        """State vector ``(S,)`` of the goal configuration (set at every reset)."""
        self.offset_goal: np.ndarray | None = None
        """Goal simulator state of an ``offset``-protocol episode (None under the task protocol)."""
        self._scratch: mujoco.MjData | None = None
        self.goal_source = "env"
        """Where the goal observation comes from (:meth:`use_goal_source`)."""
        self.goal_required = True
        """False while exploring: a reset then needs no goal observation (``goal_source: dataset``)."""
        self.goal_gap = 0.0
        """``goal_source: dataset``: distance from the retrieved observation's achieved goal to the goal."""
        self._goal_lookup = None

    distance_kind = "task"
    """What :meth:`distance` measures (``task``: the env's own metric; ``straight line``, ``maze geodesic``)."""
    distance_units = ""
    """Units of :meth:`distance` (``m``, ``rad``...), carried into results."""

    # ----------------------------------------------------------------- subclass hooks
    def _camera_name(self) -> str | int | FreeCamera:
        """The camera of pixel observations: a model camera name / id, or a free camera."""
        return -1

    def state_bounds(self, state_dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Bounds ``(low, high)`` of the state observation, each ``(S,)``."""
        inf = np.full(state_dim, np.inf, dtype=np.float32)
        return -inf, inf

    def _sample_task(self, rng: np.random.Generator, options: dict[str, Any]) -> None:
        """Set the initial simulator state and the goal from ``rng`` and ``options``."""
        raise NotImplementedError

    def _apply_goal_config(self) -> None:
        """Put the simulator in the goal configuration (for the goal observation)."""
        raise NotImplementedError

    def state_vector(self) -> np.ndarray:
        """The true low-dimensional state ``(S,)`` float32 (also the state observation)."""
        raise NotImplementedError

    def distance(self) -> float:
        """The task's own distance to the goal (e.g. metres)."""
        raise NotImplementedError

    def is_success(self) -> bool:
        raise NotImplementedError

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """The task distance for simulator states ``(..., nstate)`` -> ``(...)`` (for the oracle)."""
        raise NotImplementedError

    def achieved_from_states(self, states: np.ndarray) -> np.ndarray:
        """What is compared with the goal vector, for recorded state vectors ``(N, S)`` -> ``(N, G)``
        (for ``goal_source: dataset``)."""
        raise NotImplementedError(f"{type(self).__name__}: no achieved_from_states, so goal_source: dataset "
                                  f"cannot retrieve goals for it")

    def speed_from_states(self, states: np.ndarray) -> np.ndarray:
        """A speed per recorded state ``(N, S)`` -> ``(N,)`` (retrieval prefers states at rest; default 0)."""
        return np.zeros(len(states))

    def use_goal_source(self, source: str = "env", dataset: str = "") -> None:
        """``env``: the goal observation is built by :meth:`_apply_goal_config`; ``dataset``: it is the
        observation of ``dataset`` (a file) whose achieved goal is nearest ``self.goal``
        (:class:`envs.goal_retrieval.DatasetGoals`).  Without a file a reset needs no goal only
        when ``goal_required`` is False (exploration)."""
        if source not in ("env", "dataset"):
            raise ValueError(f"goal_source: must be 'env' or 'dataset', got {source!r}")
        self.goal_source, self._goal_lookup = source, None
        if source == "dataset" and dataset:
            from envs.goal_retrieval import DatasetGoals

            self._goal_lookup = DatasetGoals(dataset, self)

    def offset_margin_from_physics(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """The peers' success rule as a margin: ``(..., nstate)``, goal ``(nstate,)`` -> ``(...)``.

        Success under the ``offset`` protocol is ``margin < 1`` (e.g. Reacher: the largest
        joint error over 0.05 rad).  Envs without a published rule do not support the protocol.
        """
        raise NotImplementedError(f"{type(self).__name__}: no offset-protocol success rule")

    def goal_distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """The distance the episode is scored by: the task's, or the offset margin ``(...)``."""
        if self.offset_goal is not None:
            return self.offset_margin_from_physics(states, self.offset_goal)
        return self.distance_from_physics(states)

    def state_from_physics(self, states: np.ndarray) -> np.ndarray:
        """State vectors ``(..., S)`` of simulator states ``(..., nstate)``.

        Generic: each state is loaded into a scratch ``MjData`` and read by
        :meth:`state_vector`; envs override it with a vectorised form.
        """
        flat = np.asarray(states, dtype=np.float64).reshape(-1, states.shape[-1])
        data, self.data = self.data, self._scratch_data()
        try:
            out = []
            for s in flat:
                mujoco.mj_setState(self.model, self.data, s, STATE_SPEC)
                out.append(self.state_vector())
        finally:
            self.data = data
        return np.stack(out).reshape(*states.shape[:-1], -1).astype(np.float32)

    def frames_from_physics(self, states: np.ndarray) -> np.ndarray:
        """Camera images ``(..., H, W, 3)`` uint8 of simulator states ``(..., nstate)``: the pixel
        observation each state would give (one render per state, on a scratch ``MjData``; positions and
        lights only, the render reads nothing else)."""
        scratch = self._scratch_data()
        flat = np.asarray(states, dtype=np.float64).reshape(-1, states.shape[-1])
        frames = []
        for s in flat:
            mujoco.mj_setState(self.model, scratch, s, STATE_SPEC)
            mujoco.mj_kinematics(self.model, scratch)
            mujoco.mj_camlight(self.model, scratch)
            frames.append(self._renderer.render(scratch))
        return np.stack(frames).reshape(*states.shape[:-1], *frames[0].shape)

    def _scratch_data(self) -> mujoco.MjData:
        """A spare ``MjData`` of the model (created once) for reading simulator states off the live one."""
        if self._scratch is None:
            self._scratch = mujoco.MjData(self.model)
        return self._scratch

    def qpos_from_physics(self, states: np.ndarray) -> np.ndarray:
        """``qpos (..., nq)`` out of ``mjSTATE_FULLPHYSICS`` vectors ``(..., nstate)``."""
        return states[..., 1:1 + self.model.nq]  # layout: time, qpos, qvel, act, ...

    def qvel_from_physics(self, states: np.ndarray) -> np.ndarray:
        """``qvel (..., nv)`` out of ``mjSTATE_FULLPHYSICS`` vectors ``(..., nstate)``."""
        nq = self.model.nq
        return states[..., 1 + nq:1 + nq + self.model.nv]

    # ----------------------------------------------------------------- gymnasium API
    @property
    def dt(self) -> float:
        return float(self.model.opt.timestep) * self.frame_skip

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        options = dict(options or {})
        self._sample_task(self.np_random, options)  # also under offset: it sets the layout
        mujoco.mj_forward(self.model, self.data)
        self.offset_goal = None
        if "start_state" in options or "goal_state" in options:
            self._set_offset_task(options)
        else:
            self._goal_obs = self._observe_goal()
        return self._observe(), self._info()

    def _set_offset_task(self, options: dict[str, Any]) -> None:
        """Start at ``options["start_state"]``, goal = the observation of ``options["goal_state"]``."""
        if "start_state" not in options or "goal_state" not in options:
            raise ValueError("offset reset: needs both 'start_state' and 'goal_state'")
        size = mujoco.mj_stateSize(self.model, STATE_SPEC)
        start, goal = (np.asarray(options[k], dtype=np.float64) for k in ("start_state", "goal_state"))
        if start.shape != (size,) or goal.shape != (size,):
            raise ValueError(f"offset reset: states must have shape ({size},), got {start.shape}, {goal.shape}")
        self.offset_margin_from_physics(goal, goal)  # fails early for envs without a rule
        self.set_sim_state(goal)
        self._goal_obs, self.goal_state = self._observe(), self.state_vector()
        self.set_sim_state(start)
        self.offset_goal = goal

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_space.low, self.action_space.high)
        if not np.all(np.isfinite(action)):
            raise ValueError(f"non-finite action {action}")
        self._simulate(action)
        info = self._info()
        terminated = bool(info["success"] and self.terminate_on_success)
        return self._observe(), -info["distance"], terminated, False, info

    def render(self):
        if self.render_mode == "rgb_array":
            return self._renderer.render(self.data)
        return None

    def close(self) -> None:
        self._renderer.close()

    def _simulate(self, action: np.ndarray) -> None:
        """Advance the simulator by one env step under ``action (A,)`` (already clipped)."""
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)

    # ----------------------------------------------------------------- helpers
    def get_sim_state(self) -> np.ndarray:
        """The flat ``mjSTATE_FULLPHYSICS`` vector ``(nstate,)`` float64."""
        state = np.empty(mujoco.mj_stateSize(self.model, STATE_SPEC))
        mujoco.mj_getState(self.model, self.data, state, STATE_SPEC)
        return state

    def set_sim_state(self, state: np.ndarray) -> None:
        mujoco.mj_setState(self.model, self.data, np.asarray(state, dtype=np.float64), STATE_SPEC)
        mujoco.mj_forward(self.model, self.data)

    def render_frame(self) -> np.ndarray:
        """The camera image of the current configuration, uint8 ``(H, W, 3)``."""
        return self._renderer.render(self.data)

    def render_goal(self) -> np.ndarray:
        """The camera image of the goal configuration, uint8 ``(H, W, 3)`` (for videos of state-obs runs)."""
        saved = self.get_sim_state()
        if self.offset_goal is not None:
            self.set_sim_state(self.offset_goal)
        else:
            self._apply_goal_config()
            mujoco.mj_forward(self.model, self.data)
        image = self.render_frame()
        self.set_sim_state(saved)
        return image

    def _observe(self) -> np.ndarray:
        if self.obs_type == "state":
            return self.state_vector().astype(np.float32)
        return self.render_frame()

    def _observe_goal(self) -> np.ndarray:
        if self.goal_source == "dataset":
            return self._retrieve_goal()
        saved = self.get_sim_state()
        self._apply_goal_config()
        mujoco.mj_forward(self.model, self.data)
        goal, self.goal_state = self._observe(), self.state_vector()
        self.set_sim_state(saved)
        return goal

    def _retrieve_goal(self) -> np.ndarray:
        """The dataset's observation nearest ``self.goal`` (the current one while exploring)."""
        if self._goal_lookup is None:
            if self.goal_required:
                raise ValueError(f"{type(self).__name__}: goal_source: dataset, but no dataset to retrieve goals "
                                 f"from (make_env(..., goal_dataset=PATH); wm eval passes the run's)")
            self.goal_state, self.goal_gap = self.state_vector(), 0.0
            return self._observe()
        goal = getattr(self, "goal", None)
        if goal is None:
            raise ValueError(f"{type(self).__name__}: goal_source: dataset needs the goal vector as attribute 'goal'")
        obs, self.goal_state, self.goal_gap = self._goal_lookup.lookup(goal)
        return obs

    def _info(self) -> dict[str, Any]:
        if self.offset_goal is not None:
            margin = float(self.offset_margin_from_physics(self.get_sim_state(), self.offset_goal))
            return {"goal": self._goal_obs.copy(), "success": margin < 1.0, "distance": margin}
        dist = float(self.distance())
        return {"goal": self._goal_obs.copy(), "success": bool(self.is_success()), "distance": dist}
