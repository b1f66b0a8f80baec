"""Conversion: load a model folder, convert features/waveforms/files/folders to a target speaker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import checkpoint as ckpt
from .audio import crossfade_add, list_audio, load_audio, mel_features, normalize_loudness, save_audio
from .config import FeatureConfig
from .errors import VaeganError
from .models.vaegan import VAEGAN
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
        return next(self.model.parameters()).device


def load_model(path: Path, device: str = "cpu") -> LoadedModel:
    """A model folder (model.safetensors + config.json) or a run folder (→ newest checkpoint)."""
    folder = ckpt.resolve_model_dir(Path(path))
    model_cfg, features, speakers = ckpt.read_model_config(folder)
    model = VAEGAN(model_cfg, speakers)
    ckpt.load_state_dict_strict(model, ckpt.load_tensors(folder / ckpt.MODEL_FILE, "model weights"), folder / ckpt.MODEL_FILE)
    model.to(device).eval()
    return LoadedModel(model, features, speakers, folder)


def convert_features(loaded: LoadedModel, feats: Tensor, target: str, chunk: int = CHUNK_FRAMES,
                     overlap: int = OVERLAP_FRAMES) -> Tensor:
    """Deterministic conversion of one utterance of any length. [n_mels, T] → [n_mels, T].

    Chunks of `chunk` frames overlap by `overlap` frames and are cross-faded linearly.
    """
    loaded.model.check_speaker(target)
    if feats.shape[0] != loaded.features.n_mels:
        raise VaeganError(f"features have {feats.shape[0]} mel bands, the model expects {loaded.features.n_mels}")
    frames = feats.shape[-1]
    device = loaded.device
    if frames <= chunk:
        return loaded.model.convert(feats.unsqueeze(0).to(device), target)[0].float().cpu()
    out = torch.zeros_like(feats)
    for start in range(0, frames, chunk - overlap):
        piece = loaded.model.convert(feats[:, start : start + chunk].unsqueeze(0).to(device), target)[0].float().cpu()
        crossfade_add(out, piece, start, overlap)
        if start + chunk >= frames:
            break
    return out


def convert_wav(loaded: LoadedModel, wav: np.ndarray, target: str, vocoder: Vocoder) -> np.ndarray:
    """Waveform [N] at the model's sample rate → converted waveform [N // hop · hop]."""
    feats = mel_features(wav, loaded.features)
    return vocode_long(vocoder, convert_features(loaded, feats, target)).numpy()


def check_vocoder(loaded: LoadedModel, vocoder: Vocoder) -> None:
    vocoder.check_features(loaded.features, f"model {loaded.path}")


def convert_file(loaded: LoadedModel, src: Path, target: str, out_dir: Path, rel: Path, vocoder: Vocoder) -> None:
    """Write out_dir/ref/REL.wav (source through features + vocoder), gen/REL.wav, plots/REL.png."""
    cfg = loaded.features
    wav = normalize_loudness(load_audio(src, cfg.sample_rate), cfg.sample_rate)
    feats = mel_features(wav, cfg)
    if feats.shape[-1] < loaded.model.cfg.downsample:
        raise VaeganError(f"{src}: too short to convert ({len(wav) / cfg.sample_rate:.3f} s)")
    converted = convert_features(loaded, feats, target)
    name = rel.with_suffix(".wav")
    save_audio(out_dir / "ref" / name, vocode_long(vocoder, feats).numpy(), cfg.sample_rate)
    save_audio(out_dir / "gen" / name, vocode_long(vocoder, converted).numpy(), cfg.sample_rate)
    shown = slice(0, 2000)  # plots stay readable for long files: the first 25 s
    fig = mel_panels_figure([(f"source {rel}", feats[:, shown].numpy()), (f"converted → {target}", converted[:, shown].numpy())])
    save_figure(fig, out_dir / "plots" / rel.with_suffix(".png"))


def convert_path(loaded: LoadedModel, input_path: Path, target: str, out_dir: Path, vocoder: Vocoder,
                 force: bool = False, progress: bool = True) -> list[tuple[Path, str]]:
    """Convert a file or every audio file under a folder (mirrored). Returns [(file, error)] failures.

    One bad file does not stop the others.
    """
    loaded.model.check_speaker(target)
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
    ckpt.refuse_to_overwrite(out_dir, force)
    failures = []
    for f in progress_bar(files, desc=f"convert → {target}", unit="file", disable=not progress or len(files) == 1):
        try:
            convert_file(loaded, f, target, out_dir, f.relative_to(root), vocoder)
        except VaeganError as exc:
            log.error("%s", exc)
            failures.append((f, str(exc)))
    return failures
