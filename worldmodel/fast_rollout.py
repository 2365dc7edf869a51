"""A planning-time rollout of the residual MLP predictor, with the overheads of the generic path removed.

The reference :meth:`worldmodel.model.WorldModel.rollout` calls the predictor ``H`` times, and each
call concatenates ``[z, a]`` and runs ``nn.Sequential``.  Here, for the ``mlp`` predictor, the
first Linear's weight ``W1 = [W_z | W_a]`` is split so that

    h1_t = W_z w_t + (W_a a_t + b1)

where ``w_t`` is the latent ``z_t`` (``history == 1``) or the window of the last ``c = history``
latents, flattened.  The action part of all ``H`` steps is one batched matmul before the loop;
inside the loop each Linear is one fused ``addmm`` (bias + product), and when every row starts
from the same ``z0`` (an expanded tensor, as in MPC) the first step's ``W_z w_0`` is computed once.  The
result equals the reference rollout up to float rounding (the sums are ordered differently).

``dtype=torch.bfloat16`` runs the matmuls, LayerNorms and GELUs in bfloat16 (the latent
``z`` and the residual sum stay float32): about 2x less matmul time on CPUs with AVX512-BF16,
at ~1e-2 relative error per latent.  The weights are copied (detached, cast) once, when the
object is built: rebuild it after the model's weights change.  Gradients flow to the inputs
(actions), never to the weights, so gradient planners can use it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from worldmodel.predictors import ResidualMLPPredictor, pad_actions, pad_window

Rollout = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Layers = tuple[torch.Tensor, list[torch.Tensor], torch.Tensor, list[torch.Tensor], list[torch.Tensor],
               list[torch.Tensor], list[torch.Tensor]]
"""The weights of the scripted loop: ``W_z^T``, the action slots, ``b1``, then per later Linear its ``W^T`` and
bias, and per hidden layer its LayerNorm weight and bias (empty lists: no norm)."""


def _blocks(net: nn.Sequential) -> tuple[list[nn.Linear], list[nn.Module]]:
    """The Linears and norms of ``[Linear, LayerNorm | Identity, GELU] * depth + [Linear]`` (else ValueError)."""
    mods = list(net)
    lins, norms, acts = mods[0::3], mods[1::3], mods[2::3]
    if not (len(mods) % 3 == 1 and all(isinstance(m, nn.Linear) for m in lins)
            and (all(isinstance(m, nn.Identity) for m in norms)
                 or all(isinstance(m, nn.LayerNorm) and m.elementwise_affine and m.bias is not None
                        and m.eps == norms[0].eps for m in norms))
            and all(isinstance(m, nn.GELU) and m.approximate == "none" for m in acts)):
        raise ValueError("predictor: MLPRollout expects [Linear, LayerNorm, GELU] * depth + [Linear]")
    return lins, norms


def _action_terms(seq: torch.Tensor, slots: list[torch.Tensor], b1: torch.Tensor, horizon: int) -> torch.Tensor:
    """The first layer's action term + bias of every step, ``(H, B, hidden)`` (step-major: each step
    contiguous), from ``seq (B, ca - 1 + H, k*A)``: one GEMM per slot ``(hidden, k*A)`` of the action window."""
    b = seq.shape[0]
    proj = F.linear(seq[:, :horizon].transpose(0, 1).reshape(horizon * b, -1), slots[0], b1).view(horizon, b, -1)
    for j in range(1, len(slots)):
        steps = seq[:, j:j + horizon].transpose(0, 1).reshape(horizon * b, -1)  # 2-D: one GEMM, not a bmm
        proj = proj.add_(F.linear(steps, slots[j]).view(horizon, b, -1))
    return proj


def _steps(w: torch.Tensor, seq: torch.Tensor, horizon: int, layers: Layers, eps: float, c: int, shared: bool,
           inplace: bool) -> torch.Tensor:
    """The rollout: ``w`` the first window (``(B, D)``, or ``(B, c, D)``), ``seq`` the model actions
    (:meth:`MLPRollout._action_seq`), ``layers`` the weights of :class:`MLPRollout` -> ``(B, H, D)``.
    Compiled by TorchScript (:func:`_script`): it runs without Python's per-op overhead and without
    holding the GIL, so population slices on several threads run side by side."""
    wz_t, slots, b1, weights, biases, norm_weights, norm_biases = layers
    act_proj = _action_terms(seq, slots, b1, horizon)
    b, out = w.shape[0], []
    for t in range(horizon):
        flat = (w if c == 1 else w.reshape(b, -1)).to(wz_t.dtype)
        if t == 0 and shared:
            zw = flat[:1] @ wz_t
            h = act_proj[0].add_(zw) if inplace else act_proj[0] + zw
        elif inplace:
            h = act_proj[t].addmm_(flat, wz_t)  # no copy of the bias term
        else:
            h = torch.addmm(act_proj[t], flat, wz_t)
        for k in range(len(weights)):
            if len(norm_weights) > 0:
                h = F.layer_norm(h, [h.shape[1]], norm_weights[k], norm_biases[k], eps)
            h = torch.addmm(biases[k], F.gelu(h), weights[k])
        z = (w if c == 1 else w[:, -1]) + h.float()
        out.append(z)
        w = z if c == 1 else torch.cat([w[:, 1:], z[:, None]], dim=1)
    return torch.stack(out, dim=1)


@functools.cache
def compiled(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``fn`` compiled by TorchScript, once per process and function; ``fn`` itself where this torch cannot
    script it (the same results, op by op). TorchScript's deprecation warning is silenced here only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(fn)
    except Exception:
        return fn


def _script() -> Callable[..., torch.Tensor]:
    """:func:`_steps` compiled (:func:`compiled`), on first use.

    TorchScript, not ``torch.compile``: the scripted loop runs the same ATen kernels in the same order
    (bit-identical to the eager loop), compiles in well under a second, and releases the GIL; inductor
    took 22 s to compile, was not faster at these shapes and changed the floats
    (``benchmarks/compile_check.py``).
    bfloat16 rollouts run the plain function: scripted, ``addmm`` in bfloat16 rounds the product before
    adding the bias (eager adds it inside the GEMM, which is more accurate).
    """
    return compiled(_steps)


class MLPRollout:
    """``(z0 (B, D) or history (B, W, D), actions (B, H, k*A)) -> (B, H, D)`` for a :class:`ResidualMLPPredictor`.

    A history shorter than the predictor's ``c`` is padded with its oldest latent, and the actions before
    it with zeros, as the predictor does.
    """

    def __init__(self, predictor: ResidualMLPPredictor, latent_dim: int, dtype: torch.dtype = torch.float32):
        lins, norms = _blocks(predictor.net)
        self.dtype, self.d, self.c, self.ca = dtype, latent_dim, predictor.history, predictor.action_window
        with torch.no_grad():
            w1 = lins[0].weight.detach().to(dtype)
            width = self.c * latent_dim
            self.wz_t = w1[:, :width].t().contiguous()  # (c*D, hidden)
            # (hidden, k*A) per slot of the action window, oldest first; the last is the step's own action
            self.wa_slots = [w.contiguous() for w in w1[:, width:].chunk(self.ca, dim=1)]
            self.b1 = lins[0].bias.detach().to(dtype)
            self.weights = [lin.weight.detach().to(dtype).t().contiguous() for lin in lins[1:]]  # (in, out)
            self.biases = [lin.bias.detach().to(dtype) for lin in lins[1:]]  # (out,)
            # LayerNorm affine parameters per hidden layer; none: the predictor has no norm (Identity)
            self.norm_weights = [n.weight.detach().to(dtype) for n in norms if isinstance(n, nn.LayerNorm)]
            self.norm_biases = [n.bias.detach().to(dtype) for n in norms if isinstance(n, nn.LayerNorm)]
            self.eps = next((n.eps for n in norms if isinstance(n, nn.LayerNorm)), 1e-5)
        if dtype == torch.float32:
            _script()  # compiled once, here, not by several population threads at their first call

    def _window(self, z0: torch.Tensor) -> torch.Tensor:
        """``z0 (B, D)`` or ``(B, W, D)`` -> the first input window: ``(B, D)`` (``c = 1``) or ``(B, c, D)``."""
        z = z0.float()
        if self.c == 1:
            return z[:, -1] if z.ndim == 3 else z
        return pad_window(z[:, None] if z.ndim == 2 else z, self.c)

    def _action_seq(self, actions: torch.Tensor, past: torch.Tensor | None) -> torch.Tensor:
        """The model actions the first layer sees, ``(B, ca - 1 + H, k*A)`` in the rollout's dtype: with an
        action window (``ca > 1``), ``past (B, P, k*A)`` (padded with zeros to ``ca - 1``) before ``actions``."""
        seq = actions.to(self.dtype)
        if self.ca > 1:
            before = seq[:, :0] if past is None else past.to(self.dtype)
            seq = torch.cat([pad_actions(before, self.ca - 1), seq], dim=1)
        return seq

    @property
    def layers(self) -> Layers:
        """The weights :func:`_steps` takes, in its order."""
        return (self.wz_t, self.wa_slots, self.b1, self.weights, self.biases, self.norm_weights, self.norm_biases)

    def __call__(self, z0: torch.Tensor, actions: torch.Tensor, past: torch.Tensor | None = None) -> torch.Tensor:
        """``z0 (B, D)`` or ``(B, W, D)``, ``actions (B, H, k*A)`` (``past (B, W - 1, k*A)``: the actions taken
        from the history's latents, for ``action_history`` predictors) -> predicted latents ``(B, H, D)`` (float32)."""
        inplace = not (torch.is_grad_enabled() and actions.requires_grad)  # autograd forbids it on saved views
        shared = actions.shape[0] > 1 and z0.stride(0) == 0  # every row starts from the same z0
        loop = _script() if self.dtype == torch.float32 else _steps
        return loop(self._window(z0), self._action_seq(actions, past), actions.shape[1], self.layers, self.eps,
                    self.c, shared, inplace)

    def start(self, z0: torch.Tensor, past: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One start shared by a population, prepared once for :func:`env_steps`: ``z0 (D,)``, ``(1, D)`` or
        ``(1, W, D)`` -> the first window ``(1, D)`` / ``(1, c, D)``; ``past (1, W - 1, k*A)`` or None -> the
        model actions before the first step ``(1, ca - 1, k*A)`` (None without an action window)."""
        window = self._window(z0.reshape(1, -1) if z0.ndim == 1 else z0)
        if self.ca == 1:
            return window, None
        before = past if past is not None else window.new_zeros(1, 0, self.wa_slots[0].shape[1])
        return window, pad_actions(before.to(self.dtype), self.ca - 1)


def env_steps(window: torch.Tensor, prefix: torch.Tensor | None, actions: torch.Tensor, frameskip: int,
              layers: Layers, eps: float, c: int) -> torch.Tensor:
    """The float32 rollout of env actions ``(B, H, A)`` (each held ``frameskip`` env steps) from one start
    shared by every row (``window, prefix`` of :meth:`MLPRollout.start`) -> ``(B, H, D)``, without autograd.

    The same ops as :meth:`WorldModel.rollout_env_actions` through an :class:`MLPRollout` (bit-identical),
    written to be compiled with its caller in one TorchScript function, so that a population slice holds
    the GIL only to enter it (``agents/fused_cost.py``).
    """
    b, h, a = actions.shape[0], actions.shape[1], actions.shape[2]
    seq = actions.unsqueeze(-2).expand(b, h, frameskip, a).reshape(b, h, frameskip * a)
    if prefix is not None:
        seq = torch.cat([prefix.expand(b, -1, -1), seq], dim=1)
    w = window.expand(b, -1) if c == 1 else window.expand(b, -1, -1)
    return _steps(w, seq, h, layers, eps, c, b > 1, True)


def planning_rollout(model, dtype: torch.dtype = torch.float32) -> Rollout:
    """The fastest rollout of ``model`` (a :class:`WorldModel`) for planning, ``(z0, actions) -> (B, H, D)``.

    :class:`MLPRollout` for the ``mlp`` predictor; otherwise (the transformer) the model's
    own :meth:`rollout` (float32 only: a ``dtype`` other than float32 is then an error).
    """
    if isinstance(model.predictor, ResidualMLPPredictor):
        return MLPRollout(model.predictor, model.cfg.latent_dim, dtype)
    if dtype != torch.float32:
        raise ValueError(f"plan.precision: {dtype} needs the mlp predictor")
    return model.rollout
