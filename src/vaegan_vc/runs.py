"""The run layer under both trainers (the VAE-GAN's and the vocoder's), so they behave alike.

A run folder holds:

    run.json            {kind, format_version, …settings}; a resumed run must have the same ones
    checkpoints/step_N/ model.safetensors + config.json (deployable) and state.safetensors +
                        state.json (optimizers, RNG, step); the newest `keep_checkpoints` are kept,
                        one being written is `.step_N.partial` and never listed
    metrics.jsonl       one JSON row per logged step {step, split, lr?, …losses}
    tb/                 TensorBoard events (purged past the checkpoint on resume: curves never fork)
    plots/losses.png    the loss curves, redrawn at every checkpoint
    .lock               held while a process trains here

What is shared: `RunFolder` (claiming a folder: refusal of another kind of run or of changed
settings, `--force`, the lock, the checkpoints), `TrainingLog`, the finite-loss guard, the state
file of a checkpoint, and the learning-rate schedules.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from . import checkpoint as ckpt
from .errors import VaeganError
from .io import FORMAT_VERSIONS, atomic_folder, read_json, write_json, write_text

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tb"
# Settings that may change when a run is resumed without changing its trajectory.
RESUMABLE = frozenset({"steps", "checkpoint_every", "keep_checkpoints", "log_every"})
# Parts of run.json that describe where or how a run was started, not what it computes.
CIRCUMSTANTIAL = frozenset({"format_version", "dataset", "distributed", "matched_to"})
# What --force removes: the run's own outputs, never anything else in the folder.
RUN_OUTPUTS = (RUN_FILE, "checkpoints", METRICS_FILE, TENSORBOARD_DIR, "tensorboard", "plots")


# ----------------------------------------------------------------------------- the guard


class TrainingDiverged(VaeganError):
    """A loss became NaN or infinite; raised before the optimizer step that would spread it."""


def check_finite(losses: dict[str, Tensor], step: int, what: str = "loss") -> None:
    """Raise TrainingDiverged naming every non-finite term (`step` is the step being computed)."""
    values = torch.stack([v.detach().float() for v in losses.values()])
    if not bool(torch.isfinite(values).all()):
        bad = [f"{k}={float(v.detach())}" for k, v in losses.items() if not torch.isfinite(v).all()]
        raise TrainingDiverged(f"step {step}: {what} {', '.join(bad)} is NaN or infinite; training stopped")


# ----------------------------------------------------------------------------- learning rates


def linear_decay_lr(step: int, total: int, base: float) -> float:
    """The VAE-GAN's: constant for the first half, then linear decay to 0 at `total`."""
    half = total / 2
    if step < half:
        return base
    return base * max(0.0, (total - step) / (total - half))


def exponential_decay_lr(step: int, steps_per_epoch: int, base: float, gamma: float) -> float:
    """HiFi-GAN's: × gamma once per epoch, computed from the step (never accumulated)."""
    return base * gamma ** (step // steps_per_epoch)


def set_lr(optimizers: list[torch.optim.Optimizer], lr: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr


# ----------------------------------------------------------------------------- the run folder


@dataclass
class RunFolder:
    """One training run's folder. `kind` is written into run.json and must match on resume;
    `describe` names the kind in messages; `outputs` are extra folders --force also clears."""

    path: Path
    kind: str
    describe: str
    outputs: tuple[str, ...] = ()
    normalise: Callable[[dict], dict] = field(default=lambda record: record)

    def __post_init__(self):
        self.path = Path(self.path)

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    def stored(self) -> dict | None:
        """The run.json of an earlier start, or None."""
        if not self.run_file.is_file():
            return None
        data = read_json(self.run_file, "run description")
        if not isinstance(data, dict):
            raise VaeganError(f"{self.run_file}: not a run description")
        return data

    def checkpoints(self) -> list[Path]:
        return ckpt.list_checkpoints(self.path)

    def refuse_other_kind(self) -> dict | None:
        """Never train into (or --force away) another kind of run. Checked before anything is
        created; returns the stored run.json (None for a new run)."""
        stored = self.stored()
        if stored is not None:
            kind = stored.get("kind", "vaegan")  # VAE-GAN runs before kinds were recorded
            if kind != self.kind:
                raise VaeganError(f"{self.path}: holds a '{kind}' run, not {self.describe}; "
                                  "--force would delete it, so choose another RUN_DIR")
        elif self.checkpoints():
            raise VaeganError(f"{self.path}: holds checkpoints of an unknown run; choose another RUN_DIR")
        return stored

    def claim(self, record: dict, force: bool) -> bool:
        """Start, resume or (with --force) restart the run described by `record`; write run.json.

        A resumed run must have the same settings, except RESUMABLE ones (the error names what
        changed). A folder with other files is only written into with --force, which removes the
        run's own outputs and nothing else. Returns True when there is a checkpoint to resume.
        """
        stored = self.refuse_other_kind()
        record = {"kind": self.kind, "format_version": FORMAT_VERSIONS["run"], **record}
        if force:
            for name in (*RUN_OUTPUTS, *self.outputs):
                target = self.path / name
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        elif stored is not None:
            changed = self._changes(self.normalise(stored), record)
            if changed:
                raise VaeganError(f"{self.path}: holds {self.describe} with other settings ({', '.join(changed)}); "
                                  "resume with the same settings, or use --force to start over")
        elif self.path.is_dir() and any(p.name != LOCK_FILE for p in self.path.iterdir()):
            raise VaeganError(f"{self.path}: exists and is not a run folder; use --force to write into it")
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.run_file, record)
        return bool(self.checkpoints())

    @staticmethod
    def _changes(stored: dict, current: dict) -> list[str]:
        """Names of the trajectory settings that differ ('train.lr', 'model', …)."""
        stored, current = json.loads(json.dumps(stored)), json.loads(json.dumps(current))  # tuples → lists
        out = []
        for key in sorted((set(stored) | set(current)) - CIRCUMSTANTIAL):
            a, b = stored.get(key), current.get(key)
            if key == "train" and isinstance(a, dict) and isinstance(b, dict):
                out += [f"train.{k}" for k in sorted(set(a) | set(b)) if k not in RESUMABLE and a.get(k) != b.get(k)]
            elif a != b:
                out.append(key)
        return out

    def lock(self):
        """RUN_DIR/.lock while this process trains here (see run_lock)."""
        return run_lock(self.path)

    @contextlib.contextmanager
    def stop_on_divergence(self) -> Iterator[None]:
        """Add to a TrainingDiverged which checkpoint is the last good one."""
        try:
            yield
        except TrainingDiverged as exc:
            last = self.checkpoints()
            kept = f"the last good checkpoint is {last[-1]}" if last else "no checkpoint was written yet"
            raise TrainingDiverged(f"{exc}; {kept}") from None

    def write_checkpoint(self, step: int, keep: int, write: Callable[[Path], None]) -> Path:
        """Call `write(folder)` on a hidden temporary folder, publish it as checkpoints/step_N by
        rename (io.atomic_folder), then drop all but the newest `keep`."""
        final = self.path / "checkpoints" / ckpt.checkpoint_name(step)
        with atomic_folder(final) as tmp:
            write(tmp)
        for old in self.checkpoints()[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold RUN_DIR/.lock (an fcntl flock) while a run trains in it; a second process is refused.

    The kernel drops the lock when its process dies, so a killed run never leaves a stale lock;
    the file only tells who holds it. A run refused before it wrote anything leaves no folder.
    """
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / LOCK_FILE, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise VaeganError(f"{run_dir}: a training run is already using this folder ({holder}); "
                              "wait for it or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()
        if created and [p.name for p in run_dir.iterdir()] == [LOCK_FILE]:
            shutil.rmtree(run_dir, ignore_errors=True)


# ----------------------------------------------------------------------------- checkpoint state


def save_state(folder: Path, step: int, tensors: dict[str, Tensor], optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """state.safetensors (`tensors` + the optimizers, flattened) and state.json {step, optimizer layout}."""
    meta = {"step": step}
    tensors = dict(tensors)
    for name, opt in optimizers.items():
        flat, meta[name] = ckpt.flatten_optimizer(name, opt)
        tensors.update(flat)
    ckpt.save_tensors(folder / ckpt.STATE_FILE, tensors)
    write_json(folder / ckpt.STATE_META_FILE, meta)


def load_state(folder: Path, optimizers: dict[str, torch.optim.Optimizer], what: str) -> tuple[dict[str, Tensor], int]:
    """Restore the optimizers written by `save_state`; returns the other tensors and the step."""
    tensors = ckpt.load_tensors(folder / ckpt.STATE_FILE, what)
    meta = read_json(folder / ckpt.STATE_META_FILE, what)
    try:
        for name, opt in optimizers.items():
            opt.load_state_dict(ckpt.unflatten_optimizer(name, tensors, meta[name]))
        return tensors, int(meta["step"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise VaeganError(f"{folder}: corrupted {what} ({exc})") from None


# ----------------------------------------------------------------------------- the log


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


class TrainingLog:
    """Appends rows to RUN_DIR/metrics.jsonl, mirrors them to TensorBoard, draws plots/losses.png.

    On resume (from `step`), rows newer than the checkpoint are dropped (they belong to the lost
    steps), and TensorBoard purges its events after that step too, so curves never fork.
    """

    def __init__(self, run_dir: Path, step: int, tensorboard: bool = True):
        from .plots import loss_curves_figure, save_figure  # matplotlib: only when training

        self._figure, self._save = loss_curves_figure, save_figure
        self.run_dir = Path(run_dir)
        self.metrics_path = self.run_dir / METRICS_FILE
        if self.metrics_path.exists():
            rows = [r for r in read_metric_rows(self.metrics_path) if r["step"] <= step]
            write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # heavy: only when asked

            self.writer = SummaryWriter(str(self._tensorboard_dir()), purge_step=step + 1 if step else None)

    def _tensorboard_dir(self) -> Path:
        legacy = self.run_dir / "tensorboard"  # vocoder runs of format 1 logged here
        return legacy if legacy.is_dir() and not (self.run_dir / TENSORBOARD_DIR).exists() else self.run_dir / TENSORBOARD_DIR

    def log(self, split: str, step: int, values: dict[str, float], lr: float | None = None) -> None:
        """One row: {step, split, lr?, **values}; TensorBoard scalars `split/name`."""
        row = {"step": step, "split": split, **({"lr": lr} if lr is not None else {}), **values}
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer:
            for k, v in values.items():
                self.writer.add_scalar(f"{split}/{k}", v, step)
            if lr is not None:
                self.writer.add_scalar(f"{split}/lr", lr, step)

    def plot_losses(self) -> None:
        """plots/losses.png: every logged term over the steps, train and val."""
        rows = read_metric_rows(self.metrics_path)
        keys = list(dict.fromkeys(k for r in rows for k in r if k not in ("step", "split", "lr")))
        self._save(self._figure(rows, keys), self.run_dir / "plots" / "losses.png")

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def read_metrics(run_dir: Path) -> list[dict]:
    """A run's metrics.jsonl rows ([] before the first log)."""
    path = Path(run_dir) / METRICS_FILE
    return read_metric_rows(path) if path.exists() else []
