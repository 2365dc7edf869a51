"""Registration of the ``wm/`` environment ids, and :func:`make_env`, the one way envs are made.

:func:`make_env` also takes:

* ``imports``: user modules imported first (:mod:`envs.imports`), which may register ids;
* gymnasium-robotics maze ids, with the map's own ``max_episode_steps``:
  ``PointMaze_<map>-v3`` (``PointMaze_Medium-v3``, any map) through the same adapter as
  ``wm/PointMaze-UMaze-v0`` (:mod:`envs.pointmaze`), ``AntMaze_<map>-v5`` through
  :mod:`envs.antmaze`;
* ``goal_source`` / ``goal_dataset``: where the goal observation comes from
  (:meth:`envs.goal_env.MujocoGoalEnv.use_goal_source`).

``wm/Custom-v0`` on a registered ``env_id`` keeps that id's ``max_episode_steps`` (200 only
for an ``entry_point`` class, which has no registration).
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from envs.imports import import_user_modules

# id -> (entry point, max_episode_steps, fixed kwargs)
ENV_SPECS: dict[str, tuple[str, int, dict]] = {
    "wm/TwoRoom-v0": ("envs.tworoom:TwoRoomEnv", 200, {}),
    "wm/TwoRoomRandomWall-v0": ("envs.tworoom:TwoRoomEnv", 200, {"random_wall": True}),
    "wm/PushT-v0": ("envs.pusht:PushTEnv", 100, {}),
    "wm/PointMaze-UMaze-v0": ("envs.pointmaze:PointMazeGoalEnv", 300, {}),
    "wm/Reacher-v0": ("envs.reacher:ReacherGoalEnv", 50, {}),
    "wm/Custom-v0": ("envs.custom:CustomGoalEnv", 200, {}),  # needs env.kwargs: see envs/custom.py
}

ROBOTICS_MAZE = re.compile(r"^(PointMaze_\w+-v3|AntMaze_\w+-v5)$")
"""gymnasium-robotics maze ids made through an adapter of :data:`MAZE_ADAPTERS`."""

MAZE_ADAPTERS: dict[str, str] = {
    "PointMaze": "envs.pointmaze:PointMazeGoalEnv",
    "AntMaze": "envs.antmaze:AntMazeGoalEnv",
}
"""Entry point of the adapter of each gymnasium-robotics maze family (the id's prefix)."""

MAZE_IDS = "PointMaze_<map>-v3, AntMaze_<map>-v5"
"""The maze ids of :data:`ROBOTICS_MAZE`, as error messages name them."""


def register_all() -> None:
    """Register every id of :data:`ENV_SPECS` (idempotent)."""
    for env_id, (entry, steps, kwargs) in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, max_episode_steps=steps, kwargs=kwargs)


def registered_steps(env_id: str) -> int | None:
    """``max_episode_steps`` of a registered id (``module:Id`` imports ``module``); None if unknown."""
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError:
            return None
    if name.startswith(("PointMaze_", "AntMaze_")):
        _register_robotics()
    spec = gym.registry.get(name)
    return spec.max_episode_steps if spec is not None else None


def _register_robotics() -> None:
    with contextlib.suppress(ImportError):
        import gymnasium_robotics  # noqa: F401  (registers its ids)


def _maze_alias(env_id: str) -> str:
    """Register ``wm/<maze id>``: its family's adapter on that map, with the map's own step limit."""
    alias = f"wm/{env_id}"
    if alias not in gym.registry:
        steps = registered_steps(env_id)
        if steps is None:
            raise ValueError(f"unknown env id {env_id!r} (not a gymnasium-robotics maze id: {MAZE_IDS} "
                             f"with a map gymnasium-robotics registers; is it installed?)")
        entry = MAZE_ADAPTERS[env_id.split("_", 1)[0]]
        gym.register(id=alias, entry_point=entry, max_episode_steps=steps, kwargs={"maze_id": env_id})
    return alias


def _default_steps(env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The inner env's own ``max_episode_steps`` where the outer id would impose another."""
    if "max_episode_steps" in kwargs:
        return kwargs
    inner = ""
    if env_id == "wm/Custom-v0":
        inner = kwargs.get("env_id", "")
    elif env_id == "wm/PointMaze-UMaze-v0":
        inner = kwargs.get("maze_id", "")
    steps = registered_steps(inner) if inner else None
    return {**kwargs, "max_episode_steps": steps} if steps else kwargs


def make_env(env_id: str, /, imports: Sequence[str] = (), goal_source: str = "env", goal_dataset: str = "",
             **kwargs) -> gym.Env:
    """``gym.make`` after ``imports``, with a one-line error naming an unknown id; see the module docstring."""
    import_user_modules(imports)
    register_all()
    if ROBOTICS_MAZE.match(env_id):
        env_id = _maze_alias(env_id)
    if env_id not in gym.registry:
        known = ", ".join(sorted(k for k in gym.registry if k.startswith("wm/")))
        raise ValueError(f"unknown env id {env_id!r} (registered wm/ ids: {known}; gymnasium-robotics {MAZE_IDS}; "
                         f"an id of your own: register it in a module named by --import MODULE or env.imports)")
    try:
        env = gym.make(env_id, **_default_steps(env_id, kwargs))
    except TypeError as err:  # a keyword the constructor does not take (env.kwargs): one line, not a traceback
        bad = re.search(r"unexpected keyword argument '([^']+)'", str(err))
        if bad is None:
            raise
        raise ValueError(f"env.kwargs: {env_id} takes no argument {bad.group(1)!r}") from None
    use = getattr(env.unwrapped, "use_goal_source", None)
    if use is not None:
        use(goal_source, goal_dataset)
    elif goal_source != "env":
        env.close()
        raise ValueError(f"env.goal_source: {goal_source!r} needs a wm goal-conditioned env "
                         f"(envs.goal_env.MujocoGoalEnv); {env_id} is {type(env.unwrapped).__name__}")
    return env


def env_facts(env: gym.Env) -> dict[str, Any]:
    """What results record about the env: its label, own episode limit, distance kind and units."""
    base, spec = env.unwrapped, env.spec
    return {"env_label": getattr(base, "label", None) or (spec.id if spec is not None else type(base).__name__),
            "max_episode_steps": spec.max_episode_steps if spec is not None else None,
            "distance_kind": getattr(base, "distance_kind", None),
            "distance_units": getattr(base, "distance_units", None) or None}
