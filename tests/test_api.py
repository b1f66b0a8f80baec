"""The Python API: load once, convert arrays or tensors at any rate, the same output as the CLI."""

import numpy as np
import pytest
import soundfile as sf
import torch

import vaegan_vc
from conftest import vcc_file
from vaegan_vc.audio import load_audio
from vaegan_vc.cli import main
from vaegan_vc.errors import VaeganError


@pytest.fixture(scope="module")
def vc(tiny_run):
    return vaegan_vc.load(tiny_run, vocoder="griffin-lim")


def test_api_matches_cli(vc, tiny_run, tmp_path):
    src = vcc_file("SF1", "100010")
    wav, sr = sf.read(str(src), dtype="float32")
    out, out_sr = vc.convert(wav, sr, target="TM1")
    assert vc.speakers == ["SF1", "TM1"] and out_sr == vc.sample_rate == 16000
    assert main(["convert", str(tiny_run), str(src), "--target", "TM1", str(tmp_path / "o")]) == 0
    cli, cli_sr = sf.read(str(tmp_path / "o" / "gen" / "100010.wav"), dtype="float32")
    assert cli_sr == out_sr and len(cli) == len(out)
    assert np.abs(cli - np.clip(out, -1, 1)).max() < 2 / 32768  # the CLI writes 16-bit PCM


def test_any_rate_stereo_and_tensors(vc):
    wav = load_audio(vcc_file("SF1", "100010"), 44100)
    mono, _ = vc.convert(wav, 44100, "TM1")
    stereo, _ = vc.convert(np.stack([wav, wav]), 44100, "TM1")
    tensor, _ = vc.convert(torch.from_numpy(np.stack([wav, wav], axis=1)), 44100, "TM1")
    assert len(mono) == pytest.approx(len(wav) * 16000 / 44100, abs=400)
    np.testing.assert_allclose(stereo, mono, atol=1e-5)
    np.testing.assert_allclose(tensor, mono, atol=1e-5)


@pytest.mark.parametrize("wav, sr, match", [
    (np.zeros(0, np.float32), 16000, "empty"),
    (np.full(16000, np.nan, np.float32), 16000, "NaN"),
    (np.zeros((5, 16000), np.float32), 16000, "5 channels"),
    (np.zeros(16000, np.float32), 0, "sample rate"),
    (np.zeros(16000, np.float32), -8000, "sample rate"),
])
def test_bad_input_is_a_vaegan_error(vc, wav, sr, match):
    with pytest.raises(VaeganError, match=match):
        vc.convert(wav, sr, "TM1")


def test_unknown_target_and_pitch_shift_without_pitch_path(vc):
    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    with pytest.raises(VaeganError, match=r"this model has: SF1, TM1"):
        vc.convert(wav, 16000, "XX")
    with pytest.raises(VaeganError, match="no pitch path"):
        vc.convert(wav, 16000, "TM1", pitch_shift=2)
