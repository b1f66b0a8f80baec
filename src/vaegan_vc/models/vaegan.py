"""The VAE-GAN composed: one shared encoder, shared generator blocks, one generator per speaker."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ModelConfig
from ..errors import VaeganError
from .discriminator import Discriminator
from .encoder import Encoder
from .generator import Generator, SharedBlocks


class VAEGAN(nn.Module):
    """Encoder + shared blocks + `generators[speaker]`: everything `convert` needs.

    The discriminators live apart (`Discriminators`) because only training needs them.
    """

    def __init__(self, cfg: ModelConfig, speakers: list[str]):
        super().__init__()
        if len(speakers) < 2:
            raise VaeganError(f"a VAE-GAN needs at least 2 speakers, got {len(speakers)}: {speakers}")
        if len(set(speakers)) != len(speakers):
            raise VaeganError(f"duplicate speaker names: {speakers}")
        self.cfg = cfg
        self.speakers = list(speakers)
        self.encoder = Encoder(cfg)
        self.shared = SharedBlocks(cfg)
        self.generators = nn.ModuleDict({s: Generator(cfg) for s in speakers})

    def encode(self, mel: Tensor) -> Tensor:
        """mel [B, n_mels, T] → μ [B, C, n_mels/4, T/4]."""
        return self.encoder(mel.unsqueeze(1))

    def decode(self, z: Tensor, speaker: str) -> Tensor:
        """latent [B, C, n_mels/4, T/4] → `speaker`'s mel [B, n_mels, T] in [0, 1]."""
        return self.generators[speaker](self.shared(z)).squeeze(1)

    def check_speaker(self, speaker: str) -> None:
        if speaker not in self.generators:
            raise VaeganError(f"unknown speaker '{speaker}' (this model has: {', '.join(self.speakers)})")

    @torch.inference_mode()
    def convert(self, mel: Tensor, target: str) -> Tensor:
        """Deterministic conversion: mel [B, n_mels, T] → target's mel [B, n_mels, T].

        Uses μ, never a sample (the reference added noise at inference). T is padded to a
        multiple of 4 internally and cropped back.
        """
        self.check_speaker(target)
        frames = mel.shape[-1]
        pad = (-frames) % self.cfg.downsample
        if pad:
            mode = "reflect" if frames > pad else "replicate"
            mel = F.pad(mel, (0, pad), mode=mode)
        return self.decode(self.encode(mel), target)[..., :frames]


class Discriminators(nn.Module):
    """`discriminators[speaker]`, one PatchGAN per speaker."""

    def __init__(self, cfg: ModelConfig, speakers: list[str]):
        super().__init__()
        self.discriminators = nn.ModuleDict({s: Discriminator(cfg) for s in speakers})

    def forward(self, mel: Tensor, speaker: str) -> Tensor:
        """mel [B, n_mels, T] → patch scores [B, 1, h, w]."""
        return self.discriminators[speaker](mel.unsqueeze(1))
