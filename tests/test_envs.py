"""Environments: gymnasium's checker, determinism and the goal-conditioned contract on every
registered id in both observation types; TwoRoom's geometry, drawing and random wall."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.registration import ENV_SPECS, make_env
from envs.tworoom import AGENT_RADIUS, TwoRoomEnv
from tests.envs_helpers import IDS, make

# adapters keep the wrapped envs' unbounded velocity entries: gymnasium's checker notes it
pytestmark = pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is:UserWarning")

CASES = [(i, o) for i in IDS for o in ("state", "pixels")]
NAMES = [f"{i}-{o}" for i, o in CASES]


def _rollout(env_id: str, obs_type: str, seed: int, steps: int = 12) -> list[np.ndarray]:
    env = make(env_id, obs_type=obs_type)
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs, info["goal"]]
    for _ in range(steps):
        obs, reward, term, trunc, info = env.step(env.action_space.sample())
        out += [obs, np.array([reward, info["distance"], info["success"]])]
        if term or trunc:
            break
    env.close()
    return out


@pytest.mark.parametrize(("env_id", "obs_type"), CASES, ids=NAMES)
def test_check_env(env_id, obs_type):
    env = make(env_id, obs_type=obs_type)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize(("env_id", "obs_type"), CASES, ids=NAMES)
def test_same_seed_same_rollout(env_id, obs_type):
    a, b = _rollout(env_id, obs_type, 7), _rollout(env_id, obs_type, 7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = _rollout(env_id, obs_type, 8)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(("env_id", "obs_type"), CASES, ids=NAMES)
def test_goal_contract(env_id, obs_type):
    env = make(env_id, obs_type=obs_type)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["goal"].shape == obs.shape and info["goal"].dtype == obs.dtype
    assert not np.array_equal(info["goal"], obs)
    assert isinstance(info["success"], bool) and info["distance"] > 0
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert {"goal", "success", "distance"} <= info.keys()
    assert reward == -info["distance"]
    assert env.spec.max_episode_steps == ENV_SPECS[env_id][1] > 0
    assert env_id.startswith("wm/") and env_id.endswith("-v0")
    if obs_type == "pixels":
        assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_distance_from_physics_matches_distance(env_id):
    """The oracle's batched distance agrees with the env's own on live states."""
    env = make(env_id)
    env.reset(seed=1)
    base = env.unwrapped
    states, dists = [], []
    for _ in range(5):
        _, _, _, _, info = env.step(env.action_space.sample())
        states.append(base.get_sim_state())
        dists.append(info["distance"])
    np.testing.assert_allclose(base.distance_from_physics(np.stack(states)), dists, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(base.distance_from_physics(np.stack(states)[None])[0], dists, rtol=1e-6, atol=1e-9)
    env.close()


@pytest.mark.parametrize("env_id", [i for i in IDS if i != "wm/Custom-v0"])
def test_pixels_hide_the_goal_unless_asked(env_id):
    hidden = make_env(env_id, obs_type="pixels").reset(seed=3)[0]
    shown = make_env(env_id, obs_type="pixels", show_goal=True).reset(seed=3)[0]
    assert not np.array_equal(hidden, shown)  # the marker exists and is drawn only on request


def _goal_options(env_id: str, which: int) -> dict:
    """Reset options choosing goal ``which`` (0 or 1) of an id, the start left to the seed."""
    if env_id.startswith("wm/PointMaze"):
        return {"reset_cell": np.array([1, 1]), "goal_cell": np.array([3, 1 + 2 * which])}
    env = make_env(env_id)
    env.reset(seed=20 + which)  # the goal another episode samples
    goal = np.array(env.unwrapped.goal, dtype=np.float64)
    env.close()
    return {"goal": goal}


def _start_and_goal(env_id: str, which: int, **kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(state vector, pixel observation, goal image)`` of seed 3's start with goal ``which``."""
    env = make_env(env_id, obs_type="pixels", **kwargs)
    obs, info = env.reset(seed=3, options=_goal_options(env_id, which))
    state = env.unwrapped.state_vector()
    env.close()
    return state, obs, info["goal"]


@pytest.mark.parametrize("env_id", [i for i in IDS if i != "wm/Custom-v0"])
def test_pixels_of_one_start_are_the_same_for_any_goal(env_id):
    """The goal leaves no trace in the observation: same start, different goals -> identical pixels."""
    (state_a, obs_a, goal_a), (state_b, obs_b, goal_b) = (_start_and_goal(env_id, k) for k in (0, 1))
    assert np.array_equal(state_a, state_b)  # the same start...
    assert not np.array_equal(goal_a, goal_b)  # ...toward two different goals
    assert np.array_equal(obs_a, obs_b)
    shown_a, shown_b = (_start_and_goal(env_id, k, show_goal=True)[1] for k in (0, 1))
    assert not np.array_equal(shown_a, shown_b)  # the control: a drawn goal marker would be seen


def test_image_size_is_configurable():
    env = make_env("wm/TwoRoom-v0", obs_type="pixels", image_size=32)
    obs, info = env.reset(seed=0)
    assert obs.shape == info["goal"].shape == (32, 32, 3)
    env.close()


def test_unknown_env_id_names_it():
    with pytest.raises(ValueError, match="wm/Nope-v0"):
        make_env("wm/Nope-v0")


# ----------------------------------------------------------------------------- TwoRoom
def test_start_and_goal_in_opposite_rooms_and_door_must_be_found():
    env = TwoRoomEnv()
    for seed in range(100):
        env.reset(seed=seed)
        start = env.data.qpos[:2].copy()
        assert (start[0] - env.wall_x) * (env.goal[0] - env.wall_x) < 0
        assert not env.crosses_door(start, env.goal)


def test_same_room_option():
    env = TwoRoomEnv()
    for seed in range(20):
        env.reset(seed=seed, options={"same_room": True})
        assert (env.data.qpos[0] - env.wall_x) * (env.goal[0] - env.wall_x) > 0


def test_wall_blocks_and_door_passes():
    env = TwoRoomEnv()
    env.reset(seed=0, options={"start": [-0.5, -0.5], "goal": [0.5, -0.5]})
    for _ in range(40):  # push right, below the door: the wall stops the agent
        env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert env.data.qpos[0] < env.wall_x
    env.reset(seed=0, options={"start": [-0.5, env.door_y], "goal": [0.5, env.door_y]})
    for _ in range(15):  # push right through the door
        env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert env.data.qpos[0] > env.wall_x + 0.1


def test_geodesic_distance():
    env = TwoRoomEnv()
    env.reset(seed=0, options={"start": [-0.5, -0.5], "goal": [0.5, -0.5]})
    # same room: Euclidean
    assert env.geodesic(np.array([0.6, -0.5])) == pytest.approx(0.1)
    # across the wall below the door: longer than the straight line, via the door edge
    half = env.door_width / 2 - 0.05
    corner = np.array([env.wall_x, env.door_y - half])
    expected = np.linalg.norm(np.array([-0.5, -0.5]) - corner) + np.linalg.norm(corner - env.goal)
    assert env.geodesic(np.array([-0.5, -0.5])) == pytest.approx(expected)
    assert env.distance() == pytest.approx(expected)


def test_sim_state_round_trip():
    env = TwoRoomEnv()
    env.reset(seed=3)
    for _ in range(5):
        env.step(env.action_space.sample())
    state = env.get_sim_state()
    obs = env.state_vector()
    env.step(np.ones(2, dtype=np.float32))
    env.set_sim_state(state)
    np.testing.assert_array_equal(env.state_vector(), obs)


def test_bad_obs_type_rejected():
    with pytest.raises(ValueError, match="obs_type"):
        TwoRoomEnv(obs_type="voxels")


def test_agent_drawn_larger_without_changing_physics():
    env = TwoRoomEnv()
    m = env.model
    visual = m.geom("agent_visual")
    assert visual.contype[0] == visual.conaffinity[0] == 0 and visual.size[0] > AGENT_RADIUS
    # the body's mass and inertia are those of the 1 kg, 0.05 m physical sphere alone
    assert m.body("agent").mass[0] == pytest.approx(1.0)
    np.testing.assert_allclose(m.body("agent").inertia, 0.4 * AGENT_RADIUS**2)


def _agent_pixels(obs: np.ndarray) -> int:
    red = (obs[..., 0] > 150) & (obs[..., 1] < 120) & (obs[..., 2] < 120)
    return int(red.sum())


def test_agent_is_a_few_pixels_wide_and_goal_image_shows_it_at_the_goal():
    env = TwoRoomEnv(obs_type="pixels")
    obs, info = env.reset(seed=0, options={"start": [-0.5, 0.5], "goal": [0.5, -0.5]})
    assert _agent_pixels(obs) >= 9  # at least ~3 x 3 px
    ys, xs = np.nonzero((obs[..., 0] > 150) & (obs[..., 1] < 120))
    gys, gxs = np.nonzero((info["goal"][..., 0] > 150) & (info["goal"][..., 1] < 120))
    assert xs.mean() < 32 < gxs.mean() and ys.mean() < 32 < gys.mean()  # top-left start, bottom-right goal
    env.close()


def test_random_wall_changes_per_episode_and_is_in_the_state():
    env = make_env("wm/TwoRoomRandomWall-v0")
    layouts = set()
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        base = env.unwrapped
        assert obs.shape == (6,) and obs[4] == pytest.approx(base.wall_x) and obs[5] == pytest.approx(base.door_y)
        np.testing.assert_allclose(info["goal"][4:], obs[4:])
        start = base.data.qpos[:2]
        assert (start[0] - base.wall_x) * (base.goal[0] - base.wall_x) < 0
        assert not base.crosses_door(start, base.goal)
        layouts.add((round(base.wall_x, 3), round(base.door_y, 3)))
    assert len(layouts) == 10


def _wall_column(obs: np.ndarray) -> float:
    """Image column of the middle wall: the darkest column inside the outer walls (the red
    agent disc is lighter in grey than the wall)."""
    grey = obs[8:56, 8:56].astype(float).mean(-1)
    return float(np.argmin(grey.min(0))) + 8


def test_random_wall_is_drawn_where_it_is():
    env = make_env("wm/TwoRoomRandomWall-v0", obs_type="pixels")
    seen = []
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        seen.append((env.unwrapped.wall_x, _wall_column(obs)))
    xs, cols = np.array(seen).T
    assert np.corrcoef(xs, cols)[0, 1] > 0.95
    # a wall moved by dx metres moves by dx * 64 / 2.28 px (the camera's view)
    slope = np.polyfit(xs, cols, 1)[0]
    assert 64 / 2.28 * 0.8 < slope < 64 / 2.28 * 1.2
    env.close()


def test_random_wall_blocks_the_agent():
    env = TwoRoomEnv(random_wall=True)
    env.reset(seed=4)
    y = env.door_y + 0.5 if env.door_y < 0.3 else env.door_y - 0.5
    env.set_sim_state(env.get_sim_state())
    env.data.qpos[:] = [env.wall_x - 0.3, y]
    mujoco.mj_forward(env.model, env.data)
    for _ in range(30):
        env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert env.data.qpos[0] < env.wall_x
