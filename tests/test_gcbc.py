"""Goal-conditioned behaviour cloning: relabelling, learning, bounds, save/load, caching."""

from __future__ import annotations

import numpy as np
import pytest
import safetensors.torch
import torch

from agents.gcbc import GCBCAgent, GCBCPolicy, load_gcbc, save_gcbc
from agents.gcbc_train import GCBCDivergence, RelabelSampler, fit_or_load, train_gcbc
from envs.dataset import Episodes, concat_episodes, write_dataset

LOW, HIGH = np.array([-1.0, -1.0]), np.array([1.0, 1.0])


def straight_lines(episodes: int = 64, steps: int = 10, seed: int = 0) -> Episodes:
    """Episodes moving in a straight line: ``o_{t+1} = o_t + 0.1 a`` with one action per episode."""
    rng = np.random.default_rng(seed)
    eps = []
    for _ in range(episodes):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        start = rng.uniform(-1, 1, 2)
        obs = (start + 0.1 * np.arange(steps + 1)[:, None] * a).astype(np.float32)
        eps.append({"obs": obs, "states": obs, "actions": np.repeat(a[None], steps, 0)})
    return concat_episodes(eps, {"env_id": "lines", "obs_type": "state", "action_low": LOW.tolist(),
                                 "action_high": HIGH.tolist()})


def test_relabelled_goals_are_later_observations_of_the_same_episode():
    data = straight_lines(episodes=5, steps=4)
    sampler = RelabelSampler(data)
    obs, goal, action = sampler.sample(2000, torch.Generator().manual_seed(0))
    # on a line, goal - obs = k * 0.1 * a with 1 <= k <= remaining steps
    k = ((goal - obs) / (0.1 * action)).mean(1)
    assert torch.allclose(k, k.round(), atol=1e-3)
    assert k.min() >= 1 - 1e-3 and k.max() <= 4 + 1e-3
    assert set(k.round().int().tolist()) == {1, 2, 3, 4}


def test_gcbc_learns_to_head_for_the_goal():
    data = straight_lines()
    policy = train_gcbc(data, steps=200, batch_size=128, hidden=32, seed=0, progress=False)
    rng = np.random.default_rng(1)
    obs = torch.as_tensor(rng.uniform(-0.5, 0.5, (200, 2)), dtype=torch.float32)
    direction = torch.as_tensor(rng.uniform(-1, 1, (200, 2)), dtype=torch.float32)
    goal = obs + 0.3 * direction
    with torch.no_grad():
        pred = policy(obs, goal)
    cos = torch.nn.functional.cosine_similarity(pred, direction, dim=1)
    assert cos.median() > 0.95


def test_training_is_deterministic_and_save_load_round_trips(tmp_path):
    data = straight_lines(episodes=8)
    a = train_gcbc(data, steps=20, batch_size=16, hidden=16, seed=3, progress=False)
    b = train_gcbc(data, steps=20, batch_size=16, hidden=16, seed=3, progress=False)
    x = torch.randn(5, 2)
    assert torch.equal(a(x, -x), b(x, -x))
    save_gcbc(tmp_path / "p", a)
    assert torch.equal(load_gcbc(tmp_path / "p")(x, -x), a(x, -x))


def test_actions_stay_in_bounds_for_any_input():
    policy = GCBCPolicy((3,), np.array([-2.0, 0.0]), np.array([0.5, 3.0]), hidden=8)
    with torch.no_grad():
        policy.net[-1].bias.fill_(1e4)
        a = policy(torch.randn(64, 3) * 1e3, torch.randn(64, 3) * 1e3)
    assert (a >= torch.tensor([-2.0, 0.0])).all() and (a <= torch.tensor([0.5, 3.0])).all()


def test_pixel_policy_and_agent():
    policy = GCBCPolicy((16, 16, 3), LOW, HIGH, hidden=16)
    agent = GCBCAgent(policy)
    img = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    agent.reset(img, {"goal": img[::-1]})
    action = agent.act(img)
    assert action.shape == (2,) and action.dtype == np.float32 and np.abs(action).max() <= 1


def test_fit_or_load_trains_once(tmp_path, monkeypatch):
    path = tmp_path / "d.h5"
    write_dataset(path, straight_lines(episodes=4))
    first, where = fit_or_load(path, tmp_path / "cache", 5, 8, 1e-3, 8, 0, progress=False)
    import agents.gcbc_train as gt

    monkeypatch.setattr(gt, "train_gcbc", lambda *a, **k: pytest.fail("retrained a cached policy"))
    again, where_again = fit_or_load(path, tmp_path / "cache", 5, 8, 1e-3, 8, 0, progress=False)
    assert where_again == where and (where / "model.safetensors").exists()
    x = torch.randn(3, 2)
    assert torch.equal(first(x, x), again(x, x))


def test_a_non_finite_loss_stops_training_naming_the_step_and_nothing_is_saved(tmp_path):
    data = straight_lines(episodes=4)
    bad = Episodes(data.obs, data.states, data.actions * np.float32(np.inf), data.episode_lengths, data.meta)
    with pytest.raises(GCBCDivergence, match=r"^gcbc: non-finite loss \(inf\) at step 0 of 5 .*no policy saved"):
        train_gcbc(bad, steps=5, batch_size=8, hidden=8, progress=False)
    path = tmp_path / "d.h5"
    write_dataset(path, data)
    with pytest.raises(GCBCDivergence, match=r"non-finite values in tensor .*no policy saved"):
        fit_or_load(path, tmp_path / "cache", 1, 8, float("inf"), 8, 0, progress=False)  # weights inf after one step
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_non_finite_weights_are_refused_at_save_and_at_load(tmp_path):
    policy = GCBCPolicy((2,), LOW, HIGH, hidden=8)
    save_gcbc(tmp_path / "p", policy)
    with torch.no_grad():
        policy.net[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"non-finite values in tensor 'net.0.weight'"):
        save_gcbc(tmp_path / "p", policy)
    load_gcbc(tmp_path / "p")  # the saved one is intact
    weights = tmp_path / "p" / "model.safetensors"
    state = safetensors.torch.load(weights.read_bytes())
    state["net.0.weight"][0, 0] = float("inf")
    weights.write_bytes(safetensors.torch.save(state))
    with pytest.raises(ValueError, match=r"cannot load the GCBC policy: .*model.safetensors: non-finite values"):
        load_gcbc(tmp_path / "p")
