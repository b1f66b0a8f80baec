"""Streaming conversion: audio blocks in, converted blocks out, with bounded latency.

Each step takes one block of new input (`block_frames` hops) and emits one block of output,
`lookahead_frames` behind the newest input sample:

    input   ───────────────[ context (left, for the model's statistics) ][ block ][ lookahead ]
    model   converts the whole window (cheap: the model's RTF is ~0.003)
    vocoder runs only on the block, with `vocoder_context` frames before it and the lookahead after
    output  the block, joined to the previous one by SOLA: the new piece is shifted by up to
            `search` samples to line up with the previous block's tail, then cross-faded linearly
            over `crossfade` samples (linear, not equal-power: both sides carry the same signal)

So the algorithmic latency is block + lookahead (the cross-fade and the SOLA search live inside
the lookahead), plus the time one step takes to compute. The same design as RVC's real-time GUI
(extra left context, SOLA, a fade), sized for a 1-D model whose InstanceNorm needs ~1 s of context.

Loudness: the model hears the input at about the level `prepare` used (−26 LUFS), through one
gain estimated from the RMS of the speech (frames above −60 dBFS) heard so far, as a slow AGC
would; the output gets the input's level back. A silent window yields silence without
running the model. F0 ("auto" pitch mode): the source's ln-F0 statistics are accumulated over the
stream, starting from the mean of the model's voices, so early blocks do not jump.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from .audio import mel_features
from .convert import LoadedModel, PitchOptions, check_pitch_use
from .errors import VaeganError
from .pitch import extract_f0, map_f0, shift_f0
from .vocoders import Vocoder

# RMS of speech at about −26 LUFS (what the model was trained at); below SILENCE_RMS, a window is silent.
TARGET_RMS = 0.05
SILENCE_RMS = 1e-4
STFT_EDGE_FRAMES = 2  # the last frames of a window see the reflection padding: never emitted from


@dataclass(frozen=True)
class StreamConfig:
    """Sizes of one streaming step, in hops of the model's features (11.6 ms at 22.05 kHz, hop 256)."""

    # Defaults measured on 2 cores with HiFi-GAN V1 (benchmarks/streaming_latency.py): 241 ms in all,
    # compute below one block at the 99th percentile.
    block_frames: int = 8           # new audio per step (93 ms)
    lookahead_frames: int = 5       # future audio waited for (58 ms): the model's reach, STFT edge, SOLA, fade
    context_frames: int = 96        # past audio the model sees (1.1 s), for InstanceNorm's statistics
    vocoder_context: int = 2        # past frames the vocoder sees before the block (SOLA hides the edge)
    crossfade: int = 384            # samples
    search: int = 128               # SOLA: samples the new piece may shift to line up with the old tail

    def check(self, hop: int) -> None:
        if min(self.block_frames, self.lookahead_frames, self.context_frames) < 1 or self.vocoder_context < 0:
            raise VaeganError("stream sizes must be positive")
        spare = (self.lookahead_frames - STFT_EDGE_FRAMES) * hop
        if self.crossfade + self.search > spare:
            raise VaeganError(f"crossfade + search ({self.crossfade + self.search} samples) must fit in the lookahead "
                              f"beyond the STFT edge ({spare} samples): raise lookahead_frames")
        if self.crossfade < 1 or self.search < 0 or self.crossfade > self.block_frames * hop:
            raise VaeganError("crossfade must be between 1 sample and one block")

    def latency_ms(self, hop: int, sample_rate: int) -> float:
        """The algorithmic latency (block + lookahead, which holds the cross-fade), without compute."""
        return 1000.0 * (self.block_frames + self.lookahead_frames) * hop / sample_rate


class RunningLevel:
    """RMS of the active input (hop frames above ACTIVE_RMS) heard so far: one slowly settling gain
    instead of a level that jumps with every window."""

    ACTIVE_RMS = 1e-3  # −60 dBFS

    def __init__(self, hop: int):
        self.hop, self.squares, self.count = hop, 0.0, 0

    def add(self, samples: np.ndarray) -> None:
        frames = samples[: len(samples) // self.hop * self.hop].astype(np.float64).reshape(-1, self.hop)
        power = (frames**2).mean(axis=1)
        active = power > self.ACTIVE_RMS**2
        self.squares += float(power[active].sum())
        self.count += int(active.sum())

    def rms(self, fallback: np.ndarray) -> float:
        """The running RMS, or `fallback`'s own while nothing active has been heard."""
        if self.count:
            return math.sqrt(self.squares / self.count)
        return float(np.sqrt(np.mean(fallback.astype(np.float64) ** 2)))


class RunningF0Stats:
    """ln-F0 mean and spread of the voiced source frames seen so far, shrunk towards a prior."""

    def __init__(self, prior: dict[str, float], prior_frames: int = 20):
        self.prior, self.n0 = prior, prior_frames
        self.n, self.total, self.squares = 0, 0.0, 0.0

    def add(self, f0: np.ndarray) -> None:
        lf0 = np.log(f0[f0 > 0].astype(np.float64))
        self.n += len(lf0)
        self.total += float(lf0.sum())
        self.squares += float((lf0**2).sum())

    def stats(self) -> dict[str, float]:
        n = self.n + self.n0
        mean = (self.total + self.n0 * self.prior["log_mean"]) / n
        second = (self.squares + self.n0 * (self.prior["log_std"] ** 2 + self.prior["log_mean"] ** 2)) / n
        return {"log_mean": mean, "log_std": math.sqrt(max(second - mean**2, 1e-8))}


def _sola_offset(piece: np.ndarray, tail: np.ndarray, search: int) -> int:
    """The shift o in [0, 2·search] where piece[o : o + len(tail)] best matches `tail` (normalised
    cross-correlation)."""
    n = len(tail)
    if float(tail @ tail) < 1e-12:  # after silence there is nothing to line up with
        return search
    best, best_score = search, -np.inf
    for o in range(0, 2 * search + 1):
        seg = piece[o : o + n]
        score = float(seg @ tail) / (float(np.sqrt(seg @ seg)) + 1e-8)
        if score > best_score:
            best, best_score = o, score
    return best


class Streamer:
    """Stateful block-by-block conversion at the model's sample rate. Feed with `push`, end with `flush`."""

    def __init__(self, loaded: LoadedModel, vocoder: Vocoder, target: str, cfg: StreamConfig = StreamConfig(),
                 pitch: PitchOptions = PitchOptions()):
        loaded.model.check_speaker(target)
        check_pitch_use(loaded, pitch)
        vocoder.check_features(loaded.features, f"model {loaded.path}")
        self.hop = loaded.features.hop_length
        cfg.check(self.hop)
        self.loaded, self.vocoder, self.target, self.cfg, self.pitch = loaded, vocoder, target, cfg, pitch
        self.buffer = np.zeros(0, dtype=np.float32)  # model-rate input; buffer[0] is sample `start`
        self.start = 0
        self.emitted = 0          # absolute index of the next output sample
        self.received = 0
        self.tail: np.ndarray | None = None
        stats = loaded.model.f0_stats
        prior = {k: float(np.mean([s[k] for s in stats.values()])) for k in ("log_mean", "log_std")} if stats else None
        self.f0_stats = RunningF0Stats(prior) if prior else None
        self._f0_counted = 0      # absolute frame up to which source F0 entered the running stats
        self.level = RunningLevel(self.hop)
        self.step_seconds: list[float] = []

    def push(self, block: np.ndarray) -> np.ndarray:
        """Model-rate samples [n] (any n ≥ 0) → the output samples that are now final (often one block)."""
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(block)):
            raise VaeganError("stream block contains NaN or infinite samples")
        self.buffer = np.concatenate([self.buffer, block])
        self.received += len(block)
        out = []
        step = self.cfg.block_frames * self.hop
        while self.start + len(self.buffer) >= self.emitted + step + self.cfg.lookahead_frames * self.hop:
            out.append(self._step())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def flush(self) -> np.ndarray:
        """The rest of the output once the input has ended, so output and input lengths match (to the hop)."""
        end = (self.received // self.hop) * self.hop
        pad = (self.cfg.block_frames + self.cfg.lookahead_frames) * self.hop
        rest = self.push(np.zeros(pad, dtype=np.float32))
        keep = max(0, end - (self.emitted - len(rest)))
        return rest[:keep]

    # ------------------------------------------------------------------ one step

    def _window(self) -> tuple[np.ndarray, int]:
        """The input the model sees this step, and its absolute start (a multiple of the hop)."""
        cfg, hop = self.cfg, self.hop
        end = self.emitted + (cfg.block_frames + cfg.lookahead_frames) * hop
        begin = max(0, self.emitted - cfg.context_frames * hop)
        window = self.buffer[begin - self.start : end - self.start]
        return window, begin

    def _target_f0(self, window: np.ndarray, begin: int) -> torch.Tensor | None:
        if not self.loaded.model.cfg.pitch:
            return None
        f0 = extract_f0(window, self.loaded.features)
        first_new = max(0, self._f0_counted - begin // self.hop)
        last_final = len(f0) - self.cfg.lookahead_frames
        if self.pitch.mode == "auto" and last_final > first_new:
            self.f0_stats.add(f0[first_new:last_final])
            self._f0_counted = begin // self.hop + last_final
        f0 = torch.from_numpy(f0)
        if self.pitch.mode == "auto":
            f0 = map_f0(f0, self.f0_stats.stats(), self.loaded.model.f0_stats[self.target])
        return shift_f0(f0, self.pitch.shift)

    def _convert_window(self, window: np.ndarray, begin: int) -> tuple[torch.Tensor, float] | None:
        """(the window's converted mel [n_mels, frames], its input RMS), or None when it is silent."""
        block = window[self.emitted - begin :]  # this step's block and lookahead: the newest input
        self.level.add(block[: self.cfg.block_frames * self.hop])
        if float(np.sqrt(np.mean((window - window.mean()) ** 2))) < SILENCE_RMS:
            self._target_f0(window, begin)  # keeps the F0 bookkeeping moving
            return None
        rms = self.level.rms(window)  # before any active frame: the window's own level
        scaled = window * (TARGET_RMS / rms)
        feats = mel_features(scaled, self.loaded.features)
        f0 = self._target_f0(scaled, begin)
        with torch.inference_mode():
            mel = self.loaded.model.convert(feats.unsqueeze(0), self.target, None if f0 is None else f0.unsqueeze(0))
        return mel[0].float().cpu(), rms

    def _step(self) -> np.ndarray:
        started = time.perf_counter()
        cfg, hop = self.cfg, self.hop
        window, begin = self._window()
        block = cfg.block_frames * hop
        converted = self._convert_window(window, begin)
        # Absolute samples this step renders: from `search` before the block to the reliable end.
        lo = self.emitted - cfg.search
        hi = begin + (len(window) // hop - STFT_EDGE_FRAMES) * hop
        if converted is None:
            piece = np.zeros(hi - lo, dtype=np.float32)
        else:
            mel, rms = converted
            f_lo = max(0, (self.emitted - begin) // hop - cfg.vocoder_context)
            f_hi = (hi - begin) // hop
            wav = self.vocoder(mel[:, f_lo:f_hi].unsqueeze(0))[0].cpu().numpy() * (rms / TARGET_RMS)
            rendered_from = begin + f_lo * hop
            if lo < rendered_from:  # the stream's very start: nothing before sample 0
                wav = np.concatenate([np.zeros(rendered_from - lo, dtype=np.float32), wav])
                rendered_from = lo
            piece = wav[lo - rendered_from :]
        out = self._join(piece, block)
        self.emitted += block
        self._trim()
        self.step_seconds.append(time.perf_counter() - started)
        return out

    def _join(self, piece: np.ndarray, block: int) -> np.ndarray:
        """SOLA: align `piece` (starting `search` samples before the block) to the previous tail, fade, cut."""
        cfg = self.cfg
        offset = cfg.search if self.tail is None else _sola_offset(piece, self.tail, cfg.search)
        out = piece[offset : offset + block].copy()
        if self.tail is not None:
            fade = np.linspace(0.0, 1.0, cfg.crossfade, dtype=np.float32)
            out[: cfg.crossfade] = self.tail * (1 - fade) + out[: cfg.crossfade] * fade
        self.tail = piece[offset + block : offset + block + cfg.crossfade].copy()
        return out

    def _trim(self) -> None:
        keep_from = max(0, self.emitted - self.cfg.context_frames * self.hop)
        if keep_from > self.start:
            self.buffer = self.buffer[keep_from - self.start :]
            self.start = keep_from


def stream_blocks(streamer: Streamer, blocks: Iterable, sample_rate: int) -> Iterator[np.ndarray]:
    """Blocks at `sample_rate` (arrays, or (array, rate) pairs) → converted blocks at the model's
    rate, ending with the flushed rest. A block whose rate differs from the stream's is refused."""
    import soxr

    model_rate = streamer.loaded.features.sample_rate
    resampler = None if sample_rate == model_rate else soxr.ResampleStream(sample_rate, model_rate, 1, dtype="float32")
    for item in blocks:
        block, rate = item if isinstance(item, tuple) else (item, sample_rate)
        if rate != sample_rate:
            raise VaeganError(f"a stream's sample rate cannot change: it began at {sample_rate} Hz, a block came at {rate} Hz")
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 2:  # [n, channels] from a sound card
            block = block.mean(axis=1)
        if resampler is not None:
            block = resampler.resample_chunk(block)
        out = streamer.push(block)
        if len(out):
            yield out
    if resampler is not None:
        out = streamer.push(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        if len(out):
            yield out
    rest = streamer.flush()
    if len(rest):
        yield rest


@dataclass
class StreamReport:
    """What a streamed run measured: the latency budget and the compute per step."""

    block_ms: float
    lookahead_ms: float
    crossfade_ms: float
    step_ms: list[float]

    @property
    def compute_p50_ms(self) -> float:
        return float(np.percentile(self.step_ms, 50)) if self.step_ms else 0.0

    @property
    def compute_p99_ms(self) -> float:
        return float(np.percentile(self.step_ms, 99)) if self.step_ms else 0.0

    @property
    def underruns(self) -> int:
        """Steps that took longer than a block: at real time, the output would have a gap."""
        return sum(ms > self.block_ms for ms in self.step_ms)

    @property
    def latency_ms(self) -> float:
        """block + lookahead (holding the cross-fade) + the 99th-percentile compute of a step."""
        return self.block_ms + self.lookahead_ms + self.compute_p99_ms

    def summary(self) -> str:
        return (f"latency {self.latency_ms:.0f} ms = block {self.block_ms:.0f} + lookahead {self.lookahead_ms:.0f} "
                f"(cross-fade {self.crossfade_ms:.0f} inside) + compute p99 {self.compute_p99_ms:.0f} ms "
                f"(p50 {self.compute_p50_ms:.0f}); {self.underruns} of {len(self.step_ms)} steps slower than a block")


def report(streamer: Streamer) -> StreamReport:
    cfg, hop, sr = streamer.cfg, streamer.hop, streamer.loaded.features.sample_rate
    ms = 1000.0 / sr
    return StreamReport(cfg.block_frames * hop * ms, cfg.lookahead_frames * hop * ms, cfg.crossfade * ms,
                        [1000.0 * s for s in streamer.step_seconds])


def paced_blocks(wav: np.ndarray, sample_rate: int, block_seconds: float, pace: bool = True) -> Iterator[np.ndarray]:
    """A recording cut into blocks, handed out no faster than real time when `pace` (as a microphone would)."""
    size = max(1, int(round(block_seconds * sample_rate)))
    start = time.perf_counter()
    for i in range(0, len(wav), size):
        if pace:
            due = start + i / sample_rate
            time.sleep(max(0.0, due - time.perf_counter()))
        yield wav[i : i + size]


def stream_file(vc, src, target: str, out_path, pitch_shift: float = 0.0, config: StreamConfig | None = None,
                pace: bool = True, feed_seconds: float = 0.1, pitch_mode: str | None = None) -> StreamReport:
    """Run a file through the streaming path, fed in `feed_seconds` pieces at real-time pace
    (unless `pace` is False); write the output to `out_path` and return the measurements."""
    from .audio import save_audio
    from .api import as_mono
    import soundfile as sf

    try:
        wav, sr = sf.read(str(src), dtype="float32")
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise VaeganError(f"{src}: cannot read audio ({exc})") from None
    mono = as_mono(wav, sr)
    out = list(vc.stream(paced_blocks(mono, sr, feed_seconds, pace), sr, target, pitch_shift=pitch_shift,
                         pitch_mode=pitch_mode, config=config))
    save_audio(out_path, np.concatenate(out) if out else np.zeros(0, np.float32), vc.sample_rate)
    return report(vc.last_streamer)
