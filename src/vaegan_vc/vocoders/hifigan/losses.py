"""HiFi-GAN's training losses (Kong et al., 2020): LSGAN discriminator and adversarial terms,
feature matching, and the ln-mel L1."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor



def discriminator_loss(real_logits: list[Tensor], fake_logits: list[Tensor]) -> Tensor:
    """LSGAN: Σ_k E[(D_k(x) − 1)²] + E[D_k(G(s))²]."""
    return sum(torch.mean((1 - r) ** 2) + torch.mean(f**2) for r, f in zip(real_logits, fake_logits))


def adversarial_loss(fake_logits: list[Tensor]) -> Tensor:
    """LSGAN for the generator: Σ_k E[(D_k(G(s)) − 1)²]."""
    return sum(torch.mean((1 - f) ** 2) for f in fake_logits)


def feature_matching_loss(real_fmaps: list[list[Tensor]], fake_fmaps: list[list[Tensor]]) -> Tensor:
    """Σ over sub-discriminators and layers of the mean L1 between real and fake feature maps."""
    return sum(
        torch.mean(torch.abs(r.detach() - f))
        for real, fake in zip(real_fmaps, fake_fmaps)
        for r, f in zip(real, fake)
    )


def mel_loss(log_mel_real: Tensor, log_mel_fake: Tensor) -> Tensor:
    """L1 between log mels [B, n_mels, T] (the caller computes both with the one mel function)."""
    return F.l1_loss(log_mel_fake, log_mel_real)
