"""Pixel encoders (Impala CNN, ViT-tiny), normalisation owned by the model, VAE posterior, latent norm."""

from __future__ import annotations

import pytest
import torch

from worldmodel.checkpoint import load_model, save_model
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel

SMALL = {"latent_dim": 8, "hidden_dim": 32, "frameskip": 2, "channels": 8, "vit_dim": 32, "vit_depth": 2}


def pixel_model(encoder: str, size: int = 64, **kw) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(encoder=encoder, **{**SMALL, **kw}), (size, size, 3), 2)


def images(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("encoder", ["cnn", "vit"])
@pytest.mark.parametrize("size", [32, 64])
def test_pixel_encoders_take_uint8_images(encoder, size):
    m = pixel_model(encoder, size)
    z = m.encode(images(3, size))
    assert z.shape == (3, 8) and z.dtype == torch.float32 and torch.isfinite(z).all()
    assert m.encode_seq(images(6, size).view(2, 3, size, size, 3)).shape == (2, 3, 8)


def test_image_normalizer_is_fitted_and_saved_with_the_model(tmp_path):
    m = pixel_model("cnn")
    obs = images(50)
    obs[..., 0] = 200  # red channel constant: std clamps to 1e-3, mean is 200/255
    m.encoder.fit_normalizer(obs)
    torch.testing.assert_close(m.encoder.norm.mean[0], torch.tensor(200 / 255))
    x = m.normalize(obs)
    assert x.shape == (50, 3, 64, 64)
    torch.testing.assert_close(x[:, 1:].mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-4, rtol=0)
    torch.testing.assert_close(x[:, 1:].std(dim=(0, 2, 3)), torch.ones(2), atol=1e-3, rtol=0)
    save_model(tmp_path, m)
    back = load_model(tmp_path)
    torch.testing.assert_close(back.encoder.norm.std, m.encoder.norm.std, atol=0, rtol=0)
    with torch.no_grad():
        assert torch.equal(back.encode(obs[:4]), m.eval().encode(obs[:4]))


def test_float_images_read_on_the_uint8_scale():
    m = pixel_model("cnn")
    obs = images(4)
    with torch.no_grad():
        assert torch.equal(m.encode(obs), m.encode(obs.float()))


def test_encoder_rejects_mismatched_observations():
    with pytest.raises(ValueError, match="encoder: cnn takes images"):
        WorldModel(ModelConfig(encoder="cnn"), (4,), 2)
    with pytest.raises(ValueError, match="encoder: mlp takes state vectors"):
        WorldModel(ModelConfig(encoder="mlp"), (64, 64, 3), 2)
    with pytest.raises(ValueError, match="patch_size"):
        pixel_model("vit", size=60)


def test_vae_latent_is_the_posterior_mean():
    m = pixel_model("cnn", regularizer="vae")
    obs = images(5)
    with torch.no_grad():
        mu, logvar = m.encode_posterior(obs)
        raw = m.encoder(obs)
    assert mu.shape == logvar.shape == (5, 8)
    assert torch.equal(m.encode(obs), mu) and torch.equal(mu, raw[:, :8])
    assert torch.equal(logvar, raw[:, 8:].clamp(-10, 10))


def test_latent_norm_gives_zero_mean_unit_variance_latents():
    m = pixel_model("cnn", latent_norm=True)
    with torch.no_grad():
        z = m.encode(images(7))
    torch.testing.assert_close(z.mean(-1), torch.zeros(7), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(-1, unbiased=False), torch.ones(7), atol=1e-3, rtol=0)
