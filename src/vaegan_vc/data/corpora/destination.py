"""The destination folder of a fetch: claimed, filled folder by folder, marked complete last; speaker checks."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import soundfile as sf

from ...errors import VaeganError
from ...io import partial_path, write_json
from ...progress import progress_bar
from .archive import Member
from .download import CHUNK

log = logging.getLogger(__name__)

RECORD = "corpus.json"  # written last and atomically: its presence marks a complete corpus
MARKER = ".fetch.json"  # an unfinished fetch: the speaker folders it has made so far
DOWNLOADS = ".downloads"  # verified archives (and partial downloads) kept until the corpus is complete
WORK = ".work"  # TED-LIUM talks spooled out of a tar stream until their transcript arrives


def claim_dest(dest: Path, corpus: str, force: bool) -> None:
    """Make `dest` ready: refuse a complete corpus (unless `force`), clean up an unfinished fetch."""
    if dest.exists() and not dest.is_dir():
        raise VaeganError(f"{dest} exists and is not a folder")
    marker = dest / MARKER
    previous = _read_json(marker, {"created": []})
    if (dest / RECORD).exists():
        if not force:
            raise VaeganError(f"{dest} already holds a corpus; use --force")
        old = _read_json(dest / RECORD, {})
        previous["created"] = list(previous.get("created", [])) + list(old.get("speakers", {}))
        # Write the marker before deleting the record, so a crash here still looks unfinished.
        write_json(marker, previous)
        (dest / RECORD).unlink()
    elif dest.exists() and any(dest.iterdir()) and not marker.exists() and not force:
        raise VaeganError(f"{dest} is not empty and holds no corpus; choose an empty folder or use --force")
    elif marker.exists():
        log.info("resuming an unfinished fetch in %s", dest)
    dest.mkdir(parents=True, exist_ok=True)
    # Extraction is redone from the (kept) downloads, so speaker folders of earlier attempts go.
    for name in previous.get("created", []):
        if _is_own_folder(name):
            shutil.rmtree(dest / name, ignore_errors=True)
    shutil.rmtree(dest / WORK, ignore_errors=True)
    write_json(marker, {"corpus": corpus, "created": []})


def _is_own_folder(name: str) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and name == safe_name(name)


def safe_name(name: str) -> str:
    """A folder name that is one path component (and a valid speaker key): [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _claim(dest: Path, folder: str) -> None:
    state = _read_json(dest / MARKER, {"created": []})
    if folder not in state["created"]:
        state["created"].append(folder)
        write_json(dest / MARKER, state)


def finish(dest: Path, record: dict[str, Any], keep_downloads: bool) -> None:
    shutil.rmtree(dest / WORK, ignore_errors=True)
    if not keep_downloads:
        shutil.rmtree(dest / DOWNLOADS, ignore_errors=True)
    write_json(dest / RECORD, record)
    (dest / MARKER).unlink(missing_ok=True)


def _read_json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


class Writer:
    """Writes files into dest/<folder>/, claiming each folder in the marker before making it."""

    def __init__(self, dest: Path, progress: bool):
        self.dest = dest
        self.counts: Counter = Counter()
        self._claimed: set[str] = set()
        self._bar = progress_bar(unit=" files", desc="extract", disable=not progress)

    def _target(self, folder: str, filename: str) -> Path:
        if folder not in self._claimed:
            _claim(self.dest, folder)
            (self.dest / folder).mkdir(exist_ok=True)
            self._claimed.add(folder)
        return self.dest / folder / filename

    def _done(self, tmp: Path, target: Path, folder: str) -> None:
        os.replace(tmp, target)
        self.counts[folder] += 1
        self._bar.update(1)

    def add(self, folder: str, filename: str, member: Member) -> None:
        """Hard-link a local file (same filesystem), else copy it; archive members are streamed."""
        target = self._target(folder, filename)
        tmp = partial_path(target)
        tmp.unlink(missing_ok=True)
        if member.path is not None:
            try:
                os.link(member.path, tmp)
            except OSError:
                shutil.copyfile(member.path, tmp)
        else:
            with member.open() as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
        self._done(tmp, target, folder)

    def add_audio(self, folder: str, filename: str, wav: np.ndarray, sample_rate: int) -> None:
        """Write int16 samples [N] (or [N, C]) as 16-bit FLAC."""
        target = self._target(folder, filename)
        tmp = partial_path(target)
        sf.write(str(tmp), wav, sample_rate, format="FLAC", subtype="PCM_16")
        self._done(tmp, target, folder)

    def close(self) -> None:
        self._bar.close()


def require_files(writer: Writer, wanted: dict[str, str], available: Iterable[str], what: str) -> None:
    """Every wanted folder (folder → speaker id) got at least one file, else list what there is."""
    missing = [speaker for folder, speaker in wanted.items() if writer.counts[folder] == 0]
    if missing:
        _raise_missing(missing, available, what)


def check_speakers(wanted: Iterable[str], available: Iterable[str], what: str) -> None:
    available = set(available)
    missing = [s for s in wanted if s not in available]
    if missing:
        _raise_missing(missing, available, what)


def _raise_missing(missing: list[str], available: Iterable[str], what: str) -> None:
    noun = "speaker" if len(missing) == 1 else "speakers"
    raise VaeganError(f"{noun} {', '.join(missing)} not in {what} (available: {_listing(available)})")


def _listing(names: Iterable[str], limit: int = 40) -> str:
    names = sorted(set(names), key=natural_key)
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names)} in all)"


def natural_key(name: str) -> list[Any]:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t]
