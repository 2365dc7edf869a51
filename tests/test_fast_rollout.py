"""The planning rollout (worldmodel.fast_rollout) equals the reference rollout; MPC plans are unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.config import PlanConfig
from agents.mpc import MPCAgent
from agents.planners import CEM
from worldmodel import fast_rollout
from worldmodel.config import ModelConfig
from worldmodel.fast_rollout import MLPRollout, planning_rollout
from worldmodel.model import WorldModel


def model(seed: int = 0, **kw) -> WorldModel:
    """A small model with every parameter (LayerNorm affine included) randomised."""
    torch.manual_seed(seed)
    m = WorldModel(ModelConfig(latent_dim=8, hidden_dim=32, depth=3, frameskip=2, **kw), (4,), 3).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return m


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 7), horizon=st.integers(1, 6), shared=st.booleans(), seed=st.integers(0, 3),
       history=st.integers(1, 3), window=st.integers(0, 4))
def test_fp32_rollout_equals_reference(batch, horizon, shared, seed, history, window):
    """Window 0: a start latent ``(B, D)``; else a history ``(B, window, D)`` (shorter than c: padded)."""
    m = model(seed, history=history)
    g = torch.Generator().manual_seed(seed)
    shape = (8,) if window == 0 else (window, 8)
    z0 = torch.randn(1 if shared else batch, *shape, generator=g).expand(batch, *shape)
    actions = torch.randn(batch, horizon, 6, generator=g)
    with torch.inference_mode():
        ref, fast = m.rollout(z0, actions), MLPRollout(m.predictor, 8)(z0, actions)
    assert fast.shape == (batch, horizon, 8)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)


def test_fp32_rollout_gradient_wrt_actions_equals_reference():
    m = model(1)
    z0 = torch.randn(1, 8).expand(5, -1)
    a_ref = torch.randn(5, 4, 6, requires_grad=True)
    a_fast = a_ref.detach().clone().requires_grad_(True)
    m.rollout(z0, a_ref).pow(2).sum().backward()
    MLPRollout(m.predictor, 8)(z0, a_fast).pow(2).sum().backward()
    torch.testing.assert_close(a_fast.grad, a_ref.grad, rtol=1e-4, atol=1e-5)


def test_bf16_rollout_is_close_and_float32():
    m = model(2)
    z0, actions = torch.randn(64, 8), torch.rand(64, 5, 6) * 2 - 1
    with torch.inference_mode():
        ref, low = m.rollout(z0, actions), MLPRollout(m.predictor, 8, torch.bfloat16)(z0, actions)
    assert low.dtype == torch.float32
    err = (low - ref).abs().max() / ref.abs().max()
    assert 0 < err < 0.05  # bfloat16 rounding: not exact, but a few per cent at most


def test_planning_rollout_falls_back_for_history_models():
    m = model(0, predictor="transformer", history=2, heads=2)
    assert planning_rollout(m) == m.rollout
    with pytest.raises(ValueError, match="precision"):
        planning_rollout(m, torch.bfloat16)
    assert isinstance(planning_rollout(model(0)), MLPRollout)
    assert isinstance(planning_rollout(model(0, history=3), torch.bfloat16), MLPRollout)


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision"):
        PlanConfig(precision="fp16")


def _plan(m: WorldModel, precision: str, reference: bool) -> torch.Tensor:
    cfg = PlanConfig(samples=64, iterations=5, elites=8, horizon=4, precision=precision)
    agent = MPCAgent(m, CEM(64, 5, 8, seed=3), cfg, -np.ones(3), np.ones(3))
    agent.reset(np.zeros(4, np.float32), {"goal": np.ones(4, np.float32)})
    if reference:
        agent._roll = m.rollout
    agent.act(np.zeros(4, np.float32))
    return agent._plan


def test_mpc_plan_same_with_fast_path_as_reference():
    m = model(4)
    torch.testing.assert_close(_plan(m, "fp32", False), _plan(m, "fp32", True), rtol=0, atol=1e-5)
    bf16 = _plan(m, "bf16", False)
    assert bf16.shape == (4, 3) and bf16.abs().max() <= 1


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), elites=st.integers(1, 12), n_inf=st.integers(0, 10), seed=st.integers(0, 100))
def test_cem_refit_topk_equals_full_sort(n, elites, n_inf, seed):
    from agents.planners.cem import refit

    g = torch.Generator().manual_seed(seed)
    cand, costs = torch.randn(n, 3, 2, generator=g), torch.randn(n, generator=g)
    costs[: min(n_inf, n - 1)] = float("inf")  # sanitised non-finite costs, at least one finite
    finite = int(torch.isfinite(costs).sum())
    ref = cand[torch.argsort(costs)[: max(1, min(elites, finite))]]
    mean, std = refit(cand, costs, elites)
    torch.testing.assert_close(mean, ref.mean(0))
    torch.testing.assert_close(std, ref.std(0, unbiased=False))


def test_mlp_rollout_rejects_other_architectures():
    m = model(0)
    m.predictor.net[2] = torch.nn.ReLU()
    with pytest.raises(ValueError, match="MLPRollout"):
        MLPRollout(m.predictor, 8)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 5), horizon=st.integers(1, 5), shared=st.booleans(), seed=st.integers(0, 3),
       history=st.integers(2, 3), past=st.integers(0, 3))
def test_action_history_rollout_equals_reference(batch, horizon, shared, seed, history, past):
    """``action_history``: the actions taken from the history's latents enter both rollouts alike (none: zeros)."""
    m = model(seed, history=history, action_history=True)
    g = torch.Generator().manual_seed(seed)
    z0 = torch.randn(1 if shared else batch, history, 8, generator=g).expand(batch, history, 8)
    before = torch.randn(batch, past, 6, generator=g) if past else None
    actions = torch.randn(batch, horizon, 6, generator=g)
    with torch.inference_mode():
        ref, fast = m.rollout(z0, actions, before), MLPRollout(m.predictor, 8)(z0, actions, before)
        torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
        if past:  # the past actions change the prediction; zeros are the same as none
            assert not torch.allclose(m.rollout(z0, actions), ref)
            torch.testing.assert_close(m.rollout(z0, actions, torch.zeros_like(before)), m.rollout(z0, actions))


def test_the_rollout_loop_is_scripted():
    """On this torch the loop runs compiled (the GIL-free path the population split relies on)."""
    assert isinstance(fast_rollout._script(), torch.jit.ScriptFunction)


def _without_norms(m: WorldModel) -> WorldModel:
    for i in range(1, len(m.predictor.net), 3):
        m.predictor.net[i] = torch.nn.Identity()
    return m


@pytest.mark.parametrize("history,action_history,norms", [(1, False, True), (3, True, True), (2, False, True),
                                                           (1, False, False)])
def test_scripted_loop_equals_the_eager_loop_bit_for_bit(history, action_history, norms, monkeypatch):
    m = model(3, history=history, action_history=action_history)
    m = m if norms else _without_norms(m)
    g = torch.Generator().manual_seed(history)
    z0 = torch.randn(1, history, 8, generator=g).expand(6, history, 8)
    past = torch.randn(6, history - 1, 6, generator=g) if action_history else None
    actions = torch.randn(6, 4, 6, generator=g)
    roll = MLPRollout(m.predictor, 8)
    with torch.inference_mode():
        scripted = [roll(z0, actions, past) for _ in range(3)]  # past TorchScript's profiling runs too
        monkeypatch.setattr(fast_rollout, "_script", lambda: fast_rollout._steps)
        eager = roll(z0, actions, past)
    for out in scripted:
        assert torch.equal(out, eager)
    with torch.inference_mode():
        torch.testing.assert_close(eager, m.rollout(z0, actions, past), rtol=1e-5, atol=1e-5)


def test_bf16_rollout_runs_the_eager_loop(monkeypatch):
    """Scripted, a bfloat16 ``addmm`` rounds before the bias: bf16 stays on the eager loop."""
    def no_script():
        raise AssertionError("scripted loop used")
    monkeypatch.setattr(fast_rollout, "_script", no_script)
    m, z0, actions = model(4), torch.randn(5, 8), torch.randn(5, 3, 6)
    with torch.inference_mode():
        assert MLPRollout(m.predictor, 8, torch.bfloat16)(z0, actions).shape == (5, 3, 8)
        with pytest.raises(AssertionError, match="scripted"):
            MLPRollout(m.predictor, 8)(z0, actions)


def test_mlp_rollout_rejects_mixed_norms():
    m = model(0)
    m.predictor.net[1] = torch.nn.Identity()  # the first hidden layer without its LayerNorm, the others with
    with pytest.raises(ValueError, match="MLPRollout"):
        MLPRollout(m.predictor, 8)
