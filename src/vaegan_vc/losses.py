"""Each VAE-GAN loss term, returned as a named dict; weights are a dict with the same keys."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .models.vaegan import VAEGAN, Discriminators
from .pitch import map_f0


def kl(mu: Tensor) -> Tensor:
    """KL(N(μ, I) ‖ N(0, I)) up to a constant, averaged: mean(μ²) (as in UNIT, Liu et al. 2017)."""
    return mu.float().pow(2).mean()  # fp32 even under bf16 autocast


def l1(x: Tensor, y: Tensor) -> Tensor:
    return (x.float() - y.float()).abs().mean()


def lsgan_real(scores: Tensor) -> Tensor:
    """Least-squares GAN (Mao et al., 2017): push scores towards 1."""
    return (scores.float() - 1).pow(2).mean()


def lsgan_fake(scores: Tensor) -> Tensor:
    return scores.float().pow(2).mean()


def latent_mean_gap(mu_a: Tensor, mu_b: Tensor) -> Tensor:
    """L1 between the two speakers' mean latent per channel: pulls both into one shared space."""
    dims = [0, *range(2, mu_a.dim())]
    return l1(mu_a.mean(dim=dims), mu_b.mean(dim=dims))


def feature_matching(discs: Discriminators, fake: Tensor, real: Tensor, speaker: str) -> Tensor:
    """Mean L1 between the discriminator's layer outputs for a reconstruction and its real crop
    (paired, as in HiFi-GAN): sharpens what L1 on the mel alone smooths away."""
    with torch.no_grad():
        real_maps = discs.features(real, speaker)
    fake_maps = discs.features(fake, speaker)
    return sum(l1(f, r) for f, r in zip(fake_maps[:-1], real_maps[:-1])) / max(len(real_maps) - 1, 1)


def content_consistency(mu_translated: Tensor, mu_source: Tensor) -> Tensor:
    """L1 between the latent of each translation and that of its source (MUNIT's latent
    reconstruction): what was said must survive the change of voice in the latent itself, not
    only through the cycle, which can hide it in details a listener (or a recogniser) misses.
    The source's μ is the fixed target, so the encoder cannot meet it by shrinking both."""
    return l1(mu_translated, mu_source.detach())


@dataclass
class Pitch:
    """F0 of a crop pair, Hz [B, T] (0 = unvoiced), and each speaker's ln-F0 statistics."""

    f0_a: Tensor
    f0_b: Tensor
    stats_a: dict[str, float]
    stats_b: dict[str, float]

    def targets(self) -> tuple[Tensor, Tensor]:
        """The F0 each translation should have: a's contour in b's range, b's in a's."""
        return map_f0(self.f0_a, self.stats_a, self.stats_b), map_f0(self.f0_b, self.stats_b, self.stats_a)


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
    noise: torch.Generator | None, pitch: Pitch | None = None, weights: dict[str, float] | None = None,
) -> tuple[dict[str, Tensor], Translations]:
    """The generator-side terms for speakers a and b, both directions at once.

    x_a, x_b: [B, n_mels, T] crops. z = μ + ε with ε ~ N(0, I) from `noise` (a seeded generator,
    so that a resumed run draws the same ε); `noise=None` uses z = μ (validation). A pitch-aware
    model gets `pitch`: reconstructions and cycles keep their own F0, translations get the
    source contour moved into the target's range. `fm`, `content` and `gan_cycle` are computed
    only when `weights` gives them a positive weight.
    """
    n, weights = x_a.shape[0], weights or {}
    f0_a = f0_b = f0_ab = f0_ba = None
    if pitch is not None:
        f0_a, f0_b = pitch.f0_a, pitch.f0_b
        f0_ab, f0_ba = pitch.targets()
    mu = model.encode(torch.cat([x_a, x_b]))
    h = model.shared(_sample(mu, noise))
    # One pass per generator over both speakers' crops, as the seed does.
    aa, ba = model.generate(h, a, _cat(f0_a, f0_ba)).split(n)
    ab, bb = model.generate(h, b, _cat(f0_ab, f0_b)).split(n)

    mu_cycle = model.encode(torch.cat([ab, ba]))
    h_cycle = model.shared(_sample(mu_cycle, noise))
    aba = model.generate(h_cycle[:n], a, f0_a)
    bab = model.generate(h_cycle[n:], b, f0_b)

    losses = {
        "gan": lsgan_real(discs(ab, b)) + lsgan_real(discs(ba, a)),
        "kl": kl(mu),
        "recon": l1(aa, x_a) + l1(bb, x_b),
        "cycle_kl": kl(mu_cycle),
        "cycle": l1(aba, x_a) + l1(bab, x_b),
        "latent": latent_mean_gap(mu[:n], mu[n:]),
    }
    if weights.get("fm", 0.0) > 0:
        losses["fm"] = feature_matching(discs, aa, x_a, a) + feature_matching(discs, bb, x_b, b)
    if weights.get("content", 0.0) > 0:
        losses["content"] = content_consistency(mu_cycle, mu)
    if weights.get("gan_cycle", 0.0) > 0:  # CycleGAN-VC2's second adversarial step, on the cycles
        losses["gan_cycle"] = lsgan_real(discs(aba, a)) + lsgan_real(discs(bab, b))
    return losses, Translations(aa, bb, ab, ba, aba, bab)


def discriminator_losses(
    discs: Discriminators, x_a: Tensor, x_b: Tensor, fake_ab: Tensor, fake_ba: Tensor, a: str, b: str,
    cycles: tuple[Tensor, Tensor] | None = None,
) -> dict[str, Tensor]:
    """LSGAN terms for D_a and D_b: real crops towards 1, (detached) translations towards 0.

    `cycles` (aba, bab), given when the generators have the `gan_cycle` term: the cycle
    reconstructions are fakes too, and `disc_fake` is then the mean of both kinds, so that real
    and fake keep equal weight.
    """
    fake = lsgan_fake(discs(fake_ba.detach(), a)) + lsgan_fake(discs(fake_ab.detach(), b))
    if cycles is not None:
        aba, bab = cycles
        fake = 0.5 * (fake + lsgan_fake(discs(aba.detach(), a)) + lsgan_fake(discs(bab.detach(), b)))
    return {"disc_real": lsgan_real(discs(x_a, a)) + lsgan_real(discs(x_b, b)), "disc_fake": fake}


def weighted_total(losses: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Σ weight·term over the keys of `losses` (a key without a weight counts with weight 1)."""
    return sum(weights.get(k, 1.0) * v for k, v in losses.items())


def _cat(*f0s: Tensor | None) -> Tensor | None:
    """F0 tracks stacked along the batch (None for a model without a pitch path)."""
    return None if f0s[0] is None else torch.cat(f0s)


def _sample(mu: Tensor, generator: torch.Generator | None) -> Tensor:
    """z = μ + ε. ε is drawn on μ's device (CUDA for CUDA runs): no host round-trip, which
    starved the GPU in the reference implementation."""
    if generator is None:
        return mu
    return mu + torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
