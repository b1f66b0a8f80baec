"""PyTorch against onnxruntime, part by part, on the same clip and the same export.

    .venv/bin/python benchmarks/onnx_speed.py [--model vcc2016] [--seconds 10] [--threads 2]

Exports MODEL (one target voice + HiFi-GAN V1) to a temporary folder, then times the model
(encoder + generator) and the vocoder in both runtimes (median of 3 after a warm-up), and prints
the ratio and the largest feature difference.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from bundled_speed import median_time
from common import DEFAULT_DATA, environment
from speech import speech_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vcc2016")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(environment(args.threads))

    from vaegan_vc.audio import mel_features
    from vaegan_vc.convert import convert_features, load_model, source_f0
    from vaegan_vc.onnx_export import export_onnx
    from vaegan_vc.onnx_runtime import load_onnx
    from vaegan_vc.vocoders import load_vocoder, vocode_long

    loaded = load_model(args.model)
    target = loaded.speakers[1]
    vocoder = load_vocoder("hifigan", loaded.features)
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(loaded, Path(tmp) / "onnx", [target], vocoder)
        onnx_loaded, onnx_vocoder = load_onnx(Path(tmp) / "onnx")
        wav = speech_clip(DEFAULT_DATA, "SF1", args.seconds, loaded.features.sample_rate)
        audio = len(wav) / loaded.features.sample_rate
        feats, f0 = mel_features(wav, loaded.features), source_f0(loaded, wav)
        mel_t = convert_features(loaded, feats, target, f0)
        mel_o = convert_features(onnx_loaded, feats, target, f0)
        rows = {
            "model": (median_time(lambda: convert_features(loaded, feats, target, f0)),
                      median_time(lambda: convert_features(onnx_loaded, feats, target, f0))),
            "vocoder (HiFi-GAN V1)": (median_time(lambda: vocode_long(vocoder, mel_t)),
                                      median_time(lambda: vocode_long(onnx_vocoder, mel_t))),
        }
    print(f"{audio:.1f} s of speech, {args.threads} threads; max |feature difference| {float((mel_t - mel_o).abs().max()):.2e}")
    print(f"{'part':<24}{'torch RTF':>11}{'onnx RTF':>11}{'speed-up':>10}")
    for name, (t, o) in rows.items():
        print(f"{name:<24}{t / audio:>11.4f}{o / audio:>11.4f}{t / o:>9.2f}x")


if __name__ == "__main__":
    main()
