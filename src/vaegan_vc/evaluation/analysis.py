"""Per-utterance analyses (WORLD features, speaker embedding, transcript, DNSMOS), cached on disk."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VaeganError
from .asr import Transcriber
from .cache import Cache, cache_key
from .dnsmos import DNSMOS_VERSION, Dnsmos
from .mcd import WORLD_VERSION, WorldFeatures, world_features
from .sources import ANALYSIS_RATE, AudioRef
from .speaker import EMBEDDING_VERSION, SpeakerEncoder

log = logging.getLogger(__name__)

KINDS = ("world", "embedding", "transcript", "dnsmos")
MIN_SECONDS = 0.1
SILENT_DBFS = -60.0  # loudest 25 ms frame below this: nothing audible was produced


class AudioProblem(Exception):
    """The audio cannot be scored (unreadable, empty, silent): its utterance counts as a failure."""


def check_audio(wav: np.ndarray, rate: int = ANALYSIS_RATE) -> None:
    """Raise AudioProblem for audio too short or too quiet to score."""
    if len(wav) < MIN_SECONDS * rate:
        raise AudioProblem(f"empty or shorter than {MIN_SECONDS} s ({len(wav)} samples)")
    hop = int(0.025 * rate)
    frames = wav[: len(wav) // hop * hop].reshape(-1, hop).astype(np.float64)
    loudest = 10 * np.log10(np.max(np.mean(frames**2, axis=1)) + 1e-20)
    if loudest < SILENT_DBFS:
        raise AudioProblem(f"silent (loudest frame {loudest:.0f} dBFS)")


class Analyzer:
    """Runs and caches the four analyses of an AudioRef; each tool loads on first use."""

    def __init__(self, cache: Cache, asr_model: Path | None = None, asr_language: str | None = "en", device: str = "cpu"):
        self.cache = cache
        self.encoder = SpeakerEncoder(device)
        self.asr = Transcriber(asr_model, asr_language, device)
        self.mos = Dnsmos()
        self.versions = {
            "world": WORLD_VERSION, "embedding": EMBEDDING_VERSION,
            "transcript": f"{self.asr.model_id}:{asr_language}:beam5-t0", "dnsmos": DNSMOS_VERSION,
        }

    def analyze(self, ref: AudioRef, kinds: set[str] | tuple[str, ...]) -> dict[str, Any]:
        """{kind: value} for the requested kinds; the audio is loaded only if something is missing.

        Values: world → WorldFeatures, embedding → [256] or None (no speech found),
        transcript → str, dnsmos → {"sig", "bak", "ovrl", "p808"}. Raises AudioProblem.
        """
        keys = {kind: cache_key(self.versions[kind], ref.identity) for kind in kinds}
        out = {kind: self._cached(kind, keys[kind]) for kind in kinds}
        missing = [kind for kind in kinds if out[kind] is None]
        if missing:
            wav = self._load(ref)
            for kind in missing:
                out[kind] = self._compute(kind, wav)
                self._store(kind, keys[kind], out[kind])
        if "embedding" in out and out["embedding"].size == 0:
            out["embedding"] = None
        return out

    def _load(self, ref: AudioRef) -> np.ndarray:
        try:
            wav = ref.load(ANALYSIS_RATE)
        except VaeganError as exc:
            raise AudioProblem(str(exc)) from None
        check_audio(wav)
        return wav

    def _cached(self, kind: str, key: str) -> Any:
        if kind == "world":
            arr = self.cache.get_array("world", key)
            return None if arr is None else WorldFeatures.from_array(arr)
        if kind == "embedding":
            return self.cache.get_array("embeddings", key)
        return self.cache.get("transcripts" if kind == "transcript" else "dnsmos", key)

    def _compute(self, kind: str, wav: np.ndarray) -> Any:
        if kind == "world":
            return world_features(wav, ANALYSIS_RATE)
        if kind == "embedding":
            emb = self.encoder.embed(wav, ANALYSIS_RATE)
            return np.zeros(0, dtype=np.float32) if emb is None else emb  # empty = "no speech found"
        if kind == "transcript":
            return self.asr.transcribe(wav)
        return self.mos.score(wav)

    def _store(self, kind: str, key: str, value: Any) -> None:
        if kind == "world":
            self.cache.put_array("world", key, value.to_array())
        elif kind == "embedding":
            self.cache.put_array("embeddings", key, value)
        else:
            self.cache.put("transcripts" if kind == "transcript" else "dnsmos", key, value)
