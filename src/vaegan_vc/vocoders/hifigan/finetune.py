"""Fine-tuning a vocoder on a VAE-GAN's output: the model's reconstructions of the dataset's
utterances, computed once into RUN_DIR/finetune_mels/ and reused on resume, so that the vocoder
learns to undo that model's smoothing while its losses compare with the real audio."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...checkpoint import CONFIG_FILE, MODEL_FILE, read_config, resolve_model_dir
from ...data.dataset import Dataset, UtteranceRef
from ...errors import VaeganError
from ...io import atomic_path, read_json, sha256_file, write_json

if TYPE_CHECKING:
    from ...convert import LoadedModel

log = logging.getLogger(__name__)

# RUN_DIR/finetune_mels/<SPK>.npy: the VAE-GAN's reconstructions in the dataset's feature layout;
# source.json, written last, marks a complete set and names the VAE-GAN that made it.
FINETUNE_DIR = "finetune_mels"
FINETUNE_SOURCE = "source.json"
# Only the deterministic reconstructions of these splits are computed (others stay zero, never read).
FINETUNE_SPLITS = ("train", "val")


def vaegan_record(folder: Path) -> dict:
    """What identifies a VAE-GAN model folder: its path and the sha256 of its config and weights."""
    return {
        "vaegan_model": str(folder.resolve()),
        "config_sha256": sha256_file(folder / CONFIG_FILE),
        "weights_sha256": sha256_file(folder / MODEL_FILE),
    }


def check_finetune_model(path: str, dataset: Dataset) -> tuple[Path, list[str]]:
    """The VAE-GAN model folder named by `path` (model or run folder) and the dataset speakers it knows.

    Its features must be the dataset's. Speakers it does not know are left out of the run, with a
    log line: a vocoder matched to a VAE-GAN only ever vocodes that model's speakers.
    """
    folder = resolve_model_dir(Path(path))
    config = read_config(folder)
    features, model_speakers = config.features, config.speakers
    features.check_compatible(dataset.features, f"the VAE-GAN {folder}", f"dataset {dataset.folder}")
    known = [s for s in dataset.speakers if s in model_speakers]
    if not known:
        raise VaeganError(
            f"the VAE-GAN {folder} knows none of the speakers of dataset {dataset.folder} "
            f"(model: {', '.join(model_speakers)}; dataset: {', '.join(dataset.speakers)})"
        )
    unknown = [s for s in dataset.speakers if s not in model_speakers]
    if unknown:
        log.info("fine-tuning on %s only: the VAE-GAN %s does not know %s", ", ".join(known), folder, ", ".join(unknown))
    return folder, known


def reconstruct_speaker(loaded: LoadedModel, dataset: Dataset, speaker: str, utts: list[UtteranceRef]) -> np.ndarray:
    """`utts` of `speaker` encoded and decoded by the VAE-GAN as `speaker` itself (μ, no sampling).

    float16 [n_mels, total_frames] in the layout of the dataset's features; frames of other
    utterances stay 0. The VAE-GAN keeps the frame count, so the input stays aligned with the audio.
    """
    from ...convert import convert_features  # imports plotting: only when fine-tuning

    out = np.zeros(dataset.feature_array(speaker).shape, dtype=np.float16)
    for u in utts:
        mel_hat = convert_features(loaded, dataset.mel(u), speaker)  # [n_mels, frames]
        out[:, u.offset : u.offset + u.frames] = mel_hat.numpy().astype(np.float16)
    return out


def _save_npy(path: Path, array: np.ndarray) -> None:
    """np.save under a temp name, then rename: an interrupted run never leaves a truncated array."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def write_finetune_mels(
    run_dir: Path, dataset: Dataset, model_dir: Path, utts: list[UtteranceRef], device: str,
) -> dict:
    """Write RUN_DIR/finetune_mels/<SPK>.npy for the speakers of `utts`, then source.json; returns its record."""
    from ...convert import load_model

    loaded = load_model(model_dir, device)
    folder = run_dir / FINETUNE_DIR
    folder.mkdir(exist_ok=True)
    speakers = list(dict.fromkeys(u.speaker for u in utts))
    for speaker in speakers:
        mine = [u for u in utts if u.speaker == speaker]
        log.info("reconstructing %d utterances of %s with the VAE-GAN %s", len(mine), speaker, model_dir)
        _save_npy(folder / f"{speaker}.npy", reconstruct_speaker(loaded, dataset, speaker, mine))
    record = {**vaegan_record(model_dir), "speakers": speakers, "splits": list(FINETUNE_SPLITS)}
    write_json(folder / FINETUNE_SOURCE, record)
    return record


def _load_input_array(path: Path, dataset: Dataset, speaker: str) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise VaeganError(f"{path}: unreadable VAE-GAN reconstructions ({exc}); use --force to recompute") from None
    expected = dataset.feature_array(speaker).shape
    if array.shape != expected:
        raise VaeganError(
            f"{path}: shape {list(array.shape)}, but the dataset's features of {speaker} are {list(expected)}; "
            "use --force to recompute"
        )
    return array


def finetune_mels(
    run_dir: Path, dataset: Dataset, model_dir: Path, utts: list[UtteranceRef], device: str,
) -> tuple[dict[str, np.ndarray], dict]:
    """The VAE-GAN's reconstructions of `utts` (speaker → memory-mapped array) and who made them.

    Computed once per run. A resumed run reuses them, so its inputs stay the same even when the
    VAE-GAN run folder has moved on to a newer checkpoint (that is logged).
    """
    source = run_dir / FINETUNE_DIR / FINETUNE_SOURCE
    if source.is_file():
        record = read_json(source, "description of the VAE-GAN reconstructions")
        now = vaegan_record(model_dir)
        if {k: record.get(k) for k in now} != now:
            log.warning(
                "reusing the reconstructions made by %s (weights %s…); %s now differs; --force recomputes them",
                record.get("vaegan_model"), str(record.get("weights_sha256"))[:12], model_dir,
            )
        else:
            log.info("reusing the VAE-GAN reconstructions in %s", source.parent)
    else:
        record = write_finetune_mels(run_dir, dataset, model_dir, utts, device)
    speakers = dict.fromkeys(u.speaker for u in utts)
    mels = {s: _load_input_array(source.parent / f"{s}.npy", dataset, s) for s in speakers}
    return mels, record
