"""Composed configs: ``base:`` chains, one-line errors, and the shipped configs resolving to
exactly what they resolved to before they became diffs.

``tests/fixtures/shipped_configs.json`` holds, for every shipped config of commit 302852f (the
last with flat files), its flat YAML (``flat``), its resolved config and its hash, and the same
for each bench task as ``wm bench`` runs it (``configs/bench/x.yaml:full|quick``; the benchmark
results record these hashes).  Keys added to the config dataclasses since then are left out of
the comparison (each has a default, so it cannot tell a composed file from a flat one).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from wm.bench import load_task
from wm.config import (
    ConfigError,
    apply_overrides,
    config_hash,
    deep_merge,
    from_dict,
    load_config,
    read_config_file,
    to_dict,
)
from wm.config_doc import describe_config, field_docs, sections

ROOT = Path(__file__).resolve().parent.parent
BEFORE = json.loads((ROOT / "tests" / "fixtures" / "shipped_configs.json").read_text())
RESULTS = sorted(p for p in (ROOT / "benchmarks" / "results").glob("*.json")
                 if "config_hash" in json.loads(p.read_text()))


# Deliberate changes to shipped configs since the fixture's commit (tests cannot tell them from
# composition mistakes, so each is listed here): config file -> the sections and keys it changed.
INTENDED: dict[str, dict] = {
    "configs/tworoom_randomwall_pixels.yaml": {"model": {"smooth_coeff": 0.5},
                                               "train": {"steps": 4000, "predictor_steps": 20000}},
    "configs/reacher_state.yaml": {"plan": {"samples": 300, "iterations": 10, "elites": 30},
                                   "eval": {"offset_goal_velocity": "zero"}},
    "configs/pusht_state.yaml": {"data": {"episodes": 2000}, "train": {"steps": 12000, "predictor_steps": 20000,
                                                                     "planner_episodes": 500,
                                                                     "planner_offset_episodes": 500},
                                 "model": {"smooth_coeff": 1.0}},
    "configs/tworoom_randomwall_state.yaml": {"model": {"smooth_coeff": 1.0}, "train": {"steps": 10000}},
    "configs/pusht_pixels.yaml": {"data": {"episodes": 2000}, "model": {"smooth_coeff": 1.0},
                                  "train": {"steps": 6000, "predictor_steps": 10000, "planner_episodes": 500,
                                            "planner_offset_episodes": 500}},
    "configs/reacher_pixels.yaml": {"model": {"history": 3, "action_history": True},
                                    "train": {"pred_steps": 6, "predictor_steps": 20000},
                                    "plan": {"samples": 300, "iterations": 20, "elites": 30},
                                    "eval": {"offset_goal_velocity": "zero"}},
    "configs/pointmaze_state.yaml": {"model": {"smooth_coeff": 20.0}},
    "configs/tworoom_pixels.yaml": {"model": {"hidden_dim": 128}},
    # a bench task's own overrides (its ``set``), changed on purpose
    "configs/bench/tworoom_state.yaml": {"eval": {"offset_agents": ["mpc", "sim-latent", "oracle-goal", "random"],
                                                  "offset_goal_velocity": "zero"}},
}


def split(key: str) -> tuple[str, list[str] | None]:
    """A fixture key -> ``(config file, the overrides wm bench adds)``; overrides None for a plain config.

    ``configs/bench/x.yaml:full|quick`` is the task's config with its ``set`` (and ``quick``)
    overrides and ``train.seed=0``, as ``wm bench`` runs it.
    """
    path, _, label = key.partition(":")
    if not label:
        return path, None
    task = load_task(ROOT / path)
    extra = [*task.overrides, *(task.quick if label == "quick" else ()), "train.seed=0"]
    return str(task.config.relative_to(ROOT)), extra


def resolved(key: str) -> dict:
    """The config a fixture key resolves to now, and its hash."""
    path, extra = split(key)
    cfg = load_config(ROOT / path, extra)
    return {"hash": config_hash(cfg), "config": to_dict(cfg)}


def as_of_fixture(config: dict, like: dict) -> tuple[dict, str]:
    """``config`` without the keys ``like`` (a fixture config) lacks, and the hash of that."""
    kept = {sec: {k: v for k, v in values.items() if k in like[sec]} for sec, values in config.items()}
    return kept, hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:12]


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_shipped_config_resolves_as_recorded(key):
    """The resolved config and hash of 302852f (the hash is the full one while no key was added since)."""
    path, _ = split(key)
    for changed in (path, key.partition(":")[0]):  # the config file, or the bench task's overrides
        if changed in INTENDED:
            pytest.skip(f"{changed} changed on purpose since: {INTENDED[changed]}")
    now = resolved(key)
    kept, kept_hash = as_of_fixture(now["config"], BEFORE[key]["config"])
    assert kept == BEFORE[key]["config"]
    assert kept_hash == BEFORE[key]["hash"]
    if kept == now["config"]:
        assert now["hash"] == BEFORE[key]["hash"]


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_composed_file_resolves_as_its_flat_version(key):
    """With today's code and defaults: each composed file (and bench task on it) is the config its flat
    predecessor (plus any deliberate change) is."""
    path, extra = split(key)
    flat = deep_merge(BEFORE[path]["flat"], INTENDED.get(path, {}))
    expected = from_dict(apply_overrides(flat, extra or []))
    composed = load_config(ROOT / path, extra)
    assert composed == expected and config_hash(composed) == config_hash(expected)


def test_every_shipped_config_is_covered():
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "configs").glob("*.yaml")}
    new = {"configs/tworoom_pixels_regularizers.yaml",  # the comparison's shared base, added with bases
           "configs/antmaze_state.yaml",                 # added after the fixture (no flat predecessor)
           "configs/pointmaze_medium_state.yaml", "configs/pointmaze_medium_pixels.yaml",
           "configs/tworoom_wide_pixels.yaml"}             # the width-256 TwoRoom pixel model
    assert shipped - new <= set(BEFORE) and shipped >= {k for k in BEFORE if ":" not in k}


@pytest.mark.parametrize("path", RESULTS, ids=[p.stem for p in RESULTS])
def test_recorded_benchmark_hashes_still_resolve(path):
    """A results file recorded with today's config schema has today's hash; one whose hash matched its task
    before keys were added to the schema still matches it."""
    record = json.loads(path.read_text())
    key = f"configs/bench/{record['name']}.yaml:{'quick' if record.get('quick') else 'full'}"
    schema = {sec: set(values) for sec, values in record["config"].items()}
    now = resolved(key)
    now_schema = {sec: set(values) for sec, values in now["config"].items()}
    if schema == now_schema:
        assert record["config_hash"] == now["hash"]
        return
    if all(keys <= now_schema.get(sec, set()) for sec, keys in schema.items()) \
            and as_of_fixture(now["config"], record["config"])[1] == record["config_hash"]:
        return  # recorded before keys were added to the schema: the same config without them
    if BEFORE[key]["hash"] != record["config_hash"]:
        pytest.skip("recorded before the shipped config changed (already stale before bases)")
    if split(key)[0] in INTENDED or key.partition(":")[0] in INTENDED:
        pytest.skip("its config changed on purpose since (see INTENDED): the next bench run records it")
    assert as_of_fixture(now["config"], BEFORE[key]["config"])[1] == record["config_hash"]


def test_regulariser_variants_differ_only_in_the_regulariser():
    raws = {p.stem: read_config_file(p) for p in (ROOT / "configs").glob("tworoom_pixels_*.yaml")}
    base = raws.pop("tworoom_pixels_regularizers")
    for name, raw in raws.items():
        extra = {k for k in raw["model"] if raw["model"][k] != base.get("model", {}).get(k)}
        assert extra <= {"regularizer", "latent_norm"}, name
        assert {s: v for s, v in raw.items() if s != "model"} == {s: v for s, v in base.items() if s != "model"}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_base_merges_deeply_and_the_file_wins(tmp_path):
    _write(tmp_path, "a.yaml", "env: {kwargs: {door_width: 0.5}}\ntrain: {steps: 7, lr: 0.01}\n"
                               "eval: {agents: [mpc, random]}\n")
    _write(tmp_path, "sub/b.yaml", "base: ../a.yaml\ntrain: {steps: 9}\n")
    path = _write(tmp_path, "c.yaml", "base: sub/b.yaml\nenv: {kwargs: {same_room: true}}\neval: {agents: [mpc]}\n")
    cfg = load_config(path, ["train.lr=0.02"])
    assert cfg.train.steps == 9 and cfg.train.lr == 0.02
    assert cfg.env.kwargs == {"door_width": 0.5, "same_room": True}  # mappings merge
    assert cfg.eval.agents == ("mpc",)  # lists replace
    assert "base" not in read_config_file(path)


def test_missing_base_and_cycles_are_one_line_errors(tmp_path):
    path = _write(tmp_path, "x.yaml", "base: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"x.yaml: base 'nowhere.yaml' not found") as err:
        load_config(path)
    assert "\n" not in str(err.value)
    _write(tmp_path, "p.yaml", "base: q.yaml\n")
    _write(tmp_path, "q.yaml", "base: p.yaml\ntrain: {steps: 3}\n")
    with pytest.raises(ConfigError, match=r"base cycle p.yaml -> q.yaml -> p.yaml") as err:
        load_config(tmp_path / "p.yaml")
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="cycle"):
        load_config(_write(tmp_path, "self.yaml", "base: self.yaml\n"))
    with pytest.raises(ConfigError, match="base: expected the path"):
        load_config(_write(tmp_path, "bad.yaml", "base: [a.yaml]\n"))


def test_wm_config_lists_every_key_with_type_default_and_doc(capsys):
    from wm.cli import main

    text = describe_config()
    for name, cls in sections().items():
        for key, doc in field_docs(cls).items():
            assert doc, f"{name}.{key} has no docstring"
            assert f"\n{name}.{key}: " in f"\n{text}"
    assert 'train.steps: int = 3000\n    Gradient steps.' in text
    assert main(["config", "plan.horizon"]) == 0
    assert capsys.readouterr().out.startswith("plan.horizon: int = 10\n")
    assert main(["config", "model", "--config", str(ROOT / "configs" / "tworoom_pixels_sigreg.yaml")]) == 0
    assert 'model.regularizer: str = "vicreg"  (this config: "sigreg")' in capsys.readouterr().out
    assert main(["config", "trian"]) == 2
    assert "unknown config section 'trian'" in capsys.readouterr().err
