"""Videos of evaluation episodes: panels, goal image, imagined rollout through a decoder probe."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import torch

from agents.baselines import RandomAgent
from agents.config import PlanConfig
from agents.evaluate import evaluate
from agents.factory import build_agent
from agents.video import LABEL_H, VideoOptions, compose, resize_nearest
from envs.registration import make_env
from tests.test_agents import random_model


class StubDecoder:
    """``decode(z (B, D)) -> (B, 8, 8, 3)`` uint8: a flat magenta image (what a probe would return)."""

    def __init__(self):
        self.calls = []

    def decode(self, z: torch.Tensor) -> np.ndarray:
        self.calls.append(tuple(z.shape))
        img = np.zeros((len(z), 8, 8, 3), np.uint8)
        img[..., 0], img[..., 2] = 230, 200
        return img


def test_resize_and_compose():
    img = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    big = resize_nearest(img, 8)
    assert big.shape == (8, 8, 3) and (big[::2, ::2] == img).all()
    frame = compose([("a", img), ("b", None)], 16)
    assert frame.shape == (LABEL_H + 16, 32, 3)
    assert (frame[LABEL_H:, 16:] == 128).all()  # a missing panel is grey


def test_video_of_a_latent_agent_shows_goal_and_imagination(tmp_path):
    env = make_env("wm/TwoRoom-v0")
    agent = build_agent("mpc", PlanConfig(samples=8, iterations=1, elites=2, horizon=3), env.action_space,
                        random_model())
    decoder = StubDecoder()
    video = VideoOptions(episodes=(1,), out_dir=tmp_path, decoder=decoder, panel=64)
    result = evaluate(agent, "wm/TwoRoom-v0", 2, seed=5, max_steps=6, progress=False, video=video)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode_0001.mp4"]
    frames = imageio.mimread(tmp_path / "episode_0001.mp4")
    assert len(frames) == result.episodes[1].steps + 1
    assert frames[0].shape == (LABEL_H + 64, 4 * 64, 3)
    body = frames[0][LABEL_H + 8:-8].astype(float)
    real, goal, imagined = body[:, 8:56], body[:, 72:120], body[:, 136:184]
    assert np.abs(imagined.mean((0, 1)) - [230, 0, 200]).max() < 25  # the decoder's image
    assert np.abs(real - goal).mean() > 1  # the goal render differs from the start frame
    assert goal.std() > 5  # a rendered scene, not a flat panel
    assert decoder.calls and all(shape == (2, 8) for shape in decoder.calls)


def test_video_of_a_plain_agent_has_real_and_goal_panels(tmp_path):
    env = make_env("wm/TwoRoom-v0")
    agent = RandomAgent(env.action_space.low, env.action_space.high)
    video = VideoOptions(episodes=(0,), out_dir=tmp_path, decoder=StubDecoder(), panel=32)
    with_video = evaluate(agent, "wm/TwoRoom-v0", 1, seed=2, max_steps=4, progress=False, video=video)
    frames = imageio.mimread(tmp_path / "episode_0000.mp4")
    assert len(frames) == 5 and frames[0].shape == (LABEL_H + 32, 2 * 32, 3)
    plain = evaluate(agent, "wm/TwoRoom-v0", 1, seed=2, max_steps=4, progress=False)
    assert plain.episodes[0].final_distance == with_video.episodes[0].final_distance  # rendering changes nothing


def test_find_decoder_probe(tmp_path, monkeypatch):
    import sys
    import types

    from agents.video import find_decoder_probe

    assert find_decoder_probe(tmp_path) is None  # no probe saved next to the checkpoint
    (tmp_path / "decoder_probe.safetensors").write_bytes(b"")
    module = types.ModuleType("worldmodel.decoder_probe")
    module.DecoderProbe = types.SimpleNamespace(load=lambda ckpt_dir, device: ("probe", ckpt_dir, device))
    monkeypatch.setitem(sys.modules, "worldmodel.decoder_probe", module)
    assert find_decoder_probe(tmp_path, "cpu") == ("probe", tmp_path, "cpu")
