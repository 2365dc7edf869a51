"""Registration of the ``wm/`` environment ids."""

from __future__ import annotations

import gymnasium as gym

# id -> (entry point, max_episode_steps, fixed kwargs)
ENV_SPECS: dict[str, tuple[str, int, dict]] = {
    "wm/TwoRoom-v0": ("envs.tworoom:TwoRoomEnv", 200, {}),
    "wm/TwoRoomRandomWall-v0": ("envs.tworoom:TwoRoomEnv", 200, {"random_wall": True}),
    "wm/PushT-v0": ("envs.pusht:PushTEnv", 100, {}),
    "wm/PointMaze-UMaze-v0": ("envs.pointmaze:PointMazeGoalEnv", 300, {}),
    "wm/Reacher-v0": ("envs.reacher:ReacherGoalEnv", 50, {}),
    "wm/Custom-v0": ("envs.custom:CustomGoalEnv", 200, {}),  # needs env.kwargs: see envs/custom.py
}


def register_all() -> None:
    """Register every id of :data:`ENV_SPECS` (idempotent)."""
    for env_id, (entry, steps, kwargs) in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, max_episode_steps=steps, kwargs=kwargs)


def make_env(env_id: str, /, **kwargs) -> gym.Env:
    """``gym.make`` with a one-line error naming an unknown id."""
    register_all()
    if env_id not in gym.registry:
        known = ", ".join(sorted(k for k in gym.registry if k.startswith("wm/")))
        raise ValueError(f"unknown env id {env_id!r} (registered wm/ ids: {known})")
    return gym.make(env_id, **kwargs)
