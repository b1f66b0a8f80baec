"""Conversion: load a model folder, convert features/waveforms/files/folders to a target speaker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import checkpoint as ckpt

from .io import refuse_overlap, refuse_to_overwrite
from .audio import check_not_silent, crossfade_add, list_audio, load_audio, loudness, mel_features, normalize_loudness, save_audio
from .bundled import bundled_model_dir
from .config import FeatureConfig
from .errors import VaeganError
from .models.vaegan import VAEGAN
from .pitch import check_f0, check_shift, extract_f0, log_f0_stats, map_f0, shift_f0
from .plots import mel_panels_figure, save_figure
from .progress import progress_bar
from .vocoders import Vocoder, vocode_long

log = logging.getLogger(__name__)

# InstanceNorm makes the output depend on the statistics of the whole input, so chunks must be
# long enough for stable statistics (~13 s of seed features) and overlap to hide the seams.
CHUNK_FRAMES = 1024
OVERLAP_FRAMES = 64


@dataclass
class LoadedModel:
    model: VAEGAN
    features: FeatureConfig
    speakers: list[str]
    path: Path

    @property
    def device(self) -> torch.device:
        """Where the model runs (an ONNX model, which has no parameters here, runs on the CPU)."""
        if isinstance(self.model, torch.nn.Module):
            return next(self.model.parameters()).device
        return torch.device("cpu")


def model_folder(path: Path | str) -> Path:
    """A model folder, a run folder (→ its newest checkpoint) or the name of a bundled model."""
    path = Path(path)
    if not path.exists() and len(path.parts) == 1:  # a bare name: a bundled model
        return bundled_model_dir(str(path))
    return ckpt.resolve_model_dir(path)


def load_model(path: Path | str, device: str = "cpu") -> LoadedModel:
    """A model folder (model.safetensors + config.json), a run folder (→ newest checkpoint) or a
    bundled model's name. Weights stored in fp16 are loaded in fp32."""
    folder = model_folder(path)
    config = ckpt.read_config(folder)
    model = VAEGAN(config.model, config.speakers, config.f0_stats)
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in ckpt.load_model_tensors(folder, config).items()}
    ckpt.load_state_dict_strict(model, tensors, folder / ckpt.MODEL_FILE)
    model.to(device).eval()
    return LoadedModel(model, config.features, config.speakers, folder)


@dataclass(frozen=True)
class PitchOptions:
    """How a pitch-aware model sets the output's F0.

    mode "auto" moves the source contour into the target speaker's ln-F0 mean and spread
    (measured on the utterance itself, so any source voice works); "keep" leaves it as it is.
    `shift` then transposes by that many semitones (±24 at most).
    """

    mode: str = "auto"
    shift: float = 0.0

    def __post_init__(self):
        if self.mode not in PITCH_MODES:
            raise VaeganError(f"unknown pitch mode '{self.mode}' (have: {', '.join(PITCH_MODES)})")
        check_shift(self.shift)


PITCH_MODES = ("auto", "keep")


def default_pitch_mode(features: FeatureConfig, mode: str | None) -> str:
    """`mode`, or when None the default for the model's features: "keep" for instruments (the
    music preset: an instrument plays the notes it is given), "auto" for voices."""
    if mode is not None:
        return mode
    return "keep" if features.name == "music" else "auto"


def target_f0(loaded: LoadedModel, f0: Tensor, target: str, pitch: PitchOptions) -> Tensor:
    """The F0 the conversion should have: source F0 [T] (Hz, 0 = unvoiced) → [T]."""
    check_f0(f0, "source")
    if pitch.mode == "auto":
        f0 = map_f0(f0, log_f0_stats(f0.numpy()), loaded.model.f0_stats[target])
    return shift_f0(f0, pitch.shift)


def check_pitch_use(loaded: LoadedModel, pitch: PitchOptions) -> None:
    """A model without a pitch path cannot honour a pitch shift: say so instead of ignoring it."""
    if not loaded.model.cfg.pitch and pitch.shift != 0:
        raise VaeganError(f"model {loaded.path} ('{loaded.model.cfg.name}') has no pitch path, so it cannot shift pitch")


def convert_features(loaded: LoadedModel, feats: Tensor, target: str, f0: Tensor | None = None,
                     pitch: PitchOptions = PitchOptions(), chunk: int = CHUNK_FRAMES,
                     overlap: int = OVERLAP_FRAMES) -> Tensor:
    """Deterministic conversion of one utterance of any length. [n_mels, T] → [n_mels, T].

    f0: the source's F0, Hz [T], required by a pitch-aware model (ignored otherwise); `pitch`
    says how it becomes the output's F0. Chunks of `chunk` frames overlap by `overlap` frames
    and are cross-faded linearly.
    """
    loaded.model.check_speaker(target)
    check_pitch_use(loaded, pitch)
    if feats.shape[0] != loaded.features.n_mels:
        raise VaeganError(f"features have {feats.shape[0]} mel bands, the model expects {loaded.features.n_mels}")
    frames = feats.shape[-1]
    out_f0 = None
    if loaded.model.cfg.pitch:
        if f0 is None or f0.shape[-1] != frames:
            raise VaeganError(f"a pitch-aware model needs the source F0 for each of the {frames} frames")
        out_f0 = target_f0(loaded, f0.float(), target, pitch)
    device = loaded.device

    def run(lo: int, hi: int) -> Tensor:
        piece_f0 = None if out_f0 is None else out_f0[lo:hi].unsqueeze(0).to(device)
        return loaded.model.convert(feats[:, lo:hi].unsqueeze(0).to(device), target, piece_f0)[0].float().cpu()

    if frames <= chunk:
        return run(0, frames)
    out = torch.zeros_like(feats)
    for start in range(0, frames, chunk - overlap):
        crossfade_add(out, run(start, start + chunk), start, overlap)
        if start + chunk >= frames:
            break
    return out


def source_f0(loaded: LoadedModel, wav: np.ndarray) -> Tensor | None:
    """The source's F0 [N // hop] when the model has a pitch path, else None (no extraction cost)."""
    return torch.from_numpy(extract_f0(wav, loaded.features)) if loaded.model.cfg.pitch else None


def convert_wav(loaded: LoadedModel, wav: np.ndarray, target: str, vocoder: Vocoder,
                pitch: PitchOptions = PitchOptions()) -> np.ndarray:
    """Waveform [N] at the model's sample rate → converted waveform [N // hop · hop]."""
    feats = mel_features(wav, loaded.features)
    return vocode_long(vocoder, convert_features(loaded, feats, target, source_f0(loaded, wav), pitch)).numpy()


def check_vocoder(loaded: LoadedModel, vocoder: Vocoder) -> None:
    vocoder.check_features(loaded.features, f"model {loaded.path}")


def model_input(loaded: LoadedModel, raw: np.ndarray, what: str) -> tuple[np.ndarray, float]:
    """Audio [N] at the model's rate → (the same at −26 LUFS, as the model was trained, and the
    input's own loudness, to give the output back at). Refuses silence and too-short input."""
    cfg = loaded.features
    check_not_silent(raw, what)
    if len(raw) < cfg.hop_length * loaded.model.cfg.downsample:
        raise VaeganError(f"{what}: too short to convert ({len(raw) / cfg.sample_rate:.3f} s)")
    return normalize_loudness(raw, cfg.sample_rate), loudness(raw, cfg.sample_rate)


def convert_file(loaded: LoadedModel, src: Path, target: str, out_dir: Path, rel: Path, vocoder: Vocoder,
                 pitch: PitchOptions = PitchOptions()) -> None:
    """Write out_dir/ref/REL.wav (source through features + vocoder), gen/REL.wav, plots/REL.png."""
    cfg = loaded.features
    wav, level = model_input(loaded, load_audio(src, cfg.sample_rate), str(src))
    feats = mel_features(wav, cfg)
    converted = convert_features(loaded, feats, target, source_f0(loaded, wav), pitch)
    name = rel.with_suffix(".wav")
    # Both outputs come back at the input's loudness (the model works at −26 LUFS).
    save_audio(out_dir / "ref" / name, normalize_loudness(vocode_long(vocoder, feats).numpy(), cfg.sample_rate, level), cfg.sample_rate)
    save_audio(out_dir / "gen" / name, normalize_loudness(vocode_long(vocoder, converted).numpy(), cfg.sample_rate, level), cfg.sample_rate)
    shown = slice(0, 2000)  # plots stay readable for long files: the first 25 s
    fig = mel_panels_figure([(f"source {rel}", feats[:, shown].numpy()), (f"converted → {target}", converted[:, shown].numpy())])
    save_figure(fig, out_dir / "plots" / rel.with_suffix(".png"))


def convert_path(loaded: LoadedModel, input_path: Path, target: str, out_dir: Path, vocoder: Vocoder,
                 force: bool = False, progress: bool = True, pitch: PitchOptions = PitchOptions()) -> list[tuple[Path, str]]:
    """Convert a file or every audio file under a folder (mirrored). Returns [(file, error)] failures.

    One bad file does not stop the others.
    """
    loaded.model.check_speaker(target)
    check_pitch_use(loaded, pitch)
    check_vocoder(loaded, vocoder)
    input_path = Path(input_path)
    if input_path.is_file():
        files, root = [input_path], input_path.parent
    elif input_path.is_dir():
        files, root = list_audio(input_path), input_path
        if not files:
            raise VaeganError(f"{input_path}: no audio files (.wav .flac .ogg .mp3)")
    else:
        raise VaeganError(f"{input_path}: no such file or folder")
    refuse_overlap(out_dir, {"input": input_path, "model folder": loaded.path})
    refuse_to_overwrite(out_dir, force)
    failures = []
    for f in progress_bar(files, desc=f"convert → {target}", unit="file", disable=not progress or len(files) == 1):
        try:
            convert_file(loaded, f, target, out_dir, f.relative_to(root), vocoder, pitch)
        except VaeganError as exc:
            log.error("%s", exc)
            failures.append((f, str(exc)))
    return failures
