"""F0: extraction (WORLD's DIO + StoneMask), speaker statistics, mapping to a target range, coarse bins.

F0 is carried in Hz, one value per mel frame, with 0 for unvoiced frames. WORLD's tracker
(pyworld) was chosen over torchfcpe because it is what the VCC baselines and our own `evaluate`
use, runs far above real time on one core without model weights, and is deterministic.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import Tensor

from .config import FeatureConfig
from .errors import VaeganError

F0_FLOOR = 50.0  # Hz: below any adult speaking voice
F0_CEIL = 1100.0  # Hz: high singing, as RVC's range
MAX_SHIFT = 24.0  # semitones either way
TRACKER = "pyworld-dio-stonemask"


def extract_f0(wav: np.ndarray, cfg: FeatureConfig, method: str = "dio") -> np.ndarray:
    """Waveform [N] at cfg.sample_rate → F0 in Hz, float32 [N // hop], 0 where unvoiced.

    `method`: WORLD's "dio" (+ StoneMask; ~100× real time, what `prepare` and `convert` use),
    WORLD's "harvest" (~4× real time) or "pyin" (librosa's probabilistic YIN, ~5× real time; what
    `evaluate --music` judges pitch with). On the 288 single notes of a rendered four-instrument
    corpus (train split, scored against their MIDI pitch) the share within 50 cents was DIO 0.965
    (violin 0.86: it locks onto a subharmonic), Harvest 0.986 (trumpet 0.94) and pYIN 1.000.

    DIO's frame i is centred on sample i·hop; our mel frame t on t·hop + hop/2. Half a hop
    (6 ms with the hifigan preset) is below the tracker's own time resolution, so frames are
    taken as they are.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld 0.3.5 imports the deprecated pkg_resources
        import pyworld

    if method not in ("dio", "harvest", "pyin"):
        raise VaeganError(f"unknown F0 method {method!r} (dio, harvest or pyin)")
    frames = len(wav) // cfg.hop_length
    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    x = np.ascontiguousarray(wav, dtype=np.float64)
    period = 1000.0 * cfg.hop_length / cfg.sample_rate
    if method == "pyin":
        f0 = _pyin(x, cfg)
    elif method == "harvest":
        f0, _ = pyworld.harvest(x, cfg.sample_rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=period)
    else:
        # speed=2 lets DIO analyse a 2x-decimated signal: ~3x faster, and F0 stays far below Nyquist.
        f0, times = pyworld.dio(x, cfg.sample_rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=period, speed=2)
        f0 = pyworld.stonemask(x, f0, times, cfg.sample_rate)
    out = np.zeros(frames, dtype=np.float32)
    n = min(frames, len(f0))
    out[:n] = f0[:n]
    out[~np.isfinite(out) | (out < F0_FLOOR * 0.5)] = 0.0
    return out


def _pyin(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """librosa's pYIN, one value per hop, 0 where unvoiced. The window holds at least two periods
    of the floor (80 ms, rounded up to a power of two)."""
    import librosa  # the evaluation extra's; only the music judge uses pYIN

    frame = 1 << math.ceil(math.log2(0.08 * cfg.sample_rate))
    f0, voiced, _ = librosa.pyin(x.astype(np.float32), fmin=F0_FLOOR, fmax=F0_CEIL, sr=cfg.sample_rate,
                                 frame_length=frame, hop_length=cfg.hop_length)
    return np.where(voiced & np.isfinite(f0), f0, 0.0)


def log_f0_stats(f0: np.ndarray) -> dict[str, float]:
    """Mean and standard deviation of ln F0 over the voiced frames, and the voiced share."""
    voiced = f0[f0 > 0]
    if len(voiced) < 2:
        return {"log_mean": 0.0, "log_std": 0.0, "voiced": float(len(voiced) / max(len(f0), 1))}
    lf0 = np.log(voiced.astype(np.float64))
    return {"log_mean": float(lf0.mean()), "log_std": float(lf0.std()), "voiced": float(len(voiced) / len(f0))}


def check_f0(f0: Tensor | np.ndarray, what: str) -> None:
    """A usable F0 track is finite and non-negative (0 = unvoiced)."""
    f0 = torch.as_tensor(f0)
    if not bool(torch.isfinite(f0).all()):
        raise VaeganError(f"{what}: F0 contains NaN or infinite values")
    if bool((f0 < 0).any()):
        raise VaeganError(f"{what}: F0 has negative values (expected Hz, 0 for unvoiced)")


def check_shift(semitones: float) -> None:
    if not math.isfinite(semitones) or abs(semitones) > MAX_SHIFT:
        raise VaeganError(f"pitch shift {semitones} semitones is outside ±{MAX_SHIFT:g}")


def map_f0(f0: Tensor, source: dict[str, float], target: dict[str, float]) -> Tensor:
    """Move a contour [..., T] from the source's ln-F0 mean/std to the target's.

    z-scoring in the log domain keeps the contour's shape (its correlation with the source) and
    gives it the target's range, as the VCC 2020 baseline does. Unvoiced frames stay 0. A source
    without spread (fewer than 2 voiced frames) is only moved by the mean difference.
    """
    voiced = f0 > 0
    lf0 = torch.log(f0.clamp(min=1e-3))
    scale = target["log_std"] / source["log_std"] if source["log_std"] > 1e-6 else 1.0
    mapped = torch.exp((lf0 - source["log_mean"]) * scale + target["log_mean"])
    return torch.where(voiced, mapped, torch.zeros_like(f0))


def shift_f0(f0: Tensor, semitones: float) -> Tensor:
    """Transpose by `semitones` (12 = one octave up, F0 doubles); unvoiced stays 0."""
    return f0 * 2.0 ** (semitones / 12.0)


def coarse_f0(f0: Tensor, bins: int) -> Tensor:
    """F0 in Hz [..., T] → class ids [..., T] (long): 0 unvoiced, 1..bins-1 on the mel scale over
    F0_FLOOR..F0_CEIL (RVC's quantisation: 1127·ln(1 + f0/700))."""
    lo, hi = (1127.0 * math.log1p(f / 700.0) for f in (F0_FLOOR, F0_CEIL))
    mel = 1127.0 * torch.log1p(f0.clamp(min=0) / 700.0)
    ids = ((mel - lo) / (hi - lo) * (bins - 2) + 1).round().clamp(1, bins - 1).long()
    return torch.where(f0 > 0, ids, torch.zeros_like(ids))
