"""Where a fetch reads from: the official download, a URL, or a local folder or archive."""

from __future__ import annotations

import logging
import re
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import VaeganError
from .destination import DOWNLOADS
from .download import download, feed, new_hashes
from .registry import KNOWN_CHECKSUMS, Corpus

log = logging.getLogger(__name__)


def resolve_source(spec: Corpus, subset: str | None, source: str | Path | None, dest: Path,
                   progress: bool) -> tuple[Path, dict[str, Any]]:
    """The folder or archive to read, and how it was obtained (for corpus.json)."""
    if source is None and spec.name == "urmp":
        raise VaeganError(f"URMP is given out after a request form: download URMP.zip from {spec.homepage}, "
                          "then run again with --source URMP.zip")
    if source is None:
        url = spec.url.format(subset=subset)
        log.info("downloading %s (%s) from %s", spec.title, spec.size, url)
        return _download_to_dest(url, dest, progress)
    if re.match(r"^(https?|file)://", str(source), flags=re.IGNORECASE):
        return _download_to_dest(str(source), dest, progress)
    path = Path(source).expanduser()
    if not path.exists():
        raise VaeganError(f"source {path}: no such file or folder")
    return path, {"path": str(path.resolve()), **_check_local(path)}


def _download_to_dest(url: str, dest: Path, progress: bool) -> tuple[Path, dict[str, Any]]:
    name = PurePosixPath(urllib.parse.urlparse(url).path).name
    if not name:
        raise VaeganError(f"{url}: the URL names no file")
    folder = dest / DOWNLOADS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    return target, download(url, target, progress=progress)


def _check_local(path: Path) -> dict[str, Any]:
    """Verify a local archive whose name has a published checksum; a user's file is never deleted."""
    known = KNOWN_CHECKSUMS.get(path.name)
    if path.is_dir():
        return {"check": "local folder: not checksummed"}
    if known is None:
        return {"check": "local archive: no published checksum to verify against"}
    log.info("verifying %s", path)
    hashes = new_hashes(known)
    feed(hashes, path)
    got = hashes[known.algorithm].hexdigest()
    if got != known.value:
        raise VaeganError(f"{path}: {known.algorithm} {got} differs from the published {known.value}")
    return {"sha256": hashes["sha256"].hexdigest(),
            "check": f"{known.algorithm} matches the value published by {known.published_by}"}
