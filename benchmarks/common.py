"""Shared helpers for the benchmark scripts: default paths, scratch folders, memory and environment."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/data/vcc2016"
PAIR_SPEAKERS = ["SF1", "TM1"]


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="VCC2016 folder with one sub-folder per speaker (default: %(default)s)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep scratch data here (created if missing) instead of a temporary folder")


@contextlib.contextmanager
def work_dir(path: Path | None) -> Iterator[Path]:
    """The given folder (kept afterwards) or a temporary one (removed afterwards)."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="vaegan-bench-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_data(parser: argparse.ArgumentParser, data: Path) -> None:
    if not data.is_dir():
        parser.error(f"{data}: no such folder (pass --data)")


def memory_mib() -> dict[str, float]:
    """This process's VmRSS / RssAnon / RssFile / VmHWM from /proc/self/status, in MiB (Linux only)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024  # kB → MiB
    return out


def environment(threads: int | None = None) -> str:
    """One line naming what the figures were measured on."""
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    parts = [
        datetime.date.today().isoformat(), f"python {sys.version.split()[0]}", f"torch {torch.__version__}",
        f"numpy {np.__version__}", f"{os.cpu_count()} CPUs ({cpu})",
    ]
    if threads is not None:
        parts.append(f"torch threads {threads}")
    parts.append(f"load avg {os.getloadavg()[0]:.1f}")
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    return " | ".join(parts)


def cpu_seconds() -> float:
    """CPU time used so far by this process (all threads) and its reaped children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_share(cpu: float, wall: float, cores: int) -> str:
    """How many of `cores` the timed code kept busy; well under `cores` means waiting or other
    processes competing for the CPUs, so the figure beside it is pessimistic."""
    return f"CPU {cpu / wall:.2f}/{cores} cores"


def prepare_pair_dataset(data: Path, out: Path, workers: int | None = None) -> Path:
    """A seed-feature dataset of the SF1 / TM1 pair under OUT (reused when already complete)."""
    from vaegan_vc.config import feature_preset
    from vaegan_vc.data.prepare import DATASET_FILE, prepare

    if not (out / DATASET_FILE).is_file():
        prepare(data, out, feature_preset("seed"), speakers=PAIR_SPEAKERS, workers=workers, force=True, progress=False)
    return out
