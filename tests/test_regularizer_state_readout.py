"""The privileged state readout (``model.state_readout_coeff``): a control, off by default."""

from __future__ import annotations

import pytest
import torch

from worldmodel.config import ModelConfig
from worldmodel.losses import jepa_loss
from worldmodel.model import WorldModel
from worldmodel.regularizers import build_regularizer
from worldmodel.regularizers.state_readout import WithStateReadout
from worldmodel.regularizers.vicreg import VICReg

OFF = {"var_coeff": 0.0, "cov_coeff": 0.0, "idm_coeff": 0.0, "smooth_coeff": 0.0}


def model_of(**kw) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2, **kw), (3,), 2)


def batch_of() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"obs": torch.randn(8, 3, 3, generator=g), "actions": torch.randn(8, 2, 4, generator=g),
            "states": torch.randn(8, 3, 5, generator=g) * 4 + 2}


def test_off_by_default_and_wraps_the_family_when_on():
    assert isinstance(build_regularizer(model_of(), 5), VICReg)
    reg = build_regularizer(model_of(state_readout_coeff=0.5), 5)
    assert isinstance(reg, WithStateReadout) and isinstance(reg.inner, VICReg)
    assert reg.readout.out_features == 5


def test_adds_the_weighted_error_on_standardised_states():
    reg = build_regularizer(model_of(state_readout_coeff=0.5, **OFF), 5)
    z = torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(1))
    states = batch_of()["states"]
    loss, metrics = reg(z, {"states": states, "actions": torch.zeros(8, 2, 4)})
    s = states.flatten(0, 1)
    with torch.no_grad():
        expected = (reg.readout(z.flatten(0, 1)) - (s - s.mean(0)) / s.std(0)).pow(2).mean()
    torch.testing.assert_close(loss.detach(), 0.5 * expected)  # the family's own terms weigh 0
    assert metrics["reg/state_readout"] == pytest.approx(expected.item())


def test_the_readout_reaches_the_encoder():
    grads = []
    for coeff in (0.0, 1.0):
        model = model_of(state_readout_coeff=coeff, **OFF)
        loss, _, _ = jepa_loss(model, build_regularizer(model, 5), batch_of())
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.encoder.parameters() if p.grad is not None]))
    assert not torch.allclose(grads[0], grads[1])


def test_needs_states():
    with pytest.raises(ValueError, match="state_readout_coeff"):
        build_regularizer(model_of(state_readout_coeff=1.0))
    reg = build_regularizer(model_of(state_readout_coeff=1.0), 5)
    with pytest.raises(ValueError, match="no states"):
        reg(torch.zeros(2, 3, 4), {"states": None})
    with pytest.raises(ValueError, match="state_readout_coeff"):
        ModelConfig(state_readout_coeff=-1.0)
