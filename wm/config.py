"""The run configuration: six frozen sections loaded from YAML, with ``--set`` overrides.

Every key is checked against its dataclass: an unknown key or a value of the wrong type
or range raises :class:`ConfigError` naming it (``train.steps: expected int, got 'x'``).
The dataclass defaults are the embedded default experiment (TwoRoom, state).  A file may
name ``base: other.yaml`` and state only its differences (:func:`read_config_file`);
``wm config [SECTION]`` lists every key with its type, default and docstring
(:mod:`wm.config_doc`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.config import EvalConfig, PlanConfig
from envs.config import DataConfig, EnvConfig
from worldmodel.config import ModelConfig, TrainConfig

BASE_KEY = "base"
"""Top-level key of a config file naming the config it states its differences from."""


class ConfigError(ValueError):
    """A bad configuration key or value; the message names it."""


@dataclass(frozen=True)
class RunConfig:
    """One experiment: world, data, model, training, planning, evaluation."""

    env: EnvConfig = field(default_factory=EnvConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            inner = typing.get_args(tp)[0]
            return tuple(_coerce(v, inner, key) for v in value)
        if isinstance(value, str):
            return (value,)
    elif origin is dict or tp is dict:
        if isinstance(value, dict):
            return dict(value)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
    else:
        return value
    name = getattr(tp, "__name__", str(tp))
    raise ConfigError(f"{key}: expected {name}, got {value!r}")


def build_section(cls: type, values: dict[str, Any] | None, prefix: str) -> Any:
    """Instantiate dataclass ``cls`` from ``values``, naming any bad key as ``prefix.key``."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in names:
            raise ConfigError(f"unknown config key '{prefix}.{key}' (known: {', '.join(names)})")
    kwargs = {k: _coerce(v, hints[k], f"{prefix}.{k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise ConfigError(f"{prefix}.{err}") from None


def from_dict(raw: dict[str, Any]) -> RunConfig:
    """Build a :class:`RunConfig` from nested dicts (sections may be omitted)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a mapping of sections, got {type(raw).__name__}")
    sections = {f.name: f for f in dataclasses.fields(RunConfig)}
    for key in raw:
        if key not in sections:
            raise ConfigError(f"unknown config section '{key}' (known: {', '.join(sections)})")
    hints = typing.get_type_hints(RunConfig)
    return RunConfig(**{name: build_section(hints[name], raw.get(name), name) for name in sections})


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """Plain nested dict (tuples as lists), suitable for YAML."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML) to a nested dict."""
    raw = json.loads(json.dumps(raw))
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        path, text = item.split("=", 1)
        parts = path.strip().split(".")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = raw
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {p} is not a section")
        node[parts[-1]] = value
    return raw


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``over``: mappings merge key by key (recursively), anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML ({str(err).splitlines()[0]})") from None


def _read_composed(path: Path, chain: tuple[Path, ...]) -> Any:
    """The file's sections merged over those of its ``base`` chain; ``chain``: the files that named it."""
    here = path.resolve()
    if here in chain:
        names = " -> ".join(p.name for p in (*chain, here))
        raise ConfigError(f"{chain[0]}: base cycle {names}")
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or BASE_KEY not in raw:
        return raw
    raw = dict(raw)
    base = raw.pop(BASE_KEY)
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: {BASE_KEY}: expected the path of a config file, got {base!r}")
    base_path = path.parent / base
    if not base_path.is_file():
        raise ConfigError(f"{path}: {BASE_KEY} {base!r} not found (looked for {base_path})")
    inherited = _read_composed(base_path, (*chain, here))
    if not isinstance(inherited, dict):
        raise ConfigError(f"{base_path}: config: expected a mapping of sections, got {type(inherited).__name__}")
    return deep_merge(inherited, raw)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw sections of a YAML config file, its ``base:`` chain resolved.

    ``base: other.yaml`` (a path relative to the file) takes every section of that config
    (itself possibly based on another) and the file states only its differences: sections and
    mappings such as ``env.kwargs`` merge key by key, lists and scalars replace.  A missing
    base or a cycle is a one-line :class:`ConfigError`.
    """
    return _read_composed(Path(path), ())


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Load a YAML config (defaults when ``path`` is None; ``base:`` resolved) and apply ``overrides``."""
    raw = read_config_file(path) if path is not None else {}
    return from_dict(apply_overrides(raw, overrides or []))


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def config_hash(cfg: RunConfig) -> str:
    """Short stable hash of the resolved config."""
    return hashlib.sha256(json.dumps(to_dict(cfg), sort_keys=True).encode()).hexdigest()[:12]
