"""Fetch public speech corpora into DEST/<speaker>/<utterance> folders, with checksums and a record."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Callable, Iterable, Iterator

import numpy as np
import soundfile as sf

from ..io import FORMAT_VERSIONS, partial_path, sha256_file, write_json
from ..errors import VaeganError
from ..progress import progress_bar

log = logging.getLogger(__name__)

CORPORA = ("vcc2016", "flickr8k", "librispeech", "tedlium", "nsynth", "urmp")
RECORD = "corpus.json"  # written last and atomically: its presence marks a complete corpus
MARKER = ".fetch.json"  # an unfinished fetch: the speaker folders it has made so far
DOWNLOADS = ".downloads"  # verified archives (and partial downloads) kept until the corpus is complete
WORK = ".work"  # TED-LIUM talks spooled out of a tar stream until their transcript arrives
CHUNK = 1 << 20
TIMEOUT_S = 60


# ----------------------------------------------------------------------------- corpora


@dataclass(frozen=True)
class Corpus:
    """Where a corpus comes from and how it may be used. `url` may contain `{subset}`."""

    name: str
    title: str
    url: str
    size: str
    homepage: str
    licence: str
    citation: str
    default_subset: str | None = None  # None: the corpus has no subsets
    subsets: tuple[str, ...] = ()  # the known subset names; empty: any folder name is accepted


LIBRISPEECH_SUBSETS = (
    "dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360",
    "train-other-500",
)

CORPUS_INFO: dict[str, Corpus] = {
    "vcc2016": Corpus(
        name="vcc2016",
        title="Voice Conversion Challenge 2016, training data",
        url="https://datashare.ed.ac.uk/bitstream/handle/10283/2211/vcc2016_training.zip",
        size="about 200 MB",
        homepage="https://doi.org/10.7488/ds/1575",
        licence="Creative Commons Attribution 4.0 International (CC BY 4.0)",
        citation=(
            "T. Toda, L.-H. Chen, D. Saito, F. Villavicencio, M. Wester, Z. Wu, J. Yamagishi, "
            "\"The Voice Conversion Challenge 2016\", Proc. Interspeech 2016. DOI 10.7488/ds/1575."
        ),
    ),
    "flickr8k": Corpus(
        name="flickr8k",
        title="Flickr 8k Audio Caption Corpus",
        url="https://groups.csail.mit.edu/sls/downloads/flickraudio/downloads/flickr_audio.tar.gz",
        size="about 4.2 GB",
        homepage="https://groups.csail.mit.edu/sls/downloads/flickraudio/",
        licence="Creative Commons Attribution-ShareAlike (CC BY-SA)",
        citation=(
            "D. Harwath and J. Glass, \"Deep Multimodal Semantic Embeddings for Speech and Images\", "
            "IEEE ASRU 2015; and M. Hodosh, P. Young, J. Hockenmaier, \"Framing Image Description as a "
            "Ranking Task: Data, Models and Evaluation Metrics\", JAIR 47, 2013."
        ),
    ),
    "librispeech": Corpus(
        name="librispeech",
        title="LibriSpeech ASR corpus",
        url="https://www.openslr.org/resources/12/{subset}.tar.gz",
        size="0.3 GB (dev-clean) to 30 GB (train-other-500)",
        homepage="https://www.openslr.org/12",
        licence="Creative Commons Attribution 4.0 International (CC BY 4.0)",
        citation=(
            "V. Panayotov, G. Chen, D. Povey, S. Khudanpur, \"Librispeech: an ASR corpus based on "
            "public domain audio books\", Proc. ICASSP 2015."
        ),
        default_subset="dev-clean",
        subsets=LIBRISPEECH_SUBSETS,
    ),
    "tedlium": Corpus(
        name="tedlium",
        title="TED-LIUM release 3",
        url="https://www.openslr.org/resources/51/TEDLIUM_release-3.tgz",
        size="about 51 GB",
        homepage="https://www.openslr.org/51",
        licence="Creative Commons Attribution-NonCommercial-NoDerivs 3.0 (CC BY-NC-ND 3.0)",
        citation=(
            "F. Hernandez, V. Nguyen, S. Ghannay, N. Tomashenko, Y. Estève, \"TED-LIUM 3: twice as "
            "much data and corpus repartition for experiments on speaker adaptation\", SPECOM 2018."
        ),
        # "data" holds every talk once; "legacy/dev", "speaker-adaptation/test", … are the releases'
        # own splits (the same talks may appear in several).
        default_subset="data",
    ),
    # Instruments (see music_corpora.py): a "speaker" is an instrument (group).
    "nsynth": Corpus(
        name="nsynth",
        title="NSynth: 4-second musical notes of 1,006 instruments",
        url="http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-{subset}.jsonwav.tar.gz",
        size="about 0.3 GB (test), 1.1 GB (valid), 22 GB (train)",
        homepage="https://magenta.tensorflow.org/datasets/nsynth",
        licence="Creative Commons Attribution 4.0 International (CC BY 4.0)",
        citation=(
            "J. Engel, C. Resnick, A. Roberts, S. Dieleman, D. Eck, K. Simonyan, M. Norouzi, \"Neural Audio "
            "Synthesis of Musical Notes with WaveNet Autoencoders\", ICML 2017."
        ),
        default_subset="test",
        subsets=("test", "valid", "train"),
    ),
    "urmp": Corpus(
        name="urmp",
        title="URMP: University of Rochester Multi-Modal Music Performance dataset (separated stems)",
        # Distributed after a request form: download URMP.zip from the homepage and pass --source.
        url="https://labsites.rochester.edu/air/projects/URMP.html",
        size="about 12.5 GB",
        homepage="https://labsites.rochester.edu/air/projects/URMP.html",
        licence="Creative Commons Attribution-NonCommercial-ShareAlike 4.0 (CC BY-NC-SA 4.0)",
        citation=(
            "B. Li, X. Liu, K. Dinesh, Z. Duan, G. Sharma, \"Creating a Multitrack Classical Music Performance "
            "Dataset for Multimodal Music Analysis: Challenges, Insights, and Applications\", IEEE TMM 21(2), 2019."
        ),
    ),
}

FLICKR_DEFAULT_SPEAKERS = ("4", "7")  # the paper's female and male speakers; 49 and 17 are also usual


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # "sha256" or "md5"
    value: str
    published_by: str


# Keyed by file name, so a mirror serving the same archive is checked too. Archives not listed here
# (vcc2016_training.zip: DataShare publishes no checksum we could confirm) are not verified against a
# published value; their computed sha256 is recorded in corpus.json so that later copies can be.
KNOWN_CHECKSUMS: dict[str, Checksum] = {
    **{
        f"{name}.tar.gz": Checksum("sha256", value, "torchaudio.datasets.LIBRISPEECH (openslr.org lists md5 only)")
        for name, value in {
            "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
            "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
            "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
            "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
            "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
            "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
            "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
        }.items()
    },
    "TEDLIUM_release-3.tgz": Checksum(
        "sha256", "ad1e454d14d1ad550bc2564c462d87c7a7ec83d4dc2b9210f22ab4973b9eccdb",
        "torchaudio.datasets.TEDLIUM",
    ),
    "flickr_audio.tar.gz": Checksum(
        "md5", "9d078f1f150c26e864aa64d1d733779a", "the corpus page, groups.csail.mit.edu/sls/downloads/flickraudio",
    ),
}


# ----------------------------------------------------------------------------- entry point


def fetch(
    corpus: str,
    dest: Path,
    *,
    speakers: list[str] | None = None,
    source: str | Path | None = None,
    subset: str | None = None,
    force: bool = False,
    progress: bool = True,
    keep_downloads: bool = False,
) -> Path:
    """Put `corpus` into `dest/<SPEAKER>/<utt_id>.<ext>` plus `dest/corpus.json`; returns `dest`.

    `source` replaces the official download: a local folder or archive, or an http(s)/file URL.
    A `dest` holding a complete corpus is refused without `force`; an unfinished earlier fetch into
    `dest` is resumed, re-using its verified downloads. Downloaded archives are deleted once the
    corpus is complete unless `keep_downloads` (they then stay in `dest/.downloads/`).
    """
    spec = _corpus(corpus)
    subset = _subset(spec, subset)
    speakers = _clean_speakers(speakers)
    dest = Path(dest).expanduser()
    _check_apart(source, dest)
    _claim_dest(dest, spec.name, force)
    location, source_record = _resolve_source(spec, subset, source, dest, progress)
    writer = _Writer(dest, progress)
    try:
        info = _extract(spec.name, location, writer, speakers, subset)
    finally:
        writer.close()
    record = _record(spec, subset, source_record, info, writer.counts)
    _finish(dest, record, keep_downloads)
    log.info("%s: %d files of %d speakers in %s", spec.name, record["files"], len(info), dest)
    return dest


def _check_apart(source: str | Path | None, dest: Path) -> None:
    """A local source must not be, or contain, dest: its files would be read back as the corpus."""
    if source is None or re.match(r"^[a-z]+://", str(source), flags=re.IGNORECASE):
        return
    src, out = Path(source).expanduser().resolve(), dest.resolve()
    if src == out or src in out.parents:
        raise VaeganError(f"DEST {dest} lies inside the source {source}; choose another folder")


def _corpus(name: str) -> Corpus:
    if name not in CORPUS_INFO:
        raise VaeganError(f"unknown corpus '{name}' (have: {', '.join(CORPORA)})")
    return CORPUS_INFO[name]


def _subset(spec: Corpus, subset: str | None) -> str | None:
    if spec.default_subset is None:
        if subset is not None:
            raise VaeganError(f"{spec.name} has no subsets (got '{subset}')")
        return None
    subset = subset or spec.default_subset
    if spec.subsets and subset not in spec.subsets:
        raise VaeganError(f"unknown {spec.name} subset '{subset}' (have: {', '.join(spec.subsets)})")
    return subset


def _clean_speakers(speakers: Iterable[str] | None) -> list[str] | None:
    if speakers is None:
        return None
    cleaned = list(dict.fromkeys(s.strip() for s in speakers if s.strip()))
    if not cleaned:
        raise VaeganError("no speakers given (leave --speakers out for the corpus's default speakers)")
    return cleaned


def _extract(corpus: str, location: Path, writer: "_Writer", speakers: list[str] | None,
             subset: str | None) -> dict[str, dict[str, Any]]:
    """Run the corpus's extractor, turning damaged archives and I/O failures into one-line errors."""
    extractor = _EXTRACTORS[corpus]
    try:
        return extractor(location, writer, speakers, subset)
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise VaeganError(f"{location}: damaged or truncated archive ({exc})") from None
    except OSError as exc:
        raise VaeganError(f"fetching {corpus} into {writer.dest} failed ({exc}); "
                          "run the same command again to resume") from None


def _record(spec: Corpus, subset: str | None, source: dict[str, Any], info: dict[str, dict[str, Any]],
            counts: Counter) -> dict[str, Any]:
    speakers = {folder: {**details, "files": counts[folder]} for folder, details in info.items()}
    return {
        "format_version": FORMAT_VERSIONS["corpus"],
        "corpus": spec.name,
        "title": spec.title,
        "subset": subset,
        "source": source,
        "speakers": speakers,
        "files": sum(s["files"] for s in speakers.values()),
        "homepage": spec.homepage,
        "licence": spec.licence,
        "citation": spec.citation,
    }


# ----------------------------------------------------------------------------- the dest folder


def _claim_dest(dest: Path, corpus: str, force: bool) -> None:
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
    return isinstance(name, str) and name not in ("", ".", "..") and name == _safe_name(name)


def _safe_name(name: str) -> str:
    """A folder name that is one path component (and a valid speaker key): [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _claim(dest: Path, folder: str) -> None:
    state = _read_json(dest / MARKER, {"created": []})
    if folder not in state["created"]:
        state["created"].append(folder)
        write_json(dest / MARKER, state)


def _finish(dest: Path, record: dict[str, Any], keep_downloads: bool) -> None:
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


class _Writer:
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

    def add(self, folder: str, filename: str, member: "_Member") -> None:
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


def _require_files(writer: _Writer, wanted: dict[str, str], available: Iterable[str], what: str) -> None:
    """Every wanted folder (folder → speaker id) got at least one file, else list what there is."""
    missing = [speaker for folder, speaker in wanted.items() if writer.counts[folder] == 0]
    if missing:
        _raise_missing(missing, available, what)


def _check_speakers(wanted: Iterable[str], available: Iterable[str], what: str) -> None:
    available = set(available)
    missing = [s for s in wanted if s not in available]
    if missing:
        _raise_missing(missing, available, what)


def _raise_missing(missing: list[str], available: Iterable[str], what: str) -> None:
    noun = "speaker" if len(missing) == 1 else "speakers"
    raise VaeganError(f"{noun} {', '.join(missing)} not in {what} (available: {_listing(available)})")


def _listing(names: Iterable[str], limit: int = 40) -> str:
    names = sorted(set(names), key=_natural_key)
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names)} in all)"


def _natural_key(name: str) -> list[Any]:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t]


# ----------------------------------------------------------------------------- sources


def _resolve_source(spec: Corpus, subset: str | None, source: str | Path | None, dest: Path,
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
    hashes = _new_hashes(known)
    _feed(hashes, path)
    got = hashes[known.algorithm].hexdigest()
    if got != known.value:
        raise VaeganError(f"{path}: {known.algorithm} {got} differs from the published {known.value}")
    return {"sha256": hashes["sha256"].hexdigest(),
            "check": f"{known.algorithm} matches the value published by {known.published_by}"}


# ----------------------------------------------------------------------------- downloads


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
    hashes = _new_hashes(known)
    response = _open(url, offset)
    if response is None:  # 416: the partial file already holds every byte
        _feed(hashes, part)
        return hashes
    with response:
        if offset and getattr(response, "status", None) != 206:
            log.info("%s: the server does not resume downloads; starting again", url)
            offset = 0
        if offset:
            _feed(hashes, part)
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


def _new_hashes(known: Checksum | None) -> dict[str, Any]:
    hashes = {"sha256": hashlib.sha256()}
    if known is not None and known.algorithm != "sha256":
        hashes[known.algorithm] = hashlib.new(known.algorithm)
    return hashes


def _feed(hashes: dict[str, Any], path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)


# ----------------------------------------------------------------------------- archive members


@dataclass
class _Member:
    """One file of a source. `name` is a posix path: inside the archive, or, for a folder source,
    relative to the folder's parent (so it starts with the folder's own name)."""

    name: str
    open: Callable[[], IO[bytes]]
    path: Path | None = None  # set for folder sources, so that files can be hard-linked


def _members(source: Path) -> Iterator[_Member]:
    """Files of a folder, zip or tar (any compression). Tars are streamed: read each member's
    content before asking for the next one, and expect one pass only."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                yield _Member(path.relative_to(source.parent).as_posix(), functools.partial(path.open, "rb"), path)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield _Member(info.filename, functools.partial(archive.open, info))
    elif tarfile.is_tarfile(source):
        # Stream mode ("r|*"): no index of a multi-GB archive, no seeking, nothing unpacked to disk.
        with tarfile.open(source, "r|*") as archive:
            for info in archive:
                if info.isfile():
                    yield _Member(info.name, functools.partial(archive.extractfile, info))
    else:
        raise VaeganError(f"{source}: not a folder, zip or tar archive")


def _list_names(source: Path) -> list[str] | None:
    """Member names when listing is cheap (folder, zip); None for a tar, which needs a full pass."""
    if source.is_dir() or zipfile.is_zipfile(source):
        with contextlib.closing(_members(source)) as members:
            return [m.name for m in members]
    return None


def _read_member_text(source: Path, filename: str) -> str | None:
    """Text of the first member called `filename`; stops reading the source there."""
    with contextlib.closing(_members(source)) as members:
        for member in members:
            if PurePosixPath(member.name).name == filename:
                with member.open() as f:
                    return f.read().decode("utf-8", errors="replace")
    return None


# ----------------------------------------------------------------------------- vcc2016

_VCC_FILE = re.compile(r"(?:^|/)([ST][FM]\d)/(\d{6})\.(wav|flac)$")


def _extract_vcc2016(source: Path, writer: _Writer, speakers: list[str] | None,
                     subset: str | None) -> dict[str, dict[str, Any]]:
    """`<SPK>/1000NN.wav` (the official zip) or `.flac` (a converted copy) → dest/<SPK>/."""
    wanted = None if speakers is None else [s.upper() for s in speakers]
    names = _list_names(source)
    if names is not None and wanted is not None:
        _check_speakers(wanted, _vcc_speakers(names), "vcc2016")
    seen: set[str] = set()
    with contextlib.closing(_members(source)) as members:
        for member in members:
            match = _VCC_FILE.search(member.name)
            if match is None:
                continue
            speaker, utt, ext = match.groups()
            seen.add(speaker)
            if wanted is None or speaker in wanted:
                writer.add(speaker, f"{utt}.{ext}", member)
    if not seen:
        raise VaeganError(f"{source}: no VCC2016 files (<SPK>/1000NN.wav or .flac) found")
    chosen = wanted or sorted(seen)
    _require_files(writer, {s: s for s in chosen}, seen, "vcc2016")
    return {s: {"id": s} for s in chosen}


def _vcc_speakers(names: Iterable[str]) -> set[str]:
    return {m.group(1) for name in names if (m := _VCC_FILE.search(name))}


# ----------------------------------------------------------------------------- flickr8k


def _extract_flickr8k(source: Path, writer: _Writer, speakers: list[str] | None,
                      subset: str | None) -> dict[str, dict[str, Any]]:
    """`flickr_audio/wavs/*.wav` of the chosen wav2spk.txt speakers → dest/spk<ID>/.

    Two streamed passes: up to wav2spk.txt, then the chosen wavs (stopping after the last one).
    """
    text = _read_member_text(source, "wav2spk.txt")
    if text is None:
        raise VaeganError(f"{source}: no wav2spk.txt (expected flickr_audio/wav2spk.txt)")
    speaker_of = _parse_wav2spk(text)
    chosen = [s.removeprefix("spk") for s in (speakers or FLICKR_DEFAULT_SPEAKERS)]
    _check_speakers(chosen, speaker_of.values(), "flickr8k")
    wanted = {wav: spk for wav, spk in speaker_of.items() if spk in chosen}
    with contextlib.closing(_members(source)) as members:
        for member in members:
            path = PurePosixPath(member.name)
            if path.parent.name == "wavs" and path.name in wanted:
                writer.add(f"spk{wanted.pop(path.name)}", path.name, member)
                if not wanted:
                    break  # every chosen file is out: no need to read the rest of 4 GB
    if wanted:
        log.warning("%d files listed in wav2spk.txt are missing from %s", len(wanted), source)
    _require_files(writer, {f"spk{s}": s for s in chosen}, speaker_of.values(), "flickr8k")
    return {f"spk{s}": {"id": s} for s in chosen}


def _parse_wav2spk(text: str) -> dict[str, str]:
    """Lines `<wavname> <speaker_id>` → {wavname.wav: speaker_id}."""
    speaker_of = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            name = parts[0] if parts[0].endswith(".wav") else f"{parts[0]}.wav"
            speaker_of[name] = parts[1]
    return speaker_of


# ----------------------------------------------------------------------------- librispeech

_LS_FILE = re.compile(r"(?:^|/)([^/]+)/(\d+)/(\d+)/(\2-\3-\d+)\.flac$")


def _extract_librispeech(source: Path, writer: _Writer, speakers: list[str] | None,
                         subset: str | None) -> dict[str, dict[str, Any]]:
    """`LibriSpeech/<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac` → dest/spk<ID>/."""
    # A first pass that stops at SPEAKERS.TXT: cheap when it comes early in the archive.
    table = _read_member_text(source, "SPEAKERS.TXT")
    sexes = _parse_librispeech_speakers(table, subset) if table is not None else None
    chosen = [s.removeprefix("spk") for s in speakers] if speakers else _default_pair(sexes, source)
    what = f"librispeech {subset}"
    if sexes is not None:
        _check_speakers(chosen, sexes, what)
    seen: set[str] = set()
    with contextlib.closing(_members(source)) as members:
        for member in members:
            match = _LS_FILE.search(member.name)
            if match is None or match.group(1) != subset:
                continue
            seen.add(match.group(2))
            if match.group(2) in chosen:
                writer.add(f"spk{match.group(2)}", f"{match.group(4)}.flac", member)
    _require_files(writer, {f"spk{s}": s for s in chosen}, seen, what)
    return {f"spk{s}": {"id": s, "sex": (sexes or {}).get(s)} for s in chosen}


def _parse_librispeech_speakers(text: str, subset: str | None) -> dict[str, str]:
    """SPEAKERS.TXT rows `ID | SEX | SUBSET | MINUTES | NAME` of `subset` → {id: "F" or "M"}."""
    sexes = {}
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if line.startswith(";") or len(fields) < 3:
            continue
        if fields[2] == subset:
            sexes[fields[0]] = fields[1]
    return sexes


def _default_pair(sexes: dict[str, str] | None, source: Path) -> list[str]:
    """The lowest-numbered female and male speaker of the subset."""
    if sexes is None:
        raise VaeganError(f"{source} has no SPEAKERS.TXT to choose default speakers from; give --speakers")
    pair = []
    for sex in ("F", "M"):
        ids = sorted((s for s, x in sexes.items() if x == sex), key=_natural_key)
        if not ids:
            raise VaeganError(f"SPEAKERS.TXT lists no {sex} speaker for this subset; give --speakers")
        pair.append(ids[0])
    return pair


# ----------------------------------------------------------------------------- tedlium

_TED_FILE = re.compile(r"^(?:(.*)/)?(sph|stm)/([^/]+)\.(sph|stm)$")
_IGNORED = "ignore_time_segment_in_scoring"  # the releases' mark for music, applause, foreign speech


@dataclass(frozen=True)
class _Segment:
    start: float
    end: float
    speaker: str
    label: str


def _extract_tedlium(source: Path, writer: _Writer, speakers: list[str] | None,
                     subset: str | None) -> dict[str, dict[str, Any]]:
    """Talks `<subset>/sph/<talk>.sph` cut at their `<subset>/stm/<talk>.stm` segments → dest/<talk>/.

    A "speaker" is a talk id. Without `speakers`, the first two complete talks are taken (in name
    order for folders and zips, in stream order for tars, which then stops early).
    """
    wanted = list(speakers) if speakers else []
    names = _list_names(source)
    if names is not None:
        talks = _ted_talks(names, subset)
        wanted = wanted or talks[:2]
        _check_speakers(wanted, talks, f"tedlium {subset}")
    picking = not wanted  # a tar without --speakers: take the first two talks that appear
    cutter = _TalkCutter(writer)
    seen: set[str] = set()
    with contextlib.closing(_members(source)) as members:
        for member in members:
            parsed = _ted_member(member.name, subset)
            if parsed is None:
                continue
            seen.add(parsed[1])
            if picking and parsed[1] not in wanted and len(wanted) < 2:
                wanted.append(parsed[1])
            if parsed[1] in wanted:
                cutter.take(member, *parsed)
            if len(cutter.info) == len(wanted) and (not picking or len(wanted) == 2):
                break
    if not seen:
        raise VaeganError(f"{source}: no TED-LIUM talks ({subset}/sph/*.sph with {subset}/stm/*.stm) found")
    _require_files(writer, {_safe_name(t): t for t in wanted}, seen, f"tedlium {subset}")
    return cutter.info


class _TalkCutter:
    """Collects each talk's .sph and .stm (in either order) and cuts the talk once it has both."""

    def __init__(self, writer: _Writer):
        self.writer = writer
        self.work = writer.dest / WORK
        self.transcripts: dict[str, list[_Segment]] = {}
        self.audio: dict[str, Path] = {}
        self.info: dict[str, dict[str, Any]] = {}  # speaker folder → details, for finished talks

    def take(self, member: _Member, kind: str, talk: str) -> None:
        if _safe_name(talk) in self.info:
            return
        if kind == "stm":
            with member.open() as f:
                self.transcripts[talk] = _parse_stm(f.read().decode("utf-8", errors="replace"))
        else:
            # A tar member is spooled to disk: its transcript may come much later in the stream.
            self.audio[talk] = member.path or _spool(member, self.work / f"{_safe_name(talk)}.sph")
        if talk in self.transcripts and talk in self.audio:
            sph = self.audio.pop(talk)
            self.info[_safe_name(talk)] = _cut_talk(talk, sph, self.transcripts.pop(talk), self.writer)
            if sph.parent == self.work:
                sph.unlink()


def _ted_member(name: str, subset: str | None) -> tuple[str, str] | None:
    """('sph' or 'stm', talk id) for a member of `subset`, else None."""
    match = _TED_FILE.match(name)
    if match is None or match.group(2) != match.group(4):
        return None
    prefix = match.group(1) or ""
    if prefix != subset and not prefix.endswith(f"/{subset}"):
        return None
    return match.group(2), match.group(3)


def _ted_talks(names: Iterable[str], subset: str | None) -> list[str]:
    """Talk ids that have both a .sph and a .stm, sorted."""
    kinds: dict[str, set[str]] = {}
    for name in names:
        parsed = _ted_member(name, subset)
        if parsed is not None:
            kinds.setdefault(parsed[1], set()).add(parsed[0])
    return sorted((t for t, k in kinds.items() if k == {"sph", "stm"}), key=_natural_key)


def _parse_stm(text: str) -> list[_Segment]:
    """STM lines `talk channel speaker start end [<label>] transcript` → scored segments."""
    segments = []
    for line in text.splitlines():
        parts = line.split(maxsplit=6)
        if len(parts) < 5 or line.startswith(";;"):
            continue
        rest = parts[5:]
        label = rest.pop(0) if rest and rest[0].startswith("<") else ""
        transcript = " ".join(rest).strip()
        if transcript == _IGNORED:
            continue
        segments.append(_Segment(float(parts[3]), float(parts[4]), parts[2], label))
    return segments


def _main_speaker(segments: list[_Segment]) -> str | None:
    """The speaker field with the most talking time: the talk's presenter."""
    time: Counter = Counter()
    for seg in segments:
        time[seg.speaker] += seg.end - seg.start
    return time.most_common(1)[0][0] if time else None


def _spool(member: _Member, path: Path) -> Path:
    """Copy a streamed member to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with member.open() as src, open(path, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
    return path


def _cut_talk(talk: str, sph: Path, segments: list[_Segment], writer: _Writer) -> dict[str, Any]:
    """Write the presenter's segments as `<talk>-<start cs>-<end cs>.flac`; other voices
    (interviewers, audience) are left out so that the folder holds one speaker."""
    main = _main_speaker(segments)
    own = [s for s in segments if s.speaker == main]
    if not own:
        raise VaeganError(f"{talk}.stm: no scored segments to cut")
    folder = _safe_name(talk)
    try:
        audio = sf.SoundFile(str(sph))
    except (sf.LibsndfileError, RuntimeError) as exc:
        # libsndfile reads plain NIST SPHERE; shorten-compressed SPHERE needs sph2pipe first.
        raise VaeganError(f"{talk}.sph: not readable SPHERE/PCM audio ({exc}); "
                          "convert compressed SPHERE with sph2pipe and give the folder as --source") from None
    with audio:
        for seg in own:
            start = int(round(seg.start * audio.samplerate))
            stop = min(int(round(seg.end * audio.samplerate)), audio.frames)
            if stop <= start:
                continue
            audio.seek(start)
            wav = audio.read(stop - start, dtype="int16")
            name = f"{folder}-{round(seg.start * 100):07d}-{round(seg.end * 100):07d}.flac"
            writer.add_audio(folder, name, wav, audio.samplerate)
    labels = {part for s in own for part in s.label.strip("<>").split(",")}
    gender = next((g for g in ("female", "male") if g in labels), None)
    return {"id": talk, "gender": gender, "segments_of_other_speakers": len(segments) - len(own)}


from .music_corpora import extract_nsynth, extract_urmp  # noqa: E402  (they use the helpers above)

_EXTRACTORS: dict[str, Callable[..., dict[str, dict[str, Any]]]] = {
    "nsynth": extract_nsynth,
    "urmp": extract_urmp,
    "vcc2016": _extract_vcc2016,
    "flickr8k": _extract_flickr8k,
    "librispeech": _extract_librispeech,
    "tedlium": _extract_tedlium,
}
