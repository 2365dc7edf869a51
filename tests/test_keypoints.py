"""Spatial-softmax keypoints on the Impala CNN: positions that follow the image, config checks, saved keys."""

from __future__ import annotations

import pytest
import torch

from worldmodel.checkpoint import load_model, save_model
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel
from worldmodel.pixel_encoders import ImpalaCNN, SpatialSoftmax


def blob(x: int, y: int, side: int = 16) -> torch.Tensor:
    """One channel, a single bright pixel at column x, row y: ``(1, 1, side, side)``."""
    img = torch.zeros(1, 1, side, side)
    img[0, 0, y, x] = 1.0
    return img


def test_a_keypoint_is_the_expected_position_of_its_map():
    ss = SpatialSoftmax(1, 1, 16, 16)
    with torch.no_grad():
        ss.maps.weight.fill_(1.0)
        ss.maps.bias.zero_()
        ss.log_temp.fill_(-4.0)  # sharp softmax: the keypoint sits on the bright pixel
    for x, y in [(0, 0), (15, 0), (3, 12), (8, 8)]:
        kp = ss(blob(x, y))
        expected = torch.tensor([[-1 + 2 * x / 15, -1 + 2 * y / 15]])
        torch.testing.assert_close(kp, expected, atol=1e-3, rtol=0)


def test_keypoints_move_continuously_between_grid_cells():
    ss = SpatialSoftmax(1, 1, 16, 16)
    with torch.no_grad():
        ss.maps.weight.fill_(1.0)
        ss.maps.bias.zero_()
    img = 0.5 * blob(4, 5) + 0.5 * blob(5, 5)  # half-way between two columns
    kp_mid = ss(img * 20)[0, 0]
    assert ss(blob(4, 5) * 20)[0, 0] < kp_mid < ss(blob(5, 5) * 20)[0, 0]


@pytest.mark.parametrize("size", [32, 64])
def test_cnn_features_grow_by_two_per_keypoint(size):
    x = torch.randn(2, 3, size, size)
    plain, with_kp = ImpalaCNN(3, 4, size, size), ImpalaCNN(3, 4, size, size, keypoints=6)
    assert plain(x).shape == (2, plain.out_dim) and with_kp(x).shape == (2, plain.out_dim + 12)
    assert with_kp.out_dim == plain.out_dim + 12
    kp = with_kp(x)[:, plain.out_dim:]
    assert kp.abs().max() <= 1.0


def test_keypoints_keep_the_plain_cnn_parameter_names():
    plain = set(ImpalaCNN(3, 4, 32, 32).state_dict())
    with_kp = set(ImpalaCNN(3, 4, 32, 32, keypoints=3).state_dict())
    assert plain < with_kp and {k for k in with_kp - plain} == {
        "keypoints.maps.weight", "keypoints.maps.bias", "keypoints.log_temp"}


def test_a_keypoint_model_saves_and_loads_bit_identically(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(encoder="cnn", channels=4, keypoints=4, latent_dim=8, hidden_dim=16, depth=1, frameskip=2)
    m = WorldModel(cfg, (32, 32, 3), 2).eval()
    obs = torch.randint(0, 256, (3, 32, 32, 3), dtype=torch.uint8)
    save_model(tmp_path, m)
    back = load_model(tmp_path)
    assert back.cfg.keypoints == 4
    with torch.no_grad():
        assert torch.equal(back.encode(obs), m.encode(obs))


def test_keypoints_are_checked():
    with pytest.raises(ValueError, match="keypoints: must be >= 0"):
        ModelConfig(encoder="cnn", keypoints=-1)
    with pytest.raises(ValueError, match="keypoints: spatial-softmax keypoints need encoder: cnn"):
        ModelConfig(encoder="vit", keypoints=4)
