"""The files of a source, read alike from a folder, a zip or a (streamed) tar."""

from __future__ import annotations

import contextlib
import functools
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator

from ...errors import VaeganError


@dataclass
class Member:
    """One file of a source. `name` is a posix path: inside the archive, or, for a folder source,
    relative to the folder's parent (so it starts with the folder's own name)."""

    name: str
    open: Callable[[], IO[bytes]]
    path: Path | None = None  # set for folder sources, so that files can be hard-linked


def iter_members(source: Path) -> Iterator[Member]:
    """Files of a folder, zip or tar (any compression). Tars are streamed: read each member's
    content before asking for the next one, and expect one pass only."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                yield Member(path.relative_to(source.parent).as_posix(), functools.partial(path.open, "rb"), path)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield Member(info.filename, functools.partial(archive.open, info))
    elif tarfile.is_tarfile(source):
        # Stream mode ("r|*"): no index of a multi-GB archive, no seeking, nothing unpacked to disk.
        with tarfile.open(source, "r|*") as archive:
            for info in archive:
                if info.isfile():
                    yield Member(info.name, functools.partial(archive.extractfile, info))
    else:
        raise VaeganError(f"{source}: not a folder, zip or tar archive")


def list_names(source: Path) -> list[str] | None:
    """Member names when listing is cheap (folder, zip); None for a tar, which needs a full pass."""
    if source.is_dir() or zipfile.is_zipfile(source):
        with contextlib.closing(iter_members(source)) as members:
            return [m.name for m in members]
    return None


def read_member_text(source: Path, filename: str) -> str | None:
    """Text of the first member called `filename`; stops reading the source there."""
    with contextlib.closing(iter_members(source)) as members:
        for member in members:
            if PurePosixPath(member.name).name == filename:
                with member.open() as f:
                    return f.read().decode("utf-8", errors="replace")
    return None
