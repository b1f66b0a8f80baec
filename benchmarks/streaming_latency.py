"""Streaming conversion on 60 s of speech: the latency budget, compute per step, and closeness to offline.

    .venv/bin/python benchmarks/streaming_latency.py [--model vcc2016] [--runtime torch onnx] [--threads 2]
        [--block-ms 93] [--lookahead 5] [--vocoder-context 2]

latency = block + lookahead (which holds the SOLA search and cross-fade) + compute (99th percentile
of a step). An underrun is a step that took longer than a block. Closeness: the streamed and the
offline conversion of the same clip (pitch mode "keep", so both use the same F0), as the mean
absolute difference of their normalised log-mels and as MCD (WORLD mel-cepstra, DTW).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from common import DEFAULT_DATA, environment
from speech import speech_clip


def closeness(streamed: np.ndarray, offline: np.ndarray, features) -> tuple[float, float]:
    from vaegan_vc.audio import mel_features
    from vaegan_vc.evaluation.mcd import compare, world_features

    n = min(len(streamed), len(offline))
    mel = float((mel_features(streamed[:n], features) - mel_features(offline[:n], features)).abs().mean())
    sr = features.sample_rate
    mcd = compare(world_features(streamed[:n].astype(np.float64), sr), world_features(offline[:n].astype(np.float64), sr))["mcd_db"]
    return mel, mcd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vcc2016")
    parser.add_argument("--runtime", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--block-ms", type=float, default=93.0)
    parser.add_argument("--lookahead", type=int, default=5, help="frames")
    parser.add_argument("--vocoder-context", type=int, default=2, help="frames")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(environment(args.threads))

    import vaegan_vc
    from vaegan_vc.onnx_export import export_onnx
    from vaegan_vc.streaming import StreamConfig, paced_blocks, report

    vc = vaegan_vc.load(args.model, vocoder="hifigan")
    target = vc.speakers[1]
    hop_ms = 1000 * vc.loaded.features.hop_length / vc.sample_rate
    cfg = StreamConfig(block_frames=max(1, round(args.block_ms / hop_ms)), lookahead_frames=args.lookahead,
                       vocoder_context=args.vocoder_context)
    wav = speech_clip(DEFAULT_DATA, "SF1", args.seconds, vc.sample_rate)
    offline, _ = vc.convert(wav, vc.sample_rate, target, pitch_mode="keep")
    print(f"{len(wav) / vc.sample_rate:.0f} s of SF1 → {target}; block {cfg.block_frames} frames, lookahead "
          f"{cfg.lookahead_frames}, vocoder context {cfg.vocoder_context}, cross-fade {cfg.crossfade} + search {cfg.search} samples")
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in args.runtime:
            runner = vc
            if runtime == "onnx":
                export_onnx(vc.loaded, Path(tmp) / "onnx", [target], vc.vocoder)
                runner = vaegan_vc.load(Path(tmp) / "onnx", runtime="onnx")
            blocks = paced_blocks(wav, vc.sample_rate, 0.1, pace=False)
            streamed = np.concatenate(list(runner.stream(blocks, vc.sample_rate, target, pitch_mode="keep", config=cfg)))
            result = report(runner.last_streamer)
            mel, mcd = closeness(streamed, offline, vc.loaded.features)
            print(f"[{runtime}] {result.summary()}")
            print(f"[{runtime}] streamed vs offline: mel L1 {mel:.4f}, MCD {mcd:.2f} dB")


if __name__ == "__main__":
    main()
