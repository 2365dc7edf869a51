"""Temporally coloured Gaussian noise (power spectral density ``S(f) ~ 1 / f^beta``).

``beta = 0`` is white noise; ``beta = 2`` is red (Brownian-like) noise, which makes sampled
action sequences smooth in time, as iCEM does (Pinneri et al. 2020).  Noise is drawn in the
frequency domain with amplitudes ``f^(-beta/2)`` and transformed back along the time axis
(Timmer & Koenig 1995), then divided by its exact standard deviation so every entry has unit
variance:  with ``x_t = irfft(X)_t``, ``Var x_t = (s_0^2 + 4 sum_k s_k^2 [+ s_Nyq^2]) / H^2``.
"""

from __future__ import annotations

import torch


def colored_noise(samples: int, horizon: int, dim: int, beta: float, gen: torch.Generator) -> torch.Tensor:
    """Unit-variance noise ``(samples, horizon, dim)``, coloured along ``horizon`` with exponent ``beta``."""
    if beta == 0 or horizon == 1:
        return torch.randn((samples, horizon, dim), generator=gen)
    freqs = torch.fft.rfftfreq(horizon, dtype=torch.float64)
    freqs[0] = 1.0 / horizon  # cut off the divergence at f = 0 (lowest resolvable frequency)
    amp = freqs.pow(-beta / 2)
    parts = torch.randn((2, samples, dim, len(freqs)), generator=gen, dtype=torch.float64) * amp
    weight = torch.full_like(amp, 4.0)  # a complex bin contributes 2 Re(X e^{i..}): variance 4 s^2
    parts[1, ..., 0], weight[0] = 0.0, 1.0  # the f = 0 bin is real
    if horizon % 2 == 0:  # so is the Nyquist bin
        parts[1, ..., -1], weight[-1] = 0.0, 1.0
    noise = torch.fft.irfft(torch.complex(parts[0], parts[1]), n=horizon, dim=-1)  # (N, A, H)
    std = torch.sqrt((weight * amp.pow(2)).sum()) / horizon
    return (noise / std).transpose(1, 2).float()
