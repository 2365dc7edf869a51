"""SIGReg, Barlow Twins, InfoNCE, EMA target, VAE: each on known inputs."""

from __future__ import annotations

import math

import pytest
import torch

from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel
from worldmodel.regularizers import build_regularizer
from worldmodel.regularizers.barlow import BarlowTwins, barlow_loss, cross_covariance
from worldmodel.regularizers.ema import EMATarget
from worldmodel.regularizers.infonce import InfoNCE, info_nce
from worldmodel.regularizers.sigreg import (
    SIGReg,
    epps_pulley,
    expected_gaussian_statistic,
    quadrature,
    random_directions,
)
from worldmodel.regularizers.vae import VAELoss
from worldmodel.regularizers.vicreg import VICReg


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def small_model(reg: str, **kw) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(regularizer=reg, latent_dim=4, hidden_dim=16, frameskip=2, **kw), (3,), 2)


# ------------------------------------------------------------------ SIGReg
def test_epps_pulley_quadrature_integrates_the_gaussian_weight():
    t, w = quadrature(3.0, 17)
    # integral_{-3}^{3} exp(-t^2/2) dt = sqrt(2 pi) * erf(3 / sqrt 2)
    exact = math.sqrt(2 * math.pi) * math.erf(3 / math.sqrt(2))
    assert abs(float((w * torch.exp(-0.5 * t * t)).sum()) - exact) < 2e-3


def test_epps_pulley_matches_its_gaussian_expectation_and_explodes_for_a_constant():
    t, w = quadrature(3.0, 17)
    expected = expected_gaussian_statistic(t, w)  # about 1.06: sqrt(2 pi) (1 - 1/sqrt 3) on [-3, 3]
    assert 1.0 < expected < 1.1
    gaussian = epps_pulley(torch.randn(1024, 400, generator=gen()), t, w)  # 400 independent columns
    assert abs(float(gaussian.mean()) - expected) < 0.1
    constant = epps_pulley(torch.zeros(1024, 1), t, w)
    # N * integral (1 - phi)^2 phi dt, about 0.41 N on [-3, 3]
    closed = 1024 * float((w * torch.exp(-0.5 * t * t) * (1 - torch.exp(-0.5 * t * t)) ** 2).sum())
    torch.testing.assert_close(constant, torch.tensor([closed]), rtol=1e-4, atol=0)
    assert float(constant) > 300
    wide = epps_pulley(3 * torch.randn(1024, 50, generator=gen(1)), t, w)
    assert float(wide.mean()) > 100  # wrong scale is not Gaussian N(0, 1) either


def test_sigreg_directions_are_unit_per_step_and_identical_for_the_same_step():
    u = random_directions(8, 64, 7, torch.device("cpu"))
    torch.testing.assert_close(u.norm(dim=0), torch.ones(64))
    assert torch.equal(u, random_directions(8, 64, 7, torch.device("cpu")))
    assert not torch.equal(u, random_directions(8, 64, 8, torch.device("cpu")))


def test_sigreg_low_for_isotropic_gaussian_latents_high_for_collapse():
    reg = SIGReg(ModelConfig(latent_dim=16, sigreg_coeff=1.0))
    gaussian, m1 = reg(torch.randn(512, 3, 16, generator=gen()), {"step": 3})
    collapsed, _ = reg(torch.ones(512, 3, 16), {"step": 3})
    low_rank, _ = reg(torch.randn(512, 3, 1, generator=gen()).expand(512, 3, 16), {"step": 3})
    assert m1["reg/sigreg"] < 1.5 and collapsed > 100 and low_rank > 10 * gaussian


def test_sigreg_gradient_spreads_a_collapsed_batch():
    reg = SIGReg(ModelConfig(latent_dim=4, sigreg_coeff=1.0))
    z = (0.01 * torch.randn(256, 2, 4, generator=gen())).requires_grad_()
    before, _ = reg(z, {"step": 0})
    before.backward()
    after, _ = reg((z - 0.5 * z.grad).detach(), {"step": 0})  # one gradient step lowers the statistic
    assert after < before


# ------------------------------------------------------------------ Barlow Twins
def test_barlow_cross_covariance_hand_computed():
    a = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    torch.testing.assert_close(cross_covariance(a, a), torch.eye(2))
    torch.testing.assert_close(cross_covariance(a + 5.0, 2 * a), 2 * torch.eye(2))  # centred, not scaled
    on, off = barlow_loss(a, -a, lam=0.5)  # anti-correlated views: C = -I
    torch.testing.assert_close(on, torch.tensor(8.0), atol=1e-3, rtol=0)  # 2 dims x (1 - (-1))^2
    torch.testing.assert_close(off, torch.tensor(0.0), atol=1e-6, rtol=0)
    dup = torch.stack([a[:, 0], a[:, 0]], 1)  # redundant dims: C = [[1, 1], [1, 1]]
    on, off = barlow_loss(dup, dup, lam=0.5)
    torch.testing.assert_close(on, torch.tensor(0.0), atol=1e-3, rtol=0)
    torch.testing.assert_close(off, torch.tensor(1.0), atol=1e-3, rtol=0)  # 0.5 * 2 entries


def test_barlow_low_for_slow_whitened_latents_high_for_independent_steps():
    reg = BarlowTwins(ModelConfig(latent_dim=8, barlow_coeff=1.0))
    walk = torch.randn(256, 1, 8, generator=gen()) + 0.05 * torch.randn(256, 4, 8, generator=gen(1))
    slow, _ = reg(walk, {})
    fast, metrics = reg(torch.randn(256, 4, 8, generator=gen(2)), {})
    assert slow < 0.2 and fast > 6.0 and metrics["reg/barlow_on"] > 6.0
    shrunk, _ = reg(0.01 * walk, {})  # not scale-free: a shrunken latent is penalised like a collapsed one
    assert shrunk > 7.0


# ------------------------------------------------------------------ InfoNCE
def test_info_nce_hand_computed():
    keys = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    loss, acc = info_nce(keys.clone(), keys, torch.arange(2), temp=1.0)
    # logits [[0, -1], [-1, 0]]: loss = log(1 + e^-1)
    torch.testing.assert_close(loss, torch.tensor(math.log(1 + math.exp(-1))))
    assert acc == 1.0
    same, acc = info_nce(torch.zeros(4, 2), torch.zeros(4, 2), torch.arange(4), temp=1.0)
    torch.testing.assert_close(same, torch.tensor(math.log(4)))  # indistinguishable keys: chance


def test_infonce_rewards_distinguishable_predictions():
    reg = InfoNCE(ModelConfig(latent_dim=4, infonce_coeff=1.0, infonce_temp=0.1))
    z = torch.randn(64, 3, 4, generator=gen()) * 3
    good, m = reg(z, {"pred": z[:, 1:] + 0.01})
    collapsed, _ = reg(torch.zeros(64, 3, 4), {"pred": torch.zeros(64, 2, 4)})
    assert m["reg/infonce_acc"] == 1.0 and good < 0.01
    torch.testing.assert_close(collapsed, torch.tensor(math.log(64)))


# ------------------------------------------------------------------ EMA target
def test_ema_momentum_update_and_stop_gradient():
    model = small_model("ema", ema_momentum=0.9)
    reg = build_regularizer(model)
    assert isinstance(reg, EMATarget)
    assert not any(p.requires_grad for p in reg.target_encoder.parameters())
    online0 = [p.detach().clone() for p in model.encoder.parameters()]
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    reg.after_step(model)
    for p_t, p0 in zip(reg.target_encoder.parameters(), online0, strict=True):
        torch.testing.assert_close(p_t, 0.9 * p0 + 0.1 * (p0 + 1.0))
    obs = torch.randn(5, 2, 3, requires_grad=True)
    target = reg.target(None, obs)
    assert target.shape == (5, 2, 4) and not target.requires_grad
    loss, metrics = reg(model.encode_seq(obs), {"target": target})
    assert loss == 0 and metrics["reg/ema_gap"] > 0


# ------------------------------------------------------------------ VAE
def test_vae_kl_and_reconstruction_terms_on_known_inputs():
    model = small_model("vae", vae_kl_coeff=1.0)
    reg = build_regularizer(model).eval()  # eval: decode the mean, no sampling
    assert isinstance(reg, VAELoss)
    model.encoder.fit_normalizer(torch.randn(100, 3))
    obs = torch.randn(6, 2, 3)
    mu, logvar = torch.zeros(6, 2, 4), torch.zeros(6, 2, 4)
    loss, m = reg(mu, {"logvar": logvar, "obs": obs})
    assert m["reg/kl"] == 0.0  # the posterior equals the prior
    with torch.no_grad():
        recon = (reg.decoder(torch.zeros(12, 4)) - model.normalize(obs.reshape(12, 3))).pow(2).mean()
    torch.testing.assert_close(loss, recon)
    _, m = reg(torch.ones(6, 2, 4), {"logvar": torch.full((6, 2, 4), math.log(2.0)), "obs": obs})
    assert math.isclose(m["reg/kl"], 0.5 * (1 + 2 - 1 - math.log(2.0)), rel_tol=1e-5)


def test_vae_samples_only_in_training():
    model = small_model("vae")
    reg = build_regularizer(model)
    z, lv, obs = torch.zeros(4, 2, 4), torch.zeros(4, 2, 4), torch.randn(4, 2, 3)
    torch.manual_seed(0)
    a, _ = reg(z, {"logvar": lv, "obs": obs})
    b, _ = reg(z, {"logvar": lv, "obs": obs})
    reg.eval()
    c, _ = reg(z, {"logvar": lv, "obs": obs})
    d, _ = reg(z, {"logvar": lv, "obs": obs})
    assert a != b and c == d


@pytest.mark.parametrize(("name", "cls"), [("vicreg", VICReg), ("sigreg", SIGReg), ("barlow", BarlowTwins),
                                           ("infonce", InfoNCE), ("ema", EMATarget), ("vae", VAELoss)])
def test_factory_builds_each_family(name, cls):
    assert isinstance(build_regularizer(small_model(name)), cls)


def test_vae_prediction_loss_trains_the_predictor_only():
    from worldmodel.losses import jepa_loss

    off = {"vae": {"vae_kl_coeff": 0.0, "vae_recon_coeff": 0.0},
           "vicreg": {"var_coeff": 0.0, "cov_coeff": 0.0, "idm_coeff": 0.0, "smooth_coeff": 0.0}}
    for name, encoder_learns in (("vae", False), ("vicreg", True)):
        model = small_model(name, **off[name])  # the regulariser's own terms weigh 0: the loss is prediction only
        batch = {"obs": torch.randn(8, 3, 3, generator=gen()), "actions": torch.randn(8, 2, 4, generator=gen(1))}
        loss, _, _ = jepa_loss(model, build_regularizer(model), batch)
        loss.backward()
        assert (model.encoder.net[0].weight.grad.abs().sum() > 0) == encoder_learns, name
        assert model.predictor.net[0].weight.grad.abs().sum() > 0
