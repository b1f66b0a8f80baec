"""ONNX export and runtime: the same conversion as PyTorch, from files onnxruntime runs alone."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import vaegan_vc
from conftest import vcc_file
from vaegan_vc.audio import load_audio, mel_features
from vaegan_vc.cli import main
from vaegan_vc.convert import convert_features, load_model, source_f0
from vaegan_vc.errors import VaeganError

pytestmark = pytest.mark.slow
MODEL = "vcc2016-4"


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "export"
    assert main(["export", MODEL, str(out), "--onnx", "--speakers", "TM1,TF1"]) == 0
    return out


@pytest.fixture(scope="module")
def utterance():
    loaded = load_model(MODEL)
    wav = load_audio(vcc_file("SF1", "100003"), loaded.features.sample_rate)
    return wav, mel_features(wav, loaded.features), source_f0(loaded, wav)


def test_export_holds_the_chosen_generators_and_the_vocoder(onnx_dir):
    names = sorted(p.name for p in onnx_dir.iterdir())
    assert names == ["config.json", "encoder.onnx", "generator_TF1.onnx", "generator_TM1.onnx", "onnx.json", "vocoder.onnx"]


def test_features_match_pytorch_within_1e_3(onnx_dir, utterance):
    from vaegan_vc.onnx_runtime import load_onnx

    wav, feats, f0 = utterance
    torch_out = convert_features(load_model(MODEL), feats, "TM1", f0)
    onnx_loaded, _ = load_onnx(onnx_dir)
    onnx_out = convert_features(onnx_loaded, feats, "TM1", f0)
    assert onnx_out.shape == torch_out.shape
    assert (onnx_out - torch_out).abs().max() < 1e-3


def test_audio_matches_pytorch_closely(onnx_dir):
    wav, sr = sf.read(str(vcc_file("TM1", "100004")), dtype="float32")
    reference, _ = vaegan_vc.load(MODEL, vocoder="hifigan").convert(wav, sr, target="TF1")
    onnx_vc = vaegan_vc.load(onnx_dir, runtime="onnx")
    assert onnx_vc.vocoder.name == "hifigan-onnx" and onnx_vc.speakers == ["TM1", "TF1"]
    out, _ = onnx_vc.convert(wav, sr, target="TF1")
    assert len(out) == len(reference)
    assert np.abs(out - reference).max() < 1e-2 and np.corrcoef(out, reference)[0, 1] > 0.9999


def test_cli_runtime_onnx(onnx_dir, tmp_path):
    src = vcc_file("SF1", "100003")
    assert main(["convert", str(onnx_dir), str(src), "--target", "TM1", str(tmp_path / "o"), "--runtime", "onnx"]) == 0
    out, sr = sf.read(str(tmp_path / "o" / "gen" / "100003.wav"))
    assert sr == 22050 and abs(len(out) / sr - sf.info(str(src)).duration) < 0.02


def test_unexported_voice_and_altered_file_are_refused(onnx_dir, tmp_path):
    with pytest.raises(VaeganError, match="this ONNX export has: TM1, TF1"):
        vaegan_vc.load(onnx_dir, runtime="onnx").convert(np.random.default_rng(0).normal(0, .1, 22050), 22050, "SF1")
    altered = tmp_path / "altered"
    altered.mkdir()
    for f in onnx_dir.iterdir():
        (altered / f.name).write_bytes(f.read_bytes())
    data = bytearray((altered / "generator_TM1.onnx").read_bytes())
    data[-100] ^= 0xFF
    (altered / "generator_TM1.onnx").write_bytes(bytes(data))
    with pytest.raises(VaeganError, match="sha256"):
        vaegan_vc.load(altered, runtime="onnx")


def test_a_model_folder_is_not_an_onnx_export(tmp_path):
    with pytest.raises(VaeganError, match="export MODEL OUT --onnx"):
        vaegan_vc.load(tmp_path, runtime="onnx")
    with pytest.raises(VaeganError, match="unknown runtime"):
        vaegan_vc.load(MODEL, runtime="tflite")
