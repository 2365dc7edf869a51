"""A researcher's own MuJoCo env, used as is through ``wm/Custom-v0`` (docs/environments.md, "Your own environment").

A point mass in a walled square reaches a random target.  Nothing here knows about the
library: the target is the attribute ``target`` and ``info["is_success"]`` reports
success; ``configs/custom_pointreach_state.yaml`` tells the library where to read them.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np

XML = """
<mujoco model="point_reach">
  <option timestep="0.02" gravity="0 0 0"/>
  <worldbody>
    <light pos="0 0 2" dir="0 0 -1" directional="true"/>
    <camera name="top" pos="0 0 1.5" xyaxes="1 0 0 0 1 0" fovy="45"/>
    <geom type="plane" size="0.6 0.6 0.1" rgba="0.9 0.9 0.9 1"/>
    <geom type="box" pos=" 0.55 0 0" size="0.05 0.6 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom type="box" pos="-0.55 0 0" size="0.05 0.6 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom type="box" pos="0  0.55 0" size="0.6 0.05 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom type="box" pos="0 -0.55 0" size="0.6 0.05 0.05" rgba="0.3 0.3 0.3 1"/>
    <geom name="target" type="cylinder" size="0.05 0.001" rgba="0.1 0.7 0.1 1" contype="0" conaffinity="0"/>
    <body name="point">
      <joint name="x" type="slide" axis="1 0 0" damping="5"/>
      <joint name="y" type="slide" axis="0 1 0" damping="5"/>
      <geom type="cylinder" size="0.05 0.03" mass="1" rgba="0.2 0.3 0.9 1"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="x" gear="5" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="y" gear="5" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>
"""


class PointReachEnv(gym.Env):
    """Reach a random target with a point mass (2-D force control, 0.1 s steps)."""

    def __init__(self, success_radius: float = 0.05):
        self.model = mujoco.MjModel.from_xml_string(XML)
        self.data = mujoco.MjData(self.model)
        self.frame_skip = 5
        self.success_radius = success_radius
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float64)
        self.target = np.zeros(2)
        self._target_geom = self.model.geom("target").id

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] = self.np_random.uniform(-0.4, 0.4, 2)
        self.target = self.np_random.uniform(-0.4, 0.4, 2)
        self.model.geom_pos[self._target_geom][:2] = self.target
        mujoco.mj_forward(self.model, self.data)
        return self._obs(), {}

    def step(self, action):
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        dist = float(np.linalg.norm(self.data.qpos - self.target))
        return self._obs(), -dist, False, False, {"is_success": dist < self.success_radius}
