"""HiFi-GAN (Kong et al., 2020): generator configs and presets, generator, multi-period and
multi-scale discriminators (the losses are in losses.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from ...config import JsonConfig
from ...errors import VaeganError

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class HiFiGANConfig(JsonConfig):
    """Generator sizes (the paper's V1/V2/V3, plus `tiny` for tests) and discriminator width.

    `disc_divisor` divides every discriminator width (1 = the paper's discriminators).
    """

    what = "HiFi-GAN config"

    name: str
    n_mels: int
    upsample_rates: tuple[int, ...]
    upsample_kernel_sizes: tuple[int, ...]
    upsample_initial_channel: int
    resblock: str  # "1": two convs per dilation (V1, V2); "2": one conv per dilation (V3)
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]
    disc_divisor: int = 1

    @property
    def hop_length(self) -> int:
        """Samples per mel frame: the product of the upsampling factors."""
        return math.prod(self.upsample_rates)

    def check_hop(self, hop_length: int) -> None:
        """The generator must turn one frame into exactly `hop_length` samples."""
        if self.hop_length != hop_length:
            raise VaeganError(
                f"HiFi-GAN config '{self.name}' upsamples by {'·'.join(map(str, self.upsample_rates))} "
                f"= {self.hop_length}, but the features' hop is {hop_length}"
            )


_V1_V2_RESBLOCKS = dict(
    resblock="1", resblock_kernel_sizes=(3, 7, 11), resblock_dilation_sizes=((1, 3, 5),) * 3,
)

# The three generators of the paper (jik876/hifi-gan config_v1/v2/v3.json); n_mels comes from features.
HIFIGAN_CONFIGS: dict[str, dict[str, Any]] = {
    "v1": dict(
        upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4),
        upsample_initial_channel=512, **_V1_V2_RESBLOCKS,
    ),
    "v2": dict(
        upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4),
        upsample_initial_channel=128, **_V1_V2_RESBLOCKS,
    ),
    "v3": dict(
        upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8), upsample_initial_channel=256,
        resblock="2", resblock_kernel_sizes=(3, 5, 7), resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
    ),
    # For tests and smoke runs only: small enough to train a few steps on a CPU in seconds.
    "tiny": dict(
        upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8), upsample_initial_channel=32,
        resblock="2", resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3),), disc_divisor=16,
    ),
}


def hifigan_config(name: str, n_mels: int, hop_length: int) -> HiFiGANConfig:
    """A named generator config for features with `n_mels` bands and `hop_length` samples per frame."""
    if name not in HIFIGAN_CONFIGS:
        raise VaeganError(f"unknown HiFi-GAN config '{name}' (have: {', '.join(HIFIGAN_CONFIGS)})")
    cfg = HiFiGANConfig(name=name, n_mels=n_mels, **HIFIGAN_CONFIGS[name])
    cfg.check_hop(hop_length)
    return cfg


def receptive_field_frames(cfg: HiFiGANConfig) -> int:
    """Frames on each side of a frame that can reach its samples (rounded up), from the layer sizes.

    Chunked inference needs at least this much context to match a whole-utterance run.
    """
    radius = 3.0  # conv_pre: kernel 7 over frames
    rate = 1
    for up_rate, up_kernel in zip(cfg.upsample_rates, cfg.upsample_kernel_sizes):
        radius += math.ceil(up_kernel / up_rate / 2) / rate  # in units of the previous stage
        rate *= up_rate
        convs_per_dilation = 2 if cfg.resblock == "1" else 1
        widest = max(
            sum((k - 1) * d // 2 + (convs_per_dilation - 1) * (k - 1) // 2 for d in dilations)
            for k, dilations in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes)
        )
        radius += widest / rate
    radius += 3 / rate  # conv_post: kernel 7 over samples
    return math.ceil(radius)


def _padding(kernel: int, dilation: int = 1) -> int:
    """'Same' padding for an odd kernel."""
    return (kernel * dilation - dilation) // 2


def _init_normal(module: nn.Module) -> None:
    # The paper's initialisation: N(0, 0.01) for the generator's convolutions.
    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
        module.weight.data.normal_(0.0, 0.01)


# ----------------------------------------------------------------------------- generator


class ResBlock1(nn.Module):
    """Per dilation: lrelu → dilated conv → lrelu → conv, plus a skip. [B, C, N] → [B, C, N]."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=_padding(kernel, d)) for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, padding=_padding(kernel)) for _ in dilations
        )

    def forward(self, x: Tensor) -> Tensor:
        for dilated, plain in zip(self.convs1, self.convs2):
            x = x + plain(F.leaky_relu(dilated(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class ResBlock2(nn.Module):
    """Per dilation: lrelu → dilated conv, plus a skip (the lighter V3 block). [B, C, N] → same."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=_padding(kernel, d)) for d in dilations
        )

    def forward(self, x: Tensor) -> Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


class HiFiGANGenerator(nn.Module):
    """ln-mel [B, n_mels, T] → waveform [B, T·hop] in [-1, 1].

    Transposed convolutions upsample by `upsample_rates`; after each, a multi-receptive-field
    fusion (the mean of one residual block per kernel size). Module names follow the original
    implementation, so its checkpoints map key for key. Weight norm is on after construction.
    """

    def __init__(self, cfg: HiFiGANConfig):
        super().__init__()
        if len(cfg.upsample_rates) != len(cfg.upsample_kernel_sizes):
            raise VaeganError(f"HiFi-GAN config '{cfg.name}': one kernel size per upsampling factor")
        if len(cfg.resblock_kernel_sizes) != len(cfg.resblock_dilation_sizes):
            raise VaeganError(f"HiFi-GAN config '{cfg.name}': one dilation list per residual kernel")
        for rate, kernel in zip(cfg.upsample_rates, cfg.upsample_kernel_sizes):
            if (kernel - rate) % 2:
                raise VaeganError(f"HiFi-GAN config '{cfg.name}': kernel {kernel} − rate {rate} must be even")
        self.cfg = cfg
        block = {"1": ResBlock1, "2": ResBlock2}.get(cfg.resblock)
        if block is None:
            raise VaeganError(f"HiFi-GAN config '{cfg.name}': resblock must be '1' or '2', got '{cfg.resblock}'")
        ch = cfg.upsample_initial_channel
        self.conv_pre = nn.Conv1d(cfg.n_mels, ch, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
            c_in, c_out = ch // 2**i, ch // 2 ** (i + 1)
            # padding (k − r)/2 makes the output exactly r times longer than the input.
            self.ups.append(nn.ConvTranspose1d(c_in, c_out, kernel, rate, padding=(kernel - rate) // 2))
            for k, dilations in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes):
                self.resblocks.append(block(c_out, k, tuple(dilations)))
        self.conv_post = nn.Conv1d(ch // 2 ** len(cfg.upsample_rates), 1, 7, padding=3)
        self.ups.apply(_init_normal)
        self.resblocks.apply(_init_normal)
        self.conv_post.apply(_init_normal)
        self.apply_weight_norm()

    def forward(self, mel: Tensor) -> Tensor:
        x = self.conv_pre(mel)
        n_kernels = len(self.cfg.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * n_kernels : (i + 1) * n_kernels]
            x = sum(block(x) for block in blocks) / n_kernels
        # The original uses leaky_relu's default slope (0.01) here; pretrained weights expect it.
        x = self.conv_post(F.leaky_relu(x))
        return torch.tanh(x).squeeze(1)

    def _convs(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]

    @property
    def has_weight_norm(self) -> bool:
        return parametrize.is_parametrized(self.conv_pre)

    def apply_weight_norm(self) -> None:
        """Re-parametrise every conv as g·v/‖v‖ (training); the forward output is unchanged."""
        if not self.has_weight_norm:
            for conv in self._convs():
                weight_norm(conv)

    def remove_weight_norm(self) -> None:
        """Fold g·v/‖v‖ into plain weights: same output, faster inference, plain state-dict keys."""
        if self.has_weight_norm:
            for conv in self._convs():
                parametrize.remove_parametrizations(conv, "weight")


# ----------------------------------------------------------------------------- discriminators


def _width(channels: int, divisor: int) -> int:
    return max(1, channels // divisor)


def _conv_stack(convs: nn.ModuleList, post: nn.Module, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """Run a discriminator's convs (LeakyReLU after each) and its output conv.

    Returns (scores flattened to [B, ·], every layer's feature map for feature matching).
    """
    fmaps = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        fmaps.append(x)
    x = post(x)
    fmaps.append(x)
    return x.flatten(1), fmaps


class PeriodDiscriminator(nn.Module):
    """Looks at every `period`-th sample: wav [B, N] folded to [B, 1, N/p, p], 2-D convs along time.

    Returns (logits [B, ·], feature maps).
    """

    def __init__(self, period: int, divisor: int = 1):
        super().__init__()
        self.period = period
        widths = [1] + [_width(c, divisor) for c in (32, 128, 512, 1024, 1024)]
        strides = (3, 3, 3, 3, 1)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (5, 1), (s, 1), padding=(2, 0)))
            for c_in, c_out, s in zip(widths[:-1], widths[1:], strides)
        )
        self.conv_post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wav: Tensor) -> tuple[Tensor, list[Tensor]]:
        b, n = wav.shape
        pad = (-n) % self.period
        if pad:
            wav = F.pad(wav, (0, pad), mode="reflect")
        x = wav.view(b, 1, -1, self.period)
        return _conv_stack(self.convs, self.conv_post, x)


class ScaleDiscriminator(nn.Module):
    """1-D grouped strided convs over the raw (or average-pooled) waveform [B, N] (MelGAN's design)."""

    def __init__(self, use_spectral_norm: bool = False, divisor: int = 1):
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        spec = [  # (c_in, c_out, kernel, stride, groups)
            (1, 128, 15, 1, 1), (128, 128, 41, 2, 4), (128, 256, 41, 2, 16), (256, 512, 41, 4, 16),
            (512, 1024, 41, 4, 16), (1024, 1024, 41, 1, 16), (1024, 1024, 5, 1, 1),
        ]
        convs = []
        for c_in, c_out, k, s, g in spec:
            c_in = 1 if c_in == 1 else _width(c_in, divisor)
            c_out = _width(c_out, divisor)
            groups = math.gcd(g, math.gcd(c_in, c_out))  # narrower widths may not divide by g
            convs.append(norm(nn.Conv1d(c_in, c_out, k, s, groups=groups, padding=k // 2)))
        self.convs = nn.ModuleList(convs)
        self.conv_post = norm(nn.Conv1d(_width(1024, divisor), 1, 3, 1, padding=1))

    def forward(self, wav: Tensor) -> tuple[Tensor, list[Tensor]]:
        x = wav.unsqueeze(1)
        return _conv_stack(self.convs, self.conv_post, x)


class MultiPeriodDiscriminator(nn.Module):
    """Period discriminators for periods 2, 3, 5, 7, 11 (primes, so that they overlap little)."""

    def __init__(self, divisor: int = 1, periods: tuple[int, ...] = (2, 3, 5, 7, 11)):
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, divisor) for p in periods)

    def forward(self, wav: Tensor) -> tuple[list[Tensor], list[list[Tensor]]]:
        """wav [B, N] → (logits per sub-discriminator, feature maps per sub-discriminator)."""
        outs = [d(wav) for d in self.discriminators]
        return [o[0] for o in outs], [o[1] for o in outs]


class MultiScaleDiscriminator(nn.Module):
    """Scale discriminators on the raw, ×2 and ×4 average-pooled waveform; the first spectral-normed."""

    def __init__(self, divisor: int = 1):
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(use_spectral_norm=i == 0, divisor=divisor) for i in range(3)
        )

    def forward(self, wav: Tensor) -> tuple[list[Tensor], list[list[Tensor]]]:
        """wav [B, N] → (logits per sub-discriminator, feature maps per sub-discriminator)."""
        logits, fmaps = [], []
        x = wav
        for i, disc in enumerate(self.discriminators):
            if i > 0:
                x = F.avg_pool1d(x.unsqueeze(1), 4, 2, padding=2).squeeze(1)
            out, fmap = disc(x)
            logits.append(out)
            fmaps.append(fmap)
        return logits, fmaps
