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


class ImpalaCNN(nn.Module):
    """Impala-style stages (Espeholt et al., 2018): conv 3x3, max-pool /2, a residual block.

    ``(B, 3, H, W) -> (B, F)`` with ``F = 2c * ceil(H/8) * ceil(W/8)``; a 64x64 image ends as
    8x8 maps of ``2c`` channels.
    """

    def __init__(self, in_channels: int, c: int, height: int, width: int):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((in_channels, c), (c, 2 * c), (2 * c, 2 * c)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                       ResidualBlock(cout)]
        layers += [nn.ReLU(), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        h, w = height, width
        for _ in range(3):
            h, w = (h + 1) // 2, (w + 1) // 2
        self.out_dim = 2 * c * h * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


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
        net = ImpalaCNN(c, cfg.channels, h, w)
    elif cfg.encoder == "vit":
        net = ViTTiny(c, h, w, cfg.patch_size, cfg.vit_dim, cfg.vit_depth, cfg.heads)
    else:
        raise ValueError(f"encoder: {cfg.encoder!r} is not an image encoder")
    return net, net.out_dim
