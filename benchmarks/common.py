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
import time
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
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before each measurement, wait up to this long for other processes to leave the CPUs idle")


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
    """How many of `cores` the timed code kept busy (its own CPU seconds over wall seconds)."""
    return f"CPU {cpu / wall:.2f}/{cores} cores"


def _busy_seconds() -> float:
    """CPU time the whole machine has been busy since boot (all processes, steal included)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Cores kept busy by this process (and its children) and by everything else, over a block.

    Other processes competing for the CPUs make every figure beside them pessimistic.
    """

    def __enter__(self) -> "CpuMeter":
        self._own, self._busy, self._wall = cpu_seconds(), _busy_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.own = (cpu_seconds() - self._own) / self.wall
        self.others = max(0.0, (_busy_seconds() - self._busy) / self.wall - self.own)

    def __str__(self) -> str:
        return f"CPU: this {self.own:.2f}, others {self.others:.2f} of {os.cpu_count()} cores"


def wait_for_idle(timeout: float, threshold: float = 0.2, window: float = 2.0) -> None:
    """Wait (at most `timeout` s) until other processes use under `threshold` cores for `window` s.

    On a shared machine a competitor makes torch's thread pool wait at every parallel region, and
    small-tensor code (crop sampling, Griffin-Lim) then runs several times slower.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with CpuMeter() as cpu:
            time.sleep(window)
        if cpu.others < threshold:
            return
    if timeout > 0:
        print(f"  [still busy after waiting {timeout:g} s: others use {cpu.others:.2f} cores]", flush=True)


def prepare_pair_dataset(data: Path, out: Path, workers: int | None = None) -> Path:
    """A seed-feature dataset of the SF1 / TM1 pair under OUT (reused when already complete)."""
    from vaegan_vc.config import feature_preset
    from vaegan_vc.data.prepare import DATASET_FILE, prepare

    if not (out / DATASET_FILE).is_file():
        prepare(data, out, feature_preset("seed"), speakers=PAIR_SPEAKERS, workers=workers, force=True, progress=False)
    return out
