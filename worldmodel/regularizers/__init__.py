"""Anti-collapse regularisers, one interface: ``reg(z_seq, extras) -> (loss, metrics)``.

``z_seq (B, T+1, D)`` are the encoded observations of a sub-trajectory; ``extras``
carries ``actions (B, T, k*A)``, ``pred (B, T, D)`` (the predictor's outputs), ``obs``,
``target`` and ``step`` (see :mod:`worldmodel.regularizers.base`).  Families: ``vicreg``,
``sigreg``, ``barlow``, ``infonce``, ``ema``, ``vae``.
"""

from worldmodel.regularizers.base import Regularizer, build_regularizer

__all__ = ["Regularizer", "build_regularizer"]
