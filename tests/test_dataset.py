"""Dataset file: round trip, validation naming the bad field, no silent overwrite."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from envs.dataset import DatasetError, append_dataset, read_dataset, write_dataset


def test_round_trip(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    back = read_dataset(path)
    for name in ("obs", "states", "actions", "episode_lengths"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tiny_data, name))
    assert back.meta["env_id"] == "wm/TwoRoom-v0"
    ep = back.episode(3)
    assert len(ep["obs"]) == len(ep["actions"]) + 1 == len(ep["states"])


def test_episode_views_match_recording():
    data = collect(EnvConfig(), DataConfig(episodes=3, episode_steps=10), None, progress=False)
    assert data.num_episodes == 3 and data.num_steps == 30
    ep = data.episode(1)
    np.testing.assert_array_equal(ep["obs"], ep["states"])  # state obs == true state on TwoRoom


def test_refuses_overwrite_and_appends(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    with pytest.raises(FileExistsError):
        write_dataset(path, tiny_data)
    append_dataset(path, tiny_data)
    assert read_dataset(path).num_episodes == 2 * tiny_data.num_episodes


def test_truncated_file_rejected_naming_file(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match="d.h5"):
        read_dataset(path)


def test_garbage_file_rejected(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"not an hdf5 file" * 100)
    with pytest.raises(DatasetError, match="junk.h5"):
        read_dataset(path)


@pytest.mark.parametrize("field", ["obs", "actions", "states", "episode_lengths"])
def test_missing_field_named(tmp_path, tiny_data, field):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    with h5py.File(path, "a") as f:
        del f[field]
    with pytest.raises(DatasetError, match=f"'{field}'"):
        read_dataset(path)


def test_inconsistent_lengths_named(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    with h5py.File(path, "a") as f:
        f["actions"].resize(f["actions"].shape[0] - 3, axis=0)
    with pytest.raises(DatasetError, match="'actions'.*truncated"):
        read_dataset(path)


def test_nan_named(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    with h5py.File(path, "a") as f:
        f["obs"][5, 1] = np.nan
    with pytest.raises(DatasetError, match="'obs'.*non-finite.*row 5"):
        read_dataset(path)


def test_missing_attribute_named(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    with h5py.File(path, "a") as f:
        del f.attrs["env_id"]
    with pytest.raises(DatasetError, match="'env_id'"):
        read_dataset(path)


def test_collection_independent_of_workers():
    env, cfg = EnvConfig(), DataConfig(episodes=4, episode_steps=12, seed=5)
    one = collect(env, cfg, None, progress=False)
    two = collect(env, DataConfig(episodes=4, episode_steps=12, seed=5, workers=2), None, progress=False)
    np.testing.assert_array_equal(one.obs, two.obs)
    np.testing.assert_array_equal(one.actions, two.actions)


def test_random_walk_crosses_the_door():
    data = collect(EnvConfig(), DataConfig(episodes=40, episode_steps=100), None, progress=False)
    crossings = 0
    for i in range(data.num_episodes):
        x = data.episode(i)["states"][:, 0]
        crossings += int(np.sum(np.sign(x[1:]) != np.sign(x[:-1])))
    assert crossings >= 3
