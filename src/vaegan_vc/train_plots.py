"""What a VAE-GAN run shows besides its losses: a conversion per direction at every checkpoint
(plots/SRC_to_TGT/step_N.png: input, converted, cycle, parallel target; TensorBoard figures and audio)."""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

from .data.dataset import Dataset
from .pitch import map_f0
from .plots import mel_panels_figure, save_figure
from .runs import TrainingLog
from .vocoders import GriffinLimVocoder

MAX_SAMPLE_FRAMES = 400  # plots and audio samples: up to 5 s of the seed features


def validation_pairs(speakers: list[str]) -> list[tuple[str, str]]:
    """Speaker pairs to validate and plot: all pairs for up to 4 speakers, else a ring."""
    if len(speakers) <= 4:
        return list(itertools.combinations(speakers, 2))
    return [(speakers[i], speakers[(i + 1) % len(speakers)]) for i in range(len(speakers))]


class ConversionSamples:
    """The utterances plotted for each direction, fixed at the start of the run."""

    def __init__(self, run_dir: Path, dataset: Dataset, state):
        self.run_dir = Path(run_dir)
        self.state = state
        self.samples = self._pick_samples(dataset)

    def _pick_samples(self, dataset: Dataset) -> list[tuple]:
        """(src, tgt, utt_id, source mel, parallel target mel or None, source F0 or None) for each
        plotted direction."""
        samples = []
        for a, b in validation_pairs(self.state.model.speakers):
            for src, tgt in ((a, b), (b, a)):
                src_utts = dataset.select(src, "val") or dataset.select(src, "train")
                tgt_by_id = {u.utt_id: u for u in dataset.select(tgt, "val") + dataset.select(tgt, "train")}
                u = next((u for u in src_utts if u.utt_id in tgt_by_id), src_utts[0])
                target = dataset.mel(tgt_by_id[u.utt_id])[:, :MAX_SAMPLE_FRAMES] if u.utt_id in tgt_by_id else None
                f0 = dataset.f0(u)[:MAX_SAMPLE_FRAMES] if self.state.model.cfg.pitch else None
                samples.append((src, tgt, u.utt_id, dataset.mel(u)[:, :MAX_SAMPLE_FRAMES], target, f0))
        return samples

    @torch.no_grad()
    def log(self, step: int, log: TrainingLog) -> None:
        """The seed's plot_AtB per direction: input, converted, cycle reconstruction, target."""
        model = self.state.deployed
        device = next(model.parameters()).device
        model.eval()
        for i, (src, tgt, utt_id, mel, target, f0) in enumerate(self.samples):
            x = mel.unsqueeze(0).to(device)
            f0_src = f0_tgt = None
            if f0 is not None:  # the training convention: the speakers' own ranges
                f0_src = f0.unsqueeze(0).to(device)
                f0_tgt = map_f0(f0_src, model.f0_stats[src], model.f0_stats[tgt])
            converted = model.convert(x, tgt, f0_tgt)
            cycle = model.convert(converted, src, f0_src)
            panels = [(f"input {src} {utt_id}", mel.numpy()), (f"converted {src}→{tgt}", converted[0].float().cpu().numpy()),
                      (f"cycle {src}→{tgt}→{src}", cycle[0].float().cpu().numpy())]
            if target is not None:
                panels.append((f"target {tgt} {utt_id}", target.numpy()))
            fig = mel_panels_figure(panels, f"step {step}")
            if log.writer:
                log.writer.add_figure(f"convert/{src}_to_{tgt}", fig, step, close=False)
            save_figure(fig, self.run_dir / "plots" / f"{src}_to_{tgt}" / f"step_{step}.png")
            if log.writer and i < 2:  # audio for the first directions only: Griffin-Lim costs time
                vocoder = GriffinLimVocoder(self.state.features, n_iter=16)
                wav = vocoder(converted.float().cpu())[0]
                log.writer.add_audio(f"audio/{src}_to_{tgt}", wav.unsqueeze(0), step, sample_rate=self.state.features.sample_rate)
        model.train()
        if log.writer:
            log.writer.flush()
