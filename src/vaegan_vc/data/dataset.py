"""Read a prepared dataset folder (memory-mapped) and draw random training crops from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..io import check_format, partial_path, read_json
from ..config import FeatureConfig
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


def _read_manifest(path: Path, speakers: set[str]) -> list[UtteranceRef]:
    """manifest.jsonl → UtteranceRefs; a damaged line is a one-line error naming the file and line."""
    fields = UtteranceRef.__dataclass_fields__
    refs = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise VaeganError(f"{path}: missing (the dataset folder is incomplete; prepare it again)") from None
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            ref = UtteranceRef(**{k: row[k] for k in fields})
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise VaeganError(f"{path}: line {number} is damaged ({type(exc).__name__}: {exc})") from None
        ints = (ref.offset, ref.frames, ref.audio_offset, ref.samples)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints) or ref.speaker not in speakers:
            raise VaeganError(f"{path}: line {number} has an unknown speaker or a bad offset/length")
        refs.append(ref)
    return refs


class Dataset:
    """A prepared dataset folder. Features stay memory-mapped: RAM does not grow with the corpus."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if not (self.folder / DATASET_FILE).is_file():
            hint = " (an unfinished prepare?)" if partial_path(self.folder).exists() else ""
            raise VaeganError(f"{self.folder}: not a dataset folder, {DATASET_FILE} missing{hint}")
        path = self.folder / DATASET_FILE
        self.info = read_json(path, "dataset description")
        if not isinstance(self.info, dict):
            raise VaeganError(f"{path}: not a dataset description (expected a JSON object)")
        check_format(self.info, "dataset", path)
        if not isinstance(self.info.get("features"), dict) or not isinstance(self.info.get("speakers"), dict):
            raise VaeganError(f"{path}: damaged dataset description ('features' and 'speakers' must be objects)")
        try:
            self.features = FeatureConfig.from_dict(self.info["features"])
        except VaeganError as exc:
            raise VaeganError(f"{path}: {exc}") from None
        self.speakers: list[str] = list(self.info["speakers"])
        self.utterances = _read_manifest(self.folder / MANIFEST_FILE, set(self.speakers))
        self._feats: dict[str, np.ndarray] = {}
        self._f0: dict[str, np.ndarray] = {}
        self._audio: dict[str, np.ndarray] = {}

    @property
    def has_f0(self) -> bool:
        """Datasets prepared before F0 extraction existed have no f0/ folder."""
        return "f0" in self.info and all((self.folder / "f0" / f"{s}.npy").is_file() for s in self.speakers)

    def require_f0(self, why: str) -> None:
        if not self.has_f0:
            raise VaeganError(
                f"{self.folder}: this dataset has no F0, which {why} needs; prepare it again with this "
                f"version (vaegan-vc prepare SRC_DIR OUT_DIR --features {self.features.name} --force)"
            )

    def f0_stats(self, speaker: str) -> dict[str, float]:
        """The speaker's ln-F0 mean/std over its train split, as written by prepare."""
        return dict(self.info["speakers"][speaker]["f0"])

    def check_speakers(self, speakers: list[str]) -> None:
        unknown = [s for s in speakers if s not in self.speakers]
        if unknown:
            raise VaeganError(f"{self.folder}: unknown speaker(s) {', '.join(unknown)} (have: {', '.join(self.speakers)})")

    def select(self, speaker: str, split: str) -> list[UtteranceRef]:
        return [u for u in self.utterances if u.speaker == speaker and u.split == split]

    def feature_array(self, speaker: str) -> np.ndarray:
        """The speaker's memory-mapped features, float16 [n_mels, total_frames]."""
        if speaker not in self._feats:
            self._feats[speaker] = self._load_array("features", speaker, (self.features.n_mels,))
        return self._feats[speaker]

    def _load_array(self, kind: str, speaker: str, leading: tuple[int, ...]) -> np.ndarray:
        """features/, f0/ or audio/<speaker>.npy, memory-mapped and checked against the manifest."""
        path = self.folder / kind / f"{speaker}.npy"
        try:
            array = np.load(path, mmap_mode="r")
        except FileNotFoundError:
            raise VaeganError(f"{path}: missing (the dataset folder is incomplete; prepare it again)") from None
        except (ValueError, OSError) as exc:
            raise VaeganError(f"{path}: damaged array ({exc}); prepare the dataset again") from None
        utts = [u for u in self.utterances if u.speaker == speaker]
        needed = max((u.audio_offset + u.samples if kind == "audio" else u.offset + u.frames for u in utts), default=0)
        if array.ndim != len(leading) + 1 or array.shape[:-1] != leading or array.shape[-1] < needed:
            raise VaeganError(f"{path}: shape {list(array.shape)} does not match the manifest "
                              f"(expected {[*leading, needed]}); prepare the dataset again")
        return array

    def f0_array(self, speaker: str) -> np.ndarray:
        """The speaker's memory-mapped F0, float32 Hz [total_frames], aligned with the features."""
        if speaker not in self._f0:
            self._f0[speaker] = self._load_array("f0", speaker, ())
        return self._f0[speaker]

    def f0(self, u: UtteranceRef) -> Tensor:
        """One utterance's F0, float32 Hz [frames] (0 = unvoiced)."""
        return torch.from_numpy(np.array(self.f0_array(u.speaker)[u.offset : u.offset + u.frames], dtype=np.float32))

    def audio_array(self, speaker: str) -> np.ndarray:
        """The speaker's memory-mapped cleaned audio, int16 [total_samples]."""
        if speaker not in self._audio:
            self._audio[speaker] = self._load_array("audio", speaker, ())
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
    than the crop is padded with silence (feature value 0, F0 0) instead of being dropped.
    With `with_f0`, each crop comes with its F0 frames. On CUDA the features are uploaded once
    and crops are gathered on the device, so the GPU never waits on a data loader.
    """

    def __init__(self, dataset: Dataset, speakers: list[str], crop: int, device: torch.device, split: str = "train",
                 with_f0: bool = False):
        self.crop = crop
        self.device = device
        self.on_device = device.type != "cpu"
        self.with_f0 = with_f0
        self.tables: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        self.arrays: dict[str, np.ndarray | Tensor] = {}
        self.f0_arrays: dict[str, np.ndarray | Tensor] = {}
        for s in speakers:
            utts = dataset.select(s, split)
            if not utts:
                raise VaeganError(f"{dataset.folder}: speaker '{s}' has no '{split}' utterances")
            offsets = torch.tensor([u.offset for u in utts])
            frames = torch.tensor([u.frames for u in utts])
            weights = (frames - crop + 1).clamp(min=1).double()
            self.tables[s] = (offsets, frames, weights)
            self.arrays[s] = self._place(dataset.feature_array(s))
            if with_f0:
                self.f0_arrays[s] = self._place(dataset.f0_array(s)[None, :])

    def _place(self, array: np.ndarray) -> np.ndarray | Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device) if self.on_device else array

    def sample(self, speaker: str, batch: int, generator: torch.Generator) -> Tensor:
        """`batch` random crops of `speaker`: float32 [batch, n_mels, crop] on the sampler's device."""
        return self.sample_with_f0(speaker, batch, generator)[0]

    def sample_with_f0(self, speaker: str, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """Crops [batch, n_mels, crop] and, with `with_f0`, their F0 [batch, crop] (else None)."""
        offsets, frames, weights = self.tables[speaker]
        u = torch.multinomial(weights, batch, replacement=True, generator=generator)
        n_starts = (frames[u] - self.crop + 1).clamp(min=1)
        start = offsets[u] + (torch.rand(batch, generator=generator, dtype=torch.float64) * n_starts).long()
        end = offsets[u] + frames[u]
        mel = self._gather(self.arrays[speaker], start, end)
        f0 = self._gather(self.f0_arrays[speaker], start, end)[:, 0] if self.with_f0 else None
        return mel, f0

    def _gather(self, array: np.ndarray | Tensor, start: Tensor, end: Tensor) -> Tensor:
        """Crops of `array` [C, total] at `start` (zero past `end`): float32 [B, C, crop]."""
        batch = len(start)
        if self.on_device:
            pos = torch.arange(self.crop)
            valid = (start[:, None] + pos[None, :]) < end[:, None]  # [B, crop]
            idx = torch.minimum(start[:, None] + pos[None, :], end[:, None] - 1)  # [B, crop]
            crops = array[:, idx.to(self.device)].float()  # [C, B, crop]
            return (crops * valid.to(self.device)[None]).permute(1, 0, 2).contiguous()
        # One slice per crop straight from the memory map into a zeroed batch (the zeros pad
        # utterances shorter than the crop), widened to float32 by torch in one pass: numpy's
        # float16 → float32 cast and per-crop masking cost more than the copy itself.
        crops = np.zeros((batch, array.shape[0], self.crop), dtype=array.dtype)  # [B, C, crop]
        for b, (first, stop) in enumerate(zip(start.tolist(), end.tolist())):
            n = min(self.crop, stop - first)
            crops[b, :, :n] = array[:, first : first + n]
        return torch.from_numpy(crops).float()
