"""Nothing lost: outputs never overlap inputs, --force never deletes another command's work,
numbers are checked before any work starts, a torn log line does not block a resume."""

import errno
import json
import shutil

import pytest

from conftest import copy_speaker, tiny_config, vcc_file
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.runs import run_lock
from vaegan_vc.cli import main
from vaegan_vc.train import FitOptions, fit

OPTS = FitOptions(device="cpu", progress=False, log_every=1, tensorboard=False)


@pytest.fixture()
def src(tmp_path):
    root = tmp_path / "parent" / "wavs"
    for spk in ("SF1", "TM1"):
        copy_speaker(vcc_file(spk, "100001").parent, root / spk, 3)
    (tmp_path / "parent" / "notes.txt").write_text("unrelated")
    return root


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("out", ["same", "parent", "inside"])
def test_prepare_force_never_deletes_its_input(src, out, capsys):
    before = _files(src.parent)
    target = {"same": src, "parent": src.parent, "inside": src / "SF1" / "ds"}[out]
    assert main(["prepare", str(src), str(target), "--force", "--workers", "1"]) == 1
    assert "choose an output folder apart from it" in capsys.readouterr().err
    assert _files(src.parent) == before


def test_convert_and_export_refuse_overlapping_outputs(tiny_run, src, capsys):
    assert main(["convert", str(tiny_run), str(src), "--target", "TM1", str(src / "out"), "--force"]) == 1
    assert "lies inside the input" in capsys.readouterr().err
    before = _files(tiny_run)
    assert main(["export", str(tiny_run), str(tiny_run), "--force"]) == 1
    assert _files(tiny_run) == before


def test_vocoder_force_never_deletes_a_vaegan_run(dataset_dir, tiny_run, tmp_path, capsys):
    run = tmp_path / "vaegan_run"
    shutil.copytree(tiny_run, run)
    before = _files(run)
    assert main(["vocoder", "train", str(dataset_dir), str(run), "--force", "--steps", "1", "--segment-size", "8000", "--config", "tiny"]) == 1
    assert "not a vocoder run" in capsys.readouterr().err
    assert _files(run) == before


@pytest.mark.parametrize("flags", [
    ["--keep-checkpoints", "-1"], ["--keep-checkpoints", "0"], ["--log-every", "0"], ["--steps", "-10"],
    ["--lr", "nan"], ["--lr", "0"], ["--gan-weight", "-1"], ["--batch-size", "two"],
])
def test_bad_training_numbers_are_refused_before_any_work(dataset_dir, tmp_path, flags, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", str(dataset_dir), str(tmp_path / "run"), "--model", "tiny", *flags])
    assert exc.value.code == 2 and flags[0] in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, message", [
    (["--val-fraction", "1.5"], "[0, 1)"), (["--val-fraction", "0.6", "--test-fraction", "0.5"], "nothing to train on"),
    (["--workers", "0"], "at least 1"),
])
def test_bad_prepare_numbers_are_refused(src, tmp_path, flags, message, capsys):
    try:
        code = main(["prepare", str(src), str(tmp_path / "ds"), *flags])
    except SystemExit as exc:
        code = exc.code
    assert code in (1, 2) and message in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_export_on_a_full_disk_leaves_no_truncated_model(tiny_run, tmp_path, monkeypatch, capsys):
    def full(src, dst, *a, **k):
        open(dst, "wb").write(b"trunc")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copy2", full)
    assert main(["export", str(tiny_run), str(tmp_path / "model")]) == 1
    assert "no space left on device" in capsys.readouterr().err
    assert not (tmp_path / "model" / ckpt.MODEL_FILE).exists()
    assert not list((tmp_path / "model").glob("*.partial"))


def test_torn_metrics_line_does_not_block_resume(dataset_dir, tmp_path, caplog):
    run = tmp_path / "run"
    fit(dataset_dir, run, "tiny", tiny_config(steps=2), options=OPTS)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "split": "tra')  # what kill -9 during an append leaves
    assert fit(dataset_dir, run, "tiny", tiny_config(steps=4), options=OPTS).step == 4
    assert "torn last line" in caplog.text
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 4


def test_a_second_training_process_on_one_run_folder_is_refused(dataset_dir, tmp_path, capsys):
    run = tmp_path / "run"
    with run_lock(run):  # as if another `train` were running on it
        assert main(["train", str(dataset_dir), str(run), "--model", "tiny", "--steps", "2", "--batch-size", "2",
                     "--crop-frames", "32", "--no-tensorboard"]) == 1
        err = capsys.readouterr().err
        assert "already using this folder" in err and f"pid {__import__('os').getpid()}" in err
    # Released (as the kernel does when the holder dies): the same command now trains.
    assert main(["train", str(dataset_dir), str(run), "--model", "tiny", "--steps", "2", "--batch-size", "2",
                 "--crop-frames", "32", "--checkpoint-every", "2", "--no-tensorboard"]) == 0


def test_altered_weights_are_refused(tiny_run, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(ckpt.list_checkpoints(tiny_run)[-1], folder)
    data = bytearray((folder / ckpt.MODEL_FILE).read_bytes())
    data[-100] ^= 0x01  # one bit of one weight: still a valid safetensors file
    (folder / ckpt.MODEL_FILE).write_bytes(bytes(data))
    assert main(["convert", str(folder), str(vcc_file("SF1", "100010")), "--target", "TM1", str(tmp_path / "o")]) == 1
    assert "checksum mismatch" in capsys.readouterr().err


def test_silence_and_dc_are_refused_and_output_matches_input_loudness(tiny_run, tmp_path):
    import numpy as np
    import soundfile as sf

    from vaegan_vc.audio import load_audio, loudness

    inp = tmp_path / "in"
    inp.mkdir()
    sf.write(str(inp / "silence.wav"), np.zeros(16000, np.float32), 16000)
    sf.write(str(inp / "dc.wav"), np.full(16000, 0.3, np.float32), 16000)
    speech = load_audio(vcc_file("SF1", "100010"), 16000)
    sf.write(str(inp / "quiet.wav"), speech * 0.05, 16000)  # far below the model's −26 LUFS
    out = tmp_path / "out"
    assert main(["convert", str(tiny_run), str(inp), "--target", "TM1", str(out)]) == 1  # two files failed
    assert not (out / "gen" / "silence.wav").exists() and not (out / "gen" / "dc.wav").exists()
    gen, sr = sf.read(str(out / "gen" / "quiet.wav"), dtype="float32")
    assert abs(loudness(gen, sr) - loudness(speech * 0.05, 16000)) < 1.0


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "dataset.json").write_text("[1, 2]"), "not a dataset description"),
    (lambda d: (d / "dataset.json").write_text(json.dumps({**json.loads((d / "dataset.json").read_text()), "features": None})), "damaged dataset description"),
    (lambda d: (d / "dataset.json").write_text(json.dumps(_with_feature(d, "n_mels", "lots"))), "'n_mels' must be int"),
    (lambda d: (d / "manifest.jsonl").write_text((d / "manifest.jsonl").read_text() + "{not json\n"), "line 25 is damaged"),
    (lambda d: (d / "manifest.jsonl").write_text('{"speaker": "SF1"}\n'), "line 1 is damaged"),
    (lambda d: (d / "features" / "SF1.npy").write_bytes((d / "features" / "SF1.npy").read_bytes()[:200]), "features/SF1.npy"),
    (lambda d: (d / "features" / "TM1.npy").unlink(), "TM1.npy: missing"),
    (lambda d: (d / "manifest.jsonl").write_text((d / "manifest.jsonl").read_text().replace('"offset": 0,', '"offset": 99999999,', 1)),
     "does not match the manifest"),
])
def test_damaged_dataset_files_are_named(dataset_dir, tmp_path, damage, message, capsys):
    ds = tmp_path / "ds"
    shutil.copytree(dataset_dir, ds)
    damage(ds)
    assert main(["train", str(ds), str(tmp_path / "run"), "--model", "tiny", "--steps", "1", "--batch-size", "2",
                 "--crop-frames", "32", "--no-tensorboard"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
    assert not (tmp_path / "run" / "checkpoints").exists()


def _with_feature(ds, key, value):
    info = json.loads((ds / "dataset.json").read_text())
    info["features"][key] = value
    return info


def test_model_config_with_a_wrong_type_is_refused(tiny_run, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(ckpt.list_checkpoints(tiny_run)[-1], folder)
    config = json.loads((folder / ckpt.CONFIG_FILE).read_text())
    config["model"]["channels"] = "eight"
    (folder / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    assert main(["convert", str(folder), str(vcc_file("SF1", "100010")), "--target", "TM1", str(tmp_path / "o")]) == 1
    assert "model/config.json: model config: 'channels' must be int" in capsys.readouterr().err


def test_file_system_refusals_are_one_line(tiny_run, tmp_path, monkeypatch, capsys):
    src = vcc_file("SF1", "100010")
    (tmp_path / "afile").write_text("x")
    assert main(["convert", str(tiny_run), str(src), "--target", "TM1", str(tmp_path / "afile")]) == 1
    assert "afile: is a file, not a folder" in capsys.readouterr().err
    assert main(["convert", str(tiny_run), str(src), "--target", "TM1", str(tmp_path / "afile" / "out")]) == 1
    assert "is a file, so" in capsys.readouterr().err

    import vaegan_vc.audio as audio

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "gen" / "100010.wav"))

    monkeypatch.setattr(audio.sf, "write", full)
    assert main(["convert", str(tiny_run), str(src), "--target", "TM1", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "no space left on device" in err and "Traceback" not in err


def test_evaluate_and_vocoder_train_refuse_outputs_inside_the_data(dataset_dir, tmp_path, capsys):
    ds = tmp_path / "ds"
    shutil.copytree(dataset_dir, ds)
    before = _files(ds)
    assert main(["vocoder", "train", str(ds), str(ds / "voc"), "--force", "--steps", "1"]) == 1
    assert "lies inside the dataset folder" in capsys.readouterr().err
    from vaegan_vc.evaluation.api import evaluate_model
    from vaegan_vc.errors import VaeganError

    with pytest.raises(VaeganError, match="is the dataset folder"):
        evaluate_model(tmp_path / "model", ds, ds)
    assert _files(ds) == before


def test_a_file_name_starting_with_a_dash_gets_a_hint(tiny_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copy(vcc_file("SF1", "100010"), tmp_path / "-me.flac")
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(tiny_run), "-me.flac", "--target", "TM1", "out"])
    assert exc.value.code == 2 and "write ./-me.flac, or put -- before it" in capsys.readouterr().err
    assert main(["convert", str(tiny_run), "./-me.flac", "--target", "TM1", "out"]) == 0


def test_read_only_output_and_unavailable_devices_are_refused(tiny_run, tmp_path, monkeypatch, capsys):
    import os

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(tmp_path) else real_access(path, mode))
    assert main(["convert", str(tiny_run), str(vcc_file("SF1", "100010")), "--target", "TM1", str(tmp_path / "out")]) == 1
    assert "not writable (read-only or no permission)" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["convert", str(tiny_run), str(vcc_file("SF1", "100010")), "--target", "TM1", str(tmp_path / "o"),
                 "--device", "mps"]) == 1
    assert "no Apple MPS device" in capsys.readouterr().err
