"""Test-split speech of one VCC2016 speaker joined into one long clip (for speed benchmarks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaegan_vc.audio import list_audio, load_audio


def speech_clip(data: Path, speaker: str, seconds: float, sample_rate: int) -> np.ndarray:
    """The speaker's utterances from the end of its folder (the test split's side) until `seconds`."""
    pieces, total = [], 0
    for path in reversed(list_audio(data / speaker)):
        wav = load_audio(path, sample_rate)
        pieces.append(wav)
        total += len(wav)
        if total >= seconds * sample_rate:
            break
    return np.concatenate(pieces)[: int(seconds * sample_rate)].astype(np.float32)
