"""The bundled model as a user meets it: load time, and the RTF of each part of a conversion.

    .venv/bin/python benchmarks/bundled_speed.py [--model vcc2016] [--seconds 10] [--threads 2]

Load time is measured in fresh processes (median of --repeats), split into the model and the
HiFi-GAN V1 vocoder. RTF = compute seconds / audio seconds on a `--seconds` clip of SF1 speech,
for features (log-mel + F0), the model and the vocoder, median of 3 runs after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch

from common import DEFAULT_DATA, environment
from speech import speech_clip

LOAD_SNIPPET = """
import json, time, torch
torch.set_num_threads({threads})
t0 = time.perf_counter()
from vaegan_vc.convert import load_model
loaded = load_model({model!r})
t1 = time.perf_counter()
from vaegan_vc.vocoders import load_vocoder
load_vocoder("hifigan", loaded.features)
t2 = time.perf_counter()
print(json.dumps({{"model": t1 - t0, "vocoder": t2 - t1}}))
"""


def load_times(model: str, threads: int, repeats: int) -> dict[str, float]:
    rows = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET.format(model=model, threads=threads)],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def median_time(fn, runs: int = 3) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vcc2016")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(environment(args.threads))
    load = load_times(args.model, args.threads, args.repeats)
    print(f"load (fresh process, after import torch; vaegan_vc imports included): model {load['model']:.2f} s, HiFi-GAN V1 {load['vocoder']:.2f} s")

    from vaegan_vc.audio import mel_features
    from vaegan_vc.convert import convert_features, load_model, source_f0
    from vaegan_vc.vocoders import load_vocoder, vocode_long

    loaded = load_model(args.model)
    vocoder = load_vocoder("hifigan", loaded.features)
    wav = speech_clip(DEFAULT_DATA, "SF1", args.seconds, loaded.features.sample_rate)
    audio = len(wav) / loaded.features.sample_rate
    feats, f0 = mel_features(wav, loaded.features), source_f0(loaded, wav)
    target = loaded.speakers[1]
    converted = convert_features(loaded, feats, target, f0)
    parts = {
        "features (log-mel + F0)": median_time(lambda: (mel_features(wav, loaded.features), source_f0(loaded, wav))),
        "model": median_time(lambda: convert_features(loaded, feats, target, f0)),
        "vocoder (HiFi-GAN V1)": median_time(lambda: vocode_long(vocoder, converted)),
    }
    print(f"RTF on {audio:.1f} s of speech, {args.threads} threads:")
    for name, seconds in parts.items():
        print(f"  {name:<26} {seconds / audio:.4f}")
    print(f"  {'end to end':<26} {sum(parts.values()) / audio:.4f}")


if __name__ == "__main__":
    main()
