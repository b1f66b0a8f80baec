"""One PatchGAN discriminator per speaker: real or fake, patch by patch."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import ModelConfig
from .layers import conv_norm_act


class Discriminator(nn.Module):
    """mel [B, 1, H, W] → patch scores [B, 1, H/2^L, W/2^L] (LSGAN targets: 1 real, 0 fake)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers = []
        c_in, c_out = 1, cfg.disc_channels
        for i in range(cfg.disc_layers):
            # No normalisation on the first layer, as in PatchGAN (Isola et al., 2017).
            layers.append(conv_norm_act(c_in, c_out, 4, stride=2, padding=1, norm=i > 0))
            c_in, c_out = c_out, c_out * 2
        layers.append(nn.Conv2d(c_in, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, mel: Tensor) -> Tensor:
        return self.net(mel)
