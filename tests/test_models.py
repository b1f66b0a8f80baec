"""Model shapes for 2 and 3 speakers, shared-block bookkeeping, output range, determinism."""

import pytest
import torch

from vaegan_vc.config import TrainConfig, feature_preset, model_preset
from vaegan_vc.errors import VaeganError
from vaegan_vc.models.vaegan import VAEGAN, Discriminators
from vaegan_vc.train import build_state


@pytest.mark.parametrize("speakers", [["SF1", "TM1"], ["SF1", "TM1", "TF2"]])
@pytest.mark.parametrize("size,n_mels", [("tiny", 128), ("tiny", 80), ("seed", 128)])
def test_shapes(speakers, size, n_mels):
    cfg = model_preset(size, n_mels)
    model, discs = VAEGAN(cfg, speakers), Discriminators(cfg, speakers)
    x = torch.rand(2, n_mels, 64)
    mu = model.encode(x)
    assert mu.shape == (2, cfg.latent_channels, n_mels // 4, 16)
    for s in speakers:
        y = model.decode(mu, s).detach()
        assert y.shape == x.shape
        assert float(y.min()) >= 0 and float(y.max()) <= 1  # same range as the features
        scores = discs(y, s)
        assert scores.shape[:2] == (2, 1)
    assert set(model.generators.keys()) == set(speakers)
    assert any(k.startswith(f"generators.{speakers[-1]}.") for k in model.state_dict())


def test_convert_any_length_and_deterministic():
    model = VAEGAN(model_preset("tiny", 128), ["A", "B"]).eval()
    x = torch.rand(1, 128, 101)
    y = model.convert(x, "B")
    assert y.shape == x.shape
    assert torch.equal(y, model.convert(x, "B"))  # μ, not a sample
    with pytest.raises(VaeganError, match="unknown speaker 'C'.*A, B"):
        model.convert(x, "C")


def test_one_speaker_is_refused():
    with pytest.raises(VaeganError, match="at least 2 speakers"):
        VAEGAN(model_preset("tiny", 128), ["A"])


def test_shared_block_is_optimised_once():
    state = build_state(model_preset("tiny", 128), feature_preset("seed"), ["A", "B", "C"], TrainConfig(), torch.device("cpu"))
    params = [p for g in state.opt_g.param_groups for p in g["params"]]
    assert len(params) == len({id(p) for p in params})
    shared = {id(p) for p in state.model.shared.parameters()}
    assert shared and shared <= {id(p) for p in params}
    for gen in state.model.generators.values():
        assert not shared & {id(p) for p in gen.parameters()}
