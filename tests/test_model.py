"""World model: shapes, rollout consistency, checkpoints, diagnostics."""

from __future__ import annotations

import pytest
import torch

from worldmodel.checkpoint import CheckpointError, load_model, save_model
from worldmodel.config import ModelConfig
from worldmodel.diagnostics import effective_rank, error_by_horizon, probe_r2
from worldmodel.model import WorldModel


def small_model(**kw) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(latent_dim=8, hidden_dim=32, frameskip=2, **kw), (4,), 2)


def test_shapes():
    m = small_model()
    z = m.encode(torch.randn(5, 4))
    assert z.shape == (5, 8)
    assert m.predict(z, torch.randn(5, 4)).shape == (5, 8)  # action is frameskip * A = 4
    assert m.rollout(z, torch.randn(5, 3, 4)).shape == (5, 3, 8)
    assert m.encode_seq(torch.randn(5, 6, 4)).shape == (5, 6, 8)


def test_rollout_equals_repeated_predict():
    m = small_model()
    z0, actions = torch.randn(3, 8), torch.randn(3, 4, 4)
    z, manual = z0, []
    for t in range(4):
        z = m.predict(z, actions[:, t])
        manual.append(z)
    assert torch.allclose(m.rollout(z0, actions), torch.stack(manual, 1))


def test_save_load_identical_encodings(tmp_path):
    m = small_model()
    m.encoder.fit_normalizer(torch.randn(100, 4) * 3 + 1)
    save_model(tmp_path, m)
    back = load_model(tmp_path)
    obs, acts = torch.randn(10, 4), torch.randn(10, 2, 4)
    with torch.no_grad():
        assert torch.equal(m.encode(obs), back.encode(obs))
        assert torch.equal(m.rollout(m.encode(obs), acts), back.rollout(back.encode(obs), acts))
    assert back.cfg == m.cfg


def test_corrupt_weights_rejected_naming_file(tmp_path):
    save_model(tmp_path, small_model())
    (tmp_path / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model(tmp_path)


def test_mismatched_config_rejected(tmp_path):
    save_model(tmp_path, small_model())
    text = (tmp_path / "config.yaml").read_text().replace("latent_dim: 8", "latent_dim: 9")
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model(tmp_path)


def test_missing_checkpoint_rejected(tmp_path):
    with pytest.raises(CheckpointError, match="config.yaml"):
        load_model(tmp_path / "nope")


def test_effective_rank_extremes():
    g = torch.Generator().manual_seed(0)
    iso = torch.randn(5000, 6, generator=g)
    assert effective_rank(iso) > 5.8
    rank1 = torch.randn(500, 1, generator=g) * torch.ones(1, 6)
    assert effective_rank(rank1) < 1.01


def test_probe_r2_linear_and_noise():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 5, generator=g)
    y = torch.stack([z[:, 0] * 2 + 1, torch.randn(400, generator=g)], 1)
    r2 = probe_r2(z[:300], y[:300], z[300:], y[300:])
    assert r2[0] > 0.999 and r2[1] < 0.1


def test_error_by_horizon():
    pred = torch.zeros(2, 3, 4)
    target = torch.arange(3.0).view(1, 3, 1).expand(2, 3, 4)
    assert torch.equal(error_by_horizon(pred, target), torch.tensor([0.0, 1.0, 4.0]))
