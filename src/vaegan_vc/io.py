"""The one place files are written and read back: atomic writes, JSON, checksums, the output-folder
guards, and the version of every format vaegan-vc writes.

Every write goes to a temporary name beside its target and is renamed when complete: a reader (or
a resumed run) sees the old file or the whole new one, never half of it, and a failed write (a
full disk, an interrupt) leaves nothing behind. The temporary name is always `.NAME.partial`
(`partial_path`), for files and folders alike, so it is never mistaken for a finished one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from .errors import VaeganError

# The version of each format vaegan-vc writes. Bump one when its layout changes, and keep a reader
# for the old one.
FORMAT_VERSIONS = {
    "model": 1,        # model folder config.json (VAE-GAN and vocoder)
    "dataset": 1,      # dataset.json of `prepare`
    "run": 1,          # run.json of both trainers
    "corpus": 1,       # corpus.json of `data fetch` / `data synth-instruments`
    "evaluation": 1,   # metrics.json of `evaluate`
    "onnx": 1,         # onnx.json of `export --onnx`
}


def check_format(data: Any, kind: str, path: Path) -> None:
    """Refuse a file whose format_version this vaegan-vc does not read."""
    found = data.get("format_version") if isinstance(data, dict) else None
    if found != FORMAT_VERSIONS[kind]:
        raise VaeganError(f"{path}: {kind} format version {found} (this vaegan-vc reads version {FORMAT_VERSIONS[kind]})")


# ----------------------------------------------------------------------------- atomic writes


def partial_path(final: Path | str) -> Path:
    """Where `final` (a file or a folder) is written before it is renamed into place."""
    final = Path(final)
    return final.with_name(f".{final.name}.partial")


@contextlib.contextmanager
def atomic_path(path: Path | str):
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is removed."""
    path = Path(path)
    tmp = partial_path(path)
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: Path | str):
    """Yield an empty temporary folder beside `path`; on success it replaces `path` (an existing
    one is removed first), on failure it is deleted."""
    path = Path(path)
    tmp = partial_path(path)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path | str, data: Any, indent: int | None = 2, sort_keys: bool = False,
               allow_nan: bool = False) -> None:
    """JSON (UTF-8; NaN refused unless `allow_nan`, as strict readers reject it) written atomically."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=sort_keys, allow_nan=allow_nan)
    write_text(path, text + "\n")


def read_json(path: Path | str, what: str) -> Any:
    """Parsed JSON, or a one-line error naming the file and `what` it should have been."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VaeganError(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VaeganError(f"{path}: corrupted {what} ({exc})") from None


def copy_file_atomic(src: Path, dst: Path) -> None:
    """Copy under a temporary name, then rename: a full disk never leaves a truncated `dst`."""
    with atomic_path(dst) as tmp:
        shutil.copy2(src, tmp)


# ----------------------------------------------------------------------------- checksums


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path | str, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise VaeganError(f"{path}: checksum mismatch (sha256 {actual[:16]}…, expected {expected[:16]}…); the file is damaged or was altered")


# ----------------------------------------------------------------------------- output folders


def refuse_to_overwrite(folder: Path, force: bool) -> None:
    """Nothing is overwritten without --force: a non-empty output folder is an error. The folder
    must also be writable, which is checked now rather than after the work."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise VaeganError(f"{folder}: is a file, not a folder")
    if folder.exists() and any(folder.iterdir()) and not force:
        raise VaeganError(f"{folder}: already exists; use --force to overwrite")
    check_writable(folder)


def check_writable(folder: Path) -> None:
    """Refuse an output folder that cannot be written (read-only, a file in the way, no permission)."""
    folder = Path(folder)
    parent = folder if folder.exists() else next((p for p in folder.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise VaeganError(f"{parent}: is a file, so {folder} cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise VaeganError(f"{parent}: not writable (read-only or no permission)")


def refuse_overlap(output: Path, inputs: dict[str, Path | None]) -> None:
    """An output folder must not be, contain or lie inside an input: --force would delete the input.

    inputs: {what it is: path}; None entries are skipped.
    """
    out = Path(output).resolve()
    for what, path in inputs.items():
        if path is None:
            continue
        src = Path(path).resolve()
        if out == src or src.is_relative_to(out) or out.is_relative_to(src):
            relation = "is" if out == src else "contains" if src.is_relative_to(out) else "lies inside"
            raise VaeganError(f"{output}: the output folder {relation} the {what} ({path}); choose an output folder apart from it")
