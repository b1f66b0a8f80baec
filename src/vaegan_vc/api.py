"""The Python API: load a model once, convert waveforms in memory. The CLI's convert does the same per file.

    vc = vaegan_vc.load("runs/my_run")          # a run folder or a model folder
    wav_out, sr = vc.convert(wav, 44100, target="TM1", pitch_shift=0)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .audio import normalize_loudness, resample
from .convert import LoadedModel, PitchOptions, check_pitch_use, convert_wav, default_pitch_mode, load_model, model_input
from .errors import VaeganError
from .vocoders import Vocoder, load_vocoder



def as_mono(wav, sample_rate: int) -> np.ndarray:
    """numpy or torch audio, [N], [C, N] or [N, C] with C ≤ 2 → float32 mono [N]. Clear errors otherwise."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise VaeganError(f"sample rate must be a positive integer, got {sample_rate!r}")
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2:
        channel_axis = 0 if wav.shape[0] <= wav.shape[1] else 1
        if wav.shape[channel_axis] > 2:
            raise VaeganError(f"audio has {wav.shape[channel_axis]} channels; give mono or stereo")
        wav = wav.mean(axis=channel_axis)
    elif wav.ndim != 1:
        raise VaeganError(f"audio must be [samples] or [channels, samples], got shape {list(wav.shape)}")
    if wav.size == 0:
        raise VaeganError("audio is empty (0 samples)")
    if not np.all(np.isfinite(wav)):
        raise VaeganError("audio contains NaN or infinite samples")
    return wav


class VoiceConverter:
    """A loaded model and its vocoder. `speakers` are the voices it can convert into."""

    def __init__(self, loaded: LoadedModel, vocoder: Vocoder):
        self.loaded = loaded
        self.vocoder = vocoder

    @property
    def speakers(self) -> list[str]:
        return list(self.loaded.speakers)

    @property
    def sample_rate(self) -> int:
        return self.loaded.features.sample_rate

    def resampled(self, mono: np.ndarray, sample_rate: int) -> np.ndarray:
        """Mono audio [N] at `sample_rate` → the model's sample rate."""
        return resample(mono, int(sample_rate), self.sample_rate)

    def convert(self, wav, sample_rate: int, target: str, pitch_shift: float = 0.0,
                pitch_mode: str | None = None) -> tuple[np.ndarray, int]:
        """Convert one utterance into `target`'s voice. Returns (float32 waveform [M], its sample rate).

        `wav`: numpy array or torch tensor, mono [N] or stereo [2, N] / [N, 2], at any rate. The
        model hears it at −26 LUFS, as `prepare` made the training data; the output comes back at
        the input's loudness and at the model's sample rate. Silence is refused.
        """
        self.loaded.model.check_speaker(target)
        pitch = PitchOptions(default_pitch_mode(self.loaded.features, pitch_mode), pitch_shift)
        check_pitch_use(self.loaded, pitch)
        mono, level = model_input(self.loaded, self.resampled(as_mono(wav, sample_rate), sample_rate), "audio")
        out = convert_wav(self.loaded, mono, target, self.vocoder, pitch)
        return normalize_loudness(out, self.sample_rate, level).astype(np.float32), self.sample_rate


    def stream(self, blocks, sample_rate: int, target: str, pitch_shift: float = 0.0, pitch_mode: str | None = None,
               config=None):
        """Convert a stream of audio blocks (any length each, e.g. 100–250 ms) as they come.

        `blocks`: an iterable of numpy arrays (mono [n] or [n, channels]) at `sample_rate`, or of
        (array, rate) pairs; a rate change mid-stream is refused. Yields float32 blocks at the
        model's sample rate (`self.sample_rate`), lagging the input by `config`'s latency
        (see streaming.StreamConfig). The last yield flushes the end of the stream.
        """
        from .streaming import StreamConfig, Streamer, stream_blocks

        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise VaeganError(f"sample rate must be a positive integer, got {sample_rate!r}")
        streamer = Streamer(self.loaded, self.vocoder, target, config or StreamConfig(),
                            PitchOptions(default_pitch_mode(self.loaded.features, pitch_mode), pitch_shift))
        self.last_streamer = streamer  # its step_seconds tell how long each block took
        return stream_blocks(streamer, blocks, int(sample_rate))


RUNTIMES = ("torch", "onnx")


def load(model: str | Path, vocoder: str | None = None, vocoder_checkpoint: Path | None = None,
         device: str = "cpu", runtime: str = "torch") -> VoiceConverter:
    """A run folder, model folder or bundled model's name → a VoiceConverter (loaded once).

    runtime "onnx": `model` is a folder written by `vaegan-vc export … --onnx`, run with
    onnxruntime on the CPU; its own HiFi-GAN is used unless another vocoder is named.
    """
    if runtime not in RUNTIMES:
        raise VaeganError(f"unknown runtime '{runtime}' (have: {', '.join(RUNTIMES)})")
    if runtime == "onnx":
        from .onnx_runtime import load_onnx

        loaded, onnx_vocoder = load_onnx(model)
        if onnx_vocoder is not None and vocoder in (None, "auto"):
            return VoiceConverter(loaded, onnx_vocoder)
        return VoiceConverter(loaded, load_vocoder(vocoder, loaded.features, vocoder_checkpoint, "cpu"))
    loaded = load_model(model, device)
    return VoiceConverter(loaded, load_vocoder(vocoder, loaded.features, vocoder_checkpoint, device))
