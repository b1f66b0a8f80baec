"""Checkpoints without pickle: deployable model (safetensors + config.json) and resumable state apart."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import FeatureConfig, ModelConfig
from .io import FORMAT_VERSIONS, atomic_path, check_format, read_json, sha256_file, verify_sha256, write_json
from .errors import VaeganError

log = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "state.safetensors"
STATE_META_FILE = "state.json"
MODEL_KIND = "vaegan-vc"


# ----------------------------------------------------------------------------- tensors


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """safetensors file written atomically; tensors are made contiguous CPU copies."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp))


def load_tensors(path: Path, what: str) -> dict[str, torch.Tensor]:
    if not Path(path).is_file():
        raise VaeganError(f"{path}: {what} not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise VaeganError(f"{path}: corrupted {what} ({exc})") from None


# ----------------------------------------------------------------------------- deployable model


def model_config_dict(model_cfg: ModelConfig, features: FeatureConfig, speakers: list[str],
                      f0_stats: dict[str, dict[str, float]] | None = None) -> dict:
    data = {
        "kind": MODEL_KIND,
        "format_version": FORMAT_VERSIONS["model"],
        "model": model_cfg.to_dict(),
        "features": features.to_dict(),
        "speakers": list(speakers),
    }
    if f0_stats is not None:
        data["f0_stats"] = f0_stats
    return data


def save_model(folder: Path, model: torch.nn.Module, features: FeatureConfig, half: bool = False) -> None:
    """Write `model.safetensors` + `config.json`: all that `convert` needs, nothing to re-type.

    config.json records the weights' sha256, so that a damaged or altered weight file is refused.
    `half` stores floating-point weights in fp16 (for shipping; they are loaded in fp32).
    """
    folder.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_tensors(folder / MODEL_FILE, state)
    config = model_config_dict(model.cfg, features, model.speakers, model.f0_stats)
    config["weights_sha256"] = sha256_file(folder / MODEL_FILE)
    write_json(folder / CONFIG_FILE, config)


@dataclass(frozen=True)
class StoredConfig:
    """A model folder's config.json, read and checked once."""

    model: ModelConfig
    features: FeatureConfig
    speakers: list[str]
    f0_stats: dict[str, dict[str, float]] | None  # a pitch-aware model's ln-F0 statistics
    weights_sha256: str | None  # None in folders written before it was recorded


def read_config(folder: Path) -> StoredConfig:
    path = folder / CONFIG_FILE
    data = read_json(path, "model config")
    if not isinstance(data, dict) or data.get("kind") != MODEL_KIND:
        raise VaeganError(f"{path}: not a vaegan-vc model config")
    check_format(data, "model", path)
    try:
        return StoredConfig(
            ModelConfig.from_dict(data["model"]), FeatureConfig.from_dict(data["features"]), list(data["speakers"]),
            data.get("f0_stats"), data.get("weights_sha256"),
        )
    except (KeyError, TypeError) as exc:
        raise VaeganError(f"{path}: incomplete model config ({exc})") from None
    except VaeganError as exc:
        raise VaeganError(f"{path}: {exc}") from None


def load_model_tensors(folder: Path, config: StoredConfig | None = None) -> dict[str, torch.Tensor]:
    """A model folder's weights, checked against the sha256 in its config.json (when recorded:
    folders written before it was are loaded as they are). `config`: the folder's, if already read."""
    expected = (config or read_config(folder)).weights_sha256
    if expected is not None:
        verify_sha256(folder / MODEL_FILE, expected)
    return load_tensors(folder / MODEL_FILE, "model weights")


def load_state_dict_strict(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Strict key and shape matching with a one-line error instead of torch's long report."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise VaeganError(
            f"{path}: weights do not match the model (missing {missing[:3]}{'…' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'…' if len(unexpected) > 3 else ''})"
        )
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise VaeganError(f"{path}: '{key}' has shape {list(value.shape)}, model expects {list(expected[key].shape)}")
    module.load_state_dict(tensors, strict=True)


# ----------------------------------------------------------------------------- optimizer state


def flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state → (tensors for safetensors, JSON-able rest)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    """Inverse of `flatten_optimizer`: a state dict for `optimizer.load_state_dict`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


# ----------------------------------------------------------------------------- checkpoint folders


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first (a `.partial` folder is never listed)."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"step_\d{8}", p.name))


def resolve_model_dir(path: Path, what: str = "model") -> Path:
    """A model folder, or a run folder (→ its newest checkpoint). Clear error otherwise.

    `what` names the kind of model in the error ("model", "vocoder").
    """
    path = Path(path)
    if (path / CONFIG_FILE).is_file() and (path / MODEL_FILE).is_file():
        return path
    checkpoints = list_checkpoints(path)
    if checkpoints:
        return checkpoints[-1]
    if not path.exists():
        raise VaeganError(f"{path}: no such {what} or run folder")
    raise VaeganError(f"{path}: neither a {what} folder ({MODEL_FILE} + {CONFIG_FILE}) nor a run folder with checkpoints")
