"""Multi-process training under torchrun (gloo on the CPU): identical weights on every rank after
every step, per-rank crops, rank-0-only writing, and a checkpoint that resumes in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_config
from web_server import free_port
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.train import FitOptions, fit, read_metrics

pytestmark = pytest.mark.slow
WORKER = Path(__file__).with_name("ddp_worker.py")


def test_torchrun_two_processes_then_resume_alone(dataset_dir, tmp_path):
    run, out = tmp_path / "run", tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(WORKER), str(dataset_dir), str(run), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r in ranks:
        assert len(r["max_weight_gap"]) == 4 and max(r["max_weight_gap"]) == 0.0  # the same weights after every step
    assert ranks[0]["crop_rng"] != ranks[1]["crop_rng"]  # each rank its own crops
    record = json.loads((run / "run.json").read_text())
    assert record["distributed"] == {"processes": 2, "effective_batch": 4}
    assert [c.name for c in ckpt.list_checkpoints(run)] == ["step_00000002", "step_00000004"]
    assert [r["step"] for r in read_metrics(run) if r.get("split") == "train"] == [1, 2, 3, 4]  # written once, by rank 0
    state = fit(dataset_dir, run, "tiny", tiny_config(steps=6), options=FitOptions(device="cpu", progress=False, tensorboard=False))
    assert state.step == 6 and state.ctx.world == 1


def test_torchrun_vocoder_training_then_resume_alone(tmp_path):
    from test_hifigan import make_dataset
    from vaegan_vc.vocoders.hifigan.train import train_vocoder

    data, run, out = make_dataset(tmp_path / "data"), tmp_path / "voc", tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(WORKER.with_name("ddp_vocoder_worker.py")), str(data), str(run), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for r in (0, 1):
        gaps = json.loads((out / f"vocoder_rank{r}.json").read_text())["gaps"]
        assert len(gaps) == 3 and max(gaps) == 0.0
    assert [c.name for c in ckpt.list_checkpoints(run)] == ["step_00000003"]
    folder = train_vocoder(data, run, config="tiny", batch_size=2, segment_size=4096, device="cpu", progress=False,
                           val_utterances=1, steps=4, checkpoint_every=2)
    assert folder.name == "step_00000004"
