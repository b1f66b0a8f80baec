"""Model files: save → load → identical conversion; safety checks; converting files and folders."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import vcc_file
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.io import sha256_file
from vaegan_vc.audio import load_audio, mel_features
from vaegan_vc.config import feature_preset
from vaegan_vc.convert import convert_features, convert_path, convert_wav, load_model
from vaegan_vc.errors import VaeganError
from vaegan_vc.vocoders import GriffinLimVocoder, load_vocoder


def test_save_load_gives_identical_conversion(tiny_run, tmp_path):
    loaded = load_model(tiny_run)
    assert loaded.speakers == ["SF1", "TM1"] and loaded.path.name == "step_00000004"
    wav = load_audio(vcc_file("SF1", "100010"), 16000)
    feats = mel_features(wav, loaded.features)
    first = convert_features(loaded, feats, "TM1")
    export = tmp_path / "model"
    ckpt.save_model(export, loaded.model, loaded.features)
    again = convert_features(load_model(export), feats, "TM1")
    assert torch.equal(first, again)
    assert not torch.allclose(first, feats, atol=1e-2)  # it did something
    vocoder = GriffinLimVocoder(loaded.features, n_iter=4)
    assert np.array_equal(convert_wav(loaded, wav, "TM1", vocoder), convert_wav(loaded, wav, "TM1", vocoder))


def test_long_input_is_chunked_seamlessly(tiny_run):
    loaded = load_model(tiny_run)
    wav = np.concatenate([load_audio(vcc_file("SF1", f"1000{i:02d}"), 16000) for i in range(1, 7)])
    feats = mel_features(wav, loaded.features)  # ~20 s, > 1000 frames
    whole = convert_features(loaded, feats, "TM1", chunk=100_000)
    chunked = convert_features(loaded, feats, "TM1", chunk=512, overlap=64)
    assert chunked.shape == whole.shape
    # InstanceNorm statistics differ per chunk, so not bit-equal, but close everywhere.
    assert float((chunked - whole).abs().mean()) < 0.05


def test_model_errors(tiny_run, tmp_path):
    with pytest.raises(VaeganError, match="no such model or run folder"):
        load_model(tmp_path / "nothing")
    bad = tmp_path / "corrupt"
    shutil.copytree(ckpt.list_checkpoints(tiny_run)[-1], bad)
    data = (bad / ckpt.MODEL_FILE).read_bytes()
    (bad / ckpt.MODEL_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(VaeganError, match="corrupt/model.safetensors: checksum mismatch"):
        load_model(bad)
    config = json.loads((bad / ckpt.CONFIG_FILE).read_text())
    del config["weights_sha256"]  # a folder from before checksums were recorded
    (bad / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(VaeganError, match="corrupt/model.safetensors: corrupted model weights"):
        load_model(bad)
    (bad / ckpt.CONFIG_FILE).write_text("{not json")
    with pytest.raises(VaeganError, match="corrupted model config"):
        load_model(bad)
    (bad / ckpt.CONFIG_FILE).write_text(json.dumps({"kind": "something-else"}))
    with pytest.raises(VaeganError, match="not a vaegan-vc model config"):
        load_model(bad)


def test_wrong_keys_are_refused(tiny_run, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(ckpt.list_checkpoints(tiny_run)[-1], folder)
    tensors = ckpt.load_tensors(folder / ckpt.MODEL_FILE, "m")
    tensors["generators.XX.extra"] = torch.zeros(1)
    ckpt.save_tensors(folder / ckpt.MODEL_FILE, tensors)
    config = json.loads((folder / ckpt.CONFIG_FILE).read_text())
    config["weights_sha256"] = sha256_file(folder / ckpt.MODEL_FILE)  # an edit that re-signs the file
    (folder / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(VaeganError, match="do not match the model.*unexpected"):
        load_model(folder)


def test_vocoder_of_another_preset_is_refused(tiny_run):
    loaded = load_model(tiny_run)
    other = GriffinLimVocoder(feature_preset("hifigan"))
    with pytest.raises(VaeganError, match="features 'hifigan' but model .* uses 'seed'"):
        other.check_features(loaded.features, f"model {loaded.path}")


def test_convert_folder_mirrors_and_survives_bad_files(tiny_run, tmp_path):
    loaded = load_model(tiny_run)
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(vcc_file("SF1", "100011"), src / "a.flac")
    shutil.copy(vcc_file("SF1", "100012"), src / "sub" / "b.flac")
    (src / "broken.wav").write_bytes(b"")
    out = tmp_path / "out"
    vocoder = load_vocoder("griffin-lim", loaded.features)
    failures = convert_path(loaded, src, "TM1", out, vocoder, progress=False)
    assert [f.name for f, _ in failures] == ["broken.wav"]
    for rel in ("a", "sub/b"):
        for kind, ext in (("ref", "wav"), ("gen", "wav"), ("plots", "png")):
            assert (out / kind / f"{rel}.{ext}").is_file()
    gen, sr = sf.read(str(out / "gen" / "sub" / "b.wav"))
    assert sr == 16000 and np.abs(gen).max() > 0.01
    assert not list(out.rglob("*.partial"))
    with pytest.raises(VaeganError, match="already exists; use --force"):
        convert_path(loaded, src, "TM1", out, vocoder, progress=False)
    with pytest.raises(VaeganError, match="unknown speaker 'XX'"):
        convert_path(loaded, src, "XX", tmp_path / "o2", vocoder, progress=False)
    with pytest.raises(VaeganError, match="no audio files"):
        (tmp_path / "void").mkdir()
        convert_path(loaded, tmp_path / "void", "TM1", tmp_path / "o3", vocoder, progress=False)
