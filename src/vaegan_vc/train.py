"""VAE-GAN training: a TrainState plus short step / validate / checkpoint / fit functions."""

from __future__ import annotations

import logging
import shutil
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from . import checkpoint as ckpt
from .config import FeatureConfig, ModelConfig, TrainConfig, model_preset
from .data.dataset import CropSampler, Dataset
from .devices import resolve_device
from .errors import VaeganError
from .losses import Pitch, discriminator_losses, generator_losses, weighted_total
from .models.vaegan import VAEGAN, Discriminators
from .progress import progress_bar
from .training_log import TrainingLog, read_metric_rows, validation_pairs

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
LOSS_KEYS = ("gan", "kl", "recon", "cycle_kl", "cycle", "latent", "fm", "disc_real", "disc_fake")


class TrainingDiverged(VaeganError):
    """A loss became NaN or infinite."""


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


def pick_pair(speakers: list[str], rng: torch.Generator) -> tuple[str, str]:
    """A random unordered speaker pair; both directions are trained in the same step."""
    i, j = torch.randperm(len(speakers), generator=rng)[:2].tolist()
    return speakers[i], speakers[j]


def _autocast(device: torch.device):
    # bf16 autocast on CUDA only; the CPU path stays fp32 so runs are exactly reproducible.
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def _check_finite(losses: dict[str, Tensor], step: int) -> None:
    values = torch.stack([v.detach().float() for v in losses.values()])
    if not bool(torch.isfinite(values).all()):
        bad = [k for k, v in losses.items() if not torch.isfinite(v).all()]
        raise TrainingDiverged(f"step {step}: loss {', '.join(bad)} is NaN or infinite; training stopped")


def train_step(state: TrainState, sampler: CropSampler, device: torch.device) -> dict[str, Tensor]:
    """One generator update then one discriminator update on a random speaker pair."""
    cfg = state.cfg
    a, b = pick_pair(state.model.speakers, state.data_rng)
    x_a, f0_a = sampler.sample_with_f0(a, cfg.batch_size, state.data_rng)
    x_b, f0_b = sampler.sample_with_f0(b, cfg.batch_size, state.data_rng)
    x_a, x_b = x_a.to(device, non_blocking=True), x_b.to(device, non_blocking=True)
    pitch = _pitch(state.model, a, b, f0_a, f0_b, device)
    lr = lr_at(state.step, cfg.steps, cfg.lr)
    for opt in (state.opt_g, state.opt_d):
        for group in opt.param_groups:
            group["lr"] = lr

    with _autocast(device):
        g_losses, out = generator_losses(state.model, state.discs, x_a, x_b, a, b, state.noise_rng, pitch, cfg.loss_weights)
    _check_finite(g_losses, state.step)
    state.opt_g.zero_grad(set_to_none=True)
    weighted_total(g_losses, cfg.loss_weights).backward()
    state.opt_g.step()

    with _autocast(device):
        d_losses = discriminator_losses(state.discs, x_a, x_b, out.ab, out.ba, a, b)
    _check_finite(d_losses, state.step)
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


def save_checkpoint(state: TrainState, run_dir: Path) -> Path:
    """Write model (deployable) and training state (resumable) into one checkpoint folder."""
    final = run_dir / "checkpoints" / ckpt.checkpoint_name(state.step)
    tmp = final.with_name(final.name + ".partial")
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
    except (KeyError, ValueError, RuntimeError) as exc:
        raise VaeganError(f"{folder}: corrupted training state ({exc})") from None


# ----------------------------------------------------------------------------- run folder


def _run_record(dataset: Dataset, model_cfg: ModelConfig, speakers: list[str], cfg: TrainConfig) -> dict:
    return {
        "kind": "vaegan",
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
    with ckpt.run_lock(run_dir):
        return _fit_locked(dataset, run_dir, model_name, model_cfg, cfg, speakers, device, options)


def _fit_locked(dataset: Dataset, run_dir: Path, model_name: str, model_cfg: ModelConfig, cfg: TrainConfig,
                speakers: list[str], device: torch.device, options: FitOptions) -> TrainState:
    record = _run_record(dataset, model_cfg, speakers, cfg)
    if (run_dir / RUN_FILE).exists():
        stored = ckpt.read_json(run_dir / RUN_FILE, "run description")
        if not isinstance(stored, dict) or stored.get("kind", "vaegan") != "vaegan":
            raise VaeganError(f"{run_dir}: holds another kind of run ({stored.get('kind') if isinstance(stored, dict) else 'unreadable'}), not a VAE-GAN training run; use a new RUN_DIR")
        _check_resume(stored, record, run_dir)
    ckpt.write_json(run_dir / RUN_FILE, record)

    f0_stats = {s: dataset.f0_stats(s) for s in speakers} if model_cfg.pitch else None
    state = build_state(model_cfg, dataset.features, speakers, cfg, device, f0_stats)
    checkpoints = ckpt.list_checkpoints(run_dir)
    if checkpoints:
        load_checkpoint(state, checkpoints[-1])
        log.info("resuming %s from step %d", run_dir, state.step)
    sampler = CropSampler(dataset, speakers, cfg.crop_frames, device, with_f0=model_cfg.pitch)
    val_crops = validation_crops(dataset, speakers, cfg.crop_frames, cfg.val_crops, with_f0=model_cfg.pitch)
    logger = TrainingLog(run_dir, dataset, state, options.tensorboard)
    try:
        _loop(state, sampler, val_crops, logger, run_dir, device, options)
    finally:
        logger.close()
    return state


def _loop(state, sampler, val_crops, logger, run_dir, device, options) -> None:
    cfg = state.cfg
    bar = progress_bar(total=cfg.steps, initial=state.step, desc="train", unit="step", disable=not options.progress, dynamic_ncols=True)
    running: dict[str, Tensor] = {}
    count = 0
    while state.step < cfg.steps:
        losses = train_step(state, sampler, device)
        for k, v in losses.items():
            running[k] = running.get(k, 0.0) + v
        count += 1
        bar.update(1)
        if state.step % options.log_every == 0 or state.step == cfg.steps:
            means = {k: float(v) / count for k, v in running.items()}
            logger.log_train(state.step, means)
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
            running, count = {}, 0
        if state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps:
            logger.log_validation(state.step, validate(state, val_crops, device))
            path = save_checkpoint(state, run_dir)
            logger.log_samples(state.step)
            bar.write(f"step {state.step}: checkpoint {path}")
    bar.close()


def read_metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return read_metric_rows(path)
