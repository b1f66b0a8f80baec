"""The fast, pitch-aware family: shapes, the F0 path, save/load, resume, old folders, bad input."""

import json
import math
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import tiny_config, vcc_file, write_tone
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.audio import load_audio, mel_features
from vaegan_vc.cli import main
from vaegan_vc.config import default_loss_weights, model_preset, train_defaults
from vaegan_vc.convert import PitchOptions, convert_features, load_model, source_f0, target_f0
from vaegan_vc.data.dataset import Dataset
from vaegan_vc.errors import VaeganError
from vaegan_vc.losses import Pitch, discriminator_losses, generator_losses
from vaegan_vc.models.vaegan import VAEGAN, Discriminators
from vaegan_vc.pitch import coarse_f0, extract_f0, log_f0_stats, map_f0, shift_f0
from vaegan_vc.train import FitOptions, fit

OPTS = FitOptions(device="cpu", progress=False, log_every=1, tensorboard=False)
STATS = {"log_mean": math.log(200.0), "log_std": 0.2}


def fast_config(**kw):
    """Tiny steps and crops, the fast family's loss weights, weight average and CPU precision."""
    kw.setdefault("ema_decay", train_defaults("fast").ema_decay)
    kw.setdefault("cpu_bf16", train_defaults("fast").cpu_bf16)
    return tiny_config(loss_weights=default_loss_weights("fast"), **kw)


@pytest.fixture(scope="module")
def fast_run(dataset_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "fast"
    fit(dataset_dir, run, "fast-tiny", fast_config(), options=OPTS)
    return run


def _contour(frames: int = 200) -> torch.Tensor:
    """A gliding F0 around 120 Hz with unvoiced gaps: [frames] Hz."""
    t = torch.arange(frames, dtype=torch.float64)
    f0 = 120 * torch.exp(0.15 * torch.sin(t / 9)) * (1 + 0.02 * torch.cos(t / 2))
    f0[::7] = 0
    f0[50:60] = 0
    return f0.float()


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("speakers", [["a", "b"], ["a", "b", "c"]])
@pytest.mark.parametrize("name", ["fast-tiny", "fast", "fast-nopitch", "fast-bottleneck", "fast-k3"])
def test_shapes(speakers, name):
    cfg = model_preset(name, 80)
    model = VAEGAN(cfg, speakers, {s: STATS for s in speakers} if cfg.pitch else None)
    discs = Discriminators(cfg, speakers)
    x = torch.rand(3, 80, 32)
    mu = model.encode(x)
    assert mu.shape == (3, cfg.latent_dim, 32 // cfg.time_stride)
    f0 = torch.full((3, 32), 150.0) if cfg.pitch else None
    for s in speakers:
        out = model.decode(mu, s, f0)
        assert out.shape == x.shape and 0 <= float(out.detach().min()) and float(out.detach().max()) <= 1
        assert discs(out, s).shape[:2] == (3, 1)
    pitch = Pitch(f0, f0, STATS, STATS) if cfg.pitch else None
    losses, out = generator_losses(model, discs, x, x, speakers[0], speakers[-1], torch.Generator().manual_seed(0),
                                   pitch, default_loss_weights("fast"))
    assert set(losses) == {"gan", "kl", "recon", "cycle_kl", "cycle", "latent", "fm"}
    assert out.ab.shape == out.aba.shape == x.shape
    assert all(torch.isfinite(v) for v in losses.values())


def test_content_term_ties_the_translation_latent_to_the_source_latent():
    """`content` appears only with a positive weight, and its gradient reaches the generators
    (which made the translation)."""
    cfg = model_preset("fast-tiny", 80)
    model = VAEGAN(cfg, ["a", "b"], {"a": STATS, "b": STATS})
    discs = Discriminators(cfg, ["a", "b"])
    x_a, x_b, f0 = torch.rand(2, 80, 32), torch.rand(2, 80, 32), torch.full((2, 32), 150.0)
    pitch = Pitch(f0, f0, STATS, STATS)
    weights = {**default_loss_weights("fast"), "content": 10.0}
    losses, _ = generator_losses(model, discs, x_a, x_b, "a", "b", None, pitch, weights)
    assert float(losses["content"]) > 0
    losses["content"].backward()
    generator_grad = sum(p.grad.abs().sum() for p in model.generators.parameters() if p.grad is not None)
    assert float(generator_grad) > 0
    no_content, _ = generator_losses(model, discs, x_a, x_b, "a", "b", None, pitch, default_loss_weights("fast"))
    assert "content" not in no_content


def test_cycle_adversarial_term_judges_the_cycles():
    """`gan_cycle` appears only with a positive weight and trains the generators; the
    discriminators then count the cycles as fakes, half-weighted with the translations."""
    cfg = model_preset("fast-tiny", 80)
    model = VAEGAN(cfg, ["a", "b"], {"a": STATS, "b": STATS})
    discs = Discriminators(cfg, ["a", "b"])
    x_a, x_b, f0 = torch.rand(2, 80, 32), torch.rand(2, 80, 32), torch.full((2, 32), 150.0)
    pitch = Pitch(f0, f0, STATS, STATS)
    weights = {**default_loss_weights("fast"), "gan_cycle": 10.0}
    losses, out = generator_losses(model, discs, x_a, x_b, "a", "b", None, pitch, weights)
    losses["gan_cycle"].backward()
    assert float(sum(p.grad.abs().sum() for p in model.generators.parameters() if p.grad is not None)) > 0
    plain, _ = generator_losses(model, discs, x_a, x_b, "a", "b", None, pitch, default_loss_weights("fast"))
    assert "gan_cycle" not in plain
    with torch.no_grad():
        translations = discriminator_losses(discs, x_a, x_b, out.ab, out.ba, "a", "b")["disc_fake"]
        # fake_ab goes to D_b and fake_ba to D_a: so bab, then aba
        cycles_only = discriminator_losses(discs, x_a, x_b, out.bab, out.aba, "a", "b")["disc_fake"]
        both = discriminator_losses(discs, x_a, x_b, out.ab, out.ba, "a", "b", (out.aba, out.bab))["disc_fake"]
    assert torch.allclose(both, 0.5 * (translations + cycles_only))


def test_fast_latent_is_a_bottleneck():
    """μ of a 1.5 s crop: the seed keeps 131,072 values, more than the mel itself; fast-bottleneck 8 per frame."""
    seed, fast = (VAEGAN(model_preset(n, m), ["a", "b"], {"a": STATS, "b": STATS}) for n, m in (("seed", 128), ("fast-bottleneck", 80)))
    seed_mu = seed.encode(torch.rand(1, 128, 128)).numel()
    fast_mu = fast.encode(torch.rand(1, 80, 128)).numel()
    assert seed_mu == 131_072 and fast_mu <= 80 * 128 // 8


# ----------------------------------------------------------------------------- the F0 transform


def test_f0_mapping_takes_target_statistics_and_keeps_the_contour():
    f0 = _contour()
    source = log_f0_stats(f0.numpy())
    mapped = map_f0(f0, source, STATS)
    voiced = f0 > 0
    lf0 = torch.log(mapped[voiced]).double()
    assert float(lf0.mean()) == pytest.approx(STATS["log_mean"], abs=1e-4)
    assert float(lf0.std(unbiased=False)) == pytest.approx(STATS["log_std"], abs=1e-4)
    corr = np.corrcoef(f0[voiced].numpy(), mapped[voiced].numpy())[0, 1]
    assert corr > 0.99


def test_unvoiced_frames_stay_unvoiced():
    f0 = _contour()
    unvoiced = f0 == 0
    for out in (map_f0(f0, log_f0_stats(f0.numpy()), STATS), shift_f0(f0, 7)):
        assert bool((out[unvoiced] == 0).all()) and bool((out[~unvoiced] > 0).all())
    ids = coarse_f0(f0, 256)
    assert bool((ids[unvoiced] == 0).all()) and int(ids[~unvoiced].min()) >= 1 and int(ids.max()) <= 255


def test_pitch_shift_12_doubles_f0_in_the_conversion(fast_run, monkeypatch):
    loaded = load_model(fast_run)
    wav = load_audio(vcc_file("SF1", "100010"), loaded.features.sample_rate)
    feats, f0 = mel_features(wav, loaded.features), source_f0(loaded, wav)
    assert f0 is not None and float((f0 > 0).float().mean()) > 0.3  # real speech is mostly voiced
    seen = []
    real_convert = type(loaded.model).convert

    def spy(self, mel, target, f0=None):
        seen.append(f0.clone())
        return real_convert(self, mel, target, f0)

    monkeypatch.setattr(type(loaded.model), "convert", spy)
    plain = convert_features(loaded, feats, "TM1", f0)
    up = convert_features(loaded, feats, "TM1", f0, PitchOptions(shift=12))
    torch.testing.assert_close(seen[1], 2 * seen[0])
    assert not torch.equal(plain, up)  # the generator heard it
    assert torch.equal(target_f0(loaded, f0, "TM1", PitchOptions(mode="keep")), f0)


def test_auto_mode_moves_a_female_source_into_a_male_range(fast_run):
    loaded = load_model(fast_run)
    wav = load_audio(vcc_file("SF1", "100010"), loaded.features.sample_rate)
    f0 = source_f0(loaded, wav)
    out = target_f0(loaded, f0, "TM1", PitchOptions())
    voiced = f0 > 0
    assert float(torch.log(out[voiced]).mean()) == pytest.approx(loaded.model.f0_stats["TM1"]["log_mean"], abs=1e-3)
    assert float(out[voiced].mean()) < 0.75 * float(f0[voiced].mean())  # SF1 ~220 Hz → TM1 ~120 Hz


# ----------------------------------------------------------------------------- prepare, save, resume


def test_prepare_stores_f0_and_speaker_statistics(dataset_dir):
    ds = Dataset(dataset_dir)
    assert ds.has_f0
    u = ds.select("SF1", "train")[0]
    f0 = ds.f0(u)
    assert f0.shape == (u.frames,) and bool((f0 >= 0).all())
    again = extract_f0(ds.wav(u), ds.features)  # from the stored 16-bit audio: nearly the same track
    both = (f0.numpy() > 0) & (again > 0)
    assert np.mean((f0.numpy() > 0) == (again > 0)) > 0.95
    assert np.median(np.abs(f0.numpy()[both] - again[both])) < 1.0
    sf1, tm1 = ds.f0_stats("SF1"), ds.f0_stats("TM1")
    assert 150 < math.exp(sf1["log_mean"]) < 300 and 80 < math.exp(tm1["log_mean"]) < 160
    assert 0 < sf1["voiced"] < 1 and sf1["log_std"] > 0


def test_save_load_gives_identical_conversion(fast_run, tmp_path):
    loaded = load_model(fast_run)
    wav = load_audio(vcc_file("TM1", "100011"), loaded.features.sample_rate)
    feats, f0 = mel_features(wav, loaded.features), source_f0(loaded, wav)
    first = convert_features(loaded, feats, "SF1", f0)
    ckpt.save_model(tmp_path / "model", loaded.model, loaded.features)
    again = load_model(tmp_path / "model")
    assert again.model.f0_stats == loaded.model.f0_stats
    assert torch.equal(first, convert_features(again, feats, "SF1", f0))


def test_exact_resume(dataset_dir, tmp_path):
    cfg = fast_config(steps=6, checkpoint_every=3, keep_checkpoints=5)
    fit(dataset_dir, tmp_path / "straight", "fast-tiny", cfg, options=OPTS)
    shutil.copytree(tmp_path / "straight", tmp_path / "resumed")
    shutil.rmtree(tmp_path / "resumed" / "checkpoints" / "step_00000006")
    assert fit(dataset_dir, tmp_path / "resumed", "fast-tiny", cfg, options=OPTS).step == 6
    for name in (ckpt.MODEL_FILE, ckpt.STATE_FILE):
        a = ckpt.load_tensors(ckpt.list_checkpoints(tmp_path / "straight")[-1] / name, "a")
        b = ckpt.load_tensors(ckpt.list_checkpoints(tmp_path / "resumed")[-1] / name, "b")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_old_format_model_folder_still_converts(tiny_run, tmp_path):
    """A seed-family model written before the fast family existed: no family/pitch keys at all."""
    folder = tmp_path / "old"
    shutil.copytree(ckpt.list_checkpoints(tiny_run)[-1], folder)
    config = json.loads((folder / ckpt.CONFIG_FILE).read_text())
    old_keys = {"name", "n_mels", "channels", "encoder_res_blocks", "shared_res_blocks", "generator_res_blocks",
                "disc_channels", "disc_layers"}
    config["model"] = {k: v for k, v in config["model"].items() if k in old_keys}
    (folder / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    out = tmp_path / "out"
    assert main(["convert", str(folder), str(vcc_file("SF1", "100010")), "--target", "TM1", str(out)]) == 0
    assert (out / "gen" / "100010.wav").is_file()


# ----------------------------------------------------------------------------- bad input


def test_dataset_without_f0_says_how_to_reprepare(dataset_dir, tmp_path):
    old = tmp_path / "old_dataset"
    shutil.copytree(dataset_dir, old)
    shutil.rmtree(old / "f0")
    info = json.loads((old / "dataset.json").read_text())
    del info["f0"]
    (old / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(VaeganError, match=r"no F0.*prepare it again"):
        fit(old, tmp_path / "run", "fast-tiny", fast_config(), options=OPTS)
    assert not (tmp_path / "run" / "checkpoints").exists()
    fit(old, tmp_path / "seed_run", "tiny", tiny_config(steps=2), options=OPTS)  # models without pitch still train


def test_nan_f0_is_refused(fast_run):
    loaded = load_model(fast_run)
    feats = torch.rand(loaded.features.n_mels, 40)
    f0 = torch.full((40,), 150.0)
    f0[5] = float("nan")
    with pytest.raises(VaeganError, match="NaN"):
        convert_features(loaded, feats, "TM1", f0)
    with pytest.raises(VaeganError, match="source F0"):
        convert_features(loaded, feats, "TM1", None)


def test_pitch_shift_outside_two_octaves_is_refused(fast_run, tmp_path, capsys):
    with pytest.raises(VaeganError, match="outside"):
        PitchOptions(shift=25)
    out = tmp_path / "out"
    code = main(["convert", str(fast_run), str(vcc_file("SF1", "100010")), "--target", "TM1", str(out), "--pitch-shift", "-30"])
    assert code == 1 and "outside ±24" in capsys.readouterr().err
    assert not out.exists()


def test_pitch_shift_on_a_model_without_pitch_is_refused(tiny_run, tmp_path, capsys):
    code = main(["convert", str(tiny_run), str(vcc_file("SF1", "100010")), "--target", "TM1", str(tmp_path / "o"), "--pitch-shift", "3"])
    assert code == 1 and "no pitch path" in capsys.readouterr().err


def test_all_unvoiced_utterance_converts(fast_run, tmp_path):
    rng = np.random.default_rng(0)
    sr = 16000
    noise = (0.1 * rng.standard_normal(2 * sr)).astype(np.float32)  # whisper-like: no F0 anywhere
    (tmp_path / "in").mkdir()
    sf.write(str(tmp_path / "in" / "noise.wav"), noise, sr)
    loaded = load_model(fast_run)
    assert float(source_f0(loaded, load_audio(tmp_path / "in" / "noise.wav", loaded.features.sample_rate)).max()) == 0
    write_tone(tmp_path / "in" / "tone.wav")  # and a voiced file in the same batch
    out = tmp_path / "out"
    assert main(["convert", str(fast_run), str(tmp_path / "in"), "--target", "SF1", str(out)]) == 0
    assert (out / "gen" / "noise.wav").is_file() and (out / "gen" / "tone.wav").is_file()
