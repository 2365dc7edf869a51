"""One logger with namespaced tags (``train/loss``, ``collapse/eff_rank``), backed by TensorBoard."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter


class Logger:
    """Scalars and histograms to TensorBoard; ``enabled=False`` logs nothing (non-zero ranks)."""

    def __init__(self, log_dir: str | Path | None, enabled: bool = True, purge_step: int | None = None):
        """``purge_step``: on resume, drop events at and after this step left by the interrupted run."""
        on = enabled and log_dir is not None
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step) if on else None
        self.last: dict[str, float] = {}

    def scalars(self, metrics: dict[str, float], step: int) -> None:
        self.last.update(metrics)
        if self.writer is not None:
            for tag, value in metrics.items():
                self.writer.add_scalar(tag, value, step)

    def histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        if self.writer is not None:
            self.writer.add_histogram(tag, values.detach().cpu(), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
