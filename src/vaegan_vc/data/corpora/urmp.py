"""URMP: the separated stems of each piece, one folder per instrument.

    vaegan-vc data fetch urmp DEST --source URMP.zip [--instruments trumpet,violin]
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from ...errors import VaeganError
from .archive import iter_members
from .destination import require_files

# URMP's two- or three-letter instrument codes (AuSep_<track>_<code>_<piece>.wav).
URMP_CODES = {"vn": "violin", "va": "viola", "vc": "cello", "db": "double_bass", "fl": "flute", "ob": "oboe",
              "cl": "clarinet", "sax": "saxophone", "bn": "bassoon", "tpt": "trumpet", "hn": "horn",
              "tbn": "trombone", "tba": "tuba"}
URMP_DEFAULT = ("trumpet", "violin")
_URMP_STEM = re.compile(r"(?:^|/)\d{2}_[^/]+/AuSep_(\d+)_([a-z]+)_(\d{2}_[^/]+)\.wav$")


def _urmp_wanted(instruments: list[str] | None) -> list[str]:
    wanted = [URMP_CODES.get(i, i) for i in (instruments or URMP_DEFAULT)]
    unknown = [w for w in wanted if w not in URMP_CODES.values()]
    if unknown:
        raise VaeganError(f"unknown URMP instrument(s) {', '.join(unknown)} (have: {', '.join(URMP_CODES.values())})")
    return wanted


def extract_urmp(source: Path, writer, instruments: list[str] | None, subset: str | None) -> dict[str, dict[str, Any]]:
    """`NN_Piece_codes/AuSep_<track>_<code>_NN_Piece.wav` stems → dest/<instrument>/<NN_Piece>_<track>.wav."""
    wanted = _urmp_wanted(instruments)
    seen: set[str] = set()
    with contextlib.closing(iter_members(source)) as members:
        for member in members:
            match = _URMP_STEM.search(member.name)
            if match is None:
                continue
            track, code, piece = match.groups()
            instrument = URMP_CODES.get(code)
            if instrument is None:
                continue
            seen.add(instrument)
            if instrument in wanted:
                writer.add(instrument, f"{piece}_{track}.wav", member)
    if not seen:
        raise VaeganError(f"{source}: no URMP stems (NN_Piece_codes/AuSep_<track>_<code>_NN_Piece.wav) found")
    require_files(writer, {w: w for w in wanted}, seen, "urmp")
    return {w: {"id": w, "stems": writer.counts[w]} for w in wanted}
