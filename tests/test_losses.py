"""Each loss term, the weights, and the learning-rate schedule."""

import pytest
import torch

from vaegan_vc.config import default_loss_weights, model_preset
from vaegan_vc.losses import (
    discriminator_losses, generator_losses, kl, l1, latent_mean_gap, lsgan_fake, lsgan_real, weighted_total,
)
from vaegan_vc.models.vaegan import VAEGAN, Discriminators
from vaegan_vc.runs import linear_decay_lr as lr_at  # the VAE-GAN's schedule


def test_terms():
    assert float(kl(torch.zeros(2, 3, 4, 4))) == 0
    assert float(kl(torch.full((2, 3, 4, 4), 2.0))) == pytest.approx(4.0)
    assert float(l1(torch.ones(3), torch.zeros(3))) == pytest.approx(1.0)
    assert float(lsgan_real(torch.ones(5))) == 0 and float(lsgan_real(torch.zeros(5))) == pytest.approx(1.0)
    assert float(lsgan_fake(torch.zeros(5))) == 0 and float(lsgan_fake(torch.ones(5))) == pytest.approx(1.0)
    mu = torch.randn(4, 8, 2, 2)
    assert float(latent_mean_gap(mu, mu)) == 0
    assert float(latent_mean_gap(mu, mu + 1)) == pytest.approx(1.0)


def _pair_losses(noise=None):
    torch.manual_seed(0)
    cfg = model_preset("tiny", 32)
    model, discs = VAEGAN(cfg, ["a", "b"]), Discriminators(cfg, ["a", "b"])
    x_a, x_b = torch.rand(2, 32, 32), torch.rand(2, 32, 32)
    g, out = generator_losses(model, discs, x_a, x_b, "a", "b", noise)
    return model, g, out, discriminator_losses(discs, x_a, x_b, out.ab, out.ba, "a", "b")


def test_generator_and_discriminator_terms():
    _, g, out, d = _pair_losses()
    assert set(g) == set(default_loss_weights())
    assert set(d) == {"disc_real", "disc_fake"}
    assert all(torch.isfinite(v) and v >= 0 for v in {**g, **d}.values())
    assert out.ab.shape == out.aba.shape == (2, 32, 32)


def test_noise_is_seeded_and_optional():
    _, g1, _, _ = _pair_losses(torch.Generator().manual_seed(3))
    _, g2, _, _ = _pair_losses(torch.Generator().manual_seed(3))
    _, g3, _, _ = _pair_losses(None)
    assert g1["recon"].item() == g2["recon"].item() != g3["recon"].item()


def test_cycle_kl_weight_zero_removes_its_gradient():
    model, g, _, _ = _pair_losses()
    weights = dict(default_loss_weights(), cycle_kl=0.0)
    only_cycle_kl = {k: (v if k == "cycle_kl" else v.detach()) for k, v in g.items()}
    weighted_total(only_cycle_kl, weights).backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in model.parameters())


def test_lr_schedule_by_step():
    total, base = 1000, 1e-4
    assert lr_at(0, total, base) == base
    assert lr_at(499, total, base) == base
    assert lr_at(750, total, base) == pytest.approx(base / 2)
    assert lr_at(1000, total, base) == 0
    assert lr_at(5000, total, base) == 0  # never negative past the end
    values = [lr_at(s, total, base) for s in range(total + 1)]
    assert all(b <= a for a, b in zip(values, values[1:]))
