"""Each VAE-GAN loss term, returned as a named dict; weights are a dict with the same keys."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .models.vaegan import VAEGAN, Discriminators


def kl(mu: Tensor) -> Tensor:
    """KL(N(μ, I) ‖ N(0, I)) up to a constant, averaged: mean(μ²) (as in UNIT, Liu et al. 2017)."""
    return mu.pow(2).mean()


def l1(x: Tensor, y: Tensor) -> Tensor:
    return (x - y).abs().mean()


def lsgan_real(scores: Tensor) -> Tensor:
    """Least-squares GAN (Mao et al., 2017): push scores towards 1."""
    return (scores - 1).pow(2).mean()


def lsgan_fake(scores: Tensor) -> Tensor:
    return scores.pow(2).mean()


def latent_mean_gap(mu_a: Tensor, mu_b: Tensor) -> Tensor:
    """L1 between the two speakers' mean latent per channel: pulls both into one shared space."""
    return l1(mu_a.mean(dim=(0, 2, 3)), mu_b.mean(dim=(0, 2, 3)))


@dataclass
class Translations:
    """Everything one generator pass makes for a speaker pair (a, b), each [B, n_mels, T]."""

    aa: Tensor  # reconstructions
    bb: Tensor
    ab: Tensor  # translations
    ba: Tensor
    aba: Tensor  # cycle reconstructions
    bab: Tensor


def generator_losses(
    model: VAEGAN, discs: Discriminators, x_a: Tensor, x_b: Tensor, a: str, b: str,
    noise: torch.Generator | None,
) -> tuple[dict[str, Tensor], Translations]:
    """The generator-side terms for speakers a and b, both directions at once.

    x_a, x_b: [B, n_mels, T] crops. z = μ + ε with ε ~ N(0, I) from `noise` (a seeded generator,
    so that a resumed run draws the same ε); `noise=None` uses z = μ (validation).
    """
    n = x_a.shape[0]
    mu = model.encode(torch.cat([x_a, x_b]))
    z = _sample(mu, noise)
    h = model.shared(z)
    aa_ba = model.generators[a](h).squeeze(1)  # G_a(z_a), G_a(z_b)
    ab_bb = model.generators[b](h).squeeze(1)
    aa, ba, ab, bb = aa_ba[:n], aa_ba[n:], ab_bb[:n], ab_bb[n:]

    mu_cycle = model.encode(torch.cat([ab, ba]))
    h_cycle = model.shared(_sample(mu_cycle, noise))
    aba = model.generators[a](h_cycle[:n]).squeeze(1)
    bab = model.generators[b](h_cycle[n:]).squeeze(1)

    losses = {
        "gan": lsgan_real(discs(ab, b)) + lsgan_real(discs(ba, a)),
        "kl": kl(mu),
        "recon": l1(aa, x_a) + l1(bb, x_b),
        "cycle_kl": kl(mu_cycle),
        "cycle": l1(aba, x_a) + l1(bab, x_b),
        "latent": latent_mean_gap(mu[:n], mu[n:]),
    }
    return losses, Translations(aa, bb, ab, ba, aba, bab)


def discriminator_losses(
    discs: Discriminators, x_a: Tensor, x_b: Tensor, fake_ab: Tensor, fake_ba: Tensor, a: str, b: str,
) -> dict[str, Tensor]:
    """LSGAN terms for D_a and D_b: real crops towards 1, (detached) translations towards 0."""
    return {
        "disc_real": lsgan_real(discs(x_a, a)) + lsgan_real(discs(x_b, b)),
        "disc_fake": lsgan_fake(discs(fake_ba.detach(), a)) + lsgan_fake(discs(fake_ab.detach(), b)),
    }


def weighted_total(losses: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Σ weight·term over the keys of `losses` (a key without a weight counts with weight 1)."""
    return sum(weights.get(k, 1.0) * v for k, v in losses.items())


def _sample(mu: Tensor, generator: torch.Generator | None) -> Tensor:
    """z = μ + ε. ε is drawn on μ's device (CUDA for CUDA runs): no host round-trip, which
    starved the GPU in the reference implementation."""
    if generator is None:
        return mu
    return mu + torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
