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
    """Runs and caches the four analyses of an AudioRef; each tool loads on first use.

    Results also stay in memory for the run (`remember`), so that analyses computed by worker
    processes (see parallel.py) are found again without a cache folder.
    """

    def __init__(self, cache: Cache, asr_model: Path | None = None, asr_language: str | None = "en",
                 device: str = "cpu", threads: int | None = None):
        self.cache = cache
        self.encoder = SpeakerEncoder(device)
        self.asr = Transcriber(asr_model, asr_language, device, threads)
        self.mos = Dnsmos(threads)
        self.device = device
        self.versions = {
            "world": WORLD_VERSION, "embedding": EMBEDDING_VERSION,
            "transcript": f"{self.asr.model_id}:{asr_language}:beam5-t0", "dnsmos": DNSMOS_VERSION,
        }
        self._memo: dict[tuple[str, str], Any] = {}

    def tool_settings(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this analyzer's tools in another process."""
        return {"asr_model": self.asr.model_dir, "asr_language": self.asr.language, "device": self.device}

    def analyze(self, ref: AudioRef, kinds: set[str] | tuple[str, ...]) -> dict[str, Any]:
        """{kind: value} for the requested kinds; the audio is loaded only if something is missing.

        Values: world → WorldFeatures, embedding → [256] or None (no speech found),
        transcript → str, dnsmos → {"sig", "bak", "ovrl", "p808"}. Raises AudioProblem.
        """
        missing = self.pending(ref, kinds)
        if missing:
            self.remember(ref, self.compute(missing, self.load(ref)))
        out = {kind: self._lookup(kind, ref) for kind in kinds}
        if "embedding" in out and out["embedding"].size == 0:
            out["embedding"] = None
        return out

    def pending(self, ref: AudioRef, kinds) -> list[str]:
        """The kinds of `ref` that are neither in memory nor in the cache."""
        return [kind for kind in kinds if self._lookup(kind, ref) is None]

    def load(self, ref: AudioRef) -> np.ndarray:
        """The audio at the analysis rate, float32 [N]; AudioProblem if unreadable, empty or silent."""
        try:
            wav = ref.load(ANALYSIS_RATE)
        except VaeganError as exc:
            raise AudioProblem(str(exc)) from None
        check_audio(wav)
        return wav

    def compute(self, kinds, wav: np.ndarray) -> dict[str, Any]:
        """Run the tools: wav [N] at ANALYSIS_RATE → {kind: value} (an empty embedding = no speech)."""
        return {kind: self._compute(kind, wav) for kind in kinds}

    def remember(self, ref: AudioRef, values: dict[str, Any]) -> None:
        """Keep computed analyses for this run and write them to the cache."""
        for kind, value in values.items():
            key = cache_key(self.versions[kind], ref.identity)
            self._memo[kind, key] = value
            self._store(kind, key, value)

    def _lookup(self, kind: str, ref: AudioRef) -> Any:
        key = cache_key(self.versions[kind], ref.identity)
        if (kind, key) not in self._memo:
            value = self._cached(kind, key)
            if value is None:
                return None
            self._memo[kind, key] = value
        return self._memo[kind, key]

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
