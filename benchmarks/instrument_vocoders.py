"""Griffin-Lim (music preset) against HiFi-GAN V1 universal (hifigan preset) on real instrument notes.

    .venv/bin/python benchmarks/instrument_vocoders.py DATASET [--split test] [--max-notes N]

DATASET is a `--features music` dataset (for example one prepared from `data synth-instruments`).
Each held-out note is vocoded two ways, with no conversion in between:
- Griffin-Lim from the note's music-preset mel (44.1 kHz, 128 mels to 16 kHz), as a music model
  is vocoded;
- HiFi-GAN V1 universal from the note's hifigan-preset mel (the note resampled to 22.05 kHz,
  80 mels to 8 kHz), as a model prepared with `--features hifigan` would be vocoded; its output is
  resampled back to 44.1 kHz.

Both outputs are then judged as `evaluate --music` judges a conversion: mel SSIM against the real
note (music-preset mel, full band, and hifigan-preset mel, the band both vocoders cover), pitch
error in cents (WORLD Harvest) and share within 50 cents, the share the timbre classifier assigns
to the right instrument, and the Fréchet distance to the real notes. It prints one Markdown table
per instrument and one over all notes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from common import environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-notes", type=int, default=None, help="per instrument")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(environment(args.threads))

    from vaegan_vc.audio import mel_features, resample
    from vaegan_vc.config import feature_preset
    from vaegan_vc.data.dataset import Dataset
    from vaegan_vc.evaluation.music import TimbreJudge, cents_error, embedding, note_f0
    from vaegan_vc.evaluation.ssim import mel_ssim
    from vaegan_vc.evaluation.stats import mean_ci, share_ci
    from vaegan_vc.vocoders import load_vocoder, vocode_long

    ds = Dataset(args.dataset)
    music = ds.features
    if music.name != "music":
        raise SystemExit(f"{ds.folder}: prepared with --features {music.name}; this compares vocoders on the music preset")
    speech = feature_preset("hifigan")
    vocoders = {"griffin-lim": (music, load_vocoder("griffin-lim", music)),
                "hifigan-v1": (speech, load_vocoder("hifigan", speech))}
    judge = TimbreJudge.fit(ds, args.split)
    print(f"classifier on real {args.split} notes: {judge.accuracy['mean']:.2f} (n = {judge.accuracy['n']})\n")

    rows: dict[tuple[str, str], list[dict]] = {}
    seconds = {name: 0.0 for name in vocoders}
    audio_seconds = 0.0
    for instrument in ds.speakers:
        for u in sorted(ds.select(instrument, args.split), key=lambda u: u.utt_id)[:args.max_notes]:
            real = ds.wav(u)
            audio_seconds += len(real) / music.sample_rate
            ref_f0 = note_f0(real, music)
            ref_music = ds.mel(u).numpy()
            ref_speech = mel_features(resample(real, music.sample_rate, speech.sample_rate), speech).numpy()
            for name, (cfg, vocoder) in vocoders.items():
                mel = ds.mel(u) if cfg is music else torch.from_numpy(ref_speech)
                start = time.perf_counter()
                out = vocode_long(vocoder, mel).numpy()
                seconds[name] += time.perf_counter() - start
                out = resample(out, cfg.sample_rate, music.sample_rate) if cfg is not music else out
                out_music = mel_features(out, music).numpy()
                out_speech = mel_features(resample(out, music.sample_rate, speech.sample_rate), speech).numpy()
                rows.setdefault((instrument, name), []).append({
                    "ssim_full": mel_ssim(out_music, ref_music), "ssim_8k": mel_ssim(out_speech, ref_speech),
                    "cents": cents_error(note_f0(out, music), ref_f0), "embedding": embedding(out_music),
                })
    real_embeddings = {s: np.stack([embedding(ds.mel(u).numpy()) for u in ds.select(s, args.split)]) for s in ds.speakers}

    def summary(instrument: str | None, name: str) -> str:
        keys = [k for k in rows if k[1] == name and (instrument is None or k[0] == instrument)]
        picked = [(k[0], r) for k in keys for r in rows[k]]
        predicted = judge.predict(np.stack([r["embedding"] for _, r in picked]))
        cents = [r["cents"] for _, r in picked]
        real = np.concatenate([real_embeddings[k[0]] for k in keys])
        fd = judge.fd(real, np.stack([r["embedding"] for _, r in picked]))
        ssim_full, ssim_8k = mean_ci([r["ssim_full"] for _, r in picked]), mean_ci([r["ssim_8k"] for _, r in picked])
        within = share_ci([None if c is None else c <= 50 for c in cents])
        right = share_ci([p == s for p, (s, _) in zip(predicted, picked)])
        med = np.median([c for c in cents if c is not None])
        return (f"| {instrument or 'all'} | {name} | {len(picked)} | {ssim_full['mean']:.3f} ± {ssim_full['ci95']:.3f} | "
                f"{ssim_8k['mean']:.3f} ± {ssim_8k['ci95']:.3f} | {med:.1f} | {within['mean']:.2f} | "
                f"{right['mean']:.2f} | {fd:.1f} |")

    print("| instrument | vocoder | notes | SSIM full band ↑ | SSIM 0–8 kHz ↑ | pitch error (median cents) ↓ | "
          "within 50 cents ↑ | classified right ↑ | Fréchet ↓ |")
    print("|---|---|---|---|---|---|---|---|---|")
    for instrument in [*ds.speakers, None]:
        for name in vocoders:
            print(summary(instrument, name))
    print()
    for name in vocoders:
        print(f"{name}: RTF {seconds[name] / audio_seconds:.3f} on {args.threads} threads ({audio_seconds:.0f} s of notes)")


if __name__ == "__main__":
    main()
