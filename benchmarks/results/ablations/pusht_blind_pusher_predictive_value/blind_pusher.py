"""Push-T data from an angle-blind pusher: does the block's angle become predictive when the pushes do not follow it?

The shipped scripted pusher picks a face of the T from the block's pose and pushes along that face's normal, so
its actions already carry the angle. This pusher sees only the block's position: it circles to a random side
of the block (at the clearance radius), then drives through a point near the block's centre for 4-12 steps;
where it meets the T, and how the T turns, then depends on the angle. Writes states and actions in the
dataset layout (no frames) for ``python -m benchmarks.predictive_value``.

Usage: ``python blind_pusher.py OUT.h5 EPISODES [NOISE]``
"""
import sys

import h5py
import numpy as np

from envs.collect import record_episode
from envs.pusht_script import CLEARANCE
from envs.registration import make_env
from envs.tshape import DT, MAX_SPEED


class BlindPusher:
    """Approach a random side of the block (position only), then push through a point near its centre."""

    def __init__(self, noise: float):
        self.noise, self.rng = noise, np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._new_target()

    def _new_target(self) -> None:
        self.side = self.rng.uniform(-np.pi, np.pi)
        self.aim = self.rng.uniform(-0.05, 0.05, 2)
        self.push_left, self.phase, self.steps = int(self.rng.integers(4, 13)), "approach", 0

    def __call__(self, obs, state: np.ndarray) -> np.ndarray:
        pusher, block = np.asarray(state[:2], float), np.asarray(state[2:4], float)
        if self.phase == "approach":
            pre = block + CLEARANCE * np.array([np.cos(self.side), np.sin(self.side)])
            rel, rel_pre = pusher - block, pre - block
            phi, phi_pre = np.arctan2(rel[1], rel[0]), np.arctan2(rel_pre[1], rel_pre[0])
            gap = (phi_pre - phi + np.pi) % (2 * np.pi) - np.pi
            nxt = phi + np.sign(gap) * 0.5
            target = pre if abs(gap) < 0.5 else block + CLEARANCE * np.array([np.cos(nxt), np.sin(nxt)])
            velocity = (target - pusher) / DT
            self.steps += 1
            if np.linalg.norm(pre - pusher) < 0.015:
                self.phase = "push"
            elif self.steps > 40:
                self._new_target()
        else:
            d = block + self.aim - pusher
            velocity = d / (np.linalg.norm(d) + 1e-9) * MAX_SPEED
            self.push_left -= 1
            if self.push_left <= 0:
                self._new_target()
        action = velocity / MAX_SPEED
        action = action / max(1.0, float(np.linalg.norm(action)))
        return np.clip(action + self.noise * self.rng.standard_normal(2), -1.0, 1.0).astype(np.float32)


def main() -> None:
    out, episodes = sys.argv[1], int(sys.argv[2])
    noise = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
    env = make_env("wm/PushT-v0", obs_type="state", max_episode_steps=100)
    env.unwrapped.terminate_on_success, env.unwrapped.goal_required = False, False
    eps = [record_episode(env, BlindPusher(noise), 100, s) for s in range(episodes)]
    with h5py.File(out, "w") as f:
        f["episode_lengths"] = np.array([len(e["actions"]) for e in eps])
        f["states"] = np.concatenate([e["states"] for e in eps])
        f["actions"] = np.concatenate([e["actions"] for e in eps])


if __name__ == "__main__":
    main()
