"""The command line end to end: prepare → train (tiny, a few steps) → resume → convert → export."""

import json
import subprocess
import sys

import pytest

from conftest import vcc_file
from vaegan_vc.cli import main

pytestmark = pytest.mark.slow


def run(*args):
    return subprocess.run([sys.executable, "-m", "vaegan_vc", *map(str, args)], capture_output=True, text=True, timeout=600)


def test_smoke_prepare_train_convert(vcc_src, tmp_path):
    ds, runs, out = tmp_path / "ds", tmp_path / "run", tmp_path / "out"
    r = run("prepare", vcc_src, ds, "--workers", "2", "--val-fraction", "0.2", "--test-fraction", "0.2")
    assert r.returncode == 0, r.stderr
    assert "SF1" in r.stdout and "skipped 0 file(s)" in r.stdout
    train = ["train", ds, runs, "--model", "tiny", "--batch-size", "2", "--crop-frames", "32", "--checkpoint-every", "2", "--device", "cpu"]
    r = run(*train, "--steps", "2")
    assert r.returncode == 0, r.stderr
    r = run(*train, "--steps", "4")  # same folder again: resumes and extends
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr and "trained to step 4" in r.stdout
    r = run("train", ds, runs, "--batch-size", "3")
    assert r.returncode == 1 and "other settings" in r.stderr

    test_ids = {json.loads(line)["utt_id"] for line in (ds / "manifest.jsonl").read_text().splitlines() if '"test"' in line}
    held_out = vcc_file("SF1", sorted(test_ids)[0])
    r = run("convert", runs, held_out, "--target", "TM1", out, "--device", "cpu")
    assert r.returncode == 0, r.stderr
    stem = held_out.stem
    assert (out / "gen" / f"{stem}.wav").is_file() and (out / "ref" / f"{stem}.wav").is_file() and (out / "plots" / f"{stem}.png").is_file()
    r = run("convert", runs, held_out, "--target", "XX", tmp_path / "o2")
    assert r.returncode == 1 and r.stderr.strip().endswith("(this model has: SF1, TM1)")
    r = run("export", runs, tmp_path / "model")
    assert r.returncode == 0 and (tmp_path / "model" / "model.safetensors").is_file()


def test_errors_are_one_line_with_nonzero_exit(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "missing"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing: no such folder" in err
    assert main(["convert", str(tmp_path / "nomodel"), str(tmp_path), "--target", "A", str(tmp_path / "o")]) == 1
    assert "no such model or run folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "a", "b", "--features", "mystery"])
    assert exc.value.code == 2


def test_train_refuses_a_one_speaker_dataset(dataset_dir, tmp_path, capsys):
    assert main(["train", str(dataset_dir), str(tmp_path / "r"), "--speakers", "SF1", "--model", "tiny", "--steps", "1"]) == 1
    assert "at least 2 speakers" in capsys.readouterr().err


def test_hifigan_features_end_to_end(vcc_src, tmp_path):
    """prepare --features hifigan → train a pitch-aware fast model → convert --vocoder hifigan
    --pitch-shift (the universal V1 of the `hifigan` extra, which ./test.sh installs)."""
    ds, runs = tmp_path / "ds", tmp_path / "run"
    assert main(["prepare", str(vcc_src), str(ds), "--features", "hifigan", "--workers", "2", "--speakers", "SF1,TM1"]) == 0
    assert main(["train", str(ds), str(runs), "--model", "fast-tiny", "--steps", "2", "--batch-size", "2",
                 "--checkpoint-every", "2", "--device", "cpu", "--no-tensorboard"]) == 0
    train = json.loads((runs / "run.json").read_text())["train"]
    assert (train["crop_frames"], train["lr"], train["loss_weights"]["fm"]) == (64, 2e-4, 10.0)  # the fast family's defaults
    src = vcc_file("SF1", "100001")
    assert main(["convert", str(runs), str(src), "--target", "TM1", str(tmp_path / "out"), "--vocoder", "hifigan",
                 "--pitch-shift", "-2", "--pitch-mode", "keep", "--device", "cpu"]) == 0
    import soundfile as sf

    wav, sr = sf.read(str(tmp_path / "out" / "gen" / "100001.wav"))
    assert sr == 22050 and len(wav) > sr


def test_hifigan_vocoder_refuses_seed_features(tiny_run, tmp_path, capsys):
    src = vcc_file("SF1", "100001")
    assert main(["convert", str(tiny_run), str(src), "--target", "TM1", str(tmp_path / "o"), "--vocoder", "hifigan"]) == 1
    err = capsys.readouterr().err
    assert "'hifigan'" in err and "'seed'" in err and err.strip().count("\n") == 0
