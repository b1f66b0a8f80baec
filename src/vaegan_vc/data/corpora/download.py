"""HTTP(S) and file-URL downloads that resume with a Range request and verify published checksums."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from ...errors import VaeganError
from ...io import partial_path, sha256_file
from ...progress import progress_bar
from .registry import KNOWN_CHECKSUMS, Checksum

log = logging.getLogger(__name__)

CHUNK = 1 << 20
TIMEOUT_S = 60


def download(url: str, target: Path, *, progress: bool = True) -> dict[str, Any]:
    """Fetch `url` into `target`, resuming `.<target>.partial` with an HTTP Range request.

    The file gets its final name only once complete and, where KNOWN_CHECKSUMS lists its name,
    verified; a mismatch deletes the partial file. Returns {url, file, bytes, sha256, check}.
    """
    target = Path(target)
    known = KNOWN_CHECKSUMS.get(target.name)
    sidecar = target.with_name(f"{target.name}.sha256")
    if target.is_file():  # an earlier run finished (and verified) it
        sha256 = sidecar.read_text().strip() if sidecar.is_file() else sha256_file(target)
        return _download_record(url, target, sha256, known)
    part = partial_path(target)  # kept between runs: the next one resumes it
    hashes = _transfer(url, part, known, progress)
    if known is not None:
        got = hashes[known.algorithm].hexdigest()
        if got != known.value:
            part.unlink(missing_ok=True)
            raise VaeganError(
                f"{target.name}: {known.algorithm} mismatch (expected {known.value}, got {got}); "
                "the download was deleted"
            )
    sha256 = hashes["sha256"].hexdigest()
    sidecar.write_text(sha256 + "\n")
    os.replace(part, target)
    return _download_record(url, target, sha256, known)


def _download_record(url: str, target: Path, sha256: str, known: Checksum | None) -> dict[str, Any]:
    if known is None:
        check = "no published checksum known: sha256 recorded, not verified"
    else:
        check = f"{known.algorithm} matches the value published by {known.published_by}"
    return {"url": url, "file": target.name, "bytes": target.stat().st_size, "sha256": sha256, "check": check}


def _transfer(url: str, part: Path, known: Checksum | None, progress: bool) -> dict[str, Any]:
    """Append the rest of `url` to `part`; returns hashes of the whole file."""
    offset = part.stat().st_size if part.is_file() else 0
    hashes = new_hashes(known)
    response = _open(url, offset)
    if response is None:  # 416: the partial file already holds every byte
        feed(hashes, part)
        return hashes
    with response:
        if offset and getattr(response, "status", None) != 206:
            log.info("%s: the server does not resume downloads; starting again", url)
            offset = 0
        if offset:
            feed(hashes, part)
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        with open(part, "ab" if offset else "wb") as out, progress_bar(
            total=None if expected is None else offset + expected, initial=offset, unit="B",
            unit_scale=True, unit_divisor=1024, desc=part.name[1: -len(".partial")], disable=not progress,
        ) as bar:
            received = _copy_response(url, response, out, hashes, bar)
    if expected is not None and received < expected:
        raise _network_error(url, f"connection closed after {offset + received} of {offset + expected} bytes")
    return hashes


def _open(url: str, offset: int):
    """urlopen with a Range header when resuming; None when the server says nothing is left."""
    headers = {"User-Agent": "vaegan-vc"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return None
        if exc.code >= 500:
            raise _network_error(url, f"HTTP {exc.code} {exc.reason}") from None
        raise VaeganError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _network_error(url, getattr(exc, "reason", exc)) from None


def _copy_response(url: str, response: IO[bytes], out: IO[bytes], hashes: dict[str, Any], bar) -> int:
    received = 0
    try:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            for h in hashes.values():
                h.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    except (http.client.HTTPException, OSError) as exc:
        raise _network_error(url, exc) from None
    return received


def _network_error(url: str, reason: object) -> VaeganError:
    return VaeganError(f"download of {url} failed ({reason}); run the same command again to resume")


def new_hashes(known: Checksum | None) -> dict[str, Any]:
    hashes = {"sha256": hashlib.sha256()}
    if known is not None and known.algorithm != "sha256":
        hashes[known.algorithm] = hashlib.new(known.algorithm)
    return hashes


def feed(hashes: dict[str, Any], path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
