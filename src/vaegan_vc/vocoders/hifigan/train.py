"""Train or fine-tune a HiFi-GAN vocoder on a prepared dataset folder, with exact resume.

With `finetune_from` the generator hears a trained VAE-GAN's reconstructions instead of the real
features, so that it learns to undo that model's smoothing (how vocoders are matched to an
acoustic model, e.g. Tacotron 2's WaveNet, Shen et al., 2018; HiFi-GAN §4.4).
That part (the reconstructions, computed once and reused) is finetune.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ... import distributed
from ...audio import denormalize, log_mel
from ...checkpoint import CONFIG_FILE, STATE_FILE, load_state_dict_strict
from ...config import FeatureConfig, feature_preset
from ...data.dataset import Dataset, UtteranceRef
from ...devices import resolve_device
from ...errors import VaeganError
from ...io import read_json, refuse_overlap, write_json
from ...runs import RunFolder, TrainingLog, check_finite, exponential_decay_lr, load_state, save_state, set_lr
from .finetune import FINETUNE_DIR, check_finetune_model, finetune_mels
from .load import UNIVERSAL, load_any_generator, save_generator
from .losses import adversarial_loss, discriminator_loss, feature_matching_loss, mel_loss
from .model import HiFiGANGenerator, MultiPeriodDiscriminator, MultiScaleDiscriminator, hifigan_config
from .settings import VocoderTrainConfig

log = logging.getLogger(__name__)

RUN_KIND = "hifigan-vocoder-run"


@dataclass
class VocoderTrainState:
    """The models, optimizers and counters of one run; `step` counts finished steps."""

    generator: HiFiGANGenerator
    mpd: MultiPeriodDiscriminator
    msd: MultiScaleDiscriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    features: FeatureConfig
    loss_features: FeatureConfig
    cfg: VocoderTrainConfig
    device: torch.device
    step: int = 0
    # torchrun: the generator and the discriminator pair wrapped in DistributedDataParallel.
    ctx: distributed.DistContext = distributed.SINGLE
    generator_ddp: torch.nn.Module | None = None
    discriminator_ddp: torch.nn.Module | None = None


class DiscriminatorPair(torch.nn.Module):
    """MPD and MSD behind one forward, so that one DDP module syncs both."""

    def __init__(self, mpd: MultiPeriodDiscriminator, msd: MultiScaleDiscriminator):
        super().__init__()
        self.mpd, self.msd = mpd, msd

    def forward(self, wav: Tensor, fake: Tensor) -> dict[str, Tensor]:
        return {"d_mpd": discriminator_loss(self.mpd(wav)[0], self.mpd(fake)[0]),
                "d_msd": discriminator_loss(self.msd(wav)[0], self.msd(fake)[0])}


def make_distributed(state: VocoderTrainState, ctx: distributed.DistContext) -> None:
    state.ctx = ctx
    state.generator_ddp = distributed.wrap(state.generator, ctx, state.device, partial=False)
    state.discriminator_ddp = distributed.wrap(DiscriminatorPair(state.mpd, state.msd), ctx, state.device, partial=False)


# ----------------------------------------------------------------------------- data


def _train_and_val(dataset: Dataset, speakers: list[str]) -> tuple[list[UtteranceRef], list[UtteranceRef]]:
    """The train and val utterances of `speakers`; val falls back to train when there is none."""
    train = [u for u in dataset.utterances if u.split == "train" and u.speaker in speakers]
    if not train:
        raise VaeganError(f"{dataset.folder}: no 'train' utterances of {', '.join(speakers)} to train a vocoder on")
    hop = dataset.features.hop_length
    bad = [u.utt_id for u in dataset.utterances if u.samples != u.frames * hop]
    if bad:
        raise VaeganError(f"{dataset.folder}: audio and features disagree in length for {bad[:3]} (samples != frames·hop)")
    val = [u for u in dataset.utterances if u.split == "val" and u.speaker in speakers] or train
    return train, val


@dataclass
class VocoderData:
    """The utterances a run trains and validates on, and where the generator's input mels come from.

    `input_mels` (speaker → [n_mels, total_frames], the dataset's layout) replaces the real
    features as input when fine-tuning on a VAE-GAN; the loss targets stay the real audio.
    """

    dataset: Dataset
    train: list[UtteranceRef]
    val: list[UtteranceRef]
    input_mels: dict[str, np.ndarray] | None = None
    matched_to: dict | None = None  # the VAE-GAN that made `input_mels`, as recorded in run.json

    def input_array(self, speaker: str) -> np.ndarray:
        """Input features of `speaker`, float16 [n_mels, total_frames] in [0, 1]."""
        if self.input_mels is None:
            return self.dataset.feature_array(speaker)
        return self.input_mels[speaker]

    def input_mel(self, u: UtteranceRef) -> Tensor:
        """One utterance's input features, float32 [n_mels, frames]."""
        return torch.from_numpy(self.input_array(u.speaker)[:, u.offset : u.offset + u.frames].astype(np.float32))


def sample_batch(
    data: VocoderData, utts: list[UtteranceRef], batch: int, frames: int, rng: np.random.Generator,
) -> tuple[Tensor, Tensor]:
    """Aligned random crops: input features [B, n_mels, frames] in [0, 1] and real audio [B, frames·hop].

    An utterance shorter than the crop is padded with silence (feature 0, sample 0).
    """
    features = data.dataset.features
    hop = features.hop_length
    mels = np.zeros((batch, features.n_mels, frames), dtype=np.float32)
    wavs = np.zeros((batch, frames * hop), dtype=np.float32)
    for b, i in enumerate(rng.integers(0, len(utts), size=batch)):
        u = utts[i]
        start = int(rng.integers(0, max(1, u.frames - frames + 1)))
        n = min(frames, u.frames - start)
        f0, a0 = u.offset + start, u.audio_offset + start * hop
        mels[b, :, :n] = data.input_array(u.speaker)[:, f0 : f0 + n]
        wavs[b, : n * hop] = data.dataset.audio_array(u.speaker)[a0 : a0 + n * hop] / 32768.0
    return torch.from_numpy(mels), torch.from_numpy(wavs)


def step_rng(seed: int, step: int, rank: int = 0) -> np.random.Generator:
    """The batch of step `step` depends only on (seed, step) (and the rank under torchrun, so each
    process draws its own): resuming needs no data-loader state."""
    return np.random.default_rng([seed, step] if rank == 0 else [seed, step, rank])


# ----------------------------------------------------------------------------- building


def loss_features(features: FeatureConfig) -> FeatureConfig:
    """The mel of the L1 loss spans the whole band (the original's fmax_for_loss = None)."""
    return dataclasses.replace(features, name=f"{features.name}-loss", fmax=features.sample_rate / 2)


def initial_generator(cfg: VocoderTrainConfig, features: FeatureConfig) -> HiFiGANGenerator:
    """A random generator of `cfg.config`, or the one named by `cfg.init` (weight norm on)."""
    if cfg.init is None:
        return HiFiGANGenerator(hifigan_config(cfg.config, features.n_mels, features.hop_length))
    generator, init_features = load_any_generator(cfg.init)
    init_features.check_compatible(features, f"the initial vocoder '{cfg.init}'", "the dataset")
    if generator.cfg.name != cfg.config:
        raise VaeganError(
            f"the initial vocoder '{cfg.init}' is a HiFi-GAN {generator.cfg.name}, not {cfg.config}; "
            f"use --config {generator.cfg.name}"
        )
    generator.apply_weight_norm()
    return generator


def build_state(
    cfg: VocoderTrainConfig, features: FeatureConfig, device: torch.device, resuming: bool = False,
) -> VocoderTrainState:
    """Models and optimizers; a resumed run skips `cfg.init`, whose weights the checkpoint replaces."""
    torch.manual_seed(cfg.seed)
    if resuming:
        generator = HiFiGANGenerator(hifigan_config(cfg.config, features.n_mels, features.hop_length))
    else:
        generator = initial_generator(cfg, features)
    generator = generator.to(device)
    divisor = generator.cfg.disc_divisor
    mpd = MultiPeriodDiscriminator(divisor).to(device)
    msd = MultiScaleDiscriminator(divisor).to(device)
    opt_g = torch.optim.AdamW(generator.parameters(), cfg.lr, betas=cfg.betas)
    opt_d = torch.optim.AdamW([*mpd.parameters(), *msd.parameters()], cfg.lr, betas=cfg.betas)
    return VocoderTrainState(generator, mpd, msd, opt_g, opt_d, features, loss_features(features), cfg, device)


def lr_at(cfg: VocoderTrainConfig, step: int, steps_per_epoch: int) -> float:
    """HiFi-GAN's schedule: × lr_decay once per epoch-equivalent (runs.exponential_decay_lr)."""
    return exponential_decay_lr(step, steps_per_epoch, cfg.lr, cfg.lr_decay)


# ----------------------------------------------------------------------------- one step


def _check_finite(losses: dict[str, Tensor], step: int) -> None:
    check_finite(losses, step + 1, "vocoder loss")


def discriminator_step(state: VocoderTrainState, wav: Tensor, wav_hat: Tensor) -> dict[str, Tensor]:
    """One LSGAN update of both discriminators on real `wav` and detached fake `wav_hat` [B, N]."""
    pair = state.discriminator_ddp or DiscriminatorPair(state.mpd, state.msd)
    losses = pair(wav, wav_hat.detach())
    _check_finite(losses, state.step)
    state.opt_d.zero_grad(set_to_none=True)
    (losses["d_mpd"] + losses["d_msd"]).backward()
    state.opt_d.step()
    return losses


def generator_losses(state: VocoderTrainState, wav: Tensor, wav_hat: Tensor) -> dict[str, Tensor]:
    """Mel L1, adversarial and feature-matching terms (unweighted) for real/fake [B, N]."""
    mel_real = log_mel(wav, state.loss_features)
    mel_fake = log_mel(wav_hat, state.loss_features)
    mpd_real, mpd_real_maps = state.mpd(wav)
    mpd_fake, mpd_fake_maps = state.mpd(wav_hat)
    msd_real, msd_real_maps = state.msd(wav)
    msd_fake, msd_fake_maps = state.msd(wav_hat)
    return {
        "mel": mel_loss(mel_real, mel_fake),
        "adv": adversarial_loss(mpd_fake) + adversarial_loss(msd_fake),
        "fm": feature_matching_loss(mpd_real_maps, mpd_fake_maps) + feature_matching_loss(msd_real_maps, msd_fake_maps),
    }


def generator_step(state: VocoderTrainState, wav: Tensor, wav_hat: Tensor) -> dict[str, Tensor]:
    parallel = state.ctx.world > 1
    if parallel:  # no discriminator gradients here: their DDP module would sync them out of turn
        state.mpd.requires_grad_(False)
        state.msd.requires_grad_(False)
    losses = generator_losses(state, wav, wav_hat)
    losses["g_total"] = sum(state.cfg.loss_weights[k] * losses[k] for k in ("mel", "adv", "fm"))
    _check_finite(losses, state.step)
    state.opt_g.zero_grad(set_to_none=True)
    losses["g_total"].backward()
    state.opt_g.step()
    if parallel:
        state.mpd.requires_grad_(True)
        state.msd.requires_grad_(True)
    return losses


def train_step(state: VocoderTrainState, mel: Tensor, wav: Tensor, lr: float) -> dict[str, float]:
    """One discriminator and one generator update. mel [B, n_mels, T] in [0, 1], wav [B, T·hop]."""
    set_lr([state.opt_g, state.opt_d], lr)
    mel, wav = mel.to(state.device), wav.to(state.device)
    wav_hat = (state.generator_ddp or state.generator)(denormalize(mel, state.features))
    losses = discriminator_step(state, wav, wav_hat)
    losses.update(generator_step(state, wav, wav_hat))
    state.step += 1
    return {k: float(v.detach()) for k, v in losses.items()}


# ----------------------------------------------------------------------------- validation


@torch.inference_mode()
def validate(state: VocoderTrainState, data: VocoderData) -> tuple[float, list[Tensor]]:
    """Mean ln-mel L1 between real and vocoded validation utterances, and their waveforms [N] (CPU).

    The vocoder hears the run's input mels: when fine-tuning, the VAE-GAN's reconstructions.
    """
    state.generator.eval()
    errors, wavs = [], []
    hop = state.features.hop_length
    for u in data.val[: state.cfg.val_utterances]:
        frames = min(u.frames, state.cfg.val_max_frames)
        mel = data.input_mel(u)[:, :frames].to(state.device)
        wav = torch.from_numpy(data.dataset.wav(u)[: frames * hop]).to(state.device)
        wav_hat = state.generator(denormalize(mel[None], state.features))
        errors.append(float(mel_loss(log_mel(wav[None], state.features), log_mel(wav_hat, state.features))))
        wavs.append(wav_hat[0].cpu())
    state.generator.train()
    return float(np.mean(errors)), wavs


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(state: VocoderTrainState, run: RunFolder, matched_to: dict | None = None) -> Path:
    """Deployable generator + resumable state, written under a temp name and renamed into place.

    `matched_to` (the VAE-GAN a fine-tuned vocoder was matched to) is added to its config.json.
    """
    def write(folder: Path) -> None:
        save_generator(folder, state.generator, state.features)
        if matched_to is not None:
            config = read_json(folder / CONFIG_FILE, "vocoder config")
            write_json(folder / CONFIG_FILE, {**config, "matched_to": matched_to})
        tensors = {
            **{f"generator.{k}": v for k, v in state.generator.state_dict().items()},
            **{f"mpd.{k}": v for k, v in state.mpd.state_dict().items()},
            **{f"msd.{k}": v for k, v in state.msd.state_dict().items()},
            "rng.torch": torch.get_rng_state(),
        }
        if state.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(state.device)
        save_state(folder, state.step, tensors, {"opt_g": state.opt_g, "opt_d": state.opt_d})

    return run.write_checkpoint(state.step, state.cfg.keep_checkpoints, write)


def _prefixed(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_checkpoint(state: VocoderTrainState, folder: Path) -> None:
    """Restore models, optimizers, step and RNG from a checkpoint folder written by `save_checkpoint`."""
    tensors, state.step = load_state(folder, {"opt_g": state.opt_g, "opt_d": state.opt_d}, "vocoder training state")
    load_state_dict_strict(state.generator, _prefixed(tensors, "generator."), folder / STATE_FILE)
    load_state_dict_strict(state.mpd, _prefixed(tensors, "mpd."), folder / STATE_FILE)
    load_state_dict_strict(state.msd, _prefixed(tensors, "msd."), folder / STATE_FILE)
    torch.set_rng_state(tensors["rng.torch"])
    if state.device.type == "cuda" and "rng.cuda" in tensors:
        torch.cuda.set_rng_state(tensors["rng.cuda"], state.device)


# ----------------------------------------------------------------------------- run folder


def run_folder(run_dir: Path) -> RunFolder:
    """A vocoder run folder; --force also clears the fine-tuning reconstructions."""
    return RunFolder(run_dir, kind=RUN_KIND, describe="a vocoder run", outputs=(FINETUNE_DIR,))


def _run_info(cfg: VocoderTrainConfig, features: FeatureConfig, dataset_dir: Path) -> dict:
    gen_cfg = hifigan_config(cfg.config, features.n_mels, features.hop_length)
    return {"train": cfg.to_dict(), "generator": gen_cfg.to_dict(), "features": features.to_dict(), "dataset": str(dataset_dir)}


# ----------------------------------------------------------------------------- the loop


def _checkpoint(state: VocoderTrainState, run: RunFolder, data: VocoderData, logger: TrainingLog) -> Path:
    val_l1, wavs = validate(state, data)
    logger.log("val", state.step, {"mel_l1": val_l1})
    logger.plot_losses()
    if logger.writer:
        for i, wav in enumerate(wavs[:2]):
            logger.writer.add_audio(f"val/{i}", wav.clamp(-1, 1), state.step, sample_rate=state.features.sample_rate)
    folder = save_checkpoint(state, run, data.matched_to)
    log.info("step %d: val mel L1 %.4f, saved %s", state.step, val_l1, folder)
    return folder


def open_run(
    dataset_dir: Path, run: RunFolder, cfg: VocoderTrainConfig, device: str, force: bool,
    ctx: distributed.DistContext = distributed.SINGLE,
) -> tuple[VocoderData, VocoderTrainState]:
    """Check the dataset (and VAE-GAN) and RUN_DIR, build the models, restore the newest checkpoint if any."""
    dataset = Dataset(dataset_dir)
    features = dataset.features
    if cfg.init == UNIVERSAL:
        feature_preset("hifigan").check_compatible(features, "the universal HiFi-GAN", f"dataset {dataset_dir}")
    if cfg.segment_size <= 0 or cfg.segment_size % features.hop_length:
        raise VaeganError(f"segment size {cfg.segment_size} must be a positive multiple of the hop ({features.hop_length})")
    model_dir, speakers = None, dataset.speakers
    if cfg.finetune_from is not None:  # checked before RUN_DIR is touched
        model_dir, speakers = check_finetune_model(cfg.finetune_from, dataset)
    data = VocoderData(dataset, *_train_and_val(dataset, speakers))
    info = _run_info(cfg, features, dataset_dir)
    device = distributed.init(ctx, resolve_device(device))
    resume = distributed.on_main(ctx, run.claim, info, force)
    if model_dir is not None:
        utts = list(dict.fromkeys(data.train + data.val))  # val may be train itself

        def reconstructions():  # rank 0 computes and stores them; the others then read them
            mels, matched = finetune_mels(run.path, dataset, model_dir, utts, str(device))
            write_json(run.run_file, {**run.stored(), "matched_to": matched})
            return mels, matched

        data.input_mels, data.matched_to = (reconstructions() if ctx.main else (None, None))
        distributed.barrier(ctx)
        if not ctx.main:
            data.input_mels, data.matched_to = finetune_mels(run.path, dataset, model_dir, utts, str(device))
    state = build_state(cfg, features, device, resuming=resume)
    if ctx.world > 1:
        make_distributed(state, ctx)
    if resume:
        load_checkpoint(state, run.checkpoints()[-1])
        log.info("resuming %s from step %d", run.path, state.step)
    return data, state


def fit(state: VocoderTrainState, data: VocoderData, run: RunFolder, progress: bool = True, on_step=None,
        tensorboard: bool = True) -> Path:
    """Train up to `state.cfg.steps`, logging and checkpointing; returns the newest checkpoint.

    `on_step(state)` is called on every rank after every step."""
    from ...progress import progress_bar

    cfg = state.cfg
    steps_per_epoch = max(1, math.ceil(len(data.train) / cfg.batch_size))
    frames = cfg.segment_size // state.features.hop_length
    existing = run.checkpoints()
    last = existing[-1] if existing else None
    main = state.ctx.main
    logger = TrainingLog(run.path, state.step, tensorboard) if main else None
    bar = progress_bar(total=cfg.steps, initial=state.step, desc="vocoder", unit="step", disable=not progress or not main, dynamic_ncols=True)
    try:
        while state.step < cfg.steps:
            lr = lr_at(cfg, state.step, steps_per_epoch)
            mel, wav = sample_batch(data, data.train, cfg.batch_size, frames, step_rng(cfg.seed, state.step, state.ctx.rank))
            losses = train_step(state, mel, wav, lr)
            if on_step is not None:
                on_step(state)
            bar.update(1)
            bar.set_postfix(mel=f"{losses['mel']:.3f}", d=f"{losses['d_mpd'] + losses['d_msd']:.3f}", refresh=False)
            if main and state.step % cfg.log_every == 0:
                logger.log("train", state.step, losses, lr=lr)
            if state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps:
                if main:
                    last = _checkpoint(state, run, data, logger)
                distributed.barrier(state.ctx)
    finally:
        bar.close()
        if logger is not None:
            logger.close()
    return last


def train_vocoder(
    dataset_dir: Path,
    run_dir: Path,
    config: str = "v1",
    init: str | Path | None = None,
    finetune_from: str | Path | None = None,
    device: str = "auto",
    force: bool = False,
    progress: bool = True,
    on_step=None,
    tensorboard: bool = True,
    **overrides: Any,
) -> Path:
    """Train HiFi-GAN `config` on DATASET_DIR's train split; resume from RUN_DIR when it has checkpoints.

    `init`: None (random), 'universal' (the pretrained V1; the dataset must use the 'hifigan'
    preset), or a vocoder file/folder. `finetune_from`: a VAE-GAN model or run folder with the
    dataset's features; the generator then hears its reconstructions of the utterances (computed
    once into RUN_DIR/finetune_mels/) while the losses compare with the real audio, and only the
    speakers it knows are used. `overrides` set any other `VocoderTrainConfig` field (steps, batch_size,
    checkpoint_every, …; the defaults are the paper's).
    Returns the newest checkpoint folder (its model.safetensors + config.json is a vocoder).
    """
    cfg = VocoderTrainConfig(
        config=config, init=None if init is None else str(init),
        finetune_from=None if finetune_from is None else str(finetune_from), **overrides,
    )
    if cfg.steps < 1:
        raise VaeganError(f"steps must be at least 1, got {cfg.steps}")
    run = run_folder(run_dir)
    refuse_overlap(run.path, {"dataset folder": Path(dataset_dir)})
    run.refuse_other_kind()  # before the lock creates RUN_DIR
    ctx = distributed.from_environment()  # torchrun: rank 0 locks and writes, every rank trains
    try:
        with run.lock() if ctx.main else contextlib.nullcontext(), run.stop_on_divergence():
            data, state = open_run(Path(dataset_dir), run, cfg, device, force, ctx)
            return fit(state, data, run, progress, on_step, tensorboard)
    finally:
        distributed.close(ctx)
