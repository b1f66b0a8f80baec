"""Instrument corpora for `vaegan-vc data fetch`: NSynth and URMP, one folder per instrument.

    vaegan-vc data fetch nsynth DEST [--subset test|valid|train] [--instruments brass,string]
    vaegan-vc data fetch urmp DEST --source URMP.zip [--instruments trumpet,violin]

Both go through the same machinery as the speech corpora (resumable, checksummed downloads, the
destination-folder transaction, corpus.json written last); this module holds their layouts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import VaeganError

log = logging.getLogger(__name__)

NSYNTH_FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                   "synth_lead", "vocal")
NSYNTH_SOURCES = ("acoustic", "electronic", "synthetic")
NSYNTH_DEFAULT = ("brass", "string")  # trumpets and violins, as in Bonnici et al.
NSYNTH_SUBSETS = ("test", "valid", "train")

# URMP's two- or three-letter instrument codes (AuSep_<track>_<code>_<piece>.wav).
URMP_CODES = {"vn": "violin", "va": "viola", "vc": "cello", "db": "double_bass", "fl": "flute", "ob": "oboe",
              "cl": "clarinet", "sax": "saxophone", "bn": "bassoon", "tpt": "trumpet", "hn": "horn",
              "tbn": "trombone", "tba": "tuba"}
URMP_DEFAULT = ("trumpet", "violin")
_URMP_STEM = re.compile(r"(?:^|/)\d{2}_[^/]+/AuSep_(\d+)_([a-z]+)_(\d{2}_[^/]+)\.wav$")


# ----------------------------------------------------------------------------- NSynth


def _nsynth_group(note: dict, wanted: list[str]) -> str | None:
    """The selection name a note belongs to: its family ('brass') or family_source ('brass_acoustic')."""
    family, source = note.get("instrument_family_str"), note.get("instrument_source_str")
    for name in wanted:
        if name == family or name == f"{family}_{source}":
            return name
    return None


def _check_nsynth_names(wanted: list[str]) -> None:
    known = set(NSYNTH_FAMILIES) | {f"{f}_{s}" for f in NSYNTH_FAMILIES for s in NSYNTH_SOURCES}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise VaeganError(f"unknown NSynth instrument group(s) {', '.join(unknown)}: use a family "
                          f"({', '.join(NSYNTH_FAMILIES)}), optionally with a source (e.g. brass_acoustic)")


def extract_nsynth(source: Path, writer, instruments: list[str] | None, subset: str | None) -> dict[str, dict[str, Any]]:
    """`nsynth-<subset>/examples.json` + `audio/<note>.wav` → dest/<group>/<note>.wav.

    Notes listed in examples.json without audio, and audio files it does not list, are left out and
    named in corpus.json (`missing_audio`, `unlisted_audio`); the intersection is what is fetched.
    """
    from .corpora import _members, _read_member_text, _require_files

    wanted = list(instruments or NSYNTH_DEFAULT)
    _check_nsynth_names(wanted)
    text = _read_member_text(source, "examples.json")
    if text is None:
        raise VaeganError(f"{source}: no examples.json (expected nsynth-{subset}/examples.json)")
    try:
        examples = json.loads(text)
    except ValueError as exc:
        raise VaeganError(f"{source}: examples.json is not valid JSON ({exc})") from None
    if not isinstance(examples, dict):
        raise VaeganError(f"{source}: examples.json should map note names to their attributes")
    chosen = {name: group for name, note in examples.items() if isinstance(note, dict) and (group := _nsynth_group(note, wanted))}
    seen, unlisted = set(), []
    with contextlib.closing(_members(source)) as members:
        for member in members:
            path = PurePosixPath(member.name)
            if path.parent.name != "audio" or path.suffix != ".wav":
                continue
            if path.stem not in examples:
                unlisted.append(path.name)
            elif path.stem in chosen:
                writer.add(chosen[path.stem], path.name, member)
                seen.add(path.stem)
    missing = sorted(set(chosen) - seen)
    if missing or unlisted:
        log.warning("nsynth: %d listed notes have no audio, %d audio files are not listed; fetched the rest",
                    len(missing), len(unlisted))
    groups = sorted(set(chosen.values()))
    _require_files(writer, {w: w for w in wanted}, groups, f"nsynth {subset} (examples.json ∩ audio/)")
    info = {w: {"id": w, "notes": writer.counts[w]} for w in wanted}
    info[wanted[0]]["missing_audio"] = missing[:200]  # recorded once, beside the first group
    info[wanted[0]]["unlisted_audio"] = sorted(unlisted)[:200]
    return info


# ----------------------------------------------------------------------------- URMP


def _urmp_wanted(instruments: list[str] | None) -> list[str]:
    wanted = [URMP_CODES.get(i, i) for i in (instruments or URMP_DEFAULT)]
    unknown = [w for w in wanted if w not in URMP_CODES.values()]
    if unknown:
        raise VaeganError(f"unknown URMP instrument(s) {', '.join(unknown)} (have: {', '.join(URMP_CODES.values())})")
    return wanted


def extract_urmp(source: Path, writer, instruments: list[str] | None, subset: str | None) -> dict[str, dict[str, Any]]:
    """`NN_Piece_codes/AuSep_<track>_<code>_NN_Piece.wav` stems → dest/<instrument>/<NN_Piece>_<track>.wav."""
    from .corpora import _members, _require_files

    wanted = _urmp_wanted(instruments)
    seen: set[str] = set()
    with contextlib.closing(_members(source)) as members:
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
    _require_files(writer, {w: w for w in wanted}, seen, "urmp")
    return {w: {"id": w, "stems": writer.counts[w]} for w in wanted}
