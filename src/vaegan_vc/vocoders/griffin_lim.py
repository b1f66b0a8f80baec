"""Griffin-Lim: no training. Non-negative least-squares mel inversion, then fast Griffin-Lim with
momentum, batched in torch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..audio import _window, denormalize, mel_filterbank
from ..config import FeatureConfig
from .base import Vocoder


def features_to_linear(features: torch.Tensor, cfg: FeatureConfig, n_iter: int = 30) -> torch.Tensor:
    """Normalised mel [B, n_mels, T] → non-negative linear magnitude [B, n_fft/2+1, T].

    Solves min ||M·S − mel||² subject to S ≥ 0 by multiplicative updates (Lee & Seung, 2001), so
    the estimate never goes negative the way a clipped pseudo-inverse does.
    """
    log_m = denormalize(features, cfg)
    mel = 10 ** (log_m / 20) if cfg.log == "db" else torch.exp(log_m)
    fb = mel_filterbank(cfg).to(features.device)  # [M, K]
    fbt = fb.T
    numerator = fbt @ mel  # [B, K, T]
    spec = numerator.clamp(min=1e-8)
    for _ in range(n_iter):
        # Mᵀ(M·S) rather than (MᵀM)·S: two thin products instead of one [K, K] one (n_mels ≪ K).
        spec = spec * numerator / (fbt @ (fb @ spec) + 1e-10)
    return spec


def griffin_lim(
    magnitude: torch.Tensor, cfg: FeatureConfig, n_iter: int = 32, momentum: float = 0.99,
    seed: int = 0,
) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin et al., 2013) on a batch. [B, K, T] → wav [B, T·hop].

    Deterministic: the initial phase comes from a seeded generator.
    """
    window = _window(cfg.win_length, str(magnitude.device))
    length = magnitude.shape[-1] * cfg.hop_length
    stft_kw = dict(n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, window=window)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    phase = torch.rand(magnitude.shape, generator=gen).to(magnitude.device) * 2 * math.pi
    angles = torch.polar(torch.ones_like(magnitude), phase)
    previous = torch.zeros_like(angles)
    for _ in range(n_iter):
        wav = torch.istft(magnitude * angles, length=length, center=True, **stft_kw)
        rebuilt = torch.stft(wav, center=True, return_complex=True, **stft_kw)[..., : magnitude.shape[-1]]
        accelerated = rebuilt - (momentum / (1 + momentum)) * previous
        previous = rebuilt
        angles = accelerated / (accelerated.abs() + 1e-8)
    wav = torch.istft(magnitude * angles, length=length, center=True, **stft_kw)
    # Our analysis frames are centred hop/2 later than torch's centred frames (see _pad_amount).
    shift = cfg.hop_length // 2
    return F.pad(wav, (shift, 0))[..., :length]


class GriffinLimVocoder(Vocoder):
    """No training: non-negative least-squares mel inversion + fast Griffin-Lim with momentum."""

    name = "griffin-lim"

    def __init__(self, features: FeatureConfig, n_iter: int = 32, momentum: float = 0.99):
        super().__init__(features)
        self.n_iter = n_iter
        self.momentum = momentum

    def _synthesize(self, feats: Tensor) -> Tensor:
        magnitude = features_to_linear(feats, self.features)
        return griffin_lim(magnitude, self.features, n_iter=self.n_iter, momentum=self.momentum)
