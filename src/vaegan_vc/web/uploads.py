"""Uploaded audio: bytes in memory → a waveform, or a refusal with an HTTP status and one clear line.

Uploads never touch the file system: the body is read into memory (bounded by `Limits.max_bytes`)
and decoded from there by libsndfile, so no client-chosen name or temporary file exists.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf


@dataclass(frozen=True)
class Limits:
    """What one conversion request may bring."""

    max_bytes: int = 20 * 2**20
    max_seconds: float = 60.0


class UploadRefused(Exception):
    """A request the server will not convert; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def decode_upload(data: bytes, limits: Limits) -> tuple[np.ndarray, int]:
    """An uploaded file's bytes → (float32 samples [N] or [N, C], sample rate). Raises UploadRefused."""
    if not data:
        raise UploadRefused(400, "the upload is empty")
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise UploadRefused(415, "this is not an audio file that can be read (use WAV, FLAC, OGG or MP3)") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise UploadRefused(400, "the audio file holds no samples")
    seconds = info.frames / info.samplerate
    if seconds > limits.max_seconds:
        raise UploadRefused(413, f"the audio is {seconds:.1f} s long; this server converts at most {limits.max_seconds:g} s")
    try:
        wav, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError):
        raise UploadRefused(415, "the audio file is damaged and cannot be decoded") from None
    return np.asarray(wav), int(sr)
