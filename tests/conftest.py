"""Shared fixtures: a few real VCC2016 utterances, a tiny prepared dataset, a briefly trained tiny run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("OMP_NUM_THREADS", "2")

VCC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vcc2016"
UTTS = [f"1000{i:02d}" for i in range(1, 13)]


def vcc_file(speaker: str, utt: str) -> Path:
    path = VCC / speaker / f"{utt}.flac"
    assert path.is_file(), f"VCC2016 test data missing: {path} (expected ../shared/data/vcc2016 beside the checkout)"
    return path


@pytest.fixture(scope="session")
def vcc_src(tmp_path_factory) -> Path:
    """SRC_DIR with SF1 and TM1, 12 parallel utterances each (links to the shared copy)."""
    root = tmp_path_factory.mktemp("vcc_src")
    for spk in ("SF1", "TM1"):
        (root / spk).mkdir()
        for utt in UTTS:
            os.symlink(vcc_file(spk, utt), root / spk / f"{utt}.flac")
    return root


@pytest.fixture(scope="session")
def dataset_dir(vcc_src, tmp_path_factory) -> Path:
    from vaegan_vc.config import feature_preset
    from vaegan_vc.data.prepare import prepare

    out = tmp_path_factory.mktemp("ds") / "dataset"
    prepare(vcc_src, out, feature_preset("seed"), workers=1, val_fraction=0.2, test_fraction=0.2, progress=False)
    return out


def tiny_config(**kw):
    from vaegan_vc.config import TrainConfig

    base = dict(steps=4, batch_size=2, crop_frames=32, checkpoint_every=2, keep_checkpoints=2, val_crops=2)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def tiny_run(dataset_dir, tmp_path_factory) -> Path:
    from vaegan_vc.train import FitOptions, fit

    run = tmp_path_factory.mktemp("runs") / "tiny"
    fit(dataset_dir, run, "tiny", tiny_config(), options=FitOptions(device="cpu", progress=False, log_every=1))
    return run


def write_tone(path: Path, seconds: float = 2.0, sr: int = 16000, channels: int = 1, subtype: str = "PCM_16") -> Path:
    """A voiced-like harmonic tone with a gentle envelope."""
    t = np.arange(int(seconds * sr)) / sr
    wav = sum(0.2 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    data = np.stack([wav] * channels, axis=1) if channels > 1 else wav
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sr, subtype=subtype)
    return path


def copy_speaker(src: Path, dst: Path, n: int) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for utt in UTTS[:n]:
        shutil.copy(vcc_file(src.name, utt), dst / f"{utt}.flac")
