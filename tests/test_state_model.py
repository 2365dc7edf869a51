"""The planning benchmarks' shared state model: what its cache key depends on, and that it trains once."""

from __future__ import annotations

import argparse

from benchmarks import state_model
from benchmarks.state_model import add_budget_args, budget_args, small_config, weights_key


def test_the_cache_key_follows_what_decides_the_weights_and_nothing_else():
    base = small_config(episodes=10, steps=50, threads=1)
    assert (base.data.episodes, base.data.workers, base.train.steps, base.train.threads) == (10, 1, 50, 1)
    assert base.train.checkpoint_every == base.train.eval_every == 50
    assert weights_key(base) == weights_key(small_config(10, 50, threads=2))  # threads do not change weights
    assert weights_key(base) != weights_key(small_config(11, 50, 1))
    assert weights_key(base) != weights_key(small_config(10, 51, 1))


def test_the_model_is_trained_once_then_read_from_the_cache(tmp_path, monkeypatch):
    model, cfg, ckpt = state_model.trained_state_model(episodes=4, steps=20, cache=tmp_path)
    assert ckpt.parent.name == f"tworoom_state_{weights_key(cfg)}" and ckpt.parent.parent == tmp_path
    assert not model.training

    def no_training(*args, **kwargs):
        raise AssertionError("a cached model was trained again")

    monkeypatch.setattr(state_model, "train", no_training)
    monkeypatch.setattr(state_model, "collect", no_training)
    again, _, ckpt_again = state_model.trained_state_model(episodes=4, steps=20, cache=tmp_path)
    assert ckpt_again == ckpt
    for (name, p), q in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert (p == q).all(), name


def test_quick_budget_shrinks_episodes_data_and_steps_in_place():
    ap = argparse.ArgumentParser()
    add_budget_args(ap)
    args = ap.parse_args(["--quick", "--samples", "64"])
    assert budget_args(args) == {"samples": 64, "iterations": 30, "elites": 30, "horizon": 5}
    assert (args.episodes, args.data_episodes, args.train_steps) == (2, 60, 200)
    full = ap.parse_args([])
    budget_args(full)
    assert (full.episodes, full.data_episodes, full.train_steps) == (20, 300, 3000)
