"""Speaker similarity: GE2E embeddings (resemblyzer), centroids, cosine scores, the EER threshold."""

from __future__ import annotations

import logging

import numpy as np

from .deps import import_tool

log = logging.getLogger(__name__)

EMBEDDING_VERSION = "resemblyzer-0.1.4-ge2e-v1"
MIN_SPEECH_SECONDS = 0.3  # below this resemblyzer embeds mostly padding


class SpeakerEncoder:
    """Utterance embeddings [256], unit length, from 16 kHz audio; the model loads on first use."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._encoder = None

    def _load(self):
        if self._encoder is None:
            resemblyzer = import_tool("resemblyzer")
            # resemblyzer prints its load time unless verbose=False.
            self._encoder = resemblyzer.VoiceEncoder(self.device, verbose=False)
        return self._encoder

    def embed(self, wav: np.ndarray, sample_rate: int) -> np.ndarray | None:
        """wav [N] → embedding [256], or None when voice activity detection leaves too little speech."""
        resemblyzer = import_tool("resemblyzer")
        speech = resemblyzer.preprocess_wav(np.asarray(wav, dtype=np.float32), source_sr=sample_rate)
        if len(speech) < MIN_SPEECH_SECONDS * resemblyzer.sampling_rate:
            return None
        return self._load().embed_utterance(speech).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def centroid(embeddings: list[np.ndarray]) -> np.ndarray:
    """Mean of unit embeddings, renormalised (GE2E's speaker centroid). [K, 256] → [256]."""
    mean = np.mean(np.stack(embeddings), axis=0)
    return mean / (np.linalg.norm(mean) + 1e-12)


def eer_threshold(genuine: list[float], impostor: list[float]) -> tuple[float, float]:
    """Equal-error-rate operating point of a verifier: (eer, threshold); accept when score ≥ threshold.

    Thresholds are tried midway between consecutive sorted scores; the one where false accepts
    and false rejects are closest wins, and among ties (a clean gap) the middle of the tied run.
    """
    g, i = np.sort(np.asarray(genuine, float)), np.sort(np.asarray(impostor, float))
    if len(g) == 0 or len(i) == 0:
        raise ValueError("the EER needs genuine and impostor scores")
    scores = np.unique(np.concatenate([g, i]))
    candidates = np.concatenate([[scores[0] - 1e-6], (scores[1:] + scores[:-1]) / 2, [scores[-1] + 1e-6]])
    frr = np.searchsorted(g, candidates, side="left") / len(g)  # genuine below the threshold
    far = 1.0 - np.searchsorted(i, candidates, side="left") / len(i)  # impostors at or above it
    gap = np.abs(far - frr)
    best = np.flatnonzero(np.isclose(gap, gap.min()))
    pick = best[len(best) // 2]
    return float((far[pick] + frr[pick]) / 2), float(candidates[pick])
