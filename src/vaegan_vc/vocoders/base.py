"""The vocoder interface: normalised features [B, n_mels, T] → waveforms [B, T·hop]."""

from __future__ import annotations

import torch
from torch import Tensor

from ..config import FeatureConfig
from ..errors import VaeganError


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
