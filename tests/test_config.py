"""Config loading: defaults, overrides, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wm.config import ConfigError, RunConfig, config_hash, dump_config, from_dict, load_config

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


def test_defaults_and_overrides():
    cfg = load_config(None, ["train.steps=7", "plan.distance=cosine", "eval.agents=[mpc, random]",
                             "env.kwargs={door_width: 0.5}"])
    assert cfg.train.steps == 7 and cfg.plan.distance == "cosine"
    assert cfg.eval.agents == ("mpc", "random") and cfg.env.kwargs == {"door_width": 0.5}
    assert load_config().model == RunConfig().model


def test_round_trip_through_yaml(tmp_path):
    cfg = load_config(None, ["train.lr=0.003", "eval.episodes=3"])
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg
    assert config_hash(load_config(path)) == config_hash(cfg)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    load_config(path)


def test_default_config_file_matches_embedded_default():
    assert load_config(Path(__file__).parent.parent / "configs" / "tworoom_state.yaml") == RunConfig()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=3", "unknown config key 'train.stepz'"),
        ("trian.steps=3", "unknown config section 'trian'"),
        ("train.steps=abc", "train.steps: expected int, got 'abc'"),
        ("train.steps=-1", "train.steps: must be > 0"),
        ("train.lr=true", "train.lr: expected float"),
        ("plan.planner=astar", "plan.planner: must be one of"),
        ("env.obs_type=voxels", "env.obs_type: must be one of"),
        ("plan.elites=1000", "plan.elites: must be <= samples"),
        ("plan.stop_tol=1.5", "plan.stop_tol: must be in [0, 1"),
        ("plan.stop_tol=-0.1", "plan.stop_tol: must be in [0, 1"),
        ("plan.stop_tol=.nan", "plan.stop_tol: must be in [0, 1"),
        ("plan.stop_tol=x", "plan.stop_tol: expected float"),
        ("eval.agents=[mpc, human]", "eval.agents: each must be one of"),
        ("model.regularizer=magic", "model.regularizer: must be one of"),
        ("steps=3", "expected section.key=value"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(None, [override])


def test_bad_yaml_file_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(path)
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_config(tmp_path / "missing.yaml")


def test_section_must_be_mapping():
    with pytest.raises(ConfigError, match="train: expected a mapping"):
        from_dict({"train": 3})
