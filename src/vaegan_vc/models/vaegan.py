"""The VAE-GAN composed: one shared encoder, shared generator blocks, one generator per speaker."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ModelConfig
from ..errors import VaeganError
from .discriminator import Discriminator
from .encoder import Encoder
from .fast import FastDiscriminator, FastEncoder, FastGenerator, FastSharedTrunk, PitchEmbedding
from .generator import Generator, SharedBlocks

# family → (encoder, shared blocks, generator, discriminator): the parts a config is built from.
FAMILIES = {
    "seed": (Encoder, SharedBlocks, Generator, Discriminator),
    "fast": (FastEncoder, FastSharedTrunk, FastGenerator, FastDiscriminator),
}


def _family(cfg: ModelConfig):
    if cfg.family not in FAMILIES:
        raise VaeganError(f"unknown model family '{cfg.family}' (have: {', '.join(FAMILIES)})")
    return FAMILIES[cfg.family]


class VAEGAN(nn.Module):
    """Encoder + shared blocks + `generators[speaker]` (+ the pitch embedding): all `convert` needs.

    The discriminators live apart (`Discriminators`) because only training needs them. A
    pitch-aware model also carries each speaker's ln-F0 statistics (`f0_stats`), so that a
    conversion can move the source contour into the target's range.
    """

    def __init__(self, cfg: ModelConfig, speakers: list[str], f0_stats: dict[str, dict[str, float]] | None = None):
        super().__init__()
        if len(speakers) < 2:
            raise VaeganError(f"a VAE-GAN needs at least 2 speakers, got {len(speakers)}: {speakers}")
        if len(set(speakers)) != len(speakers):
            raise VaeganError(f"duplicate speaker names: {speakers}")
        if cfg.pitch and (f0_stats is None or set(f0_stats) != set(speakers)):
            raise VaeganError("a pitch-aware model needs ln-F0 statistics for every speaker")
        encoder, shared, generator, _ = _family(cfg)
        self.cfg = cfg
        self.speakers = list(speakers)
        self.f0_stats = {s: dict(f0_stats[s]) for s in speakers} if cfg.pitch else None
        self.encoder = encoder(cfg)
        self.shared = shared(cfg)
        self.generators = nn.ModuleDict({s: generator(cfg) for s in speakers})
        if cfg.pitch:
            self.pitch = PitchEmbedding(cfg)
        self._image = cfg.family == "seed"  # the seed's parts see the mel as a 1-channel image

    def encode(self, mel: Tensor) -> Tensor:
        """mel [B, n_mels, T] → μ (seed: [B, C, n_mels/4, T/4]; fast: [B, latent_dim, T/stride])."""
        return self.encoder(mel.unsqueeze(1) if self._image else mel)

    def generate(self, h: Tensor, speaker: str, f0: Tensor | None = None) -> Tensor:
        """Shared-block output → `speaker`'s mel [B, n_mels, T] in [0, 1].

        f0: the F0 the output should have, Hz [B, T] (0 = unvoiced); required with `cfg.pitch`.
        """
        if self.cfg.pitch:
            if f0 is None:
                raise VaeganError("this model has a pitch path: give the target F0")
            h = h + self.pitch(f0)
        out = self.generators[speaker](h)
        return out.squeeze(1) if self._image else out

    def decode(self, z: Tensor, speaker: str, f0: Tensor | None = None) -> Tensor:
        """latent → `speaker`'s mel [B, n_mels, T] in [0, 1]."""
        return self.generate(self.shared(z), speaker, f0)

    def check_speaker(self, speaker: str) -> None:
        if speaker not in self.generators:
            raise VaeganError(f"unknown speaker '{speaker}' (this model has: {', '.join(self.speakers)})")

    @torch.inference_mode()
    def convert(self, mel: Tensor, target: str, f0: Tensor | None = None) -> Tensor:
        """Deterministic conversion: mel [B, n_mels, T] (+ target F0 [B, T]) → target's mel [B, n_mels, T].

        Uses μ, never a sample (the reference added noise at inference). T is padded to a
        multiple of the latent's downsampling internally and cropped back.
        """
        self.check_speaker(target)
        frames = mel.shape[-1]
        pad = (-frames) % self.cfg.downsample
        if pad:
            mode = "reflect" if frames > pad else "replicate"
            mel = F.pad(mel, (0, pad), mode=mode)
            if f0 is not None:
                f0 = F.pad(f0, (0, pad))
        return self.decode(self.encode(mel), target, f0)[..., :frames]


class Discriminators(nn.Module):
    """`discriminators[speaker]`, one per speaker (seed: 2-D PatchGAN; fast: 1-D over time)."""

    def __init__(self, cfg: ModelConfig, speakers: list[str]):
        super().__init__()
        self._image = cfg.family == "seed"
        self.discriminators = nn.ModuleDict({s: _family(cfg)[3](cfg) for s in speakers})

    def forward(self, mel: Tensor, speaker: str) -> Tensor:
        """mel [B, n_mels, T] → patch scores."""
        return self.discriminators[speaker](mel.unsqueeze(1) if self._image else mel)

    def features(self, mel: Tensor, speaker: str) -> list[Tensor]:
        """The output of every layer of `speaker`'s discriminator, scores last (for feature matching)."""
        x = mel.unsqueeze(1) if self._image else mel
        maps = []
        for layer in self.discriminators[speaker].net:
            x = layer(x)
            maps.append(x)
        return maps
