"""The weight average a run deploys: the update rule, what checkpoints hold, old runs."""

import json

import pytest
import torch

from conftest import tiny_config
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.config import default_loss_weights, train_defaults
from vaegan_vc.convert import load_model
from vaegan_vc.ema import ema_decay_at, make_ema, update_ema
from vaegan_vc.train import TRAINED, FitOptions, fit, resume_settings

OPTS = FitOptions(device="cpu", progress=False, log_every=1, tensorboard=False)


def test_decay_ramps_up_to_its_value():
    assert ema_decay_at(0.999, 1) == pytest.approx(2 / 11)
    assert ema_decay_at(0.999, 100) == pytest.approx(101 / 110)
    assert ema_decay_at(0.999, 100_000) == 0.999


def test_update_moves_each_weight_by_one_minus_decay():
    model = torch.nn.Linear(3, 2)
    ema = make_ema(model)
    before = ema.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    update_ema(ema, model, 0.9, step=10_000)
    assert torch.allclose(ema.weight, before + 0.1)
    assert not ema.weight.requires_grad and model.weight.requires_grad


@pytest.mark.parametrize("decay", [0.0, 0.999])
def test_checkpoint_deploys_the_average_and_keeps_the_trained_weights(dataset_dir, tmp_path, decay):
    cfg = tiny_config(steps=4, ema_decay=decay, loss_weights=default_loss_weights("fast"))
    state = fit(dataset_dir, tmp_path / "run", "fast-tiny", cfg, options=OPTS)
    folder = ckpt.list_checkpoints(tmp_path / "run")[-1]
    deployed = ckpt.load_tensors(folder / ckpt.MODEL_FILE, "model")
    stored = ckpt.load_tensors(folder / ckpt.STATE_FILE, "state")
    trained = {k[len(TRAINED):]: v for k, v in stored.items() if k.startswith(TRAINED)}
    live = state.model.state_dict()
    if decay == 0:
        assert not trained and all(torch.equal(deployed[k], live[k]) for k in live)
        return
    assert trained.keys() == deployed.keys()
    assert all(torch.equal(trained[k], live[k]) for k in live)
    assert any(not torch.equal(deployed[k], trained[k]) for k in deployed)
    # convert loads the average
    loaded = load_model(tmp_path / "run").model.state_dict()
    assert all(torch.equal(loaded[k], deployed[k]) for k in deployed)


def test_a_run_stored_before_the_average_resumes_without_it(dataset_dir, tmp_path):
    run = tmp_path / "run"
    fit(dataset_dir, run, "fast-tiny", tiny_config(steps=2, loss_weights=default_loss_weights("fast")), options=OPTS)
    record = json.loads((run / "run.json").read_text())
    del record["train"]["ema_decay"]  # as written before the field existed
    (run / "run.json").write_text(json.dumps(record))
    _, _, cfg = resume_settings(run, None, None, {"steps": 4}, {})
    assert cfg.ema_decay == 0.0
    assert fit(dataset_dir, run, "fast-tiny", cfg, options=OPTS).step == 4  # not refused as "changed"
    _, _, fresh = resume_settings(tmp_path / "new", None, None, {}, {})
    assert fresh.ema_decay == train_defaults("fast").ema_decay > 0
