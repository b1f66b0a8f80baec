"""Voice conversion and timbre transfer: prepare recordings of a few speakers (or instruments),
train a VAE-GAN on them, convert any recording into one of their voices, and score the result."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .cli_types import finite_float, fraction, non_negative_float, non_negative_int, positive_float, positive_int
from .config import MODEL_PRESETS, train_defaults
from .errors import VaeganError

log = logging.getLogger("vaegan_vc")

LOSS_FLAGS = ("gan", "kl", "recon", "cycle_kl", "cycle", "latent", "fm", "content", "gan_cycle")
TRAIN_FLAGS = ("steps", "batch_size", "lr", "seed", "checkpoint_every", "keep_checkpoints", "crop_frames", "ema_decay", "cpu_bf16")


def _speaker_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of speakers")
    return names


# ----------------------------------------------------------------------------- data


def cmd_fetch(args: argparse.Namespace) -> int:
    from .data.corpora import fetch

    kwargs = {"speakers": args.speakers, "source": args.source, "force": args.force}
    if args.subset:
        kwargs["subset"] = args.subset
    dest = fetch(args.corpus, args.dest, **kwargs)
    print(f"corpus ready in {dest}")
    return 0


def _midi_range(text: str) -> tuple[int, ...]:
    try:
        parts = [int(x) for x in text.split(":")]
        lo, hi, step = (parts + [1])[:3] if len(parts) in (2, 3) else (None, None, None)
    except ValueError:
        lo = None
    if lo is None or not 0 <= lo <= hi <= 127 or step < 1:
        raise argparse.ArgumentTypeError(f"expected LO:HI[:STEP] MIDI notes within 0..127, got '{text}'")
    return tuple(range(lo, hi + 1, step))


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def cmd_synth_instruments(args: argparse.Namespace) -> int:
    from .data.instruments import DEFAULT_INSTRUMENTS, SynthPlan, synth_instruments

    defaults = SynthPlan()
    plan = SynthPlan(instruments=tuple(args.instruments or DEFAULT_INSTRUMENTS), pitches=args.pitches or defaults.pitches,
                     velocities=args.velocities or defaults.velocities, note_seconds=args.note_seconds,
                     melodies=args.melodies, sample_rate=args.sample_rate, seed=args.seed)
    record = synth_instruments(args.dest, plan, args.soundfont, force=args.force)
    print(f"{len(record['notes'])} notes × {len(plan.instruments)} instruments rendered into {args.dest}"
          + (f"; {len(record['skipped'])} skipped (see corpus.json)" if record["skipped"] else ""))
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from .config import feature_preset
    from .data.prepare import prepare, summary_table

    if args.val_fraction + args.test_fraction >= 1:
        raise VaeganError(f"--val-fraction {args.val_fraction} + --test-fraction {args.test_fraction} leave nothing to train on (their sum must be below 1)")
    info = prepare(
        args.src_dir, args.out_dir, feature_preset(args.features), speakers=args.speakers, seed=args.seed,
        workers=args.workers, val_fraction=args.val_fraction, test_fraction=args.test_fraction, force=args.force,
    )
    print(summary_table(info))
    print(f"dataset written to {args.out_dir}")
    return 0


# ----------------------------------------------------------------------------- train


def cmd_train(args: argparse.Namespace) -> int:
    from .train import FitOptions, fit, resume_settings

    given = {name: getattr(args, name) for name in TRAIN_FLAGS if getattr(args, name) is not None}
    weights = {k: getattr(args, f"{k}_weight") for k in LOSS_FLAGS if getattr(args, f"{k}_weight") is not None}
    model, speakers, cfg = resume_settings(args.run_dir, args.model, args.speakers, given, weights)
    state = fit(
        args.dataset_dir, args.run_dir, model, cfg, speakers,
        FitOptions(device=args.device, log_every=args.log_every, tensorboard=not args.no_tensorboard, force=args.force),
    )
    if state.ctx.main:
        print(f"trained to step {state.step}; model in {args.run_dir / 'checkpoints'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .checkpoint import CONFIG_FILE, MODEL_FILE
    from .io import copy_file_atomic, refuse_overlap, refuse_to_overwrite
    from .convert import load_model, model_folder

    src = model_folder(args.run_dir)
    refuse_overlap(args.out_dir, {"run or model folder": src})
    refuse_to_overwrite(args.out_dir, args.force)
    if args.onnx:
        return _export_onnx(args, src)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.fp16:
        from .checkpoint import save_model

        loaded = load_model(src)
        save_model(args.out_dir, loaded.model, loaded.features, half=True)
    else:
        for name in (MODEL_FILE, CONFIG_FILE):  # config.json last: it marks a complete model folder
            copy_file_atomic(src / name, args.out_dir / name)
    print(f"exported {src} to {args.out_dir}{' (fp16 weights)' if args.fp16 else ''}")
    return 0


def _export_onnx(args: argparse.Namespace, src: Path) -> int:
    from .convert import load_model
    from .onnx_export import export_onnx
    from .vocoders import load_vocoder, resolve_vocoder_name

    loaded = load_model(src)
    vocoder = None
    if args.vocoder != "none":
        name = resolve_vocoder_name(args.vocoder, loaded.features)
        if name == "hifigan":
            vocoder = load_vocoder("hifigan", loaded.features)
        elif args.vocoder != "auto":
            raise VaeganError(f"--vocoder {args.vocoder}: only HiFi-GAN is exported to ONNX (or give none)")
    export_onnx(loaded, args.out_dir, args.speakers, vocoder)
    print(f"exported {src} to {args.out_dir} as ONNX ({'with' if vocoder else 'without'} the HiFi-GAN vocoder)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .api import load
    from .listening import build_page

    from .bundled import default_model_name

    model = args.model or default_model_name()
    vc = load(model, vocoder=args.vocoder, device=args.device)
    path = build_page(vc, args.out_dir, args.sources, force=args.force, model_name=str(model))
    print(f"open {path} in a browser ({len(vc.speakers)} voices; wavs beside it)")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .bundled import registry

    models = registry()
    if not models:
        print("no bundled models in this installation")
        return 0
    print(f"{'name':<14}{'speakers':<42}{'features':<10}{'size':>9}  licence")
    for m in models.values():
        print(f"{m.name:<14}{','.join(m.speakers):<42}{m.features:<10}{m.size_bytes / 2**20:>7.1f} MB  {m.licence}")
        print(f"{'':<14}{m.description}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import load
    from .bundled import default_model_name
    from .web.deps import require_web
    from .web.uploads import Limits

    require_web()
    from .web.server import serve

    model = args.model or default_model_name()
    vc = load(model, vocoder=args.vocoder, device=args.device, runtime=args.runtime)
    limits = Limits(max_bytes=int(args.max_upload_mb * 2**20), max_seconds=args.max_seconds)
    print(f"serving {model} ({len(vc.speakers)} voices, vocoder {vc.vocoder.name}) on http://{args.host}:{args.port}/")
    serve(vc, str(model), args.host, args.port, limits, args.workers, args.queue)
    return 0


# ----------------------------------------------------------------------------- convert


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert import PitchOptions, check_pitch_use, convert_path, default_pitch_mode, load_model
    from .devices import resolve_device
    from .vocoders import load_vocoder

    if args.runtime == "onnx":
        from .api import load

        vc = load(args.model, args.vocoder, args.vocoder_checkpoint, runtime="onnx")
        loaded, vocoder = vc.loaded, vc.vocoder
    else:
        device = str(resolve_device(args.device))
        loaded = load_model(args.model, device)
        vocoder = load_vocoder(args.vocoder, loaded.features, args.vocoder_checkpoint, device)
    pitch = PitchOptions(default_pitch_mode(loaded.features, args.pitch_mode), args.pitch_shift)
    loaded.model.check_speaker(args.target)
    check_pitch_use(loaded, pitch)
    if args.stream:
        return _convert_stream(args, loaded, vocoder)
    failures = convert_path(loaded, args.input, args.target, args.out_dir, vocoder, force=args.force, pitch=pitch)
    if failures:
        print(f"{len(failures)} file(s) failed:", file=sys.stderr)
        for f, why in failures:
            print(f"  {why}", file=sys.stderr)
        return 1
    print(f"converted to {args.target}: {args.out_dir}/gen (sources through the vocoder in ref/, plots in plots/)")
    return 0


def _stream_config(args: argparse.Namespace, hop_ms: float):
    from .streaming import StreamConfig

    return StreamConfig(block_frames=max(1, round(args.block_ms / hop_ms)))


def _convert_stream(args: argparse.Namespace, loaded, vocoder) -> int:
    from .api import VoiceConverter
    from .io import refuse_to_overwrite
    from .streaming import stream_file

    if not args.input.is_file():
        raise VaeganError(f"{args.input}: --stream converts one audio file")
    refuse_to_overwrite(args.out_dir, args.force)
    vc = VoiceConverter(loaded, vocoder)
    out = args.out_dir / "gen" / args.input.with_suffix(".wav").name
    hop_ms = 1000 * loaded.features.hop_length / loaded.features.sample_rate
    result = stream_file(vc, args.input, args.target, out, args.pitch_shift, _stream_config(args, hop_ms),
                         pace=not args.no_pace, pitch_mode=args.pitch_mode)
    print(f"streamed {args.input} → {out}")
    print(result.summary())
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from .api import load
    from .bundled import default_model_name
    from .live import live

    vc = load(args.model or default_model_name(), vocoder=args.vocoder, runtime=args.runtime)
    vc.loaded.model.check_speaker(args.target)
    hop_ms = 1000 * vc.loaded.features.hop_length / vc.sample_rate
    print(f"converting the microphone into {args.target}; Ctrl-C stops")
    result = live(vc, args.target, args.pitch_shift, _stream_config(args, hop_ms), args.input_device, args.output_device)
    print(result.summary())
    return 0


# ----------------------------------------------------------------------------- parser


def _add_data(sub) -> None:
    data = sub.add_parser("data", help="get public corpora").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("fetch", help="download (or copy) a corpus into DEST/<speaker>/")
    p.add_argument("corpus", choices=["vcc2016", "flickr8k", "librispeech", "tedlium", "nsynth", "urmp"])
    p.add_argument("dest", type=Path)
    p.add_argument("--speakers", "--instruments", dest="speakers", type=_speaker_list,
                   help="comma-separated speaker ids, or instruments for nsynth (families: brass,string,…) "
                        "and urmp (trumpet,violin,…); corpus default otherwise")
    p.add_argument("--source", help="local folder/archive or URL to use instead of the official download")
    p.add_argument("--subset", help="corpus subset (LibriSpeech: dev-clean, train-clean-100, …; NSynth: test, valid, train)")
    p.add_argument("--force", action="store_true", help="replace a complete corpus already in DEST")
    p.set_defaults(func=cmd_fetch)

    r = data.add_parser("synth-instruments", help="render a parallel instrument corpus with FluidSynth (no download)")
    r.add_argument("dest", type=Path)
    r.add_argument("--instruments", type=_speaker_list, default=None,
                   help="General MIDI program names (default: trumpet,violin,flute,cello)")
    r.add_argument("--pitches", type=_midi_range, default=None, metavar="LO:HI[:STEP]",
                   help="MIDI notes of the single notes (default: 55:80:2, G3 to G5 in whole tones)")
    r.add_argument("--velocities", type=_int_list, default=None, help="comma-separated MIDI velocities (default: 75,100,125)")
    r.add_argument("--note-seconds", type=positive_float, default=1.5, help="held length of a single note (default: %(default)s)")
    r.add_argument("--melodies", type=non_negative_int, default=8, help="seeded 8-note melodies per instrument (default: %(default)s)")
    r.add_argument("--sample-rate", type=positive_int, default=44100, help="default: 44100")
    r.add_argument("--soundfont", type=Path, help="a General MIDI .sf2 (default: Debian's fluid-soundfont-gm)")
    r.add_argument("--seed", type=int, default=0, help="melody seed (default: %(default)s)")
    r.add_argument("--force", action="store_true", help="replace a corpus already in DEST")
    r.set_defaults(func=cmd_synth_instruments)


def _add_prepare(sub) -> None:
    p = sub.add_parser("prepare", help="audio folders → dataset folder (features + seeded split)")
    p.add_argument("src_dir", type=Path, help="one sub-folder per speaker with wav/flac/ogg/mp3 files")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--speakers", type=_speaker_list, help="comma-separated subset of the speaker folders")
    p.add_argument("--features", choices=["seed", "hifigan", "music"], default="hifigan",
                   help="feature preset: hifigan (default; 22.05 kHz, for the HiFi-GAN vocoder), seed (the paper's, Griffin-Lim) "
                        "or music (instruments: 44.1 kHz, 128 mels to 16 kHz, Griffin-Lim)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default: %(default)s)")
    p.add_argument("--workers", type=positive_int, default=None, help="parallel processes (default: one per usable core)")
    p.add_argument("--val-fraction", type=fraction, default=0.1, help="share of utterance ids for validation (default: %(default)s)")
    p.add_argument("--test-fraction", type=fraction, default=0.1, help="share of utterance ids for testing (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite OUT_DIR")
    p.set_defaults(func=cmd_prepare)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train (or resume) a many-to-many VAE-GAN")
    p.add_argument("dataset_dir", type=Path)
    p.add_argument("run_dir", type=Path, help="run folder; running again on it resumes")
    p.add_argument("--model", choices=MODEL_PRESETS, default=None,
                   help="seed (the paper), small, tiny (smoke runs), fast (1-D, pitch-aware, for the CPU) and its "
                        "ablations; default: fast")
    p.add_argument("--speakers", type=_speaker_list, help="train on these dataset speakers only")
    seed, fast = train_defaults("seed"), train_defaults("fast")

    def default(name: str) -> str:  # the defaults as config.py has them, never copied here
        a, b = getattr(seed, name), getattr(fast, name)
        return f"(default: {a})" if a == b else f"(default: {a}; fast models {b})"

    p.add_argument("--steps", type=positive_int, help=f"total steps {default('steps')}")
    p.add_argument("--batch-size", type=positive_int, help=f"crops per speaker per step {default('batch_size')}")
    p.add_argument("--crop-frames", type=positive_int,
                   help=f"crop length in frames, a multiple of the latent's downsampling {default('crop_frames')}")
    p.add_argument("--lr", type=positive_float, help=f"Adam learning rate {default('lr')}")
    p.add_argument("--seed", type=int, help=f"training seed {default('seed')}")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help=f"steps between checkpoints, validation and plots {default('checkpoint_every')}")
    p.add_argument("--keep-checkpoints", type=positive_int, help=f"checkpoints kept {default('keep_checkpoints')}")
    p.add_argument("--cpu-bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="on a CPU with native bf16 (AVX512-BF16, AMX), train under bf16 autocast; fp32 on other CPUs "
                        f"{default('cpu_bf16')}")
    p.add_argument("--ema-decay", type=fraction,
                   help=f"checkpoints deploy this moving average of the weights, 0 = the trained weights {default('ema_decay')}")
    for key in LOSS_FLAGS:
        p.add_argument(f"--{key.replace('_', '-')}-weight", type=non_negative_float, help=f"weight of the '{key}' loss")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="default: auto (CUDA, else Apple MPS, else the CPU)")
    p.add_argument("--log-every", type=positive_int, default=50, help="steps between logged training losses (default: %(default)s)")
    p.add_argument("--no-tensorboard", action="store_true")
    p.add_argument("--force", action="store_true",
                   help="start over: delete RUN_DIR's checkpoints, logs and plots (a changed run is refused without it)")
    p.set_defaults(func=cmd_train)


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="convert a file or folder to a target speaker")
    p.add_argument("model", type=Path, help="run folder (newest checkpoint), model folder, or a bundled model's name (see `vaegan-vc models`)")
    p.add_argument("input", type=Path, help="audio file or folder (mirrored in the output)")
    p.add_argument("--target", required=True, help="target speaker")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--vocoder", default="auto",
                   help="auto (default: hifigan for a hifigan-preset model when its extra is installed, else griffin-lim), griffin-lim or hifigan")
    p.add_argument("--vocoder-checkpoint", type=Path, help="vocoder weights (HiFi-GAN)")
    p.add_argument("--pitch-mode", choices=["auto", "keep"], default=None,
                   help="pitch-aware models: auto moves the source's F0 into the target's range (default for voices), "
                        "keep leaves it (default for music-preset models: instruments keep their notes)")
    p.add_argument("--pitch-shift", type=finite_float, default=0.0, metavar="SEMITONES",
                   help="transpose the output by this many semitones, within ±24 (pitch-aware models)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="default: auto (CUDA, else Apple MPS, else the CPU)")
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch",
                   help="onnx: MODEL is a folder from `export --onnx`, run with onnxruntime on the CPU (default: torch)")
    p.add_argument("--stream", action="store_true",
                   help="run one file through the streaming path at real-time pace and report the latency")
    p.add_argument("--no-pace", action="store_true", help="with --stream: feed the blocks as fast as they convert")
    p.add_argument("--block-ms", type=positive_float, default=93.0, help="with --stream: audio per step (default: %(default)s ms)")
    p.add_argument("--force", action="store_true", help="write into an existing OUT_DIR")
    p.set_defaults(func=cmd_convert)

    lv = sub.add_parser("live", help="convert the microphone into a voice on the speakers, in real time (PortAudio)")
    lv.add_argument("model", nargs="?", help="bundled model name, model folder, or ONNX export with --runtime onnx (default: the bundled vcc2016)")
    lv.add_argument("--target", required=True, help="target voice")
    lv.add_argument("--pitch-shift", type=finite_float, default=0.0, metavar="SEMITONES", help="transpose the output (±24)")
    lv.add_argument("--block-ms", type=positive_float, default=93.0, help="audio per step (default: %(default)s ms)")
    lv.add_argument("--vocoder", default="auto", help="auto (default), griffin-lim or hifigan")
    lv.add_argument("--runtime", choices=["torch", "onnx"], default="torch", help="default: torch")
    lv.add_argument("--input-device", help="PortAudio input device (name or index; default: the system's)")
    lv.add_argument("--output-device", help="PortAudio output device (default: the system's)")
    lv.set_defaults(func=cmd_live)

    e = sub.add_parser("export", help="copy a run's newest model (model.safetensors + config.json)")
    e.add_argument("run_dir", type=Path)
    e.add_argument("out_dir", type=Path)
    e.add_argument("--fp16", action="store_true", help="store the weights in half precision (half the size; loaded in fp32)")
    e.add_argument("--onnx", action="store_true", help="write ONNX files (encoder, generators, HiFi-GAN) for onnxruntime instead")
    e.add_argument("--speakers", type=_speaker_list, help="with --onnx: the target voices to export (default: all)")
    e.add_argument("--vocoder", default="auto", help="with --onnx: auto (HiFi-GAN for hifigan features, default), hifigan, or none")
    e.add_argument("--force", action="store_true")
    e.set_defaults(func=cmd_export)

    m = sub.add_parser("models", help="list the models bundled with vaegan-vc (usable by name in convert)")
    m.set_defaults(func=cmd_models)

    d = sub.add_parser("demo", help="convert example sentences into every voice of a model; write a listening page")
    d.add_argument("model", nargs="?", help="a bundled model's name (see `vaegan-vc models`; default: vcc2016), a model folder or a run folder")
    d.add_argument("out_dir", type=Path, help="index.html and the converted wavs go here")
    d.add_argument("--sources", type=Path, nargs="+", help="audio files to convert (default: the bundled VCC2016 examples)")
    d.add_argument("--vocoder", default="auto", help="auto (default), griffin-lim or hifigan")
    d.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="cpu", help="default: cpu")
    d.add_argument("--force", action="store_true", help="write into an existing OUT_DIR")
    d.set_defaults(func=cmd_demo)


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="a local web page: upload or record a voice, convert it, listen and download")
    p.add_argument("model", nargs="?", help="a bundled model's name, a model folder or a run folder (default: the bundled vcc2016 model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this computer only)")
    p.add_argument("--port", type=positive_int, default=8000, help="default: 8000")
    p.add_argument("--vocoder", default="auto", help="auto (default), griffin-lim or hifigan")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="cpu", help="default: cpu")
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch", help="onnx: MODEL is an `export --onnx` folder")
    p.add_argument("--workers", type=positive_int, default=1, help="conversions run at once (default: %(default)s)")
    p.add_argument("--queue", type=non_negative_int, default=4, help="conversions that may wait for a worker; more get 'busy' (default: %(default)s)")
    p.add_argument("--max-upload-mb", type=positive_float, default=20.0, help="largest upload (default: %(default)s MB)")
    p.add_argument("--max-seconds", type=positive_float, default=60.0, help="longest audio converted (default: %(default)s s)")
    p.set_defaults(func=cmd_serve)


def _add_optional(sub) -> None:
    """Subcommands whose modules are optional parts of the package."""
    try:
        from .evaluation.cli import add_evaluate_command
    except ImportError:
        pass
    else:
        add_evaluate_command(sub)
    try:
        from .vocoders.cli import add_vocoder_commands
    except ImportError:
        pass
    else:
        add_vocoder_commands(sub)


class _Parser(argparse.ArgumentParser):
    """argparse, plus a hint when a file name that starts with '-' was read as an option."""

    argv: list[str] = []

    def error(self, message: str):
        dashed = [a for a in _Parser.argv if a.startswith("-") and len(a) > 1 and Path(a).exists()]
        if dashed:
            message += f" ('{dashed[0]}' is a file name read as an option: write ./{dashed[0]}, or put -- before it)"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vaegan-vc", description=__doc__,
        epilog="A typical session: vaegan-vc prepare SPEAKERS/ ds/ --features hifigan; vaegan-vc train ds/ run/ "
               "--model fast; vaegan-vc convert run/ me.wav --target TM1 out/ --vocoder hifigan. "
               "`vaegan-vc COMMAND --help` lists a command's options with their defaults. "
               "Put -- before a file name that starts with '-'.",
    )
    parser.add_argument("--version", action="version", version=f"vaegan-vc {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_data(sub)
    _add_prepare(sub)
    _add_train(sub)
    _add_convert(sub)
    _add_serve(sub)
    _add_optional(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _Parser.argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except VaeganError as exc:
        print(f"vaegan-vc: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file system said no: a full disk, a read-only folder, a file for a folder
        where = exc.filename or "output"
        print(f"vaegan-vc: error: {where}: {(exc.strerror or str(exc)).lower()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vaegan-vc: interrupted (a training run resumes from its last checkpoint)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
