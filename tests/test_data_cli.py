"""``wm data``: inspect with a contact sheet, Minari export / import, one-line errors."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from envs.dataset import read_dataset
from envs.inspect import frame_grid
from wm.cli import main


@pytest.fixture(scope="module")
def pixel_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("px") / "px.h5"
    collect(EnvConfig(id="wm/PushT-v0", obs_type="pixels"), DataConfig(episodes=3, episode_steps=12,
                                                                        policy="scripted"), path, progress=False)
    return path


@pytest.mark.parametrize("verb", ["inspect", "export-minari", "import-minari"])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", verb, "--help"])
    assert exc.value.code == 0 and "usage: wm data" in capsys.readouterr().out


def test_inspect_writes_a_contact_sheet_of_frames(pixel_file, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert main(["data", "inspect", str(pixel_file), "--sheet", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "wm/PushT-v0 (pixels)" in out and "episodes 3, steps 36" in out and "5:" in out  # 6 state dims
    image = iio.imread(sheet)
    assert image.shape == (3 * 66 * 2, 8 * 66 * 2, 3)  # 3 episodes x 8 frames of 64 px + 2 px gaps, x2
    data = read_dataset(pixel_file)
    grid = frame_grid(data)
    np.testing.assert_array_equal(grid[:64, :64], data.obs[0])                 # first frame of episode 0
    np.testing.assert_array_equal(grid[-66:-2, -66:-2], data.episode(2)["obs"][-1])  # last of the last
    assert main(["data", "inspect", str(pixel_file), "--sheet", str(sheet)]) == 2  # never overwrites
    assert "exists" in capsys.readouterr().err


def test_inspect_state_dataset_plots_trajectories(tmp_path, tiny_data):
    from envs.dataset import write_dataset

    write_dataset(tmp_path / "s.h5", tiny_data)
    assert main(["data", "inspect", str(tmp_path / "s.h5"), "--sheet", str(tmp_path / "s.png")]) == 0
    assert iio.imread(tmp_path / "s.png").shape[:2] == (500, 500)


def test_minari_verbs_round_trip(pixel_file, tmp_path, capsys):
    root = tmp_path / "minari"
    assert main(["data", "export-minari", str(pixel_file), "pusht-scripted-v0", "--root", str(root)]) == 0
    assert main(["data", "import-minari", "pusht-scripted-v0", str(tmp_path / "back.h5"), "--root", str(root)]) == 0
    assert "imported 3 episodes, 36 steps" in capsys.readouterr().out
    np.testing.assert_array_equal(read_dataset(tmp_path / "back.h5").obs, read_dataset(pixel_file).obs)
    # errors: one line, exit 2, naming the culprit
    assert main(["data", "import-minari", "nope-v0", str(tmp_path / "x.h5"), "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "nope-v0" in err and err.count("\n") == 1
    assert main(["data", "export-minari", str(pixel_file), "pusht-scripted-v0", "--root", str(root)]) == 2
    assert "already exists" in capsys.readouterr().err
