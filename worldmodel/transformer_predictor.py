"""A small causal transformer over a window of latents, conditioned on the action by AdaLN.

Tokens are the ``W <= k`` latents of the window (oldest first) plus a learned position,
right-aligned so that the newest latent always has position ``k - 1``.  Every block is
pre-norm with adaptive LayerNorm (DiT's adaLN-Zero, Peebles & Xie 2023): from the action
embedding ``c`` a linear layer gives per-block ``(shift, scale, gate)`` for the attention and
the MLP branch,

    x <- x + gate_1 * Attn(LN(x) * (1 + scale_1) + shift_1)      (causal mask)
    x <- x + gate_2 * MLP (LN(x) * (1 + scale_2) + shift_2)

with the modulation initialised to zero, so the network starts as the identity map.  The
output is residual on the newest latent: ``z' = z_last + W_out LN(x_last)``.  The action
conditions every token of the window (it is the action taken after the newest latent), so
a prediction needs no past actions: ``predict(history, a)`` and the sliding-window rollout
work from latents alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from worldmodel.config import ModelConfig


class AdaLNBlock(nn.Module):
    """Pre-norm causal self-attention + MLP, both modulated by a conditioning vector."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.modulation = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Causal multi-head self-attention, ``x (B, W, dim)`` -> ``(B, W, dim)``."""
        b, w, d = x.shape
        q, k, v = self.qkv(x).view(b, w, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, heads, W, dim/heads)
        return self.proj(out.transpose(1, 2).reshape(b, w, d))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """``x (B, W, dim)``, ``c (B, dim)`` -> ``(B, W, dim)``."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(c))[:, None].chunk(6, dim=-1)
        x = x + gate1 * self.attention(self.norm1(x) * (1 + scale1) + shift1)
        return x + gate2 * self.mlp(self.norm2(x) * (1 + scale2) + shift2)


class CausalTransformerPredictor(nn.Module):
    """``(window (B, W, D), a (B, k*A)) -> z' (B, D)``; see the module docstring."""

    def __init__(self, action_dim: int, cfg: ModelConfig):
        super().__init__()
        dim, self.history = cfg.hidden_dim, cfg.history
        self.embed = nn.Linear(cfg.latent_dim, dim)
        self.pos = nn.Parameter(torch.randn(cfg.history, dim) * 0.02)
        self.action = nn.Sequential(nn.Linear(action_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(AdaLNBlock(dim, cfg.heads) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, cfg.latent_dim)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (B, D)`` or window ``(B, W, D)`` (last ``history`` kept), ``a (B, k*A)`` (or a window of
        actions ``(B, W, k*A)``, whose last is this step's) -> ``(B, D)``."""
        a = a[:, -1] if a.ndim == 3 else a
        if z.ndim == 2:
            z = z[:, None]
        z = z[:, -self.history:]
        x = self.embed(z) + self.pos[self.history - z.shape[1]:]
        c = self.action(a)
        for block in self.blocks:
            x = block(x, c)
        return z[:, -1] + self.out(self.norm(x[:, -1]))
