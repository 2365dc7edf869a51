"""The auxiliary reconstruction term (``model.recon_coeff``) on top of a JEPA family."""

from __future__ import annotations

import pytest
import torch

from worldmodel.config import ModelConfig
from worldmodel.losses import jepa_loss
from worldmodel.model import WorldModel
from worldmodel.regularizers import build_regularizer
from worldmodel.regularizers.ema import EMATarget
from worldmodel.regularizers.recon import WithReconstruction, foreground_weighted
from worldmodel.regularizers.vicreg import VICReg

OFF = {"var_coeff": 0.0, "cov_coeff": 0.0, "idm_coeff": 0.0, "smooth_coeff": 0.0}


def model_of(reg: str = "vicreg", obs_shape: tuple[int, ...] = (3,), **kw) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(regularizer=reg, latent_dim=4, hidden_dim=16, frameskip=2, **kw), obs_shape, 2)


def batch_of(obs_shape: tuple[int, ...] = (3,)) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(8, 3, *obs_shape, generator=g) if len(obs_shape) == 1 else \
        torch.randint(0, 256, (8, 3, *obs_shape), generator=g, dtype=torch.uint8)
    return {"obs": obs, "actions": torch.randn(8, 2, 4, generator=g)}


def test_off_by_default_and_wraps_the_family_when_on():
    assert isinstance(build_regularizer(model_of()), VICReg)
    reg = build_regularizer(model_of(recon_coeff=0.5))
    assert isinstance(reg, WithReconstruction) and isinstance(reg.inner, VICReg)


def test_adds_the_weighted_first_frame_error_to_the_family_loss():
    model = model_of(recon_coeff=0.5, **OFF)
    reg = build_regularizer(model)
    z = torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(1))
    obs = batch_of()["obs"]
    loss, metrics = reg(z, {"obs": obs, "actions": torch.zeros(8, 2, 4)})
    with torch.no_grad():
        expected = (reg.decoder(z[:, 0]) - model.normalize(obs[:, 0])).pow(2).mean()
    torch.testing.assert_close(loss.detach(), 0.5 * expected)  # the family's own terms weigh 0
    assert metrics["reg/recon"] == pytest.approx(expected.item())


@pytest.mark.parametrize("obs_shape", [(3,), (16, 16, 3)])
def test_reconstruction_changes_the_encoder_gradient_and_trains_the_decoder(obs_shape):
    # same model, batch and seed with and without the term: the encoder's gradient must differ
    grads = []
    for coeff in (0.0, 1.0):
        extra = {"encoder": "cnn", "channels": 4} if len(obs_shape) == 3 else {}
        model = model_of(obs_shape=obs_shape, recon_coeff=coeff, **OFF, **extra)
        reg = build_regularizer(model)
        loss, _, _ = jepa_loss(model, reg, batch_of(obs_shape))
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.encoder.parameters() if p.grad is not None]))
        if coeff:
            assert all(p.grad is not None for p in reg.decoder.parameters())
    assert not torch.allclose(grads[0], grads[1])


def test_keeps_the_family_target_and_hooks():
    model = model_of("ema", recon_coeff=0.1)
    reg = build_regularizer(model)
    assert isinstance(reg.inner, EMATarget)
    obs = batch_of()["obs"]
    z = model.encode_seq_posterior(obs)[0]
    torch.testing.assert_close(reg.target(z, obs), reg.inner.target(z, obs))
    before = [p.clone() for p in reg.inner.parameters()]
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    reg.after_step(model)  # the momentum update moves the target encoder towards the online one
    assert any(not torch.equal(a, b) for a, b in zip(before, reg.inner.parameters(), strict=True))


def test_foreground_pixels_weigh_one_plus_the_weight():
    # a static background with one object pixel per frame, at a different place in each frame
    target = torch.zeros(5, 3, 4, 4)
    for i in range(5):
        target[i, :, i % 4, i // 4] = 3.0
    err = torch.zeros(5, 3, 4, 4)
    err[:, 0] = 0.5  # every pixel wrong by the same amount in one channel
    fg = torch.zeros(5, 1, 4, 4, dtype=torch.bool)
    for i in range(5):
        fg[i, 0, i % 4, i // 4] = True
    err[:, 1] = fg[:, 0] * 3.0  # and the object pixels wrong in a second one
    w = 9.0
    weight = 1 + w * fg.float()
    expected = (err.mean(dim=1, keepdim=True) * weight).sum() / weight.sum()
    torch.testing.assert_close(foreground_weighted(err, target, w), expected)
    torch.testing.assert_close(foreground_weighted(err, target, 0.0), err.mean())
    assert foreground_weighted(err, target, w) > err.mean()  # the object's errors count for more


def test_foreground_weight_changes_the_image_loss():
    losses = []
    for fg in (0.0, 20.0):
        model = model_of(obs_shape=(16, 16, 3), encoder="cnn", channels=4, recon_coeff=1.0, recon_fg_weight=fg, **OFF)
        reg = build_regularizer(model)
        loss, _ = reg(torch.zeros(8, 3, 4), batch_of((16, 16, 3)))
        losses.append(loss.item())
    assert losses[0] != pytest.approx(losses[1])


def test_foreground_weight_needs_images():
    with pytest.raises(ValueError, match="recon_fg_weight"):
        build_regularizer(model_of(recon_coeff=1.0, recon_fg_weight=5.0))


@pytest.mark.parametrize(("kw", "message"), [({"recon_coeff": -1.0}, "recon_coeff"),
                                              ({"recon_coeff": 0.5, "regularizer": "vae"}, "recon_coeff"),
                                              ({"recon_fg_weight": 5.0}, "recon_fg_weight"),
                                              ({"recon_coeff": 1.0, "recon_fg_weight": -1.0}, "recon_fg_weight")])
def test_bad_values_name_the_key(kw, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kw)
