"""`vaegan-vc data fetch`: public corpora into DEST/<speaker>/<utterance> folders, with checksums and a record.

`fetch` is the entry point; each corpus's layout is read by its own module (vcc2016.py, …, urmp.py).
"""

from __future__ import annotations

import gzip
import logging
import re
import tarfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from ...errors import VaeganError
from ...io import FORMAT_VERSIONS
from .destination import DOWNLOADS, MARKER, RECORD, WORK, Writer, claim_dest, finish
from .download import CHUNK, TIMEOUT_S, download
from .flickr8k import FLICKR_DEFAULT_SPEAKERS, extract_flickr8k
from .librispeech import extract_librispeech
from .nsynth import extract_nsynth
from .registry import CORPORA, CORPUS_INFO, KNOWN_CHECKSUMS, LIBRISPEECH_SUBSETS, Checksum, Corpus
from .sources import resolve_source
from .tedlium import extract_tedlium
from .urmp import extract_urmp
from .vcc2016 import extract_vcc2016

__all__ = [
    "CHUNK", "CORPORA", "CORPUS_INFO", "DOWNLOADS", "FLICKR_DEFAULT_SPEAKERS", "KNOWN_CHECKSUMS",
    "LIBRISPEECH_SUBSETS", "MARKER", "RECORD", "TIMEOUT_S", "WORK", "Checksum", "Corpus", "download", "fetch",
]

log = logging.getLogger(__name__)


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
    claim_dest(dest, spec.name, force)
    location, source_record = resolve_source(spec, subset, source, dest, progress)
    writer = Writer(dest, progress)
    try:
        info = _extract(spec.name, location, writer, speakers, subset)
    finally:
        writer.close()
    record = _record(spec, subset, source_record, info, writer.counts)
    finish(dest, record, keep_downloads)
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


def _extract(corpus: str, location: Path, writer: Writer, speakers: list[str] | None,
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


_EXTRACTORS: dict[str, Callable[..., dict[str, dict[str, Any]]]] = {
    "nsynth": extract_nsynth,
    "urmp": extract_urmp,
    "vcc2016": extract_vcc2016,
    "flickr8k": extract_flickr8k,
    "librispeech": extract_librispeech,
    "tedlium": extract_tedlium,
}
