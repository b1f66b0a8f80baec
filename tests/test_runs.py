"""The run layer both trainers stand on (runs.py) and the file helpers under it (io.py)."""

from __future__ import annotations

import json

import pytest
import torch

from vaegan_vc.errors import VaeganError
from vaegan_vc.io import FORMAT_VERSIONS, atomic_folder, check_format, partial_path, write_json
from vaegan_vc.runs import RunFolder, TrainingDiverged, TrainingLog, check_finite, load_state, read_metrics, save_state


def _run(path, kind="vaegan"):
    return RunFolder(path, kind=kind, describe=f"a {kind} run")


def test_claim_writes_kind_and_version_and_names_what_changed(tmp_path):
    run = _run(tmp_path / "r")
    record = {"model": {"size": 1}, "train": {"lr": 1.0, "steps": 10}, "dataset": "/a"}
    assert run.claim(record, force=False) is False  # nothing to resume yet
    stored = json.loads((tmp_path / "r" / "run.json").read_text())
    assert stored["kind"] == "vaegan" and stored["format_version"] == FORMAT_VERSIONS["run"]
    # resumable settings and where the data lives may change; the trajectory may not
    run.claim({**record, "train": {"lr": 1.0, "steps": 99}, "dataset": "/moved"}, force=False)
    with pytest.raises(VaeganError, match=r"other settings \(model, train.lr\); .*--force"):
        run.claim({"model": {"size": 2}, "train": {"lr": 2.0, "steps": 99}}, force=False)


def test_force_clears_only_the_runs_own_files_and_never_another_kind(tmp_path):
    run = _run(tmp_path / "r")
    run.claim({"train": {"lr": 1.0}}, force=False)
    for name in ("checkpoints/step_00000002", "tb", "plots"):
        (tmp_path / "r" / name).mkdir(parents=True)
    (tmp_path / "r" / "metrics.jsonl").write_text('{"step": 1}\n')
    (tmp_path / "r" / "notes.txt").write_text("mine")
    assert run.checkpoints()
    assert run.claim({"train": {"lr": 2.0}}, force=True) is False
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["notes.txt", "run.json"]
    vocoder = _run(tmp_path / "r", kind="hifigan-vocoder-run")
    with pytest.raises(VaeganError, match="holds a 'vaegan' run, not a hifigan-vocoder-run run; --force would delete it"):
        vocoder.claim({"train": {}}, force=True)
    assert (tmp_path / "r" / "run.json").is_file()


def test_a_folder_of_other_files_or_stray_checkpoints_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x")
    with pytest.raises(VaeganError, match="not a run folder; use --force"):
        _run(tmp_path / "a").claim({}, force=False)
    (tmp_path / "b" / "checkpoints" / "step_00000001").mkdir(parents=True)
    with pytest.raises(VaeganError, match="checkpoints of an unknown run"):
        _run(tmp_path / "b").claim({}, force=True)


def test_a_failed_checkpoint_write_leaves_nothing_that_looks_complete(tmp_path):
    run = _run(tmp_path / "r")

    def write(folder):
        (folder / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        run.write_checkpoint(5, keep=3, write=write)
    assert run.checkpoints() == [] and not partial_path(tmp_path / "r" / "checkpoints" / "step_00000005").exists()
    for step in (1, 2, 3):
        run.write_checkpoint(step, keep=2, write=lambda folder: (folder / "f").write_text("ok"))
    assert [p.name for p in run.checkpoints()] == ["step_00000002", "step_00000003"]


def test_divergence_names_the_last_good_checkpoint(tmp_path):
    run = _run(tmp_path / "r")
    run.write_checkpoint(4, keep=3, write=lambda folder: None)
    with pytest.raises(TrainingDiverged, match=r"step 5: loss recon=nan is NaN .*last good checkpoint is .*step_00000004"):
        with run.stop_on_divergence():
            check_finite({"recon": torch.tensor(float("nan")), "kl": torch.tensor(1.0)}, 5)


def test_training_log_truncates_to_the_checkpoint_and_keeps_a_legacy_tensorboard_folder(tmp_path):
    log = TrainingLog(tmp_path, step=0, tensorboard=False)
    for step in (1, 2, 3):
        log.log("train", step, {"loss": float(step)}, lr=0.1)
    log.log("val", 2, {"loss": 0.5})
    log.plot_losses()
    assert (tmp_path / "plots" / "losses.png").is_file()
    TrainingLog(tmp_path, step=2, tensorboard=False)  # resumed from step 2: step 3 was lost
    assert [(r["step"], r["split"]) for r in read_metrics(tmp_path)] == [(1, "train"), (2, "train"), (2, "val")]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "tensorboard").mkdir()  # a vocoder run of the first layout
    assert TrainingLog(tmp_path / "old", step=0, tensorboard=False)._tensorboard_dir().name == "tensorboard"
    assert TrainingLog(tmp_path, step=0, tensorboard=False)._tensorboard_dir().name == "tb"


def test_optimizer_state_round_trips(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    (tmp_path / "c").mkdir()
    save_state(tmp_path / "c", 7, {"extra": torch.arange(3)}, {"opt": opt})
    other = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    tensors, step = load_state(tmp_path / "c", {"opt": other}, "state")
    assert step == 7 and torch.equal(tensors["extra"], torch.arange(3))
    assert other.param_groups[0]["lr"] == 0.1
    for a, b in zip(opt.state.values(), other.state.values()):
        assert torch.equal(a["exp_avg"], b["exp_avg"])


def test_io_folder_transaction_and_format_check(tmp_path):
    target = tmp_path / "ds"
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("interrupted")
    assert not target.exists() and not partial_path(target).exists()
    with atomic_folder(target) as tmp:
        (tmp / "whole").write_text("x")
    assert [p.name for p in target.iterdir()] == ["whole"]
    write_json(tmp_path / "d.json", {"format_version": 99})
    with pytest.raises(VaeganError, match="dataset format version 99 .*reads version 1"):
        check_format(json.loads((tmp_path / "d.json").read_text()), "dataset", tmp_path / "d.json")
    with pytest.raises(ValueError):
        write_json(tmp_path / "nan.json", {"x": float("nan")})  # strict JSON by default
    assert not (tmp_path / "nan.json").exists()
