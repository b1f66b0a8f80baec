"""Audio in and out: load, resample, loudness, silence trim; the ONE mel function; Griffin-Lim."""

from __future__ import annotations

import functools
import logging
import math
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
import torch.nn.functional as F

from .config import FeatureConfig
from .io import atomic_path
from .errors import VaeganError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
TARGET_LUFS = -26.0  # a little under EBU R128, so that few mel bins clip at the seed's 0 dB ceiling
PEAK_LIMIT = 0.99


# ----------------------------------------------------------------------------- loading


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Read any soundfile-readable file → mono float32 at `sample_rate`. Shape [N].

    Raises VaeganError naming the file for empty, unreadable or truncated input.
    """
    path = Path(path)
    if not path.is_file():
        raise VaeganError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VaeganError(f"{path}: empty file (0 bytes)")
    try:
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise VaeganError(f"{path}: not readable audio ({exc})") from None
    if wav.shape[0] == 0:
        raise VaeganError(f"{path}: contains no samples")
    wav = wav.mean(axis=1)  # downmix
    if not np.all(np.isfinite(wav)):
        raise VaeganError(f"{path}: contains NaN or infinite samples")
    return resample(wav, sr, sample_rate)


def resample(wav: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality). Shape [N] → [N·sr_out/sr_in]."""
    if sr_in == sr_out:
        return np.ascontiguousarray(wav, dtype=np.float32)
    return soxr.resample(wav.astype(np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


def save_audio(path: Path, wav: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit PCM wav atomically: a reader never sees a half-written file under `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")


def list_audio(folder: Path) -> list[Path]:
    """Audio files under `folder`, recursively, sorted (no shell globbing, no hidden files)."""
    return sorted(
        p for p in Path(folder).rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
    )


# ----------------------------------------------------------------------------- cleaning


def loudness(wav: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770); -inf for digital silence.

    Clips too short for the 400 ms gating block fall back to an RMS estimate.
    """
    import pyloudnorm

    level = -math.inf
    if len(wav) >= int(0.4 * sample_rate) + 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyloudnorm warns on clipping, which callers handle
            level = pyloudnorm.Meter(sample_rate).integrated_loudness(wav.astype(np.float64))
    if not math.isfinite(level):
        rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if len(wav) else 0.0
        if rms < 1e-8:
            return -math.inf
        level = 20 * math.log10(rms) - 0.691  # rough LUFS of a full-band signal
    return level


def check_not_silent(wav: np.ndarray, what: str) -> None:
    """Refuse silence and constant (DC) signals: there is no voice in them to convert."""
    centred = wav.astype(np.float64) - float(np.mean(wav)) if len(wav) else wav
    if len(wav) == 0 or float(np.sqrt(np.mean(centred**2))) < 1e-4:  # below −80 dBFS once DC is removed
        raise VaeganError(f"{what}: silent or constant signal, nothing to convert")


def normalize_loudness(wav: np.ndarray, sample_rate: int, target_lufs: float = TARGET_LUFS) -> np.ndarray:
    """Scale to `target_lufs` integrated loudness (ITU-R BS.1770), then keep peaks below 0.99."""
    level = loudness(wav, sample_rate)
    if not math.isfinite(level):
        return wav
    out = wav * (10 ** ((target_lufs - level) / 20))
    peak = float(np.max(np.abs(out)))
    if peak > PEAK_LIMIT:
        out = out * (PEAK_LIMIT / peak)
    return out.astype(np.float32)


def trim_silence(
    wav: np.ndarray, sample_rate: int, top_db: float = 40.0, max_pause: float = 0.5,
    frame: float = 0.025,
) -> np.ndarray:
    """Drop leading/trailing silence and shorten inner pauses to `max_pause` seconds.

    Silence is any 25 ms frame whose RMS is `top_db` below the loudest frame. Returns an empty
    array for pure silence. Shape [N] → [M ≤ N].
    """
    hop = max(1, int(frame * sample_rate))
    n_frames = len(wav) // hop
    if n_frames == 0:
        return wav[:0]
    frames = wav[: n_frames * hop].reshape(n_frames, hop).astype(np.float64)
    rms_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    if rms_db.max() < -80:  # digital silence or near it
        return wav[:0]
    voiced = rms_db > rms_db.max() - top_db
    idx = np.flatnonzero(voiced)
    first, last = idx[0], idx[-1]
    keep = np.zeros(n_frames, dtype=bool)
    keep[first : last + 1] = True
    # Inner pauses longer than max_pause keep only max_pause (split evenly around the cut).
    max_frames = max(1, int(max_pause / frame))
    run_start = None
    for i in range(first, last + 2):
        silent = i <= last and not voiced[i]
        if silent and run_start is None:
            run_start = i
        elif not silent and run_start is not None:
            if i - run_start > max_frames:
                half = max_frames // 2
                keep[run_start + half : i - (max_frames - half)] = False
            run_start = None
    margin = hop  # keep one frame of context on each side
    mask = np.repeat(keep, hop)
    start = max(0, first * hop - margin)
    end = min(len(wav), (last + 1) * hop + margin)
    out = np.concatenate([wav[start : first * hop], wav[: n_frames * hop][mask], wav[(last + 1) * hop : end]])
    return out.astype(np.float32)


# ----------------------------------------------------------------------------- mel


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale (linear below 1 kHz, log above), as librosa's default."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_region = f >= 1000.0
    mel = np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)
    return mel


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f = m * (200.0 / 3)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), f)


@functools.lru_cache(maxsize=8)
def mel_filterbank(cfg: FeatureConfig) -> torch.Tensor:
    """Slaney-normalised triangular filters, as librosa.filters.mel. Shape [n_mels, n_fft/2+1].

    Cached on the whole frozen config, so two presets never share a filterbank by accident.
    """
    n_bins = cfg.n_fft // 2 + 1
    fft_freqs = np.linspace(0, cfg.sample_rate / 2, n_bins)
    mel_pts = np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2)
    hz_pts = _mel_to_hz(mel_pts)
    fdiff = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_pts[2:] - hz_pts[:-2]))[:, None]
    return torch.from_numpy(weights.astype(np.float32))


@functools.lru_cache(maxsize=8)
def _window(win_length: int, device: str) -> torch.Tensor:
    return torch.hann_window(win_length, device=device)


def _pad_amount(cfg: FeatureConfig) -> int:
    # HiFi-GAN's framing: reflect-pad (n_fft - hop) / 2 on each side, no centring, so that a
    # signal of N samples gives exactly N // hop frames.
    return (cfg.n_fft - cfg.hop_length) // 2


def _pad(wav: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Reflect-pad [B, N] → [B, N + 2·pad] (constant padding when the clip is shorter than pad)."""
    pad = _pad_amount(cfg)
    mode = "reflect" if wav.shape[-1] > pad else "constant"
    return F.pad(wav.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)


def _stft_magnitude(padded: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    spec = torch.stft(
        padded, cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window=_window(cfg.win_length, str(padded.device)), center=False, return_complex=True,
    )
    return torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)


def magnitude_spectrogram(wav: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """|STFT| of wav [B, N] → [B, n_fft/2+1, N // hop]."""
    return _stft_magnitude(_pad(wav, cfg), cfg)


def _log_mel_from_magnitude(magnitude: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    mel = torch.clamp(mel_filterbank(cfg).to(magnitude.device) @ magnitude, min=cfg.clamp)
    return 20 * torch.log10(mel) if cfg.log == "db" else torch.log(mel)


def log_mel(wav: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """The vocoder's log mel: 20·log10 (dB) or ln of the clamped magnitude mel. [B, N] → [B, n_mels, T]."""
    return _log_mel_from_magnitude(magnitude_spectrogram(wav, cfg), cfg)


def normalize(log_mel_: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Log mel → model features in [0, 1]."""
    return ((log_mel_ - cfg.norm_min) / (cfg.norm_max - cfg.norm_min)).clamp(0.0, 1.0)


def denormalize(features: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Model features in [0, 1] → the vocoder's log mel."""
    return features * (cfg.norm_max - cfg.norm_min) + cfg.norm_min


def mel_features(wav: torch.Tensor | np.ndarray, cfg: FeatureConfig, chunk: int = 4096) -> torch.Tensor:
    """THE feature function: waveform [N] or [B, N] → normalised log-mel in [0, 1], [(B,) n_mels, N // hop].

    Used by prepare, training, convert, evaluate and the vocoders alike. Long inputs are
    analysed `chunk` frames at a time from one padded signal, so memory stays bounded and the
    result is identical to a single pass.
    """
    x = torch.as_tensor(wav, dtype=torch.float32)
    squeeze = x.dim() == 1
    padded = _pad(x.unsqueeze(0) if squeeze else x, cfg)
    hop, frames = cfg.hop_length, x.shape[-1] // cfg.hop_length
    if frames == 0:
        empty = torch.zeros(*padded.shape[:-1], cfg.n_mels, 0)
        return empty[0] if squeeze else empty
    window = cfg.n_fft - hop  # extra samples one frame block needs beyond frames·hop
    blocks = [
        normalize(_log_mel_from_magnitude(
            _stft_magnitude(padded[:, f0 * hop : min(f0 + chunk, frames) * hop + window], cfg), cfg), cfg)
        for f0 in range(0, frames, chunk)
    ]
    feats = torch.cat(blocks, dim=-1)[..., :frames]
    return feats[0] if squeeze else feats


def crossfade_add(out: torch.Tensor, piece: torch.Tensor, start: int, fade: int) -> None:
    """Add a chunk into `out[..., start:]` along the last axis, in place.

    Its first `fade` positions are cross-faded linearly with what `out` already holds there (the
    previous chunk's tail), so chunked processing leaves no seam. Used for mels and waveforms.
    """
    n = piece.shape[-1]
    if start > 0 and fade > 0:
        head = min(fade, n)
        ramp = torch.linspace(0.0, 1.0, fade)[:head]
        # Not in place: the chunk may be an inference tensor, which is read-only here.
        piece = torch.cat([piece[..., :head] * ramp, piece[..., head:]], dim=-1)
        out[..., start : start + head] *= 1 - ramp
    out[..., start : start + n] += piece
