"""Voice Conversion Challenge 2016: `<SPK>/1000NN.wav` → dest/<SPK>/."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Iterable

from ...errors import VaeganError
from .archive import iter_members, list_names
from .destination import Writer, check_speakers, require_files

_VCC_FILE = re.compile(r"(?:^|/)([ST][FM]\d)/(\d{6})\.(wav|flac)$")


def extract_vcc2016(source: Path, writer: Writer, speakers: list[str] | None,
                    subset: str | None) -> dict[str, dict[str, Any]]:
    """`<SPK>/1000NN.wav` (the official zip) or `.flac` (a converted copy) → dest/<SPK>/."""
    wanted = None if speakers is None else [s.upper() for s in speakers]
    names = list_names(source)
    if names is not None and wanted is not None:
        check_speakers(wanted, _vcc_speakers(names), "vcc2016")
    seen: set[str] = set()
    with contextlib.closing(iter_members(source)) as members:
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
    require_files(writer, {s: s for s in chosen}, seen, "vcc2016")
    return {s: {"id": s} for s in chosen}


def _vcc_speakers(names: Iterable[str]) -> set[str]:
    return {m.group(1) for name in names if (m := _VCC_FILE.search(name))}
