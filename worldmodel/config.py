"""Configuration of the ``model`` and ``train`` sections (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

ENCODERS = ("mlp",)
PREDICTORS = ("mlp",)
REGULARIZERS = ("vicreg",)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: must be > 0, got {value}")


def _non_negative(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name}: must be >= 0, got {value}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss coefficients of the world model (everything a checkpoint needs)."""

    encoder: str = "mlp"
    """Observation encoder: ``mlp`` (state vectors)."""
    predictor: str = "mlp"
    """Latent dynamics: ``mlp`` (residual MLP on ``[z, a]``)."""
    regularizer: str = "vicreg"
    """Anti-collapse family: ``vicreg``."""
    latent_dim: int = 32
    """Size D of the latent z."""
    hidden_dim: int = 256
    """Width of the encoder and predictor MLPs."""
    depth: int = 3
    """Hidden layers of the encoder and of the predictor."""
    frameskip: int = 5
    """Environment steps per model step; the predictor takes the ``frameskip`` actions concatenated."""
    var_coeff: float = 1.0
    """VICReg variance (hinge on per-dimension std) weight."""
    cov_coeff: float = 0.05
    """VICReg covariance (off-diagonal) weight."""
    idm_coeff: float = 1.0
    """Inverse-dynamics weight: predict the action from ``(z_t, z_{t+1})``."""
    smooth_coeff: float = 5.0
    """Temporal-smoothness weight: ``||z_{t+1} - z_t||^2``."""

    def __post_init__(self) -> None:
        for name, choices in (("encoder", ENCODERS), ("predictor", PREDICTORS),
                              ("regularizer", REGULARIZERS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}: must be one of {choices}, got {getattr(self, name)!r}")
        for name in ("latent_dim", "hidden_dim", "depth", "frameskip"):
            _positive(name, getattr(self, name))
        for name in ("var_coeff", "cov_coeff", "idm_coeff", "smooth_coeff"):
            _non_negative(name, getattr(self, name))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and logging of one training run."""

    steps: int = 3000
    """Gradient steps."""
    batch_size: int = 256
    """Sub-trajectories per batch."""
    pred_steps: int = 4
    """Autoregressive prediction steps in the loss (model steps)."""
    lr: float = 1e-3
    """AdamW learning rate (cosine decay to 10 %)."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    seed: int = 0
    """Seed of initialisation and batch sampling."""
    log_every: int = 50
    """Steps between TensorBoard scalars."""
    eval_every: int = 500
    """Steps between diagnostics (rank, probe R^2, error by horizon)."""
    checkpoint_every: int = 1000
    """Steps between checkpoints (the last step always writes one)."""
    device: str = "cpu"
    """Torch device, e.g. ``cpu``."""
    threads: int = 0
    """Torch intra-op threads (0: leave torch's default)."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "pred_steps", "lr", "log_every", "eval_every",
                     "checkpoint_every"):
            _positive(name, getattr(self, name))
        for name in ("weight_decay", "grad_clip", "threads"):
            _non_negative(name, getattr(self, name))
