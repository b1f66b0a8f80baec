"""Frozen configs: feature presets, model sizes, training settings; each saved inside its artifact."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import VaeganError



def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _as_tuples(value: Any) -> Any:
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


class JsonConfig:
    """to_dict / from_dict for the frozen config dataclasses saved inside artifacts.

    Tuples are written as JSON lists and come back as tuples, so a config read from disk equals
    the one written; unknown keys are refused, so that typos never pass silently.
    """

    what = "config"

    def to_dict(self) -> dict[str, Any]:
        return {k: _as_lists(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise VaeganError(f"{cls.what}: unknown keys {sorted(unknown)}")
        data = {k: _as_tuples(v) if "tuple" in str(fields[k].type) else v for k, v in data.items()}
        for key, value in data.items():
            problem = _type_problem(value, str(fields[key].type))
            if problem:
                raise VaeganError(f"{cls.what}: '{key}' {problem}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise VaeganError(f"{cls.what}: {exc}") from None


def _type_problem(value: Any, annotation: str) -> str | None:
    """Why `value` does not fit a field annotated `annotation` (None when it fits).

    A config is read from a file the user may have edited: `n_mels: "lots"` must be refused here,
    not become a model trained on nonsense.
    """
    if value is None:
        return None if "None" in annotation else "must not be empty"
    base = annotation.split("|")[0].strip()
    if base == "bool":
        ok = isinstance(value, bool)
    elif base == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif base == "str":
        ok = isinstance(value, str)
    elif base.startswith("tuple"):
        ok = isinstance(value, tuple)
    elif base.startswith("dict"):
        ok = isinstance(value, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values())
    else:
        ok = True
    return None if ok else f"must be {base}, got {value!r}"


@dataclass(frozen=True)
class FeatureConfig(JsonConfig):
    """How audio becomes the model's log-mel features, and back.

    Features are always stored and modelled in [0, 1] ("normalised"); `log` says which log
    convention the vocoder expects (`db`: the seed's 20·log10, `ln`: HiFi-GAN's natural log).
    """

    what = "feature config"

    name: str
    sample_rate: int
    n_fft: int
    hop_length: int
    win_length: int
    n_mels: int
    fmin: float
    fmax: float
    log: str  # "db" or "ln"
    clamp: float = 1e-5
    # Normalisation of the log mel into [0, 1]: (log_mel - norm_min) / (norm_max - norm_min).
    norm_min: float = -100.0
    norm_max: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length

    def check_compatible(self, other: "FeatureConfig", what: str, other_what: str) -> None:
        """Raise a clear error naming both presets when two feature configs differ."""
        if self != other:
            diffs = [
                f"{f.name} {getattr(self, f.name)} vs {getattr(other, f.name)}"
                for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(other, f.name)
            ]
            hint = f"; for {what}, prepare the data again with --features {self.name} and retrain" if self.name in FEATURE_PRESETS else ""
            raise VaeganError(
                f"{what} uses features '{self.name}' but {other_what} uses '{other.name}' "
                f"({'; '.join(diffs)}){hint}"
            )


FEATURE_PRESETS: dict[str, FeatureConfig] = {
    # The reference implementations' features: magnitude mel, 20·log10, (dB + 100) / 100 in [0, 1].
    "seed": FeatureConfig(
        name="seed", sample_rate=16000, n_fft=2048, hop_length=200, win_length=800, n_mels=128,
        fmin=40.0, fmax=8000.0, log="db", norm_min=-100.0, norm_max=0.0,
    ),
    # HiFi-GAN V1 "universal" convention: ln(max(mel, 1e-5)); ln(1e-5) = -11.51 maps to 0.
    "hifigan": FeatureConfig(
        name="hifigan", sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, n_mels=80,
        fmin=0.0, fmax=8000.0, log="ln", norm_min=math.log(1e-5), norm_max=2.5,
    ),
    # Instruments: 44.1 kHz and mels up to 16 kHz keep the upper harmonics that tell a trumpet from
    # a violin (the hifigan preset stops at 8 kHz); 2048-point frames resolve a cello's low partials.
    # Griffin-Lim vocodes it (HiFi-GAN V1 universal only knows the hifigan preset).
    "music": FeatureConfig(
        name="music", sample_rate=44100, n_fft=2048, hop_length=512, win_length=2048, n_mels=128,
        fmin=30.0, fmax=16000.0, log="ln", norm_min=math.log(1e-5), norm_max=2.0,
    ),
}


def feature_preset(name: str) -> FeatureConfig:
    if name not in FEATURE_PRESETS:
        raise VaeganError(f"unknown feature preset '{name}' (have: {', '.join(FEATURE_PRESETS)})")
    return FEATURE_PRESETS[name]


@dataclass(frozen=True)
class ModelConfig(JsonConfig):
    """Widths and depths of the VAE-GAN, in one of two families.

    `family="seed"`: the paper's 2-D convolutions over the mel image (`seed` is the paper's size,
    `small` a half-width one, `tiny` is for tests). `family="fast"`: 1-D convolutions over time
    with mel bins as channels, a narrow latent (`latent_dim` channels at 1/`time_stride` of the
    frame rate) and, with `pitch`, an F0 path into every generator. Fields a family does not use
    keep their defaults, so model folders written before a field existed still load.
    """

    what = "model config"

    name: str = "seed"
    n_mels: int = 128
    channels: int = 32  # seed: first encoder conv, doubled at each downsampling; fast: trunk width
    encoder_res_blocks: int = 4
    shared_res_blocks: int = 1  # residual blocks shared by every generator (first in each)
    generator_res_blocks: int = 3  # each generator's own residual blocks
    disc_channels: int = 64
    disc_layers: int = 4  # seed: 4x4 stride-2 convs 1→64→128→256→512; fast: stride-2 1-D convs
    family: str = "seed"
    latent_dim: int = 0  # fast: channels of μ (the information bottleneck)
    time_stride: int = 1  # fast: μ has one frame per `time_stride` mel frames
    kernel: int = 5  # fast: 1-D kernel size
    pitch: bool = False  # fast: generators are given the (target-mapped) F0
    f0_bins: int = 256  # fast: coarse F0 classes (0 = unvoiced)

    @property
    def latent_channels(self) -> int:
        return self.latent_dim if self.family == "fast" else self.channels * 4

    @property
    def downsample(self) -> int:
        """Factor by which time (and, for seed, mel height) shrinks in the latent."""
        return self.time_stride if self.family == "fast" else 4


def model_preset(name: str, n_mels: int) -> ModelConfig:
    if name == "seed":
        return ModelConfig(name="seed", n_mels=n_mels)
    if name == "tiny":
        return ModelConfig(
            name="tiny", n_mels=n_mels, channels=8, encoder_res_blocks=1, shared_res_blocks=1,
            generator_res_blocks=1, disc_channels=8, disc_layers=3,
        )
    if name == "small":
        return ModelConfig(
            name="small", n_mels=n_mels, channels=16, encoder_res_blocks=2, shared_res_blocks=1,
            generator_res_blocks=2, disc_channels=16, disc_layers=3,
        )
    if name in FAST_PRESETS:
        return ModelConfig(name=name, n_mels=n_mels, family="fast", **FAST_PRESETS[name])
    raise VaeganError(f"unknown model '{name}' (have: {', '.join(MODEL_PRESETS)})")


# The 1-D, pitch-aware family. `fast` is the CPU configuration the ablations chose (SF1/TM1, same
# steps): the latent keeps the trunk's 128 channels at the full frame rate, because the narrow
# bottleneck (`fast-bottleneck`: 16 channels at half the rate) cost intelligibility (CER 0.30 vs
# 0.17) and bought no speaker similarity (0.83 vs 0.82, within the CIs). Instance norm in the
# encoder, the VAE noise and per-speaker generators with the F0 path already keep the source's
# identity out. The other presets switch one choice off each.
_FAST = dict(
    channels=128, encoder_res_blocks=3, shared_res_blocks=2, generator_res_blocks=2, disc_channels=64,
    disc_layers=3, latent_dim=128, time_stride=1, kernel=5, pitch=True,
)
FAST_PRESETS: dict[str, dict] = {
    "fast": _FAST,
    "fast-nopitch": {**_FAST, "pitch": False},
    "fast-bottleneck": {**_FAST, "latent_dim": 16, "time_stride": 2},  # 8 values per frame
    "fast-mid": {**_FAST, "latent_dim": 64, "time_stride": 2},  # 32 values per frame
    "fast-k3": {**_FAST, "kernel": 3},  # 0.6x the convolutions' cost, half the receptive field
    "fast-tiny": {**_FAST, "channels": 16, "encoder_res_blocks": 1, "shared_res_blocks": 1,
                  "generator_res_blocks": 1, "disc_channels": 8, "latent_dim": 8, "time_stride": 2},
}
MODEL_PRESETS = ("seed", "small", "tiny", *FAST_PRESETS)


def default_loss_weights(family: str = "seed") -> dict[str, float]:
    """The seed's loss weights; every key is logged, each is settable from the command line.

    The fast family adds `fm`, feature matching of reconstructions in the discriminator's
    layers (a learned perceptual loss against the over-smoothing of L1 alone).
    """
    weights = {
        "gan": 10.0,
        "kl": 0.1,
        "recon": 100.0,
        "cycle_kl": 0.1,
        "cycle": 100.0,
        "latent": 10.0,
    }
    if family == "fast":
        weights["fm"] = 10.0
    return weights


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """Everything that decides a training trajectory (saved in the run folder, checked on resume)."""

    what = "train config"

    steps: int = 100_000
    batch_size: int = 4
    crop_frames: int = 128
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    val_crops: int = 16  # validation crops per speaker
    # Decay of the weight average that checkpoints deploy (0: deploy the trained weights). Off
    # for the seed, as the paper; a run stored before this field existed resumes without it.
    ema_decay: float = 0.0
    # CPU training under bf16 autocast where the CPU has native bf16 (fp32 elsewhere); CUDA runs
    # always use bf16 autocast. Off for the seed and for runs stored before the field existed.
    cpu_bf16: bool = False
    loss_weights: dict[str, float] = field(default_factory=default_loss_weights)


def train_defaults(family: str) -> TrainConfig:
    """Default training settings per model family: the seed's for `seed`; for `fast`, what a
    2-core CPU trains well in about an hour (short crops, larger batches, a higher learning rate)."""
    if family == "fast":
        return TrainConfig(steps=8000, batch_size=16, crop_frames=64, lr=2e-4, checkpoint_every=500, ema_decay=0.999, cpu_bf16=True,
                           loss_weights=default_loss_weights("fast"))
    return TrainConfig()
