"""A vocoder run's settings (no torch here, so the command line can show their defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import JsonConfig

# The paper's weights: λ_fm = 2, λ_mel = 45 (Kong et al., 2020, eq. 6).
HIFIGAN_LOSS_WEIGHTS: dict[str, float] = {"adv": 1.0, "fm": 2.0, "mel": 45.0}


@dataclass(frozen=True)
class VocoderTrainConfig(JsonConfig):
    """Everything that decides a vocoder training trajectory (saved in run.json, checked on resume).

    Defaults are the paper's (Kong et al., 2020; jik876/hifi-gan config_v1.json).
    """

    what = "vocoder train config"

    config: str = "v1"
    init: str | None = None  # None (random), "universal", or a vocoder file/folder
    finetune_from: str | None = None  # None (real features as input), or a VAE-GAN model/run folder
    steps: int = 100_000
    batch_size: int = 16
    segment_size: int = 8192  # samples per training crop (32 frames at hop 256)
    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    lr_decay: float = 0.999  # per epoch-equivalent (one crop per training utterance)
    seed: int = 1234
    checkpoint_every: int = 5000
    keep_checkpoints: int = 3
    log_every: int = 50
    val_utterances: int = 4
    val_max_frames: int = 512  # validation audio is cropped to this many frames (~6 s at 22 kHz)
    loss_weights: dict[str, float] = field(default_factory=lambda: dict(HIFIGAN_LOSS_WEIGHTS))
