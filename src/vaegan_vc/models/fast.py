"""The fast family: 1-D convolutions over time with mel bins as channels, a narrow latent, an F0 path.

Where the seed convolves the mel image in 2-D, these parts treat each frame's mel bins as the
channels of a 1-D signal (as CycleGAN-VC, StarGANv2-VC and kNN-VC do), which costs an order of
magnitude less per crop. Shapes: mel [B, n_mels, T], μ [B, latent_dim, T / time_stride].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import ModelConfig
from ..pitch import coarse_f0


class ResBlock1d(nn.Module):
    """Two 'same' 1-D convs (the first dilated) with LeakyReLU and an identity skip. [B, C, T] → same.

    `norm` puts instance norm after each conv: in the encoder it removes each utterance's
    per-channel means, where much of a speaker's timbre sits (Chou et al., 2019).
    """

    def __init__(self, channels: int, kernel: int, dilation: int = 1, norm: bool = False):
        super().__init__()
        pad = (kernel - 1) // 2

        def norm_layer() -> nn.Module:
            return nn.InstanceNorm1d(channels) if norm else nn.Identity()

        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, kernel, padding=pad * dilation, dilation=dilation),
            norm_layer(),
            nn.LeakyReLU(0.2),
            nn.Conv1d(channels, channels, kernel, padding=pad),
            norm_layer(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _dilation(i: int) -> int:
    # 1, 2, 4, 1, 2, 4…: a wide receptive field (a syllable) at the price of a narrow one.
    return 2 ** (i % 3)


class FastEncoder(nn.Module):
    """mel [B, n_mels, T] → μ [B, latent_dim, T / time_stride] (T divisible by time_stride).

    The latent is the bottleneck: `latent_dim` values every `time_stride` frames, so that
    there is room for what was said but little for who said it.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, k = cfg.channels, cfg.kernel
        layers: list[nn.Module] = [nn.Conv1d(cfg.n_mels, c, k, padding=k // 2), nn.InstanceNorm1d(c), nn.LeakyReLU(0.2)]
        if cfg.time_stride > 1:
            s = cfg.time_stride
            layers += [nn.Conv1d(c, c, 2 * s, stride=s, padding=s // 2), nn.InstanceNorm1d(c), nn.LeakyReLU(0.2)]
        layers += [ResBlock1d(c, k, _dilation(i), norm=True) for i in range(cfg.encoder_res_blocks)]
        layers.append(nn.Conv1d(c, cfg.latent_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, mel: Tensor) -> Tensor:
        return self.net(mel)


class FastSharedTrunk(nn.Module):
    """The part every generator shares: z [B, latent_dim, T/s] → h [B, channels, T]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, k, s = cfg.channels, cfg.kernel, cfg.time_stride
        layers: list[nn.Module] = [nn.Conv1d(cfg.latent_dim, c, 1), nn.LeakyReLU(0.2)]
        if s > 1:
            layers += [nn.ConvTranspose1d(c, c, 2 * s, stride=s, padding=s // 2), nn.LeakyReLU(0.2)]
        layers += [ResBlock1d(c, k, _dilation(i)) for i in range(cfg.shared_res_blocks)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class PitchEmbedding(nn.Module):
    """F0 in Hz [B, T] → [B, channels, T]: one learnt vector per coarse F0 class (0 = unvoiced),
    as RVC and so-vits-svc feed pitch. Shared by all generators: where a given F0 puts its
    harmonics does not depend on the speaker."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.bins = cfg.f0_bins
        self.table = nn.Embedding(cfg.f0_bins, cfg.channels)

    def forward(self, f0: Tensor) -> Tensor:
        return self.table(coarse_f0(f0, self.bins)).transpose(1, 2)


class FastGenerator(nn.Module):
    """h [B, channels, T] (+ pitch embedding) → that speaker's mel [B, n_mels, T] in [0, 1]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, k = cfg.channels, cfg.kernel
        self.net = nn.Sequential(
            *[ResBlock1d(c, k, _dilation(i)) for i in range(cfg.generator_res_blocks)],
            nn.LeakyReLU(0.2),
            nn.Conv1d(c, cfg.n_mels, k, padding=k // 2),
        )

    def forward(self, h: Tensor) -> Tensor:
        return torch.sigmoid(self.net(h))


class FastDiscriminator(nn.Module):
    """mel [B, n_mels, T] → patch scores [B, 1, T / 2^(layers-1)]; `net`'s layers also give the
    feature maps for feature matching."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(nn.Conv1d(cfg.n_mels, cfg.disc_channels, 3, padding=1), nn.LeakyReLU(0.2))]
        c = cfg.disc_channels
        for _ in range(cfg.disc_layers - 1):
            layers.append(nn.Sequential(nn.Conv1d(c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)))
            c *= 2
        layers.append(nn.Conv1d(c, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, mel: Tensor) -> Tensor:
        return self.net(mel)
