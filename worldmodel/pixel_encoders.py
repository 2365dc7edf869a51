"""Image backbones ``(B, 3, H, W) -> (B, F)``: an Impala-style CNN and a ViT-tiny."""

from __future__ import annotations

import torch
from torch import nn

from worldmodel.config import ModelConfig


class ResidualBlock(nn.Module):
    """``x + conv(relu(conv(relu(x))))`` with 3x3 convolutions."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(torch.relu(x))))


class SpatialSoftmax(nn.Module):
    """Keypoints (Levine et al., 2016): ``(B, C, h, w)`` maps -> ``(B, 2K)`` expected ``(x, y)`` in [-1, 1].

    A 1x1 convolution makes K maps; each is a softmax over its pixels (with a learned temperature),
    and its keypoint is the expectation of the pixel coordinates under it: a position that moves
    continuously with the image content, finer than the map's grid.
    """

    def __init__(self, in_channels: int, keypoints: int, height: int, width: int):
        super().__init__()
        self.maps = nn.Conv2d(in_channels, keypoints, 1)
        self.log_temp = nn.Parameter(torch.zeros(()))
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.flatten(), ys.flatten()], dim=1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.maps(x).flatten(2) / self.log_temp.exp()  # (B, K, h*w)
        return (logits.softmax(dim=-1) @ self.grid).flatten(1)  # (B, 2K)


class ImpalaCNN(nn.Module):
    """Impala-style stages (Espeholt et al., 2018): conv 3x3, max-pool /2, a residual block.

    ``(B, 3, H, W) -> (B, F)`` with ``F = 2c * ceil(H/8) * ceil(W/8)``; a 64x64 image ends as
    8x8 maps of ``2c`` channels.  With ``keypoints`` K > 0, ``2K`` spatial-softmax coordinates of
    the second stage's maps (``ceil(H/4) x ceil(W/4)``) are appended: ``F + 2K`` features.
    """

    def __init__(self, in_channels: int, c: int, height: int, width: int, keypoints: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((in_channels, c), (c, 2 * c), (2 * c, 2 * c)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                       ResidualBlock(cout)]
        layers += [nn.ReLU(), nn.Flatten()]
        self.net = nn.Sequential(*layers)  # one Sequential: the parameter names of saved models
        sides = [(height, width)]
        for _ in range(3):
            sides.append(((sides[-1][0] + 1) // 2, (sides[-1][1] + 1) // 2))
        self.keypoints = SpatialSoftmax(2 * c, keypoints, *sides[2]) if keypoints else None
        self.out_dim = 2 * c * sides[3][0] * sides[3][1] + 2 * keypoints

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.keypoints is None:
            return self.net(x)
        mid = self.net[:6](x)  # after two stages: (B, 2c, ceil(H/4), ceil(W/4))
        return torch.cat([self.net[6:](mid), self.keypoints(torch.relu(mid))], dim=1)


class ViTTiny(nn.Module):
    """A small Vision Transformer: patch embedding, learned positions, pre-norm blocks, mean pooling.

    ``(B, 3, H, W) -> (B, dim)``.  ViT-Ti proper is 192 wide and 12 deep; the default here
    (128 x 4) is the CPU-sized version, both set by the config.
    """

    def __init__(self, in_channels: int, height: int, width: int, patch: int, dim: int, depth: int, heads: int):
        super().__init__()
        if height % patch or width % patch:
            raise ValueError(f"patch_size: {patch} must divide the image side ({height}x{width})")
        self.patch = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, (height // patch) * (width // patch), dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2) + self.pos  # (B, N, dim)
        return self.norm(self.blocks(tokens)).mean(dim=1)


def build_backbone(cfg: ModelConfig, obs_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """The backbone of ``cfg.encoder`` for images ``(H, W, C)``, and its feature size."""
    h, w, c = obs_shape
    if cfg.encoder == "cnn":
        net = ImpalaCNN(c, cfg.channels, h, w, cfg.keypoints)
    elif cfg.encoder == "vit":
        net = ViTTiny(c, h, w, cfg.patch_size, cfg.vit_dim, cfg.vit_depth, cfg.heads)
    else:
        raise ValueError(f"encoder: {cfg.encoder!r} is not an image encoder")
    return net, net.out_dim
