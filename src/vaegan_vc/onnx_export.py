"""`vaegan-vc export MODEL OUT --onnx`: the encoder, the chosen generators and the HiFi-GAN
generator as ONNX files, beside the model's own config.json, for onnxruntime (no PyTorch).

OUT/
    config.json            the model's config, unchanged (features, speakers, ln-F0 statistics)
    encoder.onnx           mel [1, n_mels, T] → shared-trunk output h [1, C, T]
    generator_<SPK>.onnx   h [1, C, T] (+ target F0, Hz [1, T]) → SPK's mel [1, n_mels, T]
    vocoder.onnx           HiFi-GAN: ln-mel [1, n_mels, T] → waveform [1, T · hop]   (hifigan features)
    onnx.json              what is there: speakers, opset, the vocoder's context, every file's sha256

Uses PyTorch's TorchScript-based exporter (`dynamo=False`): it needs no extra package and handles
every layer here; the dynamo exporter would add onnxscript for no gain at these sizes.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from . import checkpoint as ckpt

from .io import FORMAT_VERSIONS, atomic_path, copy_file_atomic, sha256_file, write_json
from .convert import LoadedModel
from .errors import VaeganError

log = logging.getLogger(__name__)

ONNX_MANIFEST = "onnx.json"
OPSET = 17


class EncoderGraph(nn.Module):
    """mel → μ → shared trunk: everything before the target speaker's generator."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, mel: Tensor) -> Tensor:
        return self.model.shared(self.model.encode(mel))


class GeneratorGraph(nn.Module):
    """One speaker's generator (with the shared pitch embedding when the model has one)."""

    def __init__(self, model, speaker: str):
        super().__init__()
        self.model, self.speaker = model, speaker

    def forward(self, h: Tensor, f0: Tensor) -> Tensor:
        return self.model.generate(h, self.speaker, f0 if self.model.cfg.pitch else None)


def _export(module: nn.Module, inputs: tuple[Tensor, ...], path: Path, names: list[str], dynamic: dict) -> None:
    """One module → one ONNX file, written atomically."""
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and training-mode notices
        torch.onnx.export(module.eval(), inputs, str(tmp), input_names=names[:-1], output_names=names[-1:],
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)


def export_onnx(loaded: LoadedModel, out_dir: Path, speakers: list[str] | None = None, vocoder=None) -> Path:
    """Write OUT_DIR as described above; `vocoder` (a HiFiGANVocoder) adds vocoder.onnx. Returns OUT_DIR."""
    model, cfg = loaded.model, loaded.model.cfg
    if cfg.family != "fast":
        raise VaeganError(f"ONNX export covers the 1-D 'fast' family; {loaded.path} is a '{cfg.family}' model")
    speakers = speakers or loaded.speakers
    for s in speakers:
        model.check_speaker(s)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = 64
    mel = torch.rand(1, cfg.n_mels, frames)
    _export(EncoderGraph(model), (mel,), out_dir / "encoder.onnx", ["mel", "h"], {"mel": {2: "T"}, "h": {2: "T"}})
    with torch.no_grad():
        h = EncoderGraph(model)(mel)
    f0 = torch.full((1, frames), 150.0)
    for s in speakers:
        _export(GeneratorGraph(model, s), (h, f0), out_dir / f"generator_{s}.onnx", ["h", "f0", "mel"],
                {"h": {2: "T"}, "f0": {1: "T"}, "mel": {2: "T"}})
    manifest = {"kind": "vaegan-vc-onnx", "format_version": FORMAT_VERSIONS["onnx"], "opset": OPSET,
                "speakers": speakers, "vocoder": None}
    if vocoder is not None:
        _export(vocoder.generator, (torch.randn(1, cfg.n_mels, frames) - 5,), out_dir / "vocoder.onnx", ["mel", "wav"],
                {"mel": {2: "T"}, "wav": {1: "N"}})
        manifest["vocoder"] = {"name": "hifigan", "context_frames": vocoder.context_frames,
                               "features": loaded.features.name}
    copy_file_atomic(loaded.path / ckpt.CONFIG_FILE, out_dir / ckpt.CONFIG_FILE)
    files = ["encoder.onnx", *(f"generator_{s}.onnx" for s in speakers)] + (["vocoder.onnx"] if vocoder else [])
    manifest["sha256"] = {f: sha256_file(out_dir / f) for f in files}
    write_json(out_dir / ONNX_MANIFEST, manifest)  # last: it marks a complete ONNX folder
    log.info("ONNX export: %s (%d generator(s)%s)", out_dir, len(speakers), ", vocoder" if vocoder else "")
    return out_dir
