"""Run under torchrun by test_distributed.py: a tiny HiFi-GAN `train_vocoder` in N processes (gloo),
checking after every step that all ranks hold identical generator and discriminator weights."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from vaegan_vc.vocoders.hifigan.train import train_vocoder

dataset, run, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
gaps = []


def check(state) -> None:
    params = [*state.generator.parameters(), *state.mpd.parameters(), *state.msd.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    parts = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, flat)
    gaps.append(max(float((q - parts[0]).abs().max()) for q in parts))


train_vocoder(dataset, run, config="tiny", batch_size=2, segment_size=4096, device="cpu", progress=False,
              val_utterances=1, steps=3, checkpoint_every=3, on_step=check)

(out / f"vocoder_rank{__import__('os').environ['RANK']}.json").write_text(json.dumps({"gaps": gaps}))
