"""Training runs: checkpoints, exact resume, divergence guard, run-folder safety, logs and plots."""

import json
import shutil

import pytest
import torch

from conftest import tiny_config
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.errors import VaeganError
from vaegan_vc.train import FitOptions, TrainingDiverged, fit

OPTS = FitOptions(device="cpu", progress=False, log_every=1, tensorboard=False)


def _weights(run):
    return ckpt.load_tensors(ckpt.list_checkpoints(run)[-1] / ckpt.MODEL_FILE, "model")


def test_run_folder_contents(tiny_run):
    names = [p.name for p in ckpt.list_checkpoints(tiny_run)]
    assert names == ["step_00000002", "step_00000004"]  # keep_checkpoints=2
    last = ckpt.list_checkpoints(tiny_run)[-1]
    for f in (ckpt.MODEL_FILE, ckpt.CONFIG_FILE, ckpt.STATE_FILE, ckpt.STATE_META_FILE):
        assert (last / f).is_file()
    config = json.loads((last / ckpt.CONFIG_FILE).read_text())
    assert config["speakers"] == ["SF1", "TM1"] and config["features"]["name"] == "seed"
    assert (tiny_run / "plots" / "SF1_to_TM1" / "step_4.png").is_file()
    assert (tiny_run / "plots" / "TM1_to_SF1" / "step_2.png").is_file()
    assert (tiny_run / "plots" / "losses.png").is_file()
    assert list((tiny_run / "tb").glob("events.out.tfevents.*"))
    rows = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in rows} == {"train", "val"}
    assert {"gan", "kl", "recon", "cycle_kl", "cycle", "latent", "disc_real", "disc_fake"} <= set(rows[-1])


def test_exact_resume_matches_uninterrupted(dataset_dir, tmp_path):
    cfg = tiny_config(steps=6, checkpoint_every=3, keep_checkpoints=5)
    fit(dataset_dir, tmp_path / "straight", "tiny", cfg, options=OPTS)
    # As if killed (kill -9) after the step-3 checkpoint: later files gone, then the same command again.
    shutil.copytree(tmp_path / "straight", tmp_path / "resumed")
    shutil.rmtree(tmp_path / "resumed" / "checkpoints" / "step_00000006")
    state = fit(dataset_dir, tmp_path / "resumed", "tiny", cfg, options=OPTS)
    assert state.step == 6
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    sa = ckpt.load_tensors(ckpt.list_checkpoints(tmp_path / "straight")[-1] / ckpt.STATE_FILE, "s")
    sb = ckpt.load_tensors(ckpt.list_checkpoints(tmp_path / "resumed")[-1] / ckpt.STATE_FILE, "s")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_resume_after_kill_ignores_partial_checkpoint(dataset_dir, tmp_path):
    cfg = tiny_config(steps=4, checkpoint_every=2)
    run = tmp_path / "run"
    fit(dataset_dir, run, "tiny", tiny_config(steps=2, checkpoint_every=2), options=OPTS)
    # A checkpoint half-written when the process died must never be taken for a complete one.
    partial = run / "checkpoints" / ".step_00000003.partial"
    partial.mkdir()
    (partial / ckpt.MODEL_FILE).write_bytes(b"half")
    state = fit(dataset_dir, run, "tiny", cfg, options=OPTS)
    assert state.step == 4


def test_nan_stops_training_and_keeps_last_checkpoint(dataset_dir, tmp_path, monkeypatch):
    run = tmp_path / "run"
    fit(dataset_dir, run, "tiny", tiny_config(steps=2, checkpoint_every=2), options=OPTS)
    before = _weights(run)
    import vaegan_vc.losses as losses

    original = losses.l1
    monkeypatch.setattr(losses, "l1", lambda x, y: original(x, y) * float("nan"))
    with pytest.raises(TrainingDiverged, match="step 2: loss .*recon.* NaN"):
        fit(dataset_dir, run, "tiny", tiny_config(steps=4, checkpoint_every=2), options=OPTS)
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["step_00000002"]
    after = _weights(run)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_changed_settings_are_refused_on_resume(tiny_run, dataset_dir, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    with pytest.raises(VaeganError, match=r"other settings \(train.batch_size\).*--force"):
        fit(dataset_dir, run, "tiny", tiny_config(batch_size=3), options=OPTS)
    assert (run / "checkpoints").is_dir()  # refused: nothing touched


def test_force_starts_a_changed_run_over_and_keeps_other_files(tiny_run, dataset_dir, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    (run / "notes.txt").write_text("mine")
    old_rows = len((run / "metrics.jsonl").read_text().splitlines())
    state = fit(dataset_dir, run, "tiny", tiny_config(batch_size=3, steps=1, checkpoint_every=1),
                options=FitOptions(device="cpu", progress=False, log_every=1, tensorboard=False, force=True))
    assert state.step == 1  # from scratch, not resumed
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["step_00000001"]
    assert json.loads((run / "run.json").read_text())["train"]["batch_size"] == 3
    assert len((run / "metrics.jsonl").read_text().splitlines()) < old_rows and (run / "notes.txt").read_text() == "mine"


def test_a_folder_with_other_files_is_not_trained_into_without_force(dataset_dir, tmp_path):
    run = tmp_path / "busy"
    run.mkdir()
    (run / "thesis.tex").write_text("x")
    with pytest.raises(VaeganError, match="not a run folder; use --force"):
        fit(dataset_dir, run, "tiny", tiny_config(steps=1), options=OPTS)


def test_one_speaker_and_bad_crop(dataset_dir, tmp_path):
    with pytest.raises(VaeganError, match="at least 2 speakers"):
        fit(dataset_dir, tmp_path / "r1", "tiny", tiny_config(), speakers=["SF1"], options=OPTS)
    with pytest.raises(VaeganError, match="unknown speaker"):
        fit(dataset_dir, tmp_path / "r2", "tiny", tiny_config(), speakers=["SF1", "XX"], options=OPTS)
    with pytest.raises(VaeganError, match="multiple of 4"):
        fit(dataset_dir, tmp_path / "r3", "tiny", tiny_config(crop_frames=30), options=OPTS)


def test_losses_fall_on_a_short_run(dataset_dir, tmp_path):
    run = tmp_path / "run"
    fit(dataset_dir, run, "tiny", tiny_config(steps=40, checkpoint_every=40, batch_size=4, lr=1e-3), options=FitOptions(device="cpu", progress=False, log_every=10, tensorboard=False))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"train"' in line]
    assert rows[-1]["recon"] < 0.8 * rows[0]["recon"]  # a model that does not learn stays near 1.0×
