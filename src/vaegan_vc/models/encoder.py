"""The shared encoder: mel image → latent mean μ (the VAE posterior has unit variance)."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import ModelConfig
from .layers import ResBlock, conv_norm_act


class Encoder(nn.Module):
    """mel [B, 1, n_mels, T] → μ [B, 4·channels, n_mels/4, T/4] (n_mels and T divisible by 4)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.channels
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3),
            conv_norm_act(1, c, 7),
            conv_norm_act(c, 2 * c, 4, stride=2, padding=1),
            conv_norm_act(2 * c, 4 * c, 4, stride=2, padding=1),
            *[ResBlock(4 * c) for _ in range(cfg.encoder_res_blocks)],
        )

    def forward(self, mel: Tensor) -> Tensor:
        return self.net(mel)
