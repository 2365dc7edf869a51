"""Training on images: every regulariser through one trainer, the decoder probe, `wm train --resume`."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import paint_disc_frames

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from wm.cli import main
from worldmodel.checkpoint import checkpoint_dir, load_model
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.decoder_probe import PROBE_CONFIG, PROBE_WEIGHTS, DecoderProbe, fit_decoder_probe
from worldmodel.model import WorldModel
from worldmodel.train import Trainer, split_episodes, train

PIX = {"encoder": "cnn", "latent_dim": 8, "hidden_dim": 32, "frameskip": 2, "channels": 8}


@pytest.mark.parametrize("reg", ["vicreg", "sigreg", "barlow", "infonce", "ema", "vae"])
def test_each_regularizer_trains_a_pixel_model(tiny_pixel_data, reg):
    mcfg = ModelConfig(regularizer=reg, latent_norm=reg == "ema", **PIX)
    tcfg = TrainConfig(steps=6, batch_size=16, pred_steps=2, eval_every=6, probe_steps=0)
    trainer = Trainer(mcfg, tcfg, tiny_pixel_data, None, progress=False)
    first = trainer.train_step()
    result = trainer.fit()
    m = result.metrics
    assert np.isfinite(m["train/loss"]) and m["train/loss"] != first["train/loss"]
    assert {"collapse/eff_rank", "collapse/std_mean", "probe/r2_mean", "pred/err_h2"} <= m.keys()


@pytest.fixture(scope="module")
def disc_data():
    """40 random-walk episodes of 60 steps, observed as 32x32 synthetic images."""
    states = collect(EnvConfig(), DataConfig(episodes=40, episode_steps=60), None, progress=False)
    return replace(states, obs=paint_disc_frames(states.states))


@pytest.fixture(scope="module")
def disc_model(disc_data):
    mcfg = ModelConfig(**PIX)
    tcfg = TrainConfig(steps=120, batch_size=32, pred_steps=2, eval_every=120, lr=2e-3, probe_steps=0)
    return train(mcfg, tcfg, disc_data, None, progress=False)


def test_cnn_jepa_learns_the_position_from_pixels(disc_model):
    m = disc_model.metrics
    assert m["probe/r2_dim0"] > 0.9 and m["probe/r2_dim1"] > 0.9  # x, y linearly decodable from z
    assert m["collapse/eff_rank"] > 2.0


def test_decoder_probe_is_trained_on_frozen_latents_and_round_trips(tiny_pixel_data, tmp_path):
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(**PIX), tiny_pixel_data.obs.shape[1:], 2)
    model.encoder.fit_normalizer(torch.as_tensor(tiny_pixel_data.obs))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = fit_decoder_probe(model, tiny_pixel_data, TrainConfig(probe_steps=10), tmp_path, progress=False)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f"the probe changed the model's {key}"
    assert {"probe/decoder_mse", "probe/decoder_psnr", "pixels/fg_mse_h2", "pixels/fg_mse_blank_h0"} <= set(metrics)
    assert (tmp_path / PROBE_WEIGHTS).exists() and (tmp_path / PROBE_CONFIG).exists()
    probe = DecoderProbe.load(tmp_path)
    z = torch.randn(5, 8)
    images = probe.decode(z)
    assert images.shape == (5, 32, 32, 3) and images.dtype == torch.uint8
    assert torch.equal(images, DecoderProbe.load(tmp_path).decode(z))


def _red_centroid(frame: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero((frame[..., 0] > 150) & (frame[..., 1] < 100))
    return np.array([xs.mean(), ys.mean()]) if len(xs) else np.full(2, np.nan)


@pytest.mark.slow
def test_decoder_probe_draws_the_agent_where_it_is(disc_data, disc_model, tmp_path):
    fit_decoder_probe(disc_model.model, disc_data, TrainConfig(probe_steps=300), tmp_path, progress=False)
    probe = DecoderProbe.load(tmp_path)
    _, held_out = split_episodes(disc_data.num_episodes, 0.1, 0)
    frames = np.concatenate([disc_data.episode(i)["obs"] for i in held_out])
    decoded = probe.decode(disc_model.model.encode(torch.as_tensor(frames))).numpy()
    err = np.array([np.linalg.norm(_red_centroid(a) - _red_centroid(b)) for a, b in zip(decoded, frames, strict=True)])
    assert np.isnan(err).mean() < 0.05  # the agent is drawn in almost every frame
    assert np.nanmean(err) < 3.0  # within 3 px (of 32) of where it is


def test_train_writes_the_decoder_probe_next_to_the_model(tiny_pixel_data, tmp_path):
    tcfg = TrainConfig(steps=3, batch_size=8, pred_steps=2, probe_steps=5)
    result = train(ModelConfig(**PIX), tcfg, tiny_pixel_data, tmp_path, progress=False)
    ckpt = tmp_path / "checkpoints"
    model, probe = load_model(ckpt), DecoderProbe.load(ckpt)
    z0 = model.encode(torch.as_tensor(tiny_pixel_data.obs[:2]))
    frames = probe.decode(model.rollout(z0, torch.zeros(2, 4, 4))[0])
    assert frames.shape == (4, 32, 32, 3)
    assert "probe/decoder_psnr" in result.metrics


def test_cli_train_resume(tmp_path, tiny_overrides, capsys):
    run = tmp_path / "run"
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets, "--set", "train.steps=6"]) == 0
    assert main(["train", "--out", str(run), "--quiet", "--resume", *sets, "--set", "train.steps=10"]) == 0
    state = torch.load(checkpoint_dir(run / "checkpoints") / "train_state.pt", weights_only=True)
    assert state["step"] == 10
    assert json.loads((run / "checkpoints" / "train_metrics.json").read_text())["train/loss"] > 0
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--quiet", "--resume", *sets, "--set", "model.latent_dim=5"]) == 2
    err = capsys.readouterr().err
    assert "model.latent_dim" in err and err.count("\n") == 1
    assert main(["train", "--out", str(tmp_path / "fresh"), "--quiet", "--resume", *sets,
                 "--set", f"data.path={run / 'data' / 'dataset.h5'}"]) == 2
    assert "no training state" in capsys.readouterr().err


def test_vit_encoder_with_history_transformer_trains(tiny_pixel_data):
    mcfg = ModelConfig(encoder="vit", predictor="transformer", history=3, latent_dim=8, hidden_dim=32, depth=2,
                       frameskip=2, vit_dim=32, vit_depth=2)
    tcfg = TrainConfig(steps=4, batch_size=8, pred_steps=3, pred_mode="teacher_forcing", eval_every=4, probe_steps=0)
    trainer = Trainer(mcfg, tcfg, tiny_pixel_data, None, progress=False)
    before = trainer.model.predictor.blocks[0].modulation.weight.clone()
    result = trainer.fit()
    assert np.isfinite(result.metrics["train/loss"]) and "pred/err_h3" in result.metrics
    assert not torch.equal(before, trainer.model.predictor.blocks[0].modulation.weight)  # adaLN-Zero leaves zero
