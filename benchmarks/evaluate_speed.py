"""How long `evaluate` takes to score one pair's test set (54 utterances by default) on this machine.

Stand-in conversions: SF2's recordings of the same sentences, written as SF1_to_TM1/<utt>.wav
(scoring cost depends on duration only, not on how good a conversion is). Two timings:
  cold  — empty cache: references (source transcripts, embeddings, WORLD features, centroids)
          are analysed as well as the conversions;
  warm  — the conversions are rewritten (as a new model's would be), the references come from
          the cache: what re-evaluating a new model costs.
Run: .venv/bin/python benchmarks/evaluate_speed.py [--utts 54] [--no-aids] [--workers N] [--vcc DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from pathlib import Path

from vaegan_vc.audio import load_audio, save_audio
from vaegan_vc.data.prepare import split_ids
from vaegan_vc.evaluation import EvalOptions, evaluate_dirs

VCC = Path(__file__).resolve().parents[2] / "shared" / "data" / "vcc2016"


def make_conversions(vcc: Path, folder: Path, utts: list[str]) -> None:
    for utt in utts:
        save_audio(folder / "SF1_to_TM1" / f"{utt}.wav", load_audio(vcc / "SF2" / f"{utt}.flac", 16000), 16000)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished workers."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_run(conv: Path, vcc: Path, out: Path, options: EvalOptions) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (this process and its workers), and the results."""
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    results = evaluate_dirs(conv, vcc, out, options)
    return time.perf_counter() - wall0, cpu_seconds() - cpu0, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utts", type=int, default=54, help="test utterances of the pair (default: 54 = a third of VCC2016)")
    parser.add_argument("--no-aids", action="store_true", help="skip the no-conversion baseline")
    parser.add_argument("--vcc", type=Path, default=VCC)
    parser.add_argument("--workers", type=int, default=None, help="analysis processes (default: one per core)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ids = sorted(p.stem for p in (args.vcc / "SF1").glob("*.flac"))
    split = split_ids(ids, seed=0, val_fraction=0.0, test_fraction=args.utts / len(ids))
    utts = sorted(u for u, s in split.items() if s == "test")[: args.utts]
    options = EvalOptions(pairs=(("SF1", "TM1"),), aids=not args.no_aids, progress=False, force=True,
                          workers=args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        conv, out = Path(tmp) / "converted", Path(tmp) / "out"
        make_conversions(args.vcc, conv, utts)
        cold = timed_run(conv, args.vcc, out, options)
        make_conversions(args.vcc, conv, utts)  # a "new model": new files, new mtimes
        warm = timed_run(conv, args.vcc, out, options)
    seconds = sum(float(load_audio(args.vcc / "SF2" / f"{u}.flac", 16000).size) for u in utts) / 16000
    load = os.getloadavg()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    scored = warm[2]["overall"]["converted"]["scored"]
    print(f"evaluate, one pair (SF1→TM1), {len(utts)} utterances ({seconds:.0f} s of speech), "
          f"{os.cpu_count()} CPU cores, workers {args.workers or 'one per core'}, reading aids {'off' if args.no_aids else 'on'}:")
    print(f"  cold cache (references analysed too): {cold[0]:6.1f} s wall, {cold[1]:6.1f} s CPU")
    print(f"  warm cache (new conversions only):    {warm[0]:6.1f} s wall, {warm[1]:6.1f} s CPU "
          f"({warm[0] / max(scored, 1):.2f} s per utterance, {warm[0] / seconds:.2f}× real time)")
    print(f"  scored {scored}/{len(utts)}; peak memory {peak_mb:.0f} MB (largest worker {worker_mb:.0f} MB); load average at the end {load[0]:.1f}")


if __name__ == "__main__":
    main()
