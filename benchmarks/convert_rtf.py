"""Real-time factor of `convert_wav` on a 10 s utterance with Griffin-Lim, split into its stages.

RTF = compute seconds / audio seconds (features + model + vocoder; the model load is timed apart).
Model weights are freshly initialised: speed does not depend on their values. Then the vocoder's
two stages (mel → linear magnitude by NNLS multiplicative updates, then Griffin-Lim) are timed
at several iteration counts, which is where the time can be traded for quality.

    python benchmarks/convert_rtf.py                     # seed model, 2 threads
    python benchmarks/convert_rtf.py --model fast --features hifigan   # + the F0 stage
    python benchmarks/convert_rtf.py --model tiny --threads 4 --seconds 30
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from common import CpuMeter, add_common_args, check_data, environment, wait_for_idle, work_dir
from vaegan_vc import checkpoint as ckpt
from vaegan_vc.audio import (
    denormalize, list_audio, load_audio, mel_features, mel_filterbank, normalize_loudness,
)
from vaegan_vc.vocoders.griffin_lim import features_to_linear, griffin_lim
from vaegan_vc.config import MODEL_PRESETS, feature_preset, model_preset
from vaegan_vc.convert import convert_features, convert_wav, load_model, source_f0
from vaegan_vc.models.vaegan import VAEGAN
from vaegan_vc.vocoders import load_vocoder, vocode_long

TARGET_RTF = 0.2
SOURCE, TARGET = "SF1", "TM1"


def long_utterance(data: Path, sample_rate: int, seconds: float) -> np.ndarray:
    """Consecutive SF1 sentences, loudness-normalised as convert does, cut to exactly `seconds`."""
    pieces, total = [], 0
    for path in list_audio(data / SOURCE):
        pieces.append(normalize_loudness(load_audio(path, sample_rate), sample_rate))
        total += len(pieces[-1])
        if total >= seconds * sample_rate:
            break
    if total < seconds * sample_rate:
        raise SystemExit(f"{data / SOURCE}: only {total / sample_rate:.1f} s of audio, {seconds:g} s asked for")
    return np.concatenate(pieces)[: int(seconds * sample_rate)]


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """(best seconds, median seconds, last result) over `repeats` calls."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), out


def mel_residual(magnitude: torch.Tensor, mel_features_: torch.Tensor, features) -> float:
    """||M·S − mel|| / ||mel||: how well the linear magnitude S reproduces the mel it came from."""
    mel = 10 ** (denormalize(mel_features_, features) / 20) if features.log == "db" else torch.exp(denormalize(mel_features_, features))
    return float((mel_filterbank(features) @ magnitude - mel).norm() / mel.norm())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--model", choices=MODEL_PRESETS, default="seed")
    parser.add_argument("--features", choices=["seed", "hifigan"], default="seed", help="feature preset (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="utterance length (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; best and median shown (default: %(default)s)")
    parser.add_argument("--gl-iters", type=int, nargs="*", default=[8, 16, 32], help="Griffin-Lim iterations to time (empty: skip)")
    parser.add_argument("--nnls-iters", type=int, nargs="*", default=[0, 10, 30], help="mel → linear iterations to time (empty: skip)")
    args = parser.parse_args(argv)
    check_data(parser, args.data)
    torch.set_num_threads(args.threads)
    features = feature_preset(args.features)

    print(environment(args.threads))
    with work_dir(args.work_dir) as work:
        torch.manual_seed(0)
        model_dir = work / f"model-{args.model}"
        model_cfg = model_preset(args.model, features.n_mels)
        stats = {s: {"log_mean": 5.0, "log_std": 0.2} for s in (SOURCE, TARGET)} if model_cfg.pitch else None
        ckpt.save_model(model_dir, VAEGAN(model_cfg, [SOURCE, TARGET], stats), features)
        start = time.perf_counter()
        loaded = load_model(model_dir)
        load_s = time.perf_counter() - start
    vocoder = load_vocoder("griffin-lim", loaded.features)
    wav = long_utterance(args.data, features.sample_rate, args.seconds)
    audio_s = len(wav) / features.sample_rate
    convert_wav(loaded, wav[: features.sample_rate], TARGET, vocoder)  # warm-up: allocations, caches

    print(f"{args.model} model, {audio_s:.1f} s of {SOURCE} → {TARGET}, Griffin-Lim {vocoder.n_iter} it; model load {load_s:.2f} s (not counted)")
    wait_for_idle(args.wait_idle)
    with CpuMeter() as cpu:
        best, median, out = timed(lambda: convert_wav(loaded, wav, TARGET, vocoder), args.repeats)
    verdict = "met" if best / audio_s <= TARGET_RTF else "MISSED"
    print(f"convert_wav: best {best:.3f} s, median {median:.3f} s → RTF {best / audio_s:.3f} (median {median / audio_s:.3f}); "
          f"target <= {TARGET_RTF}: {verdict}; {cpu}")
    assert len(out) == len(wav) // features.hop_length * features.hop_length

    wait_for_idle(args.wait_idle)
    with CpuMeter() as split_cpu:
        feats_best, _, feats = timed(lambda: mel_features(wav, loaded.features), args.repeats)
        f0_best, _, f0 = timed(lambda: source_f0(loaded, wav), args.repeats)
        model_best, _, converted = timed(lambda: convert_features(loaded, feats, TARGET, f0), args.repeats)
        voc_best, _, _ = timed(lambda: vocode_long(vocoder, converted), args.repeats)
        mel = converted.unsqueeze(0)
        nnls_best, _, magnitude = timed(lambda: features_to_linear(mel, loaded.features), args.repeats)
        gl_best, _, _ = timed(lambda: griffin_lim(magnitude, loaded.features, n_iter=vocoder.n_iter), args.repeats)
    total = feats_best + f0_best + model_best + voc_best
    print(f"split (best of each stage, RTF; {split_cpu}):")
    for name, seconds in (("features", feats_best), ("F0 (pyworld DIO + StoneMask)", f0_best), ("model", model_best), ("vocoder", voc_best),
                          ("  of which mel → linear (NNLS, 30 it)", nnls_best), (f"  of which Griffin-Lim ({vocoder.n_iter} it)", gl_best)):
        print(f"  {name:<38} {seconds:7.3f} s  RTF {seconds / audio_s:.3f}  ({seconds / total:4.0%})")

    wait_for_idle(args.wait_idle)
    if args.nnls_iters:
        cells = []
        for n in args.nnls_iters:
            seconds, _, spec = timed(lambda: features_to_linear(mel, loaded.features, n_iter=n), args.repeats)
            cells.append(f"{n} it {seconds:.3f} s (mel residual {mel_residual(spec, mel, loaded.features):.4f})")
        print("mel → linear magnitude by iterations:", ", ".join(cells))
    if args.gl_iters:
        print("Griffin-Lim by iterations:", ", ".join(
            f"{n} it {timed(lambda: griffin_lim(magnitude, loaded.features, n_iter=n), args.repeats)[0]:.3f} s" for n in args.gl_iters))


if __name__ == "__main__":
    sys.exit(main())
