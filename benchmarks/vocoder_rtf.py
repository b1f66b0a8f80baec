"""Real-time factor of each vocoder on the CPU, and copy-synthesis mel error of Griffin-Lim vs HiFi-GAN.

RTF = seconds of compute per second of audio (below 1 is faster than real time), on a 10 s
utterance built from VCC2016 sentences, with 2 torch threads by default. HiFi-GAN speed does not
depend on the weights, so V2/V3 (no pretrained weights here) are timed with random weights.

Copy synthesis: audio → features → vocoder → features again; the mean |Δ ln-mel| between the two
says how faithfully a vocoder renders a mel it is given (0 = perfect).

    python benchmarks/vocoder_rtf.py
    python benchmarks/vocoder_rtf.py --threads 4 --repeats 3 --quality-utts 10
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from common import add_common_args, check_data, cpu_seconds, cpu_share, environment
from vaegan_vc.audio import list_audio, load_audio, mel_features
from vaegan_vc.config import feature_preset
from vaegan_vc.errors import VaeganError
from vaegan_vc.vocoders.hifigan.load import HiFiGANVocoder, load_hifigan
from vaegan_vc.vocoders.hifigan.model import HiFiGANGenerator, hifigan_config
from vaegan_vc.vocoders import GriffinLimVocoder, Vocoder, vocode_long

SECONDS = 10.0
SPEAKERS = ["SF1", "SM1", "TF1", "TM1", "SF2", "TM2"]


def long_utterance(data: Path, sample_rate: int, seconds: float) -> np.ndarray:
    """Consecutive SF1 sentences, concatenated and cut to exactly `seconds`."""
    pieces, total = [], 0
    for path in list_audio(data / "SF1"):
        pieces.append(load_audio(path, sample_rate))
        total += len(pieces[-1])
        if total >= seconds * sample_rate:
            break
    return np.concatenate(pieces)[: int(seconds * sample_rate)]


def time_vocoder(vocoder: Vocoder, feats: torch.Tensor, repeats: int, cores: int) -> tuple[float, str]:
    """(best RTF over `repeats` runs, CPU share of that run) for feats [n_mels, T]."""
    vocode_long(vocoder, feats[:, :64])  # warm-up: first-call allocations and kernel selection
    audio_seconds = feats.shape[-1] * vocoder.features.hop_length / vocoder.features.sample_rate
    best, share = float("inf"), ""
    for _ in range(repeats):
        cpu, start = cpu_seconds(), time.perf_counter()
        vocode_long(vocoder, feats)
        wall = time.perf_counter() - start
        if wall / audio_seconds < best:
            best, share = wall / audio_seconds, cpu_share(cpu_seconds() - cpu, wall, cores)
    return best, share


def hifigan_vocoders() -> list[tuple[str, HiFiGANVocoder]]:
    features = feature_preset("hifigan")
    out = []
    try:
        out.append(("hifigan v1 (universal)", load_hifigan()))
    except VaeganError as exc:
        logging.warning("universal HiFi-GAN not timed: %s", exc)
    for name in ("v1", "v2", "v3"):
        generator = HiFiGANGenerator(hifigan_config(name, features.n_mels, features.hop_length))
        out.append((f"hifigan {name} (random weights)", HiFiGANVocoder(generator, features)))
    return out


def copy_synthesis_error(vocoder: Vocoder, wav: np.ndarray) -> float:
    """Mean |Δ ln-mel| between the input audio and its vocoded copy (vocoder's own features)."""
    cfg = vocoder.features
    feats = mel_features(wav, cfg)
    out = vocode_long(vocoder, feats)
    scale = cfg.norm_max - cfg.norm_min  # normalised units → ln (or dB) units
    return float((mel_features(out, cfg) - feats).abs().mean() * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per vocoder; the best counts (default: 2)")
    parser.add_argument("--quality-utts", type=int, default=6, help="utterances for copy synthesis, 0 to skip (default: 6)")
    args = parser.parse_args()
    check_data(parser, args.data)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    print(environment(args.threads))

    hifi, seed = feature_preset("hifigan"), feature_preset("seed")
    candidates: list[tuple[str, Vocoder]] = [
        ("griffin-lim 32 it (seed preset, 16 kHz)", GriffinLimVocoder(seed)),
        ("griffin-lim 32 it (hifigan preset, 22 kHz)", GriffinLimVocoder(hifi)),
        *hifigan_vocoders(),
    ]
    print(f"\nRTF on a {SECONDS:.0f} s utterance (compute s / audio s; < 1 is faster than real time)")
    for name, vocoder in candidates:
        feats = mel_features(long_utterance(args.data, vocoder.features.sample_rate, SECONDS), vocoder.features)
        rtf, share = time_vocoder(vocoder, feats, args.repeats, args.threads)
        print(f"  {name:<44} RTF {rtf:6.3f}   ({share})")

    if args.quality_utts:
        print(f"\ncopy synthesis, mean |Δ ln-mel| at the hifigan preset over {args.quality_utts} VCC2016 utterances")
        files = [list_audio(args.data / s)[-1 - i // len(SPEAKERS)] for i, s in
                 zip(range(args.quality_utts), SPEAKERS * args.quality_utts)]
        wavs = [load_audio(f, hifi.sample_rate) for f in files]
        for name, vocoder in candidates:
            if vocoder.features != hifi or "random" in name:
                continue
            errors = [copy_synthesis_error(vocoder, w) for w in wavs]
            print(f"  {name:<44} {np.mean(errors):.3f} ± {np.std(errors):.3f}")


if __name__ == "__main__":
    main()
