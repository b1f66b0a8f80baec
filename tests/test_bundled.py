"""Models bundled with the package: used by name, fp16 on disk and fp32 in memory, checksummed."""

import json

import pytest
import torch

from conftest import vcc_file
from vaegan_vc import bundled
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.io import sha256_file
from vaegan_vc.audio import load_audio, mel_features
from vaegan_vc.cli import main
from vaegan_vc.convert import convert_features, load_model
from vaegan_vc.errors import VaeganError


@pytest.fixture()
def fake_package(tiny_run, tmp_path, monkeypatch):
    """A pretrained/ folder with one bundled model 'demo' (the tiny run, exported in fp16)."""
    root = tmp_path / "pretrained"
    assert main(["export", str(tiny_run), str(root / "demo"), "--fp16"]) == 0
    files = [ckpt.MODEL_FILE, ckpt.CONFIG_FILE]
    entry = {"folder": "demo", "speakers": ["SF1", "TM1"], "features": "seed", "licence": "CC BY 4.0 (data)",
             "description": "test model", "sha256": {f: sha256_file(root / "demo" / f) for f in files}}
    (root / "registry.json").write_text(json.dumps({"demo": entry}))
    monkeypatch.setattr(bundled, "PRETRAINED_DIR", root)
    return root


def test_a_bundled_model_converts_by_name(fake_package, tiny_run, capsys):
    stored = ckpt.load_tensors(fake_package / "demo" / ckpt.MODEL_FILE, "m")
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    demo, full = load_model("demo"), load_model(tiny_run)
    assert demo.speakers == ["SF1", "TM1"] and next(demo.model.parameters()).dtype == torch.float32
    feats = mel_features(load_audio(vcc_file("SF1", "100010"), 16000), demo.features)
    torch.testing.assert_close(convert_features(demo, feats, "TM1"), convert_features(full, feats, "TM1"), atol=2e-2, rtol=0)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "SF1,TM1" in out and "CC BY 4.0" in out


def test_unknown_names_list_the_bundled_models(fake_package, capsys):
    with pytest.raises(VaeganError, match=r"'nosuch' is neither .* \(bundled: demo\)"):
        load_model("nosuch")
    assert main(["convert", "nosuch", str(vcc_file("SF1", "100010")), "--target", "TM1", "out"]) == 1
    assert "bundled: demo" in capsys.readouterr().err


def test_an_altered_bundled_model_is_refused(fake_package):
    config = json.loads((fake_package / "demo" / ckpt.CONFIG_FILE).read_text())
    config["speakers"] = ["TM1", "SF1"]  # swapped voices: a valid file, but not the shipped one
    (fake_package / "demo" / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(VaeganError, match="config.json: checksum mismatch"):
        load_model("demo")


def test_no_bundled_models_is_said_plainly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bundled, "PRETRAINED_DIR", tmp_path / "empty")
    assert main(["models"]) == 0 and "no bundled models" in capsys.readouterr().out
    with pytest.raises(VaeganError, match="none in this installation"):
        load_model("vcc2016")


def test_listening_page_has_every_source_in_every_voice(tiny_run, tmp_path):
    import soundfile as sf

    from vaegan_vc.listening import EXAMPLES_DIR

    out = tmp_path / "page"
    assert main(["demo", str(tiny_run), str(out), "--vocoder", "griffin-lim"]) == 0
    page = (out / "index.html").read_text()
    examples = sorted(EXAMPLES_DIR.glob("*.flac"))
    assert len(examples) == 4 and page.count("<audio") == len(examples) * 3  # original + 2 voices
    assert "CC BY 4.0" in page
    for src in examples:
        original = sf.info(str(src)).duration
        for voice in ("SF1", "TM1"):
            info = sf.info(str(out / f"{src.stem}_to_{voice}.wav"))
            assert info.samplerate == 16000 and abs(info.duration - original) < 0.05  # a real file of the right length


SHIPPED_SPEAKERS = {"vcc2016-4": ["SF1", "TM1", "SM1", "TF1"],
                    "vcc2016": ["SF1", "SF2", "SF3", "SM1", "SM2", "TF1", "TF2", "TM1", "TM2", "TM3"]}


@pytest.mark.parametrize("name", sorted(bundled.registry()))
def test_a_shipped_model_loads_and_matches_its_card(name):
    shipped = bundled.registry()[name]
    loaded = load_model(name)  # checks every file's sha256 first
    card = (shipped.folder / "MODEL_CARD.md").read_text()
    assert loaded.speakers == list(shipped.speakers) == SHIPPED_SPEAKERS[name]
    assert loaded.features.name == shipped.features == "hifigan" and loaded.model.cfg.pitch
    assert loaded.model.cfg.name == "fast" and "`fast` family" in card
    assert "CC BY 4.0" in card and all(s in card for s in loaded.speakers) and "`hifigan` preset" in card
    assert "Intended use" in card and "Limitations" in card and "no conversion" in card and "vocoder only" in card
    assert shipped.size_bytes <= 25 * 2**20
    assert all(v.dtype == torch.float16 for v in ckpt.load_tensors(shipped.folder / ckpt.MODEL_FILE, "m").values()
               if v.is_floating_point())
