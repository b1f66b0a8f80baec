"""The mel function, its presets, silence trimming, loudness and Griffin-Lim."""

import numpy as np
import pytest
import torch

from conftest import vcc_file, write_tone
from vaegan_vc.audio import (
    load_audio, magnitude_spectrogram, mel_features, mel_filterbank,
    normalize_loudness, trim_silence,
)
from vaegan_vc.vocoders.griffin_lim import features_to_linear, griffin_lim
from vaegan_vc.config import FEATURE_PRESETS, feature_preset
from vaegan_vc.errors import VaeganError
from vaegan_vc.vocoders import GriffinLimVocoder, load_vocoder, vocode_long


@pytest.mark.parametrize("name", ["seed", "hifigan"])
def test_mel_shape_range_and_chunking(name):
    cfg = feature_preset(name)
    wav = load_audio(vcc_file("SF1", "100001"), cfg.sample_rate)
    feats = mel_features(wav, cfg)
    assert feats.shape == (cfg.n_mels, len(wav) // cfg.hop_length)
    assert 0.0 <= float(feats.min()) and float(feats.max()) <= 1.0
    assert float(feats.std()) > 0.1  # real speech, not a constant
    assert torch.allclose(mel_features(wav, cfg, chunk=37), feats, atol=1e-5)  # chunking changes nothing
    batch = mel_features(torch.stack([torch.as_tensor(wav)] * 2), cfg)
    assert batch.shape == (2, *feats.shape) and torch.allclose(batch[0], feats, atol=1e-5)


def test_presets_differ_and_compare():
    seed, hifi = FEATURE_PRESETS["seed"], FEATURE_PRESETS["hifigan"]
    assert (seed.sample_rate, seed.n_mels, seed.hop_length) == (16000, 128, 200)
    assert (hifi.sample_rate, hifi.n_mels, hifi.hop_length) == (22050, 80, 256)
    assert type(seed).from_dict(seed.to_dict()) == seed
    with pytest.raises(VaeganError, match="seed.*hifigan"):
        seed.check_compatible(hifi, "the model", "the vocoder")
    with pytest.raises(VaeganError, match="unknown feature preset"):
        feature_preset("nope")


def test_filterbank_is_cached_per_config_and_slaney():
    cfg = feature_preset("seed")
    fb = mel_filterbank(cfg)
    assert fb.shape == (128, 1025) and float(fb.min()) >= 0
    assert mel_filterbank(cfg) is fb
    assert mel_filterbank(feature_preset("hifigan")).shape == (80, 513)
    peaks = fb.argmax(dim=1)
    assert torch.all(peaks[1:] >= peaks[:-1])  # filters ordered by frequency


def test_nnls_inverse_is_nonnegative_and_close():
    cfg = feature_preset("seed")
    wav = torch.as_tensor(load_audio(vcc_file("TM1", "100002"), cfg.sample_rate))
    feats = mel_features(wav, cfg).unsqueeze(0)
    linear = features_to_linear(feats, cfg)
    assert float(linear.min()) >= 0
    # The estimate re-projects onto nearly the same mel.
    remel = mel_features(griffin_lim(linear, cfg, n_iter=8), cfg)
    assert remel.shape == feats.shape


def test_griffin_lim_copy_synthesis_keeps_the_mel():
    cfg = feature_preset("seed")
    wav = load_audio(vcc_file("SF1", "100003"), cfg.sample_rate)
    feats = mel_features(wav, cfg)
    vocoder = load_vocoder("griffin-lim", cfg)
    out = vocoder(feats.unsqueeze(0))[0]
    assert out.shape[0] == feats.shape[1] * cfg.hop_length
    err = (mel_features(out, cfg) - feats).abs().mean()
    assert float(err) < 0.03  # 3 dB mean error on the seed scale
    assert torch.equal(out, vocoder(feats.unsqueeze(0))[0])  # deterministic


def test_vocoder_rejects_bad_mels():
    cfg = feature_preset("seed")
    vocoder = GriffinLimVocoder(cfg)
    with pytest.raises(VaeganError, match="NaN"):
        vocoder(torch.full((1, 128, 10), float("nan")))
    with pytest.raises(VaeganError, match="empty"):
        vocoder(torch.zeros(1, 128, 0))
    with pytest.raises(VaeganError, match="expects features"):
        vocoder(torch.zeros(1, 80, 10))
    with pytest.raises(VaeganError, match="unknown vocoder"):
        load_vocoder("wavenet", cfg)


def test_vocode_long_matches_length_and_has_no_gap():
    cfg = feature_preset("seed")
    wav = load_audio(vcc_file("SF1", "100004"), cfg.sample_rate)
    feats = mel_features(wav, cfg)
    out = vocode_long(GriffinLimVocoder(cfg, n_iter=8), feats, chunk=64, overlap=16)
    assert out.shape[0] == feats.shape[1] * cfg.hop_length
    err = (mel_features(out, cfg) - feats).abs().mean()
    assert float(err) < 0.05


def test_trim_silence_and_pure_silence():
    sr = 16000
    tone = np.sin(2 * np.pi * 200 * np.arange(sr) / sr).astype(np.float32) * 0.5
    gap = np.zeros(2 * sr, dtype=np.float32)
    wav = np.concatenate([gap, tone, gap, tone, gap])
    out = trim_silence(wav, sr, max_pause=0.5)
    assert 2.4 * sr < len(out) < 2.7 * sr  # 2 s of tone + a 0.5 s pause + margins
    assert len(trim_silence(np.zeros(sr, dtype=np.float32), sr)) == 0


def test_loudness_normalisation_and_peak_limit():
    sr = 16000
    quiet = (np.random.default_rng(0).standard_normal(2 * sr) * 0.001).astype(np.float32)
    out = normalize_loudness(quiet, sr)
    assert np.abs(out).max() <= 0.99 + 1e-6
    assert np.sqrt(np.mean(out**2)) > 10 * np.sqrt(np.mean(quiet**2))


def test_load_stereo_44k_and_8bit(tmp_path):
    stereo = write_tone(tmp_path / "s.wav", 1.0, sr=44100, channels=2)
    wav = load_audio(stereo, 16000)
    assert wav.ndim == 1 and abs(len(wav) - 16000) <= 1
    u8 = write_tone(tmp_path / "u8.wav", 1.0, sr=8000, subtype="PCM_U8")
    wav8 = load_audio(u8, 16000)
    assert abs(len(wav8) - 16000) <= 2 and np.abs(wav8).max() > 0.1


def test_load_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(VaeganError, match="empty.wav: empty file"):
        load_audio(empty, 16000)
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(VaeganError, match="junk.flac: not readable audio"):
        load_audio(junk, 16000)
    good = write_tone(tmp_path / "cut.wav", 1.0)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(data[:30])
    with pytest.raises(VaeganError, match="truncated.wav"):
        load_audio(truncated, 16000)


def test_magnitude_frames_equal_samples_over_hop():
    cfg = feature_preset("hifigan")
    mag = magnitude_spectrogram(torch.randn(1, 256 * 50), cfg)
    assert mag.shape == (1, 513, 50)
