"""``wm/PushT-v0``: push a T-shaped block to a goal pose with a round pusher, in MuJoCo.

Geometry is Diffusion Policy's / DINO-WM's Push-T (a 512 px workspace) scaled to a
1 m x 1 m table (1 px = 1/512 m): the T is a bar of 120 x 30 px on a stem of 30 x 90 px
(0.234 x 0.059 m and 0.059 x 0.176 m), the pusher a disc of radius 15 px (0.029 m).
Walls bound the table.

Dynamics (0.02 s simulator steps, 5 per 0.1 s env step): the pusher (0.5 kg) is a disc on
two slide joints driven by stiff velocity servos (action ``[-1, 1]^2`` -> target velocity
``0.5 m/s * a``, gain 150 N s/m, settling in ~10 ms).  The block moves in the plane on
``x, y, yaw`` joints with its frame at the T's centre of mass; the table's friction is
Coulomb friction on these joints (``frictionloss``: 1.5 N, 0.1 N m; the ellipsoidal
limit-surface model of planar pushing) plus viscous damping, so the block is
quasi-static: it stops within a fraction of a step once the pusher leaves it.
Pusher-block contacts have friction 0.5.

Task: the goal is a T pose ``(x, y, angle)`` reached from the start by a noisy scripted
push of ``goal_steps`` steps (so every goal is reachable, like DINO-WM's goals taken
``25`` steps ahead in recorded trajectories), redrawn until it differs from the start by
at least twice a success threshold (median change: 0.165 m and 34 deg); the goal
observation shows the block at that pose and the pusher where the push left it.  Success: block position error
``< success_pos`` (0.04 m, DINO-WM's 20 px of 512) and angle error ``< success_angle``
(20 deg, DINO-WM's pi / 9).  Unlike DINO-WM the pusher's own position is not scored: the
goal is the T pose.

State observation ``(6,)``: pusher ``x, y``, block ``x, y``, block ``sin, cos`` of the
angle.  Velocities are left out because the dynamics are nearly quasi-static: restarting
a step from the same positions at rest moves the next state by 1-2 mm and under 1 deg on
average (``tests/test_pusht.py::test_positions_are_nearly_markov`` measures it).

Pixels: the T is one colour, as in DINO-WM.  At 64 px its silhouette is nearly three-fold symmetric
(bar ends and stem end), and the learned latents keep the block's position but barely its angle;
``two_tone=True`` colours the stem apart from the bar, an option for studying that (off by default).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from envs.goal_env import MujocoGoalEnv
from envs.pusht_script import ScriptedPusher
from envs.tshape import BAR_CENTER, BAR_HALF, DT, MAX_SPEED, PUSHER_RADIUS, STEM_CENTER, STEM_HALF, TABLE

ANGLE_WEIGHT = 0.1              # metres per radian in the combined distance
MIN_GOAL_CHANGE = 2.0           # goals differ from the start by >= 2x a success threshold
FRAME_SKIP = 5                  # simulator steps per env step (timestep DT / FRAME_SKIP = 0.02 s)
STEM_TWO_TONE_RGBA = (0.9, 0.55, 0.15, 1.0)  # the stem's colour with ``two_tone`` (the bar stays blue)

_XML = """
<mujoco model="pusht">
  <option timestep="{ts}" gravity="0 0 0" integrator="implicitfast" iterations="20" ls_iterations="10"/>
  <visual><global offwidth="256" offheight="256"/><headlight ambient="0.5 0.5 0.5"/></visual>
  <default>
    <geom contype="1" conaffinity="1" condim="3" friction="0.5 0.005 0.0001"/>
  </default>
  <worldbody>
    <camera name="top" pos="0 0 1.3" xyaxes="1 0 0 0 1 0" fovy="45"/>
    <geom name="table" type="plane" size="0.6 0.6 0.1" rgba="0.95 0.95 0.95 1" contype="0" conaffinity="0"/>
    <geom name="wall_e" type="box" pos=" {w} 0 0" size="0.05 {wl} 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom name="wall_w" type="box" pos="-{w} 0 0" size="0.05 {wl} 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom name="wall_n" type="box" pos="0  {w} 0" size="{wl} 0.05 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom name="wall_s" type="box" pos="0 -{w} 0" size="{wl} 0.05 0.05" rgba="0.3 0.3 0.3 1"/>
    <body name="goal" pos="0 0 0.001">
      <geom name="goal_bar" type="box" pos="{bar_c} 0" size="{bar_h} 0.001" rgba="0.2 0.8 0.2 0"
            contype="0" conaffinity="0"/>
      <geom name="goal_stem" type="box" pos="{stem_c} 0" size="{stem_h} 0.001" rgba="0.2 0.8 0.2 0"
            contype="0" conaffinity="0"/>
    </body>
    <body name="block" pos="0 0 0.02">
      <joint name="bx" type="slide" axis="1 0 0" frictionloss="1.5" damping="10"/>
      <joint name="by" type="slide" axis="0 1 0" frictionloss="1.5" damping="10"/>
      <joint name="bt" type="hinge" axis="0 0 1" frictionloss="0.1" damping="0.08"/>
      <geom name="bar" type="box" pos="{bar_c} 0" size="{bar_h} 0.02" density="500" rgba="0.35 0.45 0.75 1"/>
      <geom name="stem" type="box" pos="{stem_c} 0" size="{stem_h} 0.02" density="500" rgba="0.35 0.45 0.75 1"/>
    </body>
    <body name="pusher" pos="0 0 0.02">
      <joint name="px" type="slide" axis="1 0 0"/>
      <joint name="py" type="slide" axis="0 1 0"/>
      <geom name="pusher" type="cylinder" size="{pr} 0.03" mass="0.5" rgba="0.85 0.2 0.2 1"/>
    </body>
  </worldbody>
  <actuator>
    <general joint="px" ctrlrange="-1 1" ctrllimited="true" gainprm="{gain}" biastype="affine" biasprm="0 0 -{kv}"/>
    <general joint="py" ctrlrange="-1 1" ctrllimited="true" gainprm="{gain}" biastype="affine" biasprm="0 0 -{kv}"/>
  </actuator>
</mujoco>
"""


def _xml() -> str:
    kv = 150.0  # servo gain (N s/m)

    def vec(v: np.ndarray) -> str:
        return f"{v[0]:.6f} {v[1]:.6f}"

    return _XML.format(w=TABLE + 0.05, wl=TABLE + 0.1, bar_c=vec(BAR_CENTER), stem_c=vec(STEM_CENTER),
                       bar_h=vec(BAR_HALF), stem_h=vec(STEM_HALF), pr=PUSHER_RADIUS, kv=kv, gain=kv * MAX_SPEED,
                       ts=DT / FRAME_SKIP)


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles mapped to ``[-pi, pi)``."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def block_moved(states: np.ndarray, min_move: float = 1e-3, min_turn: float = np.radians(0.5)) -> np.ndarray:
    """Whether the block moved in each step of a state sequence ``(T+1, 6)`` -> ``(T,)`` bool.

    Moved: its centre travelled more than ``min_move`` metres or it turned more than
    ``min_turn`` radians.
    """
    xy, angle = states[:, 2:4], np.arctan2(states[:, 4], states[:, 5])
    travel = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    turn = np.abs(wrap_angle(np.diff(angle)))
    return (travel > min_move) | (turn > min_turn)


class PushTEnv(MujocoGoalEnv):
    """Round pusher, T-shaped block, goal T pose.  See the module docstring."""

    distance_kind, distance_units = "pose error", "m + 0.1 m/rad"

    def __init__(
        self,
        obs_type: str = "state",
        image_size: int = 64,
        render_mode: str | None = None,
        goal_steps: int = 25,
        goal_noise: float = 0.3,
        success_pos: float = 0.04,
        success_angle: float = np.pi / 9,
        show_goal: bool = False,
        terminate_on_success: bool = True,
        two_tone: bool = False,
    ):
        if goal_steps < 1:
            raise ValueError(f"goal_steps must be >= 1, got {goal_steps}")
        self.goal_steps, self.goal_noise = goal_steps, goal_noise
        self.success_pos, self.success_angle = success_pos, success_angle
        self.show_goal = show_goal
        super().__init__(_xml(), frame_skip=FRAME_SKIP, state_dim=6, obs_type=obs_type, image_size=image_size,
                         render_mode=render_mode, terminate_on_success=terminate_on_success)
        self._goal_body = self.model.body("goal").id
        self._goal_geoms = [self.model.geom("goal_bar").id, self.model.geom("goal_stem").id]
        if two_tone:  # a stem coloured apart from the bar: the T's orientation no longer hides in its silhouette
            self.model.geom_rgba[self.model.geom("stem").id] = STEM_TWO_TONE_RGBA
        self.goal = np.zeros(3)          # block x, y, angle
        self.goal_pusher = np.zeros(2)   # pusher position in the goal observation

    def _camera_name(self) -> str:
        return "top"

    def state_bounds(self, state_dim: int) -> tuple[np.ndarray, np.ndarray]:
        high = np.array([TABLE, TABLE, TABLE, TABLE, 1.0, 1.0], dtype=np.float32)
        return -high, high

    def scripted_policy(self, noise: float = 0.3) -> ScriptedPusher:
        """A noisy scripted pusher that goes round the block and pushes it (exploration)."""
        return ScriptedPusher(noise=noise)

    # ----------------------------------------------------------------- task
    def _place(self, pusher: np.ndarray, block: np.ndarray) -> None:
        self.data.qpos[:] = [block[0], block[1], block[2], pusher[0], pusher[1]]
        self.data.qvel[:] = 0.0
        self.data.ctrl[:] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def _sample_start(self, rng: np.random.Generator) -> None:
        block = np.array([*rng.uniform(-0.25, 0.25, 2), rng.uniform(-np.pi, np.pi)])
        for _ in range(100):
            pusher = rng.uniform(-TABLE + 0.05, TABLE - 0.05, 2)
            self._place(pusher, block)
            if self.data.ncon == 0:
                return
        raise RuntimeError("could not place the pusher clear of the block")

    def _scripted_goal(self, rng: np.random.Generator) -> None:
        """Push from the current state for ``goal_steps`` steps; record the goal, restore."""
        start = self.get_sim_state()
        policy = ScriptedPusher(noise=self.goal_noise)
        policy.reset(rng)
        for _ in range(self.goal_steps):
            self._simulate(policy(None, self.state_vector()))
        self.goal = self.block_pose().copy()
        self.goal_pusher = self.data.qpos[3:5].copy()
        self.set_sim_state(start)

    def _sample_task(self, rng: np.random.Generator, options: dict[str, Any]) -> None:
        for _ in range(50):
            self._sample_start(rng)
            if "start" in options:
                s = np.asarray(options["start"], dtype=np.float64)  # pusher x, y, block x, y, angle
                self._place(s[:2], s[2:5])
            self._scripted_goal(rng)
            if "goal" in options:
                self.goal = np.asarray(options["goal"], dtype=np.float64)[:3]
                break
            pos, ang = self.pose_errors(self.block_pose())
            if pos >= MIN_GOAL_CHANGE * self.success_pos or ang >= MIN_GOAL_CHANGE * self.success_angle:
                break
        self.model.body_pos[self._goal_body][:2] = self.goal[:2]
        self.model.body_quat[self._goal_body] = [np.cos(self.goal[2] / 2), 0, 0, np.sin(self.goal[2] / 2)]
        for g in self._goal_geoms:
            self.model.geom_rgba[g][3] = 0.5 if self.show_goal else 0.0

    def _apply_goal_config(self) -> None:
        self._place(self.goal_pusher, self.goal)

    # ----------------------------------------------------------------- metrics
    def block_pose(self) -> np.ndarray:
        """Block ``x, y, angle`` ``(3,)``."""
        return self.data.qpos[:3].copy()

    def state_vector(self) -> np.ndarray:
        q = self.data.qpos
        return np.array([q[3], q[4], q[0], q[1], np.sin(q[2]), np.cos(q[2])], dtype=np.float32)

    def pose_errors(self, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position error (m) and absolute angle error (rad) of block poses ``(..., 3)``."""
        pos = np.linalg.norm(pose[..., :2] - self.goal[:2], axis=-1)
        ang = np.abs(wrap_angle(pose[..., 2] - self.goal[2]))
        return pos, ang

    def state_from_physics(self, states: np.ndarray) -> np.ndarray:
        """``pusher x, y, block x, y, sin, cos`` ``(..., 6)`` of simulator states ``(..., nstate)``."""
        q = self.qpos_from_physics(states)
        return np.stack([q[..., 3], q[..., 4], q[..., 0], q[..., 1], np.sin(q[..., 2]), np.cos(q[..., 2])],
                        axis=-1).astype(np.float32)

    def offset_margin_from_physics(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """DINO-WM's rule as a margin ``(...)``: pusher + block xy 4-vector error over ``success_pos``
        (their 20 px of a 512-px window, 0.039 m of our 1 m table) and block angle error over
        ``success_angle``, whichever is larger (success iff both are within)."""
        q, g = self.qpos_from_physics(states), self.qpos_from_physics(goal)
        pos = np.linalg.norm(q[..., [3, 4, 0, 1]] - g[[3, 4, 0, 1]], axis=-1)
        ang = np.abs(wrap_angle(q[..., 2] - g[2]))
        return np.maximum(pos / self.success_pos, ang / self.success_angle)

    def distance(self) -> float:
        """Position error + ``ANGLE_WEIGHT`` * angle error (metres; 0.1 m per radian)."""
        return float(self.distance_from_physics(self.get_sim_state()))

    def is_success(self) -> bool:
        pos, ang = self.pose_errors(self.block_pose())
        return bool(pos < self.success_pos and ang < self.success_angle)

    def distance_from_physics(self, states: np.ndarray) -> np.ndarray:
        """Combined pose distance for simulator states ``(..., nstate)`` -> ``(...)``."""
        pos, ang = self.pose_errors(self.qpos_from_physics(states)[..., :3])
        return pos + ANGLE_WEIGHT * ang
