"""Models that ship inside the package, usable by name: `vaegan-vc convert vcc2016-4 …`, `vaegan_vc.load("vcc2016-4")`.

`pretrained/registry.json` lists each one: its folder under `pretrained/`, speakers, feature
preset, licence and the sha256 of every file, which is checked before the model is used, so a
damaged or altered installation is refused rather than run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .io import verify_sha256
from .errors import VaeganError

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
REGISTRY_FILE = "registry.json"


@dataclass(frozen=True)
class BundledModel:
    name: str
    folder: Path
    speakers: tuple[str, ...]
    features: str
    licence: str
    description: str
    sha256: dict[str, str]

    @property
    def size_bytes(self) -> int:
        return sum((self.folder / f).stat().st_size for f in self.sha256 if (self.folder / f).is_file())


def registry(root: Path | None = None) -> dict[str, BundledModel]:
    """Every bundled model by name (an empty dict when the package ships none)."""
    root = Path(root) if root is not None else PRETRAINED_DIR
    path = root / REGISTRY_FILE
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())
        return {
            name: BundledModel(name, root / e["folder"], tuple(e["speakers"]), e["features"], e["licence"],
                               e["description"], dict(e["sha256"]))
            for name, e in entries.items()
        }
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VaeganError(f"{path}: damaged model registry ({exc}); reinstall vaegan-vc") from None


def is_bundled_name(text: str, root: Path | None = None) -> bool:
    return text in registry(root)


def bundled_model_dir(name: str, root: Path | None = None) -> Path:
    """The verified folder of bundled model `name`. Unknown names get the list of bundled ones."""
    models = registry(root)
    if name not in models:
        have = ", ".join(models) or "none in this installation"
        raise VaeganError(f"'{name}' is neither a model or run folder nor a bundled model (bundled: {have})")
    model = models[name]
    for file, digest in model.sha256.items():
        path = model.folder / file
        if not path.is_file():
            raise VaeganError(f"bundled model '{name}': {path} is missing; reinstall vaegan-vc")
        verify_sha256(path, digest)
    return model.folder


PREFERRED_DEFAULT = "vcc2016"  # all ten VCC2016 voices, once bundled


def default_model_name(root: Path | None = None) -> str:
    """The bundled model that commands use when none is named."""
    models = registry(root)
    if not models:
        raise VaeganError("this installation bundles no model; name a model or run folder")
    return PREFERRED_DEFAULT if PREFERRED_DEFAULT in models else next(iter(models))
