"""A GoalEnv whose goal is given only in task space, as most real ones (Fetch, mazes, hands).

A point on a rotating, telescoping arm (a hinge ``theta`` and a slide ``r``: polar joints)
reaches a target position.  The observation is a dict: ``observation`` (qpos, qvel),
``achieved_goal`` (the point's x, y in metres) and ``desired_goal`` (the target's x, y);
``info["is_success"]`` reports success.  The goal is *not* a joint configuration: writing
the target's x, y into ``(theta, r)`` gives a wrong goal (``target_joints`` holds the right
joint coordinates, for comparison).  Importing this module registers
``examples/PolarReach-v0`` (100 steps); ``examples/polar_reach.yaml`` runs it through
``wm/Custom-v0`` with ``env.goal_source: dataset``::

    wm run --config examples/polar_reach.yaml        # from the repository root

Nothing here knows about the library.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np

XML = """
<mujoco model="polar_reach">
  <option timestep="0.02" gravity="0 0 0"/>
  <worldbody>
    <light pos="0 0 2" dir="0 0 -1" directional="true"/>
    <camera name="top" pos="0 0 1.3" xyaxes="1 0 0 0 1 0" fovy="45"/>
    <geom type="plane" size="0.6 0.6 0.1" rgba="0.9 0.9 0.9 1"/>
    <geom name="target" type="cylinder" size="0.03 0.001" rgba="0.1 0.7 0.1 1" contype="0" conaffinity="0"/>
    <body name="arm">
      <joint name="theta" type="hinge" axis="0 0 1" range="-2.5 2.5" limited="true" damping="1"/>
      <geom type="capsule" fromto="0 0 0.02 0.45 0 0.02" size="0.008" mass="0.01" rgba="0.4 0.4 0.4 1"
            contype="0" conaffinity="0"/>
      <body name="slider">
        <joint name="r" type="slide" axis="1 0 0" range="0.05 0.45" limited="true" damping="5"/>
        <geom type="sphere" size="0.03" mass="1" rgba="0.2 0.3 0.9 1" contype="0" conaffinity="0"/>
        <site name="tip" size="0.005"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="theta" gear="3" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="r" gear="1" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>
"""

ENV_ID = "polar_reach/PolarReach-v0"


class PolarReachEnv(gym.Env):
    """Reach a target x, y with polar joints (2-D force control, 0.1 s steps)."""

    def __init__(self, success_radius: float = 0.05):
        self.model = mujoco.MjModel.from_xml_string(XML)
        self.data = mujoco.MjData(self.model)
        self.frame_skip = 5
        self.success_radius = success_radius
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        box = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.observation_space = gym.spaces.Dict({
            "observation": gym.spaces.Box(-np.inf, np.inf, (4,), np.float64),
            "achieved_goal": box, "desired_goal": box})
        self.target = np.zeros(2)
        self.target_joints = np.zeros(2)
        """The target as joint coordinates ``(theta, r)``: what a correct goal configuration needs."""
        self._target_geom = self.model.geom("target").id

    def _obs(self) -> dict[str, np.ndarray]:
        return {"observation": np.concatenate([self.data.qpos, self.data.qvel]),
                "achieved_goal": self.data.site("tip").xpos[:2].copy(), "desired_goal": self.target.copy()}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] = [self.np_random.uniform(-2.2, 2.2), self.np_random.uniform(0.1, 0.4)]
        theta, r = self.np_random.uniform(-2.2, 2.2), self.np_random.uniform(0.1, 0.4)
        self.target = r * np.array([np.cos(theta), np.sin(theta)])
        self.target_joints = np.array([theta, r])
        self.model.geom_pos[self._target_geom][:2] = self.target
        mujoco.mj_forward(self.model, self.data)
        return self._obs(), {}

    def step(self, action):
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        mujoco.mj_kinematics(self.model, self.data)  # positions of the new state (mj_step leaves the old)
        obs = self._obs()
        dist = float(np.linalg.norm(obs["achieved_goal"] - self.target))
        return obs, -dist, False, False, {"is_success": dist < self.success_radius}


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=f"{__name__}:PolarReachEnv", max_episode_steps=100)
