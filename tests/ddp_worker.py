"""Run under torchrun by test_distributed.py: a tiny `fit` in N processes (gloo), checking after
every step that all ranks hold identical weights, and recording what each rank saw."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from vaegan_vc.config import TrainConfig
from vaegan_vc.train import FitOptions, fit

dataset, run, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
seen = {"max_weight_gap": [], "crop_rng": None}


def check(state) -> None:
    params = list(state.model.parameters()) + list(state.discs.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    parts = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, flat)
    seen["max_weight_gap"].append(max(float((q - parts[0]).abs().max()) for q in parts))
    seen["crop_rng"] = int(state.crop_rng.get_state().double().sum())
    seen["rank"] = dist.get_rank()


cfg = TrainConfig(steps=4, batch_size=2, crop_frames=32, checkpoint_every=2, keep_checkpoints=2, val_crops=2)
fit(dataset, run, "tiny", cfg, options=FitOptions(device="cpu", progress=False, log_every=1, tensorboard=False, on_step=check))
(out / f"rank{seen['rank']}.json").write_text(json.dumps(seen))
