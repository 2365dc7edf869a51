"""The predictor phase (``train.predictor_steps``): the predictor alone on frozen latents, after the joint
steps; it leaves the encoder as it was, lowers the prediction error, resumes exactly and may be added to a
finished run."""

from __future__ import annotations

import pytest
import torch

from worldmodel.checkpoint import CheckpointError
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.losses import predict_sequence
from worldmodel.predictor_phase import cosine_factor
from worldmodel.train import Trainer

MCFG = ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2)


def tcfg(**kw) -> TrainConfig:
    base = dict(steps=8, batch_size=16, pred_steps=2, eval_every=100, log_every=2, checkpoint_every=100,
                predictor_steps=6, predictor_batch_size=32, predictor_lr=1e-3)
    return TrainConfig(**{**base, **kw})


def weights(trainer: Trainer, part: str) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in getattr(trainer.model, part).state_dict().items()}


def phase_loss(trainer: Trainer) -> float:
    """Prediction error of the model on a fixed batch of frozen-latent windows."""
    phase = trainer._predictor_phase()
    batch = phase.sampler.sample(256, torch.Generator().manual_seed(1))
    with torch.no_grad():
        pred = predict_sequence(trainer.model, batch["obs"], batch["actions"], "autoregressive")
        return float((pred - batch["obs"][:, 1:]).pow(2).mean())


def test_the_phase_trains_the_predictor_alone_and_lowers_its_error(tiny_data):
    trainer = Trainer(MCFG, tcfg(predictor_steps=60), tiny_data, progress=False)
    trainer.fit(stop_after=8)
    encoder, predictor, before = weights(trainer, "encoder"), weights(trainer, "predictor"), phase_loss(trainer)
    trainer.fit()
    assert trainer.step_count == 68
    assert all(torch.equal(v, weights(trainer, "encoder")[k]) for k, v in encoder.items())
    assert any(not torch.equal(v, weights(trainer, "predictor")[k]) for k, v in predictor.items())
    assert phase_loss(trainer) < 0.8 * before


def test_no_phase_by_default(tiny_data):
    trainer = Trainer(MCFG, tcfg(predictor_steps=0), tiny_data, progress=False)
    trainer.fit()
    assert trainer.step_count == 8 and trainer.phase is None


def test_resume_inside_the_phase_is_bit_identical(tiny_data, tmp_path):
    straight = Trainer(MCFG, tcfg(), tiny_data, tmp_path / "a", progress=False)
    straight.fit()
    Trainer(MCFG, tcfg(), tiny_data, tmp_path / "b", progress=False).fit(stop_after=11)
    resumed = Trainer(MCFG, tcfg(), tiny_data, tmp_path / "b", progress=False, resume=True)
    assert resumed.step_count == 11 and resumed.phase is not None
    resumed.fit()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_phase_added_to_a_finished_run_is_the_straight_run(tiny_data, tmp_path):
    straight = Trainer(MCFG, tcfg(), tiny_data, tmp_path / "a", progress=False)
    straight.fit()
    Trainer(MCFG, tcfg(predictor_steps=0), tiny_data, tmp_path / "b", progress=False).fit()
    added = Trainer(MCFG, tcfg(), tiny_data, tmp_path / "b", progress=False, resume=True)
    added.fit()
    a, b = straight.model.state_dict(), added.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_other_steps_or_phase_settings_once_the_phase_began(tiny_data, tmp_path):
    Trainer(MCFG, tcfg(), tiny_data, tmp_path, progress=False).fit(stop_after=10)
    with pytest.raises(CheckpointError, match=r"train.steps=12 differs from the checkpoint's 8, whose predictor "
                                              r"phase had begun \(step 10\)"):
        Trainer(MCFG, tcfg(steps=12), tiny_data, tmp_path, progress=False, resume=True)
    with pytest.raises(CheckpointError, match=r"config differs .* train.predictor_lr"):
        Trainer(MCFG, tcfg(predictor_lr=0.5), tiny_data, tmp_path, progress=False, resume=True)


@pytest.mark.parametrize("key, value", [("predictor_steps", -1), ("predictor_batch_size", 0),
                                        ("predictor_lr", 0.0)])
def test_bad_phase_settings_are_refused_by_name(key, value):
    with pytest.raises(ValueError, match=key):
        tcfg(**{key: value})


def test_cosine_factor_warms_up_then_decays_to_a_tenth():
    assert cosine_factor(0, 1000) == pytest.approx(0.01)
    assert cosine_factor(100, 1000) == pytest.approx(1.0)
    assert cosine_factor(1000, 1000) == pytest.approx(0.1)
    assert cosine_factor(5000, 1000) == pytest.approx(0.1)


def test_phase_diagnostics_encode_once_and_equal_a_fresh_encoding(tiny_data):
    from worldmodel.diagnostics import encode_windows, latent_diagnostics

    trainer = Trainer(MCFG, tcfg(predictor_steps=20), tiny_data, progress=False)
    trainer.fit(stop_after=12)
    first = trainer.diagnostics()
    cached = trainer._frozen_windows
    trainer.fit()
    again = trainer.diagnostics()
    assert trainer._frozen_windows is cached  # the frozen encoder's windows, encoded once
    fresh, _ = latent_diagnostics(trainer.model, encode_windows(trainer.model, trainer.sampler, trainer.holdout),
                                  "autoregressive")
    assert again == fresh
    assert first["probe/r2_mean"] == again["probe/r2_mean"] and first["pred/err_h1"] != again["pred/err_h1"]


def test_the_phase_runs_on_one_cpu_thread_and_restores_the_count(tiny_data, monkeypatch):
    seen = []
    trainer = Trainer(MCFG, tcfg(), tiny_data, progress=False)
    step = trainer.train_step

    def spy():
        seen.append((trainer.step_count >= 8, torch.get_num_threads()))
        return step()

    monkeypatch.setattr(trainer, "train_step", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        trainer.fit()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert {t for phase, t in seen if not phase} == {2} and {t for phase, t in seen if phase} == {1}
