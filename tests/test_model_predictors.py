"""Predictors: the causal AdaLN transformer over a history, rollouts from a history, teacher forcing."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from worldmodel.config import ModelConfig
from worldmodel.losses import predict_sequence
from worldmodel.model import WorldModel


def model(predictor: str = "transformer", history: int = 3, seed: int = 0, **kw) -> WorldModel:
    torch.manual_seed(seed)
    cfg = ModelConfig(predictor=predictor, history=history, latent_dim=6, hidden_dim=32, depth=2, frameskip=2, **kw)
    return WorldModel(cfg, (4,), 2)


def randomize(m: WorldModel) -> WorldModel:
    """Move the zero-initialised adaLN modulation away from zero (so every path matters)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in m.predictor.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return m


def test_adaln_zero_transformer_starts_as_identity_plus_readout():
    m = model()
    z, a = torch.randn(4, 3, 6), torch.randn(4, 4)
    with torch.no_grad():
        out = m.predict(z, a)
        x = m.predictor.embed(z[:, -1]) + m.predictor.pos[-1]  # blocks are identity at init
        expected = z[:, -1] + m.predictor.out(m.predictor.norm(x))
    torch.testing.assert_close(out, expected)


def test_transformer_uses_history_and_action_but_only_the_last_k():
    m = randomize(model(history=3))
    z, a = torch.randn(2, 5, 6), torch.randn(2, 4)
    with torch.no_grad():
        base = m.predict(z, a)
        older = z.clone()
        older[:, 0] += 5.0  # outside the window of 3: no effect
        in_window = z.clone()
        in_window[:, 2] += 5.0  # oldest latent of the window: changes the prediction
        assert torch.equal(m.predict(older, a), base)
        assert not torch.allclose(m.predict(in_window, a), base)
        assert not torch.allclose(m.predict(z, a + 1.0), base)
        assert m.predict(z[:, -1], a).shape == (2, 6)


@settings(max_examples=10, deadline=None)
@given(predictor=st.sampled_from(["mlp", "transformer"]), history=st.integers(1, 4), start=st.integers(1, 4),
       horizon=st.integers(1, 5))
def test_rollout_from_history_equals_sliding_window_predicts(predictor, history, start, horizon):
    m = randomize(model(predictor, history=history))
    g = torch.Generator().manual_seed(history * 100 + start * 10 + horizon)
    hist, actions = torch.randn(2, start, 6, generator=g), torch.randn(2, horizon, 4, generator=g)
    with torch.no_grad():
        window, manual = hist, []
        for t in range(horizon):
            z = m.predict(window[:, -history:], actions[:, t])
            manual.append(z)
            window = torch.cat([window, z[:, None]], dim=1)
        torch.testing.assert_close(m.rollout(hist, actions), torch.stack(manual, 1))


@pytest.mark.parametrize(("predictor", "history"), [("mlp", 1), ("mlp", 3), ("transformer", 1), ("transformer", 3)])
def test_teacher_forcing_uses_observed_latents(predictor, history):
    m = randomize(model(predictor, history))
    z, actions = torch.randn(3, 6, 6), torch.randn(3, 5, 4)
    with torch.no_grad():
        tf = predict_sequence(m, z, actions, "teacher_forcing")
        manual = torch.stack([m.predict(z[:, max(0, t - history + 1):t + 1], actions[:, t]) for t in range(5)], 1)
        torch.testing.assert_close(tf, manual)
        ar = predict_sequence(m, z, actions, "autoregressive")
    c = history
    torch.testing.assert_close(ar[:, :c], tf[:, :c])  # up to step c, predictions start from observed latents
    assert not torch.allclose(ar[:, c:], tf[:, c:])  # later steps feed predictions vs observations


@pytest.mark.parametrize("predictor", ["mlp", "transformer"])
def test_autoregressive_loss_rolls_out_from_the_observed_context(predictor):
    m = randomize(model(predictor, history=3))
    z, actions = torch.randn(2, 6, 6), torch.randn(2, 5, 4)
    with torch.no_grad():
        ar = predict_sequence(m, z, actions, "autoregressive")
        torch.testing.assert_close(ar[:, 2:], m.rollout(z[:, :3], actions[:, 2:]))  # context z_0, z_1, z_2
        later = z.clone()
        later[:, 3:] += 5.0  # observations after the context never reach the predictions
        torch.testing.assert_close(predict_sequence(m, later, actions, "autoregressive"), ar)
        assert predict_sequence(m, z, actions[:, :2], "autoregressive").shape == (2, 2, 6)  # shorter than c


def test_mlp_predictor_with_history_reads_its_window_and_pads_a_short_one():
    m = randomize(model("mlp", history=3))
    z, a = torch.randn(2, 5, 6), torch.randn(2, 4)
    with torch.no_grad():
        base = m.predict(z, a)
        older, in_window = z.clone(), z.clone()
        older[:, 1] += 5.0  # outside the window of 3
        in_window[:, 2] += 5.0
        assert torch.equal(m.predict(older, a), base)
        assert not torch.allclose(m.predict(in_window, a), base)
        still = z[:, -1:].expand(-1, 3, -1)  # a window of one latent = the same latent three times
        torch.testing.assert_close(m.predict(z[:, -1], a), m.predict(still, a))
    assert m.predictor.net[0].in_features == 3 * 6 + 4


def test_pred_mode_is_validated():
    with pytest.raises(ValueError, match="pred_mode"):
        from worldmodel.config import TrainConfig

        TrainConfig(pred_mode="scheduled")


def test_action_history_needs_an_mlp_with_history():
    with pytest.raises(ValueError, match="action_history"):
        ModelConfig(action_history=True)  # history 1
    with pytest.raises(ValueError, match="action_history"):
        ModelConfig(action_history=True, history=3, predictor="transformer")


def test_action_history_training_rollout_sees_the_actions_between_context_latents():
    torch.manual_seed(0)
    m = WorldModel(ModelConfig(latent_dim=4, hidden_dim=16, depth=2, frameskip=1, history=3, action_history=True),
                   (4,), 2)
    z, a = torch.randn(2, 6, 4), torch.randn(2, 5, 2)
    pred = predict_sequence(m, z, a, "autoregressive")
    a2 = a.clone()
    a2[:, 0] += 1.0  # the action from z_0 to z_1: seen by every prediction whose window spans it
    pred2 = predict_sequence(m, z, a2, "autoregressive")
    assert not torch.allclose(pred[:, 0], pred2[:, 0]) and not torch.allclose(pred[:, 2], pred2[:, 2])
