"""Training throughput of `train_step`: steps/s and crop pairs/s (batch size x steps/s) per model and batch.

The batch size doubles from --batches' first value up to --max-batch, and stops early when the
next step would take longer than --step-limit seconds (predicted as twice the last one) or when
memory runs out. On CUDA (bf16 autocast, built into train_step) it also reports the GPU's mean
utilisation during the timed loop and the peak memory. Figures are compared with the reference
implementation's 14 pairs/s (batch 4) and 29 pairs/s (batch 32) on an H100.

    python benchmarks/train_speed.py                        # CPU (2 threads), seed and tiny
    python benchmarks/train_speed.py --models seed fast --max-batch 16   # the fast family's ratio
    python benchmarks/train_speed.py --models seed fast fast@bf16 --max-batch 16   # + bf16 autocast on the CPU
    python benchmarks/train_speed.py --device cuda          # 4 … 128 on the GPU
    python benchmarks/train_speed.py --models seed --max-batch 8 --dataset DS
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

from common import CpuMeter, add_common_args, check_data, environment, prepare_pair_dataset, wait_for_idle, work_dir
from vaegan_vc.config import MODEL_PRESETS, TrainConfig, default_loss_weights, model_preset
from vaegan_vc.data.dataset import CropSampler, Dataset
from vaegan_vc.errors import VaeganError
from vaegan_vc.train import build_state, resolve_device, train_step

REFERENCE_PAIRS_PER_S = {4: 14.0, 32: 29.0}  # reference implementation, H100


class GpuUtilisation:
    """Mean GPU utilisation (%) while the block runs: nvidia-smi sampled every 100 ms, else
    torch.cuda.utilization() polled (needs pynvml), else None."""

    def __init__(self, device: torch.device):
        self.index = device.index if device.index is not None else torch.cuda.current_device()
        self.samples: list[float] = []
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def __enter__(self) -> "GpuUtilisation":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        smi_index = visible.split(",")[self.index] if visible and "-" not in visible else str(self.index)
        if shutil.which("nvidia-smi"):
            self._proc = subprocess.Popen(
                ["nvidia-smi", f"--id={smi_index}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "100"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
            self._thread = threading.Thread(target=self._read_smi, daemon=True)
        else:
            self._thread = threading.Thread(target=self._poll_torch, daemon=True)
        self._thread.start()
        return self

    def _read_smi(self) -> None:
        for line in self._proc.stdout:
            try:
                self.samples.append(float(line.strip()))
            except ValueError:
                continue

    def _poll_torch(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.samples.append(float(torch.cuda.utilization(self.index)))
            except (RuntimeError, ModuleNotFoundError, ImportError):
                return

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait()
        self._thread.join(timeout=2)

    @property
    def mean(self) -> float | None:
        # The first samples may predate the timed loop by up to one interval; drop one.
        samples = self.samples[1:] or self.samples
        return statistics.fmean(samples) if samples else None


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_spec(text: str) -> str:
    """A --models entry: a model preset, optionally '@bf16' (CPU bf16 autocast, where native)."""
    name, _, precision = text.partition("@")
    if name not in MODEL_PRESETS or precision not in ("", "bf16"):
        raise argparse.ArgumentTypeError(f"'{text}': expected one of {', '.join(MODEL_PRESETS)}, optionally with @bf16")
    return text


def measure(dataset: Dataset, spec: str, batch: int, device: torch.device, args: argparse.Namespace) -> dict:
    """Warm up, then time train_step for at least --min-steps steps and --seconds seconds."""
    model_name, _, precision = spec.partition("@")
    model_cfg = model_preset(model_name, dataset.features.n_mels)
    cfg = TrainConfig(batch_size=batch, crop_frames=args.crop, steps=10**9,  # constant LR throughout
                      loss_weights=default_loss_weights(model_cfg.family), cpu_bf16=precision == "bf16")
    f0_stats = {s: dataset.f0_stats(s) for s in dataset.speakers} if model_cfg.pitch else None
    state = build_state(model_cfg, dataset.features, dataset.speakers, cfg, device, f0_stats)
    sampler = CropSampler(dataset, dataset.speakers, cfg.crop_frames, device, with_f0=model_cfg.pitch)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.warmup):
        train_step(state, sampler, device)
    synchronize(device)
    warmup_s = time.perf_counter() - start

    wait_for_idle(args.wait_idle)
    monitor = GpuUtilisation(device) if device.type == "cuda" else contextlib.nullcontext()
    steps, start = 0, time.perf_counter()
    with monitor, CpuMeter() as cpu:
        while steps < args.min_steps or time.perf_counter() - start < args.seconds:
            train_step(state, sampler, device)
            steps += 1
        synchronize(device)
    elapsed = cpu.wall
    result = {
        "batch": batch, "steps": steps, "seconds_per_step": elapsed / steps, "steps_per_s": steps / elapsed,
        "pairs_per_s": batch * steps / elapsed, "warmup_s_per_step": warmup_s / max(args.warmup, 1),
        "cpu": str(cpu),
    }
    if device.type == "cuda":
        result["gpu_util"] = monitor.mean
        result["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        result["reserved_gib"] = torch.cuda.max_memory_reserved(device) / 2**30
    del state, sampler
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)) or "out of memory" in text or "can't allocate memory" in text


def sweep(dataset: Dataset, model_name: str, device: torch.device, args: argparse.Namespace) -> tuple[list[dict], str]:
    """Measure batch sizes upward by doubling. Returns the rows and why the search stopped."""
    rows: list[dict] = []
    batch = args.batch
    while batch <= args.max_batch:
        try:
            row = measure(dataset, model_name, batch, device, args)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            if device.type == "cuda":
                torch.cuda.empty_cache()
            return rows, f"out of memory at batch {batch}"
        rows.append(row)
        print_row(model_name, row, device)
        predicted = 2 * max(row["seconds_per_step"], row["warmup_s_per_step"] if args.warmup else 0)
        if 2 * batch <= args.max_batch and predicted > args.step_limit:
            return rows, f"batch {2 * batch} would take ~{predicted:.0f} s per step (> --step-limit {args.step_limit:g} s)"
        batch *= 2
    return rows, f"reached --max-batch {args.max_batch}"


def print_row(model_name: str, row: dict, device: torch.device) -> None:
    cells = [
        f"{model_name:>12}", f"{row['batch']:>5}", f"{row['steps_per_s']:9.3f}", f"{row['pairs_per_s']:9.2f}",
        f"{row['seconds_per_step']:8.3f}", f"{row['steps']:>5}",
    ]
    if device.type == "cuda":
        util = "n/a" if row["gpu_util"] is None else f"{row['gpu_util']:.0f}%"
        cells += [f"{util:>6}", f"{row['peak_gib']:7.2f} GiB"]
    else:
        cells.append(row["cpu"])
    ref = REFERENCE_PAIRS_PER_S.get(row["batch"])
    if ref is not None:
        cells.append(f"{row['pairs_per_s'] / ref:.3g}x the reference's {ref:g} pairs/s (H100)")
    print("  ".join(cells), flush=True)


def print_ratios(results: dict[str, list[dict]], models: list[str]) -> None:
    """Crop pairs/s of every model over the first one's, batch by batch (same crops, same data)."""
    base = models[0]
    by_batch = {r["batch"]: r["pairs_per_s"] for r in results.get(base, [])}
    for name in models[1:]:
        for row in results.get(name, []):
            if row["batch"] in by_batch:
                print(f"{name} / {base} at batch {row['batch']}: {row['pairs_per_s'] / by_batch[row['batch']]:.1f}x the crop pairs/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--dataset", type=Path, default=None, help="a prepared dataset (default: prepare SF1 + TM1 in the work dir)")
    parser.add_argument("--models", nargs="+", type=model_spec, default=["seed", "tiny"],
                        help="model presets; NAME@bf16 trains under CPU bf16 autocast (where the CPU has it natively)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=4, help="first batch size (default: %(default)s)")
    parser.add_argument("--max-batch", type=int, default=None, help="largest batch to try (default: 64 on CPU, 128 on CUDA)")
    parser.add_argument("--step-limit", type=float, default=15.0, help="stop doubling when a step would exceed this many seconds")
    parser.add_argument("--crop", type=int, default=128, help="frames per crop (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 1 on CPU, 5 on CUDA)")
    parser.add_argument("--min-steps", type=int, default=None, help="timed steps at least (default: 2 on CPU, 20 on CUDA)")
    parser.add_argument("--seconds", type=float, default=None, help="timed seconds at least (default: 8 on CPU, 5 on CUDA)")
    parser.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN pick kernels by timing them")
    parser.add_argument("--workers", type=int, default=None, help="prepare processes when a dataset is made (default: one per usable core)")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except VaeganError as exc:
        parser.error(str(exc))
    cuda = device.type == "cuda"
    args.max_batch = args.max_batch or (128 if cuda else 64)
    args.warmup = (5 if cuda else 1) if args.warmup is None else args.warmup
    args.min_steps = (20 if cuda else 2) if args.min_steps is None else max(args.min_steps, 1)
    args.seconds = (5.0 if cuda else 8.0) if args.seconds is None else args.seconds
    if args.batch <= 0 or args.max_batch < args.batch:
        parser.error("--batch must be positive and at most --max-batch")
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark

    print(environment(args.threads))
    with work_dir(args.work_dir) as work:
        if args.dataset is None:
            check_data(parser, args.data)
            args.dataset = prepare_pair_dataset(args.data, work / "vcc2016-pair", args.workers)
        dataset = Dataset(args.dataset)
        print(f"dataset {args.dataset} ({', '.join(dataset.speakers)}); device {device}; crops {args.crop} frames; "
              f"warm-up {args.warmup} step(s), then >= {args.min_steps} steps and >= {args.seconds:g} s per batch size")
        head = [f"{'model':>12}", "batch", "steps/s", "pairs/s", "s/step", "steps"] + (["GPU", "peak mem"] if cuda else ["CPU use"])
        print("  ".join(head))
        summary, results = [], {}
        for model_name in args.models:
            rows, why = sweep(dataset, model_name, device, args)
            results[model_name] = rows
            if rows:
                best = max(rows, key=lambda r: r["pairs_per_s"])
                summary.append(
                    f"{model_name}: batch {rows[0]['batch']} {rows[0]['pairs_per_s']:.2f} pairs/s; largest tried batch "
                    f"{rows[-1]['batch']} {rows[-1]['pairs_per_s']:.2f} pairs/s; best batch {best['batch']} "
                    f"{best['pairs_per_s']:.2f} pairs/s (search stopped: {why})"
                )
            else:
                summary.append(f"{model_name}: nothing measured ({why})")
        print("\n" + "\n".join(summary))
        print_ratios(results, args.models)


if __name__ == "__main__":
    sys.exit(main())
