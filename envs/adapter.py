"""Adapters: existing gymnasium MuJoCo envs under the goal-conditioned contract.

The wrapped ("inner") env is kept whole: its own ``reset`` samples start and goal and its
own ``step`` advances the simulator (with whatever it does besides ``mj_step``).  The
adapter only reads and writes its ``model``/``data``: it renders pixel observations with
its own camera, hides goal markers, builds the goal observation by putting the simulator
in the goal configuration, and reports ``success`` and ``distance``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import gymnasium as gym
import numpy as np

from envs.goal_env import MujocoGoalEnv


class AdapterGoalEnv(MujocoGoalEnv):
    """Base of the adapters: an inner env's simulator seen through :class:`MujocoGoalEnv`.

    Subclasses set the goal from the inner env after its reset (:meth:`_after_inner_reset`)
    and implement the hooks of :class:`MujocoGoalEnv` (``state_vector``, ``distance``, ...).
    """

    def __init__(self, inner: gym.Env, frame_skip: int, state_dim: int, obs_type: str = "state",
                 image_size: int = 64, render_mode: str | None = None, terminate_on_success: bool = True):
        self.inner = inner
        super().__init__(inner.model, frame_skip=frame_skip, state_dim=state_dim, obs_type=obs_type,
                         image_size=image_size, render_mode=render_mode,
                         terminate_on_success=terminate_on_success, data=inner.data)
        space = inner.action_space
        self.action_space = gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32),
                                           space.shape, np.float32)
        self.inner_obs: Any = None
        self.inner_info: dict[str, Any] = {}

    def _inner_options(self, options: dict[str, Any]) -> dict[str, Any] | None:
        """Reset options passed on to the inner env (default: none)."""
        return None

    def _after_inner_reset(self, options: dict[str, Any]) -> None:
        """Read the goal from the inner env (``self.inner``, ``self.inner_obs``, ``self.inner_info``)."""
        raise NotImplementedError

    def _sample_task(self, rng: np.random.Generator, options: dict[str, Any]) -> None:
        seed = int(rng.integers(2**31 - 1))
        self.inner_obs, self.inner_info = self.inner.reset(seed=seed, options=self._inner_options(options))
        self._after_inner_reset(options)

    def _simulate(self, action: np.ndarray) -> None:
        out = self.inner.step(action.astype(self.inner.action_space.dtype))
        self.inner_obs, self.inner_info = out[0], out[4]

    def close(self) -> None:
        super().close()
        self.inner.close()


def make_inner(env_id: str, **kwargs) -> gym.Env:
    """The unwrapped gymnasium env ``env_id`` (no time limit or checker wrappers of its own).

    An id gymnasium does not know is a one-line ``ValueError`` saying how to register it.
    """
    try:
        inner = gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped
    except gym.error.Error as err:
        raise ValueError(f"env id {env_id!r}: {err} (an id of your own: import the module that registers it "
                         f"with --import MODULE or env.imports)") from None
    _remove_maze_xml(inner)
    return inner


def _remove_maze_xml(inner: gym.Env) -> None:
    """Delete the MJCF file a gymnasium-robotics maze writes into the temp directory for every env it makes
    (``tmp_xml_file_path``; it never removes it). The model is loaded from it once, in the constructor."""
    path = getattr(inner, "tmp_xml_file_path", None)
    ours = type(inner).__module__.startswith("gymnasium_robotics.")  # never a file of a user's own env
    if ours and isinstance(path, str) and os.path.basename(path).endswith(".xml"):
        with contextlib.suppress(OSError):
            os.remove(path)
