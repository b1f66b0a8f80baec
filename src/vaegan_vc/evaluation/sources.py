"""Where evaluated audio comes from: files, dataset slices, or audio made on demand (AudioRef)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..audio import list_audio, load_audio, resample
from ..errors import VaeganError
from .cache import file_identity

log = logging.getLogger(__name__)

ANALYSIS_RATE = 16000  # every metric tool here works at 16 kHz; both feature presets stop at 8 kHz
PAIR_SEPARATOR = "_to_"


@dataclass(frozen=True)
class AudioRef:
    """One utterance's audio, loaded on demand: `load(rate)` → float32 [N] at `rate`.

    `identity` is JSON-able and changes whenever the audio would (the cache key's core).
    """

    label: str
    identity: tuple
    loader: Callable[[int], np.ndarray] = field(compare=False, repr=False)

    def load(self, rate: int = ANALYSIS_RATE) -> np.ndarray:
        return self.loader(rate)


def file_ref(path: Path, label: str) -> AudioRef:
    """A file on disk, identified by path, size and mtime."""
    path = Path(path)
    return AudioRef(label, ("file", *file_identity(path)), lambda rate: load_audio(path, rate))


def array_ref(label: str, identity: tuple, make: Callable[[], tuple[np.ndarray, int]]) -> AudioRef:
    """Audio computed by `make()` → (wav [N], sample_rate), e.g. a dataset slice or a vocoded mel."""

    def load(rate: int) -> np.ndarray:
        wav, sr = make()
        return resample(np.asarray(wav, dtype=np.float32), sr, rate)

    return AudioRef(label, identity, load)


def utterance_files(folder: Path) -> dict[str, Path]:
    """Audio under `folder` by utterance id (relative path without extension, '/'-separated)."""
    found: dict[str, Path] = {}
    for path in list_audio(folder):
        utt = path.relative_to(folder).with_suffix("").as_posix()
        if utt in found:
            log.warning("%s: ignored, %s has the same utterance id", path, found[utt])
            continue
        found[utt] = path
    return found


def split_pair(name: str) -> tuple[str, str]:
    """'SRC_to_TGT' → ('SRC', 'TGT'); a clear error for any other folder name."""
    parts = name.split(PAIR_SEPARATOR)
    if len(parts) != 2 or not all(parts):
        raise VaeganError(f"'{name}': converted folders must be named SOURCE{PAIR_SEPARATOR}TARGET (e.g. SF1_to_TM1)")
    return parts[0], parts[1]


def parse_pairs(text: str) -> tuple[tuple[str, str], ...] | None:
    """'all' → None; 'SF1:TM1,TM1:SF1' → (('SF1', 'TM1'), ('TM1', 'SF1'))."""
    if text.strip().lower() == "all":
        return None
    pairs = []
    for chunk in (c.strip() for c in text.split(",") if c.strip()):
        src, sep, tgt = chunk.partition(":")
        if not sep or not src or not tgt:
            raise VaeganError(f"--pairs: '{chunk}' is not SOURCE:TARGET")
        if src == tgt:
            raise VaeganError(f"--pairs: '{chunk}' converts a speaker to itself")
        pairs.append((src, tgt))
    if not pairs:
        raise VaeganError("--pairs: expected 'all' or SOURCE:TARGET[,SOURCE:TARGET…]")
    return tuple(dict.fromkeys(pairs))


def read_transcripts(path: Path) -> dict[str, str]:
    """Given transcripts by utterance id: a JSON object {id: text}, or lines 'id<space or tab>text'."""
    path = Path(path)
    if not path.is_file():
        raise VaeganError(f"{path}: transcripts file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return _json_transcripts(path, text)
    rows = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            parts = line.split(maxsplit=1)
            if len(parts) < 2:
                raise VaeganError(f"{path}:{number}: expected 'utterance_id text'")
            rows[parts[0]] = parts[1].strip()
    return rows


def _json_transcripts(path: Path, text: str) -> dict[str, str]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VaeganError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise VaeganError(f"{path}: expected a JSON object {{utterance_id: text}}")
    return {str(k): v for k, v in data.items()}
