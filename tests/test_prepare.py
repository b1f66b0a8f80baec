"""prepare: the dataset folder, the split by utterance id, and every kind of bad input."""

import json
import os

import numpy as np
import pytest
import soundfile as sf

from conftest import copy_speaker, vcc_file, write_tone
from vaegan_vc.config import feature_preset
from vaegan_vc.data.dataset import CropSampler, Dataset
from vaegan_vc.data.prepare import prepare, split_ids, summary_table
from vaegan_vc.errors import VaeganError

SEED = feature_preset("seed")


def _prep(src, out, **kw):
    return prepare(src, out, SEED, workers=1, progress=False, **kw)


def test_dataset_folder_is_self_describing(dataset_dir):
    info = json.loads((dataset_dir / "dataset.json").read_text())
    assert info["features"]["name"] == "seed" and set(info["speakers"]) == {"SF1", "TM1"}
    ds = Dataset(dataset_dir)
    assert ds.feature_array("SF1").dtype == np.float16 and ds.feature_array("SF1").shape[0] == 128
    assert isinstance(ds.feature_array("SF1"), np.memmap)
    u = ds.select("SF1", "train")[0]
    assert ds.mel(u).shape == (128, u.frames) and len(ds.wav(u)) == u.frames * SEED.hop_length
    # Parallel sentences land in the same split for every speaker.
    by_id = {}
    for u in ds.utterances:
        by_id.setdefault(u.utt_id, set()).add(u.split)
    assert all(len(s) == 1 for s in by_id.values())
    assert {u.split for u in ds.utterances} == {"train", "val", "test"}
    assert "SF1" in summary_table(info)


def test_split_is_seeded():
    ids = [f"u{i}" for i in range(50)]
    assert split_ids(ids, 0, 0.1, 0.1) == split_ids(list(reversed(ids)), 0, 0.1, 0.1)
    assert split_ids(ids, 0, 0.1, 0.1) != split_ids(ids, 1, 0.1, 0.1)
    counts = {s: list(split_ids(ids, 0, 0.1, 0.2).values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 35, "val": 5, "test": 10}


def test_crops_are_seeded_and_short_utterances_padded(dataset_dir):
    import torch

    ds = Dataset(dataset_dir)
    sampler = CropSampler(ds, ["SF1", "TM1"], 64, torch.device("cpu"))
    a = sampler.sample("SF1", 8, torch.Generator().manual_seed(0))
    b = sampler.sample("SF1", 8, torch.Generator().manual_seed(0))
    assert a.shape == (8, 128, 64) and torch.equal(a, b)
    long_sampler = CropSampler(ds, ["SF1"], 4000, torch.device("cpu"))  # longer than any utterance
    crops = long_sampler.sample("SF1", 2, torch.Generator().manual_seed(0))
    assert crops.shape == (2, 128, 4000) and float(crops[:, :, -1].abs().sum()) == 0


def test_bad_files_are_skipped_and_listed(tmp_path):
    src = tmp_path / "src"
    copy_speaker(src / "SF1", src / "SF1", 3)
    copy_speaker(src / "TM1", src / "TM1", 3)
    (src / "SF1" / "zero.wav").write_bytes(b"")
    (src / "SF1" / "fake.mp3").write_bytes(b"ID3 not really an mp3" * 20)
    good = vcc_file("TM1", "100004").read_bytes()
    (src / "TM1" / "truncated.flac").write_bytes(good[: len(good) // 50])
    sf.write(str(src / "TM1" / "silence.wav"), np.zeros(16000), 16000)
    sf.write(str(src / "TM1" / "click.wav"), np.r_[np.zeros(8000), 0.5 * np.ones(200), np.zeros(8000)], 16000)
    write_tone(src / "SF1" / "stereo44k.wav", 2.0, sr=44100, channels=2)
    write_tone(src / "SF1" / "eightbit.wav", 2.0, sr=11025, subtype="PCM_U8")
    write_tone(src / "SF1" / "short.wav", 0.5)  # shorter than one 1.6 s training crop: kept
    info = _prep(src, tmp_path / "out")
    reasons = {s["file"]: s["reason"] for s in info["skipped"]}
    assert "empty file" in reasons[os.path.join("SF1", "zero.wav")]
    assert "not readable audio" in reasons[os.path.join("SF1", "fake.mp3")]
    assert os.path.join("TM1", "truncated.flac") in reasons
    assert "silent" in reasons[os.path.join("TM1", "silence.wav")]
    assert "too short" in reasons[os.path.join("TM1", "click.wav")]
    ids = {u.utt_id for u in Dataset(tmp_path / "out").utterances if u.speaker == "SF1"}
    assert {"stereo44k", "eightbit", "short"} <= ids
    assert "skipped 5 file(s)" in summary_table(info)


def test_folder_errors(tmp_path):
    with pytest.raises(VaeganError, match="nowhere: no such folder"):
        _prep(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VaeganError, match="no speaker sub-folders"):
        _prep(tmp_path / "empty", tmp_path / "out")
    src = tmp_path / "src"
    copy_speaker(src / "SF1", src / "SF1", 2)
    with pytest.raises(VaeganError, match="at least 2 speakers"):
        _prep(src, tmp_path / "out")
    (src / "TM1").mkdir()
    with pytest.raises(VaeganError, match="TM1.*no audio files"):
        _prep(src, tmp_path / "out")
    (src / "TM1" / "bad.wav").write_bytes(b"")
    with pytest.raises(VaeganError, match="TM1.*no usable audio"):
        _prep(src, tmp_path / "out")
    with pytest.raises(VaeganError, match="speaker\\(s\\) XX"):
        _prep(src, tmp_path / "out", speakers=["SF1", "XX"])
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_force(tmp_path, vcc_src):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(VaeganError, match="already exists; use --force"):
        _prep(vcc_src, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_unfinished_dataset_is_refused(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / ".ds.partial").mkdir()
    with pytest.raises(VaeganError, match="dataset.json missing.*unfinished"):
        Dataset(tmp_path / "ds")
