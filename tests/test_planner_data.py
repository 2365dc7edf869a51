"""The planner stage of ``wm train``: joint steps, the planner's own episodes, the predictor phase on both."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.baselines import RandomAgent
from agents.planner_data import record_agent_episode, record_agent_episodes
from envs.dataset import read_dataset
from envs.registration import make_env
from wm.cli import main
from wm.planner_stage import planner_episodes_path

PLANNER = ["train.planner_episodes=2", "train.planner_offset_episodes=1", "train.predictor_steps=10",
           "eval.offset_budget=10"]


def _sets(overrides: list[str]) -> list[str]:
    return [x for o in overrides for x in ("--set", o)]


@pytest.fixture(scope="module")
def staged_run(tmp_path_factory, tiny_overrides):
    """A tiny TwoRoom (state) run trained with 2 task and 1 offset planner episodes."""
    run = tmp_path_factory.mktemp("planner") / "run"
    sets = _sets([*tiny_overrides, *PLANNER])
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets]) == 0
    return run


def test_planner_episodes_are_recorded_and_join_the_predictor_phase(staged_run):
    eps = read_dataset(planner_episodes_path(staged_run))
    # 2 task episodes of data.episode_steps (40), 1 offset episode of the offset budget (10): no stop on success
    assert eps.episode_lengths.tolist() == [40, 40, 10]
    assert eps.meta["policy"] == "mpc"
    assert np.asarray(eps.meta["seed_ranges"]).tolist() == [[200_000, 3]]
    assert np.all(np.abs(eps.actions) <= 1.0)
    metrics = json.loads((staged_run / "checkpoints" / "train_metrics.json").read_text())
    assert "predictor_phase/loss_pred" in metrics  # the phase ran after the episodes were recorded
    latest = (staged_run / "checkpoints" / "LATEST").read_text().strip()
    assert latest.endswith("30")  # 20 joint + 10 phase steps


def test_resuming_a_staged_run_records_nothing_again(staged_run, tiny_overrides, capsys):
    before = planner_episodes_path(staged_run).stat().st_mtime_ns
    assert main(["train", "--out", str(staged_run), "--resume", *_sets([*tiny_overrides, *PLANNER])]) == 0
    assert planner_episodes_path(staged_run).stat().st_mtime_ns == before
    assert "nothing to do" in capsys.readouterr().out


def test_planner_episodes_need_the_predictor_phase(tmp_path, tiny_overrides, capsys):
    sets = _sets([*tiny_overrides, "train.planner_episodes=2"])
    assert main(["train", "--out", str(tmp_path / "run"), *sets]) != 0
    assert "train.predictor_steps" in capsys.readouterr().err


def test_planner_seeds_must_not_be_evaluation_seeds(tmp_path, tiny_overrides, capsys):
    sets = _sets([*tiny_overrides, *PLANNER, "train.planner_seed=100000"])
    assert main(["collect", "--out", str(tmp_path / "run"), "--quiet", *sets]) != 0
    err = capsys.readouterr().err
    assert "train.planner_seed" in err and "evaluation" in err


def test_recorded_episode_is_deterministic_and_noise_stays_in_the_box():
    env = make_env("wm/TwoRoom-v0", max_episode_steps=100)
    env.unwrapped.terminate_on_success = False
    agent = RandomAgent(env.action_space.low, env.action_space.high)
    a = record_agent_episodes(env, agent, [([3, 4], 12, None)], noise=2.0, seed=1, progress=False)
    b = record_agent_episodes(env, agent, [([3, 4], 12, None)], noise=2.0, seed=1, progress=False)
    assert [len(e["actions"]) for e in a] == [12, 12]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x["actions"], y["actions"]) and np.array_equal(x["obs"], y["obs"])
    acts = np.concatenate([e["actions"] for e in a])
    assert np.all(acts >= env.action_space.low) and np.all(acts <= env.action_space.high)
    env.close()


def test_an_episode_the_env_ends_is_kept_short():
    env = make_env("wm/TwoRoom-v0", max_episode_steps=5)
    agent = RandomAgent(env.action_space.low, env.action_space.high)
    ep = record_agent_episode(env, agent, seed=0, steps=20, noise=0.0, rng=np.random.default_rng(0))
    assert len(ep["actions"]) == 5 and len(ep["obs"]) == len(ep["states"]) == 6
    env.close()


def test_joint_part_is_the_training_before_the_planner_stage():
    from wm.planner_stage import joint_part
    from worldmodel.config import TrainConfig

    plain = TrainConfig(steps=100, predictor_steps=50)
    assert joint_part(plain) is plain  # no planner stage: wm train runs the config as it is
    staged = TrainConfig(steps=100, predictor_steps=50, probe_steps=20, planner_episodes=4, planner_offset_episodes=2)
    part = joint_part(staged)
    assert (part.steps, part.predictor_steps, part.probe_steps, part.planner_episodes,
            part.planner_offset_episodes) == (100, 0, 0, 0, 0)
    assert part.lr == staged.lr and part.seed == staged.seed
