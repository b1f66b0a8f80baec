"""`vaegan-vc vocoder ...`: thin subcommands over vocoder training."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_types import positive_int

# The generator configs of vocoders/hifigan/model.py, spelled out so that building the parser needs no torch.
CONFIG_NAMES = ("v1", "v2", "v3", "tiny")


def add_vocoder_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `vocoder train` to the main parser's subcommands; each sets `func(args) -> exit code`."""
    vocoder = subparsers.add_parser("vocoder", help="train or fine-tune a HiFi-GAN vocoder")
    commands = vocoder.add_subparsers(dest="vocoder_command", metavar="COMMAND", required=True)
    train = commands.add_parser(
        "train", help="train HiFi-GAN on a prepared dataset (resumes when RUN_DIR has checkpoints)",
        description="Train HiFi-GAN on DATASET_DIR's train split. Running the same command again "
        "resumes from the newest checkpoint in RUN_DIR; any checkpoint folder there is a vocoder "
        "for --vocoder-checkpoint. With --finetune-from it is matched to a trained VAE-GAN.",
    )
    train.add_argument("dataset_dir", type=Path, metavar="DATASET_DIR", help="folder written by `vaegan-vc prepare`")
    train.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="checkpoints, run.json and TensorBoard logs go here")
    train.add_argument("--config", choices=CONFIG_NAMES, default="v1", help="generator size (default: v1)")
    train.add_argument(
        "--init", default=None, metavar="universal|PATH",
        help="start from the pretrained universal V1 ('universal'; needs the 'hifigan' feature preset) "
        "or from a vocoder file/folder; default: random",
    )
    train.add_argument(
        "--finetune-from", type=Path, default=None, metavar="VAEGAN_MODEL",
        help="match the vocoder to a trained VAE-GAN (model or run folder with the dataset's feature preset): "
        "the generator hears its reconstructions of the training utterances, computed once into "
        "RUN_DIR/finetune_mels/, while the losses compare with the real audio; speakers it does not "
        "know are left out",
    )
    train.add_argument("--steps", type=positive_int, default=100_000, help="total training steps (default: 100000)")
    train.add_argument("--batch-size", type=positive_int, default=16, help="segments per step (default: 16)")
    train.add_argument("--segment-size", type=positive_int, default=8192, help="samples per segment, a multiple of the hop (default: 8192)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto", help="default: cuda when available")
    train.add_argument("--checkpoint-every", type=positive_int, default=5000, help="steps between checkpoints (default: 5000)")
    train.add_argument("--force", action="store_true", help="discard an existing run in RUN_DIR and start over")
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from .hifigan.train import train_vocoder  # torch and tensorboard load only when a command runs

    folder = train_vocoder(
        args.dataset_dir, args.run_dir, config=args.config, init=args.init, finetune_from=args.finetune_from,
        steps=args.steps, batch_size=args.batch_size, segment_size=args.segment_size, device=args.device,
        checkpoint_every=args.checkpoint_every, force=args.force,
    )
    from ..distributed import from_environment

    if from_environment().main:  # under torchrun, one line from rank 0
        print(f"vocoder checkpoint: {folder}")
    return 0
