"""What both trainers (the VAE-GAN's and the vocoder's) share about a run: the finite-loss guard,
the temporary name of a checkpoint being written, and TensorBoard that does not fork on resume."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .errors import VaeganError


class TrainingDiverged(VaeganError):
    """A loss became NaN or infinite; raised before the optimizer step that would spread it."""


def check_finite(losses: dict[str, Tensor], step: int, what: str = "loss") -> None:
    """Raise TrainingDiverged naming every non-finite term (`step` is the step being computed)."""
    values = torch.stack([v.detach().float() for v in losses.values()])
    if not bool(torch.isfinite(values).all()):
        bad = [f"{k}={float(v.detach())}" for k, v in losses.items() if not torch.isfinite(v).all()]
        raise TrainingDiverged(f"step {step}: {what} {', '.join(bad)} is NaN or infinite; training stopped")


def partial_folder(final: Path) -> Path:
    """Where a checkpoint is written before it is renamed into place (never listed as complete)."""
    return final.with_name(f".{final.name}.partial")


def tensorboard_writer(folder: Path, step: int):
    """A SummaryWriter that drops events after `step` on resume, so curves never fork."""
    from torch.utils.tensorboard import SummaryWriter  # heavy: only when training

    return SummaryWriter(str(folder), purge_step=step + 1 if step else None)
