"""Minari: export -> import round trip (state and pixels), training on an imported dataset,
and a Minari dataset made locally by Minari's own collector."""

from __future__ import annotations

import os

import numpy as np
import pytest

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from envs.dataset import DatasetError, read_dataset, write_dataset
from envs.minari_io import export_minari, import_minari
from wm.cli import main
from worldmodel.checkpoint import checkpoint_dir

# the foreign datasets built here leave Minari's optional metadata unset, which it warns about
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:minari.utils")


@pytest.mark.parametrize("obs_type", ["state", "pixels"])
def test_round_trip_is_lossless(tmp_path, obs_type):
    data = collect(EnvConfig(obs_type=obs_type), DataConfig(episodes=3, episode_steps=8), tmp_path / "d.h5",
                   progress=False)
    where = export_minari(tmp_path / "d.h5", f"wm/tworoom-{obs_type}-v0", root=tmp_path / "minari")
    assert where == (tmp_path / "minari" / "wm" / f"tworoom-{obs_type}-v0").resolve()
    back = import_minari(f"wm/tworoom-{obs_type}-v0", tmp_path / "back.h5", root=tmp_path / "minari")
    for name in ("obs", "states", "actions", "episode_lengths"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    meta = read_dataset(tmp_path / "back.h5").meta
    assert meta["env_id"] == "wm/TwoRoom-v0" and meta["obs_type"] == obs_type
    assert meta["env_kwargs"]["obs_type"] == obs_type
    # opening the dataset directory works too, and nothing is overwritten
    assert import_minari(where, tmp_path / "again.h5").num_episodes == 3
    with pytest.raises(FileExistsError):
        import_minari(where, tmp_path / "again.h5")
    with pytest.raises(ValueError, match="already exists"):
        export_minari(tmp_path / "d.h5", f"wm/tworoom-{obs_type}-v0", root=tmp_path / "minari")


def test_minari_root_is_restored(tmp_path, monkeypatch):
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    collect(EnvConfig(), DataConfig(episodes=1, episode_steps=4), tmp_path / "d.h5", progress=False)
    export_minari(tmp_path / "d.h5", "tiny-v0", root=tmp_path / "m")
    assert "MINARI_DATASETS_PATH" not in os.environ


def test_train_on_imported_dataset(tmp_path, tiny_data, tiny_overrides):
    write_dataset(tmp_path / "d.h5", tiny_data)
    export_minari(tmp_path / "d.h5", "tworoom-v0", root=tmp_path / "minari")
    assert main(["data", "import-minari", "tworoom-v0", str(tmp_path / "imported.h5"),
                 "--root", str(tmp_path / "minari")]) == 0
    sets = [x for o in [*tiny_overrides, f"data.path={tmp_path / 'imported.h5'}"] for x in ("--set", o)]
    assert main(["train", "--out", str(tmp_path / "run"), "--quiet", *sets]) == 0
    assert (checkpoint_dir(tmp_path / "run" / "checkpoints") / "model.safetensors").exists()


def test_import_a_foreign_minari_dataset(tmp_path, monkeypatch):
    """A Minari dataset of plain ``Reacher-v5`` rollouts (vector obs, no states in infos):
    the observations serve as states.  (Built from buffers: Minari's DataCollector needs jax.)"""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    env = gym.make("Reacher-v5", max_episode_steps=10)
    buffers = []
    for seed in range(2):
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        observations, actions = [obs], []
        for _ in range(10):
            actions.append(env.action_space.sample())
            observations.append(env.step(actions[-1])[0])
        buffers.append(EpisodeBuffer(id=seed, observations=np.stack(observations), actions=np.stack(actions),
                                     rewards=np.zeros(10), terminations=np.zeros(10, bool),
                                     truncations=np.arange(10) == 9))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "m"))
    minari.create_dataset_from_buffers("reacher-random-v0", buffers, env="Reacher-v5", algorithm_name="random",
                                       author="t", author_email="t", eval_env="Reacher-v5")
    data = import_minari("reacher-random-v0", tmp_path / "r.h5")
    assert data.num_episodes == 2 and data.obs.shape == (22, 10)
    np.testing.assert_array_equal(data.states, data.obs)
    np.testing.assert_allclose(data.episode(1)["obs"], buffers[1].observations, rtol=1e-6)
    assert data.meta["env_id"] == "Reacher-v5"


def test_image_dataset_without_states_rejected(tmp_path, monkeypatch):
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    box = gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
    buf = EpisodeBuffer(id=0, observations=np.zeros((3, 8, 8, 3), np.uint8), actions=np.zeros((2, 2), np.float32),
                        rewards=np.zeros(2), terminations=np.zeros(2, bool), truncations=np.array([False, True]))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "m"))
    minari.create_dataset_from_buffers("img-v0", [buf], observation_space=box, jpeg_encoding=False,
                                       action_space=gym.spaces.Box(-1, 1, (2,), np.float32),
                                       author="t", author_email="t", eval_env=None, description="t")
    with pytest.raises(DatasetError, match=r"no infos\['state'\]"):
        import_minari("img-v0", tmp_path / "x.h5")
