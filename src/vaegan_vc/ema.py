"""An exponential moving average of the generator-side weights, the model a run deploys.

GAN generators oscillate around a good solution step to step; the average of their recent
weights converts better than any one of them (Karras et al. 2018; StarGANv2-VC and HiFi-GAN's
successors deploy such an average). Written here rather than with torch.optim.swa_utils.AveragedModel,
because the average must stay a plain VAEGAN whose state dict is the deployable model file
(AveragedModel renames every key and adds a counter).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of `model` to hold the average (same keys, same device)."""
    ema = copy.deepcopy(model)
    ema.requires_grad_(False)
    return ema


def ema_decay_at(decay: float, step: int) -> float:
    """The decay used after optimiser step `step` (1-based): ramped up as (1 + step) / (10 + step),
    so that the average forgets the random initialisation within the first few hundred steps."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """ema ← d·ema + (1 − d)·model for every parameter (d from ema_decay_at); buffers are copied."""
    d = ema_decay_at(decay, step)
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - d)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
