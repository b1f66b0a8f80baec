"""CPU training precision: bf16 autocast only where the CPU has native bf16 and the run asks for it."""

import pytest
import torch

from conftest import tiny_config
from vaegan_vc import checkpoint as ckpt
from vaegan_vc import train
from vaegan_vc.config import default_loss_weights, train_defaults
from vaegan_vc.train import FitOptions, fit, precision

CPU = torch.device("cpu")


@pytest.mark.parametrize("native", [True, False])
def test_cpu_bf16_only_where_native(monkeypatch, native):
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: native)
    assert precision(CPU, tiny_config(cpu_bf16=True)) == ("bf16" if native else "fp32")
    assert precision(CPU, tiny_config(cpu_bf16=False)) == "fp32"


def test_defaults_fast_asks_for_bf16_and_seed_keeps_fp32():
    assert train_defaults("fast").cpu_bf16 and not train_defaults("seed").cpu_bf16


def test_bf16_training_keeps_fp32_weights_and_finite_losses(dataset_dir, tmp_path, monkeypatch):
    """Forced to bf16 (emulated where the CPU lacks it): the step runs under autocast, the stored
    weights stay fp32 and every logged loss is finite."""
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: True)
    seen = []
    real_step = train.generator_losses

    def spy(*args, **kw):
        seen.append(torch.is_autocast_enabled("cpu"))
        return real_step(*args, **kw)

    monkeypatch.setattr(train, "generator_losses", spy)
    cfg = tiny_config(steps=3, cpu_bf16=True, loss_weights=default_loss_weights("fast"))
    fit(dataset_dir, tmp_path / "run", "fast-tiny", cfg, options=FitOptions(device="cpu", progress=False, tensorboard=False))
    assert seen and all(seen)
    weights = ckpt.load_tensors(ckpt.list_checkpoints(tmp_path / "run")[-1] / ckpt.MODEL_FILE, "model")
    assert all(v.dtype == torch.float32 for v in weights.values() if v.is_floating_point())
    rows = train.read_metrics(tmp_path / "run")
    assert rows and all(torch.isfinite(torch.tensor(v)) for r in rows for k, v in r.items() if isinstance(v, float))
