"""`vaegan-vc vocoder ...`: thin subcommands over vocoder training."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_types import positive_int
from .hifigan.settings import VocoderTrainConfig

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
    train.add_argument("--config", choices=CONFIG_NAMES, default="v1", help="generator size (default: %(default)s)")
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
    d = VocoderTrainConfig()  # the defaults, as the run's settings have them
    train.add_argument("--steps", type=positive_int, default=d.steps, help="total training steps (default: %(default)s)")
    train.add_argument("--batch-size", type=positive_int, default=d.batch_size, help="segments per step (default: %(default)s)")
    train.add_argument("--segment-size", type=positive_int, default=d.segment_size,
                       help="samples per segment, a multiple of the hop (default: %(default)s)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto", help="default: cuda when available")
    train.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every,
                       help="steps between checkpoints, validation and plots (default: %(default)s)")
    train.add_argument("--keep-checkpoints", type=positive_int, default=d.keep_checkpoints,
                       help="checkpoints kept (default: %(default)s)")
    train.add_argument("--log-every", type=positive_int, default=d.log_every,
                       help="steps between logged training losses (default: %(default)s)")
    train.add_argument("--no-tensorboard", action="store_true")
    train.add_argument("--force", action="store_true",
                       help="start over: delete RUN_DIR's checkpoints, logs and plots (a changed run is refused without it)")
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from .hifigan.train import train_vocoder  # torch and tensorboard load only when a command runs

    folder = train_vocoder(
        args.dataset_dir, args.run_dir, config=args.config, init=args.init, finetune_from=args.finetune_from,
        steps=args.steps, batch_size=args.batch_size, segment_size=args.segment_size, device=args.device,
        checkpoint_every=args.checkpoint_every, keep_checkpoints=args.keep_checkpoints, log_every=args.log_every,
        force=args.force, tensorboard=not args.no_tensorboard,
    )
    from ..distributed import from_environment

    if from_environment().main:  # under torchrun, one line from rank 0
        print(f"vocoder checkpoint: {folder}")
    return 0
