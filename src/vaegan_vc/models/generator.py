"""One generator per speaker: latent → that speaker's mel, after the residual blocks all share."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import ModelConfig
from .layers import ResBlock


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
        nn.InstanceNorm2d(c_out),
        nn.LeakyReLU(0.2),
    )


class SharedBlocks(nn.Sequential):
    """The residual block(s) every generator starts with; held ONCE by the VAE-GAN so its
    parameters are updated once per step (the reference listed them once per generator)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(*[ResBlock(cfg.latent_channels) for _ in range(cfg.shared_res_blocks)])


class Generator(nn.Module):
    """Shared-block output [B, 4c, H/4, W/4] → mel [B, 1, H, W] in [0, 1].

    The output is a sigmoid so its range matches the [0, 1] features (the reference used tanh
    in [-1, 1] against [0, 1] targets).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.channels
        self.net = nn.Sequential(
            *[ResBlock(4 * c) for _ in range(cfg.generator_res_blocks)],
            _up(4 * c, 2 * c),
            _up(2 * c, c),
            nn.ReflectionPad2d(3),
            nn.Conv2d(c, 1, 7),
        )

    def forward(self, h: Tensor) -> Tensor:
        return torch.sigmoid(self.net(h))
