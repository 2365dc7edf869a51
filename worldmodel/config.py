"""Configuration of the ``model`` and ``train`` sections (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

ENCODERS = ("mlp", "cnn", "vit")
PREDICTORS = ("mlp", "transformer")
REGULARIZERS = ("vicreg", "sigreg", "barlow", "infonce", "ema", "vae")
PRECISIONS = ("fp32", "bf16")
"""Arithmetic precisions of training (``train.precision``) and planning (``plan.precision``)."""
PRED_MODES = ("autoregressive", "teacher_forcing")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: must be > 0, got {value}")


def _non_negative(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name}: must be >= 0, got {value}")


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: must be one of {choices}, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss coefficients of the world model (everything a checkpoint needs)."""

    encoder: str = "mlp"
    """Observation encoder: ``mlp`` (state vectors), ``cnn`` (Impala-style, images), ``vit`` (ViT-tiny, images)."""
    predictor: str = "mlp"
    """Latent dynamics: ``mlp`` (residual MLP on the last ``history`` latents and ``a``) or ``transformer``
    (causal, over them)."""
    regularizer: str = "vicreg"
    """Anti-collapse family: ``vicreg``, ``sigreg``, ``barlow``, ``infonce``, ``ema`` or ``vae``."""
    latent_dim: int = 32
    """Size D of the latent z."""
    hidden_dim: int = 256
    """Width of the MLPs (encoder head, predictor, heads) and of the transformer predictor."""
    depth: int = 3
    """Hidden layers of the MLPs; blocks of the transformer predictor."""
    frameskip: int = 5
    """Environment steps per model step; the predictor takes the ``frameskip`` actions concatenated."""
    history: int = 1
    """Latents the predictor sees (its context window, c): training predicts from ``c`` observed latents and
    planning starts from the last ``c`` observations, ``frameskip`` env steps apart (a velocity that one frame
    cannot show is then in the window)."""
    action_history: bool = False
    """The ``mlp`` predictor also sees the model actions taken from each latent of its window (``history > 1``):
    the frames show a velocity only as an average over the last model step, which its action then changed."""
    heads: int = 4
    """Attention heads of the transformer predictor and of the ViT encoder."""
    latent_norm: bool = False
    """LayerNorm without affine on the encoder output (per-sample zero mean, unit variance), e.g. for ``ema``."""
    channels: int = 16
    """CNN width: stages of ``channels, 2*channels, 2*channels`` feature maps."""
    keypoints: int = 0
    """CNN spatial-softmax keypoints K (0: none): ``2K`` expected ``(x, y)`` of K learned maps at a quarter
    of the image side, concatenated to the flattened features (sub-pixel positions, e.g. of an arm)."""
    patch_size: int = 8
    """ViT patch side in pixels (must divide the image side)."""
    vit_dim: int = 128
    """ViT token width."""
    vit_depth: int = 4
    """ViT transformer blocks."""
    var_coeff: float = 1.0
    """VICReg variance (hinge on per-dimension std) weight."""
    cov_coeff: float = 0.05
    """VICReg covariance (off-diagonal) weight."""
    idm_coeff: float = 1.0
    """VICReg inverse-dynamics weight: predict the action from ``(z_t, z_{t+1})``."""
    smooth_coeff: float = 5.0
    """VICReg temporal-smoothness weight: ``||z_{t+1} - z_t||^2``."""
    sigreg_coeff: float = 0.1
    """SIGReg weight (the sliced Epps-Pulley statistic, averaged over projections)."""
    sigreg_slices: int = 256
    """SIGReg random unit projections, resampled every step."""
    sigreg_knots: int = 17
    """SIGReg quadrature knots on ``[0, sigreg_tmax]``."""
    sigreg_tmax: float = 3.0
    """SIGReg upper integration limit of the characteristic-function frequency."""
    barlow_coeff: float = 0.05
    """Barlow Twins weight."""
    barlow_lambda: float = 0.05
    """Barlow Twins off-diagonal weight (redundancy reduction)."""
    infonce_coeff: float = 0.1
    """InfoNCE weight."""
    infonce_temp: float = 1.0
    """InfoNCE temperature on the negative squared distance."""
    ema_momentum: float = 0.99
    """EMA target encoder momentum ``m``: ``target <- m * target + (1 - m) * online``."""
    vae_kl_coeff: float = 1e-3
    """VAE weight of the KL term (per latent dim) against the reconstruction (per observation element)."""
    vae_recon_coeff: float = 1.0
    """VAE weight of the reconstruction error (mean squared, normalised observations)."""
    recon_coeff: float = 0.0
    """Auxiliary reconstruction weight for the JEPA families (0: off): a decoder rebuilds each sequence's
    first observation from its latent, so the encoder keeps what the image shows but the prediction and
    anti-collapse terms do not ask for (e.g. an object's orientation). Not with ``vae``, which reconstructs."""
    recon_fg_weight: float = 0.0
    """Extra weight of the foreground pixels in the auxiliary reconstruction (0: a plain mean): a pixel
    that differs from the batch's per-pixel median frame (a static camera's background) by more than
    one standard deviation in any channel weighs ``1 + recon_fg_weight``. Small objects then count by
    their shape, not by their share of the image. Needs ``recon_coeff > 0`` and image observations."""
    state_readout_coeff: float = 0.0
    """Privileged control (0: off): a linear readout of the dataset's (standardised) state from the latent
    joins the loss with this weight, so the encoder is told the state at training time (planning still
    reads observations only). A yardstick for how much of a row's loss is information its latent drops,
    not a self-supervised recipe."""

    def __post_init__(self) -> None:
        _choice("encoder", self.encoder, ENCODERS)
        _choice("predictor", self.predictor, PREDICTORS)
        _choice("regularizer", self.regularizer, REGULARIZERS)
        for name in ("latent_dim", "hidden_dim", "depth", "frameskip", "history", "heads", "channels",
                     "patch_size", "vit_dim", "vit_depth", "sigreg_slices", "infonce_temp"):
            _positive(name, getattr(self, name))
        for name in ("var_coeff", "cov_coeff", "idm_coeff", "smooth_coeff", "sigreg_coeff", "barlow_coeff",
                     "barlow_lambda", "infonce_coeff", "vae_kl_coeff", "vae_recon_coeff", "recon_coeff",
                     "recon_fg_weight", "state_readout_coeff"):
            _non_negative(name, getattr(self, name))
        _non_negative("keypoints", self.keypoints)
        if self.keypoints and self.encoder != "cnn":
            raise ValueError(f"keypoints: spatial-softmax keypoints need encoder: cnn, got {self.encoder!r}")
        if self.sigreg_knots < 3 or self.sigreg_knots % 2 == 0:
            raise ValueError(f"sigreg_knots: must be odd and >= 3, got {self.sigreg_knots}")
        _positive("sigreg_tmax", self.sigreg_tmax)
        if not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum: must be in [0, 1), got {self.ema_momentum}")
        if self.recon_coeff and self.regularizer == "vae":
            raise ValueError("recon_coeff: the vae reconstructs already (vae_recon_coeff); use it with a JEPA family")
        if self.recon_fg_weight and not self.recon_coeff:
            raise ValueError("recon_fg_weight: weights the auxiliary reconstruction; set recon_coeff > 0 too")
        if self.latent_norm and self.regularizer == "vae":
            raise ValueError("latent_norm: the vae latent is a posterior mean; it cannot be layer-normalised")
        if self.action_history and (self.predictor != "mlp" or self.history < 2):
            raise ValueError(f"action_history: needs predictor: mlp and history > 1, got {self.predictor!r}, "
                             f"history {self.history}")
        if self.predictor == "transformer" and self.hidden_dim % self.heads:
            raise ValueError(f"heads: must divide hidden_dim ({self.hidden_dim}), got {self.heads}")
        if self.encoder == "vit" and self.vit_dim % self.heads:
            raise ValueError(f"heads: must divide vit_dim ({self.vit_dim}), got {self.heads}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and logging of one training run."""

    steps: int = 3000
    """Gradient steps."""
    batch_size: int = 256
    """Sub-trajectories per batch (the global batch: split evenly over DDP ranks)."""
    pred_steps: int = 4
    """Prediction steps in the loss (model steps)."""
    pred_mode: str = "autoregressive"
    """Multi-step loss: ``autoregressive`` (roll the predictor on its own outputs) or ``teacher_forcing``."""
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
    """Steps between checkpoints with training state (the last step always writes one)."""
    probe_steps: int = 1000
    """Steps of the decoder probe trained on frozen latents after training (image observations only; 0: none)."""
    device: str = "cpu"
    """Torch device, e.g. ``cpu``; under torchrun each rank takes index ``LOCAL_RANK`` of this type."""
    threads: int = 0
    """Torch intra-op threads (0: leave torch's default)."""
    precision: str = "fp32"
    """Arithmetic of the encoder's forward pass in the joint steps: ``fp32``, or ``bf16`` (its convolutions and
    matmuls under ``torch.autocast`` in bfloat16; weights, optimiser, predictor and losses stay float32). On
    CPUs with AVX512-BF16/AMX it trains pixel models ~1.5x faster (``benchmarks/train_alloc.py``); elsewhere
    bfloat16 is emulated and slower."""
    predictor_steps: int = 0
    """Steps of a phase after ``steps`` that trains the predictor alone on the frozen encoder's latents of every
    frame (encoded once; the same multi-step loss); cheap where the encoder is costly (pixels). 0: none."""
    predictor_batch_size: int = 256
    """Latent windows per batch of the predictor phase."""
    predictor_lr: float = 3e-4
    """Peak learning rate of the predictor phase (warm-up, cosine decay to 10 %)."""
    planner_episodes: int = 0
    """Episodes recorded after the joint steps by latent MPC (``plan``) with the jointly trained model, under
    the task protocol (``data.episode_steps`` steps each, on past success), its actions plus noise; they join
    the dataset for the predictor phase (kept in ``RUN/planner/episodes.h5``), so the predictor learns the
    transitions its planner seeks out, where it was wrong. 0: none."""
    planner_offset_episodes: int = 0
    """As ``planner_episodes``, from the ``offset`` protocol's starts and goals (``eval.offset_budget`` steps)."""
    planner_noise: float = 0.2
    """Std of the Gaussian noise added to the planner's actions (fraction of the half action range)."""
    planner_seed: int = 200_000
    """Reset seed of the first planner episode (the offset ones follow the task ones); must not overlap
    the evaluation seeds."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "pred_steps", "lr", "log_every", "eval_every",
                     "checkpoint_every", "predictor_batch_size", "predictor_lr"):
            _positive(name, getattr(self, name))
        for name in ("weight_decay", "grad_clip", "threads", "probe_steps", "predictor_steps", "planner_episodes",
                     "planner_offset_episodes", "planner_noise", "planner_seed"):
            _non_negative(name, getattr(self, name))
        if self.planner_episodes + self.planner_offset_episodes and not self.predictor_steps:
            raise ValueError("planner_episodes: the planner's episodes train the predictor phase; "
                             "set train.predictor_steps > 0")
        _choice("pred_mode", self.pred_mode, PRED_MODES)
        _choice("precision", self.precision, PRECISIONS)
