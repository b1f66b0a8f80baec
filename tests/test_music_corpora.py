"""NSynth and URMP fetchers on small archives built here with the official layouts."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import numpy as np
import pytest
import soundfile as sf

from vaegan_vc.cli import main
from vaegan_vc.data.corpora import fetch
from vaegan_vc.errors import VaeganError


def wav_bytes(freq: float, seconds: float = 0.5, sr: int = 16000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * freq * t), sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def nsynth_archive(tmp_path):
    """nsynth-test.jsonwav.tar.gz as published: examples.json, then audio/<note>.wav. One listed note
    has no audio, one audio file is not listed."""
    notes = {
        "brass_acoustic_046-060-100": ("brass", "acoustic", 60), "brass_acoustic_046-062-100": ("brass", "acoustic", 62),
        "string_acoustic_012-060-100": ("string", "acoustic", 60), "string_acoustic_012-062-100": ("string", "acoustic", 62),
        "reed_acoustic_023-060-100": ("reed", "acoustic", 60), "string_acoustic_012-064-100": ("string", "acoustic", 64),
    }
    examples = {name: {"note_str": name, "instrument_family_str": fam, "instrument_source_str": src, "pitch": pitch,
                       "velocity": 100, "sample_rate": 16000} for name, (fam, src, pitch) in notes.items()}
    path = tmp_path / "nsynth-test.jsonwav.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "nsynth-test/examples.json", json.dumps(examples).encode())
        for name, (_, _, pitch) in notes.items():
            if name != "string_acoustic_012-064-100":  # listed, no audio
                add(tar, f"nsynth-test/audio/{name}.wav", wav_bytes(440 * 2 ** ((pitch - 69) / 12)))
        add(tar, "nsynth-test/audio/brass_acoustic_099-070-100.wav", wav_bytes(466))  # audio, not listed
    return path


def test_nsynth_fetches_the_chosen_families_and_lists_the_mismatches(nsynth_archive, tmp_path):
    dest = fetch("nsynth", tmp_path / "ns", speakers=["brass", "string"], source=nsynth_archive, progress=False)
    assert sorted(p.name for p in (dest / "brass").iterdir()) == ["brass_acoustic_046-060-100.wav", "brass_acoustic_046-062-100.wav"]
    assert sorted(p.name for p in (dest / "string").iterdir()) == ["string_acoustic_012-060-100.wav", "string_acoustic_012-062-100.wav"]
    assert not (dest / "reed").exists()
    record = json.loads((dest / "corpus.json").read_text())
    assert record["corpus"] == "nsynth" and record["subset"] == "test" and record["files"] == 4
    assert record["speakers"]["brass"]["missing_audio"] == ["string_acoustic_012-064-100"]
    assert record["speakers"]["brass"]["unlisted_audio"] == ["brass_acoustic_099-070-100.wav"]


def test_nsynth_family_source_and_refusals(nsynth_archive, tmp_path):
    dest = fetch("nsynth", tmp_path / "a", speakers=["reed_acoustic", "brass"], source=nsynth_archive, progress=False)
    assert len(list((dest / "reed_acoustic").iterdir())) == 1
    with pytest.raises(VaeganError, match="unknown NSynth instrument group.*trumpet"):
        fetch("nsynth", tmp_path / "b", speakers=["trumpet"], source=nsynth_archive, progress=False)
    with pytest.raises(VaeganError, match="mallet not in nsynth"):
        fetch("nsynth", tmp_path / "c", speakers=["brass", "mallet"], source=nsynth_archive, progress=False)


@pytest.fixture
def urmp_zip(tmp_path):
    """URMP.zip's per-piece folders: AuMix, AuSep stems, F0s and Notes files."""
    path = tmp_path / "URMP.zip"
    with zipfile.ZipFile(path, "w") as z:
        for piece, codes in (("01_Jupiter", ("vn", "vc")), ("03_Dance", ("fl", "cl")), ("09_Jesus", ("tpt", "vn"))):
            folder = f"Dataset/{piece}_{'_'.join(codes)}"
            z.writestr(f"{folder}/AuMix_{piece}_{'_'.join(codes)}.wav", wav_bytes(220))
            for track, code in enumerate(codes, 1):
                z.writestr(f"{folder}/AuSep_{track}_{code}_{piece}.wav", wav_bytes(300 + 50 * track))
                z.writestr(f"{folder}/F0s_{track}_{code}_{piece}.txt", "0.0 0.0\n")
    return path


def test_urmp_fetches_stems_by_instrument(urmp_zip, tmp_path, capsys):
    assert main(["data", "fetch", "urmp", str(tmp_path / "u"), "--source", str(urmp_zip), "--instruments", "trumpet,violin"]) == 0
    dest = tmp_path / "u"
    assert sorted(p.name for p in (dest / "violin").iterdir()) == ["01_Jupiter_1.wav", "09_Jesus_2.wav"]
    assert sorted(p.name for p in (dest / "trumpet").iterdir()) == ["09_Jesus_1.wav"]
    assert not (dest / "cello").exists() and json.loads((dest / "corpus.json").read_text())["files"] == 3


def test_urmp_refusals(urmp_zip, tmp_path):
    with pytest.raises(VaeganError, match="request form.*--source"):
        fetch("urmp", tmp_path / "a", progress=False)
    with pytest.raises(VaeganError, match="unknown URMP instrument.*banjo"):
        fetch("urmp", tmp_path / "b", speakers=["banjo"], source=urmp_zip, progress=False)
    with pytest.raises(VaeganError, match="tuba not in urmp"):
        fetch("urmp", tmp_path / "c", speakers=["tuba"], source=urmp_zip, progress=False)
