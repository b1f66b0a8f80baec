"""Wall time of `prepare` over a whole corpus (VCC2016 by default), per feature preset.

Prints seconds, minutes of source audio per second and files per second, then a per-stage
breakdown (load+resample / loudness / trim / features / F0) of a few files in one process, which says
where the time goes.

    python benchmarks/prepare_speed.py                       # seed and hifigan presets, all CPUs
    python benchmarks/prepare_speed.py --workers 2 --presets seed
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import soundfile as sf

from common import CpuMeter, add_common_args, check_data, environment, wait_for_idle, work_dir
from vaegan_vc.audio import load_audio, mel_features, normalize_loudness, trim_silence
from vaegan_vc.config import FEATURE_PRESETS, feature_preset
from vaegan_vc.cores import usable_cores
from vaegan_vc.data.prepare import SPLITS, find_speakers, prepare
from vaegan_vc.pitch import extract_f0

TARGET_SECONDS = 60.0  # all of VCC2016 on 2 cores


def source_minutes(found: dict[str, list[Path]]) -> tuple[int, float]:
    files = [f for fs in found.values() for f in fs]
    return len(files), sum(sf.info(str(f)).duration for f in files) / 60


def time_prepare(data: Path, out: Path, preset: str, speakers: list[str] | None, workers: int) -> tuple[float, CpuMeter, dict]:
    """(wall seconds, CPU use, dataset.json) of one prepare run."""
    with CpuMeter() as cpu:
        info = prepare(data, out, feature_preset(preset), speakers=speakers, workers=workers, force=True, progress=False)
    return cpu.wall, cpu, info


def stage_breakdown(files: list[Path], preset: str) -> dict[str, float]:
    """Seconds per stage summed over `files`, in this process with one torch thread."""
    import torch

    torch.set_num_threads(1)
    cfg = feature_preset(preset)
    totals = dict.fromkeys(("load+resample", "loudness", "trim", "features", "F0"), 0.0)
    mel_features(normalize_loudness(load_audio(files[0], cfg.sample_rate), cfg.sample_rate), cfg)  # imports, caches
    for f in files:
        t0 = time.perf_counter()
        wav = load_audio(f, cfg.sample_rate)
        t1 = time.perf_counter()
        wav = normalize_loudness(wav, cfg.sample_rate)
        t2 = time.perf_counter()
        wav = trim_silence(wav, cfg.sample_rate)
        t3 = time.perf_counter()
        mel_features(wav[: len(wav) // cfg.hop_length * cfg.hop_length], cfg)
        t4 = time.perf_counter()
        extract_f0(wav[: len(wav) // cfg.hop_length * cfg.hop_length], cfg)
        t5 = time.perf_counter()
        for key, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            totals[key] += dt
    return totals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--workers", type=int, default=usable_cores(), help="prepare processes (default: one per usable core, %(default)s)")
    parser.add_argument("--presets", nargs="+", choices=sorted(FEATURE_PRESETS), default=["seed", "hifigan"])
    parser.add_argument("--speakers", nargs="+", default=None, help="a subset of speakers (default: all)")
    parser.add_argument("--profile-files", type=int, default=40, help="files for the per-stage breakdown (0: skip)")
    args = parser.parse_args(argv)
    check_data(parser, args.data)
    logging.basicConfig(level=logging.WARNING)

    found = find_speakers(args.data, args.speakers)
    n_files, minutes = source_minutes(found)
    print(environment())
    print(f"corpus {args.data}: {len(found)} speakers, {n_files} files, {minutes:.1f} min of audio; workers {args.workers}")
    with work_dir(args.work_dir) as work:
        for preset in args.presets:
            wait_for_idle(args.wait_idle)
            seconds, cpu, info = time_prepare(args.data, work / f"prepared-{preset}", preset, args.speakers, args.workers)
            kept = sum(sum(stats[s]["minutes"] for s in SPLITS) for stats in info["speakers"].values())
            verdict = "" if preset != "seed" else f"  (target < {TARGET_SECONDS:.0f} s on 2 cores: {'met' if seconds < TARGET_SECONDS else 'MISSED'})"
            print(
                f"prepare [{preset:>7}]: {seconds:6.1f} s | {minutes / seconds:5.2f} min of audio/s "
                f"({minutes * 60 / seconds:5.1f}x real time) | {n_files / seconds:6.1f} files/s | "
                f"{kept:.1f} min kept after trimming, {len(info['skipped'])} skipped; {cpu}{verdict}"
            )
        if args.profile_files > 0:
            files = [f for fs in found.values() for f in fs][: args.profile_files]
            for preset in args.presets:
                totals = stage_breakdown(files, preset)
                total = sum(totals.values())
                cells = ", ".join(f"{k} {v / len(files) * 1000:.1f} ms ({v / total:.0%})" for k, v in totals.items())
                print(f"per file, 1 process [{preset:>7}]: {cells}")


if __name__ == "__main__":
    sys.exit(main())
