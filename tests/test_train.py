"""The trainer: windows at the model frameskip, learning, logging, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from worldmodel.checkpoint import checkpoint_dir, load_model
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import WindowSampler
from worldmodel.losses import encode_frames
from worldmodel.train import Trainer, train


def test_window_sampler_respects_frameskip_and_episodes(tiny_data):
    s = WindowSampler(tiny_data, steps=3, frameskip=4)
    b = s.batch(torch.arange(len(s)))
    assert b["obs"].shape == (len(s), 4, 4) and b["actions"].shape == (len(s), 3, 8)
    # every window is inside one episode: 12 episodes x (40 - 12 + 1) starts
    assert len(s) == 12 * 29
    ep = tiny_data.episode(0)
    torch.testing.assert_close(b["obs"][1], torch.as_tensor(ep["obs"][1:14:4]))
    torch.testing.assert_close(b["actions"][1, 0], torch.as_tensor(ep["actions"][1:5]).reshape(-1))


def test_training_lowers_loss_and_keeps_rank(tmp_path):
    data = collect(EnvConfig(), DataConfig(episodes=40, episode_steps=60), None, progress=False)
    mcfg = ModelConfig(latent_dim=8, hidden_dim=64, frameskip=2)
    tcfg = TrainConfig(steps=150, batch_size=64, pred_steps=3, eval_every=150, log_every=10)
    trainer = Trainer(mcfg, tcfg, data, tmp_path, progress=False)
    first = trainer.train_step()["train/loss"]
    result = trainer.fit()
    assert result.metrics["train/loss"] < first
    assert result.metrics["collapse/eff_rank"] > 2.0
    assert result.metrics["probe/r2_dim0"] > 0.8  # x position is linearly decodable
    assert (checkpoint_dir(tmp_path / "checkpoints") / "model.safetensors").exists()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_training_is_deterministic(tiny_data):
    mcfg = ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2)
    tcfg = TrainConfig(steps=5, batch_size=16, pred_steps=2, eval_every=5)
    a = train(mcfg, tcfg, tiny_data, None, progress=False).model
    b = train(mcfg, tcfg, tiny_data, None, progress=False).model
    for (_, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(p, q)


def test_checkpoint_loads_for_planning(tiny_data, tmp_path):
    mcfg = ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2)
    train(mcfg, TrainConfig(steps=3, batch_size=8, pred_steps=2), tiny_data, tmp_path, progress=False)
    model = load_model(tmp_path / "checkpoints")
    assert model.rollout(torch.zeros(2, 4), torch.zeros(2, 5, 4)).shape == (2, 5, 4)


def test_bf16_encoder_precision_trains_in_float32_and_changes_the_arithmetic(tiny_data):
    """``train.precision: bf16``: the encoder runs under autocast (other floats than fp32), the latents it
    hands the loss, the weights and the losses stay float32."""
    mcfg = ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2)
    runs = {p: train(mcfg, TrainConfig(steps=5, batch_size=16, pred_steps=2, eval_every=5, precision=p),
                     tiny_data, None, progress=False) for p in ("fp32", "bf16")}
    assert all(math.isfinite(r.metrics["train/loss"]) for r in runs.values())
    a, b = (dict(runs[p].model.named_parameters()) for p in ("fp32", "bf16"))
    assert all(p.dtype == torch.float32 for p in b.values())
    assert any(not torch.equal(a[k], b[k]) for k in a)
    obs = torch.as_tensor(tiny_data.obs[:12]).reshape(3, 4, -1)
    model = runs["bf16"].model
    z, _ = encode_frames(model, obs, torch.bfloat16)
    assert z.dtype == torch.float32 and z.shape == (3, 4, 4)
    assert torch.equal(encode_frames(model, obs)[0], model.encode_seq_posterior(obs)[0])
    assert not torch.equal(z, model.encode_seq_posterior(obs)[0])


def test_train_precision_is_validated():
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp16")
