"""VAE-GAN training: a TrainState plus short step / validate / checkpoint / fit functions."""

from __future__ import annotations

import logging
import shutil
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
from .devices import resolve_device
from .errors import VaeganError
from .losses import Pitch, discriminator_losses, generator_losses, weighted_total
from .models.vaegan import VAEGAN, Discriminators
from .progress import progress_bar
from .runs import TrainingDiverged, check_finite, partial_folder  # noqa: F401  (TrainingDiverged: part of this module's API)
from .training_log import TrainingLog, read_metric_rows, validation_pairs

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
LOSS_KEYS = ("gan", "kl", "recon", "cycle_kl", "cycle", "latent", "fm", "disc_real", "disc_fake")


def lr_at(step: int, total: int, base: float) -> float:
    """Constant for the first half, then linear decay to 0 at `total` (by step, never below 0)."""
    half = total / 2
    if step < half:
        return base
    return base * max(0.0, (total - step) / (total - half))


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
    return TrainState(model, discs, opt_g, opt_d, data_rng, noise_rng, 0, features, cfg)


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

    def forward(self, x_a, x_b, fake_ab, fake_ba, a, b):
        return discriminator_losses(self.discs, x_a, x_b, fake_ab, fake_ba, a, b)


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


def _autocast(device: torch.device):
    # bf16 autocast on CUDA only; the CPU path stays fp32 so runs are exactly reproducible.
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def train_step(state: TrainState, sampler: CropSampler, device: torch.device) -> dict[str, Tensor]:
    """One generator update then one discriminator update on a random speaker pair."""
    cfg = state.cfg
    a, b = pick_pair(state.model.speakers, state.data_rng)
    x_a, f0_a = sampler.sample_with_f0(a, cfg.batch_size, state.crops_rng)
    x_b, f0_b = sampler.sample_with_f0(b, cfg.batch_size, state.crops_rng)
    x_a, x_b = x_a.to(device, non_blocking=True), x_b.to(device, non_blocking=True)
    pitch = _pitch(state.model, a, b, f0_a, f0_b, device)
    lr = lr_at(state.step, cfg.steps, cfg.lr)
    for opt in (state.opt_g, state.opt_d):
        for group in opt.param_groups:
            group["lr"] = lr

    g_objective = state.generator_objective or (lambda *args: generator_losses(state.model, state.discs, *args))
    d_objective = state.discriminator_objective or (lambda *args: discriminator_losses(state.discs, *args))
    parallel = state.ctx.world > 1
    if parallel:  # no discriminator gradients in the generator update: DDP would sync them out of turn
        state.discs.requires_grad_(False)
    with _autocast(device):
        g_losses, out = g_objective(x_a, x_b, a, b, state.noise_rng, pitch, cfg.loss_weights)
    check_finite(g_losses, state.step)
    state.opt_g.zero_grad(set_to_none=True)
    weighted_total(g_losses, cfg.loss_weights).backward()
    state.opt_g.step()
    if parallel:
        state.discs.requires_grad_(True)

    with _autocast(device):
        d_losses = d_objective(x_a, x_b, out.ab, out.ba, a, b)
    check_finite(d_losses, state.step)
    state.opt_d.zero_grad(set_to_none=True)
    (cfg.loss_weights["gan"] * sum(d_losses.values())).backward()
    state.opt_d.step()
    state.step += 1
    return {k: v.detach() for k, v in {**g_losses, **d_losses}.items()}


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
    """Mean loss terms over the validation pairs, with z = μ (no sampling noise)."""
    state.model.eval()
    totals: dict[str, float] = {}
    pairs = validation_pairs(state.model.speakers)
    for a, b in pairs:
        (mel_a, f0_a), (mel_b, f0_b) = crops[a], crops[b]
        n = min(len(mel_a), len(mel_b))
        x_a, x_b = mel_a[:n].to(device), mel_b[:n].to(device)
        pitch = _pitch(state.model, a, b, None if f0_a is None else f0_a[:n], None if f0_b is None else f0_b[:n], device)
        with _autocast(device):
            g, out = generator_losses(state.model, state.discs, x_a, x_b, a, b, None, pitch, state.cfg.loss_weights)
            d = discriminator_losses(state.discs, x_a, x_b, out.ab, out.ba, a, b)
        for k, v in {**g, **d}.items():
            totals[k] = totals.get(k, 0.0) + float(v) / len(pairs)
    state.model.train()
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


def save_checkpoint(state: TrainState, run_dir: Path, rank_rngs: dict[str, Tensor] | None = None) -> Path:
    """Write model (deployable) and training state (resumable) into one checkpoint folder.

    `rank_rngs` (from gather_rank_rngs) adds every rank's generators, so a torchrun run resumes
    each rank's crop stream; a single process ignores them."""
    final = run_dir / "checkpoints" / ckpt.checkpoint_name(state.step)
    tmp = partial_folder(final)
    shutil.rmtree(tmp, ignore_errors=True)
    ckpt.save_model(tmp, state.model, state.features)
    tensors = {f"discs.{k}": v for k, v in state.discs.state_dict().items()}
    g_tensors, g_meta = ckpt.flatten_optimizer("opt_g", state.opt_g)
    d_tensors, d_meta = ckpt.flatten_optimizer("opt_d", state.opt_d)
    tensors.update(g_tensors)
    tensors.update(d_tensors)
    tensors["rng.data"] = state.data_rng.get_state()
    tensors["rng.noise"] = state.noise_rng.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    tensors.update(rank_rngs or {})
    ckpt.save_tensors(tmp / ckpt.STATE_FILE, tensors)
    ckpt.write_json(tmp / ckpt.STATE_META_FILE, {"step": state.step, "opt_g": g_meta, "opt_d": d_meta})
    ckpt.commit_checkpoint(tmp, final, state.cfg.keep_checkpoints)
    return final


def load_checkpoint(state: TrainState, folder: Path) -> None:
    """Restore everything `save_checkpoint` wrote (strict keys, no pickle)."""
    model_tensors = ckpt.load_model_tensors(folder)
    ckpt.load_state_dict_strict(state.model, model_tensors, folder / ckpt.MODEL_FILE)
    tensors = ckpt.load_tensors(folder / ckpt.STATE_FILE, "training state")
    meta = ckpt.read_json(folder / ckpt.STATE_META_FILE, "training state")
    discs = {k[len("discs."):]: v for k, v in tensors.items() if k.startswith("discs.")}
    ckpt.load_state_dict_strict(state.discs, discs, folder / ckpt.STATE_FILE)
    try:
        state.opt_g.load_state_dict(ckpt.unflatten_optimizer("opt_g", tensors, meta["opt_g"]))
        state.opt_d.load_state_dict(ckpt.unflatten_optimizer("opt_d", tensors, meta["opt_d"]))
        state.data_rng.set_state(tensors["rng.data"])
        state.noise_rng.set_state(tensors["rng.noise"])
        torch.set_rng_state(tensors["rng.torch"])
        state.step = int(meta["step"])
        if state.ctx.world > 1:  # this rank's own streams, when the checkpoint has them
            if f"rng.crop.{state.ctx.rank}" in tensors:
                state.crop_rng.set_state(tensors[f"rng.crop.{state.ctx.rank}"])
            if f"rng.noise.{state.ctx.rank}" in tensors:
                state.noise_rng.set_state(tensors[f"rng.noise.{state.ctx.rank}"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise VaeganError(f"{folder}: corrupted training state ({exc})") from None


# ----------------------------------------------------------------------------- run folder


def _run_record(dataset: Dataset, model_cfg: ModelConfig, speakers: list[str], cfg: TrainConfig) -> dict:
    return {
        "kind": "vaegan",
        "format_version": ckpt.FORMAT_VERSION,
        "dataset": str(dataset.folder.resolve()),
        "speakers": speakers,
        "model": model_cfg.to_dict(),
        "features": dataset.features.to_dict(),
        "train": cfg.to_dict(),
    }


def _check_resume(stored: dict, current: dict, run_dir: Path) -> None:
    """A resumed run must be the same run: refuse changed settings instead of silently mixing."""
    relaxed = {"steps", "checkpoint_every", "keep_checkpoints"}  # may be extended on resume
    diffs = []
    # Read through the config class, so a run written before a model field existed still resumes.
    stored = {**stored, "model": ModelConfig.from_dict(stored["model"]).to_dict()}
    for key in ("speakers", "model", "features"):
        if stored[key] != current[key]:
            diffs.append(key)
    diffs += [f"train.{k}" for k in current["train"] if k not in relaxed and stored["train"].get(k) != current["train"][k]]
    if diffs:
        raise VaeganError(f"{run_dir}: holds a run with different settings ({', '.join(diffs)}); resume with the same settings or use a new RUN_DIR")


@dataclass
class FitOptions:
    device: str = "auto"
    progress: bool = True
    log_every: int = 50
    tensorboard: bool = True
    on_step: Callable[[TrainState], None] | None = None  # called on every rank after every step


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
    ckpt.refuse_overlap(run_dir, {"dataset folder": dataset.folder})
    ctx = distributed.from_environment()
    device = distributed.init(ctx, device)
    try:
        if not ctx.main:  # rank 0 holds the run lock and writes the run folder for everyone
            return _fit_locked(dataset, run_dir, model_name, model_cfg, cfg, speakers, device, options, ctx)
        with ckpt.run_lock(run_dir):
            return _fit_locked(dataset, run_dir, model_name, model_cfg, cfg, speakers, device, options, ctx)
    finally:
        distributed.close(ctx)


def _claim_run(run_dir: Path, record: dict) -> None:
    """Check a resumed run (a changed one is refused) and write run.json. Rank 0's job."""
    if (run_dir / RUN_FILE).exists():
        stored = ckpt.read_json(run_dir / RUN_FILE, "run description")
        if not isinstance(stored, dict) or stored.get("kind", "vaegan") != "vaegan":
            raise VaeganError(f"{run_dir}: holds another kind of run ({stored.get('kind') if isinstance(stored, dict) else 'unreadable'}), not a VAE-GAN training run; use a new RUN_DIR")
        _check_resume(stored, record, run_dir)
    ckpt.write_json(run_dir / RUN_FILE, record)


def _fit_locked(dataset: Dataset, run_dir: Path, model_name: str, model_cfg: ModelConfig, cfg: TrainConfig,
                speakers: list[str], device: torch.device, options: FitOptions,
                ctx: distributed.DistContext = distributed.SINGLE) -> TrainState:
    record = _run_record(dataset, model_cfg, speakers, cfg)
    if ctx.world > 1:
        record["distributed"] = {"processes": ctx.world, "effective_batch": cfg.batch_size * ctx.world}
    distributed.on_main(ctx, _claim_run, run_dir, record)

    f0_stats = {s: dataset.f0_stats(s) for s in speakers} if model_cfg.pitch else None
    state = build_state(model_cfg, dataset.features, speakers, cfg, device, f0_stats)
    if ctx.world > 1:
        make_distributed(state, ctx, device)
        if ctx.main:
            log.info("effective batch: %d crops per speaker per step (%d per process × %d processes)",
                     cfg.batch_size * ctx.world, cfg.batch_size, ctx.world)
    checkpoints = ckpt.list_checkpoints(run_dir)
    if checkpoints:
        load_checkpoint(state, checkpoints[-1])
        if ctx.main:
            log.info("resuming %s from step %d", run_dir, state.step)
    sampler = CropSampler(dataset, speakers, cfg.crop_frames, device, with_f0=model_cfg.pitch)
    val_crops = validation_crops(dataset, speakers, cfg.crop_frames, cfg.val_crops, with_f0=model_cfg.pitch)
    logger = TrainingLog(run_dir, dataset, state, options.tensorboard) if ctx.main else None
    try:
        _loop(state, sampler, val_crops, logger, run_dir, device, options)
    finally:
        if logger is not None:
            logger.close()
    return state


def _loop(state, sampler, val_crops, logger, run_dir, device, options) -> None:
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
                logger.log_train(state.step, means)
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
            running, count = {}, 0
        if state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps:
            rank_rngs = gather_rank_rngs(state)  # every rank takes part
            if main:
                logger.log_validation(state.step, validate(state, val_crops, device))
                path = save_checkpoint(state, run_dir, rank_rngs)
                logger.log_samples(state.step)
                bar.write(f"step {state.step}: checkpoint {path}")
            distributed.barrier(state.ctx)
    bar.close()


def read_metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return read_metric_rows(path)
