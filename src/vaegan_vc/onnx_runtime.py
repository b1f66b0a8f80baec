"""Run an ONNX export (see onnx_export.py) with onnxruntime: `--runtime onnx`, `load(…, runtime="onnx")`.

`OnnxVAEGAN` answers the calls conversion makes of a VAEGAN (`cfg`, `speakers`, `f0_stats`,
`check_speaker`, `convert`), so the rest of the pipeline (chunking, pitch mapping, loudness) is
the same code for both runtimes. PyTorch is still imported for the feature extraction.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import Tensor

from . import checkpoint as ckpt

from .io import check_format, read_json, verify_sha256
from .audio import denormalize
from .config import FeatureConfig
from .convert import LoadedModel
from .errors import VaeganError
from .onnx_export import ONNX_MANIFEST
from .vocoders import Vocoder


def _session(path: Path, digest: str):
    import onnxruntime as ort

    if not path.is_file():
        raise VaeganError(f"{path} is missing from the ONNX export")
    verify_sha256(path, digest)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def read_manifest(folder: Path) -> dict:
    if importlib.util.find_spec("onnxruntime") is None:
        raise VaeganError("the ONNX runtime needs onnxruntime: pip install 'vaegan-vc[onnx]'")
    path = folder / ONNX_MANIFEST
    if not path.is_file():
        raise VaeganError(f"{folder}: no ONNX export here ({ONNX_MANIFEST} missing); make one with `vaegan-vc export MODEL OUT --onnx`")
    manifest = read_json(path, "ONNX manifest")
    check_format(manifest, "onnx", path)
    return manifest


class OnnxVAEGAN:
    """The encoder and the exported generators as onnxruntime sessions."""

    def __init__(self, folder: Path, manifest: dict):
        config = ckpt.read_config(folder)
        self.cfg, self.features, stats = config.model, config.features, config.f0_stats
        self.speakers = list(manifest["speakers"])
        self.f0_stats = {s: stats[s] for s in self.speakers} if stats else None
        digests = manifest["sha256"]
        self.encoder = _session(folder / "encoder.onnx", digests["encoder.onnx"])
        self.generators = {s: _session(folder / f"generator_{s}.onnx", digests[f"generator_{s}.onnx"]) for s in self.speakers}

    def check_speaker(self, speaker: str) -> None:
        if speaker not in self.generators:
            raise VaeganError(f"unknown speaker '{speaker}' (this ONNX export has: {', '.join(self.speakers)})")

    def convert(self, mel: Tensor, target: str, f0: Tensor | None = None) -> Tensor:
        """As VAEGAN.convert: mel [1, n_mels, T] (+ F0 [1, T]) → [1, n_mels, T]."""
        self.check_speaker(target)
        h = self.encoder.run(None, {"mel": mel.float().cpu().numpy()})[0]
        f0_in = (f0 if f0 is not None else torch.zeros(mel.shape[0], mel.shape[-1])).float().cpu().numpy()
        inputs = {"h": h, "f0": f0_in} if self.cfg.pitch else {"h": h}
        return torch.from_numpy(self.generators[target].run(None, inputs)[0])


class OnnxHiFiGANVocoder(Vocoder):
    """HiFi-GAN's generator in onnxruntime: normalised features → ln-mel → waveform."""

    name = "hifigan-onnx"

    def __init__(self, session, features: FeatureConfig, context_frames: int):
        super().__init__(features)
        self.session = session
        self.context_frames = context_frames

    def _synthesize(self, feats: Tensor) -> Tensor:
        mel = denormalize(feats.float().cpu(), self.features).numpy()
        return torch.from_numpy(self.session.run(None, {"mel": mel})[0])


def load_onnx(path: Path | str) -> tuple[LoadedModel, Vocoder | None]:
    """An ONNX export folder → (a LoadedModel whose model is OnnxVAEGAN, its ONNX vocoder or None)."""
    folder = Path(path)
    manifest = read_manifest(folder)
    model = OnnxVAEGAN(folder, manifest)
    loaded = LoadedModel(model, model.features, model.speakers, folder)
    vocoder = None
    if manifest.get("vocoder"):
        session = _session(folder / "vocoder.onnx", manifest["sha256"]["vocoder.onnx"])
        vocoder = OnnxHiFiGANVocoder(session, model.features, int(manifest["vocoder"]["context_frames"]))
    return loaded, vocoder
