"""LibriSpeech: one subset's `<spk>/<chapter>/*.flac` → dest/spk<ID>/, speakers' sex from SPEAKERS.TXT."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from ...errors import VaeganError
from .archive import iter_members, read_member_text
from .destination import Writer, check_speakers, natural_key, require_files

_LS_FILE = re.compile(r"(?:^|/)([^/]+)/(\d+)/(\d+)/(\2-\3-\d+)\.flac$")


def extract_librispeech(source: Path, writer: Writer, speakers: list[str] | None,
                        subset: str | None) -> dict[str, dict[str, Any]]:
    """`LibriSpeech/<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac` → dest/spk<ID>/."""
    # A first pass that stops at SPEAKERS.TXT: cheap when it comes early in the archive.
    table = read_member_text(source, "SPEAKERS.TXT")
    sexes = _parse_librispeech_speakers(table, subset) if table is not None else None
    chosen = [s.removeprefix("spk") for s in speakers] if speakers else _default_pair(sexes, source)
    what = f"librispeech {subset}"
    if sexes is not None:
        check_speakers(chosen, sexes, what)
    seen: set[str] = set()
    with contextlib.closing(iter_members(source)) as members:
        for member in members:
            match = _LS_FILE.search(member.name)
            if match is None or match.group(1) != subset:
                continue
            seen.add(match.group(2))
            if match.group(2) in chosen:
                writer.add(f"spk{match.group(2)}", f"{match.group(4)}.flac", member)
    require_files(writer, {f"spk{s}": s for s in chosen}, seen, what)
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
        ids = sorted((s for s, x in sexes.items() if x == sex), key=natural_key)
        if not ids:
            raise VaeganError(f"SPEAKERS.TXT lists no {sex} speaker for this subset; give --speakers")
        pair.append(ids[0])
    return pair
