"""What a training run leaves to look at: metrics.jsonl, TensorBoard, per-direction plots, loss curves."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import torch

from .data.dataset import Dataset
from .atomic import write_text
from .errors import VaeganError
from .pitch import map_f0
from .plots import loss_curves_figure, mel_panels_figure, save_figure
from .vocoders import GriffinLimVocoder

log = logging.getLogger(__name__)

MAX_SAMPLE_FRAMES = 400  # plots and audio samples: up to 5 s of the seed features


def read_metric_rows(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl. A torn last line (kill -9 during an append) is dropped with a
    warning; a damaged line before it is an error, since later rows would be out of order."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                log.warning("%s: dropped a torn last line (the run was interrupted while logging)", path)
                break
            raise VaeganError(f"{path}: line {i + 1} is not JSON; remove it (or the file) to resume") from None
    return rows


def validation_pairs(speakers: list[str]) -> list[tuple[str, str]]:
    """Speaker pairs to validate and plot: all pairs for up to 4 speakers, else a ring."""
    if len(speakers) <= 4:
        return list(itertools.combinations(speakers, 2))
    return [(speakers[i], speakers[(i + 1) % len(speakers)]) for i in range(len(speakers))]


class TrainingLog:
    """Appends train/val rows to RUN_DIR/metrics.jsonl and mirrors them to TensorBoard.

    On resume, rows newer than the checkpoint are dropped (they belong to the lost steps), and
    TensorBoard purges its events after that step too, so curves never fork.
    """

    def __init__(self, run_dir: Path, dataset: Dataset, state, tensorboard: bool = True):
        self.run_dir = Path(run_dir)
        self.state = state
        self.metrics_path = self.run_dir / "metrics.jsonl"
        self._truncate_metrics(state.step)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=state.step + 1 if state.step else None)
        self.samples = self._pick_samples(dataset)

    def _truncate_metrics(self, step: int) -> None:
        if not self.metrics_path.exists():
            return
        rows = [r for r in read_metric_rows(self.metrics_path) if r["step"] <= step]
        write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

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

    def _append(self, row: dict) -> None:
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def log_train(self, step: int, losses: dict[str, float]) -> None:
        lr = self.state.opt_g.param_groups[0]["lr"]
        self._append({"step": step, "split": "train", "lr": lr, **losses})
        if self.writer:
            for k, v in losses.items():
                self.writer.add_scalar(f"train/{k}", v, step)
            self.writer.add_scalar("train/lr", lr, step)

    def log_validation(self, step: int, losses: dict[str, float]) -> None:
        self._append({"step": step, "split": "val", **losses})
        if self.writer:
            for k, v in losses.items():
                self.writer.add_scalar(f"val/{k}", v, step)
        rows = read_metric_rows(self.metrics_path)
        keys = [k for k in rows[-1] if k not in ("step", "split", "lr")]
        save_figure(loss_curves_figure(rows, keys), self.run_dir / "plots" / "losses.png")

    @torch.no_grad()
    def log_samples(self, step: int) -> None:
        """The seed's plot_AtB per direction: input, converted, cycle reconstruction, target."""
        model = self.state.model
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
            if self.writer:
                self.writer.add_figure(f"convert/{src}_to_{tgt}", fig, step, close=False)
            save_figure(fig, self.run_dir / "plots" / f"{src}_to_{tgt}" / f"step_{step}.png")
            if self.writer and i < 2:  # audio for the first directions only: Griffin-Lim costs time
                vocoder = GriffinLimVocoder(self.state.features, n_iter=16)
                wav = vocoder(converted.float().cpu())[0]
                self.writer.add_audio(f"audio/{src}_to_{tgt}", wav.unsqueeze(0), step, sample_rate=self.state.features.sample_rate)
        model.train()
        if self.writer:
            self.writer.flush()

    def close(self) -> None:
        if self.writer:
            self.writer.close()
