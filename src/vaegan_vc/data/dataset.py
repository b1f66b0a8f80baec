"""Read a prepared dataset folder (memory-mapped) and draw random training crops from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..checkpoint import read_json
from ..config import FORMAT_VERSION, FeatureConfig
from ..errors import VaeganError
from .prepare import DATASET_FILE, MANIFEST_FILE


@dataclass(frozen=True)
class UtteranceRef:
    speaker: str
    utt_id: str
    split: str
    offset: int
    frames: int
    audio_offset: int
    samples: int


class Dataset:
    """A prepared dataset folder. Features stay memory-mapped: RAM does not grow with the corpus."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if not (self.folder / DATASET_FILE).is_file():
            hint = " (an unfinished prepare?)" if self.folder.with_name(self.folder.name + ".partial").exists() else ""
            raise VaeganError(f"{self.folder}: not a dataset folder, {DATASET_FILE} missing{hint}")
        self.info = read_json(self.folder / DATASET_FILE, "dataset description")
        if self.info.get("format_version") != FORMAT_VERSION:
            raise VaeganError(f"{self.folder / DATASET_FILE}: dataset format {self.info.get('format_version')} (expected {FORMAT_VERSION})")
        self.features = FeatureConfig.from_dict(self.info["features"])
        self.speakers: list[str] = list(self.info["speakers"])
        with open(self.folder / MANIFEST_FILE) as f:
            self.utterances = [UtteranceRef(**{k: row[k] for k in UtteranceRef.__dataclass_fields__}) for row in map(json.loads, f)]
        self._feats: dict[str, np.ndarray] = {}
        self._audio: dict[str, np.ndarray] = {}

    def check_speakers(self, speakers: list[str]) -> None:
        unknown = [s for s in speakers if s not in self.speakers]
        if unknown:
            raise VaeganError(f"{self.folder}: unknown speaker(s) {', '.join(unknown)} (have: {', '.join(self.speakers)})")

    def select(self, speaker: str, split: str) -> list[UtteranceRef]:
        return [u for u in self.utterances if u.speaker == speaker and u.split == split]

    def feature_array(self, speaker: str) -> np.ndarray:
        """The speaker's memory-mapped features, float16 [n_mels, total_frames]."""
        if speaker not in self._feats:
            self._feats[speaker] = np.load(self.folder / "features" / f"{speaker}.npy", mmap_mode="r")
        return self._feats[speaker]

    def audio_array(self, speaker: str) -> np.ndarray:
        """The speaker's memory-mapped cleaned audio, int16 [total_samples]."""
        if speaker not in self._audio:
            self._audio[speaker] = np.load(self.folder / "audio" / f"{speaker}.npy", mmap_mode="r")
        return self._audio[speaker]

    def mel(self, u: UtteranceRef) -> Tensor:
        """One utterance's features, float32 [n_mels, frames]."""
        return torch.from_numpy(self.feature_array(u.speaker)[:, u.offset : u.offset + u.frames].astype(np.float32))

    def wav(self, u: UtteranceRef) -> np.ndarray:
        """One utterance's cleaned audio, float32 [samples] in [-1, 1]."""
        return self.audio_array(u.speaker)[u.audio_offset : u.audio_offset + u.samples].astype(np.float32) / 32768.0


class CropSampler:
    """Random fixed-length crops of one split, per speaker, from a seeded generator.

    Utterances are drawn in proportion to their number of possible crop positions; one shorter
    than the crop is padded with silence (feature value 0) instead of being dropped.
    On CUDA the features are uploaded once and crops are gathered on the device, so the GPU
    never waits on a data loader.
    """

    def __init__(self, dataset: Dataset, speakers: list[str], crop: int, device: torch.device, split: str = "train"):
        self.crop = crop
        self.device = device
        self.on_device = device.type != "cpu"
        self.tables: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        self.arrays: dict[str, np.ndarray | Tensor] = {}
        for s in speakers:
            utts = dataset.select(s, split)
            if not utts:
                raise VaeganError(f"{dataset.folder}: speaker '{s}' has no '{split}' utterances")
            offsets = torch.tensor([u.offset for u in utts])
            frames = torch.tensor([u.frames for u in utts])
            weights = (frames - crop + 1).clamp(min=1).double()
            self.tables[s] = (offsets, frames, weights)
            array = dataset.feature_array(s)
            self.arrays[s] = torch.from_numpy(np.ascontiguousarray(array)).to(device) if self.on_device else array

    def sample(self, speaker: str, batch: int, generator: torch.Generator) -> Tensor:
        """`batch` random crops of `speaker`: float32 [batch, n_mels, crop] on the sampler's device."""
        offsets, frames, weights = self.tables[speaker]
        u = torch.multinomial(weights, batch, replacement=True, generator=generator)
        n_starts = (frames[u] - self.crop + 1).clamp(min=1)
        start = offsets[u] + (torch.rand(batch, generator=generator, dtype=torch.float64) * n_starts).long()
        array = self.arrays[speaker]
        if self.on_device:
            pos = torch.arange(self.crop)
            valid = pos[None, :] < frames[u][:, None]  # [B, crop]
            last = (offsets[u] + frames[u] - 1)[:, None]
            idx = torch.minimum(start[:, None] + pos[None, :], last)  # [B, crop]
            crops = array[:, idx.to(self.device)].float()  # [n_mels, B, crop]
            return (crops * valid.to(self.device)[None]).permute(1, 0, 2).contiguous()
        # One slice per crop straight from the memory map into a zeroed float16 batch (the zeros
        # pad utterances shorter than the crop), widened to float32 by torch in one pass: numpy's
        # float16 → float32 cast and per-crop masking cost more than the copy itself.
        crops = np.zeros((batch, array.shape[0], self.crop), dtype=array.dtype)  # [B, n_mels, crop]
        for b, (first, end) in enumerate(zip(start.tolist(), (offsets[u] + frames[u]).tolist())):
            n = min(self.crop, end - first)
            crops[b, :, :n] = array[:, first : first + n]
        return torch.from_numpy(crops).float()
