"""VAE-GAN training: a TrainState plus short step / validate / checkpoint / fit functions."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from . import checkpoint as ckpt
from . import distributed
from .config import FeatureConfig, ModelConfig, TrainConfig, model_preset
from .data.dataset import CropSampler, Dataset
from .ema import make_ema, update_ema
from .devices import cpu_has_native_bf16, resolve_device
from .errors import VaeganError
from .io import refuse_overlap
from .losses import Pitch, discriminator_losses, generator_losses, weighted_total
from .models.vaegan import VAEGAN, Discriminators
from .progress import progress_bar
from .runs import RunFolder, TrainingLog, check_finite, linear_decay_lr, load_state, save_state, set_lr
from .runs import TrainingDiverged, read_metrics  # noqa: F401  (part of this module's API)
from .train_plots import ConversionSamples, validation_pairs

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Everything that decides the rest of the trajectory; saved whole at each checkpoint."""

    model: VAEGAN
    discs: Discriminators
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    data_rng: torch.Generator  # crops and speaker pairs (CPU)
    noise_rng: torch.Generator  # ε of the VAE (on the training device)
    step: int = 0
    features: FeatureConfig | None = None
    cfg: TrainConfig = field(default_factory=TrainConfig)
    # Multi-process runs (torchrun): every rank draws the same speaker pair from `data_rng` but its
    # own crops from `crop_rng`; the objectives are then DistributedDataParallel modules.
    ctx: distributed.DistContext = distributed.SINGLE
    crop_rng: torch.Generator | None = None  # None: crops come from data_rng (one process)
    generator_objective: Callable | None = None
    discriminator_objective: Callable | None = None
    ema: VAEGAN | None = None  # the weight average checkpoints deploy (cfg.ema_decay > 0)

    @property
    def deployed(self) -> VAEGAN:
        """The model that checkpoints write to model.safetensors, validation scores and plots show."""
        return self.ema if self.ema is not None else self.model

    @property
    def crops_rng(self) -> torch.Generator:
        return self.crop_rng if self.crop_rng is not None else self.data_rng


def build_state(model_cfg: ModelConfig, features: FeatureConfig, speakers: list[str], cfg: TrainConfig, device: torch.device,
                f0_stats: dict[str, dict[str, float]] | None = None) -> TrainState:
    torch.manual_seed(cfg.seed)  # weight initialisation
    model = VAEGAN(model_cfg, speakers, f0_stats).to(device)
    discs = Discriminators(model_cfg, speakers).to(device)
    # Each parameter once: the shared generator block sits in `model.shared`, not in every
    # generator, so it gets one update per step (the reference's optimizer listed it twice).
    opt_g = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas)
    opt_d = torch.optim.Adam(discs.parameters(), lr=cfg.lr, betas=cfg.betas)
    data_rng = torch.Generator().manual_seed(cfg.seed + 1)
    noise_rng = torch.Generator(device=device).manual_seed(cfg.seed + 2)
    ema = make_ema(model) if cfg.ema_decay > 0 else None
    return TrainState(model, discs, opt_g, opt_d, data_rng, noise_rng, 0, features, cfg, ema=ema)


class GeneratorObjective(torch.nn.Module):
    """The generator-side losses as one module, so DistributedDataParallel can wrap them. The
    discriminators are held aside (not a submodule): the generator update does not train them."""

    def __init__(self, model: VAEGAN, discs: Discriminators):
        super().__init__()
        self.model = model
        object.__setattr__(self, "discs", discs)

    def forward(self, x_a, x_b, a, b, noise, pitch, weights):
        return generator_losses(self.model, self.discs, x_a, x_b, a, b, noise, pitch, weights)


class DiscriminatorObjective(torch.nn.Module):
    def __init__(self, discs: Discriminators):
        super().__init__()
        self.discs = discs

    def forward(self, x_a, x_b, fake_ab, fake_ba, a, b, cycles=None):
        return discriminator_losses(self.discs, x_a, x_b, fake_ab, fake_ba, a, b, cycles)


def make_distributed(state: TrainState, ctx: distributed.DistContext, device: torch.device) -> None:
    """Per-rank crop and noise generators, and the two objectives wrapped in DistributedDataParallel."""
    cfg = state.cfg
    state.ctx = ctx
    state.crop_rng = torch.Generator().manual_seed(cfg.seed + 1 + 7919 * (ctx.rank + 1))
    if ctx.rank:
        state.noise_rng = torch.Generator(device=device).manual_seed(cfg.seed + 2 + 7919 * ctx.rank)
    partial = len(state.model.speakers) > 2
    state.generator_objective = distributed.wrap(GeneratorObjective(state.model, state.discs), ctx, device, partial)
    state.discriminator_objective = distributed.wrap(DiscriminatorObjective(state.discs), ctx, device, partial)


def pick_pair(speakers: list[str], rng: torch.Generator) -> tuple[str, str]:
    """A random unordered speaker pair; both directions are trained in the same step."""
    i, j = torch.randperm(len(speakers), generator=rng)[:2].tolist()
    return speakers[i], speakers[j]


def precision(device: torch.device, cfg: TrainConfig) -> str:
    """'bf16' (autocast) on CUDA, and on a CPU with native bf16 when cfg.cpu_bf16 (1.7× the steps
    per second of fp32 for the fast family on an AVX512-BF16 core); 'fp32' elsewhere. Either way a
    run is exactly reproducible on the same machine."""
    if device.type == "cuda" or (device.type == "cpu" and cfg.cpu_bf16 and cpu_has_native_bf16()):
        return "bf16"
    return "fp32"


def _autocast(device: torch.device, cfg: TrainConfig):
    if precision(device, cfg) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def train_step(state: TrainState, sampler: CropSampler, device: torch.device) -> dict[str, Tensor]:
    """One generator update then one discriminator update on a random speaker pair."""
    cfg = state.cfg
    a, b = pick_pair(state.model.speakers, state.data_rng)
    x_a, f0_a = sampler.sample_with_f0(a, cfg.batch_size, state.crops_rng)
    x_b, f0_b = sampler.sample_with_f0(b, cfg.batch_size, state.crops_rng)
    x_a, x_b = x_a.to(device, non_blocking=True), x_b.to(device, non_blocking=True)
    pitch = _pitch(state.model, a, b, f0_a, f0_b, device)
    set_lr([state.opt_g, state.opt_d], linear_decay_lr(state.step, cfg.steps, cfg.lr))

    g_objective = state.generator_objective or (lambda *args: generator_losses(state.model, state.discs, *args))
    d_objective = state.discriminator_objective or (lambda *args: discriminator_losses(state.discs, *args))
    parallel = state.ctx.world > 1
    if parallel:  # no discriminator gradients in the generator update: DDP would sync them out of turn
        state.discs.requires_grad_(False)
    with _autocast(device, cfg):
        g_losses, out = g_objective(x_a, x_b, a, b, state.noise_rng, pitch, cfg.loss_weights)
    check_finite(g_losses, state.step)
    state.opt_g.zero_grad(set_to_none=True)
    weighted_total(g_losses, cfg.loss_weights).backward()
    state.opt_g.step()
    if state.ema is not None:
        update_ema(state.ema, state.model, cfg.ema_decay, state.step + 1)
    if parallel:
        state.discs.requires_grad_(True)

    with _autocast(device, cfg):
        d_losses = d_objective(x_a, x_b, out.ab, out.ba, a, b, _cycles(out, cfg.loss_weights))
    check_finite(d_losses, state.step)
    state.opt_d.zero_grad(set_to_none=True)
    (cfg.loss_weights["gan"] * sum(d_losses.values())).backward()
    state.opt_d.step()
    state.step += 1
    return {k: v.detach() for k, v in {**g_losses, **d_losses}.items()}


def _cycles(out, weights: dict[str, float]) -> tuple[Tensor, Tensor] | None:
    """The cycle reconstructions for the discriminators, when the `gan_cycle` term is on."""
    return (out.aba, out.bab) if weights.get("gan_cycle", 0.0) > 0 else None


def _pitch(model: VAEGAN, a: str, b: str, f0_a: Tensor | None, f0_b: Tensor | None, device: torch.device) -> Pitch | None:
    if not model.cfg.pitch:
        return None
    return Pitch(f0_a.to(device), f0_b.to(device), model.f0_stats[a], model.f0_stats[b])


def validation_crops(dataset: Dataset, speakers: list[str], crop: int, count: int,
                     with_f0: bool = False) -> dict[str, tuple[Tensor, Tensor | None]]:
    """Fixed crops (the middle of each of the first `count` val utterances): mel [count, n_mels, crop]
    and, with `with_f0`, F0 [count, crop]."""
    crops = {}
    for s in speakers:
        mels, f0s = [], []
        for u in dataset.select(s, "val")[:count] or dataset.select(s, "train")[:count]:
            mel = dataset.mel(u)
            start = max(0, (mel.shape[1] - crop) // 2)
            mel = mel[:, start : start + crop]
            mels.append(torch.nn.functional.pad(mel, (0, crop - mel.shape[1])))
            if with_f0:
                f0 = dataset.f0(u)[start : start + crop]
                f0s.append(torch.nn.functional.pad(f0, (0, crop - f0.shape[0])))
        crops[s] = (torch.stack(mels), torch.stack(f0s) if with_f0 else None)
    return crops


@torch.no_grad()
def validate(state: TrainState, crops: dict[str, tuple[Tensor, Tensor | None]], device: torch.device) -> dict[str, float]:
    """Mean loss terms of the deployed model over the validation pairs, with z = μ (no sampling noise)."""
    model = state.deployed
    model.eval()
    totals: dict[str, float] = {}
    pairs = validation_pairs(model.speakers)
    for a, b in pairs:
        (mel_a, f0_a), (mel_b, f0_b) = crops[a], crops[b]
        n = min(len(mel_a), len(mel_b))
        x_a, x_b = mel_a[:n].to(device), mel_b[:n].to(device)
        pitch = _pitch(model, a, b, None if f0_a is None else f0_a[:n], None if f0_b is None else f0_b[:n], device)
        with _autocast(device, state.cfg):
            g, out = generator_losses(model, state.discs, x_a, x_b, a, b, None, pitch, state.cfg.loss_weights)
            d = discriminator_losses(state.discs, x_a, x_b, out.ab, out.ba, a, b, _cycles(out, state.cfg.loss_weights))
        for k, v in {**g, **d}.items():
            totals[k] = totals.get(k, 0.0) + float(v) / len(pairs)
    model.train()
    return totals


# ----------------------------------------------------------------------------- checkpoints


def gather_rank_rngs(state: TrainState) -> dict[str, Tensor]:
    """Every rank's crop and noise generator states (a collective in multi-process runs; {} alone)."""
    if state.ctx.world == 1:
        return {}
    import torch.distributed as dist

    out = {}
    for name, rng in (("crop", state.crop_rng), ("noise", state.noise_rng)):
        mine = rng.get_state()
        parts = [torch.empty_like(mine) for _ in range(state.ctx.world)]
        dist.all_gather(parts, mine)
        out.update({f"rng.{name}.{r}": t for r, t in enumerate(parts)})
    return out


TRAINED = "train_model."  # prefix of the trained weights in the state file of a run with a weight average


def save_checkpoint(state: TrainState, run: RunFolder, rank_rngs: dict[str, Tensor] | None = None) -> Path:
    """Write model (deployable) and training state (resumable) into one checkpoint folder.

    `rank_rngs` (from gather_rank_rngs) adds every rank's generators, so a torchrun run resumes
    each rank's crop stream; a single process ignores them. With a weight average, model.safetensors
    holds the average and the training state the trained weights (`train_model.*`)."""
    def write(folder: Path) -> None:
        ckpt.save_model(folder, state.deployed, state.features)
        tensors = {f"discs.{k}": v for k, v in state.discs.state_dict().items()}
        if state.ema is not None:
            tensors.update({f"{TRAINED}{k}": v for k, v in state.model.state_dict().items()})
        tensors.update({"rng.data": state.data_rng.get_state(), "rng.noise": state.noise_rng.get_state(),
                        "rng.torch": torch.get_rng_state(), **(rank_rngs or {})})
        save_state(folder, state.step, tensors, {"opt_g": state.opt_g, "opt_d": state.opt_d})

    return run.write_checkpoint(state.step, state.cfg.keep_checkpoints, write)


def load_checkpoint(state: TrainState, folder: Path) -> None:
    """Restore everything `save_checkpoint` wrote (strict keys, no pickle)."""
    model_tensors = ckpt.load_model_tensors(folder)
    ckpt.load_state_dict_strict(state.deployed, model_tensors, folder / ckpt.MODEL_FILE)
    tensors, step = load_state(folder, {"opt_g": state.opt_g, "opt_d": state.opt_d}, "training state")
    if state.ema is not None:
        trained = {k[len(TRAINED):]: v for k, v in tensors.items() if k.startswith(TRAINED)}
        ckpt.load_state_dict_strict(state.model, trained, folder / ckpt.STATE_FILE)
    discs = {k[len("discs."):]: v for k, v in tensors.items() if k.startswith("discs.")}
    ckpt.load_state_dict_strict(state.discs, discs, folder / ckpt.STATE_FILE)
    try:
        state.data_rng.set_state(tensors["rng.data"])
        state.noise_rng.set_state(tensors["rng.noise"])
        torch.set_rng_state(tensors["rng.torch"])
        state.step = step
        if state.ctx.world > 1:  # this rank's own streams, when the checkpoint has them
            if f"rng.crop.{state.ctx.rank}" in tensors:
                state.crop_rng.set_state(tensors[f"rng.crop.{state.ctx.rank}"])
            if f"rng.noise.{state.ctx.rank}" in tensors:
                state.noise_rng.set_state(tensors[f"rng.noise.{state.ctx.rank}"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise VaeganError(f"{folder}: corrupted training state ({exc})") from None


# ----------------------------------------------------------------------------- run folder


def run_folder(run_dir: Path) -> RunFolder:
    """A VAE-GAN run folder. Stored settings are read through ModelConfig and TrainConfig, so a run
    written before a field existed still resumes (with the field's default)."""
    def normalise(stored: dict) -> dict:
        stored = dict(stored)
        if "model" in stored:
            stored["model"] = ModelConfig.from_dict(stored["model"]).to_dict()
        if "train" in stored:
            stored["train"] = TrainConfig.from_dict(stored["train"]).to_dict()
        return stored

    return RunFolder(run_dir, kind="vaegan", describe="a VAE-GAN training run", normalise=normalise)


def _run_record(dataset: Dataset, model_cfg: ModelConfig, speakers: list[str], cfg: TrainConfig) -> dict:
    return {
        "dataset": str(dataset.folder.resolve()),
        "speakers": speakers,
        "model": model_cfg.to_dict(),
        "features": dataset.features.to_dict(),
        "train": cfg.to_dict(),
    }


def resume_settings(run_dir: Path, model: str | None, speakers: list[str] | None, given: dict,
                    weights: dict[str, float]) -> tuple[str, list[str] | None, TrainConfig]:
    """The settings of a `train` command: those given over the stored run's (on resume) over the
    model family's defaults. `given`: TrainConfig fields set on the command line; `weights`: loss
    weights set on it."""
    from .config import train_defaults

    stored = run_folder(run_dir).stored()
    if stored is not None and "model" in stored:
        model = model or stored["model"]["name"]
        speakers = speakers or stored["speakers"]
    model = model or "fast"
    base = TrainConfig.from_dict(stored["train"]) if stored is not None and "train" in stored else \
        train_defaults(model_preset(model, 1).family)
    cfg = dataclasses.replace(base, **given, loss_weights={**base.loss_weights, **weights})
    return model, speakers, cfg


@dataclass
class FitOptions:
    device: str = "auto"
    progress: bool = True
    log_every: int = 50
    tensorboard: bool = True
    on_step: Callable[[TrainState], None] | None = None  # called on every rank after every step
    force: bool = False  # start over: remove the run's checkpoints, logs and plots first


def fit(
    dataset_dir: Path, run_dir: Path, model_name: str, cfg: TrainConfig, speakers: list[str] | None = None,
    options: FitOptions | None = None,
) -> TrainState:
    """Train (or resume) a run in RUN_DIR until `cfg.steps`. Returns the final state."""
    options = options or FitOptions()
    dataset = Dataset(dataset_dir)
    speakers = speakers or dataset.speakers
    dataset.check_speakers(speakers)
    if len(speakers) < 2:
        raise VaeganError(f"{dataset.folder}: training needs at least 2 speakers, the dataset has {len(speakers)}")
    device = resolve_device(options.device)
    model_cfg = model_preset(model_name, dataset.features.n_mels)
    if cfg.crop_frames % model_cfg.downsample or cfg.crop_frames <= 0:
        raise VaeganError(f"--crop-frames must be a positive multiple of {model_cfg.downsample}, got {cfg.crop_frames}")
    if cfg.steps <= 0 or cfg.batch_size <= 0 or cfg.checkpoint_every <= 0:
        raise VaeganError("--steps, --batch-size and --checkpoint-every must be positive")
    if model_cfg.pitch:
        dataset.require_f0(f"the pitch-aware model '{model_name}'")
    refuse_overlap(run_dir, {"dataset folder": dataset.folder})
    run = run_folder(run_dir)
    run.refuse_other_kind()  # before the lock creates RUN_DIR
    ctx = distributed.from_environment()
    device = distributed.init(ctx, device)
    try:
        # rank 0 holds the run lock and writes the run folder for everyone
        with run.lock() if ctx.main else nullcontext(), run.stop_on_divergence():
            return _fit_locked(dataset, run, model_cfg, cfg, speakers, device, options, ctx)
    finally:
        distributed.close(ctx)


def _fit_locked(dataset: Dataset, run: RunFolder, model_cfg: ModelConfig, cfg: TrainConfig,
                speakers: list[str], device: torch.device, options: FitOptions,
                ctx: distributed.DistContext = distributed.SINGLE) -> TrainState:
    record = _run_record(dataset, model_cfg, speakers, cfg)
    if ctx.world > 1:
        record["distributed"] = {"processes": ctx.world, "effective_batch": cfg.batch_size * ctx.world}
    distributed.on_main(ctx, run.claim, record, options.force)  # a collective: every rank waits for it

    f0_stats = {s: dataset.f0_stats(s) for s in speakers} if model_cfg.pitch else None
    state = build_state(model_cfg, dataset.features, speakers, cfg, device, f0_stats)
    if ctx.world > 1:
        make_distributed(state, ctx, device)
        if ctx.main:
            log.info("effective batch: %d crops per speaker per step (%d per process × %d processes)",
                     cfg.batch_size * ctx.world, cfg.batch_size, ctx.world)
    checkpoints = run.checkpoints()
    if checkpoints:
        load_checkpoint(state, checkpoints[-1])
        if ctx.main:
            log.info("resuming %s from step %d", run.path, state.step)
    if ctx.main:
        log.info("training on %s in %s", device, precision(device, cfg))
    sampler = CropSampler(dataset, speakers, cfg.crop_frames, device, with_f0=model_cfg.pitch)
    val_crops = validation_crops(dataset, speakers, cfg.crop_frames, cfg.val_crops, with_f0=model_cfg.pitch)
    logger = TrainingLog(run.path, state.step, options.tensorboard) if ctx.main else None
    samples = ConversionSamples(run.path, dataset, state) if ctx.main else None
    try:
        _loop(state, sampler, val_crops, logger, samples, run, device, options)
    finally:
        if logger is not None:
            logger.close()
    return state


def _loop(state, sampler, val_crops, logger, samples, run, device, options) -> None:
    """Steps until cfg.steps; logs, validation, checkpoints and plots on rank 0 only (logger None elsewhere)."""
    cfg, main = state.cfg, logger is not None
    bar = progress_bar(total=cfg.steps, initial=state.step, desc="train", unit="step",
                       disable=not options.progress or not main, dynamic_ncols=True)
    running: dict[str, Tensor] = {}
    count = 0
    while state.step < cfg.steps:
        losses = train_step(state, sampler, device)
        if options.on_step is not None:
            options.on_step(state)
        for k, v in losses.items():
            running[k] = running.get(k, 0.0) + v
        count += 1
        bar.update(1)
        if state.step % options.log_every == 0 or state.step == cfg.steps:
            means = {k: float(v) / count for k, v in running.items()}
            if main:
                logger.log("train", state.step, means, lr=state.opt_g.param_groups[0]["lr"])
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
            running, count = {}, 0
        if state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps:
            rank_rngs = gather_rank_rngs(state)  # every rank takes part
            if main:
                logger.log("val", state.step, validate(state, val_crops, device))
                logger.plot_losses()
                path = save_checkpoint(state, run, rank_rngs)
                samples.log(state.step, logger)
                bar.write(f"step {state.step}: checkpoint {path}")
            distributed.barrier(state.ctx)
    bar.close()
