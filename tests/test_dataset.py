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


@pytest.fixture(scope="module")
def pixel_data():
    """3 random-walk episodes of 10 steps on TwoRoom, 64x64 images."""
    return collect(EnvConfig(obs_type="pixels"), DataConfig(episodes=3, episode_steps=10), None, progress=False)


def test_pixel_dataset_is_chunked_compressed_uint8(tmp_path, pixel_data):
    path = tmp_path / "px.h5"
    write_dataset(path, pixel_data)
    with h5py.File(path) as f:
        obs = f["obs"]
        assert obs.dtype == np.uint8 and obs.shape[1:] == (64, 64, 3)
        assert obs.compression == "gzip" and obs.chunks[1:] == (64, 64, 3) and obs.maxshape[0] is None
        assert obs.id.get_storage_size() < obs.size  # compressed
    back = read_dataset(path)
    np.testing.assert_array_equal(back.obs, pixel_data.obs)
    assert back.meta["obs_type"] == "pixels"


def test_corrupted_image_chunk_named(tmp_path, pixel_data):
    path = tmp_path / "px.h5"
    write_dataset(path, pixel_data)
    with h5py.File(path) as f:
        info = f["obs"].id.get_chunk_info(0)
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset + 10: info.byte_offset + 200] = b"\x00" * 190  # break the gzip stream
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"px\.h5: field 'obs'"):
        read_dataset(path)


def test_wrong_obs_layout_named(tmp_path, pixel_data):
    path = tmp_path / "px.h5"
    write_dataset(path, pixel_data)
    with h5py.File(path, "a") as f:
        del f["obs"]
        f["obs"] = pixel_data.obs[..., 0]  # (N, 64, 64): the colour axis is gone
    with pytest.raises(DatasetError, match=r"'obs' must be uint8 \(N, H, W, 3\)"):
        read_dataset(path)


def test_append_refuses_other_image_size(tmp_path, pixel_data):
    path = tmp_path / "px.h5"
    write_dataset(path, pixel_data)
    small = collect(EnvConfig(obs_type="pixels", image_size=32), DataConfig(episodes=1, episode_steps=3), None,
                    progress=False)
    with pytest.raises(DatasetError, match="'obs' has shape"):
        append_dataset(path, small)
    assert read_dataset(path).num_episodes == pixel_data.num_episodes


def test_append_rolls_back_on_failure(tmp_path, tiny_data, monkeypatch):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    real = h5py.Dataset.__setitem__

    def fail_on_actions(self, key, value):
        if self.name == "/actions":
            raise OSError("disk full")
        return real(self, key, value)

    monkeypatch.setattr(h5py.Dataset, "__setitem__", fail_on_actions)
    with pytest.raises(OSError, match="disk full"):
        append_dataset(path, tiny_data)
    monkeypatch.undo()
    back = read_dataset(path)  # still valid and unchanged
    np.testing.assert_array_equal(back.obs, tiny_data.obs)


def test_pixel_collection_independent_of_workers(pixel_data):
    two = collect(EnvConfig(obs_type="pixels"), DataConfig(episodes=3, episode_steps=10, workers=2), None,
                  progress=False)
    np.testing.assert_array_equal(two.obs, pixel_data.obs)
    np.testing.assert_array_equal(two.states, pixel_data.states)


def test_scripted_collection_on_push_t_is_valid(tmp_path):
    path = tmp_path / "pt.h5"
    collect(EnvConfig(id="wm/PushT-v0", obs_type="pixels"), DataConfig(episodes=2, episode_steps=20,
                                                                        policy="scripted"), path, progress=False)
    back = read_dataset(path)
    assert back.meta["policy"] == "scripted" and back.obs.shape == (42, 64, 64, 3)
    assert back.states.shape == (42, 6)
